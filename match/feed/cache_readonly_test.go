package feed

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/dirstate"
)

// cacheScene is a cache directory as a running service leaves it: a TTL
// file feed that keeps a value it no longer lists (10.1.2.3, accepted by
// the service's relaxed guard), an http feed's last good copy and a
// TAXII collection's.
type cacheScene struct {
	clk        *clock
	dir, cache string // the feed files; the cache directory
	path       string // the TTL file feed
	http       *feedServer
	taxii      *taxiiServer
}

func newCacheScene(t *testing.T) *cacheScene {
	t.Helper()
	sc := &cacheScene{clk: newClock(), dir: t.TempDir(), cache: t.TempDir(), http: newFeedServer(t, false), taxii: newTAXIIServer(t)}
	sc.path = filepath.Join(sc.dir, "recent.txt")
	writeFile(t, sc.path, "10.1.2.3\n203.0.113.1\n")
	sc.http.set(serve(goodFeed, `"v1"`))
	sc.taxii.add(indicator("1", "198.51.100.1", "2026-01-01T00:00:00Z", false))
	h, _ := newHarness(t, sc.options(false, nil))
	sc.clk.Advance(5 * time.Minute)
	writeFile(t, sc.path, "203.0.113.1\n") // 10.1.2.3 falls off the feed: kept
	if u, err := h.m.Reload(context.Background()); err != nil || u == nil {
		t.Fatalf("service reload: %v %v", u, err)
	}
	if st := h.status("recent"); st.Retained != 1 {
		t.Fatalf("the service keeps %d values, want 1", st.Retained)
	}
	h.stop()
	sc.clk.Advance(5 * time.Minute)
	for _, name := range []string{"recent.retained.jsonl", "remote.cache", "partner.cache"} {
		if _, err := os.Stat(filepath.Join(sc.cache, name)); err != nil {
			t.Fatalf("the service left no %s: %v", name, err)
		}
	}
	return sc
}

// options configures the three feeds as the service does, the TTL feed
// changed by candidate (nil: as the service has it).
func (sc *cacheScene) options(readOnly bool, candidate func(*Spec)) Options {
	recent := fileSpec("recent", sc.path)
	recent.TTL = time.Hour
	recent.Load.Guard.AllowPrivate = true
	if candidate != nil {
		candidate(&recent)
	}
	return Options{Feeds: []Spec{recent, httpSpec("remote", sc.http.URL+"/feed.txt"), taxiiSpec(sc.taxii.URL)},
		FilePoll: -1, ShrinkGuard: -1, Now: sc.clk.Now, CacheDir: sc.cache, CacheReadOnly: readOnly}
}

// servers serves the feeds as the service last got them (a 304 to the
// cached copy, nothing new in the collection), with new content, or not
// at all.
func (sc *cacheScene) servers(state string) {
	sc.taxii.mu.Lock()
	sc.taxii.down = state == "down"
	sc.taxii.mu.Unlock()
	switch state {
	case "as cached":
		sc.http.set(serve(goodFeed, `"v1"`))
	case "new":
		sc.http.set(serve(goodFeed+"new.example\n", `"v2"`))
		sc.taxii.mu.Lock()
		n := len(sc.taxii.objects)
		sc.taxii.mu.Unlock()
		if n == 1 {
			sc.taxii.add(indicator("2", "198.51.100.2", "2026-01-01T00:00:00Z", false))
		}
	case "down":
		sc.http.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	}
}

