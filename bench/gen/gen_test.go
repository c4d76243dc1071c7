package gen

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

func testIndicators() []*match.Indicator {
	return []*match.Indicator{
		{Kind: match.KindIP, Value: "203.0.113.77"},
		{Kind: match.KindCIDR, Value: "198.51.100.0/24"},
		{Kind: match.KindCIDR, Value: "192.0.2.0/24"}, // covers the excluded scenarios' servers
		{Kind: match.KindCIDR, Value: "2001:db8:bad::/48"},
		{Kind: match.KindDomain, Value: "bad-cdn.example"},
		{Kind: match.KindURL, Value: "http://malware.example.org/payload/*"},
	}
}

type record struct {
	Category   string          `json:"category"`
	Time       string          `json:"time"`
	Properties json.RawMessage `json:"properties"`
}

type props struct {
	Timestamp        string
	DeviceId         string
	ReportId         int64
	RemoteIP         string
	RemoteUrl        *string
	AdditionalFields *string
	DnsQueryString   *string
}

func TestEveryMessageIsAValidEnvelopeOfDefenderRecords(t *testing.T) {
	g := New(Options{Seed: 7, HitRatio: 0.2, ExcludedRatio: 0.3, Indicators: testIndicators(), Start: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)})
	planted := map[int64]Planted{}
	var buf []byte
	for range 300 {
		var pl []Planted
		buf, pl = g.Next(buf[:0])
		for _, p := range pl {
			planted[p.ReportID] = p
		}
		var env struct{ Records []record }
		if err := json.Unmarshal(buf, &env); err != nil {
			t.Fatalf("message is not JSON: %v\n%s", err, buf)
		}
		if len(env.Records) != 8 {
			t.Fatalf("want 8 records, got %d", len(env.Records))
		}
		for _, r := range env.Records {
			if !strings.HasPrefix(r.Category, "AdvancedHunting-Device") {
				t.Fatalf("bad category %q", r.Category)
			}
			var p props
			if err := json.Unmarshal(r.Properties, &p); err != nil {
				t.Fatalf("properties: %v", err)
			}
			if pl, ok := planted[p.ReportId]; ok && pl.Field == "RemoteIP" {
				addr, err := netip.ParseAddr(p.RemoteIP)
				if err != nil {
					t.Fatalf("planted RemoteIP %q: %v", p.RemoteIP, err)
				}
				if !contains(pl.Value, addr.Unmap()) {
					t.Errorf("planted %s is not inside %s", addr, pl.Value)
				}
			}
		}
	}
	if len(planted) < 300*8/10 {
		t.Errorf("planted %d hits, want about %d", len(planted), 300*8/5)
	}
	var excluded int
	for _, p := range planted {
		if p.Excluded {
			excluded++
		}
	}
	if excluded == 0 || excluded == len(planted) {
		t.Errorf("excluded %d of %d planted hits, want a share", excluded, len(planted))
	}
}

func contains(value string, a netip.Addr) bool {
	if p, err := netip.ParsePrefix(value); err == nil {
		return p.Contains(a)
	}
	b, err := netip.ParseAddr(value)
	return err == nil && b == a
}

func TestTheSameSeedGivesTheSameStream(t *testing.T) {
	opt := Options{Seed: 42, HitRatio: 0.05, Indicators: testIndicators(), Start: time.Unix(1.8e9, 0)}
	a, b := New(opt), New(opt)
	for range 50 {
		ma, _ := a.Next(nil)
		mb, _ := b.Next(nil)
		if !bytes.Equal(ma, mb) {
			t.Fatal("two generators with one seed diverged")
		}
	}
	c := New(Options{Seed: 43, Start: time.Unix(1.8e9, 0)})
	mc, _ := c.Next(nil)
	ma, _ := New(opt).Next(nil)
	if bytes.Equal(ma, mc) {
		t.Fatal("different seeds gave the same message")
	}
}

func TestBareRecordsAreOneRecordPerMessage(t *testing.T) {
	g := New(Options{Seed: 1, Bare: true})
	msg, _ := g.Next(nil)
	var r record
	if err := json.Unmarshal(msg, &r); err != nil || r.Category == "" {
		t.Fatalf("bare record: %v %s", err, msg)
	}
}

func TestRecordsAreAbout1400Bytes(t *testing.T) {
	g := New(Options{Seed: 3})
	var total int
	for range 100 {
		m, _ := g.Next(nil)
		total += len(m)
	}
	per := total / 800
	if per < 1000 || per > 1900 {
		t.Errorf("mean record size %d bytes, want about 1400", per)
	}
	t.Logf("mean record size %d bytes", per)
}

func TestTheNewOptionsDoNotChangeTheDefaultStream(t *testing.T) {
	// A golden prefix of seed 5's first message, from before IPv6Share,
	// BenignHosts, ExtraColumnBytes and Clock existed: the defaults must
	// keep giving the same stream (cmd/iocwatch's golden files rely on it).
	opt := Options{Seed: 5, HitRatio: 0.1, Indicators: testIndicators(), Start: time.Unix(1.8e9, 0)}
	a, _ := New(opt).Next(nil)
	opt.IPv6Share, opt.BenignHosts, opt.ExtraColumnBytes = 0, 0, 0
	b, _ := New(opt).Next(nil)
	if !bytes.Equal(a, b) {
		t.Fatal("explicit zero options changed the stream")
	}
}

