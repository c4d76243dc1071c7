package feed

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/match"
)

// Zeek's intel reader never removes a deleted line and Logstash's
// translate filter keeps deleted keys by default: a reload here replaces
// the feed, so a deleted line stops matching, and only the new value is
// reported as added.
func TestAFileEditReplacesTheFeedsIndicators(t *testing.T) {
	edits := []struct {
		name  string
		write func(t *testing.T, path, content string)
	}{
		{"an editor's atomic rename is picked up", writeRenamed},
		{"mv over the file is picked up", func(t *testing.T, path, content string) {
			other := filepath.Join(t.TempDir(), "new.txt") // another directory: a real mv
			writeFile(t, other, content)
			if err := os.Rename(other, path); err != nil {
				// a cross-device rename: fall back to a same-directory one
				writeRenamed(t, path, content)
			}
		}},
		{"a write in place is picked up", writeFile},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "c2.txt")
			writeFile(t, path, "203.0.113.7\nevil.example\nhttp://bad.example/gate.php\n")
			h, u := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 20 * time.Millisecond, FilePoll: -1})
			if got := values(u.Added()); got != "domain evil.example, ip 203.0.113.7, url http://bad.example/gate.php" {
				t.Fatalf("first load added %s", got)
			}
			h.run()
			tt.write(t, path, "203.0.113.7\nhttp://bad.example/gate.php\nnew-c2.example\n")
			u = h.next()
			if matches(u.Index, "evil.example", time.Time{}) || matches(u.Index, "x.evil.example", time.Time{}) {
				t.Error("a deleted line still matches")
			}
			if !matches(u.Index, "new-c2.example", time.Time{}) || !matches(u.Index, "203.0.113.7", time.Time{}) {
				t.Error("the new and the kept lines must match")
			}
			if got := values(u.Added()); got != "domain new-c2.example" {
				t.Errorf("added %s, want only the new value", got)
			}
			if u.Removed != 1 || u.Reason != "file change" || strings.Join(u.Feeds, ",") != "c2" {
				t.Errorf("update %+v: want 1 removed, reason file change, feed c2", u)
			}
			st := h.status("c2")
			if st.Total != 3 || st.Added != 1 || st.Removed != 1 || st.LastError != nil {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// A reload says what it loaded, and lines it refused are not silent: the
// log names how many and the first, as the first load's report does.
func TestAReloadLogsWhatItRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c2.txt")
	writeFile(t, path, "203.0.113.7\n")
	var logs syncbuf.Buffer
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 20 * time.Millisecond, FilePoll: -1,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	h.run()
	writeRenamed(t, path, "203.0.113.7\n10.1.2.3\ncom\n")
	h.next()
	want := `msg="feed reloaded; some lines were refused and are left out" feed=c2 indicators=1 refused=2 first_refused="` + path + `:2: \"10.1.2.3\": private range refused"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
	writeRenamed(t, path, "203.0.113.7\n198.51.100.9\n")
	h.next()
	if want := `msg="feed reloaded" feed=c2 indicators=2`; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
}

// A file that disappears is an error, not an empty feed; so is a file the
// loader cannot read. The last good indicators stay.
func TestAFileFeedThatBreaksKeepsItsLastGoodIndicators(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c2.json")
	writeFile(t, path, `{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '203.0.113.9']","valid_from":"2026-01-01T00:00:00Z"}]}`)
	spec := fileSpec("c2", path)
	spec.Load.Format = match.FormatSTIX2
	h, u := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1})
	writeFile(t, path, `{"type":"bundle","objects":[`) // truncated JSON
	if u2, err := h.m.Reload(context.Background()); err == nil || u2 != nil {
		t.Fatalf("Reload of a broken file: update %v, err %v", u2, err)
	}
	os.Remove(path)
	if _, err := h.m.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "c2.json") {
		t.Fatalf("Reload of a missing file: err %v", err)
	}
	if h.m.Current() != u || !matches(h.m.Current().Index, "203.0.113.9", time.Time{}) {
		t.Fatal("the last good index must stay in use")
	}
	st := h.status("c2")
	if st.LastError == nil || st.Failures != 2 || st.Total != 1 || !st.LastSuccess.Before(st.LastFetch) && !st.LastSuccess.Equal(st.LastFetch) {
		t.Errorf("status %+v", st)
	}
}

