package feed

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// symlink makes link point to target, replacing it atomically when it
// exists (a new link renamed over it, as deployment tools swap links).
func symlink(t *testing.T, target, link string) {
	t.Helper()
	tmp := link + ".new"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// runWatching starts Run and waits for the watcher's first check of the
// named feed, made once its watches are set up: a change after it is one
// the watches must see (not one the first check reads by chance).
func (h *harness) runWatching(name string) {
	h.t.Helper()
	loaded := h.status(name).LastFetch
	h.run()
	deadline := time.Now().Add(10 * time.Second)
	for h.status(name).LastFetch.Equal(loaded) {
		if time.Now().After(deadline) {
			h.t.Fatal("the watcher did not check the feed at its start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A feed configured as a symlink into another directory (a deployment
// tool's feeds/current -> /data/feeds/<date>/feed.csv) is reloaded when
// the file it points to changes there, however it is changed: no event of
// the link's own directory says so.
func TestAFeedBehindASymlinkIsReloadedWhenItsTargetChanges(t *testing.T) {
	edits := []struct {
		name  string
		write func(t *testing.T, path, content string)
	}{
		{"a write in place of the target", writeFile},
		{"an editor's atomic rename over the target", writeRenamed},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			data := mkdir(t, filepath.Join(root, "data", "feeds", "2026-11-29"))
			target := filepath.Join(data, "feed.txt")
			writeFile(t, target, "203.0.113.7\n")
			link := filepath.Join(mkdir(t, filepath.Join(root, "etc", "feeds")), "current")
			symlink(t, target, link)
			h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", link)}, Debounce: 10 * time.Millisecond, FilePoll: -1})
			h.runWatching("c2")
			tt.write(t, target, "203.0.113.7\n198.51.100.9\n")
			u := h.nextWhere(func(u *Update) bool { return matches(u.Index, "198.51.100.9", time.Time{}) })
			if !matches(u.Index, "203.0.113.7", time.Time{}) {
				t.Error("the kept line does not match after the reload")
			}
		})
	}
}

// A link swapped to another directory is followed there: the new target's
// changes reload the feed, through every link of a chain.
func TestASwappedFeedSymlinkIsFollowedToItsNewTarget(t *testing.T) {
	tests := []struct {
		name string
		// setup makes the feed's path point to first and returns it, and
		// swap, which makes it point to second.
		setup func(t *testing.T, root, first string) (path string, swap func(second string))
	}{
		{"a link to a file", func(t *testing.T, root, first string) (string, func(string)) {
			link := filepath.Join(mkdir(t, filepath.Join(root, "etc")), "current")
			symlink(t, first, link)
			return link, func(second string) { symlink(t, second, link) }
		}},
		{"a relative link to a file", func(t *testing.T, root, first string) (string, func(string)) {
			link := filepath.Join(mkdir(t, filepath.Join(root, "etc")), "current")
			rel := func(p string) string {
				r, err := filepath.Rel(filepath.Dir(link), p)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			symlink(t, rel(first), link)
			return link, func(second string) { symlink(t, rel(second), link) }
		}},
		{"the middle link of a chain in a third directory", func(t *testing.T, root, first string) (string, func(string)) {
			mid := filepath.Join(mkdir(t, filepath.Join(root, "srv")), "latest")
			symlink(t, first, mid)
			link := filepath.Join(mkdir(t, filepath.Join(root, "etc")), "current")
			symlink(t, mid, link)
			return link, func(second string) { symlink(t, second, mid) }
		}},
		{"a link to the directory holding the file", func(t *testing.T, root, first string) (string, func(string)) {
			dirLink := filepath.Join(root, "latest")
			symlink(t, filepath.Dir(first), dirLink)
			return filepath.Join(dirLink, "feed.txt"), func(second string) { symlink(t, filepath.Dir(second), dirLink) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			first := filepath.Join(mkdir(t, filepath.Join(root, "data", "2026-11-29")), "feed.txt")
			second := filepath.Join(mkdir(t, filepath.Join(root, "data", "2026-11-30")), "feed.txt")
			writeFile(t, first, "203.0.113.7\n")
			writeFile(t, second, "198.51.100.9\n")
			path, swap := tt.setup(t, root, first)
			h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 10 * time.Millisecond, FilePoll: -1})
			h.runWatching("c2")
			swap(second)
			u := h.nextWhere(func(u *Update) bool { return matches(u.Index, "198.51.100.9", time.Time{}) })
			if matches(u.Index, "203.0.113.7", time.Time{}) {
				t.Error("the old target's value still matches after the swap")
			}
			writeFile(t, second, "198.51.100.9\n198.51.100.10\n")
			h.nextWhere(func(u *Update) bool { return matches(u.Index, "198.51.100.10", time.Time{}) })
		})
	}
}

// resolveWatch names the paths whose change may change what a feed reads,
// each in its directory as resolved.
func TestResolveWatchNamesEveryLinkAndTheTarget(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	mkdir(t, j("a"))
	mkdir(t, j("b"))
	mkdir(t, j("c"))
	writeFile(t, j("c", "feed.txt"), "203.0.113.7\n")
	symlink(t, j("c", "feed.txt"), j("a", "abs"))
	symlink(t, filepath.Join("..", "c", "feed.txt"), j("a", "rel"))
	symlink(t, j("c", "feed.txt"), j("b", "mid"))
	symlink(t, j("b", "mid"), j("a", "chain"))
	symlink(t, j("c"), j("dirlink"))
	symlink(t, j("c", "gone.txt"), j("a", "dangling"))
	symlink(t, j("a", "loop2"), j("a", "loop1"))
	symlink(t, j("a", "loop1"), j("a", "loop2"))
	mkdir(t, j("deep", "er"))
	writeFile(t, j("deep", "feed.txt"), "203.0.113.7\n")
	symlink(t, j("deep", "er"), j("deeplink"))
	sep := string(filepath.Separator)
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"a plain file", j("c", "feed.txt"), []string{j("c", "feed.txt")}},
		{"a missing file", j("c", "new.txt"), []string{j("c", "new.txt")}},
		{"a link with an absolute target", j("a", "abs"), []string{j("a", "abs"), j("c", "feed.txt")}},
		{"a link with a relative target", j("a", "rel"), []string{j("a", "rel"), j("c", "feed.txt")}},
		{"a chain of links", j("a", "chain"), []string{j("a", "chain"), j("b", "mid"), j("c", "feed.txt")}},
		{"a link to a directory on the way", j("dirlink", "feed.txt"), []string{j("dirlink"), j("c", "feed.txt")}},
		{"a dangling link", j("a", "dangling"), []string{j("a", "dangling"), j("c", "gone.txt")}},
		{"a missing directory on the way", j("x", "y", "feed.txt"), []string{j("x")}},
		{"a loop of links", j("a", "loop1"), []string{j("a", "loop1"), j("a", "loop2")}},
		// ".." after a link leaves the link's target, as the kernel reads
		// it, not the link's directory: root/deep/feed.txt, not
		// root/feed.txt (filepath.Join or Clean would make it the latter).
		{"a .. after a link to a directory", root + sep + "deeplink" + sep + ".." + sep + "feed.txt", []string{j("deeplink"), j("deep", "feed.txt")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolveWatch(tt.path)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("resolveWatch(%s)\n got %q\nwant %q", tt.path, got, want)
			}
		})
	}
	t.Run("a relative path with a .. after a link", func(t *testing.T) {
		t.Chdir(root)
		rel := "deeplink" + sep + ".." + sep + "feed.txt"
		got := resolveWatch(rel)
		slices.Sort(got)
		if want := []string{j("deep", "feed.txt"), j("deeplink")}; !slices.Equal(got, want) {
			t.Errorf("resolveWatch(%s) in %s\n got %q\nwant %q", rel, root, got, want)
		}
	})
}

