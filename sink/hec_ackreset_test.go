package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// resettingHEC is a HEC with indexer acknowledgement whose count of a
// channel's requests starts again from ackId 0 at restart, as Splunk's
// does after a restart or a failover, forgetting the events not yet
// indexed. Its hooks hold event requests back before they are numbered,
// lose the answer to some, and hold ack queries back. A request is known
// by its first alert's id.
type resettingHEC struct {
	// Set before the server starts.
	base   int64                                                       // the first ackId: a channel with a past
	ready  func(first string, queries int) bool                        // whether a request is reported indexed at its queries-th ack query; nil: at the first
	hold   func(first string) <-chan struct{}                          // an event request waits for this before it is numbered
	refuse func(w http.ResponseWriter, first string) bool              // answers an event request before it is numbered, if it returns true
	answer func(w http.ResponseWriter, first string, ackID int64) bool // answers an event request, numbered, if it returns true (loseAnswer)
	onAck  func(n int, ackIDs []int64)                                 // called at the n-th ack query (from 1) before it is answered; may block
	onNum  func(first string, ackID int64)                             // called once an event request is numbered, before it is answered
	after  func(path string, n int, first string)                      // called once a request was answered (n: the ack query's number)

	mu      sync.Mutex
	next    int64
	started bool
	stored  map[int64][]sink.Alert // ackId → events of the current count not reported indexed yet
	firsts  map[int64]string       // ackId → the first alert of its request
	queried map[int64]int
	indexed map[string]int // alert id → times indexed
	acks    int
	posts   int
}

// restart forgets the channel: its count starts again from ackId 0 and
// the events not yet indexed are lost.
func (s *resettingHEC) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next, s.stored, s.firsts, s.queried = 0, nil, nil, nil
}

func (s *resettingHEC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if strings.HasSuffix(r.URL.Path, "/ack") {
		s.mu.Lock()
		s.acks++
		n := s.acks
		s.mu.Unlock()
		var q struct{ Acks []int64 }
		if err := json.Unmarshal(raw, &q); err != nil {
			hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
			return
		}
		if s.onAck != nil {
			s.onAck(n, q.Acks)
		}
		s.answerAck(w, q.Acks)
		w.(http.Flusher).Flush()
		if s.after != nil {
			s.after(r.URL.Path, n, "")
		}
		return
	}
	alerts, err := (&fakeHEC{meta: map[string]string{"sourcetype": "iocwatch:alert"}}).decode(raw)
	if err != nil {
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
		return
	}
	first := alerts[0].AlertID
	if s.refuse != nil && s.refuse(w, first) {
		return
	}
	if s.hold != nil {
		if ch := s.hold(first); ch != nil {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
	}
	s.mu.Lock()
	if !s.started {
		s.next, s.started = s.base, true
	}
	if s.stored == nil {
		s.stored, s.firsts, s.queried = map[int64][]sink.Alert{}, map[int64]string{}, map[int64]int{}
	}
	id := s.next
	s.next++
	s.posts++
	s.stored[id], s.firsts[id] = alerts, first
	s.mu.Unlock()
	if s.onNum != nil {
		s.onNum(first, id)
	}
	if s.answer != nil && s.answer(w, first, id) {
		return
	}
	hecAnswer(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, id))
	w.(http.Flusher).Flush()
	if s.after != nil {
		s.after(r.URL.Path, 0, first)
	}
}

func (s *resettingHEC) answerAck(w http.ResponseWriter, ackIDs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexed == nil {
		s.indexed = map[string]int{}
	}
	res := map[string]bool{}
	for _, id := range ackIDs {
		alerts, ok := s.stored[id]
		if ok {
			s.queried[id]++
			if s.ready == nil || s.ready(s.firsts[id], s.queried[id]) {
				for _, a := range alerts {
					s.indexed[a.AlertID]++
				}
				delete(s.stored, id)
			} else {
				ok = false
			}
		}
		res[strconv.FormatInt(id, 10)] = ok
	}
	b, _ := json.Marshal(map[string]any{"acks": res})
	hecAnswer(w, 200, string(b))
}

// loseAnswer closes the connection of a request without answering it.
func loseAnswer(w http.ResponseWriter) {
	if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
		_ = c.Close()
	}
}

