package feed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// maxDebounceWait bounds, in debounce periods, how long a directory that
// never stops changing waits before its files are read.
const maxDebounceWait = 10

// watcher watches the directories of file feeds — not the files, so that
// an editor's atomic rename, `mv` over the file and a Kubernetes ConfigMap
// symlink swap are all seen — and refreshes the feeds an event concerns
// once the events of their directory have been quiet for the debounce
// period. A feed's path is followed through its symlinks (resolveWatch):
// the directory of every link on the way is watched, for the link being
// swapped, and so is the directory of the file it resolves to, for that
// file being changed. An event concerns a feed when it names one of
// those paths: other files of the directories — a log, an alert file,
// dead letters — do not make the feed be read again. A feed is resolved
// again before each refresh by the watcher, so a swapped link is
// followed to its new target, and directories no feed needs any more are
// no longer watched.
type watcher struct {
	m     *Manager
	w     *fsnotify.Watcher
	files []*feedState
	// names holds, per feed, resolveWatch of its path when last resolved.
	names map[*feedState][]string
	// dirs are the directories watched, each with the feeds that have a
	// name in it.
	dirs map[string][]*feedState
	// warned are the directories that could not be watched and were
	// reported, so that a failure is logged once.
	warned map[string]bool
}

// maxLinks bounds the symlinks followed in resolving one path (Linux's
// limit): a loop of links ends there.
const maxLinks = 40

// resolveWatch returns the absolute paths whose change may change what
// reading path gives, each in its directory as resolved (no symlink in
// their directories, so that they are the names events carry): every
// symlink met in resolving path, in any of its components, and the file
// it resolves to. When an entry on the way is missing (or cannot be
// looked at), that entry is the last: its creation is the change to
// watch for. A loop of links gives the links of the loop. A ".." is
// resolved as the kernel does, after the links before it: it leaves a
// link's target, not the link's directory. It returns nil when path has
// no absolute form.
func resolveWatch(path string) []string {
	abs := path
	switch {
	case filepath.IsAbs(path):
	case filepath.VolumeName(path) != "" || strings.HasPrefix(path, string(filepath.Separator)):
		// "C:feed.txt", `\feeds\feed.txt` (Windows): only Abs knows
		// their directory.
		var err error
		if abs, err = filepath.Abs(path); err != nil {
			return nil
		}
	default:
		wd, err := os.Getwd()
		if err != nil {
			return nil
		}
		// Not filepath.Join or Abs: they clean "link/.." away, which the
		// kernel reads as the parent of the link's target.
		abs = wd + string(filepath.Separator) + path
	}
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	root := func(p string) (string, []string) {
		vol := filepath.VolumeName(p)
		return vol + string(filepath.Separator), splitPath(p[len(vol):])
	}
	dest, rest := root(abs) // dest: resolved so far, rest: still to resolve
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".":
			continue
		case "..":
			dest = filepath.Dir(dest)
			continue
		}
		next := filepath.Join(dest, c)
		fi, err := os.Lstat(next)
		if err != nil {
			add(next)
			return names
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			dest = next
			continue
		}
		add(next)
		if links++; links > maxLinks {
			return names
		}
		target, err := os.Readlink(next)
		if err != nil {
			return names
		}
		var more []string
		if filepath.IsAbs(target) {
			dest, more = root(target)
		} else {
			more = splitPath(target)
		}
		rest = append(more, rest...)
	}
	add(dest)
	return names
}

// splitPath returns the names of the components of p.
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r < 0x80 && os.IsPathSeparator(uint8(r)) })
}

// concerns reports whether an event on name may change the feed fs.
func (wt *watcher) concerns(fs *feedState, name string) bool {
	return slices.Contains(wt.names[fs], name)
}

func newWatcher(m *Manager, files []*feedState) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	wt := &watcher{m: m, w: fw, files: files, names: map[*feedState][]string{}, dirs: map[string][]*feedState{}, warned: map[string]bool{}}
	errs := wt.resolve(files)
	if len(wt.dirs) == 0 {
		fw.Close()
		return nil, errors.Join(append(errs, errors.New("no feed directory could be watched"))...)
	}
	if len(errs) > 0 {
		m.log.Warn("some feed directories cannot be watched; their files are re-checked every file poll and on reload", "err", errors.Join(errs...))
	}
	return wt, nil
}