// snapshotDir snapshots dir (dirstate.Snapshot), failing the test on an error.
func snapshotDir(t *testing.T, dir string) map[string]dirstate.Entry {
	t.Helper()
	s, err := dirstate.Snapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ageDir ages every entry under dir to at (dirstate.Age), failing the test on
// an error.
func ageDir(t *testing.T, dir string, at time.Time) {
	t.Helper()
	if err := dirstate.Age(dir, at); err != nil {
		t.Fatal(err)
	}
}

// A one-shot load (check, lookup) with a read-only cache starts from the
// cache as the service that owns it would — its kept values, its cached
// copies when a server is down — and reports what it would, but writes
// nothing there: no file changes, byte or modification time, and none is
// made, even for a moment, whatever the candidate configuration (a
// stricter guard, a shorter ttl) and whatever the servers give. So a kept
// value the candidate's guard refuses is reported by every such load, not
// only by the first, and the service keeps it. The service's own loads
// still write the cache.
func TestAReadOnlyCacheIsReadButNeverWritten(t *testing.T) {
	const keptRefused = `recent.txt:1: "10.1.2.3": private range refused (a value the feed no longer lists, kept by its ttl)`
	all := []string{".", "partner.cache", "recent.retained.jsonl", "remote.cache"}
	tests := []struct {
		name          string
		candidate     func(*Spec) // the TTL feed as the candidate configuration has it
		load, reload  string      // the servers at the load, and at a reload after it
		has, hasNot   []string    // values the load's index holds, and does not
		refused       []string    // the TTL feed's refusals at each read-only load
		retained      int         // values the TTL feed keeps in the read-only load
		serviceWrites []string    // what the service's load and reload change in the cache
	}{
		{name: "the service's configuration",
			load: "as cached", reload: "as cached",
			has: []string{"10.1.2.3", "203.0.113.1", "c2.example", "198.51.100.1"}, retained: 1,
			serviceWrites: all},
		{name: "a stricter guard",
			candidate: func(s *Spec) { s.Load.Guard.AllowPrivate = false },
			load:      "as cached", reload: "as cached",
			has: []string{"203.0.113.1"}, hasNot: []string{"10.1.2.3"}, refused: []string{keptRefused},
			serviceWrites: all},
		{name: "a shorter ttl",
			candidate: func(s *Spec) { s.TTL = 8 * time.Minute },
			load:      "as cached", reload: "as cached",
			has: []string{"203.0.113.1"}, hasNot: []string{"10.1.2.3"},
			serviceWrites: all},
		{name: "a stricter guard and a shorter ttl",
			candidate: func(s *Spec) { s.Load.Guard.AllowPrivate = false; s.TTL = 30 * time.Minute },
			load:      "as cached", reload: "as cached",
			hasNot: []string{"10.1.2.3"}, refused: []string{keptRefused},
			serviceWrites: all},
		{name: "servers with newer content than the cached copies",
			load: "new", reload: "new",
			has: []string{"new.example", "198.51.100.2", "10.1.2.3"}, retained: 1,
			serviceWrites: all},
		{name: "servers down",
			load: "down", reload: "down",
			has: []string{"c2.example", "198.51.100.1", "10.1.2.3"}, retained: 1,
			serviceWrites: []string{".", "recent.retained.jsonl"}},
		{name: "servers down at the load and back at the reload",
			candidate: func(s *Spec) { s.Load.Guard.AllowPrivate = false },
			load:      "down", reload: "as cached",
			has: []string{"c2.example", "198.51.100.1"}, hasNot: []string{"10.1.2.3"}, refused: []string{keptRefused},
			serviceWrites: all},
	}
	old := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	load := func(t *testing.T, sc *cacheScene, opt Options, servers, reload string) (*Update, Status) {
		t.Helper()
		sc.servers(servers)
		h, u := newHarness(t, opt)
		defer h.stop()
		st := h.status("recent")
		sc.servers(reload)
		if _, err := h.m.Reload(context.Background()); err != nil && reload != "down" {
			t.Fatalf("reload: %v", err)
		}
		return u, st
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := newCacheScene(t)
			ageDir(t, sc.cache, old)
			before := snapshotDir(t, sc.cache)
			for run := 1; run <= 2; run++ {
				u, st := load(t, sc, sc.options(true, tt.candidate), tt.load, tt.reload)
				if changed := dirstate.Changed(before, snapshotDir(t, sc.cache)); len(changed) > 0 {
					t.Fatalf("read-only load %d changed the cache: %q", run, changed)
				}
				for _, v := range tt.has {
					if !matches(u.Index, v, time.Time{}) {
						t.Errorf("read-only load %d: %s does not match", run, v)
					}
				}
				for _, v := range tt.hasNot {
					if matches(u.Index, v, time.Time{}) {
						t.Errorf("read-only load %d: %s matches", run, v)
					}
				}
				var refused []string
				for _, r := range st.Refused {
					refused = append(refused, strings.TrimPrefix(r.String(), sc.dir+string(filepath.Separator)))
				}
				if !slices.Equal(refused, tt.refused) || st.Retained != tt.retained {
					t.Errorf("read-only load %d: refused %q, retained %d; want %q, %d", run, refused, st.Retained, tt.refused, tt.retained)
				}
			}

			// The service, configured as the candidate, writes the cache.
			load(t, sc, sc.options(false, tt.candidate), tt.load, tt.reload)
			if changed := dirstate.Changed(before, snapshotDir(t, sc.cache)); !slices.Equal(changed, tt.serviceWrites) {
				t.Errorf("the service's load changed %q, want %q", changed, tt.serviceWrites)
			}
		})
	}
}

// A read-only cache directory that does not exist is not made: the load
// goes on without a cache, as it does with an empty one. A service makes it.
func TestAReadOnlyCacheDirectoryIsNotMade(t *testing.T) {
	for _, readOnly := range []bool{true, false} {
		sc := &cacheScene{clk: newClock(), dir: t.TempDir(), http: newFeedServer(t, false), taxii: newTAXIIServer(t)}
		sc.cache = filepath.Join(t.TempDir(), "cache")
		sc.path = filepath.Join(sc.dir, "recent.txt")
		writeFile(t, sc.path, "203.0.113.1\n")
		sc.servers("as cached")
		sc.taxii.add(indicator("1", "198.51.100.1", "2026-01-01T00:00:00Z", false))
		h, u := newHarness(t, sc.options(readOnly, nil))
		h.stop()
		if n := u.Index.Len(); n != 5 {
			t.Errorf("read-only %v: %d indicators, want 5", readOnly, n)
		}
		if _, err := os.Stat(sc.cache); readOnly != os.IsNotExist(err) {
			t.Errorf("read-only %v: the cache directory: %v", readOnly, err)
		}
	}
}
