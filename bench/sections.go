package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
)

// lookupRun times ns per lookup of set on ix (one core).
func (s *suite) lookupRun(ix reference.Index, set LookupSet) func() (Sample, error) {
	return func() (Sample, error) {
		return single(func() (Sample, error) {
			smp, _, err := MatchRun(ix, set.Qs, s.minRun/2)
			return smp, err
		})
	}
}

// ipIndex compares bart (the default) with cidranger over the ip/cidr
// indicators alone: build time, heap, lookup time.
func (s *suite) ipIndex() error {
	sec := s.rep.section("ipindex", "IP index: bart (default) vs cidranger, ip/cidr indicators only", "ip/cidr indicators", "index", "build s (CPU)", "heap MiB", "hit ns", "miss ns", "bart is … faster (hit)", "… faster (build)")
	sec.Note = fmt.Sprintf("match.Build over the ip and cidr indicators alone with BuildOptions.IPIndex bart or cidranger; lookups through Index.Match with a RemoteIP only, one core; medians of %d interleaved rounds. cidranger up to %s.", s.cfg.Rounds, Count(maxCIDRanger))
	for _, n := range s.cfg.Sizes {
		if s.cfg.Quick && n > 100_000 {
			continue
		}
		inds := kinds(s.standard().With("", n).Indicators(), match.KindIP, match.KindCIDR)
		tables := []string{match.IPIndexBart}
		if n <= maxCIDRanger {
			tables = append(tables, match.IPIndexCIDRanger)
		}
		built := map[string]*match.Index{}
		builds := map[string]BuildResult{}
		for _, t := range tables {
			br, err := MeasureBuild(func() (*match.Index, error) { return match.Build(inds, match.BuildOptions{IPIndex: t}) }, func(ix *match.Index) { built[t] = ix })
			if err != nil {
				return err
			}
			builds[t] = br
		}
		sets := LookupSets(inds, 4096, uint64(n))
		var alts []alt
		for _, t := range tables {
			for _, set := range sets {
				if err := CheckLookups(IocIndex{Ix: built[t]}, set); err != nil {
					return fmt.Errorf("%s: %w", t, err)
				}
				alts = append(alts, alt{t + "/" + set.Name, s.lookupRun(IocIndex{Ix: built[t]}, set)})
			}
		}
		res, err := interleave(s.cfg.Rounds, alts)
		if err != nil {
			return err
		}
		for _, t := range tables {
			_, hit := rates(res[t+"/ip-hit"])
			_, miss := rates(res[t+"/ip-miss"])
			r := ratio(res[match.IPIndexBart+"/ip-hit"], res[t+"/ip-hit"], Sample.CPURate)
			bb := builds[match.IPIndexBart].CPU.Seconds() / builds[t].CPU.Seconds()
			sec.add(Count(n)+"/"+t, map[string]Stat{"build_s": {Median: builds[t].CPU.Seconds(), Runs: 1}, "heap_mib": {Median: builds[t].MiB, Runs: 1},
				"hit_rate": hit, "miss_rate": miss, "bart_ratio": r},
				Count(n), t, trim3(builds[t].CPU.Seconds()), trim3(builds[t].MiB), ns(1e9/hit.Median), ns(1e9/miss.Median), fx(r), trim3(1/bb)+"×")
		}
		built = nil
		s.logf("ipindex %s done", Count(n))
	}
	return nil
}

