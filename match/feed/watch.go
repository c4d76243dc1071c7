package feed

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// maxDebounceWait bounds, in debounce periods, how long a directory that
// never stops changing waits before its files are read.
const maxDebounceWait = 10

// watcher watches the directories of file feeds — not the files, so that
// an editor's atomic rename, `mv` over the file and a Kubernetes ConfigMap
// symlink swap are all seen — and refreshes the feeds of a directory once
// its events have been quiet for the debounce period.
type watcher struct {
	m    *Manager
	w    *fsnotify.Watcher
	dirs map[string][]*feedState
}

func newWatcher(m *Manager, files []*feedState) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	wt := &watcher{m: m, w: fw, dirs: map[string][]*feedState{}}
	for _, fs := range files {
		if fs.dir != "" {
			wt.dirs[fs.dir] = append(wt.dirs[fs.dir], fs)
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
	mark := func(dir string) {
		now := time.Now()
		if _, ok := first[dir]; !ok {
			first[dir] = now
		}
		last[dir] = now
	}
	// A change between Load and the watches being set up has no event:
	// check every directory once.
	for dir := range wt.dirs {
		mark(dir)
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
			if _, watched := wt.dirs[dir]; watched {
				mark(dir)
				arm()
			}
		case err, ok := <-wt.w.Errors:
			if !ok {
				return
			}
			wt.m.log.Warn("feed file watch error; re-checking every feed file", "err", err)
			for dir := range wt.dirs {
				mark(dir)
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
