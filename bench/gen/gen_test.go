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
