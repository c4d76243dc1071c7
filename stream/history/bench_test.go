package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/internal/cputime"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// Benchmarks of docs/benchmarks-history.md. The observations come from
// bench/gen: a pool of 200,000 decoded records (20,000 distinct benign
// hosts, 500 devices), replayed with a fresh random RemoteIP per record
// (as gen does: the worst case for the IP dictionary) except where gen
// planted a hit, and with increasing Timestamps and ReportIds. gen draws a
// random InitiatingProcessSHA256 for every record, which no fleet does (a
// hash names a binary): the pool gives each process path one hash.

var benchStart = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// huntIndicators are the 10,000 "new" indicators the retro-hunt
// benchmarks add: 5,000 ip/cidr, 4,000 domain, 1,000 url.
func huntIndicators() []*match.Indicator {
	return gen.Indicators(gen.IndicatorOptions{Seed: 99, IPs: 5000, Domains: 4000, URLs: 1000, Source: "new-feed"})
}

type benchPool struct {
	events  []stream.Event
	planted []bool // events[i] carries a planted hit on a hunt indicator
}

var (
	poolOnce sync.Once
	pool     *benchPool
)

// getPool decodes the pool once per process: one in 500 records is a
// planted hit on one of 100 of the hunt indicators.
func getPool() *benchPool {
	poolOnce.Do(func() {
		inds := huntIndicators()
		var plantOn []*match.Indicator
		for i := 0; i < len(inds); i += 100 {
			plantOn = append(plantOn, inds[i])
		}
		g := gen.New(gen.Options{Seed: 1, Indicators: plantOn, HitRatio: 0.002, BenignHosts: 20000, Start: benchStart, Step: time.Millisecond})
		p := &benchPool{}
		var dec stream.Decoder
		var buf []byte
		var evs []stream.Event
		ids := map[int64]bool{}
		for len(p.events) < 200_000 {
			var pl []gen.Planted
			buf, pl = g.Next(buf[:0])
			for _, x := range pl {
				ids[x.ReportID] = true
			}
			evs, _ = dec.Decode(buf, evs[:0])
			for i := range evs {
				e := evs[i]
				e.ProcessSHA256 = shaOf(e.ProcessFolderPath)
				for _, s := range []*string{&e.TenantID, &e.DeviceID, &e.DeviceName, &e.ActionType, &e.MachineGroup,
					&e.RemoteURL, &e.Protocol, &e.ProcessFileName, &e.ProcessFolderPath, &e.ProcessCommandLine,
					&e.ProcessSHA256, &e.AccountName, &e.AccountDomain, &e.FileName} {
					*s = strings.Clone(*s)
				}
				p.events = append(p.events, e)
				p.planted = append(p.planted, ids[e.ReportID])
			}
			dec.Reset()
		}
		pool = p
	})
	return pool
}

func shaOf(path string) string {
	sum := sha256.Sum256([]byte(path))
	return hex.EncodeToString(sum[:])
}

// feeder produces the benchmark's observation stream from the pool.
type feeder struct {
	p    *benchPool
	r    *rand.Rand
	n    int
	step time.Duration
	evs  []stream.Event
}

func newFeeder(total int, span time.Duration) *feeder {
	return &feeder{p: getPool(), r: rand.New(rand.NewPCG(5, 6)), step: span / time.Duration(max(total, 1)), evs: make([]stream.Event, 8)}
}