// hostIndex compares the hash index with cloudflare/ahocorasick over the
// same domains and URLs.
func (s *suite) hostIndex() error {
	sec := s.rep.section("hostindex", "Domain and URL index: suffix hash (iocwatch) vs cloudflare/ahocorasick", "domains + URLs", "index", "build s (CPU)", "heap MiB", "host hit ns", "host miss ns", "URL hit ns", "URL miss ns", "hash is … faster (host hit)")
	sec.Note = fmt.Sprintf("The domain and url indicators alone (n domains + n/10 URLs). iocwatch: match.Build (hash of domains looked up for the host and each parent; URLs by origin, exact map and sorted prefixes). ahocorasick: one automaton over the domains and one over the URLs, whose matches are checked for a label boundary or equality (bench/reference NaiveIndex). Lookups are RemoteUrl-only queries, one core. ahocorasick up to %s domains: it holds two 256-pointer tables per trie node, some 60 KiB per domain.", Count(s.ahoCorasickUpTo()))
	for _, n := range s.cfg.Sizes {
		if s.cfg.Quick && n > 100_000 {
			continue
		}
		inds := kinds(s.standard().With("", n).Indicators(), match.KindDomain, match.KindURL)
		type built struct {
			ix reference.Index
			br BuildResult
		}
		idx := map[string]built{}
		br, err := MeasureBuild(func() (*match.Index, error) { return match.Build(inds, match.BuildOptions{}) }, func(ix *match.Index) { idx["iocwatch"] = built{ix: IocIndex{Ix: ix}} })
		if err != nil {
			return err
		}
		idx["iocwatch"] = built{idx["iocwatch"].ix, br}
		names := []string{"iocwatch"}
		if n <= s.ahoCorasickUpTo() {
			br, err := MeasureBuild(func() (*reference.NaiveIndex, error) { return reference.BuildNaive(inds) }, func(ix *reference.NaiveIndex) { idx["ahocorasick"] = built{ix: ix} })
			if err != nil {
				return err
			}
			idx["ahocorasick"] = built{idx["ahocorasick"].ix, br}
			names = append(names, "ahocorasick")
		}
		sets := LookupSets(inds, 4096, uint64(n))
		var alts []alt
		for _, name := range names {
			for _, set := range sets {
				if err := CheckLookups(idx[name].ix, set); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				alts = append(alts, alt{name + "/" + set.Name, s.lookupRun(idx[name].ix, set)})
			}
		}
		res, err := interleave(s.cfg.Rounds, alts)
		if err != nil {
			return err
		}
		for _, name := range names {
			m := map[string]Stat{"build_s": {Median: idx[name].br.CPU.Seconds(), Runs: 1}, "heap_mib": {Median: idx[name].br.MiB, Runs: 1}}
			row := []string{Count(n) + " + " + Count(n/10), name, trim3(idx[name].br.CPU.Seconds()), trim3(idx[name].br.MiB)}
			for _, set := range []string{"domain-hit", "domain-miss", "url-hit", "url-miss"} {
				_, st := rates(res[name+"/"+set])
				m[set] = st
				row = append(row, ns(1e9/st.Median))
			}
			r := ratio(res["iocwatch/domain-hit"], res[name+"/domain-hit"], Sample.CPURate)
			m["hash_ratio"] = r
			sec.add(Count(n)+"/"+name, m, append(row, fx(r))...)
		}
		idx = nil
		s.logf("hostindex %s done", Count(n))
	}
	return nil
}

// build measures match.Build over every kind, per size.
func (s *suite) build() error {
	sec := s.rep.section("build", "Index build, all kinds (n ip/cidr + n domain + n/10 url)", "indicators/kind", "indicators", "build s (wall)", "build s (CPU)", "index heap MiB", "heap with indicators MiB", "bytes/indicator (index)")
	sec.Note = "In this process, after GC: \"index heap\" is what match.BuildLists adds over a match.List of the indicators (made before the clock starts, as a loader makes it); \"heap with indicators\" adds that List and the generated *match.Indicator values it was packed from (see the memory curve for a whole process). One build per size."
	for _, n := range s.cfg.Sizes {
		inds := s.standard().With("", n).Indicators()
		lists := []*match.List{match.ListOf(inds)}
		var keep *match.Index
		br, err := MeasureBuild(func() (*match.Index, error) { return match.BuildLists(lists, match.BuildOptions{}) }, func(ix *match.Index) { keep = ix })
		if err != nil {
			return err
		}
		sec.add(Count(n), map[string]Stat{"build_wall_s": {Median: br.Wall.Seconds(), Runs: 1}, "build_cpu_s": {Median: br.CPU.Seconds(), Runs: 1},
			"index_mib": {Median: br.MiB, Runs: 1}, "heap_mib": {Median: br.HeapMiB, Runs: 1}},
			Count(n), si(float64(len(inds))), trim3(br.Wall.Seconds()), trim3(br.CPU.Seconds()), trim3(br.MiB), trim3(br.HeapMiB), fmt.Sprintf("%.0f", br.MiB*(1<<20)/float64(len(inds))))
		runtime.KeepAlive(keep)
		keep = nil
		s.logf("build %s done", Count(n))
	}
	return nil
}

