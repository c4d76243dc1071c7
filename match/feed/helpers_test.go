package feed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/match"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness runs a Manager and collects its updates.
type harness struct {
	t       *testing.T
	m       *Manager
	updates chan *Update
	cancel  context.CancelFunc
	done    chan struct{}
}

// newHarness builds a Manager from opt (OnUpdate is taken), loads it and
// fails the test on a load error.
func newHarness(t *testing.T, opt Options) (*harness, *Update) {
	t.Helper()
	h := &harness{t: t, updates: make(chan *Update, 64)}
	opt.OnUpdate = func(u *Update) { h.updates <- u }
	m, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	u, err := m.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.stop)
	return h, u
}

// run starts Run in the background; stop (also a cleanup) ends it.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.m.Run(ctx); err != nil {
			h.t.Errorf("Run: %v", err)
		}
	}()
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
	h.m.Close()
}

// next waits for the next update; the test fails after 10 s without one
// (a deadline against a hang, not a timing assertion).
func (h *harness) next() *Update {
	h.t.Helper()
	select {
	case u := <-h.updates:
		return u
	case <-time.After(10 * time.Second):
		h.t.Fatal("no index update within 10 s")
		return nil
	}
}

// nextWhere waits for an update satisfying ok, skipping others.
func (h *harness) nextWhere(ok func(*Update) bool) *Update {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case u := <-h.updates:
			if ok(u) {
				return u
			}
		case <-deadline:
			h.t.Fatal("no matching index update within 10 s")
			return nil
		}
	}
}

// noUpdate checks that no update is pending now.
func (h *harness) noUpdate() {
	h.t.Helper()
	select {
	case u := <-h.updates:
		h.t.Fatalf("unexpected update (%s, feeds %v, %d added)", u.Reason, u.Feeds, u.AddedCount())
	default:
	}
}

func (h *harness) status(name string) Status {
	h.t.Helper()
	for _, s := range h.m.Status() {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("no status for feed %q", name)
	return Status{}
}

// matches reports whether value hits the index at time at (zero: any).
func matches(ix *match.Index, value string, at time.Time) bool {
	return len(ix.Lookup(value, at)) > 0
}

// values returns the sorted "kind value" strings of inds.
func values(inds []*match.Indicator) string {
	var out []string
	for _, ind := range inds {
		out = append(out, ind.Kind.String()+" "+ind.Value)
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// writeAtomic replaces path the way editors do: a temporary file in the
// same directory renamed over it.
func writeRenamed(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lines makes a text feed of n addresses 198.51.100.x / 203.0.113.x.
func lines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "203.0.%d.%d\n", 113+i/250, 1+i%250)
	}
	return b.String()
}

func fileSpec(name, path string) Spec {
	return Spec{Name: name, Type: TypeFile, Path: path, Load: match.LoadOptions{Format: match.FormatText}}
}