// notIndexed returns the alerts of alerts that were never indexed.
func (s *resettingHEC) notIndexed(alerts []sink.Alert) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range alerts {
		if s.indexed[a.AlertID] == 0 {
			out = append(out, a.AlertID)
		}
	}
	return out
}

// newResettingHEC serves s and returns a sink with indexer acknowledgement
// that posts one alert per request to it.
func newResettingHEC(t *testing.T, s *resettingHEC, timeout, ackTimeout time.Duration) *sink.HEC {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, MaxBatchBytes: 1, Timeout: timeout, AckTimeout: ackTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// isRetryable reports whether err is a failure the Write is retried for:
// not nil, not permanent, no alert refused.
func isRetryable(err error) bool {
	var re *sink.RefusedError
	return err != nil && !sink.IsPermanent(err) && !errors.As(err, &re)
}

// writeAsync runs h.Write in the background.
func writeAsync(ctx context.Context, h *sink.HEC, alerts []sink.Alert) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.Write(ctx, alerts) }()
	return done
}

// A Write waiting for its acknowledgement does not wait for another
// Write's request that HEC has not answered yet — one that hangs until
// its Timeout — unless that request could hold its ackId: not while HEC
// reports its requests not indexed yet (nothing to believe), and not when
// the ackId is too high for the requests sent since to reach it, had
// Splunk counted again from 0. Here B's event request hangs at HEC until
// A's second ack query comes or A's Write ends; A, sent after it, must
// neither wait for it nor hold it up until its Timeout.
func TestHECAckWaitIsNotHeldUpByAnotherWritesPost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  int64
		ready func(first string, queries int) bool
	}{
		{"HEC reports the request not indexed yet", 0, func(_ string, n int) bool { return n >= 2 }},
		{"HEC reports the request indexed, its ackId out of reach of a count started again", 1000, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := sinktest.Alerts(1, 60), sinktest.Alerts(1, 61)
			bArrived, releaseB := make(chan struct{}), make(chan struct{})
			var release sync.Once
			s := &resettingHEC{base: tc.base, ready: tc.ready}
			s.hold = func(first string) <-chan struct{} {
				if first != b[0].AlertID {
					return nil
				}
				close(bArrived)
				return releaseB
			}
			s.onAck = func(n int, _ []int64) {
				if n == 2 { // A's second ack query: B has not held it up
					release.Do(func() { close(releaseB) })
				}
			}
			// B's Timeout is the only bound of the wait: long enough
			// never to pass unless A holds B up, or waits for it.
			h := newResettingHEC(t, s, 5*time.Second, 30*time.Second)
			bDone := writeAsync(context.Background(), h, b)
			<-bArrived
			aErr := <-writeAsync(context.Background(), h, a)
			release.Do(func() { close(releaseB) })
			bErr := <-bDone
			if bErr != nil {
				t.Errorf("B, held at HEC while A waited = %v, want nil (held until its Timeout by A's wait?)", bErr)
			}
			if aErr != nil {
				t.Errorf("A = %v, want nil", aErr)
			} else if miss := s.notIndexed(a); len(miss) > 0 {
				t.Errorf("A's alerts %v acknowledged but not indexed", miss)
			}
		})
	}
}

// heldScenario starts Write B, whose event request HEC holds back before
// numbering it until releaseB is closed, and then Write A with ctx, whose
// request gets ackId 0 and is reported indexed at the first ack query:
// B's request, sent before A's and not numbered yet, could be given ackId
// 0 too had Splunk restarted in between, so A waits for B's answer before
// it believes its own acknowledgement. aAnswered is closed once HEC has
// answered A's first ack query.
type heldScenario struct {
	s                   *resettingHEC
	h                   *sink.HEC
	a, b                []sink.Alert
	aDone, bDone        <-chan error
	aAnswered, releaseB chan struct{}
	release             sync.Once
}

