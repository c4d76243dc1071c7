package match

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// ldReadSample reads one of the real feed samples in testdata/iocs.
func ldReadSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "iocs", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestLoadOptions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feodo := "\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n" +
		"\"2025-12-01 00:00:00\",\"198.51.100.1\",\"443\",\"online\",\"2025-12-31\",\"QakBot\"\n"
	tests := []struct {
		name   string
		in     string
		opt    LoadOptions
		check  func(t *testing.T, ind *Indicator)
		loaded int
	}{
		{
			name: "the source a format implies is used when nothing else names one",
			in:   feodo, opt: LoadOptions{Now: now}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if ind.Meta.Source != "feodotracker" {
					t.Errorf("source %q, want feodotracker", ind.Meta.Source)
				}
			},
		},
		{
			name: "Defaults.Source wins over the source a format implies",
			in:   feodo, opt: LoadOptions{Now: now, Defaults: Meta{Source: "abusech"}}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if ind.Meta.Source != "abusech" {
					t.Errorf("source %q, want abusech", ind.Meta.Source)
				}
			},
		},
		{
			name: "the feed's own metadata wins over Defaults, and Defaults.Tags are added",
			in:   feodo, opt: LoadOptions{Now: now, Defaults: Meta{Tags: []string{"default", "QakBot"}, Severity: "low", Description: "d"}}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if !reflect.DeepEqual(ind.Meta.Tags, []string{"QakBot", "default"}) || ind.Meta.Severity != "low" || !ind.Meta.ValidFrom.Equal(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("tags %q severity %q from %v, want the feed's tag then the default one, the default severity and the feed's first_seen", ind.Meta.Tags, ind.Meta.Severity, ind.Meta.ValidFrom)
				}
			},
		},
		{
			name: "TTL sets ValidUntil from Now",
			in:   "198.51.100.1\n", opt: LoadOptions{Now: now, TTL: 48 * time.Hour}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if !ind.Meta.ValidUntil.Equal(now.Add(48 * time.Hour)) {
					t.Errorf("valid until %v, want Now + 48h", ind.Meta.ValidUntil)
				}
			},
		},
		{
			name: "Defaults.ValidUntil wins over TTL",
			in:   "198.51.100.1\n", opt: LoadOptions{Now: now, TTL: time.Hour, Defaults: Meta{ValidUntil: now.AddDate(1, 0, 0)}}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if !ind.Meta.ValidUntil.Equal(now.AddDate(1, 0, 0)) {
					t.Errorf("valid until %v, want the default", ind.Meta.ValidUntil)
				}
			},
		},
		{
			name: "an already expired Defaults.ValidUntil skips every indicator",
			in:   "198.51.100.1\n198.51.100.2\n", opt: LoadOptions{Now: now, Defaults: Meta{ValidUntil: now}}, loaded: 0,
		},
		{
			name: "the Kind, Value and Origin of Defaults are ignored",
			in:   "198.51.100.1\n", opt: LoadOptions{Now: now, Defaults: Meta{Where: "y"}}, loaded: 1,
			check: func(t *testing.T, ind *Indicator) {
				if ind.Kind != KindIP || ind.Value != "198.51.100.1" || ind.Origin() != "feed:1" {
					t.Errorf("got %s %q from %q", ind.Kind, ind.Value, ind.Origin())
				}
			},
		},
		{
			name: "the Guard option is applied",
			in:   "10.1.2.3\n", opt: LoadOptions{Now: now, Guard: Guard{AllowPrivate: true}}, loaded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Indicators.Indicators()) != tt.loaded {
				t.Fatalf("loaded %d, want %d (refused %v, skipped %s)", len(res.Indicators.Indicators()), tt.loaded, res.Refused, res.SkippedSummary())
			}
			if tt.check != nil {
				tt.check(t, res.Indicators.Indicators()[0])
			}
		})
	}
}

func TestLoadWithoutNowUsesTheClock(t *testing.T) {
	before := time.Now()
	res, err := Load(strings.NewReader("198.51.100.1\n"), LoadOptions{TTL: time.Hour})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	vu := res.Indicators.Indicators()[0].Meta.ValidUntil
	if vu.Before(before.Add(time.Hour)) || vu.After(after.Add(time.Hour)) {
		t.Fatalf("valid until %v, want between %v and %v", vu, before.Add(time.Hour), after.Add(time.Hour))
	}
}

func TestLoadUnknownFormat(t *testing.T) {
	_, err := Load(strings.NewReader("x"), LoadOptions{Name: "f", Format: "yaml"})
	want := `f: unknown feed format "yaml" (want auto or one of text, csv, feodo, urlhaus, threatfox, defender-csv, stix2, misp)`
	if err == nil || err.Error() != want {
		t.Fatalf("Load error = %v, want %s", err, want)
	}
}

