package match

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestLoadText(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		values  []string // kind:value
		refused []string // Refusal.String()
	}{
		{"the last line needs no newline", "198.51.100.1\nevil.example", []string{"ip:198.51.100.1", "domain:evil.example"}, nil},
		{"CRLF line ends are stripped", "198.51.100.1\r\nevil.example\r\n", []string{"ip:198.51.100.1", "domain:evil.example"}, nil},
		{"a byte-order mark before the first value is dropped", "\ufeff198.51.100.1\n", []string{"ip:198.51.100.1"}, nil},
		{"comment lines start with # or ;", "# c\n; c\n   # indented\n198.51.100.1\n", []string{"ip:198.51.100.1"}, nil},
		{"an inline # comment needs whitespace before it", "http://e.example/#frag\n198.51.100.1 #c\n", []string{"url:http://e.example/#frag", "ip:198.51.100.1"}, nil},
		{"an inline ; comment needs whitespace before it", "198.51.100.0/24 ; SBL1\nhttp://e.example/a;b\n", []string{"cidr:198.51.100.0/24", "url:http://e.example/a;b"}, nil},
		{"a hosts-file line loads its name", "0.0.0.0 evil.example\n127.0.0.1\tc2.example\n", []string{"domain:evil.example", "domain:c2.example"}, nil},
		{"two values that are not a hosts-file line are refused", "198.51.100.1 evil.example\n", nil,
			[]string{`feed:1: "198.51.100.1 evil.example": more than one value on the line (only hosts-file lines "0.0.0.0 name" may have two)`}},
		{"three values on a hosts-file line are refused", "0.0.0.0 a.example b.example\n", nil,
			[]string{`feed:1: "0.0.0.0 a.example b.example": more than one value on the line (only hosts-file lines "0.0.0.0 name" may have two)`}},
		{"line numbers count comments and blank lines", "# h\n\n10.1.1.1\n", nil, []string{`feed:3: "10.1.1.1": private range refused`}},
		{"a line over 64 KiB is refused and the next line still loads", strings.Repeat("a", 70<<10) + "\n198.51.100.1\n", []string{"ip:198.51.100.1"},
			[]string{`feed:1: "` + strings.Repeat("a", 64) + `…": line longer than 64 KiB`}},
		{"an empty feed loads nothing", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in), LoadOptions{Format: FormatText})
			if err != nil {
				t.Fatal(err)
			}
			var got, refused []string
			for _, ind := range res.Indicators.Indicators() {
				got = append(got, ind.Kind.String()+":"+ind.Value)
			}
			for _, r := range res.Refused {
				refused = append(refused, r.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.values, "\n") {
				t.Errorf("indicators = %q, want %q", got, tt.values)
			}
			if strings.Join(refused, "\n") != strings.Join(tt.refused, "\n") {
				t.Errorf("refused = %q, want %q", refused, tt.refused)
			}
		})
	}
}

func TestLoadReportsReadErrorsWithTheLine(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("198.51.100.1\n198.51.100.2\n"), iotest.ErrReader(boom))
	_, err := Load(r, LoadOptions{Name: "feeds/c2.txt", Format: FormatText})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "feeds/c2.txt:3: read: ") {
		t.Fatalf("Load error = %v, want feeds/c2.txt:3: read: … wrapping %v", err, boom)
	}
	for _, format := range []string{FormatCSV, FormatSTIX2, FormatMISP, FormatAuto} {
		_, err := Load(iotest.ErrReader(boom), LoadOptions{Name: "f", Format: format})
		if !errors.Is(err, boom) {
			t.Errorf("format %s: Load error = %v, want it to wrap %v", format, err, boom)
		}
	}
}

// FuzzLoadText checks that loading any text never panics or fails, that
// every indicator is a fixed point of ParseValue and passes the guard, and
// that every line is accounted for (an indicator or a refusal per value
// line, nothing for comments).
func FuzzLoadText(f *testing.F) {
	// A plain feed and one with CRLF and a byte-order mark.
	f.Add([]byte("198.51.100.1\nevil.example\nhttp://e.example/x\n"))
	f.Add([]byte("\ufeff198.51.100.0/24\r\n2001:db8::1\r\n"))
	// Comments: full-line, inline after whitespace, ';' (Spamhaus DROP).
	f.Add([]byte("# header\n; other\n198.51.100.0/24 ; SBL1\nevil.example # note\n"))
	// Hosts-file lines and junk the guard refuses.
	f.Add([]byte("0.0.0.0 evil.example\n127.0.0.1 localhost\n0.0.0.0/0\n10.0.0.0/8\ncom\n"))
	// Defanged values, IDN, prefixes with stars.
	f.Add([]byte("hxxps://evil[.]example/a\nbücher.example\nhttps://e.example/kits/*\n"))
	// Broken values.
	f.Add([]byte("256.1.1.1\n1.2.3.4/33\n[::1\nhttp:///x\n\x00\xff\n"))
	// A JSON list of values, and an IPv6 line that is not one.
	f.Add([]byte("[\n  \"203.0.113.9\", \"a\\\"b.example\",\n  \"evil.example\"\n]\n"))
	f.Add([]byte("[2001:db8::1]\n[\"x\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Load(bytes.NewReader(data), LoadOptions{Name: "fuzz.txt", Format: FormatText, Now: time.Unix(1e9, 0)})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		var g Guard
		for _, ind := range res.Indicators.Indicators() {
			k, v, err := ParseValue(ind.Value)
			if err != nil || k != ind.Kind || v != ind.Value {
				t.Fatalf("indicator %s %q from %s does not parse back: %s %q %v", ind.Kind, ind.Value, ind.Origin(), k, v, err)
			}
			if r := g.Check(ind.Kind, ind.Value); r != "" {
				t.Fatalf("indicator %s %q passed Load but the guard says %s", ind.Kind, ind.Value, r)
			}
			if !strings.HasPrefix(ind.Origin(), "fuzz.txt:") {
				t.Fatalf("origin %q does not name the feed", ind.Origin())
			}
		}
		for _, r := range res.Refused {
			if r.Reason == "" || !strings.HasPrefix(r.Origin, "fuzz.txt:") {
				t.Fatalf("refusal without a reason or origin: %+v", r)
			}
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if txtIsJSONList(data) {
			// Elements, not lines: one per comma and one more, plus the
			// refusal of broken JSON that ends the list.
			lines = bytes.Count(data, []byte(",")) + 2
		}
		if n := len(res.Indicators.Indicators()) + len(res.Refused); n > lines {
			t.Fatalf("%d lines gave %d indicators and refusals", lines, n)
		}
	})
}

// A refused value is quoted as the feed wrote it even when many lines
// follow it: the reader's buffer it was read from is reused for them.
func TestLoadTextRefusedValueSurvivesBufferReuse(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "d1-%d.example\n", i)
	}
	b.WriteString("10.1.2.0/24\n")
	b.WriteString("10.1.2.3 10.1.2.4\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "d2-%d.example\n", i)
	}
	res, err := Load(strings.NewReader(b.String()), LoadOptions{Name: "big.txt", Format: FormatText})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`big.txt:5001: "10.1.2.0/24": private range refused`,
		`big.txt:5002: "10.1.2.3 10.1.2.4": more than one value on the line (only hosts-file lines "0.0.0.0 name" may have two)`,
	}
	var got []string
	for _, r := range res.Refused {
		got = append(got, r.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refused = %q, want %q", got, want)
	}
}
