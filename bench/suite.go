package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
)

// Config selects what a suite run measures. The zero value runs the full
// suite at GOMAXPROCS 2 (when the machine has two cores), without helper
// processes, writing nothing.
type Config struct {
	// Quick runs a reduced suite in about a minute: fewer sizes, rounds
	// and records, shorter runs, Aho-Corasick at 1k only.
	Quick bool
	// Cores is the GOMAXPROCS (and pipeline workers) of the parallel
	// pipeline run that scaling is measured with; 1 skips it. Every
	// "per core" figure is measured at GOMAXPROCS 1 whatever Cores says.
	// 0 means min(2, NumCPU).
	Cores int
	// Rounds is how often each comparison is repeated, interleaved; 0
	// means 5 (3 with Quick).
	Rounds int
	// Sizes are the indicator counts per kind for the size sweeps; nil
	// means 1k, 10k, 100k, 1M, 2M (1k, 10k, 100k with Quick).
	Sizes []int
	// MemorySizes are the counts per kind measured in a helper process for
	// the heap and RSS curve; nil means 1k, 100k, 500k, 1M, 2M, 5M (100k,
	// 1M with Quick). Needs Helper.
	MemorySizes []int
	// Sections, if set, limits the run to these section IDs: decode,
	// match, ipindex, hostindex, build, pipeline, scaling, workloads,
	// kafka, memory, python.
	Sections []string
	// Helper is the command that starts this program as a helper process
	// (see ServeHelper): the Kafka broker and producer run there, and the
	// memory curve is measured there. Nil runs the broker in this process
	// and skips the memory curve.
	Helper []string
	// Python is the python3 interpreter for the Python reference; empty
	// looks for python3 with the ahocorasick module.
	Python string
	// PythonScript is the path of bench/reference/python/iocwatch_ref.py;
	// empty skips the Python reference.
	PythonScript string
	// TempDir holds the generated corpus and feed files; empty means
	// os.TempDir. They are removed at the end.
	TempDir string
	// MinRun is the least time of one timed run of a decode, match or
	// lookup measurement; 0 means 1s (250ms with Quick).
	MinRun time.Duration
	// Records is the records of each generated corpus; 0 means 64k (16k
	// with Quick). The file pipelines read at least 4× as many per run.
	Records int
	// KafkaMessages is the number of 8-record messages filled for the
	// Kafka throughput runs; 0 means 12,500 (3,000 with Quick).
	KafkaMessages int
	// KafkaLatency is how long each Kafka latency run produces; 0 means
	// 10s (2s with Quick).
	KafkaLatency time.Duration
	// Machine describes the machine in the report; empty gives
	// "N-core linux/amd64, CPU model" (the model from /proc/cpuinfo on Linux).
	Machine string
	// Command is recorded in the report as the command that ran it.
	Command string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Cores <= 0 {
		c.Cores = min(2, runtime.NumCPU())
	}
	if c.Rounds <= 0 {
		c.Rounds = 5
		if c.Quick {
			c.Rounds = 3
		}
	}
	if c.Sizes == nil {
		c.Sizes = []int{1_000, 10_000, 100_000, 1_000_000, 2_000_000}
		if c.Quick {
			c.Sizes = []int{1_000, 10_000, 100_000}
		}
	}
	if c.MemorySizes == nil {
		c.MemorySizes = []int{1_000, 100_000, 500_000, 1_000_000, 2_000_000, 5_000_000}
		if c.Quick {
			c.MemorySizes = []int{100_000, 1_000_000}
		}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.MinRun <= 0 {
		c.MinRun = time.Second
		if c.Quick {
			c.MinRun = 250 * time.Millisecond
		}
	}
	if c.Records <= 0 {
		c.Records = 64 * 1024
		if c.Quick {
			c.Records = 16 * 1024
		}
	}
	if c.KafkaMessages <= 0 {
		c.KafkaMessages = 12_500
		if c.Quick {
			c.KafkaMessages = 3_000
		}
	}
	if c.KafkaLatency <= 0 {
		c.KafkaLatency = 10 * time.Second
		if c.Quick {
			c.KafkaLatency = 2 * time.Second
		}
	}
}

// SectionIDs are the section IDs Config.Sections may name.
var SectionIDs = []string{"decode", "match", "ipindex", "hostindex", "build", "pipeline", "scaling", "workloads", "kafka", "memory", "python"}

func (c *Config) wants(id string) bool {
	return len(c.Sections) == 0 || slices.Contains(c.Sections, id)
}

// Limits of the slow alternatives: above these sizes they are not built
// (cidranger takes ~20 s per 1M prefixes; the Aho-Corasick automaton
// ~60 KiB per domain).
const (
	maxCIDRanger     = 1_000_000
	maxAhoCorasick   = 10_000
	maxNaivePipeline = 1_000
)

// ahoCorasickUpTo is the largest size the Aho-Corasick alternatives are
// built for: maxAhoCorasick, or 1k with Quick (a 10k automaton takes
// seconds to build and most of a quick run).
func (s *suite) ahoCorasickUpTo() int {
	if s.cfg.Quick {
		return 1_000
	}
	return maxAhoCorasick
}

// suite is one run's state.
type suite struct {
	cfg    Config
	rep    *Report
	minRun time.Duration
	tmp    string
	ctx    context.Context
	start  time.Time
}

func (s *suite) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, "[%5.1fs load %4.1f] ", time.Since(s.start).Seconds(), loadAvg())
	fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	if l := loadAvg(); l > s.rep.LoadMax {
		s.rep.LoadMax = l
	}
}