// pipelineSizes are the sizes of the full-pipeline comparison.
func (s *suite) pipelineSizes() []int {
	var out []int
	for _, n := range s.cfg.Sizes {
		if n == 1_000 || n == 100_000 || n == 1_000_000 {
			out = append(out, n)
		}
	}
	return out
}

// corpusFile writes w's corpus and returns its path repeated so that one
// run reads about min records (a long run amortises the start-up).
func (s *suite) corpusFile(w Workload, inds []*match.Indicator, minRecords int) ([]string, *Corpus, error) {
	c := NewCorpus(w, inds)
	path := filepath.Join(s.tmp, fmt.Sprintf("corpus-%s-%d.jsonl", strings.ReplaceAll(w.Name, "/", "_"), w.Size))
	if err := c.WriteFile(path); err != nil {
		return nil, nil, err
	}
	var paths []string
	for n := 0; n < minRecords; n += c.Records {
		paths = append(paths, path)
	}
	return paths, c, nil
}

func (s *suite) passRecords() int { return 4 * s.cfg.Records }

// pipelineCompare runs iocwatch's file pipeline on one core and the
// references on the same files, interleaved, and adds rows to sec.
func (s *suite) pipelineCompare(sec *Section, label string, w Workload, withNaive bool) error {
	inds := w.Indicators()
	paths, c, err := s.corpusFile(w, inds, s.passRecords())
	if err != nil {
		return err
	}
	defer os.Remove(paths[0])
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		return err
	}
	names := []string{"iocwatch", "fast"}
	refs := map[string]*reference.Pipeline{}
	if refs["fast"], err = NewReference("fast", inds); err != nil {
		return err
	}
	if withNaive {
		if refs["naive"], err = NewReference("naive", inds); err != nil {
			return err
		}
		names = append(names, "naive")
	}
	alerts := map[string]int64{}
	var alts []alt
	for _, name := range names {
		alts = append(alts, alt{name, func() (Sample, error) {
			r, err := single(func() (PipelineResult, error) {
				if name == "iocwatch" {
					return RunPipeline(s.ctx, paths, ix, 1, &CountingSink{})
				}
				return RunReference(s.ctx, paths[:max(1, len(paths)/pipelineShare(name))], refs[name], &CountingSink{})
			})
			if err != nil {
				return r.Sample, err
			}
			// A run reads whole passes of the corpus, each with the same
			// alerts: anything else is a failed run, not a measurement.
			per := int64(c.Records)
			passes := r.Records / per
			if passes == 0 || r.Records%per != 0 || r.Alerts%passes != 0 {
				return r.Sample, fmt.Errorf("%d records and %d alerts: not whole passes of the %d-record corpus", r.Records, r.Alerts, per)
			}
			alerts[name] = r.Alerts / passes
			return r.Sample, nil
		}})
	}
	res, err := interleave(s.cfg.Rounds, alts)
	if err != nil {
		return err
	}
	for _, name := range names[1:] {
		if alerts[name] != alerts["iocwatch"] {
			return fmt.Errorf("%s: %d alerts per corpus pass, iocwatch %d", name, alerts[name], alerts["iocwatch"])
		}
	}
	for _, name := range names {
		wall, cpu := rates(res[name])
		r := ratio(res["iocwatch"], res[name], Sample.CPURate)
		sec.add(label+"/"+name, map[string]Stat{"rate": wall, "cpu_rate": cpu, "iocwatch_ratio": r},
			label, name, si(wall.Median), si(cpu.Median), fx(r), spread(cpu), si(float64(alerts[name])))
	}
	return nil
}

