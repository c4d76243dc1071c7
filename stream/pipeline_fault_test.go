package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/sink"
)

// Faults of the dead-letter destination: the pipeline must report them and
// never lose a message silently (pipeline.dead_letter_failure).

// flakyDeadLetter fails the writes whose 1-based number is in [from, to]
// and records the positions it kept.
type flakyDeadLetter struct {
	from, to int64
	calls    atomic.Int64
	mu       sync.Mutex
	kept     []string
}

func (f *flakyDeadLetter) Write(_ context.Context, m Message, _ int, _ error) error {
	n := f.calls.Add(1)
	if n >= f.from && n <= f.to {
		return errors.New("write dead.jsonl: no space left on device")
	}
	f.mu.Lock()
	f.kept = append(f.kept, m.Position.String())
	f.mu.Unlock()
	return nil
}

// poisonedBatches returns n batches, each of a planted hit (ReportId = the
// batch number) and a message that cannot be decoded.
func poisonedBatches(n int) [][]string {
	var out [][]string
	for b := range n {
		out = append(out, []string{record(b, "203.0.113.7", "", "a.exe", `c:\a.exe`), fmt.Sprintf(`{"records":[{"poison":%d`, b)})
	}
	return out
}

func TestAFailingDeadLetterStopsThePipelineAndLeavesTheBatchUnacknowledgedByDefault(t *testing.T) {
	for _, policy := range []string{"", "stop"} {
		t.Run("policy "+fmt.Sprintf("%q", policy), func(t *testing.T) {
			dl := &flakyDeadLetter{from: 4, to: 1 << 40} // the disk fills at the 4th entry
			src := newSliceSource(poisonedBatches(10)...)
			out := &recordingSink{}
			pol, err := ParseDeadLetterFailure(policy)
			if err != nil {
				t.Fatal(err)
			}
			p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 1, Ordered: true, DeadLetter: dl, DeadLetterFailure: pol})
			err = p.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "test[0]@301") {
				t.Fatalf("Run returned %v; want the dead-letter error naming the message (test[0]@301)", err)
			}
			if acked := src.ackedBatches(); len(acked) != 3 {
				t.Fatalf("acked batches %v; want exactly the 3 whose dead-letter entries were written", acked)
			}
			if got := p.Stats().DeadLetterFailures.Load(); got != 0 {
				t.Errorf("DeadLetterFailures = %d under stop; it counts only acknowledged losses", got)
			}
			// Every alert of an acknowledged batch was delivered.
			delivered := map[int64]bool{}
			for _, a := range out.got() {
				delivered[a.ReportID] = true
			}
			for b := range int64(3) {
				if !delivered[b] {
					t.Errorf("batch %d was acknowledged but its alert was not delivered", b)
				}
			}
		})
	}
}

func TestAFailingDeadLetterUnderContinueIsCountedLoggedOncePerChangeAndAcknowledged(t *testing.T) {
	dl := &flakyDeadLetter{from: 4, to: 7} // full for four entries, then space is freed
	src := newSliceSource(poisonedBatches(12)...)
	out := &recordingSink{}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 1, Ordered: true, DeadLetter: dl, DeadLetterFailure: DeadLetterContinue, Log: log})
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run under continue returned %v", err)
	}
	st := p.Stats()
	if len(src.ackedBatches()) != 12 || st.DeadLetterFailures.Load() != 4 || st.DeadLettered.Load() != 8 || st.DecodeErrors.Load() != 12 {
		t.Errorf("acked %d batches, dead-letter failures %d, dead-lettered %d, decode errors %d; want 12, 4, 8, 12",
			len(src.ackedBatches()), st.DeadLetterFailures.Load(), st.DeadLettered.Load(), st.DecodeErrors.Load())
	}
	if len(out.got()) != 12 {
		t.Errorf("%d alerts; the decodable records of every batch must alert (12)", len(out.got()))
	}
	text := logs.String()
	if n := strings.Count(text, "dead-letter writes fail"); n != 1 {
		t.Errorf("the failure was logged %d times, want once (one line per change of state):\n%s", n, text)
	}
	if n := strings.Count(text, "dead-letter writes work again"); n != 1 || !strings.Contains(text, "lost_so_far=4") {
		t.Errorf("the recovery was logged %d times (want once, with lost_so_far=4):\n%s", n, text)
	}
	if got := strings.Count(text, "\n"); got != 2 {
		t.Errorf("%d log lines for 4 failures, want 2:\n%s", got, text)
	}
}

func TestParseDeadLetterFailureRefusesUnknownPolicies(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DeadLetterFailure
		ok   bool
	}{
		{"", DeadLetterStop, true},
		{"stop", DeadLetterStop, true},
		{"continue", DeadLetterContinue, true},
		{"drop", DeadLetterStop, false},
		{"Continue", DeadLetterStop, false},
	} {
		got, err := ParseDeadLetterFailure(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseDeadLetterFailure(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// A worker whose batch failed to dead-letter (policy stop) goes on with the
// next batch until the failure reaches the acknowledging loop: that batch's
// counts must not carry the failed batch's records.
func TestAFailedDeadLetterDoesNotLeakItsRecordsIntoTheNextBatchCounts(t *testing.T) {
	dl := &flakyDeadLetter{from: 1, to: 1 << 40} // batch 1's poison is the first entry
	batches := [][]string{
		{record(0, "203.0.113.7", "", "a.exe", `c:\a.exe`)},
		poisonedBatches(2)[1],
		{record(2, "203.0.113.7", "", "a.exe", `c:\a.exe`)},
	}
	src := newSliceSource(batches...)
	// Batch 0's delivery waits until batch 2's arrives: batch 1 fails on
	// the other worker, which then takes batch 2 before the failure is seen.
	batch2 := make(chan struct{})
	out := &recordingSink{fail: func(a []sink.Alert) error {
		switch a[0].ReportID {
		case 0:
			<-batch2
		case 2:
			close(batch2)
		}
		return nil
	}}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 2, DeadLetter: dl})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Run returned %v, want the dead-letter error", err)
	}
	if acked := src.ackedBatches(); len(acked) != 1 || acked[0] != 0 {
		t.Errorf("acked %v, want only batch 0", acked)
	}
	// Every message here is one record: what was counted must agree.
	st := p.Stats()
	if st.Records.Load() != st.Messages.Load() || st.Messages.Load() != 2 {
		t.Errorf("records %d, messages %d: want 2 and 2 (batches 0 and 2; the failed batch counts nothing)", st.Records.Load(), st.Messages.Load())
	}
}
