package bench

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

func TestStatOfTakesTheMedianAndIgnoresNaN(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want Stat
	}{
		{"an odd count gives the middle value", []float64{3, 1, 2}, Stat{Median: 2, Min: 1, Max: 3, Runs: 3}},
		{"an even count gives the mean of the middle two", []float64{4, 1, 3, 2}, Stat{Median: 2.5, Min: 1, Max: 4, Runs: 4}},
		{"NaN and infinities are not runs", []float64{math.NaN(), 5, math.Inf(1)}, Stat{Median: 5, Min: 5, Max: 5, Runs: 1}},
		{"nothing gives the zero Stat", nil, Stat{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statOf(tc.in); got != tc.want {
				t.Errorf("statOf(%v) = %+v; want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRatioIsTheMedianOfPerRoundRatios(t *testing.T) {
	s := func(units float64, wall time.Duration) Sample { return Sample{Units: units, Wall: wall, CPU: wall} }
	// Round 2 is slow for both (a loaded machine): the per-round ratio
	// stays 2, where a ratio of medians would mix rounds.
	a := []Sample{s(200, time.Second), s(100, time.Second), s(200, time.Second)}
	b := []Sample{s(100, time.Second), s(50, time.Second), s(100, time.Second)}
	if r := ratio(a, b, Sample.Rate); r.Median != 2 || r.Runs != 3 {
		t.Errorf("ratio = %+v; want 2 over 3 rounds", r)
	}
}

func TestInterleaveRunsEveryAlternativeOncePerRoundInTurn(t *testing.T) {
	var order []string
	mk := func(n string) alt {
		return alt{n, func() (Sample, error) { order = append(order, n); return Sample{Units: 1, Wall: time.Millisecond}, nil }}
	}
	res, err := interleave(3, []alt{mk("a"), mk("b")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ""); got != "ababab" || len(res["a"]) != 3 || len(res["b"]) != 3 {
		t.Errorf("order %q, %d and %d samples", got, len(res["a"]), len(res["b"]))
	}
}

func TestFitLineRecoversALine(t *testing.T) {
	a, b := fitLine([]float64{1, 2, 4, 8}, []float64{13, 16, 22, 34})
	if math.Abs(a-10) > 1e-9 || math.Abs(b-3) > 1e-9 {
		t.Errorf("fitLine = %v + %v·x; want 10 + 3·x", a, b)
	}
}

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"1k,100k,1M,2.5M", "1000 100000 1000000 2500000", false},
		{"", "", false},
		{"750", "750", false},
		{"1x", "", true},
		{"-5", "", true},
	} {
		got, err := ParseCounts(tc.in)
		var s []string
		for _, n := range got {
			s = append(s, strconv.Itoa(n))
		}
		if (err != nil) != tc.err || strings.Join(s, " ") != tc.want {
			t.Errorf("ParseCounts(%q) = %v, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCountFormatsIndicatorCounts(t *testing.T) {
	for n, want := range map[int]string{999: "999", 1000: "1k", 100_000: "100k", 1_000_000: "1M", 2_500_000: "2.5M"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q; want %q", n, got, want)
		}
	}
}

// sampleReport is a small report with every kind of content.
func sampleReport() *Report {
	r := &Report{Machine: "2-core linux/amd64", GoVersion: "go1.26.8, linux/amd64", Date: "2026-11-27", Command: "iocwatch bench --quick",
		Cores: 2, OneCPU: "CPU 0", Quick: true, Rounds: 3, LoadStart: 9.5, LoadEnd: 11, LoadMax: 12.25, Seconds: 61}
	r.Targets = []Target{{Name: "decode", Goal: "≥ 1 records/s", Measured: "2 records/s", Verdict: "met", Note: "a <note>"}}
	sec := r.section("decode", "Decode", "decoder", "records/s")
	sec.Note = "A note."
	sec.add("iocwatch", map[string]Stat{"rate": {Median: 712_000, Runs: 3}}, "iocwatch", si(712_000))
	r.section("empty", "Nothing here", "a")
	r.Chart = Chart{Title: "t & t", Panels: []Panel{
		{Title: "bars", Unit: "records/s", Bars: []Bar{{"a", 10, 0}, {"b", 1000, 1}, {"c", math.NaN(), 2}}, LogY: true},
		{Title: "lines", Unit: "MiB", LogX: true, LogY: true, XUnit: "indicators", Series: []Series{
			{Name: "heap", X: []float64{1e3, 1e5, 1e6}, Y: []float64{2, 80, 800}},
			{Name: "extrapolated", X: []float64{1e6, 5e6}, Y: []float64{800, 4000}, Dashed: true},
		}},
		{Title: "no data", Unit: "x", Series: []Series{{Name: "none"}}},
	}}
	return r
}

func TestReportWritesMarkdownJSONAndAWellFormedSVG(t *testing.T) {
	dir := t.TempDir()
	r := sampleReport()
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, md, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != string(want) {
		t.Errorf("report.md differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, md)
	}
	js, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Section("decode").Result("iocwatch").Metrics["rate"].Median != 712_000 || len(back.Chart.Panels) != 3 {
		t.Errorf("report.json does not round-trip: %+v", back)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "chart.svg"))
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(svg)))
	elems := map[string]int{}
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("chart.svg is not well-formed XML: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	if elems["svg"] != 1 || elems["rect"] < 3 || elems["polyline"] != 2 || elems["circle"] != 5 {
		t.Errorf("chart.svg elements %v: want one svg, bars, two lines (the empty panel has none), five points", elems)
	}
	if !strings.Contains(string(svg), "t &amp; t") || !strings.Contains(string(svg), `stroke-dasharray`) {
		t.Error("chart.svg lacks the escaped title or the dashed extrapolation")
	}
}

func TestASmallSuiteRunsEverySectionAndGivesVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Kafka broker and helper processes")
	}
	dir := t.TempDir()
	cfg := Config{Quick: true, Rounds: 1, Sizes: []int{1_000}, MemorySizes: []int{1_000, 2_000}, MinRun: 20 * time.Millisecond,
		Records: 2048, KafkaMessages: 200, KafkaLatency: 500 * time.Millisecond, Helper: helperArgv(), TempDir: dir,
		PythonScript: filepath.Join("reference", "python", "iocwatch_ref.py"),
		Sections:     []string{"decode", "match", "ipindex", "hostindex", "build", "pipeline", "scaling", "kafka", "memory", "python"}}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cfg.Sections {
		sec := rep.Section(id)
		if sec == nil {
			t.Errorf("no section %s", id)
			continue
		}
		if len(sec.Rows) == 0 && !(id == "python" && FindPython() == "") {
			t.Errorf("section %s has no rows: %s", id, sec.Note)
		}
		for _, row := range sec.Rows {
			if len(row) != len(sec.Columns) {
				t.Errorf("section %s: row %q has %d cells for %d columns", id, row, len(row), len(sec.Columns))
			}
		}
	}
	for _, c := range []struct{ sec, c, m string }{
		{"decode", "iocwatch", "cpu_rate"}, {"pipeline", "1k/naive", "iocwatch_ratio"}, {"kafka", "throughput", "rate"},
		{"kafka", "latency", "p99_ms"}, {"memory", "2k", "hwm_mib"}, {"scaling", "2", "speedup"},
	} {
		if st := rep.metric(c.sec, c.c, c.m); !(st.Median > 0) {
			t.Errorf("%s %s %s = %+v; want a measurement", c.sec, c.c, c.m, st)
		}
	}
	verdicts := map[string]int{}
	for _, tg := range rep.Targets {
		verdicts[tg.Verdict]++
	}
	// The 100k and 1M rows are not in this small run.
	if len(rep.Targets) != 12 || verdicts["met"]+verdicts["missed"] < 5 {
		t.Errorf("targets %+v", rep.Targets)
	}
	if err := rep.WriteFiles(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
}

func TestPythonReferenceFindsTheSameAlertsAsIocwatch(t *testing.T) {
	py := FindPython()
	if py == "" {
		t.Skip("python3 with the ahocorasick module is not installed (Debian: python3-ahocorasick); scripts/bench-python installs it")
	}
	w := smallWorkload()
	inds := w.Indicators()
	c := NewCorpus(w, inds)
	dir := t.TempDir()
	corpus, feed, alerts := filepath.Join(dir, "c.jsonl"), filepath.Join(dir, "feed.txt"), filepath.Join(dir, "alerts.tsv")
	if err := c.WriteFile(corpus); err != nil {
		t.Fatal(err)
	}
	if err := FeedText(feed, inds); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("reference", "python", "iocwatch_ref.py"), "--feed", feed, "--alerts", alerts, corpus).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ioc := &CountingSink{Keep: true}
	if _, err := RunPipeline(context.Background(), []string{corpus}, ix, 1, ioc); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(alerts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[AlertKey]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, "\t")
		id, _ := strconv.ParseInt(f[0], 10, 64)
		got[AlertKey{id, f[1], f[2], f[3]}]++
	}
	diff(t, "python", ioc.Keys(), got)
	if !strings.Contains(string(out), `"records": 4000`) {
		t.Errorf("python summary %s; want 4000 records", out)
	}
}

