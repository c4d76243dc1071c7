package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
)

// sliceSource yields prepared batches and records the order of acks.
type sliceSource struct {
	mu      sync.Mutex
	batches []Batch
	next    int
	acked   []int
	closed  bool
	block   chan struct{} // when set, Read blocks on it after the batches
	// beforeRead, when set, runs before batch i is returned.
	beforeRead func(i int)
}

func newSliceSource(msgs ...[]string) *sliceSource {
	s := &sliceSource{}
	for bi, batch := range msgs {
		var b Batch
		for mi, m := range batch {
			b.Messages = append(b.Messages, Message{Value: []byte(m), Position: Position{Source: "test", Partition: 0, Offset: int64(bi*100 + mi)}})
		}
		b.Ack = func(context.Context) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.acked = append(s.acked, bi)
			return nil
		}
		s.batches = append(s.batches, b)
	}
	return s
}

func (s *sliceSource) Read(ctx context.Context) (Batch, error) {
	s.mu.Lock()
	if s.next < len(s.batches) {
		i := s.next
		b := s.batches[i]
		s.next++
		s.mu.Unlock()
		if s.beforeRead != nil {
			s.beforeRead(i)
		}
		return b, nil
	}
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		case <-block:
		}
	}
	return Batch{}, io.EOF
}

func (s *sliceSource) Close(context.Context) error { s.closed = true; return nil }

func (s *sliceSource) ackedBatches() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.acked...)
}

// recordingSink accepts alerts, optionally failing or blocking per call.
type recordingSink struct {
	mu     sync.Mutex
	alerts []sink.Alert
	fail   func(alerts []sink.Alert) error
}

func (r *recordingSink) Write(ctx context.Context, alerts []sink.Alert) error {
	if r.fail != nil {
		if err := r.fail(alerts); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, alerts...)
	return nil
}

func (r *recordingSink) Close(context.Context) error { return nil }

func (r *recordingSink) got() []sink.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sink.Alert(nil), r.alerts...)
}

func testRules(t testing.TB, values ...string) *atomic.Pointer[Rules] {
	t.Helper()
	var inds []*match.Indicator
	for _, v := range values {
		k, canon, err := match.ParseValue(v)
		if err != nil {
			t.Fatal(err)
		}
		inds = append(inds, &match.Indicator{Kind: k, Value: canon, Meta: &match.Meta{Source: "test"}})
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var p atomic.Pointer[Rules]
	p.Store(&Rules{Index: ix})
	return &p
}

// record returns a one-record envelope to remoteIP from process.
func record(report int, remoteIP, url, process, path string) string {
	return fmt.Sprintf(`{"records":[{"time":"2026-11-26T09:00:00Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-26T09:00:%02dZ","DeviceId":"dev1","DeviceName":"ws-1","ActionType":"ConnectionSuccess","RemoteIP":%q,"RemotePort":443,"RemoteUrl":%q,"InitiatingProcessFileName":%q,"InitiatingProcessFolderPath":%q,"ReportId":%d}}]}`,
		report%60, remoteIP, url, process, path, report)
}

func TestAlertsAreDeliveredAndBatchesAckedInReadOrder(t *testing.T) {
	var batches [][]string
	for b := range 20 {
		var msgs []string
		for m := range 5 {
			ip := "34.1.1.1"
			if m == 2 {
				ip = "203.0.113.7"
			}
			msgs = append(msgs, record(b*5+m, ip, "", "x.exe", `c:\x.exe`))
		}
		batches = append(batches, msgs)
	}
	src := newSliceSource(batches...)
	// The sink is slow for early batches, so later batches finish first.
	out := &recordingSink{fail: func(a []sink.Alert) error {
		if a[0].ReportID < 30 {
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}}
	p := New(src, testRules(t, "203.0.113.0/24"), out, Options{Workers: 4})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	acked := src.ackedBatches()
	if len(acked) != 20 {
		t.Fatalf("acked %d batches, want 20", len(acked))
	}
	for i, b := range acked {
		if b != i {
			t.Fatalf("acks out of read order: %v", acked)
		}
	}
	if got := len(out.got()); got != 20 {
		t.Errorf("%d alerts, want 20", got)
	}
	st := p.Stats()
	if st.Records.Load() != 100 || st.Watched.Load() != 100 || st.Alerts.Load() != 20 || st.Acked.Load() != 20 {
		t.Errorf("stats: records %d watched %d alerts %d acked %d", st.Records.Load(), st.Watched.Load(), st.Alerts.Load(), st.Acked.Load())
	}
}

func TestASinkThatRefusesStopsAcknowledgement(t *testing.T) {
	src := newSliceSource(
		[]string{record(1, "203.0.113.7", "", "a.exe", `c:\a.exe`)},
		[]string{record(2, "203.0.113.8", "", "a.exe", `c:\a.exe`)},
		[]string{record(3, "34.1.1.1", "", "a.exe", `c:\a.exe`)},
	)
	refuse := errors.New("503 from the SOAR")
	out := &recordingSink{fail: func(a []sink.Alert) error {
		if a[0].ReportID == 2 {
			return refuse
		}
		return nil
	}}
	p := New(src, testRules(t, "203.0.113.0/24"), out, Options{Workers: 1, Ordered: true})
	err := p.Run(context.Background())
	if !errors.Is(err, refuse) {
		t.Fatalf("Run returned %v, want the sink's error", err)
	}
	if acked := src.ackedBatches(); len(acked) != 1 || acked[0] != 0 {
		t.Errorf("acked %v: only the batch before the refused one may be acknowledged", acked)
	}
}

func TestBrokenMessagesAreDeadLetteredThenAcknowledged(t *testing.T) {
	dir := t.TempDir()
	dl, err := OpenDeadLetter(filepath.Join(dir, "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	src := newSliceSource([]string{
		record(1, "203.0.113.7", "", "a.exe", `c:\a.exe`),
		`{"records":[{"category":`,
		strings.Repeat("x", 2048),
	})
	out := &recordingSink{}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{DeadLetter: dl, MaxMessageBytes: 1024})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "dead.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("dead-letter file has %d lines, want 2:\n%s", len(lines), data)
	}
	if !strings.Contains(lines[0], `"position":"test[0]@1"`) || !strings.Contains(lines[1], "max_message_bytes") {
		t.Errorf("dead-letter entries lack position or reason:\n%s", data)
	}
	if len(out.got()) != 1 || len(src.ackedBatches()) != 1 {
		t.Errorf("alerts %d, acked %v: the good record must alert and the batch be acked", len(out.got()), src.ackedBatches())
	}
	if p.Stats().DecodeErrors.Load() != 2 || p.Stats().DeadLettered.Load() != 2 || p.Stats().Oversized.Load() != 1 {
		t.Errorf("stats: decode errors %d, dead-lettered %d, oversized %d", p.Stats().DecodeErrors.Load(), p.Stats().DeadLettered.Load(), p.Stats().Oversized.Load())
	}
}

