package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// suppressed returns the normal sink stack's suppressor (10-minute repeat
// window) in front of a collector, closed at cleanup.
func suppressed(t *testing.T, c *clock) (*sink.Suppressor, *collector) {
	col := &collector{}
	s := sink.NewSuppressor(col, sink.SuppressOptions{Window: 10 * time.Minute, Now: c.Now})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, col
}

func emitTo(s sink.Sink) func([]sink.Alert) error {
	return func(a []sink.Alert) error { return s.Write(context.Background(), a) }
}

// beaconing records, for devices 0–2, five connections each to the C2
// address and two lookups of the C2 domain, with benign traffic between.
func beaconing(t *testing.T, h *History, c *clock) {
	t0 := c.Now().Add(-15 * time.Minute)
	var evs []stream.Event
	report := int64(1000)
	for round := range 5 {
		for dev := range 3 {
			report++
			ts := t0.Add(time.Duration(round)*time.Minute + time.Duration(dev)*time.Second)
			evs = append(evs, netEvent(dev, "rundll32.exe", "203.0.113.77", "", ts, report))
			report++
			evs = append(evs, netEvent(dev, "chrome.exe", "198.51.100.1", "www.example.org", ts, report))
			if round < 2 {
				report++
				evs = append(evs, netEvent(dev, "rundll32.exe", "198.51.100.2", "https://x1.Bad-CDN.example/gate.php", ts, report))
			}
		}
	}
	h.Record(evs)
}

func TestAnIndicatorAddedAfterItsTrafficGivesOneRetroAlertPerDeviceAndIndicator(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	s, col := suppressed(t, c)
	ipInd, domInd := ind(match.KindIP, "203.0.113.77"), ind(match.KindDomain, "bad-cdn.example")
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd, domInd}, nil, emitTo(s))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indicators != 2 || rep.Hits != 21 || rep.Alerts != 21 {
		t.Errorf("report: %+v (want 2 indicators, 15+6 hits and alerts)", rep)
	}
	got := col.got()
	type key struct{ dev, ind string }
	seen := map[key]sink.Alert{}
	for _, a := range got {
		k := key{a.DeviceName, a.Indicator.Value}
		if _, dup := seen[k]; dup {
			t.Errorf("a second retro alert for %v", k)
		}
		seen[k] = a
		if !a.Retro || !a.IndicatorAddedAt.Equal(c.Now()) || !a.DetectedAt.Equal(c.Now()) {
			t.Errorf("alert not marked as retro at %v: %+v", c.Now(), a)
		}
	}
	if len(seen) != 6 {
		t.Fatalf("want one alert per device × indicator (6), got %d: %v", len(seen), seen)
	}
	// Each is the earliest observation of its device × indicator.
	first := seen[key{"ws-0001.corp.example", "203.0.113.77"}]
	if want := c.Now().Add(-15*time.Minute + time.Second); !first.Timestamp.Equal(want) || first.MatchedField != "RemoteIP" {
		t.Errorf("first alert of device 1: timestamp %v field %s, want %v RemoteIP", first.Timestamp, first.MatchedField, want)
	}
	dom := seen[key{"ws-0002.corp.example", "bad-cdn.example"}]
	if dom.MatchedValue != "https://x1.Bad-CDN.example/gate.php" || dom.MatchedField != "RemoteUrl" {
		t.Errorf("domain alert: %+v", dom)
	}
}

