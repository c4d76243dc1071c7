package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/testenv"
)

// Produce-to-alert latency through the whole watcher: an SDK producer sends
// bench/gen Defender messages at a fixed rate to the emulator, every record
// stamped with the time it was handed to the producer; a Source with the
// defaults a user gets feeds stream.Pipeline (real decoder, index, the
// shipped example exclusions); the sink notes when it accepted each alert.
// docs/benchmarks-eventhubs.md has the results.

const (
	// latencyPartitions is the live hub's partition count.
	latencyPartitions = 4
	// latencyRecordsPerEvent: records per event, as in BenchmarkSource's
	// testdata message, so that rates compare with its events/s.
	latencyRecordsPerEvent = 2
	// latencyHitRatio is the share of records with a planted hit: 10 %, so
	// that even the lowest rate yields ~200 latency samples per run.
	latencyHitRatio = 0.10
	// latencySend is how long the producer sends.
	latencySend = 10 * time.Second
	// latencyRing is how many pre-generated events each partition's sender
	// cycles through (their stamps are rewritten on every send).
	latencyRing = 1024
	// stampLayout is the layout of bench/gen's Timestamp and time fields;
	// stampPlaceholder is the fixed time the ring is generated with, and
	// which every send overwrites in place with the send time.
	stampLayout      = "2006-01-02T15:04:05.0000000Z"
	stampPlaceholder = "2001-01-01T00:00:00.0000000Z"
)

// latencyRates are the paced rates in records per second: two low ones, and
// half of BenchmarkSource's median catch-up throughput (14,600 events/s of
// two records, docs/benchmarks-eventhubs.md).
var latencyRates = []int{200, 1_000, 14_600}

// BenchmarkProduceToAlertLatency reports, per rate, the p50, p99 and max
// produce-to-alert latency of every planted hit, the records/s consumed
// (sent records over the time from the first send until every record was
// decoded) and the CPU per event of the Go process (watcher and producer),
// the emulator and Azurite. It fails when a planted hit is not alerted, a
// suppressed look-alike is, or a record is not decoded.
func BenchmarkProduceToAlertLatency(b *testing.B) {
	conn := testenv.StartEmulator(b, fmt.Sprintf("live:%d", latencyPartitions))
	blob := testenv.StartAzurite(b)
	rules := testenv.ExampleRules(b, e2eIndicators())
	for _, rate := range latencyRates {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			var lat []time.Duration
			var records, events int
			var wall, sending, stall time.Duration
			var wait [3]time.Duration
			var cpu cpuMeter
			for b.Loop() {
				r, err := runLatency(b, conn, blob, rules, float64(rate), &cpu)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, r.latencies...)
				records += r.records
				events += r.events
				wall += r.wall
				sending += r.sending
				stall = max(stall, r.stall)
				for i := range wait {
					wait[i] += r.wait[i]
				}
			}
			if len(lat) == 0 {
				b.Fatal("no alerts")
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(quantile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(quantile(lat, 0.99)), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(len(lat)), "alerts")
			b.ReportMetric(float64(records)/wall.Seconds(), "records/s")
			b.ReportMetric(float64(records)/sending.Seconds(), "sent-records/s")
			cpu.report(b, events)
			b.ReportMetric(ms(stall), "stall-max-ms")
			for i, who := range []string{"go", "emulator", "azurite"} {
				b.ReportMetric(ms(wait[i])/wall.Seconds(), who+"-runq-ms/s")
			}
		})
	}
}

// quantile returns the q-quantile (0–1) of sorted ds by nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	i := int(float64(len(ds))*q+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// latencyRun is one paced run.
type latencyRun struct {
	latencies []time.Duration // one per alert
	records   int             // records sent (and decoded)
	events    int             // events sent
	wall      time.Duration   // first send until every record decoded
	sending   time.Duration   // first send until the last send returned
	planted   int             // planted hits sent
	stall     time.Duration   // longest delay of the stall probe's tick
	// wait is the run-queue wait, over wall, of this process, the
	// emulator and Azurite (runQueueWaits).
	wait [3]time.Duration
}

// latencySink accepts every alert at once and notes, per alert, its event
// (device, report) and the time from the record's stamp to acceptance.
// Safe for concurrent use.
type latencySink struct {
	mu   sync.Mutex
	seen map[e2eKey]int
	lat  []time.Duration
}

// Write implements sink.Sink.
func (s *latencySink) Write(_ context.Context, alerts []sink.Alert) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range alerts {
		s.seen[e2eKey{alerts[i].DeviceID, alerts[i].ReportID}]++
		s.lat = append(s.lat, now.Sub(alerts[i].Timestamp))
	}
	return nil
}

// Close implements sink.Sink.
func (s *latencySink) Close(context.Context) error { return nil }

// covers reports whether every key of want was alerted at least as often
// as it was sent.
func (s *latencySink) covers(want map[e2eKey]int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range want {
		if s.seen[k] < n {
			return false
		}
	}
	return true
}

