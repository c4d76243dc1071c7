package feed

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// withdrawnFormat writes a feed of one format: the values it lists, and
// one value it names but marks withdrawn by its publisher (none for "").
type withdrawnFormat struct {
	name    string
	format  string
	content func(t0 time.Time, listed []string, withdrawn string) string
}

var withdrawnFormats = []withdrawnFormat{
	{"a revoked STIX indicator", match.FormatSTIX2, func(_ time.Time, listed []string, withdrawn string) string {
		objs := []string{identity}
		for i, v := range listed {
			objs = append(objs, indicator(fmt.Sprint(i+1), v, "2026-01-01T00:00:00Z", false))
		}
		if withdrawn != "" {
			objs = append(objs, indicator("9", withdrawn, "2026-02-02T00:00:00Z", true))
		}
		return `{"type":"bundle","id":"bundle--1","objects":[` + strings.Join(objs, ",") + `]}`
	}},
	{"a STIX indicator whose valid_until has passed", match.FormatSTIX2, func(t0 time.Time, listed []string, withdrawn string) string {
		objs := []string{identity}
		for i, v := range listed {
			objs = append(objs, indicator(fmt.Sprint(i+1), v, "2026-01-01T00:00:00Z", false))
		}
		if withdrawn != "" {
			objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--9","created":"2026-01-01T00:00:00Z","modified":"2026-02-02T00:00:00Z","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","valid_until":%q}`,
				withdrawn, t0.Add(time.Minute).Format(time.RFC3339)))
		}
		return `{"type":"bundle","id":"bundle--1","objects":[` + strings.Join(objs, ",") + `]}`
	}},
	{"a deleted MISP attribute", match.FormatMISP, func(_ time.Time, listed []string, withdrawn string) string {
		var attrs []string
		for _, v := range listed {
			attrs = append(attrs, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true}`, v))
		}
		if withdrawn != "" {
			attrs = append(attrs, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true,"deleted":true}`, withdrawn))
		}
		return `{"Event":{"info":"c2","Attribute":[` + strings.Join(attrs, ",") + `]}}`
	}},
	{"an attribute of a deleted MISP object", match.FormatMISP, func(_ time.Time, listed []string, withdrawn string) string {
		var attrs []string
		for _, v := range listed {
			attrs = append(attrs, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true}`, v))
		}
		obj := ""
		if withdrawn != "" {
			obj = fmt.Sprintf(`,"Object":[{"name":"ip-port","deleted":true,"Attribute":[{"type":"ip-dst","value":%q,"to_ids":true}]}]`, withdrawn)
		}
		return `{"Event":{"info":"c2","Attribute":[` + strings.Join(attrs, ",") + `]` + obj + `}}`
	}},
	{"a MISP attribute with to_ids false", match.FormatMISP, func(_ time.Time, listed []string, withdrawn string) string {
		var attrs []string
		for _, v := range listed {
			attrs = append(attrs, fmt.Sprintf(`{"type":"ip-dst","value":%q,"to_ids":true}`, v))
		}
		if withdrawn != "" {
			attrs = append(attrs, fmt.Sprintf(`{"type":"domain|ip","value":"relay.example|%s","to_ids":false}`, withdrawn))
		}
		return `{"Event":{"info":"c2","Attribute":[` + strings.Join(attrs, ",") + `]}}`
	}},
	{"a row of MISP's CSV export with to_ids 0", match.FormatCSV, func(_ time.Time, listed []string, withdrawn string) string {
		b := "uuid,event_id,category,type,value,comment,to_ids,date\n"
		for _, v := range listed {
			b += "5f1c1e3a-0b7c-4c43-9c1e-2f0d3a4b5c6d,1,Network activity,ip-dst," + v + ",,1,1764547200\n"
		}
		if withdrawn != "" {
			b += "5f1c1e3a-0b7c-4c43-9c1e-2f0d3a4b5c6e,1,Network activity,ip-dst," + withdrawn + ",,0,1764547200\n"
		}
		return b
	}},
	{"a Defender row whose action is Allowed", match.FormatDefenderCSV, func(_ time.Time, listed []string, withdrawn string) string {
		b := "IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n"
		for _, v := range listed {
			b += "IpAddress," + v + ",,Block,High,C2 server,,,,CommandAndControl,T1071,TRUE\n"
		}
		if withdrawn != "" {
			b += "IpAddress," + withdrawn + ",,Allowed,Low,Sinkholed,,,,CommandAndControl,T1071,FALSE\n"
		}
		return b
	}},
	{"a CSV row whose valid_until has passed", match.FormatCSV, func(t0 time.Time, listed []string, withdrawn string) string {
		b := "indicator,valid_until\n"
		for _, v := range listed {
			b += v + ",\n"
		}
		if withdrawn != "" {
			b += withdrawn + "," + t0.Add(time.Minute).Format(time.RFC3339) + "\n"
		}
		return b
	}},
}

// A value a TTL feed names but marks withdrawn by its publisher — revoked,
// deleted, to_ids=false, Allowed, past its valid_until — is not kept by
// the TTL as a value that merely fell off the list is: the publisher
// withdrew it, so it stops matching at once, whether the feed listed it
// until now, it was already kept in this run, or kept across a restart
// (the retained file).
func TestAValueTheFeedWithdrawsIsNotKeptByItsTTL(t *testing.T) {
	const listed, withdrawn = "203.0.113.1", "203.0.113.2"
	for _, f := range withdrawnFormats {
		for _, how := range []string{"listed until now", "kept in this run", "kept across a restart"} {
			t.Run(f.name+"/"+how, func(t *testing.T) {
				clk := newClock()
				t0 := clk.Now()
				dir, cache := t.TempDir(), t.TempDir()
				path := filepath.Join(dir, "c2.feed")
				spec := fileSpec("c2", path)
				spec.Load.Format = f.format
				spec.TTL = time.Hour
				opt := Options{Feeds: []Spec{spec}, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now, CacheDir: cache}
				writeFile(t, path, f.content(t0, []string{listed, withdrawn}, ""))
				h, u := newHarness(t, opt)
				if !matches(u.Index, withdrawn, t0) {
					t.Fatalf("%s must load at first: status %+v", withdrawn, h.status("c2"))
				}
				reload := func() *Update {
					t.Helper()
					u, err := h.m.Reload(context.Background())
					if err != nil || u == nil {
						t.Fatalf("reload: %v %v", u, err)
					}
					return u
				}
				if how != "listed until now" {
					clk.Advance(5 * time.Minute) // it falls off the feed: kept
					writeFile(t, path, f.content(t0, []string{listed}, ""))
					if u := reload(); !matches(u.Index, withdrawn, clk.Now()) || h.status("c2").Retained != 1 {
						t.Fatalf("a value that falls off the feed must be kept: retained %d", h.status("c2").Retained)
					}
				}
				clk.Advance(5 * time.Minute)
				writeFile(t, path, f.content(t0, []string{listed}, withdrawn))
				if how == "kept across a restart" {
					h.stop()
					h, u = newHarness(t, opt)
				} else {
					u = reload()
					if u.Removed != 1 || u.AddedCount() != 0 {
						t.Errorf("added %d removed %d, want 0 and 1", u.AddedCount(), u.Removed)
					}
				}
				if matches(u.Index, withdrawn, clk.Now()) {
					t.Errorf("%s still matches after its publisher withdrew it", withdrawn)
				}
				if !matches(u.Index, listed, clk.Now()) {
					t.Errorf("%s, still listed, must match", listed)
				}
				st := h.status("c2")
				if st.Retained != 0 || st.Total != 1 || st.Skipped != 1 || len(st.Refused) != 0 {
					t.Errorf("status: retained %d total %d skipped %d (%v) refused %v; want 0, 1, 1, none",
						st.Retained, st.Total, st.Skipped, st.SkippedReasons, st.Refused)
				}
				if ret, err := readRetained(cache, "c2"); err != nil || len(ret) != 0 {
					t.Errorf("retained file: %d values (%v), want none", len(ret), err)
				}
			})
		}
	}
}

// The same values, merely no longer listed, are kept: the withdrawal, not
// the format, is what drops them.
func TestAValueThatFallsOffAFeedOfEachFormatIsKept(t *testing.T) {
	const listed, dropped = "203.0.113.1", "203.0.113.2"
	for _, f := range withdrawnFormats {
		t.Run(f.name, func(t *testing.T) {
			clk := newClock()
			t0 := clk.Now()
			path := filepath.Join(t.TempDir(), "c2.feed")
			spec := fileSpec("c2", path)
			spec.Load.Format = f.format
			spec.TTL = time.Hour
			writeFile(t, path, f.content(t0, []string{listed, dropped}, ""))
			h, _ := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now})
			clk.Advance(5 * time.Minute)
			writeFile(t, path, f.content(t0, []string{listed}, ""))
			u, err := h.m.Reload(context.Background())
			if err != nil || u == nil {
				t.Fatalf("reload: %v %v", u, err)
			}
			if !matches(u.Index, dropped, t0.Add(59*time.Minute)) || matches(u.Index, dropped, t0.Add(time.Hour)) || u.Removed != 0 {
				t.Errorf("a value that falls off the feed must be kept until TTL after it was last listed (removed %d)", u.Removed)
			}
		})
	}
}

// A TAXII collection keeps no value that left it: its TTL ages each object
// out from the last poll that returned it, and a revocation is the
// object's newer version, which the store keeps in place of the old one.
// So a revoked indicator stops matching at once, with a TTL too.
func TestARevokedTAXIIIndicatorIsNotKeptByTheTTL(t *testing.T) {
	clk := newClock()
	srv := newTAXIIServer(t)
	srv.add(identity, indicator("1", "203.0.113.1", "2026-01-01T00:00:00Z", false), indicator("2", "203.0.113.2", "2026-01-01T00:00:00Z", false))
	spec := taxiiSpec(srv.URL)
	spec.TTL = time.Hour
	h, u := newHarness(t, Options{Feeds: []Spec{spec}, Now: clk.Now, CacheDir: t.TempDir()})
	if !matches(u.Index, "203.0.113.2", clk.Now()) {
		t.Fatal("the indicator must load")
	}
	clk.Advance(5 * time.Minute)
	srv.add(indicator("2", "203.0.113.2", "2026-02-02T00:00:00Z", true))
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if matches(u.Index, "203.0.113.2", clk.Now()) || !matches(u.Index, "203.0.113.1", clk.Now()) || u.Removed != 1 {
		t.Errorf("the revoked indicator must be gone at once, the other kept (removed %d)", u.Removed)
	}
	if st := h.status("partner"); st.Retained != 0 || st.Total != 1 {
		t.Errorf("status: retained %d total %d, want 0 and 1", st.Retained, st.Total)
	}
}

// The files of an archive are read each as a feed of its own: what one
// of them withdraws is not kept either.
func TestAValueAFileOfAnArchiveWithdrawsIsNotKept(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	f := withdrawnFormats[0] // a revoked STIX indicator
	path := filepath.Join(t.TempDir(), "c2.zip")
	archive := func(listed []string, withdrawn string) string {
		return string(zipOf(t, zipEntry{name: "extra.txt", content: "198.51.100.9\n"},
			zipEntry{name: "stix/c2.json", content: f.content(t0, listed, withdrawn)}))
	}
	spec := Spec{Name: "c2", Type: TypeFile, Path: path, TTL: time.Hour}
	writeFile(t, path, archive([]string{"203.0.113.1"}, ""))
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now})
	clk.Advance(5 * time.Minute)
	writeFile(t, path, archive(nil, "203.0.113.1"))
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if matches(u.Index, "203.0.113.1", clk.Now()) || !matches(u.Index, "198.51.100.9", clk.Now()) || u.Removed != 1 {
		t.Errorf("the value revoked in a file of the archive must be gone (removed %d, status %+v)", u.Removed, h.status("c2"))
	}
}