// next returns the next 8 events.
func (f *feeder) next() []stream.Event {
	for j := range f.evs {
		k := f.n % len(f.p.events)
		e := f.p.events[k]
		e.Timestamp = benchStart.Add(time.Duration(f.n) * f.step)
		e.ReportID = int64(f.n) + 1
		if e.RemoteIP.IsValid() && !f.p.planted[k] {
			if e.RemoteIP.Is4() {
				v := f.r.Uint32()
				e.RemoteIP = netip.AddrFrom4([4]byte{byte(20 + v%150), byte(v >> 8), byte(v >> 16), byte(1 + (v>>24)%254)})
			} else {
				var b [16]byte
				b[0], b[1] = 0x2a, 0x02
				binary.LittleEndian.PutUint64(b[2:], f.r.Uint64())
				binary.LittleEndian.PutUint32(b[10:], f.r.Uint32())
				e.RemoteIP = netip.AddrFrom16(b)
			}
		}
		f.evs[j] = e
		f.n++
	}
	return f.evs
}

// fill records n observations, flushing often enough that nothing is
// dropped; c follows the event times.
func fill(tb testing.TB, h *History, f *feeder, c *clock, n int) {
	for i := 0; i < n; i += 8 {
		evs := f.next()
		if c != nil {
			c.mu.Lock()
			c.t = evs[len(evs)-1].Timestamp
			c.mu.Unlock()
		}
		h.Record(evs)
		if i%(16<<10) == 0 {
			flush(tb, h)
		}
	}
	flush(tb, h)
	if st := h.Stats(); st.DroppedBehind > 0 {
		tb.Fatalf("the benchmark dropped observations: %+v", st)
	}
}

// heapSampler tracks the largest live heap — the bytes the last GC found
// reachable (/gc/heap/live:bytes), read every 10ms without stopping the
// world: garbage not yet collected is left out, since how much of it there
// may be is GOGC's choice.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// liveHeap forces a GC and returns the live heap.
func liveHeap() uint64 {
	runtime.GC()
	return heapLive()
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if v := heapLive(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *heapSampler) Stop() uint64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

func dirSize(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

const mib = 1 << 20

// BenchmarkRecord measures the hot path: what OnEvents costs a pipeline
// worker per event (copying 8 decoded events into the buffer), with the
// writer running behind it.
func BenchmarkRecord(b *testing.B) {
	f := newFeeder(1, time.Millisecond)
	msgs := make([][]stream.Event, 1024)
	for i := range msgs {
		msgs[i] = append([]stream.Event(nil), f.next()...)
	}
	c := newClock()
	h, err := Open(Options{Dir: b.TempDir(), Now: c.Now, MaxBytes: 64 * mib})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(msgs[i%len(msgs)])
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(8*i), "ns/event")
	st := h.Stats()
	b.ReportMetric(float64(st.DroppedBehind)/float64(max(st.Recorded, 1)), "dropped-share")
}

// BenchmarkEncode measures the writer's CPU cost alone: encoding blocks of
// 4096 observations (the dictionaries of a growing segment), without I/O.
func BenchmarkEncode(b *testing.B) {
	f := newFeeder(1, time.Millisecond)
	bufs := make([]*buffer, 16)
	for i := range bufs {
		bufs[i] = newBuffer(DefaultBufferRecords, DefaultBufferRecords*arenaPerRecord)
		for len(bufs[i].recs) < DefaultBufferRecords {
			for _, e := range f.next() {
				bufs[i].add(&e)
			}
		}
	}
	enc := newEncoder()
	var out []byte
	i := 0
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := cputime.Thread()
	for b.Loop() {
		out = enc.block(out[:0], bufs[i%len(bufs)], 1)
		i++
	}
	b.ReportMetric(float64((cputime.Thread()-cpu0).Nanoseconds())/float64(i*DefaultBufferRecords), "cpu-ns/obs")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i*DefaultBufferRecords), "ns/obs")
	b.ReportMetric(float64(len(out))/DefaultBufferRecords, "block-B/obs")
}

