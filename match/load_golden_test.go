package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The golden files of testdata/feeds are rewritten with
// go test ./match -run TestLoadGolden -update. Another test file of the
// package may define the same -update flag as a package variable (those
// are set before any init runs): it is shared then.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// ldUpdate reports whether -update was given.
func ldUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// ldGoldenNow is the load time of every golden case unless options.json says otherwise.
var ldGoldenNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ldGoldenOptions is options.json: LoadOptions in JSON, plus the input.
type ldGoldenOptions struct {
	// Input is the feed file, relative to the case folder; default: the
	// folder's only input.* file. Real samples are read from ../../iocs.
	Input    string             `json:"input"`
	Name     string             `json:"name"` // default: the input's base name
	Format   string             `json:"format"`
	CSV      *ldGoldenCSV       `json:"csv"`
	Defaults *ldGoldenIndicator `json:"defaults"`
	TTL      string             `json:"ttl"`
	Guard    Guard              `json:"guard"`
	Now      string             `json:"now"`
}

type ldGoldenCSV struct {
	Value, Kind, Source, Severity, Confidence, Tags, Description, Reference, ValidFrom, ValidUntil string
	Comment                                                                                        string   `json:"comment"`
	HeaderInComment                                                                                bool     `json:"header_in_comment"`
	NoHeader                                                                                       bool     `json:"no_header"`
	Delimiter                                                                                      string   `json:"delimiter"`
	DefaultKind                                                                                    string   `json:"default_kind"`
	NullValues                                                                                     []string `json:"null_values"`
}

// ldGoldenIndicator is one line of expected.jsonl (and the Defaults of options.json).
type ldGoldenIndicator struct {
	Kind        string    `json:"kind,omitempty"`
	Value       string    `json:"value,omitempty"`
	Source      string    `json:"source,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	Confidence  int       `json:"confidence,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	Description string    `json:"description,omitempty"`
	Reference   string    `json:"reference,omitempty"`
	ValidFrom   time.Time `json:"valid_from,omitzero"`
	ValidUntil  time.Time `json:"valid_until,omitzero"`
	Origin      string    `json:"origin,omitempty"`
}

func ldToGolden(ind *Indicator) ldGoldenIndicator {
	return ldGoldenIndicator{
		Kind: ind.Kind.String(), Value: ind.Value, Source: ind.Meta.Source, Severity: ind.Meta.Severity,
		Confidence: ind.Meta.Confidence, Tags: ind.Meta.Tags, Description: ind.Meta.Description, Reference: ind.Meta.Reference,
		ValidFrom: ind.Meta.ValidFrom, ValidUntil: ind.Meta.ValidUntil, Origin: ind.Origin(),
	}
}

func (g *ldGoldenIndicator) meta() Meta {
	return Meta{Source: g.Source, Severity: g.Severity, Confidence: g.Confidence, Tags: g.Tags, Description: g.Description, Reference: g.Reference, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil}
}

