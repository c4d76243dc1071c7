package feed

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/dirstate"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// chmodTree sets the mode of every entry under dir: files to file, the
// directories to dirMode (dir itself last).
func chmodTree(t *testing.T, dir string, file, dirMode fs.FileMode) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, path)
			return nil
		}
		return os.Chmod(path, file)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], dirMode); err != nil {
			t.Fatal(err)
		}
	}
}

// A one-shot load by another user than the service's, which may read the
// cache directory but not write it, starts from it as the service would
// and has nothing to complain of: it attempts no write (one would fail
// and be logged). Run as root, the permissions stop nothing, and the
// snapshot shows that nothing was written.
func TestAReadOnlyCacheTheLoadCannotWriteIsRead(t *testing.T) {
	sc := newCacheScene(t)
	ageDir(t, sc.cache, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	chmodTree(t, sc.cache, 0o444, 0o555)
	t.Cleanup(func() { chmodTree(t, sc.cache, 0o644, 0o755) })
	before := snapshotDir(t, sc.cache)
	for _, servers := range []string{"new", "as cached", "down"} {
		var logs syncBuffer
		opt := sc.options(true, nil)
		opt.Log = slog.New(slog.NewTextHandler(&logs, nil))
		sc.servers(servers)
		h, u := newHarness(t, opt)
		h.stop()
		for _, v := range []string{"10.1.2.3", "203.0.113.1", "c2.example", "198.51.100.1"} {
			if !matches(u.Index, v, time.Time{}) {
				t.Errorf("servers %s: %s does not match", servers, v)
			}
		}
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "level=WARN") && !strings.Contains(l, "unreachable") {
				t.Errorf("servers %s: %s", servers, l)
			}
		}
		if changed := dirstate.Changed(before, snapshotDir(t, sc.cache)); len(changed) > 0 {
			t.Errorf("servers %s: the load changed %q", servers, changed)
		}
	}
}