func startHeldScenario(t *testing.T, ctx context.Context, extra func(first string) <-chan struct{}) *heldScenario {
	t.Helper()
	sc := &heldScenario{a: sinktest.Alerts(1, 62), b: sinktest.Alerts(1, 63), aAnswered: make(chan struct{}), releaseB: make(chan struct{})}
	bArrived := make(chan struct{})
	sc.s = &resettingHEC{}
	sc.s.hold = func(first string) <-chan struct{} {
		if first == sc.b[0].AlertID {
			close(bArrived)
			return sc.releaseB
		}
		if extra != nil {
			return extra(first)
		}
		return nil
	}
	sc.s.after = func(path string, n int, _ string) {
		if n == 1 {
			close(sc.aAnswered)
		}
	}
	sc.h = newResettingHEC(t, sc.s, 5*time.Second, 30*time.Second)
	sc.bDone = writeAsync(context.Background(), sc.h, sc.b)
	<-bArrived
	sc.aDone = writeAsync(ctx, sc.h, sc.a)
	<-sc.aAnswered
	return sc
}

func (sc *heldScenario) releaseBNow() { sc.release.Do(func() { close(sc.releaseB) }) }

// A Write that waits for another Write's request before it believes its
// acknowledgement (see heldScenario) gives up when its context ends, at
// once: the request it waits for may hang until its Timeout. Its events
// are not taken for indexed: the error is retryable.
func TestHECAckWaitForAnEarlierRequestEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := startHeldScenario(t, ctx, nil)
	// Let A read the answer and reach its wait for B (should it not have
	// yet, its ack query ends with the context: retryable too).
	time.Sleep(200 * time.Millisecond)
	cancel()
	aErr := <-sc.aDone
	sc.releaseBNow()
	if !isRetryable(aErr) || !errors.Is(aErr, context.Canceled) {
		t.Errorf("A, its context cancelled while it waits = %v, want a retryable error wrapping %v", aErr, context.Canceled)
	}
	if bErr := <-sc.bDone; bErr != nil {
		t.Errorf("B = %v, want nil (A returned only once B's request timed out?)", bErr)
	}
}

// While a Write waits for another Write's request before it believes its
// acknowledgement (see heldScenario), new requests go out: a third Write
// C posts while B's request still hangs, and its arrival lets B's go.
func TestHECPostsGoOutWhileAWriteWaitsForAnEarlierRequest(t *testing.T) {
	var sc *heldScenario
	c := sinktest.Alerts(1, 64)
	sc = startHeldScenario(t, context.Background(), func(first string) <-chan struct{} {
		if first == c[0].AlertID {
			sc.releaseBNow() // C's request came while B's hangs
		}
		return nil
	})
	// Let A reach its wait for B (it may already have believed its
	// acknowledgement: C must go out either way).
	time.Sleep(200 * time.Millisecond)
	cErr := <-writeAsync(context.Background(), sc.h, c)
	sc.releaseBNow()
	for _, w := range []struct {
		name string
		err  error
	}{{"A", <-sc.aDone}, {"B", <-sc.bDone}, {"C", cErr}} {
		if w.err != nil {
			t.Errorf("%s = %v, want nil (C held up until B's request timed out?)", w.name, w.err)
		}
	}
}