// FuzzParseCounts checks that ParseCounts never panics and returns only
// positive counts.
func FuzzParseCounts(f *testing.F) {
	for _, seed := range []string{"1k,100k,1M", "2.5M", "", "0", "1e3", "k", ",,", "1M,-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := ParseCounts(s)
		for _, n := range ns {
			if err == nil && n <= 0 {
				t.Errorf("ParseCounts(%q) gave %d", s, n)
			}
		}
	})
}

// The half-load latency target is met only at half load: a p99 measured
// while the producer could not offer it is "not shown", and the load it
// was measured at is the one reported.
func TestTheLatencyTargetNamesTheLoadItWasMeasuredAt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sent       float64
		wantPrefix string
	}{
		{"the producer kept half load", 215_000, "met"},
		{"the producer kept two thirds of it", 145_000, "not shown: met at 145k records/s, below half load (216k)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Quick: true}
			cfg.defaults()
			s := &suite{cfg: cfg, rep: &Report{}}
			sec := s.rep.section("kafka", "Kafka", "a")
			sec.add("latency", map[string]Stat{"rate": {Median: 216_000, Runs: 1}, "sent_rate": {Median: tc.sent, Runs: 1},
				"p99_ms": {Median: 41.3, Runs: 1}, "p50_ms": {Median: 3.9, Runs: 1}}, "latency", "")
			s.targets()
			for _, tg := range s.rep.Targets {
				if tg.Name != "Kafka p99 produce-to-alert at half load" {
					continue
				}
				if !strings.HasPrefix(tg.Verdict, tc.wantPrefix) || !strings.Contains(tg.Measured, si(tc.sent)+" records/s") {
					t.Errorf("verdict %q, measured %q; want %q and the load sent", tg.Verdict, tg.Measured, tc.wantPrefix)
				}
				return
			}
			t.Fatal("no latency target")
		})
	}
}
