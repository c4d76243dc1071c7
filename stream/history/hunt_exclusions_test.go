package history

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/match"
)

// A retro-hunt judges an exclusion's expiry at each observation's time: a
// rule that expired between the traffic and the hunt still excludes the
// traffic from before its expiry ("until D this is benign"), and not the
// traffic after it.
func TestRetroHuntJudgesExclusionExpiryAtTheObservationsTime(t *testing.T) {
	c := newClock()
	h := open(t, t.TempDir(), c, nil)
	beaconing(t, h, c) // rounds at now-15m, -14m, -13m, -12m and -11m
	excl, err := match.CompileExclusions([]match.RuleSpec{{
		Name: "pentest", Reason: "the red team's C2 until the end of the test",
		Expires: c.Now().Add(-12*time.Minute - 30*time.Second),
		When:    map[string][]string{"remote_ip": {"203.0.113.77"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	rep, err := h.Hunt(context.Background(), []*match.Indicator{ind(match.KindIP, "203.0.113.77")},
		func() (*match.Index, *match.Exclusions) { return nil, excl }, emitTo(col))
	if err != nil {
		t.Fatal(err)
	}
	// Three rounds of three devices before the expiry, two after.
	if want := map[string]int{"pentest": 9}; rep.Alerts != 6 || !reflect.DeepEqual(rep.ExcludedByRule, want) {
		t.Errorf("alerts %d, excluded %v; want 6, %v", rep.Alerts, rep.ExcludedByRule, want)
	}
	for _, a := range col.got() {
		if !a.Timestamp.After(excl.Rules()[0].Expires) {
			t.Errorf("an observation from before the rule's expiry alerted: %v", a.Timestamp)
		}
	}
}

// A rule naming its account as DOMAIN\name cannot apply in a retro-hunt:
// the history does not keep the account domain. The hunt says so once
// per rule, not at every hunt; a bare name applies and is not named.
func TestRetroHuntSaysOnceThatADomainAccountCannotApply(t *testing.T) {
	c := newClock()
	var logBuf syncbuf.Buffer
	h := open(t, t.TempDir(), c, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(io.MultiWriter(&logBuf, testLog{t}), &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	beaconing(t, h, c) // the account is "ana"
	excl, err := match.CompileExclusions([]match.RuleSpec{
		{Name: "ana-domain", Reason: "r", When: map[string][]string{"account": {`CORP\ana`}, "process_name": {"rundll32.exe"}, "process_sha256": {strings.Repeat("0", 64)}}},
		{Name: "ana-bare", Reason: "r", When: map[string][]string{"account": {"ana"}, "remote_domain": {"bad-cdn.example"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := func() (*match.Index, *match.Exclusions) { return nil, excl }
	for _, v := range []string{"203.0.113.77", "198.51.100.2"} {
		if _, err := h.Hunt(context.Background(), []*match.Indicator{ind(match.KindIP, v)}, rules, emitTo(&collector{})); err != nil {
			t.Fatal(err)
		}
	}
	log := logBuf.String()
	if n := strings.Count(log, "the history does not keep the account domain"); n != 1 || !strings.Contains(log, "rule=ana-domain") || !strings.Contains(log, `accounts=[CORP\ana]`) {
		t.Errorf("want one warning naming rule ana-domain and its account, got %d:\n%s", n, log)
	}
	if strings.Contains(log, "rule=ana-bare") {
		t.Errorf("a bare account name was warned about:\n%s", log)
	}
}