type failingDeadLetter struct{}

func (failingDeadLetter) Write(context.Context, Message, int, error) error {
	return errors.New("no space left on device")
}

func TestADeadLetterThatCannotBeWrittenIsNeverAcknowledged(t *testing.T) {
	src := newSliceSource([]string{`not json`})
	p := New(src, testRules(t, "203.0.113.7"), &recordingSink{}, Options{DeadLetter: failingDeadLetter{}})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Run returned %v, want the dead-letter error", err)
	}
	if acked := src.ackedBatches(); len(acked) != 0 {
		t.Errorf("acked %v, want nothing", acked)
	}
}

func TestShutdownFinishesInFlightBatchesAndAcksThem(t *testing.T) {
	src := newSliceSource([]string{record(1, "203.0.113.7", "", "a.exe", `c:\a.exe`)})
	src.block = make(chan struct{}) // then wait for more, like a live stream
	release := make(chan struct{})
	out := &recordingSink{fail: func([]sink.Alert) error { <-release; return nil }}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	for p.Stats().Batches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel() // SIGTERM while the sink is still delivering
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(out.got()) != 1 || len(src.ackedBatches()) != 1 {
		t.Errorf("alerts %d, acked %v: the in-flight batch must finish and be acked", len(out.got()), src.ackedBatches())
	}
}