// A directory being watched that is replaced — removed and made again,
// or renamed away and another renamed in its place, by a deployment tool
// or rsync — takes its watch with it. The feed is read from the new
// directory and the new directory is watched: later changes there reload
// the feed without waiting for a file poll.
func TestAFeedWhoseDirectoryIsReplacedIsStillWatched(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the feed's path and the directory replace
		// replaces: the file's, or, behind a link, its target's.
		setup func(t *testing.T, root string) (path, dir string)
		// replace puts a new dir in place of dir, holding content.
		replace func(t *testing.T, dir, content string)
	}{
		{"a plain path, its directory removed and made again", plainPath, remake},
		{"a plain path, its directory renamed away and another renamed in", plainPath, renameIn},
		{"a link, its target's directory removed and made again", linkedPath, remake},
		{"a link, its target's directory renamed away and another renamed in", linkedPath, renameIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dir := tt.setup(t, t.TempDir())
			writeFile(t, filepath.Join(dir, "feed.txt"), "203.0.113.7\n")
			// A debounce far longer than the replace takes: the directory
			// is back before the feed is read again.
			h, _ := newHarness(t, Options{Feeds: []Spec{fileSpec("c2", path)}, Debounce: 100 * time.Millisecond, FilePoll: -1})
			h.runWatching("c2")
			tt.replace(t, dir, "198.51.100.9\n")
			h.nextWhere(func(u *Update) bool { return matches(u.Index, "198.51.100.9", time.Time{}) })
			writeFile(t, filepath.Join(dir, "feed.txt"), "198.51.100.9\n198.51.100.10\n")
			h.nextWhere(func(u *Update) bool { return matches(u.Index, "198.51.100.10", time.Time{}) })
		})
	}
}

// plainPath is a feed path with no link: root/feeds/feed.txt.
func plainPath(t *testing.T, root string) (string, string) {
	dir := mkdir(t, filepath.Join(root, "feeds"))
	return filepath.Join(dir, "feed.txt"), dir
}

// linkedPath is a feed path that is a link, root/etc/current, to
// root/data/feeds/feed.txt.
func linkedPath(t *testing.T, root string) (string, string) {
	dir := mkdir(t, filepath.Join(root, "data", "feeds"))
	link := filepath.Join(mkdir(t, filepath.Join(root, "etc")), "current")
	symlink(t, filepath.Join(dir, "feed.txt"), link)
	return link, dir
}

// remake removes dir and makes it again with a feed.txt of content.
func remake(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	mkdir(t, dir)
	writeFile(t, filepath.Join(dir, "feed.txt"), content)
}

// renameIn renames dir away and renames a new directory with a feed.txt
// of content in its place.
func renameIn(t *testing.T, dir, content string) {
	t.Helper()
	next := mkdir(t, dir+".next")
	writeFile(t, filepath.Join(next, "feed.txt"), content)
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
}