func TestTheShrinkGuard(t *testing.T) {
	tests := []struct {
		name string
		// after the feed shrank from 100 to 10 lines and was held back:
		then        func(t *testing.T, h *harness, path string) *Update
		wantTotal   int
		wantHeldEnd bool
	}{
		{"a second fetch giving the same size confirms it", func(t *testing.T, h *harness, path string) *Update {
			u, err := h.m.Reload(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return u
		}, 10, false},
		{"a second fetch giving a similar size confirms it", func(t *testing.T, h *harness, path string) *Update {
			writeFile(t, path, lines(11))
			u, _ := h.m.Reload(context.Background())
			return u
		}, 11, false},
		{"Confirm accepts it", func(t *testing.T, h *harness, path string) *Update {
			u, err := h.m.Confirm("c2")
			if err != nil {
				t.Fatal(err)
			}
			return u
		}, 10, false},
		{"a feed back to its size drops it without a rebuild", func(t *testing.T, h *harness, path string) *Update {
			writeFile(t, path, lines(100))
			u, _ := h.m.Reload(context.Background())
			return u
		}, 100, false},
		{"a different small size holds it back again", func(t *testing.T, h *harness, path string) *Update {
			writeFile(t, path, lines(30))
			u, _ := h.m.Reload(context.Background())
			return u
		}, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c2.txt")
			writeFile(t, path, lines(100))
			h, first := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, FilePoll: -1})
			writeFile(t, path, lines(10))
			u, err := h.m.Reload(context.Background())
			if err != nil || u != nil {
				t.Fatalf("a shrink to 10%%: update %v, err %v; want it held back", u, err)
			}
			st := h.status("c2")
			if st.Held == nil || st.Held.Total != 10 || st.Held.Previous != 100 || st.Total != 100 {
				t.Fatalf("status after the shrink: %+v, held %+v", st, st.Held)
			}
			if h.m.Current() != first || !matches(first.Index, "203.0.113.50", time.Time{}) {
				t.Fatal("the index changed while the shrink is held back")
			}
			tt.then(t, h, path)
			st = h.status("c2")
			if st.Total != tt.wantTotal || (st.Held != nil) != tt.wantHeldEnd {
				t.Errorf("total %d, held %+v; want %d, held %v", st.Total, st.Held, tt.wantTotal, tt.wantHeldEnd)
			}
			if got := h.m.Current().Index.Len(); got != tt.wantTotal {
				t.Errorf("index holds %d, want %d", got, tt.wantTotal)
			}
		})
	}
}

func TestConfirmWithoutAHeldShrinkIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c2.txt")
	writeFile(t, path, lines(3))
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, FilePoll: -1})
	if _, err := h.m.Confirm("c2"); err == nil || !strings.Contains(err.Error(), "nothing held back") {
		t.Errorf("err %v", err)
	}
	if _, err := h.m.Confirm("nope"); err == nil || !strings.Contains(err.Error(), "no such feed") {
		t.Errorf("err %v", err)
	}
}