func TestIPv6ShareSetsTheShareOfBenignIPv6Addresses(t *testing.T) {
	for _, tc := range []struct {
		share    float64
		min, max float64
	}{{-1, 0, 0}, {0, 0.08, 0.16}, {0.5, 0.42, 0.58}, {1, 1, 1}} {
		g := New(Options{Seed: 2, IPv6Share: tc.share, Bare: true, Start: time.Unix(1.8e9, 0)})
		var v6, n float64
		for range 2000 {
			msg, _ := g.Next(nil)
			var r struct{ Properties props }
			if err := json.Unmarshal(msg, &r); err != nil {
				t.Fatal(err)
			}
			a, err := netip.ParseAddr(r.Properties.RemoteIP)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if !a.Unmap().Is4() {
				v6++
			}
		}
		if got := v6 / n; got < tc.min || got > tc.max {
			t.Errorf("IPv6Share %v: %.3f of the addresses are IPv6, want %v–%v", tc.share, got, tc.min, tc.max)
		}
	}
}

func TestBenignHostsGivesManyDistinctHosts(t *testing.T) {
	g := New(Options{Seed: 3, BenignHosts: 5000, Bare: true, Start: time.Unix(1.8e9, 0)})
	seen := map[string]bool{}
	for range 3000 {
		msg, _ := g.Next(nil)
		var r struct{ Properties props }
		if err := json.Unmarshal(msg, &r); err != nil {
			t.Fatal(err)
		}
		if u := r.Properties.RemoteUrl; u != nil {
			h, ok := match.NormalizeHost(*u)
			if !ok {
				t.Fatalf("RemoteUrl %q has no host", *u)
			}
			seen[h] = true
		}
	}
	if len(seen) < 500 {
		t.Errorf("%d distinct hosts in 3000 records, want many", len(seen))
	}
}

func TestExtraColumnBytesWidensRecordsAndKeepsThemValid(t *testing.T) {
	narrow, _ := New(Options{Seed: 4, Bare: true, Start: time.Unix(1.8e9, 0)}).Next(nil)
	wide, _ := New(Options{Seed: 4, Bare: true, ExtraColumnBytes: 3000, Start: time.Unix(1.8e9, 0)}).Next(nil)
	if d := len(wide) - len(narrow); d < 3000 || d > 3200 {
		t.Errorf("the record grew by %d bytes, want about 3000", d)
	}
	var r struct{ Properties map[string]any }
	if err := json.Unmarshal(wide, &r); err != nil {
		t.Fatalf("wide record is not JSON: %v", err)
	}
	if _, ok := r.Properties["InitiatingProcessVersionInfoCompanyName1"]; !ok {
		t.Error("the wide record lacks the repeated extra columns")
	}
}

func TestClockStampsRecordsWithTheirGenerationTime(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456700, time.UTC)
	g := New(Options{Seed: 1, Bare: true, Clock: func() time.Time { return at }})
	for range 300 { // past the records written without a Timestamp
		msg, _ := g.Next(nil)
		var r struct {
			Time       string
			Properties props
		}
		if err := json.Unmarshal(msg, &r); err != nil {
			t.Fatal(err)
		}
		want := "2026-11-27T10:00:00.1234567Z"
		if r.Time != want || (r.Properties.Timestamp != "" && r.Properties.Timestamp != want) {
			t.Fatalf("time %q, Timestamp %q; want %q", r.Time, r.Properties.Timestamp, want)
		}
	}
}

func TestIndicatorsAreDeterministicCanonicalAndPassTheGuard(t *testing.T) {
	opt := IndicatorOptions{Seed: 9, IPs: 3000, Domains: 2000, URLs: 500, Patterns: 20}
	a, b := Indicators(opt), Indicators(opt)
	if len(a) != 5520 {
		t.Fatalf("%d indicators, want 5520", len(a))
	}
	kinds := map[match.Kind]int{}
	var v6, prefixes int
	for i, ind := range a {
		if ind.Value != b[i].Value || ind.Kind != b[i].Kind {
			t.Fatalf("indicator %d differs between two runs: %v vs %v", i, ind.Value, b[i].Value)
		}
		kinds[ind.Kind]++
		kind, value, err := match.ParseValue(ind.Value)
		if ind.Kind == match.KindPattern {
			kind, value, err = match.KindPattern, ind.Value, nil
		}
		if err != nil || kind != ind.Kind || value != ind.Value {
			t.Fatalf("%s %q parses as %s %q (%v)", ind.Kind, ind.Value, kind, value, err)
		}
		if reason := (match.Guard{}).Check(ind.Kind, ind.Value); reason != "" {
			t.Fatalf("the guard refuses %s %q: %s", ind.Kind, ind.Value, reason)
		}
		if ind.Kind == match.KindIP || ind.Kind == match.KindCIDR {
			if strings.Contains(ind.Value, ":") {
				v6++
			}
			if ind.Kind == match.KindCIDR {
				prefixes++
			}
		}
	}
	if kinds[match.KindIP]+kinds[match.KindCIDR] != 3000 || kinds[match.KindDomain] != 2000 || kinds[match.KindURL] != 500 || kinds[match.KindPattern] != 20 {
		t.Errorf("kinds %v", kinds)
	}
	if v6 < 600 || v6 > 900 || prefixes < 200 || prefixes > 400 {
		t.Errorf("%d IPv6 and %d prefixes of 3000, want about 750 and 300", v6, prefixes)
	}
	if _, err := match.Build(a, match.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
}