// pipelineShare is how much less of the file a slow reference reads per
// run (the rates are per record, so a shorter run is as good).
func pipelineShare(name string) int {
	if name == "naive" {
		return 4
	}
	return 1
}

// pipeline compares the full pipelines over files, one core.
func (s *suite) pipeline() error {
	sec := s.rep.section("pipeline", "Full pipeline over files, one core", "indicators/kind", "pipeline", "records/s (wall)", "records per CPU-second", "iocwatch is … faster (CPU)", "spread", "alerts per corpus")
	sec.Note = fmt.Sprintf("The standard workload's corpus written to a JSON-lines file and read %s+ records per run. iocwatch: stream.FileSource → stream.Pipeline (1 worker) → counting sink, GOMAXPROCS 1. References read the same file on one goroutine at GOMAXPROCS 1: fast = fastjson + bart + suffix hash, naive = encoding/json + cidranger + Aho-Corasick (%s per kind only). Every alternative must give the same alerts.", si(float64(s.passRecords())), Count(maxNaivePipeline))
	for _, n := range s.pipelineSizes() {
		if err := s.pipelineCompare(sec, Count(n), s.standard().With("standard", n), n <= maxNaivePipeline); err != nil {
			return err
		}
		s.logf("pipeline %s done", Count(n))
	}
	return nil
}

// scaling runs iocwatch's file pipeline at GOMAXPROCS 1 and Cores.
func (s *suite) scaling() error {
	sec := s.rep.section("scaling", "Scaling of the file pipeline", "GOMAXPROCS = workers", "records/s (wall)", "records per CPU-second", "cores used (CPU ÷ wall)", "waited for a CPU (s per s)", "speed-up (wall)", "CPU efficiency", "spread")
	sec.Note = "The standard workload (100k per kind) over a file; speed-up is the median of per-round wall-clock ratios against one core, CPU efficiency the ratio of records per CPU-second (1.0: the second core costs nothing extra), cores used the process's CPU time over the wall time, waited the time its threads were runnable but held off the CPU by other processes (Linux schedstat) per second. On a shared machine the wall-clock speed-up is bounded by the cores the other tenants leave: when cores used stays near the one-core figure, the speed-up measures the machine, and 2 × CPU efficiency is what two free cores would give."
	if s.cfg.Cores < 2 {
		sec.Note += " Not measured: --cores 1."
		return nil
	}
	w := s.standard()
	inds := w.Indicators()
	paths, _, err := s.corpusFile(w, inds, 2*s.passRecords())
	if err != nil {
		return err
	}
	defer os.Remove(paths[0])
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		return err
	}
	cores := []int{1, s.cfg.Cores}
	var alts []alt
	for _, c := range cores {
		alts = append(alts, alt{fmt.Sprint(c), func() (Sample, error) {
			prev := runtime.GOMAXPROCS(c)
			defer runtime.GOMAXPROCS(prev)
			r, err := RunPipeline(s.ctx, paths, ix, c, &CountingSink{})
			return r.Sample, err
		}})
	}
	res, err := interleave(s.cfg.Rounds, alts)
	if err != nil {
		return err
	}
	for _, c := range cores {
		k := fmt.Sprint(c)
		wall, cpu := rates(res[k])
		sp := ratio(res[k], res["1"], Sample.Rate)
		eff := ratio(res[k], res["1"], Sample.CPURate)
		used := make([]float64, len(res[k]))
		waited := make([]float64, len(res[k]))
		for i, smp := range res[k] {
			used[i] = smp.CPU.Seconds() / smp.Wall.Seconds()
			waited[i] = smp.Waited.Seconds() / smp.Wall.Seconds()
		}
		u, wt := statOf(used), statOf(waited)
		sec.add(k, map[string]Stat{"rate": wall, "cpu_rate": cpu, "speedup": sp, "cpu_efficiency": eff, "cores_used": u, "waited": wt},
			k, si(wall.Median), si(cpu.Median), trim3(u.Median), trim3(wt.Median), fx(sp), trim3(eff.Median), spread(wall))
	}
	return nil
}