// After a restart, a request whose answer is lost may have been given the
// ackId a Write waits on: the sink never learns its ackId, and "indexed"
// for that ackId may be about its events. Here A's request gets ackId 0,
// Splunk restarts and forgets it, B's request is given ackId 0 again and
// its answer is lost — the connection closes, or a proxy answers for
// Splunk — and A's ack query is answered "0 indexed" (B's events). A must
// not take that for its own: it fails retryably, and its retry indexes its
// events. A request HEC refused with its JSON holds no ackId: without a
// restart, A's acknowledgement is then believed.
func TestHECAckOfARequestWhoseAnswerWasLostIsNotTakenForAnother(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool
		refuse  func(w http.ResponseWriter)              // B's request, before it is numbered
		answer  func(w http.ResponseWriter, ackID int64) // B's request, numbered
		aOK     bool
	}{
		{name: "the connection closes", restart: true, answer: func(w http.ResponseWriter, _ int64) { loseAnswer(w) }},
		{name: "a proxy's gateway timeout", restart: true, answer: func(w http.ResponseWriter, _ int64) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = io.WriteString(w, "<html><body>504 Gateway Time-out</body></html>")
		}},
		{name: "HEC refuses B, busy (no restart)", aOK: true, refuse: func(w http.ResponseWriter) {
			hecAnswer(w, 503, `{"text":"Server is busy","code":9}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := sinktest.Alerts(1, 65), sinktest.Alerts(1, 66)
			aQuerying, bAnswered := make(chan struct{}), make(chan struct{})
			var aOnce, bOnce sync.Once // not their retries
			s := &resettingHEC{}
			s.onNum = func(first string, _ int64) {
				if first == a[0].AlertID && tc.restart {
					aOnce.Do(s.restart) // A's request, numbered, is lost
				}
			}
			s.refuse = func(w http.ResponseWriter, first string) (done bool) {
				if first == b[0].AlertID && tc.refuse != nil {
					bOnce.Do(func() {
						tc.refuse(w)
						close(bAnswered)
						done = true
					})
				}
				return done
			}
			s.answer = func(w http.ResponseWriter, first string, id int64) (done bool) {
				if first == b[0].AlertID && tc.answer != nil {
					bOnce.Do(func() {
						tc.answer(w, id)
						close(bAnswered)
						done = true
					})
				}
				return done
			}
			s.onAck = func(n int, _ []int64) {
				if n == 1 { // A's first ack query: answered once B's request is
					close(aQuerying)
					<-bAnswered
				}
			}
			h := newResettingHEC(t, s, 5*time.Second, 30*time.Second)
			aDone := writeAsync(context.Background(), h, a)
			<-aQuerying
			bErr := <-writeAsync(context.Background(), h, b)
			aErr := <-aDone
			if !isRetryable(bErr) {
				t.Errorf("B, its answer lost or refused = %v, want a retryable error", bErr)
			}
			switch {
			case tc.aOK && aErr != nil:
				t.Errorf("A = %v, want nil: a request HEC refused holds no ackId", aErr)
			case !tc.aOK && !isRetryable(aErr):
				t.Fatalf("A, whose ackId B's request may hold = %v with %v of its alerts not indexed, want a retryable error", aErr, s.notIndexed(a))
			}
			for _, w := range [][]sink.Alert{a, b} {
				if err := h.Write(context.Background(), w); err != nil {
					t.Fatalf("the retry = %v, want the events acknowledged", err)
				}
			}
			if miss := s.notIndexed(append(a, b...)); len(miss) > 0 {
				t.Errorf("alerts %v acknowledged but not indexed", miss)
			}
		})
	}
}

// A count started again fails the Writes whose requests were numbered
// before it, once: not, later, the Writes whose requests were numbered
// after it. Here A (ackId 0), F (1) and X's first request (2) are
// numbered; A's ack query and X's second request hang at HEC; Splunk
// restarts; Y's request gets ackId 0, A's: the reset is seen, and A, X
// and Y fail. Z's request then gets ackId 1, and X's second one, let go,
// 2 — not above X's first, but that reset was seen already: Z's
// acknowledgement is believed.
func TestHECAResetFailsOnlyTheWritesNumberedBeforeIt(t *testing.T) {
	a, f, x, y, z := sinktest.Alerts(1, 70), sinktest.Alerts(1, 71), sinktest.Alerts(2, 72), sinktest.Alerts(1, 73), sinktest.Alerts(1, 74)
	aQuerying, releaseA := make(chan struct{}), make(chan struct{})
	x2Arrived, releaseX2 := make(chan struct{}), make(chan struct{})
	var holdA, x2Once, zOnce sync.Once
	s := &resettingHEC{}
	s.onAck = func(_ int, ids []int64) {
		if len(ids) == 1 && ids[0] == 0 {
			holdA.Do(func() { // A's first ack query
				close(aQuerying)
				<-releaseA
			})
		}
	}
	s.hold = func(first string) <-chan struct{} {
		var hold <-chan struct{}
		if first == x[1].AlertID {
			x2Once.Do(func() { // not its retry
				close(x2Arrived)
				hold = releaseX2
			})
		}
		return hold
	}
	s.onNum = func(first string, _ int64) {
		if first == z[0].AlertID {
			zOnce.Do(func() { close(releaseX2) })
		}
	}
	h := newResettingHEC(t, s, 5*time.Second, 30*time.Second)
	aDone := writeAsync(context.Background(), h, a)
	<-aQuerying
	if err := h.Write(context.Background(), f); err != nil {
		t.Fatalf("F = %v", err)
	}
	xDone := writeAsync(context.Background(), h, x)
	<-x2Arrived
	s.restart()
	yErr := h.Write(context.Background(), y)
	zErr := h.Write(context.Background(), z)
	close(releaseA)
	xErr, aErr := <-xDone, <-aDone
	if zErr != nil {
		t.Errorf("Z, numbered after the reset = %v, want nil", zErr)
	}
	for _, w := range []struct {
		name string
		err  error
	}{{"A", aErr}, {"X", xErr}, {"Y", yErr}} {
		if !isRetryable(w.err) {
			t.Errorf("%s, numbered before the reset or given an ackId waited on = %v, want a retryable error", w.name, w.err)
		}
	}
	for _, w := range [][]sink.Alert{a, x, y} {
		if err := h.Write(context.Background(), w); err != nil {
			t.Fatalf("the retry = %v, want the events acknowledged", err)
		}
	}
	if miss := s.notIndexed(append(append(append(append(a, f...), x...), y...), z...)); len(miss) > 0 {
		t.Errorf("alerts %v acknowledged but not indexed", miss)
	}
}

// Splunk also counts a channel from 0 again when it drops the channel
// after it sat idle (maxIdleTime): the Writes after it, alone or
// together, are not under way across the reset, and none fails.
func TestHECAckIDsCountedAgainBetweenWritesFailNone(t *testing.T) {
	s := &resettingHEC{}
	h := newResettingHEC(t, s, 5*time.Second, 30*time.Second)
	all := sinktest.Alerts(12, 80)
	if err := h.Write(context.Background(), all[:3]); err != nil {
		t.Fatalf("the Write before = %v", err)
	}
	s.restart()
	if err := h.Write(context.Background(), all[3:6]); err != nil {
		t.Errorf("the first Write after = %v, want nil", err)
	}
	s.restart()
	var dones []<-chan error
	for i := 6; i < 12; i += 2 {
		dones = append(dones, writeAsync(context.Background(), h, all[i:i+2]))
	}
	for i, d := range dones {
		if err := <-d; err != nil {
			t.Errorf("concurrent Write %d after = %v, want nil", i, err)
		}
	}
	if miss := s.notIndexed(all); len(miss) > 0 {
		t.Errorf("alerts %v acknowledged but not indexed", miss)
	}
}

// Concurrent Writes, each of several requests, against a HEC that counts
// the channel from 0 again now and then (a restart, losing the request
// just numbered) and loses some answers: a Write may fail (retryably, and
// is then retried) but none reports delivered alerts that HEC did not
// index. Run it with -race.
func TestHECConcurrentWritesAcrossRestartsLoseNothing(t *testing.T) {
	const writers, writes, perWrite = 4, 5, 3
	restartAt := map[int]bool{7: true, 19: true, 34: true, 50: true, 71: true} // the event requests, counted from 1
	loseAt := map[int]bool{4: true, 13: true, 27: true, 41: true, 60: true}
	s := &resettingHEC{}
	s.ready = func(_ string, n int) bool { return n >= 2 } // ackIds stay waited on a while
	var mu sync.Mutex
	posts := 0
	lose := map[string]bool{} // the requests whose answer is lost, by first alert
	s.onNum = func(first string, _ int64) {
		mu.Lock()
		posts++
		n := posts
		lose[first] = loseAt[n]
		mu.Unlock()
		if restartAt[n] {
			s.restart()
		}
	}
	s.answer = func(w http.ResponseWriter, first string, _ int64) bool {
		mu.Lock()
		l := lose[first]
		mu.Unlock()
		if l {
			loseAnswer(w)
		}
		return l
	}
	h := newResettingHEC(t, s, 5*time.Second, 400*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range writes {
				alerts := sinktest.Alerts(perWrite, int64(100+g*writes+w))
				var err error
				for attempt := 0; attempt < 20; attempt++ {
					if err = h.Write(context.Background(), alerts); err == nil {
						break
					}
					if !isRetryable(err) {
						errs <- fmt.Errorf("writer %d, Write %d: %w", g, w, err)
						return
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, Write %d: still failing after 20 attempts: %w", g, w, err)
					return
				}
				if miss := s.notIndexed(alerts); len(miss) > 0 {
					errs <- fmt.Errorf("writer %d, Write %d: alerts %v acknowledged but not indexed", g, w, miss)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