// resolve resolves the paths of feeds again (resolveWatch), watches the
// directories their names are in and stops watching those no feed needs
// any more. It returns the errors of directories that cannot be watched,
// each reported once (a directory missing by now is not an error: its
// creation is an event of its parent, watched).
//
// Every directory needed is added again, watched or not: a directory
// removed or renamed away took its watch with it, and the one made or
// renamed in its place has none. For a directory still watched, adding it
// again changes nothing.
func (wt *watcher) resolve(feeds []*feedState) []error {
	for _, fs := range feeds {
		wt.names[fs] = resolveWatch(fs.spec.Path)
	}
	dirs := map[string][]*feedState{}
	for _, fs := range wt.files {
		for _, n := range wt.names[fs] {
			if d := filepath.Dir(n); !slices.Contains(dirs[d], fs) {
				dirs[d] = append(dirs[d], fs)
			}
		}
	}
	var errs []error
	for d := range dirs {
		if err := wt.w.Add(d); err != nil {
			delete(dirs, d)
			if !errors.Is(err, os.ErrNotExist) && !wt.warned[d] {
				wt.warned[d] = true
				errs = append(errs, fmt.Errorf("watch %s: %w", d, err))
			}
			continue
		}
		delete(wt.warned, d)
	}
	for d := range wt.dirs {
		if _, ok := dirs[d]; !ok {
			_ = wt.w.Remove(d) // an error: the directory is gone, and its watch with it
		}
	}
	wt.dirs = dirs
	return errs
}

// run handles events until ctx is done, then closes the watcher.
func (wt *watcher) run(ctx context.Context) {
	defer wt.w.Close()
	debounce := wt.m.opt.Debounce
	first := map[string]time.Time{} // dir → first event of the burst
	last := map[string]time.Time{}  // dir → last event
	due := map[*feedState]bool{}    // feeds an event of the burst concerns
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	arm := func() {
		if len(last) == 0 {
			return
		}
		var due time.Time
		for dir, l := range last {
			d := l.Add(debounce)
			if cap := first[dir].Add(maxDebounceWait * debounce); cap.Before(d) {
				d = cap
			}
			if due.IsZero() || d.Before(due) {
				due = d
			}
		}
		timer.Reset(max(time.Until(due), 0))
	}
	mark := func(dir string, feeds ...*feedState) {
		for _, fs := range feeds {
			due[fs] = true
		}
		now := time.Now()
		if _, ok := first[dir]; !ok {
			first[dir] = now
		}
		last[dir] = now
	}
	// A change between Load and the watches being set up has no event:
	// check every directory once.
	for dir, feeds := range wt.dirs {
		mark(dir, feeds...)
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wt.w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			name := filepath.Clean(ev.Name)
			dir := dirOf(name)
			var feeds []*feedState
			for _, fs := range wt.dirs[dir] {
				if wt.concerns(fs, name) {
					feeds = append(feeds, fs)
				}
			}
			if len(feeds) > 0 {
				mark(dir, feeds...)
				arm()
			}
			// An event naming a watched directory itself (from its own
			// watch or its parent's): it was removed or renamed away, and
			// its watch with it. Its feeds are resolved again, which
			// watches the directory now in its place.
			if feeds := wt.dirs[name]; len(feeds) > 0 {
				mark(name, feeds...)
				arm()
			}
		case err, ok := <-wt.w.Errors:
			if !ok {
				return
			}
			wt.m.log.Warn("feed file watch error; re-checking every feed file", "err", err)
			for dir, feeds := range wt.dirs {
				mark(dir, feeds...)
			}
			arm()
		case <-timer.C:
			now := time.Now()
			var feeds []*feedState
			for dir, l := range last {
				if now.Sub(l) < debounce && now.Sub(first[dir]) < maxDebounceWait*debounce {
					continue
				}
				delete(first, dir)
				delete(last, dir)
				for _, fs := range wt.dirs[dir] {
					if due[fs] {
						delete(due, fs)
						feeds = append(feeds, fs)
					}
				}
			}
			if len(feeds) > 0 {
				// Resolved before they are read: a change of the new
				// target after its watch is set is an event, one before
				// is read now.
				if errs := wt.resolve(feeds); len(errs) > 0 {
					wt.m.log.Warn("some feed directories cannot be watched; their files are re-checked every file poll and on reload", "err", errors.Join(errs...))
				}
				changed := false
				for _, fs := range feeds {
					c, _ := wt.m.refresh(ctx, fs, trigWatch)
					changed = changed || c
				}
				if changed && ctx.Err() == nil {
					wt.m.rebuildLogged(ctx, "file change")
				}
			}
			arm()
		}
	}
}

// dirOf is filepath.Dir, named for what it is used for: the watched
// directory an event's path belongs to.
func dirOf(name string) string { return filepath.Dir(name) }