func TestRetroAlertsAreTheLiveAlertOfTheSameEventMarkedRetro(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	events := sampleEvents(c.Now().Add(-time.Hour))
	h.Record(events)
	col := &collector{}
	indicator := ind(match.KindDomain, "bad-cdn.example")
	if _, err := h.Hunt(context.Background(), []*match.Indicator{indicator}, nil, emitTo(col)); err != nil {
		t.Fatal(err)
	}
	got := col.got()
	if len(got) != 2 {
		t.Fatalf("want 2 alerts, got %d", len(got))
	}
	live := stream.NewAlert(&events[0], match.Hit{Indicator: *indicator, Field: match.FieldRemoteURL}, c.Now())
	// What the history does not keep.
	live.CommandLine, live.LocalIP = "", ""
	live.Retro, live.IndicatorAddedAt = true, c.Now()
	if !reflect.DeepEqual(got[0], live) {
		t.Fatalf("retro alert differs from the live one:\n got %+v\nwant %+v", got[0], live)
	}
	// The golden file is the example of docs/retro-hunt.md.
	out, _ := json.MarshalIndent(got[0], "", "  ")
	golden(t, "testdata/retro-alert.json", string(out)+"\n")
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (UPDATE_GOLDEN=1 rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestAnIndicatorAlreadyPresentIsNotHuntedAgainNotEvenAfterARestart(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	beaconing(t, h, c)
	col := &collector{}
	ipInd := ind(match.KindIP, "203.0.113.77")
	if rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col)); err != nil || rep.Alerts != 15 {
		t.Fatalf("first hunt: %+v %v", rep, err)
	}
	// The same value from another feed, a later reload: already present.
	again := ind(match.KindIP, "203.0.113.77")
	again.Meta = &match.Meta{Source: "other-feed"}
	rep, err := h.Hunt(context.Background(), []*match.Indicator{again}, nil, emitTo(col))
	if err != nil || rep.Known != 1 || rep.Indicators != 0 || rep.Alerts != 0 {
		t.Fatalf("second hunt: %+v %v", rep, err)
	}
	h.Close(context.Background())
	// After a restart the first reload adds every indicator.
	h2 := open(t, dir, c, nil)
	newInd := ind(match.KindDomain, "bad-cdn.example")
	rep, err = h2.Hunt(context.Background(), []*match.Indicator{ipInd, newInd}, nil, emitTo(col))
	if err != nil || rep.Known != 1 || rep.Indicators != 1 || rep.Alerts != 6 {
		t.Fatalf("hunt after restart: %+v %v", rep, err)
	}
	for _, a := range col.got()[15:] {
		if a.Indicator.Value != "bad-cdn.example" {
			t.Fatalf("alert for an indicator that was present before the restart: %+v", a)
		}
	}
}

func TestSetKnownForgetsRemovedValuesSoThatReaddingHuntsAgain(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	col := &collector{}
	ipInd := ind(match.KindIP, "203.0.113.77")
	other := ind(match.KindDomain, "unrelated.example")
	h.Hunt(context.Background(), []*match.Indicator{ipInd, other}, nil, emitTo(col))
	// A reload without the address.
	if err := h.SetKnown([]*match.Indicator{other}); err != nil {
		t.Fatal(err)
	}
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col))
	if err != nil || rep.Indicators != 1 || rep.Alerts != 15 {
		t.Fatalf("re-added value: %+v %v", rep, err)
	}
}

func TestAHistoryWithoutARecordOfHuntedValuesOnlyLearnsAtFirst(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	beaconing(t, h, c)
	h.Close(context.Background())
	os.Remove(filepath.Join(dir, knownName))
	h2 := open(t, dir, c, nil)
	col := &collector{}
	ipInd := ind(match.KindIP, "203.0.113.77")
	rep, err := h2.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col))
	if err != nil || rep.Known != 1 || rep.Alerts != 0 {
		t.Fatalf("first hunt must only learn: %+v %v", rep, err)
	}
	rep, err = h2.Hunt(context.Background(), []*match.Indicator{ind(match.KindDomain, "bad-cdn.example")}, nil, emitTo(col))
	if err != nil || rep.Alerts != 6 {
		t.Fatalf("the next hunt hunts: %+v %v", rep, err)
	}
}