// ldGoldenCase reads a case folder into the input bytes and LoadOptions.
func ldGoldenCase(t *testing.T, dir string) ([]byte, LoadOptions) {
	t.Helper()
	var o ldGoldenOptions
	if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("%s/options.json: %v", dir, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	input := o.Input
	if input == "" {
		m, _ := filepath.Glob(filepath.Join(dir, "input.*"))
		if len(m) != 1 {
			t.Fatalf("%s: want exactly one input.* file (or options.json \"input\"), found %d", dir, len(m))
		}
		input = filepath.Base(m[0])
	}
	data, err := os.ReadFile(filepath.Join(dir, input))
	if err != nil {
		t.Fatal(err)
	}
	opt := LoadOptions{Name: o.Name, Format: o.Format, Guard: o.Guard, Now: ldGoldenNow}
	if opt.Name == "" {
		opt.Name = filepath.Base(input)
	}
	if o.CSV != nil {
		c := o.CSV
		opt.CSV = CSVMapping{
			Value: c.Value, Kind: c.Kind, Source: c.Source, Severity: c.Severity, Confidence: c.Confidence,
			Tags: c.Tags, Description: c.Description, Reference: c.Reference, ValidFrom: c.ValidFrom,
			ValidUntil: c.ValidUntil, Comment: c.Comment, HeaderInComment: c.HeaderInComment,
			NoHeader: c.NoHeader, NullValues: c.NullValues,
		}
		if c.Delimiter != "" {
			opt.CSV.Delimiter = []rune(c.Delimiter)[0]
		}
		if c.DefaultKind != "" {
			if opt.CSV.DefaultKind, err = ParseKind(c.DefaultKind); err != nil {
				t.Fatalf("%s/options.json: %v", dir, err)
			}
		}
	}
	if o.Defaults != nil {
		opt.Defaults = o.Defaults.meta()
	}
	if o.TTL != "" {
		if opt.TTL, err = time.ParseDuration(o.TTL); err != nil {
			t.Fatalf("%s/options.json: ttl: %v", dir, err)
		}
	}
	if o.Now != "" {
		if opt.Now, err = time.Parse(time.RFC3339, o.Now); err != nil {
			t.Fatalf("%s/options.json: now: %v", dir, err)
		}
	}
	return data, opt
}

// ldGoldenRender is the expected.jsonl form of a result: a summary line
// (with the notes, when there are any), one line per indicator, one line
// per refusal.
func ldGoldenRender(res *LoadResult) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	summary := map[string]any{
		"format": res.Format, "indicators": len(res.Indicators.Indicators()), "refused": len(res.Refused),
		"skipped": res.Skipped, "skipped_reasons": res.SkippedReasons,
	}
	if len(res.Notes) > 0 {
		summary["notes"] = res.Notes
	}
	_ = enc.Encode(summary)
	for _, ind := range res.Indicators.Indicators() {
		_ = enc.Encode(ldToGolden(ind))
	}
	for _, r := range res.Refused {
		_ = enc.Encode(map[string]string{"refused": r.String()})
	}
	return b.Bytes()
}

// TestLoadGolden loads every testdata/feeds/<case> and compares the result
// with its expected.jsonl (or the error with expected.err).
func TestLoadGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/feeds/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata/feeds")
	}
	update := ldUpdate()
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, opt := ldGoldenCase(t, dir)
			res, err := Load(bytes.NewReader(data), opt)
			var got []byte
			file := filepath.Join(dir, "expected.jsonl")
			if err != nil {
				got = []byte(err.Error() + "\n")
				file = filepath.Join(dir, "expected.err")
			} else {
				got = ldGoldenRender(res)
			}
			if update {
				for _, old := range []string{"expected.jsonl", "expected.err"} {
					_ = os.Remove(filepath.Join(dir, old))
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(file)
			if rerr != nil {
				t.Fatalf("Load gave %s, but %v (run with -update to create it)", filepath.Base(file), rerr)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs (run with -update and review the diff):\n%s", file, ldLineDiff(want, got))
			}
		})
	}
}

// ldLineDiff shows the first differing lines of two golden files.
func ldLineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestLoadedIndicatorsBuildAnIndex checks that every indicator a golden
// case loads is accepted by Build: Load never hands the index a value its
// normaliser refuses.
func TestLoadedIndicatorsBuildAnIndex(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/feeds/*")
	var all []*Indicator
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		data, opt := ldGoldenCase(t, dir)
		res, err := Load(bytes.NewReader(data), opt)
		if err != nil {
			continue
		}
		all = append(all, res.Indicators.Indicators()...)
	}
	if len(all) < 300 {
		t.Fatalf("only %d indicators loaded from the golden cases", len(all))
	}
	ix, err := Build(all, BuildOptions{})
	if err != nil {
		t.Fatalf("Build refused loaded indicators: %v", err)
	}
	if ix.Len() != len(all) {
		t.Errorf("index holds %d indicators, loaded %d", ix.Len(), len(all))
	}
}