func TestAllowListAndExclusionsDropHitsBeforeAlerting(t *testing.T) {
	rules := testRules(t, "203.0.113.0/24", "bad.example")
	allow, err := match.Build([]*match.Indicator{{Kind: match.KindIP, Value: "203.0.113.53", Meta: &match.Meta{Source: "allow"}}}, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	excl, err := match.CompileExclusions([]match.RuleSpec{{Name: "maint", Reason: "r", When: map[string][]string{
		"process_name": {"svchost.exe"}, "process_path": {`c:\windows\system32\*`}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := *rules.Load()
	r.Allow, r.Exclusions = allow, excl
	rules.Store(&r)
	src := newSliceSource([]string{
		record(1, "203.0.113.53", "", "a.exe", `c:\a.exe`),                             // allow-listed
		record(2, "203.0.113.53", "http://x.bad.example/", "a.exe", `c:\a.exe`),        // IP allowed, URL still alerts
		record(3, "203.0.113.9", "", "svchost.exe", `C:\Windows\System32\svchost.exe`), // excluded
		record(4, "203.0.113.9", "", "svchost.exe", `c:\users\public\svchost.exe`),     // masquerade: alerts
	})
	out := &recordingSink{}
	p := New(src, rules, out, Options{Ordered: true})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range out.got() {
		got = append(got, fmt.Sprintf("%d:%s", a.ReportID, a.MatchedField))
	}
	want := "2:RemoteUrl 4:RemoteIP"
	if strings.Join(got, " ") != want {
		t.Errorf("alerts %v, want %s", got, want)
	}
	st := p.Stats()
	if st.Allowed.Load() != 2 || st.Excluded.Load() != 1 || st.ExcludedByRule()["maint"] != 1 {
		t.Errorf("allowed %d excluded %d by rule %v", st.Allowed.Load(), st.Excluded.Load(), st.ExcludedByRule())
	}
}

func TestASwappedIndexAppliesToLaterBatches(t *testing.T) {
	rules := testRules(t, "203.0.113.7")
	src := newSliceSource(
		[]string{record(1, "198.51.100.9", "", "a.exe", `c:\a.exe`)},
		[]string{record(2, "198.51.100.9", "", "a.exe", `c:\a.exe`)},
	)
	out := &recordingSink{}
	// A reload swaps the rules between the two reads.
	next := testRules(t, "198.51.100.0/24").Load()
	src.beforeRead = func(i int) {
		if i == 1 {
			for p := range 100 { // let batch 0 finish on the old rules
				if len(src.ackedBatches()) == 1 {
					break
				}
				time.Sleep(time.Duration(p) * time.Millisecond)
			}
			rules.Store(next)
		}
	}
	p := New(src, rules, out, Options{Workers: 1, Ordered: true})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.got(); len(got) != 1 || got[0].ReportID != 2 {
		t.Errorf("alerts %+v: only the batch after the swap may alert", got)
	}
}

// pipeline.in_flight is "batches read but not yet acknowledged, at most":
// with the sink stuck on the first batch, no more than InFlight batches may
// be read.
func TestNoMoreThanInFlightBatchesAreReadAndNotAcknowledged(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprintf("ordered=%v", ordered), func(t *testing.T) {
			const inFlight = 2
			var batches [][]string
			for b := range 10 {
				batches = append(batches, []string{record(b, "203.0.113.7", "", "a.exe", `c:\a.exe`)})
			}
			src := newSliceSource(batches...)
			release := make(chan struct{})
			out := &recordingSink{fail: func([]sink.Alert) error { <-release; return nil }}
			p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 1, InFlight: inFlight, Ordered: ordered})
			done := make(chan error, 1)
			go func() { done <- p.Run(context.Background()) }()
			st := p.Stats()
			// Wait until the pipeline has read what it may (a deadline, not
			// a sleep, bounds the wait), then watch whether it reads on.
			for deadline := time.Now().Add(10 * time.Second); st.Batches.Load() < inFlight; {
				if time.Now().After(deadline) {
					t.Fatalf("only %d batches read", st.Batches.Load())
				}
				time.Sleep(time.Millisecond)
			}
			for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
				if n := st.Batches.Load() - st.Acked.Load(); n > inFlight {
					t.Errorf("%d batches read and not acknowledged, more than InFlight (%d)", n, inFlight)
					break
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := src.ackedBatches(); len(got) != 10 {
				t.Errorf("acked %v, want all 10", got)
			}
		})
	}
}

// The shutdown budget running out is a cancellation, whichever batch
// reports it: a sink that returns its context's cause, or a batch that
// waited for a worker, both give an error that is context.Canceled (run
// tells the user what becomes of the batches in flight only then).
func TestADrainThatRunsOutIsACancellation(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			src := newSliceSource(
				[]string{record(1, "203.0.113.7", "", "a.exe", `c:\a.exe`)},
				[]string{record(2, "203.0.113.7", "", "a.exe", `c:\a.exe`)},
			)
			src.block = make(chan struct{})
			var writes atomic.Int32
			out := &blockingCauseSink{writes: &writes}
			p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: workers, DrainTimeout: 20 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			for writes.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
			err := <-done
			if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not done") {
				t.Fatalf("Run: %v, want the drain timeout, as a context.Canceled", err)
			}
			if got := src.ackedBatches(); len(got) != 0 {
				t.Errorf("acked %v: nothing was delivered", got)
			}
		})
	}
}

// blockingCauseSink blocks every write until its context ends and returns
// the context's cause, as a sink may.
type blockingCauseSink struct{ writes *atomic.Int32 }

func (s *blockingCauseSink) Write(ctx context.Context, _ []sink.Alert) error {
	s.writes.Add(1)
	<-ctx.Done()
	return context.Cause(ctx)
}

func (s *blockingCauseSink) Close(context.Context) error { return nil }