// BenchmarkWriteThroughput writes 1M observations into each store — the
// segment log and, for comparison, bbolt (go.etcd.io/bbolt) with the same
// observations as values of sequential keys, either with the strings
// inline or dictionary-encoded like the segment log — and reports the rate,
// the process CPU time per observation, the bytes per observation on disk
// and the live heap (after a GC: at the end, and the largest of samples
// taken every 250ms). "feed-only" is the cost of producing the
// observations, included in every other case.
func BenchmarkWriteThroughput(b *testing.B) {
	const n = 1_000_000
	getPool()
	for _, store := range []string{"feed-only", "segment-log", "bbolt-inline", "bbolt-dict"} {
		b.Run(store, func(b *testing.B) {
			var rate, cpu, bytesPer, retained, peak float64
			for b.Loop() {
				dir := b.TempDir()
				f := newFeeder(n, 24*time.Hour)
				base := liveHeap()
				hs := startHeapSampler()
				start, cpu0 := time.Now(), cputime.Process()
				var size int64
				var live uint64
				switch store {
				case "feed-only":
					for i := 0; i < n; i += 8 {
						f.next()
					}
					live = liveHeap()
				case "segment-log":
					h, err := Open(Options{Dir: dir, MaxBytes: 1 << 30})
					if err != nil {
						b.Fatal(err)
					}
					fill(b, h, f, nil, n)
					live = liveHeap()
					h.Close(context.Background())
				default:
					w, err := openBoltWriter(filepath.Join(dir, "history.db"), store == "bbolt-dict")
					if err != nil {
						b.Fatal(err)
					}
					for i := 0; i < n; i += 8 {
						w.add(f.next())
					}
					if err := w.flush(); err != nil {
						b.Fatal(err)
					}
					live = liveHeap()
					w.close()
				}
				rate = n / time.Since(start).Seconds()
				cpu = float64((cputime.Process() - cpu0).Nanoseconds()) / n
				size = dirSize(dir)
				pk := hs.Stop()
				bytesPer = float64(size) / n
				retained = float64(int64(live)-int64(base)) / mib
				peak = float64(int64(max(pk, live))-int64(base)) / mib
			}
			b.ReportMetric(rate, "obs/s")
			b.ReportMetric(cpu, "cpu-ns/obs")
			b.ReportMetric(bytesPer, "B/obs")
			b.ReportMetric(retained, "heap-MiB")
			b.ReportMetric(peak, "peak-heap-MiB")
		})
	}
}

// The 10M-observation history, built once per process by
// BenchmarkHistory10M or the first benchmark that needs it.
var (
	h10mOnce sync.Once
	h10mDir  string
	h10mErr  error
)

const n10M = 10_000_000

func buildHistory10M(b *testing.B) (dir string, rate, retained, peak float64) {
	dir, err := os.MkdirTemp("", "iocwatch-history-10m-")
	if err != nil {
		b.Fatal(err)
	}
	getPool()
	c := newClock()
	c.t = benchStart
	base := liveHeap()
	hs := startHeapSampler()
	h, err := Open(Options{Dir: dir, MaxBytes: 1 << 30, Now: c.Now})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fill(b, h, newFeeder(n10M, 23*time.Hour), c, n10M)
	rate = n10M / time.Since(start).Seconds()
	live := liveHeap()
	if st := h.Stats(); st.Observations != n10M {
		b.Fatalf("the history holds %d observations, want %d: %+v", st.Observations, n10M, st)
	}
	if err := h.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	return dir, rate, float64(int64(live)-int64(base)) / mib, float64(int64(hs.Stop())-int64(base)) / mib
}

func history10M(b *testing.B) string {
	h10mOnce.Do(func() {
		h10mDir, _, _, _ = buildHistory10M(b)
	})
	if h10mErr != nil {
		b.Fatal(h10mErr)
	}
	return h10mDir
}