// workloads varies one property of the standard workload at a time.
func (s *suite) workloads() error {
	sec := s.rep.section("workloads", "Workloads: the full pipeline (one core) as the traffic changes", "workload", "pipeline", "records/s (wall)", "records per CPU-second", "iocwatch is … faster (CPU)", "spread", "alerts per corpus")
	sec.Note = "The standard workload (100k indicators per kind) with one property changed; iocwatch's file pipeline against the fast reference, interleaved, GOMAXPROCS 1."
	base := s.standard()
	type variant struct {
		label string
		set   func(*Workload)
	}
	vs := []variant{
		{"IPv4 only", func(w *Workload) { w.IPv6Share = -1 }},
		{"50% IPv6", func(w *Workload) { w.IPv6Share = 0.5 }},
		{"0.1% hits", func(w *Workload) { w.HitRatio = 0.001 }},
		{"10% hits", func(w *Workload) { w.HitRatio = 0.1 }},
		{"wide records (+1.5 KB)", func(w *Workload) { w.ExtraColumnBytes = 1500 }},
		{"1 record/message", func(w *Workload) { w.RecordsPerMessage = 1 }},
		{"64 records/message", func(w *Workload) { w.RecordsPerMessage = 64 }},
	}
	if s.cfg.Quick {
		vs = []variant{vs[1], vs[3], vs[4]}
	}
	for _, v := range vs {
		w := base
		v.set(&w)
		w.Name = "variant"
		if err := s.pipelineCompare(sec, v.label, w, false); err != nil {
			return err
		}
		s.logf("workload %q done", v.label)
	}
	return nil
}

