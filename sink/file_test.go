package sink_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

func TestFileConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sink.FileOptions
	}{
		{"native, fsync per write", sink.FileOptions{}},
		{"OCSF, fsync per interval", sink.FileOptions{Format: sink.FormatOCSF, Sync: sink.SyncInterval}},
		{"native, rotating every 4 KiB", sink.FileOptions{MaxBytes: 4096, MaxFiles: 100}},
		{"native, fsync left to the OS", sink.FileOptions{Sync: sink.SyncNever}},
	} {
		opt := tc.opt
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
				path := filepath.Join(t.TempDir(), "alerts.jsonl")
				s, err := sink.NewFile(path, opt)
				if err != nil {
					t.Fatal(err)
				}
				return s, func() []sink.Alert {
					var all []sink.Alert
					for i := max(opt.MaxFiles, 5); i >= 1; i-- { // rotated files, oldest first
						all = append(all, decodeLines(t, readFile(t, path+"."+strconv.Itoa(i)))...)
					}
					return append(all, decodeLines(t, readFile(t, path))...)
				}
			})
		})
	}
}

func TestFileCreatesWithMode0600AndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	alerts := sinktest.Alerts(6, 2)
	for i := range 2 { // reopen: the second sink appends to the first's file
		s, err := sink.NewFile(path, sink.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(context.Background(), alerts[i*3:i*3+3]); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600", perm)
	}
	got := decodeLines(t, readFile(t, path))
	if len(got) != 6 {
		t.Fatalf("%d alerts in the file, want 6", len(got))
	}
	for i := range got {
		if got[i].AlertID != alerts[i].AlertID {
			t.Errorf("line %d is alert %s, want %s", i+1, got[i].AlertID, alerts[i].AlertID)
		}
	}
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	s, err := sink.NewFile(path, sink.FileOptions{MaxBytes: 3000, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	alerts := sinktest.Alerts(40, 8)
	for i := range alerts {
		if err := s.Write(context.Background(), alerts[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	big := sinktest.Alerts(10, 9) // one batch larger than MaxBytes
	if err := s.Write(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "alerts.jsonl alerts.jsonl.1 alerts.jsonl.2" {
		t.Fatalf("files %v, want the current file and 2 rotated ones", names)
	}
	for _, n := range []string{"alerts.jsonl.1", "alerts.jsonl.2"} {
		st, _ := os.Stat(filepath.Join(dir, n))
		if st.Size() > 3000 {
			t.Errorf("%s has %d bytes, more than MaxBytes 3000", n, st.Size())
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", n, st.Mode().Perm())
		}
	}
	cur := decodeLines(t, readFile(t, path))
	if len(cur) != len(big) {
		t.Errorf("the current file holds %d alerts, want the whole oversized batch of %d", len(cur), len(big))
	}
	// Rotated files hold consecutive alerts, older in .2 than in .1.
	one := decodeLines(t, readFile(t, path+".1"))
	two := decodeLines(t, readFile(t, path+".2"))
	if len(one) == 0 || len(two) == 0 || one[len(one)-1].AlertID != alerts[len(alerts)-1].AlertID {
		t.Fatalf("rotated files out of order: .1 has %d, .2 has %d alerts", len(one), len(two))
	}
	idx := func(id string) int {
		for i := range alerts {
			if alerts[i].AlertID == id {
				return i
			}
		}
		return -1
	}
	if idx(two[len(two)-1].AlertID)+1 != idx(one[0].AlertID) {
		t.Error(".2 does not end right before .1 starts")
	}
}

func TestFileOptionsAreValidated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x")
	for _, tc := range []struct {
		name string
		opt  sink.FileOptions
		want string
	}{
		{"an unknown format", sink.FileOptions{Format: "csv"}, `"csv"`},
		{"an unknown sync mode", sink.FileOptions{Sync: "sometimes"}, `sync "sometimes"`},
		{"a negative size", sink.FileOptions{MaxBytes: -1}, "max bytes -1"},
		{"a negative file count", sink.FileOptions{MaxFiles: -2}, "max files -2"},
		{"a negative sync interval", sink.FileOptions{SyncEvery: -time.Second}, "sync interval"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			_, err := sink.NewFile(path, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("NewFile = %v, want an error naming the file and %s", err, tc.want)
			}
		})
	}
	t.Run("a directory that does not exist is refused", func(t *testing.T) {
		if _, err := sink.NewFile(filepath.Join(path, "no", "such"), sink.FileOptions{}); err == nil {
			t.Error("NewFile succeeded")
		}
	})
}

func TestFileFlushAndIntervalSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	s, err := sink.NewFile(path, sink.FileOptions{Sync: sink.SyncInterval, SyncEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), sinktest.Alerts(3, 3)); err != nil {
		t.Fatal(err)
	}
	// Accepted means the kernel has it, even before the periodic fsync.
	if n := len(decodeLines(t, readFile(t, path))); n != 3 {
		t.Errorf("%d alerts readable after Write, want 3", n)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Errorf("Flush: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err == nil {
		t.Error("Flush after Close succeeded")
	}
}