// With a TTL, a value the feed no longer lists is kept until TTL after the
// feed last listed it (an append-only or "recent additions" feed lets old
// entries fall off); a listed value expires TTL after its last sighting.
// The retained values survive a restart through the cache directory.
func TestTTLExpiresAValueTTLAfterItWasLastSeen(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	dir, cache := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "recent.txt")
	writeFile(t, path, "203.0.113.1\n203.0.113.2\n")
	spec := fileSpec("recent", path)
	spec.TTL = time.Hour
	opt := Options{Feeds: []Spec{spec}, FilePoll: -1, Now: clk.Now, CacheDir: cache}
	h, u := newHarness(t, opt)
	if !matches(u.Index, "203.0.113.2", t0.Add(59*time.Minute)) || matches(u.Index, "203.0.113.2", t0.Add(time.Hour)) {
		t.Fatal("a listed value must expire TTL after it was loaded")
	}

	clk.Advance(30 * time.Minute) // .2 falls off the feed, .3 arrives
	writeFile(t, path, "203.0.113.1\n203.0.113.3\n")
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if values(u.Added()) != "ip 203.0.113.3" || u.Removed != 0 {
		t.Errorf("added %s, removed %d: a retained value is not removed", values(u.Added()), u.Removed)
	}
	for _, c := range []struct {
		value string
		at    time.Duration
		want  bool
	}{
		{"203.0.113.2", 59 * time.Minute, true},  // retained: last seen at t0
		{"203.0.113.2", 60 * time.Minute, false}, // TTL after t0
		{"203.0.113.1", 89 * time.Minute, true},  // listed again at t0+30m
		{"203.0.113.1", 90 * time.Minute, false},
		{"203.0.113.3", 89 * time.Minute, true},
	} {
		if got := matches(u.Index, c.value, t0.Add(c.at)); got != c.want {
			t.Errorf("%s at t0+%s: match %v, want %v", c.value, c.at, got, c.want)
		}
	}
	if st := h.status("recent"); st.Total != 3 || st.Retained != 1 {
		t.Errorf("status: total %d retained %d, want 3 and 1", st.Total, st.Retained)
	}

	// A restart keeps the retained value and when it was last seen.
	h.stop()
	h2, u2 := newHarness(t, opt)
	if !matches(u2.Index, "203.0.113.2", t0.Add(59*time.Minute)) || matches(u2.Index, "203.0.113.2", t0.Add(time.Hour)) {
		t.Error("after a restart the retained value must still expire TTL after it was last seen")
	}

	// Past its TTL the retained value is dropped at the next change.
	clk.Advance(time.Hour)
	writeFile(t, path, "203.0.113.1\n203.0.113.3\n203.0.113.4\n")
	u3, err := h2.m.Reload(context.Background())
	if err != nil || u3 == nil {
		t.Fatalf("reload: %v %v", u3, err)
	}
	if st := h2.status("recent"); st.Retained != 0 || st.Total != 3 || matches(u3.Index, "203.0.113.2", time.Time{}) {
		t.Errorf("retained %d total %d: the expired value must be gone", st.Retained, st.Total)
	}
}

// Unchanged content that is fetched again extends the TTL of what it lists
// (a rebuild only once more than half the TTL went by), and a feed that
// stops answering expires TTL after it last listed its values.
func TestTTLOfAnUnchangedOrFailingFeed(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	path := filepath.Join(t.TempDir(), "list.txt")
	writeFile(t, path, "203.0.113.1\n")
	spec := fileSpec("list", path)
	spec.TTL = time.Hour
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, Now: clk.Now})
	clk.Advance(20 * time.Minute)
	if u, err := h.m.Reload(context.Background()); err != nil || u != nil {
		t.Fatalf("an unchanged file a third of the TTL later: update %v, err %v; want no rebuild", u, err)
	}
	clk.Advance(20 * time.Minute)
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("an unchanged file past half the TTL: update %v, err %v; want the expiry extended", u, err)
	}
	if !matches(u.Index, "203.0.113.1", t0.Add(99*time.Minute)) || matches(u.Index, "203.0.113.1", t0.Add(100*time.Minute)) {
		t.Error("the value must expire TTL after the last fetch listing it (t0+40m+1h)")
	}
	if u.AddedCount() != 0 || u.Removed != 0 {
		t.Errorf("an expiry extension adds and removes nothing: %d, %d", u.AddedCount(), u.Removed)
	}
	clk.Advance(5 * time.Minute)
	os.Remove(path)
	if _, err := h.m.Reload(context.Background()); err == nil {
		t.Fatal("a missing file must be an error")
	}
	if !matches(h.m.Current().Index, "203.0.113.1", t0.Add(99*time.Minute)) {
		t.Error("a failing feed keeps its indicators until TTL after they were last listed")
	}
}

