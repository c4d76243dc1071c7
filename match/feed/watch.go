package feed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// period. An event concerns a feed when it names the feed's file, or, when
// the feed's path is a symlink, any entry of the directory (a ConfigMap
// swaps "..data", not the file): other files of the directory — a log, an
// alert file, dead letters — do not make the feed be read again.
type watcher struct {
	m    *Manager
	w    *fsnotify.Watcher
	dirs map[string][]*feedState
	// link: the feed's path was a symlink when last looked at (at the
	// start and at every refresh by the watcher). A change of the path
	// itself is an event that names it, so it is looked at again then.
	link map[*feedState]bool
}

// isLink reports whether path is a symlink now.
func isLink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

// concerns reports whether an event on name may change the feed fs.
func (wt *watcher) concerns(fs *feedState, name string) bool {
	return wt.link[fs] || filepath.Base(name) == filepath.Base(fs.spec.Path)
}

func newWatcher(m *Manager, files []*feedState) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	wt := &watcher{m: m, w: fw, dirs: map[string][]*feedState{}, link: map[*feedState]bool{}}
	for _, fs := range files {
		if fs.dir != "" {
			wt.dirs[fs.dir] = append(wt.dirs[fs.dir], fs)
			wt.link[fs] = isLink(fs.spec.Path)
		}
	}
	var errs []error
	for dir := range wt.dirs {
		if err := fw.Add(dir); err != nil {
			errs = append(errs, fmt.Errorf("watch %s: %w", dir, err))
			delete(wt.dirs, dir)
		}
	}
	if len(wt.dirs) == 0 {
		fw.Close()
		return nil, errors.Join(append(errs, errors.New("no feed directory could be watched"))...)
	}
	if len(errs) > 0 {
		m.log.Warn("some feed directories cannot be watched; their files are re-checked every file poll and on reload", "err", errors.Join(errs...))
	}
	return wt, nil
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
			dir := dirOf(ev.Name)
			var feeds []*feedState
			for _, fs := range wt.dirs[dir] {
				if wt.concerns(fs, ev.Name) {
					feeds = append(feeds, fs)
				}
			}
			if len(feeds) > 0 {
				mark(dir, feeds...)
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
			changed := false
			for dir, l := range last {
				if now.Sub(l) < debounce && now.Sub(first[dir]) < maxDebounceWait*debounce {
					continue
				}
				delete(first, dir)
				delete(last, dir)
				for _, fs := range wt.dirs[dir] {
					if !due[fs] {
						continue
					}
					delete(due, fs)
					wt.link[fs] = isLink(fs.spec.Path)
					c, _ := wt.m.refresh(ctx, fs, trigWatch)
					changed = changed || c
				}
			}
			if changed && ctx.Err() == nil {
				wt.m.rebuildLogged(ctx, "file change")
			}
			arm()
		}
	}
}

// dirOf is filepath.Dir, named for what it is used for: the watched
// directory an event's path belongs to.
func dirOf(name string) string { return filepath.Dir(name) }
