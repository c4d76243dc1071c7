package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Report is the outcome of a suite run: how it was run, one Section per
// measurement, the targets with their verdicts, and the chart's data. It
// is plain data (JSON-encodable); the zero value is an empty report.
type Report struct {
	Machine   string `json:"machine"`
	GoVersion string `json:"go_version"`
	Date      string `json:"date"`
	Command   string `json:"command"`
	Cores     int    `json:"cores"`
	// OneCPU names the CPU the single-core figures were pinned to ("" when
	// the process could not be pinned).
	OneCPU    string  `json:"one_cpu,omitempty"`
	Quick     bool    `json:"quick"`
	Rounds    int     `json:"rounds"`
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	LoadMax   float64 `json:"load_max"`
	Seconds   float64 `json:"seconds"`

	Targets  []Target   `json:"targets"`
	Sections []*Section `json:"sections"`
	Chart    Chart      `json:"chart"`
}

// Section is one table of results: Rows are the formatted cells, Results
// the statistics behind them. Plain data; not safe for concurrent
// mutation.
type Section struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Note    string     `json:"note,omitempty"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Results hold the raw statistics behind the rows, by case.
	Results []Result `json:"results"`
}

// Result is one measured case with its metrics by name. Plain data.
type Result struct {
	Case    string          `json:"case"`
	Metrics map[string]Stat `json:"metrics"`
}

// Target is one performance target and what was measured against it.
// Plain data.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	// Verdict is "met", "missed" or "not measured".
	Verdict string `json:"verdict"`
	Note    string `json:"note,omitempty"`
}

// section returns the section with id, adding it with the given title
// and columns if it is new.
func (r *Report) section(id, title string, columns ...string) *Section {
	for _, s := range r.Sections {
		if s.ID == id {
			return s
		}
	}
	s := &Section{ID: id, Title: title, Columns: columns}
	r.Sections = append(r.Sections, s)
	return s
}

// Section returns the section with id, or nil.
func (r *Report) Section(id string) *Section {
	for _, s := range r.Sections {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Result returns the result of case c, or nil.
func (s *Section) Result(c string) *Result {
	if s == nil {
		return nil
	}
	for i := range s.Results {
		if s.Results[i].Case == c {
			return &s.Results[i]
		}
	}
	return nil
}

func (s *Section) add(c string, metrics map[string]Stat, row ...string) {
	s.Results = append(s.Results, Result{Case: c, Metrics: metrics})
	s.Rows = append(s.Rows, row)
}

// WriteMarkdown writes the report as markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# iocwatch bench\n\n")
	fmt.Fprintf(&b, "- machine: %s (%s)\n- date: %s\n- command: `%s`\n", r.Machine, r.GoVersion, r.Date, r.Command)
	pinned := ""
	if r.OneCPU != "" {
		pinned = ", the process pinned to " + r.OneCPU + " (sched_setaffinity)"
	}
	fmt.Fprintf(&b, "- cores (GOMAXPROCS) for the single-core figures: 1%s; pipeline scaling also at %d\n", pinned, r.Cores)
	fmt.Fprintf(&b, "- rounds per comparison: %d, interleaved; figures are medians, ratios are medians of per-round ratios\n", r.Rounds)
	fmt.Fprintf(&b, "- load average (1 min): %.1f at start, %.1f at end, %.1f at most; run took %.0f s\n\n", r.LoadStart, r.LoadEnd, r.LoadMax, r.Seconds)
	if len(r.Targets) > 0 {
		b.WriteString("## Targets\n\n| target | goal | measured | verdict |\n| --- | --- | --- | --- |\n")
		for _, t := range r.Targets {
			m := t.Measured
			if t.Note != "" {
				m += " (" + t.Note + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Goal, m, t.Verdict)
		}
		b.WriteString("\n")
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		if s.Note != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Note)
		}
		if len(s.Rows) == 0 {
			b.WriteString("(nothing measured)\n\n")
			continue
		}
		b.WriteString("| " + strings.Join(s.Columns, " | ") + " |\n|")
		for i := range s.Columns {
			if i == 0 {
				b.WriteString(" --- |")
			} else {
				b.WriteString(" ---: |")
			}
		}
		b.WriteString("\n")
		for _, row := range s.Rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFiles writes report.md, report.json and chart.svg into dir,
// creating it.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var md strings.Builder
	if err := r.WriteMarkdown(&md); err != nil {
		return err
	}
	r.dropNaN()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	var svg strings.Builder
	if err := r.Chart.WriteSVG(&svg); err != nil {
		return err
	}
	for name, data := range map[string]string{"report.md": md.String(), "report.json": string(js) + "\n", "chart.svg": svg.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// dropNaN replaces the NaNs and infinities JSON cannot hold ("not
// measured") with zeros.
func (r *Report) dropNaN() {
	ok := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0
		}
		return v
	}
	for _, s := range r.Sections {
		for _, res := range s.Results {
			for k, st := range res.Metrics {
				st.Median, st.Min, st.Max = ok(st.Median), ok(st.Min), ok(st.Max)
				res.Metrics[k] = st
			}
		}
	}
	for i := range r.Chart.Panels {
		p := &r.Chart.Panels[i]
		for j := range p.Bars {
			p.Bars[j].Value = ok(p.Bars[j].Value)
		}
		for j := range p.Series {
			for k := range p.Series[j].Y {
				p.Series[j].Y[k] = ok(p.Series[j].Y[k])
			}
		}
	}
}

// Formatting helpers for table cells.

// si formats a rate or count with a k/M suffix and three significant
// digits: 712k, 1.25M.
func si(v float64) string {
	switch {
	case math.IsNaN(v) || v == 0:
		return "–"
	case v >= 1e9:
		return trim3(v/1e9) + "G"
	case v >= 1e6:
		return trim3(v/1e6) + "M"
	case v >= 1e3:
		return trim3(v/1e3) + "k"
	}
	return trim3(v)
}

func trim3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 0.01 || v == 0:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// fx formats a ratio: 2.31×.
func fx(s Stat) string {
	if s.Runs == 0 {
		return "–"
	}
	return trim3(s.Median) + "×"
}

// ns formats nanoseconds.
func ns(v float64) string {
	if math.IsNaN(v) || v == 0 {
		return "–"
	}
	return trim3(v)
}

// spread formats a stat's spread as a percentage.
func spread(s Stat) string {
	sp := s.Spread()
	if math.IsNaN(sp) {
		return "–"
	}
	return fmt.Sprintf("±%.0f%%", sp*50)
}
