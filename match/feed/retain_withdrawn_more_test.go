package feed

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mispIPs writes a MISP event of ip-dst attributes: "v" listed,
// "-v" deleted, "!v" to_ids false.
func mispIPs(attrs ...string) string {
	var out []string
	for _, a := range attrs {
		switch {
		case strings.HasPrefix(a, "-"):
			out = append(out, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true,"deleted":true}`, a[1:]))
		case strings.HasPrefix(a, "!"):
			out = append(out, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":false}`, a[1:]))
		default:
			out = append(out, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true}`, a))
		}
	}
	return `{"Event":{"info":"c2","Attribute":[` + strings.Join(out, ",") + `]}}`
}

// A value one entry of a TTL feed withdraws stands while another entry of
// the same feed lists it, or another feed lists or keeps it: a withdrawal
// only stops the TTL of the feed that withdraws it from keeping the value.
func TestAWithdrawnValueAnotherEntryOrFeedStillHoldsMatches(t *testing.T) {
	const v, other = "203.0.113.2", "203.0.113.1"
	tests := []struct {
		name string
		// c2 (a TTL feed) and peer (a TTL feed) before and after; "" for
		// peer: no such feed. kept: c2 keeps v before the change (it
		// listed it, then dropped it).
		c2Before, c2After     string
		kept                  bool
		peerBefore, peerAfter string
		wantAt                []time.Duration // after the change: v matches at these offsets from it
		wantNotAt             []time.Duration // and not at these
		c2Retained            int
	}{
		{name: "withdrawn in one entry, listed in another, listed before",
			c2Before: mispIPs(other, v), c2After: mispIPs(other, "-"+v, v),
			wantAt: []time.Duration{0, 54 * time.Minute}},
		{name: "listed in one entry, withdrawn in another (to_ids false), listed before",
			c2Before: mispIPs(other, v), c2After: mispIPs(other, v, "!"+v),
			wantAt: []time.Duration{0, 54 * time.Minute}},
		{name: "withdrawn in one entry, listed in another, kept before",
			c2Before: mispIPs(other, v), kept: true, c2After: mispIPs(other, "-"+v, v),
			wantAt: []time.Duration{0, 54 * time.Minute}},
		{name: "withdrawn by one feed, listed by another",
			c2Before: mispIPs(other, v), c2After: mispIPs(other, "-"+v),
			peerBefore: mispIPs(v), peerAfter: mispIPs(v),
			wantAt: []time.Duration{0, 54 * time.Minute}},
		{name: "withdrawn by one feed, kept by another that no longer lists it",
			c2Before: mispIPs(other, v), c2After: mispIPs(other, "-"+v),
			peerBefore: mispIPs(other, v), peerAfter: mispIPs(other),
			wantAt: []time.Duration{0, 54 * time.Minute}, wantNotAt: []time.Duration{55 * time.Minute}},
		{name: "withdrawn by one feed alone",
			c2Before: mispIPs(other, v), c2After: mispIPs(other, "-"+v),
			wantNotAt: []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			dir := t.TempDir()
			c2, peer := filepath.Join(dir, "c2.json"), filepath.Join(dir, "peer.json")
			spec := func(name, path string) Spec {
				s := fileSpec(name, path)
				s.Load.Format = "misp"
				s.TTL = time.Hour
				return s
			}
			specs := []Spec{spec("c2", c2)}
			writeFile(t, c2, tt.c2Before)
			if tt.peerBefore != "" {
				specs = append(specs, spec("peer", peer))
				writeFile(t, peer, tt.peerBefore)
			}
			h, _ := newHarness(t, Options{Feeds: specs, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now})
			if tt.kept {
				clk.Advance(time.Minute)
				writeFile(t, c2, mispIPs(other))
				if _, err := h.m.Reload(context.Background()); err != nil {
					t.Fatal(err)
				}
				if st := h.status("c2"); st.Retained != 1 {
					t.Fatalf("c2 keeps %d values, want 1", st.Retained)
				}
			}
			clk.Advance(5 * time.Minute)
			writeFile(t, c2, tt.c2After)
			if tt.peerAfter != "" {
				writeFile(t, peer, tt.peerAfter)
			}
			if _, err := h.m.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			ix, at := h.m.Current().Index, clk.Now()
			for _, d := range tt.wantAt {
				if !matches(ix, v, at.Add(d)) {
					t.Errorf("%s does not match %v after the change", v, d)
				}
			}
			for _, d := range tt.wantNotAt {
				if matches(ix, v, at.Add(d)) {
					t.Errorf("%s matches %v after the change", v, d)
				}
			}
			if !matches(ix, other, at) {
				t.Errorf("%s, listed, does not match", other)
			}
			if st := h.status("c2"); st.Retained != tt.c2Retained {
				t.Errorf("c2 keeps %d values, want %d", st.Retained, tt.c2Retained)
			}
		})
	}
}

// The shrink guard counts what a feed lists: a publisher that withdraws
// most of a feed at once shrinks it, and the content is held back as any
// shrink is — the withdrawn values keep matching — until a second fetch
// confirms it. Then they go at once, not kept by the TTL.
func TestAFeedItsPublisherMostlyWithdrawsIsHeldBackThenDropsThem(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "c2.json")
	spec := fileSpec("c2", path)
	spec.Load.Format = "misp"
	spec.TTL = time.Hour
	all := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"}
	writeFile(t, path, mispIPs(all...))
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, Now: clk.Now})
	clk.Advance(5 * time.Minute)
	writeFile(t, path, mispIPs(all[0], "-"+all[1], "-"+all[2], "!"+all[3]))
	if u, err := h.m.Reload(context.Background()); err != nil || u != nil {
		t.Fatalf("a feed withdrawn to a quarter: update %v, err %v; want it held back", u, err)
	}
	if st := h.status("c2"); st.Held == nil || st.Total != 4 {
		t.Fatalf("status: held %+v, total %d; want held, 4", st.Held, st.Total)
	}
	for _, v := range all {
		if !matches(h.m.Current().Index, v, clk.Now()) {
			t.Errorf("%s does not match while the withdrawal is held back", v)
		}
	}
	clk.Advance(time.Minute)
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("the second fetch: update %v, err %v; want it confirmed", u, err)
	}
	for _, v := range all[1:] {
		if matches(u.Index, v, clk.Now()) {
			t.Errorf("%s, withdrawn, still matches once the shrink is confirmed", v)
		}
	}
	if st := h.status("c2"); st.Held != nil || st.Retained != 0 || st.Total != 1 || u.Removed != 3 {
		t.Errorf("status: held %+v, retained %d, total %d, removed %d; want none, 0, 1, 3", st.Held, st.Retained, st.Total, u.Removed)
	}
}

// The withdrawn values are read only for a file or http feed with a TTL,
// the one whose retain needs them: a feed without a TTL, and a TAXII
// collection (whose store replaces a revoked object), pay nothing for them.
func TestWithdrawnValuesAreReadOnlyForAFeedThatKeepsValues(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[` + identity + `,` +
		indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false) + `,` + indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", true) + `]}`
	withTTL := func(s Spec) Spec { s.TTL = time.Hour; return s }
	stix := func(s Spec) Spec { s.Load.Format = "stix2"; return s }
	tests := []struct {
		spec Spec
		want bool
	}{
		{stix(fileSpec("file", "unused.json")), false},
		{withTTL(stix(fileSpec("file-ttl", "unused.json"))), true},
		{stix(httpSpec("http", "http://feeds.invalid/c2.json")), false},
		{withTTL(stix(httpSpec("http-ttl", "http://feeds.invalid/c2.json"))), true},
		{taxiiSpec("http://taxii.invalid/api/"), false},
		{withTTL(taxiiSpec("http://taxii.invalid/api/")), false},
	}
	for _, tt := range tests {
		t.Run(tt.spec.Name+fmt.Sprint("/ttl ", tt.spec.TTL), func(t *testing.T) {
			m, err := New(Options{Feeds: []Spec{tt.spec}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			res, err := m.parse(context.Background(), m.byName[tt.spec.Name], content{data: []byte(bundle)}, newClock().Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Withdrawn != nil; got != tt.want || res.Indicators.Len() != 1 || res.SkippedReasons["stix revoked"] != 1 {
				t.Errorf("withdrawn %v (%d indicators, skipped %v); want withdrawn read: %v", res.Withdrawn, res.Indicators.Len(), res.SkippedReasons, tt.want)
			}
		})
	}
}