// A valid_until from the feed only ever shortens the TTL: a later one (a
// year out) does not keep a value past TTL after the feed last listed it,
// so a feed that stops answering still ages out; and extending the TTL
// never moves a value past its own valid_until.
func TestTTLIsNotOutlivedByALaterValidUntilFromTheFeed(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	path := filepath.Join(t.TempDir(), "c2.csv")
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	writeFile(t, path, "indicator,valid_until\n203.0.113.1,2030-01-01\n203.0.113.2,"+at(30*time.Minute)+"\n203.0.113.3,"+at(80*time.Minute)+"\n")
	spec := fileSpec("c2", path)
	spec.Load.Format = match.FormatCSV
	spec.TTL = time.Hour
	h, u := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, Now: clk.Now})
	type check struct {
		value string
		at    time.Duration
		want  bool
	}
	expect := func(ix *match.Index, checks []check) {
		t.Helper()
		for _, c := range checks {
			if got := matches(ix, c.value, t0.Add(c.at)); got != c.want {
				t.Errorf("%s at t0+%s: match %v, want %v", c.value, c.at, got, c.want)
			}
		}
	}
	expect(u.Index, []check{
		{"203.0.113.1", 59 * time.Minute, true},
		{"203.0.113.1", 60 * time.Minute, false}, // TTL after the listing, not 2030
		{"203.0.113.2", 29 * time.Minute, true},
		{"203.0.113.2", 30 * time.Minute, false}, // the feed's earlier valid_until
		{"203.0.113.3", 59 * time.Minute, true},
		{"203.0.113.3", 60 * time.Minute, false},
	})
	clk.Advance(40 * time.Minute) // the same content again: the TTL is extended
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("an unchanged file past half the TTL: update %v, err %v; want the expiry extended", u, err)
	}
	expect(u.Index, []check{
		{"203.0.113.1", 99 * time.Minute, true},
		{"203.0.113.1", 100 * time.Minute, false},
		{"203.0.113.3", 79 * time.Minute, true},
		{"203.0.113.3", 80 * time.Minute, false}, // never past its own valid_until
	})
	clk.Advance(10 * time.Minute)
	os.Remove(path)
	if _, err := h.m.Reload(context.Background()); err == nil {
		t.Fatal("a missing file must be an error")
	}
	expect(h.m.Current().Index, []check{
		{"203.0.113.1", 99 * time.Minute, true},
		{"203.0.113.1", 100 * time.Minute, false}, // a failing feed ages out TTL after the last listing
	})
}

// Added lists values no feed had before: a value another feed already
// listed is not new to the index.
func TestAddedLeavesOutValuesAnotherFeedAlreadyHad(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	writeFile(t, a, "203.0.113.1\nshared.example\n")
	writeFile(t, b, "203.0.113.2\n")
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("a", a), fileSpec("b", b)}, FilePoll: -1})
	writeFile(t, b, "203.0.113.2\nshared.example\nfresh.example\n")
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if got := values(u.Added()); got != "domain fresh.example" {
		t.Errorf("added %s, want only fresh.example", got)
	}
	if len(u.Index.Lookup("shared.example", time.Time{})) != 2 {
		t.Error("both feeds' shared.example must be indexed")
	}
}

