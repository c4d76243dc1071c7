// Package sinktest checks that a [sink.Sink] implementation keeps the Sink
// contract, the way testing/slogtest checks a slog.Handler, and generates
// realistic alerts for tests.
//
// A sink's test calls [Run] with a constructor that returns a fresh sink
// and a function reporting what the destination has received so far
// (decoded back into alerts; only AlertID has to survive the trip):
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
//			srv := newFakeServer(t) // closed by t.Cleanup
//			s, err := sink.NewWebhook(…srv.URL…)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s, srv.Received
//		})
//	}
//
// # What Run checks
//
// Each check is a subtest that builds its own sink:
//
//   - ack after accept: once Write returned nil, every alert of that call
//     is at the destination (by AlertID), and nothing that was never
//     written is;
//   - a Write of no alerts returns nil;
//   - Write with a cancelled context returns an error wrapping
//     context.Canceled, or returns nil having delivered every alert: it
//     never reports success without delivery, and it returns (a hang is
//     reported after a generous guard, not measured);
//   - Close twice is safe (the second Close returns nil or ErrClosed);
//   - Write after Close returns an error wrapping [sink.ErrClosed];
//   - 8 goroutines writing concurrently get every alert delivered;
//   - after Close, and after the constructor's t.Cleanup functions ran,
//     goleak finds no goroutine the sink started and left running.
//
// The checks run one after the other (not in parallel), because the leak
// check compares the goroutines alive before and after each subtest.
//
// # Received alerts
//
// The received function must be safe to call from the test goroutine while
// the sink writes, and must return alerts in any order; duplicates are
// allowed (delivery is at-least-once), missing alerts are not.
//
// # Generated alerts
//
// [Alerts] returns n varied, realistic alerts, deterministic for a seed,
// with hostile values ('|', '=', '\\', newlines, quotes, non-ASCII) spread
// over the fields so that encoders are exercised.
package sinktest
