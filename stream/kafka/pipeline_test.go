package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
	"github.com/iocwatch/iocwatch/testenv"
)

// These tests run the whole watcher — Kafka source, decoder, index,
// exclusions, sink, commits — against the in-process broker over the real
// wire protocol, with streams from bench/gen whose planted hits are known.

type key struct {
	device string
	report int64
}

// alertCollector is a sink that records alerts; fail makes it refuse.
type alertCollector struct {
	mu     sync.Mutex
	seen   map[key]int
	fail   atomic.Bool
	writes atomic.Int64
}

func newAlertCollector() *alertCollector { return &alertCollector{seen: map[key]int{}} }

func (c *alertCollector) Write(ctx context.Context, alerts []sink.Alert) error {
	c.writes.Add(1)
	if c.fail.Load() {
		return errors.New("503 Service Unavailable")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range alerts {
		c.seen[key{a.DeviceID, a.ReportID}]++
	}
	return nil
}

func (c *alertCollector) Close(context.Context) error { return nil }

func (c *alertCollector) has(k key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[k] > 0
}

func (c *alertCollector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func indicators() []*match.Indicator {
	return []*match.Indicator{
		{Kind: match.KindIP, Value: "203.0.113.77", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindCIDR, Value: "198.51.100.0/24", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindCIDR, Value: "2001:db8:bad::/48", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindCIDR, Value: "192.0.2.0/24", Meta: &match.Meta{Source: "t"}},
	}
}

func rules(t *testing.T) *atomic.Pointer[stream.Rules] {
	return testenv.ExampleRules(t, indicators())
}

// produce writes n generated messages spread over the topic's partitions
// and returns the planted hits that must alert and those that must not.
func produceGenerated(t *testing.T, b *embedded.Broker, topic string, partitions int32, seed int64, n int) (real, excluded []key) {
	t.Helper()
	real, excluded, _ = produceGeneratedAlerting(t, b, topic, partitions, seed, n)
	return real, excluded
}

// produceGeneratedAlerting is produceGenerated, and also returns, per
// partition, the offset of the first message written with a hit that must
// alert (absent when the partition got none): a message without one needs
// no sink, so the pipeline acknowledges it even while its sink refuses.
func produceGeneratedAlerting(t *testing.T, b *embedded.Broker, topic string, partitions int32, seed int64, n int) (real, excluded []key, firstAlert map[int32]int64) {
	t.Helper()
	base := b.HighWatermarks(topic)
	firstAlert = make(map[int32]int64)
	g := gen.New(gen.Options{Seed: seed, HitRatio: 0.02, ExcludedRatio: 0.25, Indicators: indicators(), RecordsPerMessage: 8})
	byPart := make([][][]byte, partitions)
	for i := range n {
		msg, planted := g.Next(nil)
		p := int32(i) % partitions
		for _, pl := range planted {
			if pl.Excluded {
				excluded = append(excluded, key{pl.DeviceID, pl.ReportID})
				continue
			}
			real = append(real, key{pl.DeviceID, pl.ReportID})
			if _, ok := firstAlert[p]; !ok {
				firstAlert[p] = base[p] + int64(len(byPart[p]))
			}
		}
		byPart[p] = append(byPart[p], msg)
	}
	for p, msgs := range byPart {
		if err := b.Produce(context.Background(), topic, int32(p), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	return real, excluded, firstAlert
}

func startE2EBroker(t *testing.T, topics ...embedded.Topic) *embedded.Broker {
	t.Helper()
	b, err := embedded.Start(embedded.BrokerOptions{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

type watcher struct {
	src    *kafka.Source
	p      *stream.Pipeline
	cancel context.CancelFunc
	done   chan error
}

func startWatcher(t *testing.T, b *embedded.Broker, topic string, r *atomic.Pointer[stream.Rules], out sink.Sink, dl stream.DeadLetterWriter) *watcher {
	t.Helper()
	src, err := kafka.New(kafka.Options{Brokers: []string{b.Addr()}, Topics: []string{topic}, Group: "watchers",
		CommitInterval: 100 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, SessionTimeout: 6 * time.Second,
		RebalanceTimeout: 3 * time.Second, MaxWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{src: src, p: stream.New(src, r, out, stream.Options{Workers: 2, DeadLetter: dl, DrainTimeout: 5 * time.Second}), cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- w.p.Run(ctx) }()
	return w
}

// stop shuts the watcher down gracefully: in-flight batches finish, acked
// offsets are committed.
func (w *watcher) stop(t *testing.T) error {
	t.Helper()
	w.cancel()
	err := <-w.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := w.src.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func checkRecall(t *testing.T, c *alertCollector, real, excluded []key) {
	t.Helper()
	for _, k := range real {
		if !c.has(k) {
			t.Errorf("planted hit %v was not alerted", k)
		}
	}
	for _, k := range excluded {
		if c.has(k) {
			t.Errorf("excluded look-alike %v was alerted", k)
		}
	}
}

func TestTwoWatchersInOneGroupAlertEveryPlantedHit(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 4})
	real, excluded := produceGenerated(t, b, "defender", 4, 1, 400)
	out := newAlertCollector()
	r := rules(t)
	w1 := startWatcher(t, b, "defender", r, out, nil)
	w2 := startWatcher(t, b, "defender", r, out, nil)
	waitUntil(t, "every planted hit", func() bool { return out.count() >= len(real) })
	waitUntil(t, "every message processed", func() bool {
		return w1.p.Stats().Records.Load()+w2.p.Stats().Records.Load() >= 400*8
	})
	time.Sleep(300 * time.Millisecond) // let the last batches be acknowledged
	if err := w1.stop(t); err != nil {
		t.Fatal(err)
	}
	if err := w2.stop(t); err != nil {
		t.Fatal(err)
	}
	checkRecall(t, out, real, excluded)
	if got := w1.p.Stats().Records.Load() + w2.p.Stats().Records.Load(); got < 400*8 {
		t.Errorf("the two watchers decoded %d records, want at least %d", got, 400*8)
	}
	committed, err := b.Committed(context.Background(), "watchers", "defender")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, off := range committed {
		total += off
	}
	if total != 400 {
		t.Errorf("committed offsets %v sum to %d, want every message (400) after a graceful stop", committed, total)
	}
}

// TestAWatcherStoppedWithoutCommittingLosesNothing pins that a watcher
// whose sink refuses everything, and which then stops, commits no offset
// past a message whose alert it could not deliver, so that the next
// watcher alerts every planted hit. It still commits the messages before
// those: a message without a hit needs no sink. Each partition starts with
// one such message, committed before the rest is written, so that this is
// so in every run (otherwise only when a batch of such messages happens to
// be read first).
func TestAWatcherStoppedWithoutCommittingLosesNothing(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 4})
	quiet := gen.New(gen.Options{Seed: 20, Indicators: indicators(), RecordsPerMessage: 8}) // no hit planted
	for p := range int32(4) {
		msg, planted := quiet.Next(nil)
		if len(planted) != 0 {
			t.Fatalf("a message without hits has %d planted", len(planted))
		}
		if err := b.Produce(context.Background(), "defender", p, msg); err != nil {
			t.Fatal(err)
		}
	}
	// The first watcher's sink refuses everything: it reads, acknowledges
	// and commits only what raises no alert — then dies.
	stuck := newAlertCollector()
	stuck.fail.Store(true)
	r := rules(t)
	w1 := startWatcher(t, b, "defender", r, stuck, nil)
	waitUntil(t, "the first watcher to commit the messages without a hit", func() bool {
		committed, _ := b.Committed(context.Background(), "watchers", "defender")
		return fmtOffsets(committed) == fmtOffsets(map[int32]int64{0: 1, 1: 1, 2: 1, 3: 1})
	})
	real, excluded, firstAlert := produceGeneratedAlerting(t, b, "defender", 4, 2, 300)
	if len(firstAlert) != 4 {
		t.Fatalf("first alerting offsets %v: want one in every partition", firstAlert)
	}
	waitUntil(t, "the first watcher to try delivering", func() bool { return stuck.writes.Load() > 0 })
	if err := w1.stop(t); err == nil {
		t.Fatal("a watcher whose sink refuses must stop with the error")
	}
	committed, err := b.Committed(context.Background(), "watchers", "defender")
	if err != nil {
		t.Fatal(err)
	}
	for p, off := range committed {
		if off > firstAlert[p] {
			t.Errorf("partition %d committed at %d, past its first message with an alert (offset %d) that no sink accepted", p, off, firstAlert[p])
		}
	}
	out := newAlertCollector()
	w2 := startWatcher(t, b, "defender", r, out, nil)
	waitUntil(t, "the second watcher to alert every planted hit", func() bool { return out.count() >= len(real) })
	if err := w2.stop(t); err != nil {
		t.Fatal(err)
	}
	checkRecall(t, out, real, excluded)
}

func TestARestartResumesFromCommittedOffsets(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 2})
	real, _ := produceGenerated(t, b, "defender", 2, 3, 100)
	first := newAlertCollector()
	r := rules(t)
	w := startWatcher(t, b, "defender", r, first, nil)
	waitUntil(t, "the first run", func() bool { return first.count() >= len(real) })
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	more, _ := produceGenerated(t, b, "defender", 2, 4, 50)
	second := newAlertCollector()
	w = startWatcher(t, b, "defender", r, second, nil)
	waitUntil(t, "the second run", func() bool { return second.count() >= len(more) })
	time.Sleep(300 * time.Millisecond) // room for a wrong re-delivery to show
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	for _, k := range real {
		if second.has(k) {
			t.Errorf("%v was alerted again after a graceful restart", k)
		}
	}
	for _, k := range more {
		if !second.has(k) {
			t.Errorf("new hit %v was not alerted after the restart", k)
		}
	}
}

func TestAPoisonMessageIsDeadLetteredAndDoesNotBlockItsPartition(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 1})
	g := gen.New(gen.Options{Seed: 9, HitRatio: 1, Indicators: indicators()[:1], RecordsPerMessage: 1})
	good1, _ := g.Next(nil)
	good2, _ := g.Next(nil)
	if err := b.Produce(context.Background(), "defender", 0, good1, []byte(`{"records":[{"category":`), good2); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dl, err := stream.OpenDeadLetter(filepath.Join(dir, "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := newAlertCollector()
	w := startWatcher(t, b, "defender", rules(t), out, dl)
	waitUntil(t, "both good messages", func() bool { return out.count() == 2 })
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	dl.Close()
	data, _ := os.ReadFile(filepath.Join(dir, "dead.jsonl"))
	if !strings.Contains(string(data), `"position":"defender[0]@1"`) {
		t.Errorf("dead-letter file lacks the poison message at offset 1:\n%s", data)
	}
	committed, _ := b.Committed(context.Background(), "watchers", "defender")
	if committed[0] != 3 {
		t.Errorf("committed offset %d, want 3 (past the poison message)", committed[0])
	}
}

func TestARefusingSinkHoldsCommitsBackAndLosesNothingOnceItRecovers(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 2})
	real, excluded := produceGenerated(t, b, "defender", 2, 5, 100)
	inner := newAlertCollector()
	inner.fail.Store(true)
	out := sink.WithRetry(inner, sink.RetryPolicy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond})
	w := startWatcher(t, b, "defender", rules(t), out, nil)
	waitUntil(t, "retries against the refusing sink", func() bool { return inner.writes.Load() > 5 })
	time.Sleep(300 * time.Millisecond) // several commit intervals
	committed, _ := b.Committed(context.Background(), "watchers", "defender")
	var total int64
	for _, off := range committed {
		total += off
	}
	if total >= 100 {
		t.Fatalf("offsets %v committed everything while the sink refused", committed)
	}
	inner.fail.Store(false) // the SOAR is back
	waitUntil(t, "every planted hit after recovery", func() bool {
		return inner.count() >= len(real)
	})
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	checkRecall(t, inner, real, excluded)
	committed, _ = b.Committed(context.Background(), "watchers", "defender")
	total = 0
	for _, off := range committed {
		total += off
	}
	if total != 100 {
		t.Errorf("after recovery committed %v (sum %d), want all 100", committed, total)
	}
}

// A SOAR webhook that answers 503 for a while mid-stream: every alert still
// arrives (by alert_id), and no committed offset ever passes a message
// whose alerts were not yet delivered.
func TestAWebhookOutageMidStreamLosesNoAlertAndCommitsNothingUndelivered(t *testing.T) {
	b := startE2EBroker(t, embedded.Topic{Name: "defender", Partitions: 2})
	var (
		mu        sync.Mutex
		delivered = map[key]bool{}
		down      atomic.Bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var alerts []sink.Alert
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, a := range alerts {
			delivered[key{a.DeviceID, a.ReportID}] = true
		}
		mu.Unlock()
	}))
	defer srv.Close()
	hook, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL, Batch: true})
	if err != nil {
		t.Fatal(err)
	}
	out := sink.WithRetry(hook, sink.RetryPolicy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond})
	w := startWatcher(t, b, "defender", rules(t), out, nil)

	// Messages are produced one by one, so each one's partition, offset and
	// planted hits are known.
	type msgHits struct {
		partition int32
		offset    int64
		hits      []key
	}
	var sent []msgHits
	next := map[int32]int64{}
	g := gen.New(gen.Options{Seed: 21, HitRatio: 0.05, Indicators: indicators(), RecordsPerMessage: 8})
	send := func(n int) {
		for i := range n {
			p := int32(i % 2)
			msg, planted := g.Next(nil)
			if err := b.Produce(context.Background(), "defender", p, msg); err != nil {
				t.Fatal(err)
			}
			m := msgHits{partition: p, offset: next[p]}
			next[p]++
			for _, pl := range planted {
				if !pl.Excluded {
					m.hits = append(m.hits, key{pl.DeviceID, pl.ReportID})
				}
			}
			sent = append(sent, m)
		}
	}
	// checkCommits fails when a committed offset covers a message whose
	// alerts have not all been delivered.
	checkCommits := func() {
		committed, err := b.Committed(context.Background(), "watchers", "defender")
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range sent {
			if m.offset < committed[m.partition] {
				for _, h := range m.hits {
					if !delivered[h] {
						t.Fatalf("offset %d of partition %d is committed, but its alert %v was never delivered", committed[m.partition], m.partition, h)
					}
				}
			}
		}
	}
	send(40)
	down.Store(true) // the outage begins mid-stream
	send(80)
	for range 15 { // about 1.5 s of outage, checking commits all along
		time.Sleep(100 * time.Millisecond)
		checkCommits()
	}
	down.Store(false)
	send(40)
	var want int
	for _, m := range sent {
		want += len(m.hits)
	}
	waitUntil(t, "every alert after the outage", func() bool {
		checkCommits()
		mu.Lock()
		defer mu.Unlock()
		return len(delivered) >= want
	})
	if err := w.stop(t); err != nil {
		t.Fatal(err)
	}
	checkCommits()
	for _, m := range sent {
		for _, h := range m.hits {
			if !delivered[h] {
				t.Errorf("alert %v was lost in the outage", h)
			}
		}
	}
}