// ringEvent is a pre-generated event: its body with the placeholder stamp,
// where the stamps are, and the events planted in it.
type ringEvent struct {
	body     []byte
	stamps   []int
	real     []e2eKey // hits that must be alerted
	excluded []e2eKey // look-alikes that the exclusions suppress
}

// newRing generates n events whose records carry the placeholder stamp.
func newRing(seed int64, n int) ([]ringEvent, error) {
	placeholder, err := time.Parse(stampLayout, stampPlaceholder)
	if err != nil {
		return nil, err
	}
	g := gen.New(gen.Options{
		Seed: seed, HitRatio: latencyHitRatio, ExcludedRatio: 0.25, Indicators: e2eIndicators(),
		RecordsPerMessage: latencyRecordsPerEvent, Clock: func() time.Time { return placeholder },
	})
	ring := make([]ringEvent, n)
	for i := range ring {
		body, planted := g.Next(nil)
		ev := ringEvent{body: body}
		for off := 0; ; {
			j := bytes.Index(body[off:], []byte(stampPlaceholder))
			if j < 0 {
				break
			}
			ev.stamps = append(ev.stamps, off+j)
			off += j + len(stampPlaceholder)
		}
		// Every record has a time, most also a Timestamp.
		if len(ev.stamps) < latencyRecordsPerEvent {
			return nil, fmt.Errorf("generated event %d has %d time stamps, want at least %d", i, len(ev.stamps), latencyRecordsPerEvent)
		}
		for _, pl := range planted {
			if pl.Excluded {
				ev.excluded = append(ev.excluded, e2eKey{pl.DeviceID, pl.ReportID})
			} else {
				ev.real = append(ev.real, e2eKey{pl.DeviceID, pl.ReportID})
			}
		}
		ring[i] = ev
	}
	return ring, nil
}

// runLatency starts a Source (a fresh checkpoint container, start position
// latest) and a pipeline, waits until every partition's receiver is
// attached, sends at rate records/s for latencySend, and waits until every
// record was decoded and every planted hit alerted.
func runLatency(b *testing.B, conn, blob string, rules *atomic.Pointer[stream.Rules], rate float64, cpu *cpuMeter) (latencyRun, error) {
	var run latencyRun
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	rings := make([][]ringEvent, latencyPartitions)
	for p := range rings {
		r, err := newRing(int64(100+p), latencyRing)
		if err != nil {
			return run, err
		}
		rings[p] = r
	}
	pr, err := NewProducer(ctx, conn, "live")
	if err != nil {
		return run, err
	}
	defer pr.Close(context.WithoutCancel(ctx))

	// The defaults a user gets, but greedy claims: a lone replica then owns
	// every partition at once instead of one per 10 s update interval.
	// Claiming is start-up, not on the alert path.
	opt := Options{
		Hub:                        "live",
		ConnectionString:           conn,
		CheckpointConnectionString: blob,
		CheckpointContainer:        testenv.NewContainer(b, blob),
		LoadBalancing:              "greedy",
		afterHubCheck:              func() { managementLinks.Add(1) },
	}
	src, err := New(ctx, opt)
	if err != nil {
		return run, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	out := &latencySink{seen: map[e2eKey]int{}}
	pl := stream.New(src, rules, out, stream.Options{})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- pl.Run(runCtx) }()
	fail := func(err error) (latencyRun, error) {
		stop()
		<-done
		return run, err
	}

	if err := attach(ctx, src, pr); err != nil {
		return fail(err)
	}
	records0 := pl.Stats().Records.Load()

	want := map[e2eKey]int{}
	var excluded []e2eKey
	var wantMu sync.Mutex
	perPart := rate / latencyRecordsPerEvent / latencyPartitions // events/s
	total := int(perPart * latencySend.Seconds())
	cpu.start()
	wait0 := runQueueWaits()
	probe := startStallProbe()
	defer probe.stop()
	t0 := time.Now()
	errs := make([]error, latencyPartitions)
	var wg sync.WaitGroup
	for p := range latencyPartitions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, ex, err := pace(ctx, pr, strconv.Itoa(p), rings[p], t0, perPart, total)
			errs[p] = err
			wantMu.Lock()
			for k, n := range w {
				want[k] += n
			}
			excluded = append(excluded, ex...)
			wantMu.Unlock()
		}()
	}
	wg.Wait()
	run.sending = time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	run.events = total * latencyPartitions
	run.records = run.events * latencyRecordsPerEvent
	for _, n := range want {
		run.planted += n
	}

	deadline := time.Now().Add(60 * time.Second)
	for pl.Stats().Records.Load()-records0 < int64(run.records) || !out.covers(want) {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("after 60 s: %d of %d records decoded, planted hits alerted: %v",
				pl.Stats().Records.Load()-records0, run.records, out.covers(want)))
		}
		time.Sleep(5 * time.Millisecond)
	}
	run.wall = time.Since(t0)
	cpu.stop()
	run.stall = probe.stop()
	wait1 := runQueueWaits()
	for i := range run.wait {
		run.wait[i] = wait1[i] - wait0[i]
	}
	stop()
	if err := <-done; err != nil {
		return run, fmt.Errorf("pipeline: %w", err)
	}
	st := pl.Stats()
	if got := st.Records.Load() - records0; got != int64(run.records) {
		return run, fmt.Errorf("decoded %d records, sent %d", got, run.records)
	}
	if n := st.DecodeErrors.Load(); n > 0 {
		return run, fmt.Errorf("%d decode errors", n)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, k := range excluded {
		if out.seen[k] > 0 {
			return run, fmt.Errorf("suppressed look-alike %v was alerted", k)
		}
	}
	if len(out.lat) != run.planted {
		return run, fmt.Errorf("%d alerts for %d planted hits", len(out.lat), run.planted)
	}
	run.latencies = out.lat
	return run, nil
}