// The allow-list is a second index, reloaded like the feeds: an allow-list
// change rebuilds it and leaves the indicator index alone.
func TestTheAllowListIsReloadedLikeAFeed(t *testing.T) {
	dir := t.TempDir()
	feedPath, allowPath := filepath.Join(dir, "c2.txt"), filepath.Join(dir, "allow.txt")
	writeFile(t, feedPath, "203.0.113.1\nexample.com\n")
	writeFile(t, allowPath, "10.0.0.0/8\n")
	allow := fileSpec("allow", allowPath)
	allow.Load.Guard = match.Guard{AllowPrivate: true, AllowBroad: true, AllowPublicSuffix: true}
	h, u := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", feedPath)}, Allow: []Spec{allow}, AllowValues: []string{"www.example.com"},
		Debounce: 20 * time.Millisecond, FilePoll: -1})
	if u.Allow == nil || !matches(u.Allow, "www.example.com", time.Time{}) || !matches(u.Allow, "10.1.2.3", time.Time{}) {
		t.Fatal("the allow-list must hold the inline value and the file")
	}
	h.run()
	writeRenamed(t, allowPath, "10.0.0.0/8\n203.0.113.1\n")
	u2 := h.next()
	if u2.Index != u.Index || u2.Allow == u.Allow {
		t.Error("an allow-list change must rebuild the allow-list only")
	}
	if !matches(u2.Allow, "203.0.113.1", time.Time{}) || u2.AddedCount() != 0 {
		t.Errorf("allow-list after the change: match %v, added %d", matches(u2.Allow, "203.0.113.1", time.Time{}), u2.AddedCount())
	}
	if st := h.status("allow"); !st.Allow || st.Total != 2 {
		t.Errorf("allow status %+v", st)
	}
}

func TestNewRefusesBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string
	}{
		{"a file feed needs a path", Options{Feeds: []Spec{{Name: "a"}}}, `feed "a": file feed without a path`},
		{"names are unique", Options{Feeds: []Spec{{Name: "a", Path: "x"}}, Allow: []Spec{{Name: "a", Path: "y"}}}, "name used twice"},
		{"an http feed needs an http url", Options{Feeds: []Spec{{Name: "a", Type: TypeHTTP, URL: "ftp://x/y"}}}, "want http:// or https://"},
		{"a taxii feed needs a collection", Options{Feeds: []Spec{{Name: "a", Type: TypeTAXII, URL: "https://t.example/api/"}}}, "without a collection"},
		{"an unknown type", Options{Feeds: []Spec{{Name: "a", Type: "ftp"}}}, "unknown type"},
		{"a missing CA file", Options{Feeds: []Spec{{Name: "a", Type: TypeHTTP, URL: "https://x.example/f", TLS: TLSOptions{CAFile: "/nonexistent/ca.pem"}}}}, "ca_file"},
		{"a bad allow value", Options{AllowValues: []string{"not a value"}}, "allowlist[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestRunBeforeLoadIsAnError(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Error("Run before Load must fail")
	}
}

// warnings counts the WARN lines of a text log that hold msg.
func warnings(log, msg string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

// cutGzip returns content gzipped and cut short.
func cutGzip(t *testing.T, content string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()[:b.Len()/2]
}

// Other files of a feed's directory — iocwatch's own log, an alert file,
// dead letters — are written all the time. A write to one must not read
// the feed again: a broken feed was re-read, logged and counted as a
// failure at every such write, and with the log in the same directory
// each warning caused the next. The broken feed is logged once; a
// replace of the feed file itself is still read.
func TestWritesToOtherFilesDoNotReloadABrokenFeed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c2.txt")
	writeFile(t, path, "203.0.113.7\n")
	var logs syncbuf.Buffer
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 10 * time.Millisecond, FilePoll: 15 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	h.run()
	writeRenamed(t, path, cutGzip(t, lines(2000))) // a .gz cut short
	const msg = "feed refresh failed"
	deadline := time.Now().Add(10 * time.Second)
	for h.status("c2").Failures == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the broken feed was not read")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sibling := filepath.Join(dir, "iocwatch.log")
	for i := range 10 {
		writeFile(t, sibling, strings.Repeat("x", i+1))
		time.Sleep(20 * time.Millisecond) // past the debounce and a file poll each time
	}
	time.Sleep(100 * time.Millisecond)
	st := h.status("c2")
	if st.Failures != 1 || st.LastError == nil || warnings(logs.String(), msg) != 1 {
		t.Errorf("after 10 writes to another file: %d failures (want 1), %d warnings (want 1), err %v:\n%s",
			st.Failures, warnings(logs.String(), msg), st.LastError, logs.String())
	}
	h.noUpdate()
	writeRenamed(t, path, "203.0.113.7\n198.51.100.9\n")
	u := h.next()
	if !matches(u.Index, "198.51.100.9", time.Time{}) {
		t.Error("the replaced feed file was not read")
	}
	if st := h.status("c2"); st.Failures != 0 || st.LastError != nil {
		t.Errorf("status after the fix: %+v", st)
	}
}

