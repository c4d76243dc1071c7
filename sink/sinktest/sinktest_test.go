package sinktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

func TestRecorderPassesTheConformanceSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		r := &sinktest.Recorder{}
		return r, r.Alerts
	})
}

func TestRecorderFailsAsScripted(t *testing.T) {
	var r sinktest.Recorder
	boom := errors.New("boom")
	r.FailNext(boom, nil)
	a := sinktest.Alerts(2, 1)
	if err := r.Write(context.Background(), a[:1]); !errors.Is(err, boom) {
		t.Errorf("first Write = %v, want boom", err)
	}
	if err := r.Write(context.Background(), a[1:]); err != nil {
		t.Errorf("second Write = %v, want nil", err)
	}
	if got := r.Alerts(); len(got) != 1 || got[0].AlertID != a[1].AlertID || r.Writes() != 2 {
		t.Errorf("recorded %d alerts in %d writes, want only the second alert in 2 writes", len(got), r.Writes())
	}
}

func TestAlertsAreDeterministicPerSeed(t *testing.T) {
	a, b := sinktest.Alerts(50, 42), sinktest.Alerts(50, 42)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different alerts")
	}
	if c := sinktest.Alerts(50, 43); reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same alerts")
	}
}

func TestAlertsAreDistinctAndWellFormed(t *testing.T) {
	alerts := sinktest.Alerts(500, 1)
	seen := map[string]bool{}
	kinds, fields := map[string]bool{}, map[string]bool{}
	var retro, summary int
	for i, a := range alerts {
		if seen[a.AlertID] {
			t.Fatalf("alert %d repeats AlertID %s", i, a.AlertID)
		}
		seen[a.AlertID] = true
		if want := sink.NewAlertID(a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value); a.AlertID != want {
			t.Errorf("alert %d: AlertID %s, want NewAlertID's %s", i, a.AlertID, want)
		}
		if a.Timestamp.Location() != time.UTC || a.DetectedAt.Before(a.Timestamp) {
			t.Errorf("alert %d: times %v / %v, want UTC and detection after the event", i, a.Timestamp, a.DetectedAt)
		}
		if a.MatchedValue == "" || a.Indicator.Value == "" || a.DeviceID == "" {
			t.Errorf("alert %d lacks a matched value, indicator or device id", i)
		}
		kinds[a.Indicator.Kind], fields[a.MatchedField] = true, true
		if a.Retro {
			retro++
		}
		if a.RepeatCount > 0 {
			summary++
			if a.FirstSeen.IsZero() || a.LastSeen.Before(a.FirstSeen) {
				t.Errorf("alert %d: summary without a first/last seen range", i)
			}
		}
		// JSON round trip keeps the alert.
		b, _ := json.Marshal(&a)
		var back sink.Alert
		if err := json.Unmarshal(b, &back); err != nil || back.AlertID != a.AlertID || !back.Timestamp.Equal(a.Timestamp) {
			t.Errorf("alert %d does not survive a JSON round trip: %v", i, err)
		}
	}
	for _, k := range []string{"ip", "cidr", "domain", "url", "pattern"} {
		if !kinds[k] {
			t.Errorf("no alert of indicator kind %s", k)
		}
	}
	for _, f := range []string{"RemoteIP", "RemoteUrl", "RemoteUrl.host"} {
		if !fields[f] {
			t.Errorf("no alert matched on %s", f)
		}
	}
	if retro == 0 || summary == 0 {
		t.Errorf("%d retro and %d summary alerts, want some of each", retro, summary)
	}
}

func TestAlertsCarryHostileValues(t *testing.T) {
	var all strings.Builder
	for _, a := range sinktest.Alerts(300, 2) {
		b, _ := json.Marshal(a) // escaped: look for the escapes
		all.Write(b)
		all.WriteString(a.DeviceName + a.CommandLine + a.Indicator.Source + a.Indicator.Description + a.MachineGroup)
		all.WriteString(strings.Join(a.Indicator.Tags, ""))
	}
	s := all.String()
	for _, want := range []string{"|", "=", `\`, "\n", "\r\n", `"`, "'", "Zürich", "ü", "Ã©", "☃"} {
		if !strings.Contains(s, want) {
			t.Errorf("no generated alert holds %q", want)
		}
	}
}