// Run runs the suite and returns its report. A section that fails is
// marked FAILED in the report and the others still run: the error joins
// the failures, and the report is returned with it (nil only when the
// temporary directory cannot be made). Run changes GOMAXPROCS while it
// runs and restores it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	dir, err := os.MkdirTemp(cfg.TempDir, "iocwatch-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	s := &suite{cfg: cfg, tmp: dir, ctx: ctx, start: time.Now(), minRun: cfg.MinRun,
		rep: &Report{Machine: cmp.Or(cfg.Machine, machine()), GoVersion: runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH,
			Date: time.Now().UTC().Format("2006-01-02"), Command: cfg.Command, Cores: cfg.Cores, Quick: cfg.Quick,
			Rounds: cfg.Rounds, LoadStart: loadAvg()}}
	s.rep.LoadMax = s.rep.LoadStart
	if one, _, ok := splitCores(); ok {
		s.rep.OneCPU = describeCPUs(one)
	}
	steps := []struct {
		id  string
		run func() error
	}{
		{"decode", s.decode}, {"match", s.match}, {"ipindex", s.ipIndex}, {"hostindex", s.hostIndex},
		{"build", s.build}, {"pipeline", s.pipeline}, {"scaling", s.scaling}, {"workloads", s.workloads},
		{"kafka", s.kafka}, {"memory", s.memory}, {"python", s.python},
	}
	var errs []error
	for _, st := range steps {
		if !cfg.wants(st.id) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return s.rep, err
		}
		s.logf("%s …", st.id)
		if err := st.run(); err != nil {
			// Go on with the other sections: a long run is not thrown away
			// for one failure, which the report and the error name.
			err = fmt.Errorf("bench: %s: %w", st.id, err)
			s.logf("%v", err)
			errs = append(errs, err)
			sec := s.rep.section(st.id, "Section "+st.id)
			sec.Note = strings.TrimSpace(sec.Note + " FAILED: " + err.Error())
		}
		freeOSMemory()
	}
	s.rep.LoadEnd = loadAvg()
	s.rep.Seconds = time.Since(s.start).Seconds()
	s.targets()
	s.chart()
	return s.rep, errors.Join(errs...)
}

func machine() string {
	m := fmt.Sprintf("%d-core %s/%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if model := cpuModel(); model != "" {
		m += ", " + model
	}
	return m
}

// standard returns the standard workload, smaller with Quick.
func (s *suite) standard() Workload {
	w := StandardWorkload()
	w.Records = s.cfg.Records
	return w
}

// single runs fn at GOMAXPROCS 1, with the process pinned to one CPU
// where it can be.
func single[T any](fn func() (T, error)) (T, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	// One core means one: every thread of the process on one CPU, so that
	// neither the runtime's threads nor a thread the scheduler moves runs
	// on the other.
	defer pinToOneCPU()()
	return fn()
}