// A Kubernetes ConfigMap mounts a file as a symlink through "..data",
// itself a symlink swapped at each update: no event names the file. The
// feed's path is followed through its links, so the swap of "..data"
// re-checks it (a stat: a broken target is not read again while it
// stays), and writes to other files of the directory do not.
func TestAConfigMapSymlinkSwapReloadsTheFeed(t *testing.T) {
	dir := t.TempDir()
	put := func(version, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, version), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, version, "c2.txt"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	put("..v1", "203.0.113.7\n")
	path := filepath.Join(dir, "c2.txt")
	if err := os.Symlink(filepath.Join("..data", "c2.txt"), path); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 10 * time.Millisecond, FilePoll: -1,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	h.run()
	put("..v2", "203.0.113.7\n198.51.100.9\n")
	if u := h.next(); !matches(u.Index, "198.51.100.9", time.Time{}) {
		t.Fatal("the swapped ConfigMap was not read")
	}
	put("..v3", "10.0.0.1\n10.0.0.2\n") // every entry refused: an error
	deadline := time.Now().Add(10 * time.Second)
	for h.status("c2").Failures == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the broken ConfigMap was not read")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 5 {
		writeFile(t, filepath.Join(dir, "alerts.jsonl"), strings.Repeat("x", i+1))
		time.Sleep(20 * time.Millisecond)
	}
	if st := h.status("c2"); st.Failures != 1 || warnings(logs.String(), "feed refresh failed") != 1 {
		t.Errorf("after 5 writes to another file: %d failures, want 1:\n%s", st.Failures, logs.String())
	}
	put("..v4", "198.51.100.10\n")
	if u := h.next(); !matches(u.Index, "198.51.100.10", time.Time{}) || matches(u.Index, "203.0.113.7", time.Time{}) {
		t.Fatal("the ConfigMap swapped after a broken one was not read")
	}
}

// A write to another file of the directory does not even re-check a feed
// whose path is a plain file: no event names it.
func TestWritesToOtherFilesDoNotRecheckAFeed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c2.txt")
	writeFile(t, path, "203.0.113.7\n")
	h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 10 * time.Millisecond, FilePoll: -1})
	loaded := h.status("c2").LastFetch
	h.run()
	deadline := time.Now().Add(10 * time.Second)
	for h.status("c2").LastFetch.Equal(loaded) { // the watcher's first check of every feed
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not check the feed at its start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := h.status("c2").LastFetch
	for i := range 5 {
		writeFile(t, filepath.Join(dir, "dead-letter.jsonl"), strings.Repeat("x", i+1))
		time.Sleep(20 * time.Millisecond)
	}
	if after := h.status("c2").LastFetch; !after.Equal(before) {
		t.Errorf("the feed was checked again (last fetch %v, was %v) after writes to another file", after, before)
	}
	writeFile(t, path, "203.0.113.7\n198.51.100.9\n")
	if u := h.next(); !matches(u.Index, "198.51.100.9", time.Time{}) {
		t.Error("a write to the feed file was not read")
	}
}