// attach waits until the Source owns every partition and each partition's
// receiver has delivered an event: with start position latest, events sent
// before a receiver attaches are never read. It sends an empty envelope to
// each partition still waiting, every 100 ms.
func attach(ctx context.Context, src *Source, pr *Producer) error {
	probe := [][]byte{[]byte(`{"records":[]}`)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var waiting []string
		src.mu.Lock()
		for p := range latencyPartitions {
			id := strconv.Itoa(p)
			if part := src.parts[id]; part == nil || part.lost || !part.received {
				waiting = append(waiting, id)
			}
		}
		src.mu.Unlock()
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("partitions %v not receiving after 60 s", waiting)
		}
		for _, id := range waiting {
			if err := pr.SendToPartition(ctx, id, probe); err != nil {
				return fmt.Errorf("probe: %w", err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pace sends total events of ring to partition id at perSec events/s from
// t0: every 2 ms it sends, in one batch, the events due by then, each
// record stamped with the time just before the send. It returns how often
// each planted hit was sent, and the look-alikes sent.
func pace(ctx context.Context, pr *Producer, id string, ring []ringEvent, t0 time.Time, perSec float64, total int) (map[e2eKey]int, []e2eKey, error) {
	want := map[e2eKey]int{}
	var excluded []e2eKey
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var bufs [][]byte // reused: the batch copies the bodies
	var stamp []byte
	for sent := 0; sent < total; {
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-tick.C:
		}
		due := min(int(time.Since(t0).Seconds()*perSec), total) - sent
		if due <= 0 {
			continue
		}
		for len(bufs) < due {
			bufs = append(bufs, nil)
		}
		stamp = time.Now().UTC().AppendFormat(stamp[:0], stampLayout)
		for i := range due {
			ev := &ring[(sent+i)%len(ring)]
			buf := append(bufs[i][:0], ev.body...)
			for _, off := range ev.stamps {
				copy(buf[off:], stamp)
			}
			bufs[i] = buf
			for _, k := range ev.real {
				want[k]++
			}
			excluded = append(excluded, ev.excluded...)
		}
		if err := pr.SendToPartition(ctx, id, bufs[:due]); err != nil {
			return nil, nil, fmt.Errorf("send %d events to partition %s: %w", due, id, err)
		}
		sent += due
	}
	return want, excluded, nil
}

// runQueueWaits returns the time the threads of this process, of its
// emulator child and of its Azurite child spent runnable but waiting for a
// CPU (/proc/<pid>/task/*/schedstat, second field), summed over their live
// threads. Linux only: elsewhere zero.
func runQueueWaits() [3]time.Duration {
	var out [3]time.Duration
	out[0] = tasksWait("/proc/self")
	eachChild(func(dir, cmd string, _ []string) {
		switch {
		case strings.Contains(cmd, "eventhubs_emulator.py"):
			out[1] += tasksWait(dir)
		case strings.Contains(cmd, "azurite"):
			out[2] += tasksWait(dir)
		}
	})
	return out
}

func tasksWait(dir string) time.Duration {
	tasks, _ := filepath.Glob(filepath.Join(dir, "task", "*", "schedstat"))
	var sum time.Duration
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw))
		if len(f) < 2 {
			continue
		}
		ns, _ := strconv.ParseInt(f[1], 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}

// stallProbe measures how late this process's goroutines get to run: a
// goroutine that wakes every 10 ms notes the longest gap between wake-ups.
// On a machine where other processes hold the CPUs this is how long the
// watcher could not run at all.
type stallProbe struct {
	done    chan struct{}
	longest chan time.Duration
	once    sync.Once
	result  time.Duration
}

func startStallProbe() *stallProbe {
	p := &stallProbe{done: make(chan struct{}), longest: make(chan time.Duration, 1)}
	go func() {
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		last := time.Now()
		var longest time.Duration
		for {
			select {
			case <-p.done:
				p.longest <- longest
				return
			case now := <-tk.C:
				longest = max(longest, now.Sub(last))
				last = now
			}
		}
	}()
	return p
}

// stop ends the probe and returns the longest gap between its wake-ups.
// Safe to call twice.
func (p *stallProbe) stop() time.Duration {
	p.once.Do(func() {
		close(p.done)
		p.result = <-p.longest
	})
	return p.result
}
