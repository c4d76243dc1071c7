// Package sink delivers alerts: the Alert contract, the Sink interface, the
// sinks themselves (stdout, JSON-lines file, webhook, Splunk HEC,
// syslog/CEF, Kafka), and the wrappers that give every sink the same
// behaviour — retries, a bounded queue, fan-out, dead-lettering and
// suppression of duplicates and repeats. It depends on nothing else of
// iocwatch. docs/alerts.md documents the alert formats; docs/sinks.md and
// docs/sinks-network.md the sinks.
//
// A typical chain, built in cmd/ (the outermost wrapper first):
//
//	NewSuppressor(                      // drop redeliveries and repeats
//	  Fanout(                           // every required sink must accept
//	    Named{"file", WithQueue(WithRetry(WithDeadLetter(file, "file", dl), policy), 1024), false},
//	    Named{"soar", WithQueue(WithRetry(WithDeadLetter(webhook, "soar", dl), policy), 1024), false},
//	    Named{"chat", chat, true},      // best effort: never holds the stream
//	  ), opts)
//
// # Acknowledgement
//
// Write returns nil only once every alert of the call is accepted by the
// destination (written and fsynced, acknowledged by the peer); the stream
// acknowledges a batch (Kafka offset, Event Hubs checkpoint) only then.
// Every wrapper keeps this: WithQueue's Write waits for the downstream
// Write, Fanout waits for every required sink, the Suppressor remembers an
// alert as seen only after the next sink accepted it. Delivery is
// at-least-once: a retried batch may reach a sink twice; AlertID lets the
// receiver, and the Suppressor, drop the copy.
//
// # Errors and retries
//
// An error is retryable unless marked Permanent (IsPermanent); ErrClosed is
// permanent. A sink that knows when to come back wraps its error with
// RetryAfter. WithRetry retries retryable errors with exponential back-off
// and full jitter, forever by default (a sink outage is back-pressure,
// never loss); WithDeadLetter files permanently refused alerts in a
// DeadLetter file and reports them handled. Errors name their sink and
// context: `sink "soar": webhook POST https://…: 503 Service Unavailable`.
//
// # Cancellation and Close
//
// Every Write honours its context: it returns promptly with an error
// wrapping ctx.Err(), or succeeds having delivered. Close flushes what was
// accepted, stops the goroutines the sink started, and closes what it
// wraps; it is safe to call twice, and Write after Close returns an error
// wrapping ErrClosed. sinktest.Run checks all of this for any Sink.
//
// # Formats
//
// EncodeJSON writes an alert as native JSON (the Alert's own JSON, byte
// for byte what encoding/json produces) or as an OCSF 1.5.0 Detection
// Finding, without allocating. AppendHuman writes the one-line terminal
// form.
//
// # Counters
//
// The wrappers count without any metrics dependency: Fan.SinkStats returns
// one Stats per sink (accepted, failed, dropped, retries, queue depth,
// dead-lettered), merged along each sink's chain of wrappers through
// StatsReporter; Suppressor.Counts returns duplicates, repeats, evictions
// and summaries.
package sink