func TestSkippedSummary(t *testing.T) {
	r := &LoadResult{SkippedReasons: map[string]int{"misp type: md5": 3, "expired": 1}}
	if got, want := r.SkippedSummary(), "expired: 1, misp type: md5: 3"; got != want {
		t.Fatalf("SkippedSummary() = %q, want %q", got, want)
	}
	if got := (&LoadResult{}).SkippedSummary(); got != "" {
		t.Fatalf("empty SkippedSummary() = %q", got)
	}
}

// ExampleLoad loads a small text feed: the guard refuses the private
// address and the bare public suffix, each with its line.
func ExampleLoad() {
	feed := `# C2 list
198.51.100.7
203.0.113.0/24 ; hosting range
Update.Bad-CDN.example.
https://files.bad-cdn.example/stage2.bin
10.0.0.0/8
co.uk
`
	res, err := Load(strings.NewReader(feed), LoadOptions{Name: "feeds/c2.txt", Defaults: Meta{Source: "internal"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("format:", res.Format)
	for _, ind := range res.Indicators.Indicators() {
		fmt.Println(ind.Origin(), ind.Kind, ind.Value, ind.Meta.Source)
	}
	for _, r := range res.Refused {
		fmt.Println(r)
	}
	// Output:
	// format: text
	// feeds/c2.txt:2 ip 198.51.100.7 internal
	// feeds/c2.txt:3 cidr 203.0.113.0/24 internal
	// feeds/c2.txt:4 domain update.bad-cdn.example internal
	// feeds/c2.txt:5 url https://files.bad-cdn.example/stage2.bin internal
	// feeds/c2.txt:6: "10.0.0.0/8": private range refused
	// feeds/c2.txt:7: "co.uk": public suffix refused
}

// ExampleParseValue shows the canonical forms.
func ExampleParseValue() {
	for _, v := range []string{"::ffff:198.51.100.7", "198.51.100.77/24", "Bücher.Example.", "hxxps://Evil[.]Example/Login"} {
		kind, value, err := ParseValue(v)
		fmt.Println(kind, value, err)
	}
	// Output:
	// ip 198.51.100.7 <nil>
	// cidr 198.51.100.0/24 <nil>
	// domain xn--bcher-kva.example <nil>
	// url https://evil.example/Login <nil>
}

func TestLoadSharesOneMetaAmongIndicatorsWithEqualMetadata(t *testing.T) {
	if n := unsafe.Sizeof(Indicator{}); n != 32 {
		t.Errorf("an Indicator is %d bytes, want 32: the memory targets count on it", n)
	}
	text := "198.51.100.1\n198.51.100.2\n# comment\nevil.example\nhttps://evil.example/gate.php\n"
	res, err := Load(strings.NewReader(text), LoadOptions{Name: "c2.txt", Defaults: Meta{Source: "internal", Tags: []string{"c2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators.Indicators()) != 4 {
		t.Fatalf("loaded %d, want 4", len(res.Indicators.Indicators()))
	}
	for i, ind := range res.Indicators.Indicators() {
		if ind.Meta != res.Indicators.Indicators()[0].Meta {
			t.Errorf("indicator %d has its own Meta; every line of a text feed should share one", i)
		}
	}
	if got := []string{res.Indicators.Indicators()[0].Origin(), res.Indicators.Indicators()[2].Origin()}; !slices.Equal(got, []string{"c2.txt:1", "c2.txt:4"}) {
		t.Errorf("origins %q", got)
	}

	csv := "value,source,severity\n198.51.100.1,a,high\n198.51.100.2,a,high\n198.51.100.3,b,high\n198.51.100.4,a,high\n"
	res, err = Load(strings.NewReader(csv), LoadOptions{Name: "c2.csv", Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	inds := res.Indicators.Indicators()
	if len(inds) != 4 {
		t.Fatalf("loaded %d, want 4", len(inds))
	}
	if inds[0].Meta != inds[1].Meta || inds[1].Meta == inds[2].Meta || inds[2].Meta == inds[3].Meta {
		t.Errorf("CSV rows with equal metadata should share a Meta, others not: %p %p %p %p", inds[0].Meta, inds[1].Meta, inds[2].Meta, inds[3].Meta)
	}
	if inds[2].Meta.Source != "b" || inds[3].Meta.Source != "a" || inds[3].Origin() != "c2.csv:5" {
		t.Errorf("row metadata mixed up: %q %q %q", inds[2].Meta.Source, inds[3].Meta.Source, inds[3].Origin())
	}
}

// SizeHint only reserves room: any hint gives the same indicators.
func TestLoadSizeHintGivesTheSameResult(t *testing.T) {
	content := "20.0.0.1\nevil.example\n# a comment\nhttp://evil.example/gate.php\n20.0.0.0/16\n"
	want, err := Load(strings.NewReader(content), LoadOptions{Name: "f.txt", Format: FormatText})
	if err != nil {
		t.Fatal(err)
	}
	for _, hint := range []int{-1, 0, 1, 4, 1000, 1 << 40} {
		got, err := Load(strings.NewReader(content), LoadOptions{Name: "f.txt", Format: FormatText, SizeHint: hint})
		if err != nil {
			t.Fatal(err)
		}
		if got.Indicators.Len() != want.Indicators.Len() {
			t.Fatalf("hint %d: %d indicators, want %d", hint, got.Indicators.Len(), want.Indicators.Len())
		}
		for i := range got.Indicators.Len() {
			g, w := got.Indicators.At(i), want.Indicators.At(i)
			if g.Kind != w.Kind || g.Value != w.Value || g.Line != w.Line || g.Origin() != w.Origin() {
				t.Errorf("hint %d: indicator %d = %+v, want %+v", hint, i, g, w)
			}
		}
		if hint == 1000 && cap(got.Indicators.recs) != 1000 {
			t.Errorf("hint 1000: room for %d", cap(got.Indicators.recs))
		}
		if hint == 1<<40 && cap(got.Indicators.recs) > maxSizeHint {
			t.Errorf("a huge hint reserved room for %d", cap(got.Indicators.recs))
		}
	}
}

// A value that reads as a domain but whose top-level domain is unknown (a
// file name, an internal name) is refused by every loader alike, with the
// origin that names the file and line (or object, attribute); an internal
// feed (AllowPrivate) loads it.
func TestLoadRefusesNamesUnderAnUnknownTopLevelDomainInEveryFormat(t *testing.T) {
	const unknown = "unknown top-level domain refused: .exe is not in the public suffix list (a file name?)"
	const internal = "internal name refused: .corp is for private networks, never on the Internet"
	tests := []struct {
		name, format, in string
		loaded           []string // kind:value@origin
		refused          []string
	}{
		{
			name: "text", format: FormatText,
			in:      "# c2\nupdate-check.example\npayload.exe\nrun.ps1\ninvoice.pdf\nevil.dll\nfileserver.acme.corp\nexpyuzz4wqqyqhjn.onion\n",
			loaded:  []string{"domain:update-check.example@feed.txt:2", "domain:expyuzz4wqqyqhjn.onion@feed.txt:8"},
			refused: []string{`feed.txt:3: "payload.exe": ` + unknown, `feed.txt:4: "run.ps1": unknown top-level domain refused: .ps1 is not in the public suffix list (a file name?)`, `feed.txt:5: "invoice.pdf": unknown top-level domain refused: .pdf is not in the public suffix list (a file name?)`, `feed.txt:6: "evil.dll": unknown top-level domain refused: .dll is not in the public suffix list (a file name?)`, `feed.txt:7: "fileserver.acme.corp": ` + internal},
		},
		{
			name: "text, a URL on such a host", format: FormatText,
			in:      "http://payload.exe/gate.php\n",
			refused: []string{`feed.txt:1: "http://payload.exe/gate.php": URL host: ` + unknown},
		},
		{
			name: "csv", format: FormatCSV,
			in:      "indicator,type\nupdate-check.example,domain\npayload.exe,domain\nfileserver.acme.corp,hostname\n",
			loaded:  []string{"domain:update-check.example@feed.txt:2"},
			refused: []string{`feed.txt:3: "payload.exe": ` + unknown, `feed.txt:4: "fileserver.acme.corp": ` + internal},
		},
		{
			name: "stix2", format: FormatSTIX2,
			in: `{"type": "bundle", "id": "bundle--1", "objects": [
				{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000001", "pattern_type": "stix",
				 "pattern": "[domain-name:value = 'payload.exe'] OR [domain-name:value = 'update-check.example']"}]}`,
			loaded:  []string{"domain:update-check.example@feed.txt: indicator--00000000-0000-4000-8000-000000000001"},
			refused: []string{`feed.txt: indicator--00000000-0000-4000-8000-000000000001: "payload.exe": ` + unknown},
		},
		{
			name: "misp", format: FormatMISP,
			in: `{"Event": {"info": "x", "Attribute": [
				{"type": "hostname", "to_ids": true, "value": "payload.exe"},
				{"type": "domain|ip", "to_ids": true, "value": "fileserver.acme.corp|203.0.113.5"}]}}`,
			loaded:  []string{"ip:203.0.113.5@feed.txt: Attribute[1]"},
			refused: []string{`feed.txt: Attribute[0]: "payload.exe": ` + unknown, `feed.txt: Attribute[1]: "fileserver.acme.corp|203.0.113.5": ` + internal},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, refused := loadFeed(t, tt.format, tt.in, Guard{})
			if !reflect.DeepEqual(got, tt.loaded) || !reflect.DeepEqual(refused, tt.refused) {
				t.Fatalf("loaded %q\nrefused %q\nwant %q\nand %q", got, refused, tt.loaded, tt.refused)
			}
			// An internal feed loads every one of them.
			if got, refused := loadFeed(t, tt.format, tt.in, Guard{AllowPrivate: true}); len(refused) != 0 || len(got) != len(tt.loaded)+len(tt.refused) {
				t.Errorf("with AllowPrivate: loaded %q, refused %q; want all loaded", got, refused)
			}
		})
	}
}