func TestTheAllowListAndExclusionsApplyToRetroHits(t *testing.T) {
	excl, err := match.CompileExclusions([]match.RuleSpec{
		{Name: "lab-device", Reason: "malware lab", When: map[string][]string{"device": {"ws-0001.*"}}},
		{Name: "chrome-to-cdn", Reason: "browser prefetch", When: map[string][]string{"process_name": {"chrome.exe"}, "remote_domain": {"example.org"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		allow       []*match.Indicator
		excl        *match.Exclusions
		wantDevices []string
		wantAllowed int
		wantExcl    map[string]int
	}{
		{name: "without rules every device alerts", wantDevices: []string{"ws-0000.corp.example", "ws-0001.corp.example", "ws-0002.corp.example"}},
		{name: "an exclusion on the device suppresses its hits and counts them by rule", excl: excl,
			wantDevices: []string{"ws-0000.corp.example", "ws-0002.corp.example"}, wantExcl: map[string]int{"lab-device": 5}},
		{name: "an allow-listed address never alerts", allow: []*match.Indicator{ind(match.KindCIDR, "203.0.113.0/24")},
			wantAllowed: 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			h := open(t, t.TempDir(), c, nil)
			beaconing(t, h, c)
			var allow *match.Index
			if tc.allow != nil {
				allow = buildIndex(t, tc.allow...)
			}
			s, col := suppressed(t, c)
			var audited []string
			h.opt.OnRetroExcluded = func(r *match.Rule, a *sink.Alert) { audited = append(audited, r.Name+" "+a.DeviceName) }
			rep, err := h.Hunt(context.Background(), []*match.Indicator{ind(match.KindIP, "203.0.113.77")},
				func() (*match.Index, *match.Exclusions) { return allow, tc.excl }, emitTo(s))
			if err != nil {
				t.Fatal(err)
			}
			var devices []string
			for _, a := range col.got() {
				devices = append(devices, a.DeviceName)
			}
			slices.Sort(devices)
			if !reflect.DeepEqual(devices, tc.wantDevices) {
				t.Errorf("alerts for %v, want %v", devices, tc.wantDevices)
			}
			if rep.Allowed != tc.wantAllowed || !reflect.DeepEqual(rep.ExcludedByRule, tc.wantExcl) {
				t.Errorf("allowed %d, excluded %v; want %d, %v", rep.Allowed, rep.ExcludedByRule, tc.wantAllowed, tc.wantExcl)
			}
			if n := tc.wantExcl["lab-device"]; len(audited) != n {
				t.Errorf("%d excluded hits audited, want %d", len(audited), n)
			}
		})
	}
}

func TestAnEmitErrorLeavesTheIndicatorsToBeHuntedAgain(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	col := &collector{fail: errors.New("webhook: 503")}
	ipInd := ind(match.KindIP, "203.0.113.77")
	_, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col))
	if err == nil || !strings.Contains(err.Error(), "webhook: 503") {
		t.Fatalf("got %v", err)
	}
	col.fail = nil
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col))
	if err != nil || rep.Alerts != 15 {
		t.Fatalf("the retry: %+v %v", rep, err)
	}
}