// BenchmarkHistory10M records 10M observations (23 hours of event time, a
// cap of 1 GiB) and reports the write rate, the size on disk and the heap
// (the pool of 200,000 source events excluded).
func BenchmarkHistory10M(b *testing.B) {
	for b.Loop() {
		dir, rate, retained, peak := buildHistory10M(b)
		size := dirSize(dir)
		b.ReportMetric(rate, "obs/s")
		b.ReportMetric(float64(size)/mib, "disk-MiB")
		b.ReportMetric(float64(size)/n10M, "B/obs")
		b.ReportMetric(retained, "heap-MiB")
		b.ReportMetric(peak, "peak-heap-MiB")
		h10mOnce.Do(func() { h10mDir = dir })
		if h10mDir != dir {
			os.RemoveAll(dir)
		}
	}
}

// BenchmarkRetroHunt10k hunts the 10,000 new indicators through the 10M
// history (no live traffic, so unpaced): the time per hunt is ns/op, and
// cpu-s/hunt the CPU time of the hunting goroutine's thread.
func BenchmarkRetroHunt10k(b *testing.B) {
	dir := history10M(b)
	h, err := Open(Options{Dir: dir, MaxBytes: 1 << 30, Now: func() time.Time { return benchStart.Add(23 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	inds := huntIndicators()
	var alerts int
	emit := func(a []sink.Alert) error { alerts += len(a); return nil }
	base := liveHeap()
	hs := startHeapSampler()
	var rep HuntReport
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	v0 := h.matchedValues.Load()
	for b.Loop() {
		h.known, h.noKnown = nil, false
		alerts = 0
		cpu0 := cputime.Thread()
		if rep, err = h.Hunt(context.Background(), inds, nil, emit); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Thread() - cpu0
	}
	peak := hs.Stop()
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/hunt")
	if rep.Alerts == 0 || rep.Alerts != alerts || rep.Indicators != len(inds) {
		b.Fatalf("the hunt found nothing: %+v", rep)
	}
	b.ReportMetric(float64(rep.Alerts), "alerts")
	b.ReportMetric(float64(rep.Read), "segments-read")
	b.ReportMetric(float64(rep.Segments), "segments")
	b.ReportMetric(float64(int64(peak)-int64(base))/mib, "peak-heap-MiB")
	b.ReportMetric(float64(rep.Observations), "observations-decoded")
	b.ReportMetric(float64(h.matchedValues.Load()-v0)/float64(b.N), "remote-values-matched")
}

// fewerHashes gives the records of a gen message one of 16 process
// hashes instead of gen's random one per record (see the top of the file).
func fewerHashes(msg []byte) {
	key := []byte(`"InitiatingProcessSHA256":"`)
	for i := 0; ; {
		j := bytes.Index(msg[i:], key)
		if j < 0 || i+j+len(key)+64 > len(msg) {
			return
		}
		v := msg[i+j+len(key) : i+j+len(key)+64]
		copy(v, shaOf(string(v[:1])))
		i += j + len(key) + 64
	}
}

// memSource yields the same messages, in batches of 256, once.
type memSource struct {
	msgs [][]byte
	next int
}

func (s *memSource) Read(ctx context.Context) (stream.Batch, error) {
	if s.next >= len(s.msgs) {
		return stream.Batch{}, io.EOF
	}
	end := min(s.next+256, len(s.msgs))
	b := stream.Batch{Messages: make([]stream.Message, 0, end-s.next)}
	for i := s.next; i < end; i++ {
		b.Messages = append(b.Messages, stream.Message{Value: s.msgs[i], Position: stream.Position{Source: "mem", Partition: -1, Offset: int64(i)}})
	}
	s.next = end
	return b, nil
}

func (s *memSource) Close(context.Context) error { return nil }

type discardSink struct{ n atomic.Int64 }

func (d *discardSink) Write(_ context.Context, a []sink.Alert) error {
	d.n.Add(int64(len(a)))
	return nil
}
func (d *discardSink) Close(context.Context) error { return nil }

// BenchmarkLiveThroughput runs the pipeline (GOMAXPROCS workers, 100,000
// indicators) over 20,000 gen messages of 8 records, alternating two modes
// run after run so that both see the same load from the rest of the
// machine, and reports each mode's rate, its process CPU time per record,
// and the ratio of the rates:
//
//   - recording-cost: without a history (A), and recording into one (B);
//   - hunt-impact: recording (A), and recording while retro-hunts of
//     10,000 new indicators through 2M recorded observations run back to
//     back (B), paced by the default HuntCPU;
//   - hunt-impact-unpaced: the same with HuntCPU 1, for comparison.
func BenchmarkLiveThroughput(b *testing.B) {
	live := gen.Indicators(gen.IndicatorOptions{Seed: 3, IPs: 50_000, Domains: 40_000, URLs: 10_000})
	ix, err := match.Build(live, match.BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: ix})
	g := gen.New(gen.Options{Seed: 2, Indicators: live[:100], HitRatio: 0.001, BenignHosts: 20000})
	msgs := make([][]byte, 20_000)
	for i := range msgs {
		msgs[i], _ = g.Next(nil)
		fewerHashes(msgs[i])
	}
	const records = 20_000 * 8
	type tally struct{ wall, cpu time.Duration }
	run := func(b *testing.B, h *History, t *tally) {
		opt := stream.Options{}
		if h != nil {
			opt.OnEvents = h.Record
		}
		p := stream.New(&memSource{msgs: msgs}, &rules, &discardSink{}, opt)
		start, cpu0 := time.Now(), cputime.Process()
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		t.wall += time.Since(start)
		t.cpu += cputime.Process() - cpu0
		if got := p.Stats().Records.Load(); got != records {
			b.Fatalf("%d records, want %d", got, records)
		}
	}
	report := func(b *testing.B, a, bb tally) {
		n := float64(records * b.N)
		rateA, rateB := n/a.wall.Seconds(), n/bb.wall.Seconds()
		b.ReportMetric(rateA, "A-records/s")
		b.ReportMetric(rateB, "B-records/s")
		b.ReportMetric(rateB/rateA, "B/A")
		b.ReportMetric(float64(a.cpu.Nanoseconds())/1e3/n, "A-cpu-µs/record")
		b.ReportMetric(float64(bb.cpu.Nanoseconds())/1e3/n, "B-cpu-µs/record")
	}
	b.Run("recording-cost", func(b *testing.B) {
		h, err := Open(Options{Dir: b.TempDir(), MaxBytes: 1 << 30})
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close(context.Background())
		var a, r tally
		for b.Loop() {
			run(b, nil, &a)
			run(b, h, &r)
		}
		report(b, a, r)
		st := h.Stats()
		b.ReportMetric(float64(st.DroppedBehind)/float64(max(st.Recorded, 1)), "dropped-share")
	})
	for _, mode := range []string{"hunt-impact", "hunt-impact-unpaced"} {
		b.Run(mode, func(b *testing.B) {
			cpu := 0.0
			if mode == "hunt-impact-unpaced" {
				cpu = 1
			}
			h, err := Open(Options{Dir: b.TempDir(), MaxBytes: 1 << 30, HuntCPU: cpu})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			fill(b, h, newFeeder(2_000_000, 2*time.Hour), nil, 2_000_000)
			inds := huntIndicators()
			var steady, hunting tally
			var values uint64
			for b.Loop() {
				run(b, h, &steady)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					for ctx.Err() == nil {
						h.huntMu.Lock()
						h.known, h.noKnown = nil, false
						h.huntMu.Unlock()
						h.Hunt(ctx, inds, nil, func([]sink.Alert) error { return nil })
					}
				}()
				v0 := h.matchedValues.Load()
				run(b, h, &hunting)
				values += h.matchedValues.Load() - v0
				cancel()
				<-done
			}
			report(b, steady, hunting)
			b.ReportMetric(float64(values)/hunting.wall.Seconds(), "hunt-values/s")
			st := h.Stats()
			b.ReportMetric(float64(st.DroppedBehind)/float64(max(st.Recorded, 1)), "dropped-share")
		})
	}
}