// kafka measures the Kafka end to end: throughput on one consumer core,
// then latency at half that load.
func (s *suite) kafka() error {
	sec := s.rep.section("kafka", "Kafka end to end: embedded broker → Kafka source → pipeline → sink, one consumer core", "measure", "value", "spread / note")
	w := s.standard()
	messages, latencyFor := s.cfg.KafkaMessages, s.cfg.KafkaLatency
	rig, err := StartKafkaRig(s.cfg.Helper, 4)
	if err != nil {
		return err
	}
	defer rig.Close()
	where := rig.Placement()
	sec.Note = fmt.Sprintf("Workload %s. Two embedded brokers (kfake, 4 partitions, loopback TCP) run in %s: the filled topic's keeps its log in memory, the paced topic's in files under a temporary directory (in /dev/shm where it can), because producing to kfake's in-memory log costs page faults that kept the producer below half load. Throughput: %d messages filled ahead, consumed %d times by fresh consumer groups through stream/kafka.Source and stream.Pipeline at GOMAXPROCS 1 (1 worker), from the first acknowledged batch to the last. Latency: the producer sends at half the measured wall-clock throughput (and, for scale, at 10k and 2k records/s) for %s after a warm-up of up to 3 s at the same rate that is not counted, every 2 ms what is due, in produce requests of at most 256 KiB per partition, and stamps each record (bench/gen Options.Clock) with the time its request is sent, as a Kafka producer sets CreateTime; latency is the sink's acceptance time minus that stamp, for every alert. Each broker keeps the last 64 MiB of each partition (embedded.BrokerOptions.RetentionBytes).", w, where, messages, s.cfg.Rounds, latencyFor)
	ix, err := match.Build(w.Indicators(), match.BuildOptions{})
	if err != nil {
		return err
	}
	total, err := rig.Fill(s.ctx, w, messages)
	if err != nil {
		return err
	}
	var samples []Sample
	for range s.cfg.Rounds {
		r, err := single(func() (KafkaResult, error) { return rig.ConsumeFill(s.ctx, ix, 1, int64(total)) })
		if err != nil {
			return err
		}
		samples = append(samples, r.Sample)
	}
	wall, cpu := rates(samples)
	sec.add("throughput", map[string]Stat{"rate": wall, "cpu_rate": cpu}, "records/s (wall)", si(wall.Median), spread(wall))
	sec.add("throughput-cpu", map[string]Stat{"cpu_rate": cpu}, "records per consumer CPU-second", si(cpu.Median), spread(cpu))
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	for _, lv := range []struct {
		id, label string
		rate      float64
	}{{"latency", "half load", wall.Median / 2}, {"latency-10k", "10k records/s", 10_000}, {"latency-2k", "2k records/s", 2_000}} {
		if lv.id != "latency" && wall.Median/2 <= lv.rate {
			continue
		}
		// The target is a median of runs: the half-load level runs as
		// many times as the comparisons have rounds.
		runs := 1
		if lv.id == "latency" {
			runs = max(s.cfg.Rounds, 1)
		}
		var p50s, p99s, maxes, sents, cpus, waits []float64
		alerts := 0
		for range runs {
			r, err := single(func() (KafkaResult, error) { return rig.Latency(s.ctx, ix, 1, w, lv.rate, latencyFor) })
			if err != nil {
				return err
			}
			p50s, p99s = append(p50s, ms(percentile(r.Latencies, 50))), append(p99s, ms(percentile(r.Latencies, 99)))
			maxes, sents = append(maxes, ms(percentile(r.Latencies, 100))), append(sents, r.SentRate)
			cpus, waits = append(cpus, r.CPURate()), append(waits, r.Waited.Seconds()/r.Wall.Seconds())
			alerts += len(r.Latencies)
		}
		p50, p99, mx, sent, cpu := statOf(p50s), statOf(p99s), statOf(maxes), statOf(sents), statOf(cpus)
		of := fmt.Sprintf("%d alerts", alerts)
		if runs > 1 {
			of = fmt.Sprintf("medians of %d runs, p99 %.1f–%.1f ms; %d alerts in all", runs, p99.Min, p99.Max, alerts)
		}
		sec.add(lv.id, map[string]Stat{"rate": {Median: lv.rate, Runs: runs}, "p50_ms": p50, "p99_ms": p99,
			"max_ms": mx, "alerts": {Median: float64(alerts), Runs: runs}, "sent_rate": sent, "cpu_rate": cpu},
			"produce-to-alert p50 / p99 / max, "+lv.label, fmt.Sprintf("%.1f / %.1f / %.1f ms", p50.Median, p99.Median, mx.Median),
			fmt.Sprintf("at %s records/s sent (%s asked), %s; consumer %s records per CPU-second, its threads waited %.2f s per s for a CPU", si(sent.Median), si(lv.rate), of, si(cpu.Median), statOf(waits).Median))
	}
	return nil
}