func TestTheRetroAlertCapIsCounted(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) { o.MaxRetroAlerts = 4 })
	beaconing(t, h, c)
	col := &collector{}
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ind(match.KindIP, "203.0.113.77")}, nil, emitTo(col))
	if err != nil || rep.Alerts != 4 || rep.Truncated != 11 || len(col.got()) != 4 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestManyPatternsAreHuntedInSeveralPasses(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	var inds []*match.Indicator
	for i := range maxPatternsPerPass + 10 {
		inds = append(inds, ind(match.KindPattern, fmt.Sprintf("/nothing-%d.php", i)))
	}
	inds = append(inds, ind(match.KindPattern, "/gate.php"), ind(match.KindIP, "203.0.113.77"))
	if parts := splitByPatterns(inds); len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	col := &collector{}
	rep, err := h.Hunt(context.Background(), inds, nil, emitTo(col))
	if err != nil || rep.Alerts != 21 {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestAHuntWithACancelledContextStopsAndHuntsAgainLater(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	col := &collector{}
	ipInd := ind(match.KindIP, "203.0.113.77")
	if _, err := h.Hunt(ctx, []*match.Indicator{ipInd}, nil, emitTo(col)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col)); err != nil || rep.Alerts != 15 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// The history must report exactly what the index reports for the events
// themselves: a seeded random comparison over every kind of indicator.
func TestScanAgreesWithMatchingTheOriginalEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	c := newClock()
	h := open(t, t.TempDir(), c, func(o *Options) {
		o.BufferRecords, o.QueueBuffers, o.SegmentBytes = 97, 64, 16<<10
	})
	hosts := []string{"evil.example", "a.evil.example", "notevil.example", "EVIL.example.au", "cdn.test", "x.cdn.test", "203.0.113.9", "[2001:db8::5]"}
	paths := []string{"", "/", "/gate.php?id=1", "/a/b", ":8080/x"}
	var events []stream.Event
	for i := range 3000 {
		var ip, url string
		switch r.IntN(4) {
		case 0:
			ip = fmt.Sprintf("203.0.113.%d", r.IntN(16))
		case 1:
			ip = fmt.Sprintf("2001:db8::%x", r.IntN(16))
		case 2:
			ip = fmt.Sprintf("::ffff:198.51.100.%d", r.IntN(8))
		}
		if r.IntN(3) > 0 {
			host := hosts[r.IntN(len(hosts))]
			switch r.IntN(3) {
			case 0:
				url = host
			case 1:
				url = "https://" + host + paths[r.IntN(len(paths))]
			default:
				url = "http://" + strings.ToUpper(host) + paths[r.IntN(len(paths))]
			}
		}
		if ip == "" && url == "" {
			continue
		}
		events = append(events, netEvent(r.IntN(20), "p.exe", ip, url, c.Now().Add(time.Duration(i)*time.Second), int64(i)))
	}
	for i := 0; i < len(events); i += 50 {
		h.Record(events[i:min(i+50, len(events))])
	}
	flush(t, h)
	if st := h.Stats(); st.Written != uint64(len(events)) {
		t.Fatalf("%d events, %+v", len(events), st)
	}
	if h.Stats().Segments < 3 {
		t.Fatalf("want several segments, got %+v", h.Stats())
	}
	ix := buildIndex(t,
		ind(match.KindIP, "203.0.113.3"), ind(match.KindCIDR, "203.0.113.8/29"), ind(match.KindCIDR, "2001:db8::/124"),
		ind(match.KindIP, "198.51.100.4"), ind(match.KindDomain, "evil.example"), ind(match.KindDomain, "x.cdn.test"),
		ind(match.KindURL, "https://cdn.test/a/b"), ind(match.KindURL, "http://evil.example/gate.php*"),
		ind(match.KindPattern, "gate.php"), ind(match.KindIP, "2001:db8::5"))
	var want []string
	for i := range events {
		if hits := ix.Match(match.Query{RemoteIP: events[i].RemoteIP, RemoteURL: events[i].RemoteURL}, nil); len(hits) > 0 {
			want = append(want, fmt.Sprint(events[i].ReportID, hitsString(hits)))
		}
	}
	var got []string
	_, err := h.Scan(context.Background(), Query{Index: ix}, func(o *Observation, hits []match.Hit) error {
		got = append(got, fmt.Sprint(o.ReportID, hitsString(hits)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 100 {
		t.Fatalf("only %d events match: the test data is too sparse", len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scan found %d, matching the events %d\nfirst got  %v\nfirst want %v", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
	}
}

func hitsString(hits []match.Hit) string {
	var s []string
	for _, h := range hits {
		s = append(s, h.Field.String()+"="+h.Indicator.Value)
	}
	return strings.Join(s, ",")
}

func TestTheHunterHuntsSubmittedReloadsInTheBackground(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	s, col := suppressed(t, c)
	reports := make(chan HuntReport, 4)
	hu, err := NewHunter(h, HunterOptions{Emit: emitTo(s), Grace: time.Millisecond,
		OnReport: func(r HuntReport, err error) {
			if err != nil {
				t.Errorf("hunt: %v", err)
			}
			reports <- r
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer hu.Close(context.Background())
	ipInd, domInd := ind(match.KindIP, "203.0.113.77"), ind(match.KindDomain, "bad-cdn.example")
	present := buildIndex(t, ipInd, domInd)
	arrived := c.Now().Add(-time.Minute)
	hu.Submit(present, []*match.Indicator{ipInd, domInd}, arrived)
	select {
	case r := <-reports:
		if r.Indicators != 2 {
			t.Fatalf("%+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no hunt")
	}
	got := col.got()
	if len(got) != 6 || !got[0].IndicatorAddedAt.Equal(arrived) {
		t.Fatalf("want 6 alerts added at %v; got %d: %+v", arrived, len(got), got)
	}
	// The reload's index is now the known set: the same values submitted
	// again (a restart) are not hunted.
	hu.Submit(present, []*match.Indicator{ipInd, domInd}, c.Now())
	if r := <-reports; r.Indicators != 0 || r.Known != 2 {
		t.Fatalf("%+v", r)
	}
}

func TestTheHunterRetriesAFailedHunt(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c)
	col := &collector{fail: errors.New("sink down")}
	reports := make(chan error, 4)
	hu, err := NewHunter(h, HunterOptions{Emit: emitTo(col), Grace: time.Millisecond, RetryMin: time.Millisecond,
		OnReport: func(_ HuntReport, err error) { reports <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer hu.Close(context.Background())
	hu.Submit(nil, []*match.Indicator{ind(match.KindIP, "203.0.113.77")}, c.Now())
	if err := <-reports; err == nil {
		t.Fatal("the first hunt should fail")
	}
	col.mu.Lock()
	col.fail = nil
	col.mu.Unlock()
	for err := range reports {
		if err == nil {
			break
		}
	}
	if n := len(col.got()); n != 15 {
		t.Fatalf("%d alerts after the retry, want 15", n)
	}
}

func TestAHuntOfAnEmptyHistoryOnlyLearnsTheValues(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	h := open(t, dir, c, nil)
	col := &collector{}
	ipInd := ind(match.KindIP, "203.0.113.77")
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col))
	if err != nil || rep.Indicators != 1 || rep.Segments != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	beaconing(t, h, c)
	if rep, err := h.Hunt(context.Background(), []*match.Indicator{ipInd}, nil, emitTo(col)); err != nil || rep.Known != 1 || rep.Alerts != 0 {
		t.Fatalf("the value was present from the start: %+v %v", rep, err)
	}
}

// SetKnownIndex reads an index's lists into the same known set SetKnown
// makes of its indicators, across several lists and duplicate values.
func TestSetKnownIndexAgreesWithSetKnown(t *testing.T) {
	a := []*match.Indicator{ind(match.KindIP, "203.0.113.77"), ind(match.KindDomain, "bad-cdn.example")}
	b := []*match.Indicator{ind(match.KindDomain, "bad-cdn.example"), ind(match.KindURL, "http://evil.example/gate.php")}
	ix, err := match.BuildLists([]*match.List{match.ListOf(a), match.ListOf(b)}, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	if err := h.SetKnown(append(slices.Clone(a), b...)); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(h.known)
	if err := h.SetKnown(nil); err != nil || len(h.known) != 0 {
		t.Fatalf("SetKnown(nil): %v, %d known", err, len(h.known))
	}
	if err := h.SetKnownIndex(ix); err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 || !slices.Equal(h.known, want) {
		t.Errorf("SetKnownIndex gave %v, SetKnown %v (want three values)", h.known, want)
	}
}
