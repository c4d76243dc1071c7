package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// group names goroutines by a substring of a function on their stacks.
type group struct{ name, substr string }

var defaultGroups = []group{
	{"worker", "stream.(*Pipeline).Run.func3"},
	{"pipe", "stream.(*Pipeline).Run"},
	{"reload", "match/feed."},
	{"gcw", "runtime.gcBgMarkWorker"},
}

type groupFlag struct{ gs []group }

func (g *groupFlag) String() string { return "" }

func (g *groupFlag) Set(v string) error {
	name, substr, ok := strings.Cut(v, "=")
	if !ok || name == "" || substr == "" {
		return fmt.Errorf("want name=substring, got %q", v)
	}
	g.gs = append(g.gs, group{name, substr})
	return nil
}

func main() {
	var gf groupFlag
	bucket := flag.Duration("bucket", 50*time.Millisecond, "bucket length")
	from := flag.Int("from", 0, "first bucket to print, in ms since the trace began")
	to := flag.Int("to", -1, "last bucket to print, in ms since the trace began (-1: the end)")
	samples := flag.Bool("samples", false, "also split the groups' CPU samples between inside and outside the collector's marks")
	flag.Var(&gf, "group", "name=substring: a group of goroutines (repeatable; replaces the defaults)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: tracebuckets [flags] TRACE\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *bucket <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	groups := gf.gs
	if len(groups) == 0 {
		groups = defaultGroups
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracebuckets:", err)
		os.Exit(1)
	}
	defer f.Close()
	res, err := analyze(f, groups, *bucket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tracebuckets: %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	res.printBuckets(os.Stdout, groups, *from, *to)
	if *samples {
		fmt.Println()
		res.printSamples(os.Stdout, groups)
	}
}

// result is what analyze found.
type result struct {
	bucket  time.Duration
	buckets []map[string]float64 // per bucket: column → share of the bucket
	// samples[group][inMark][category] counts CPU samples.
	samples map[string]*[2]map[string]int
}

type gstate struct {
	group    string
	state    trace.GoState
	since    trace.Time
	assistAt trace.Time
}

// analyze reads a trace and accounts every goroutine state and mark
// phase to buckets of length bucket.
func analyze(r io.Reader, groups []group, bucket time.Duration) (*result, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	res := &result{bucket: bucket, samples: map[string]*[2]map[string]int{}}
	var t0, markStart trace.Time
	gs := map[trace.GoID]*gstate{}
	add := func(from, to trace.Time, col string) {
		for from < to {
			b := int(time.Duration(from-t0) / bucket)
			for len(res.buckets) <= b {
				res.buckets = append(res.buckets, map[string]float64{})
			}
			end := min(t0+trace.Time((b+1)*int(bucket)), to)
			res.buckets[b][col] += float64(end-from) / float64(bucket)
			from = end
		}
	}
	classify := func(st trace.Stack) string {
		for _, g := range groups {
			for fr := range st.Frames() {
				if strings.Contains(fr.Func, g.substr) {
					return g.name
				}
			}
		}
		return ""
	}
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if t0 == 0 {
			t0 = ev.Time()
		}
		switch ev.Kind() {
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			id := st.Resource.Goroutine()
			g := gs[id]
			if g == nil {
				g = &gstate{since: ev.Time()}
				gs[id] = g
			}
			if g.group == "" {
				g.group = classify(st.Stack)
				if g.group == "" && ev.Goroutine() == id {
					g.group = classify(ev.Stack())
				}
			}
			_, to := st.Goroutine()
			if g.group != "" {
				switch g.state {
				case trace.GoRunning:
					add(g.since, ev.Time(), g.group+" run")
				case trace.GoRunnable:
					add(g.since, ev.Time(), g.group+" wait-cpu")
				}
			}
			g.state, g.since = to, ev.Time()
		case trace.EventRangeBegin, trace.EventRangeEnd:
			rg := ev.Range()
			begin := ev.Kind() == trace.EventRangeBegin
			switch rg.Name {
			case "GC concurrent mark phase":
				if begin {
					markStart = ev.Time()
				} else if markStart != 0 {
					add(markStart, ev.Time(), "GC mark")
					markStart = 0
				}
			case "GC mark assist":
				g := gs[rg.Scope.Goroutine()]
				if g == nil || g.group == "" {
					continue
				}
				if begin {
					g.assistAt = ev.Time()
				} else if g.assistAt != 0 {
					add(g.assistAt, ev.Time(), g.group+" assist")
					g.assistAt = 0
				}
			}
		case trace.EventStackSample:
			g := gs[ev.Goroutine()]
			if g == nil || g.group == "" {
				continue
			}
			s := res.samples[g.group]
			if s == nil {
				s = &[2]map[string]int{{}, {}}
				res.samples[g.group] = s
			}
			in := 0
			if markStart != 0 {
				in = 1
			}
			s[in][sampleCategory(ev.Stack())]++
		}
	}
	return res, nil
}

// sampleCategory says what a CPU sample was doing: a write barrier, an
// allocation, a mark assist, or else the first function of this module
// on its stack (the leaf when there is none).
func sampleCategory(st trace.Stack) string {
	var first, leaf string
	for fr := range st.Frames() {
		switch {
		case strings.Contains(fr.Func, "gcWriteBarrier"), strings.Contains(fr.Func, "wbBuf"), strings.Contains(fr.Func, "bulkBarrier"):
			return "write barriers"
		case strings.Contains(fr.Func, "gcAssist"):
			return "mark assist"
		case strings.Contains(fr.Func, "runtime.mallocgc"):
			return "allocation"
		}
		if leaf == "" {
			leaf = fr.Func
		}
		if first == "" && strings.HasPrefix(fr.Func, "github.com/iocwatch/iocwatch/") {
			first = strings.TrimPrefix(fr.Func, "github.com/iocwatch/iocwatch/")
		}
	}
	if first != "" {
		return first
	}
	return leaf
}

// columns lists the table's columns: the mark share, then per group.
func columns(groups []group) []string {
	cols := []string{"GC mark"}
	for _, g := range groups {
		cols = append(cols, g.name+" run", g.name+" wait-cpu", g.name+" assist")
	}
	return cols
}

// printBuckets prints one line per bucket from..to (ms): the share of the
// bucket the collector marked, and per group the goroutines' time in each
// state, in cores (1.00 = one goroutine the whole bucket).
func (r *result) printBuckets(w io.Writer, groups []group, from, to int) {
	cols := columns(groups)
	fmt.Fprintf(w, "%8s", "ms")
	for _, c := range cols {
		fmt.Fprintf(w, " %*s", max(8, len(c)), c)
	}
	fmt.Fprintln(w)
	for b, row := range r.buckets {
		ms := b * int(r.bucket/time.Millisecond)
		if ms < from || (to >= 0 && ms > to) {
			continue
		}
		fmt.Fprintf(w, "%8d", ms)
		for _, c := range cols {
			fmt.Fprintf(w, " %*.2f", max(8, len(c)), row[c])
		}
		fmt.Fprintln(w)
	}
}

// printSamples prints, per group, the share of its CPU samples by
// category outside and inside the collector's marks.
func (r *result) printSamples(w io.Writer, groups []group) {
	for _, g := range groups {
		s := r.samples[g.name]
		if s == nil {
			continue
		}
		for in, label := range []string{"outside marks", "inside marks"} {
			total := 0
			for _, n := range s[in] {
				total += n
			}
			fmt.Fprintf(w, "%s, %s: %d samples\n", g.name, label, total)
			cats := make([]string, 0, len(s[in]))
			for c := range s[in] {
				cats = append(cats, c)
			}
			slices.SortFunc(cats, func(a, b string) int { return s[in][b] - s[in][a] })
			for _, c := range cats[:min(len(cats), 10)] {
				fmt.Fprintf(w, "  %5.1f%%  %s\n", 100*float64(s[in][c])/float64(total), c)
			}
		}
	}
}