// memory measures, in a helper process per size, loading a text feed and
// building the index: time, heap, and the peak RSS of the whole process.
func (s *suite) memory() error {
	sec := s.rep.section("memory", "Memory at scale: load a feed and build the index in a fresh process", "indicators/kind", "indicators", "load s", "build s (CPU)", "heap MiB", "of which index MiB", "peak RSS MiB (VmHWM)", "kind")
	sec.Note = "Each size in its own process: match.Load of a generated text feed (n ip/cidr + n domain + n/10 url values), then match.BuildLists over the loaded match.List; heap is the live heap after GC with the loaded indicators and the index; VmHWM is the process's peak resident memory. Rows marked fitted or extrapolated come from a least-squares line through the measured points."
	if len(s.cfg.Helper) == 0 {
		sec.Note += " Not measured: no helper command."
		return nil
	}
	var xs, heap, hwm []float64
	for _, n := range s.cfg.MemorySizes {
		w := s.standard().With("", n)
		path := filepath.Join(s.tmp, fmt.Sprintf("feed-%d.txt", n))
		inds := w.Indicators()
		if err := FeedText(path, inds); err != nil {
			return err
		}
		count := len(inds)
		freeOSMemory()
		h, err := startHelper(s.cfg.Helper)
		if err != nil {
			return err
		}
		rep, err := h.call(helperRequest{Op: "memory", Feed: path})
		h.close()
		os.Remove(path)
		if err != nil {
			return err
		}
		xs, heap, hwm = append(xs, float64(n)), append(heap, rep.HeapMiB), append(hwm, rep.HWMMiB)
		sec.add(Count(n), map[string]Stat{"load_s": {Median: rep.LoadSeconds, Runs: 1}, "build_wall_s": {Median: rep.BuildWall, Runs: 1}, "build_cpu_s": {Median: rep.BuildCPU, Runs: 1},
			"heap_mib": {Median: rep.HeapMiB, Runs: 1}, "index_mib": {Median: rep.IndexMiB, Runs: 1}, "hwm_mib": {Median: rep.HWMMiB, Runs: 1}, "rss_mib": {Median: rep.RSSMiB, Runs: 1}},
			Count(n), si(float64(count)), trim3(rep.LoadSeconds), trim3(rep.BuildCPU), trim3(rep.HeapMiB), trim3(rep.IndexMiB), trim3(rep.HWMMiB), "measured")
		s.logf("memory %s: heap %.0f MiB, VmHWM %.0f MiB", Count(n), rep.HeapMiB, rep.HWMMiB)
	}
	if len(xs) >= 2 {
		ah, bh := fitLine(xs, heap)
		aw, bw := fitLine(xs, hwm)
		for _, n := range []float64{4e6, 5e6} {
			if n <= xs[len(xs)-1] {
				continue
			}
			sec.add(Count(int(n))+"/extrapolated", map[string]Stat{"heap_mib": {Median: ah + bh*n, Runs: 0}, "hwm_mib": {Median: aw + bw*n, Runs: 0}},
				Count(int(n)), si(n*2.1), "–", "–", trim3(ah+bh*n), "–", trim3(aw+bw*n), "extrapolated")
		}
		fitsHeap, fitsRSS := (2048-ah)/bh, (2048-aw)/bw
		how := "fitted (interpolated)"
		if max(fitsHeap, fitsRSS) > xs[len(xs)-1] {
			how = "fitted (extrapolated)"
		}
		sec.add("fits-2GiB", map[string]Stat{"heap_fit": {Median: fitsHeap, Runs: 0}, "rss_fit": {Median: fitsRSS, Runs: 0}},
			"largest that fits 2 GiB", fmt.Sprintf("heap: %s/kind; RSS: %s/kind", Count(int(fitsHeap/1e5)*100_000), Count(int(fitsRSS/1e5)*100_000)),
			"–", "–", "2048", "–", "2048", how)
	}
	return nil
}

// fitLine returns the least-squares a + b·x through the points.
func fitLine(xs, ys []float64) (a, b float64) {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	b = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return (sy - b*sx) / n, b
}

