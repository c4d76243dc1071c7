//go:build linux

package stream

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
)

// A real disk-full: the dead-letter file lives on a 64 KiB tmpfs. Mounting
// needs root (CAP_SYS_ADMIN); elsewhere these tests skip, and the
// flakyDeadLetter tests cover the same paths.

// tinyDisk mounts a tmpfs of size bytes and returns its directory.
func tinyDisk(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// bigPoison returns n batches, each of a planted hit and a 4000-byte
// message that cannot be decoded: about one tmpfs page per dead letter.
func bigPoison(n int) [][]string {
	var out [][]string
	for b := range n {
		out = append(out, []string{record(b, "203.0.113.7", "", "a.exe", `c:\a.exe`), strings.Repeat("x", 4000)})
	}
	return out
}

// checkWholeLines fails unless every line of path is a whole JSON entry,
// and returns how many there are.
func checkWholeLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s ends with a partial line", path)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e DeadLetterEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Position == "" {
			t.Errorf("line %d of %s is not a whole entry (%v): %.80s…", n+1, path, err, line)
		}
		n++
	}
	return n
}

func TestADeadLetterFileOnAFullDiskStopsThePipelineWithENOSPCAndKeepsWholeLines(t *testing.T) {
	dir := tinyDisk(t, "64k")
	path := filepath.Join(dir, "dead.jsonl")
	dl, err := OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	src := newSliceSource(bigPoison(40)...) // 160 KB of dead letters for 64 KiB
	out := &recordingSink{}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 1, Ordered: true, DeadLetter: dl})
	err = p.Run(context.Background())
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Run returned %v, want ENOSPC", err)
	}
	acked := len(src.ackedBatches())
	lines := checkWholeLines(t, path)
	if acked == 0 || acked >= 40 || lines != acked {
		t.Errorf("%d batches acknowledged and %d dead letters on disk: every acknowledged batch must have its entry, and the disk must have filled", acked, lines)
	}
	t.Logf("disk full after %d dead letters; Run: %v", lines, err)
}

func TestADeadLetterFileOnAFullDiskUnderContinueLosesOnlyCountedEntriesAndRecovers(t *testing.T) {
	dir := tinyDisk(t, "64k")
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dead.jsonl")
	dl, err := OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	src := newSliceSource(bigPoison(30)...)
	src.beforeRead = func(i int) {
		if i == 15 { // the operator frees space mid-stream
			if err := os.Remove(filler); err != nil {
				t.Error(err)
			}
		}
	}
	var logs syncbuf.Buffer
	out := &recordingSink{}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 1, Ordered: true, DeadLetter: dl,
		DeadLetterFailure: DeadLetterContinue, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run under continue returned %v", err)
	}
	st := p.Stats()
	lines := checkWholeLines(t, path)
	if len(src.ackedBatches()) != 30 || len(out.got()) != 30 {
		t.Errorf("acked %d batches, delivered %d alerts; want 30 and 30", len(src.ackedBatches()), len(out.got()))
	}
	if st.DeadLetterFailures.Load() == 0 || st.DeadLettered.Load()+st.DeadLetterFailures.Load() != 30 || int64(lines) != st.DeadLettered.Load() {
		t.Errorf("dead-lettered %d (file: %d lines), failures %d: each of the 30 must be either on disk or counted lost",
			st.DeadLettered.Load(), lines, st.DeadLetterFailures.Load())
	}
	if !strings.Contains(logs.String(), "dead-letter writes work again") {
		t.Errorf("writes did not recover after space was freed:\n%s", logs.String())
	}
	t.Logf("on disk %d, lost and counted %d; log:\n%s", lines, st.DeadLetterFailures.Load(), logs.String())
}
