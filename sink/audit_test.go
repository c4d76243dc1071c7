package sink_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

func TestExclusionAuditWritesOneLinePerSuppressedHit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "excluded.jsonl")
	audit, err := sink.OpenExclusionAudit(path)
	if err != nil {
		t.Fatal(err)
	}
	alerts := sinktest.Alerts(2, 7)
	if err := audit.Write("rdp-client", "Admins use \"Remote Desktop\"", &alerts[0]); err != nil {
		t.Fatal(err)
	}
	if err := audit.Write("backup", "Veeam\nto the vault", &alerts[1]); err != nil {
		t.Fatal(err)
	}
	if err := audit.Close(); err != nil {
		t.Fatal(err)
	}
	if err := audit.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := audit.Write("late", "after close", &alerts[0]); !errors.Is(err, sink.ErrClosed) || !strings.Contains(err.Error(), path) {
		t.Errorf("Write after Close = %v, want ErrClosed naming the file", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	data := string(readFile(t, path))
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	want := []struct{ rule, reason string }{{"rdp-client", "Admins use \"Remote Desktop\""}, {"backup", "Veeam\nto the vault"}}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), data)
	}
	for i, l := range lines {
		var rec struct {
			Rule   string `json:"rule"`
			Reason string `json:"reason"`
			Alert  struct {
				AlertID string `json:"alert_id"`
			} `json:"alert"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, l)
		}
		if rec.Rule != want[i].rule || rec.Reason != want[i].reason || rec.Alert.AlertID != alerts[i].AlertID {
			t.Errorf("line %d = %+v, want rule %q reason %q alert %s", i+1, rec, want[i].rule, want[i].reason, alerts[i].AlertID)
		}
	}
}