// python runs the Python reference (json + pyahocorasick) on the 1k
// corpus, when python3 with the ahocorasick module is there.
func (s *suite) python() error {
	sec := s.rep.section("python", "Python reference: json + pyahocorasick, one core", "pipeline", "records/s (wall)", "records per CPU-second", "iocwatch is … faster (CPU)", "alerts per corpus")
	py := s.cfg.Python
	if py == "" {
		py = FindPython()
	}
	switch {
	case py == "":
		sec.Note = "Not measured: no python3 with the ahocorasick module found (Debian package python3-ahocorasick; or name an interpreter with --python)."
		return nil
	case s.cfg.PythonScript == "":
		sec.Note = "Not measured: the Python reference script was not found (bench/reference/python/iocwatch_ref.py, from the working directory): run from the repository root or name it with --python-script."
		return nil
	}
	w := s.standard().With("standard", 1_000)
	inds := w.Indicators()
	// The same file read as often as in the pipeline section, by both: a
	// run's set-up (iocwatch's is timed, Python's is not) weighs as little.
	paths, c, err := s.corpusFile(w, inds, s.passRecords())
	if err != nil {
		return err
	}
	defer os.Remove(paths[0])
	feed := filepath.Join(s.tmp, "python-feed.txt")
	if err := FeedText(feed, inds); err != nil {
		return err
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		return err
	}
	var pyOut PythonResult
	res, err := interleave(s.cfg.Rounds, []alt{
		{"iocwatch", func() (Sample, error) {
			r, err := single(func() (PipelineResult, error) { return RunPipeline(s.ctx, paths, ix, 1, &CountingSink{}) })
			return r.Sample, err
		}},
		{"python", func() (Sample, error) {
			if err := warmFiles(paths); err != nil {
				return Sample{}, err
			}
			var err error
			pyOut, err = RunPython(py, s.cfg.PythonScript, feed, paths...)
			return pyOut.Sample, err
		}},
	})
	if err != nil {
		return err
	}
	sec.Note = fmt.Sprintf("%s (%s) running bench/reference/python/iocwatch_ref.py over the 1k-per-kind corpus (%d records, the file read %d times per run); iocwatch's file pipeline on the same files, interleaved. Python's CPU time is its process's user+system time over the stream (without its start and the automaton's build).", filepath.Base(py), pythonVersion(py), c.Records, len(paths))
	for _, name := range []string{"iocwatch", "python"} {
		wall, cpu := rates(res[name])
		r := ratio(res["iocwatch"], res[name], Sample.CPURate)
		al := "–"
		if name == "python" {
			al = si(float64(pyOut.Alerts / int64(len(paths))))
		}
		sec.add(name, map[string]Stat{"rate": wall, "cpu_rate": cpu, "iocwatch_ratio": r}, name, si(wall.Median), si(cpu.Median), fx(r), al)
	}
	return nil
}

// FindPython returns a python3 that can import ahocorasick, or "".
func FindPython() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if err := exec.Command(p, "-c", "import ahocorasick").Run(); err == nil {
			return p
		}
	}
	return ""
}

func pythonVersion(py string) string {
	out, err := exec.Command(py, "-c", "import sys, ahocorasick; print('Python %d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		return "unknown version"
	}
	return strings.TrimSpace(string(out))
}

// PythonResult is one run of the Python reference. Plain data.
type PythonResult struct {
	Sample
	Records, Alerts int64
}

// RunPython runs the Python reference script over the corpus files, one
// after the other, with the text feed. The script prints a JSON summary whose wall and CPU seconds cover
// the stream's processing only (not Python's start or the automaton's
// build).
func RunPython(python, script, feed string, corpus ...string) (PythonResult, error) {
	cmd := exec.Command(python, append([]string{script, "--feed", feed}, corpus...)...)
	cmd.Stderr = os.Stderr
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// On the one CPU iocwatch's single-core runs are pinned to (single).
	start := cmd.Start
	if one, _, ok := splitCores(); ok {
		start = func() error { return startPinned(one, cmd.Start) }
	}
	if err := start(); err != nil {
		return PythonResult{}, fmt.Errorf("python reference: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return PythonResult{}, fmt.Errorf("python reference: %w", err)
	}
	out := stdout.Bytes()
	var sum struct {
		Records int64   `json:"records"`
		Alerts  int64   `json:"alerts"`
		Wall    float64 `json:"seconds"`
		CPU     float64 `json:"cpu_seconds"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		return PythonResult{}, fmt.Errorf("python reference: summary %q: %w", lines[len(lines)-1], err)
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	return PythonResult{Sample: Sample{Units: float64(sum.Records), Wall: sec(sum.Wall), CPU: sec(sum.CPU)}, Records: sum.Records, Alerts: sum.Alerts}, nil
}
