package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
)

// The go test entry points of the suite: each Benchmark runs one of its
// measurements with b.Loop, reports records/s (wall) and cpu-records/s
// (per CPU-second of the process, at GOMAXPROCS 1 unless named), and
// checks the results after the loop. docs/benchmarks.md gives the
// commands; `iocwatch bench` runs the same measurements interleaved and
// writes the tables.

var sizesFlag = flag.String("sizes", "1k,100k,1M", "indicator counts per kind for the size sweeps")

func sizes(b *testing.B) []int {
	b.Helper()
	n, err := ParseCounts(*sizesFlag)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// fixture caches the indicators, corpus, file and index of one workload
// across benchmarks of a process.
type fixture struct {
	w     Workload
	inds  []*match.Indicator
	c     *Corpus
	path  string
	ix    *match.Index
	qs    []Query
	paths []string
}

var (
	fixMu sync.Mutex
	fixes = map[Workload]*fixture{}
	fdir  string
)

func fix(b *testing.B, w Workload) *fixture {
	b.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	if f, ok := fixes[w]; ok {
		return f
	}
	if fdir == "" {
		var err error
		if fdir, err = os.MkdirTemp("", "iocwatch-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	f := &fixture{w: w, inds: w.Indicators()}
	f.c = NewCorpus(w, f.inds)
	f.path = filepath.Join(fdir, fmt.Sprintf("corpus-%d.jsonl", len(fixes)))
	if err := f.c.WriteFile(f.path); err != nil {
		b.Fatal(err)
	}
	for n := 0; n < 256*1024; n += f.c.Records {
		f.paths = append(f.paths, f.path)
	}
	var err error
	if f.ix, err = match.Build(f.inds, match.BuildOptions{}); err != nil {
		b.Fatal(err)
	}
	f.qs = Queries(f.c)
	fixes[w] = f
	return f
}

// report adds the rate metrics of samples to b.
func report(b *testing.B, ss []Sample, unit string) {
	var units float64
	var wall, cpu time.Duration
	for _, s := range ss {
		units, wall, cpu = units+s.Units, wall+s.Wall, cpu+s.CPU
	}
	b.ReportMetric(units/wall.Seconds(), unit+"/s")
	if cpu > 0 {
		b.ReportMetric(units/cpu.Seconds(), "cpu-"+unit+"/s")
	}
}

// oneCore runs the benchmark at GOMAXPROCS 1 with the process pinned to
// one CPU where it can be, as the suite's single-core figures are.
func oneCore(b *testing.B) {
	prev := runtime.GOMAXPROCS(1)
	b.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	b.Cleanup(pinToOneCPU())
}

// BenchmarkDecode decodes the standard corpus with each decoder.
func BenchmarkDecode(b *testing.B) {
	f := fix(b, StandardWorkload())
	for _, name := range DecoderNames {
		b.Run(name, func(b *testing.B) {
			oneCore(b)
			d, err := NewDecoder(name)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var ss []Sample
			for b.Loop() {
				s, err := DecodeRun(d, f.c, 100*time.Millisecond)
				if err != nil {
					b.Fatal(err)
				}
				ss = append(ss, s)
			}
			report(b, ss, "records")
		})
	}
}

// BenchmarkMatch matches the standard corpus's events per size with
// iocwatch's index and the references.
func BenchmarkMatch(b *testing.B) {
	for _, n := range sizes(b) {
		f := fix(b, StandardWorkload().With("standard", n))
		idx := map[string]reference.Index{"iocwatch": IocIndex{Ix: f.ix, At: time.Now()}}
		fast, err := reference.BuildFast(f.inds)
		if err != nil {
			b.Fatal(err)
		}
		idx["fast"] = fast
		names := []string{"iocwatch", "fast"}
		if n <= maxAhoCorasick {
			if idx["naive"], err = reference.BuildNaive(f.inds); err != nil {
				b.Fatal(err)
			}
			names = append(names, "naive")
		}
		for _, name := range names {
			b.Run(fmt.Sprintf("n=%s/%s", Count(n), name), func(b *testing.B) {
				oneCore(b)
				b.ReportAllocs()
				var ss []Sample
				hits := 0
				for b.Loop() {
					s, h, err := MatchRun(idx[name], f.qs, 100*time.Millisecond)
					if err != nil {
						b.Fatal(err)
					}
					ss, hits = append(ss, s), hits+h
				}
				report(b, ss, "events")
				if hits == 0 {
					b.Fatal("no hits: the planted hits were not found")
				}
			})
		}
	}
}

// BenchmarkLookup times single-field lookups: bart vs cidranger over the
// ip/cidr indicators, the hash index vs Aho-Corasick over domains and URLs.
func BenchmarkLookup(b *testing.B) {
	for _, n := range sizes(b) {
		inds := StandardWorkload().With("", n).Indicators()
		ipInds := kinds(inds, match.KindIP, match.KindCIDR)
		hostInds := kinds(inds, match.KindDomain, match.KindURL)
		cases := []struct {
			name  string
			max   int
			build func() (reference.Index, error)
			sets  []LookupSet
		}{
			{"ip/bart", 1 << 62, func() (reference.Index, error) {
				ix, err := match.Build(ipInds, match.BuildOptions{IPIndex: match.IPIndexBart})
				return IocIndex{Ix: ix}, err
			}, LookupSets(ipInds, 4096, 1)},
			{"ip/cidranger", maxCIDRanger, func() (reference.Index, error) {
				ix, err := match.Build(ipInds, match.BuildOptions{IPIndex: match.IPIndexCIDRanger})
				return IocIndex{Ix: ix}, err
			}, LookupSets(ipInds, 4096, 1)},
			{"host/hash", 1 << 62, func() (reference.Index, error) {
				ix, err := match.Build(hostInds, match.BuildOptions{})
				return IocIndex{Ix: ix}, err
			}, LookupSets(hostInds, 4096, 1)},
			{"host/ahocorasick", maxAhoCorasick, func() (reference.Index, error) { return reference.BuildNaive(hostInds) }, LookupSets(hostInds, 4096, 1)},
		}
		for _, c := range cases {
			if n > c.max {
				continue
			}
			ix, err := c.build()
			if err != nil {
				b.Fatal(err)
			}
			for _, set := range c.sets {
				b.Run(fmt.Sprintf("n=%s/%s/%s", Count(n), c.name, set.Name), func(b *testing.B) {
					b.ReportAllocs()
					i := 0
					var hits []match.Hit
					for b.Loop() {
						q := &set.Qs[i%len(set.Qs)]
						hits = ix.Match(q.IP, q.URL, hits[:0])
						i++
					}
					b.StopTimer()
					if err := CheckLookups(ix, set); err != nil {
						b.Fatal(err)
					}
				})
			}
			ix = nil
		}
	}
}

// BenchmarkBuild builds the index over every kind per size and reports
// the heap it adds.
func BenchmarkBuild(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run("n="+Count(n), func(b *testing.B) {
			inds := StandardWorkload().With("", n).Indicators()
			var last BuildResult
			var cpu time.Duration
			for b.Loop() {
				var err error
				last, err = MeasureBuild(func() (*match.Index, error) { return match.Build(inds, match.BuildOptions{}) }, func(*match.Index) {})
				if err != nil {
					b.Fatal(err)
				}
				cpu += last.CPU
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/build")
			b.ReportMetric(last.MiB, "MiB-index")
			b.ReportMetric(last.HeapMiB, "MiB-heap")
		})
	}
}

// BenchmarkPipeline runs the full pipelines over the standard corpus file,
// one core: iocwatch, the fast reference and (1k only) the naive one.
func BenchmarkPipeline(b *testing.B) {
	for _, n := range sizes(b) {
		f := fix(b, StandardWorkload().With("standard", n))
		names := []string{"iocwatch", "fast"}
		if n <= maxNaivePipeline {
			names = append(names, "naive")
		}
		for _, name := range names {
			b.Run(fmt.Sprintf("n=%s/%s", Count(n), name), func(b *testing.B) {
				oneCore(b)
				var ref *reference.Pipeline
				if name != "iocwatch" {
					var err error
					if ref, err = NewReference(name, f.inds); err != nil {
						b.Fatal(err)
					}
				}
				var ss []Sample
				var alerts int64
				for b.Loop() {
					var r PipelineResult
					var err error
					if ref == nil {
						r, err = RunPipeline(context.Background(), f.paths, f.ix, 1, &CountingSink{})
					} else {
						r, err = RunReference(context.Background(), f.paths[:1], ref, &CountingSink{})
					}
					if err != nil {
						b.Fatal(err)
					}
					ss, alerts = append(ss, r.Sample), r.Alerts*int64(f.c.Records)/r.Records
				}
				report(b, ss, "records")
				if alerts < int64(len(f.c.Planted)) {
					b.Fatalf("%d alerts per corpus for %d planted hits", alerts, len(f.c.Planted))
				}
			})
		}
	}
}

// BenchmarkPipelineScaling runs iocwatch's file pipeline at GOMAXPROCS (=
// workers) 1 and 2 on the standard workload.
func BenchmarkPipelineScaling(b *testing.B) {
	f := fix(b, StandardWorkload())
	for _, cores := range []int{1, 2} {
		b.Run(fmt.Sprintf("cores=%d", cores), func(b *testing.B) {
			prev := runtime.GOMAXPROCS(cores)
			defer runtime.GOMAXPROCS(prev)
			var ss []Sample
			for b.Loop() {
				r, err := RunPipeline(context.Background(), f.paths, f.ix, cores, &CountingSink{})
				if err != nil {
					b.Fatal(err)
				}
				ss = append(ss, r.Sample)
			}
			report(b, ss, "records")
		})
	}
}

// BenchmarkKafka consumes a filled topic end to end on one consumer core
// (broker and producer in a helper process), then measures produce-to-
// alert latency at 2k records/s and at 200k records/s (about half the
// consumer's one-core throughput).
func BenchmarkKafka(b *testing.B) {
	w := StandardWorkload()
	f := fix(b, w)
	rig, err := StartKafkaRig(helperArgv(), 4)
	if err != nil {
		b.Fatal(err)
	}
	defer rig.Close()
	total, err := rig.Fill(context.Background(), w, 5000)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("throughput", func(b *testing.B) {
		oneCore(b)
		var ss []Sample
		for b.Loop() {
			r, err := rig.ConsumeFill(context.Background(), f.ix, 1, int64(total))
			if err != nil {
				b.Fatal(err)
			}
			ss = append(ss, r.Sample)
		}
		report(b, ss, "records")
	})
	for _, rate := range []float64{2000, 200000} {
		b.Run(fmt.Sprintf("latency/rate=%s", Count(int(rate))), func(b *testing.B) {
			oneCore(b)
			var lat []time.Duration
			for b.Loop() {
				r, err := rig.Latency(context.Background(), f.ix, 1, w, rate, 3*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, r.Latencies...)
			}
			b.ReportMetric(float64(percentile(lat, 50))/1e6, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 99))/1e6, "p99-ms")
			b.ReportMetric(float64(percentile(lat, 100))/1e6, "max-ms")
		})
	}
}

// BenchmarkMemory loads a generated feed and builds the index in a fresh
// helper process per size, and reports the heap and peak RSS.
func BenchmarkMemory(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run("n="+Count(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "feed.txt")
			if err := FeedText(path, StandardWorkload().With("", n).Indicators()); err != nil {
				b.Fatal(err)
			}
			var rep helperReply
			for b.Loop() {
				h, err := startHelper(helperArgv())
				if err != nil {
					b.Fatal(err)
				}
				rep, err = h.call(helperRequest{Op: "memory", Feed: path})
				h.close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(rep.BuildCPU, "cpu-s/build")
			b.ReportMetric(rep.HeapMiB, "MiB-heap")
			b.ReportMetric(rep.IndexMiB, "MiB-index")
			b.ReportMetric(rep.HWMMiB, "MiB-VmHWM")
		})
	}
}