// pinToOneCPU pins the process to the first CPU it may run on, where it
// can be pinned, and returns what undoes it (nothing to undo otherwise).
func pinToOneCPU() (restore func()) {
	if one, _, ok := splitCores(); ok {
		if restore, err := pinProcess(one); err == nil {
			return restore
		}
	}
	return func() {}
}

// decode compares the decoders on the standard corpus, one core.
func (s *suite) decode() error {
	w := s.standard()
	c := NewCorpus(w, w.Indicators())
	var alts []alt
	for _, name := range DecoderNames {
		d, err := NewDecoder(name)
		if err != nil {
			return err
		}
		alts = append(alts, alt{name, func() (Sample, error) {
			return single(func() (Sample, error) { return DecodeRun(d, c, s.minRun) })
		}})
	}
	res, err := interleave(s.cfg.Rounds, alts)
	if err != nil {
		return err
	}
	sec := s.rep.section("decode", "Decode: records/s on one core", "decoder", "records/s (wall)", "records per CPU-second", "MB/s per CPU-second", "iocwatch is … faster (CPU)", "spread")
	sec.Note = fmt.Sprintf("Workload %s; %d bytes per record. One goroutine at GOMAXPROCS 1 decodes the corpus in turn; the stream.Decoder is reset after every message.", w, c.Bytes/c.Records)
	base := res["iocwatch"]
	for _, name := range DecoderNames {
		wall, cpu := rates(res[name])
		r := ratio(base, res[name], Sample.CPURate)
		sec.add(name, map[string]Stat{"rate": wall, "cpu_rate": cpu, "iocwatch_ratio": r},
			name, si(wall.Median), si(cpu.Median), trim3(cpu.Median*float64(c.Bytes)/float64(c.Records)/1e6), fx(r), spread(cpu))
	}
	return nil
}

// match compares iocwatch's index with the references over the events
// of the standard corpus, per size.
func (s *suite) match() error {
	sec := s.rep.section("match", "Match: events/s on one core (RemoteIP + RemoteUrl of each event)", "indicators/kind", "index", "events/s (wall)", "events per CPU-second", "ns/event (CPU)", "iocwatch is … faster", "spread")
	w := s.standard()
	sec.Note = "The RemoteIP and RemoteUrl of every event of the standard corpus (planted hits on each size's indicators), matched in turn on one goroutine at GOMAXPROCS 1. fast = bart + suffix hash + URL maps (bench/reference), naive = cidranger + Aho-Corasick (up to " + Count(s.ahoCorasickUpTo()) + " per kind)."
	for _, n := range s.cfg.Sizes {
		w := w.With("standard", n)
		inds := w.Indicators()
		c := NewCorpus(w, inds)
		qs := Queries(c)
		ix, err := match.Build(inds, match.BuildOptions{})
		if err != nil {
			return err
		}
		fast, err := NewReference("fast", inds)
		if err != nil {
			return err
		}
		idx := map[string]reference.Index{"iocwatch": IocIndex{Ix: ix, At: time.Now()}, "fast": fast.Index}
		names := []string{"iocwatch", "fast"}
		if n <= s.ahoCorasickUpTo() {
			naive, err := NewReference("naive", inds)
			if err != nil {
				return err
			}
			idx["naive"] = naive.Index
			names = append(names, "naive")
		}
		if err := CheckSameHits(idx, names, qs); err != nil {
			return fmt.Errorf("%s per kind: %w", Count(n), err)
		}
		var alts []alt
		for _, name := range names {
			alts = append(alts, alt{name, func() (Sample, error) {
				return single(func() (Sample, error) {
					smp, _, err := MatchRun(idx[name], qs, s.minRun)
					return smp, err
				})
			}})
		}
		res, err := interleave(s.cfg.Rounds, alts)
		if err != nil {
			return err
		}
		for _, name := range names {
			wall, cpu := rates(res[name])
			r := ratio(res["iocwatch"], res[name], Sample.CPURate)
			sec.add(Count(n)+"/"+name, map[string]Stat{"rate": wall, "cpu_rate": cpu, "iocwatch_ratio": r},
				Count(n), name, si(wall.Median), si(cpu.Median), ns(1e9/cpu.Median), fx(r), spread(cpu))
		}
		s.logf("match %s done", Count(n))
	}
	return nil
}
