package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/match/feed"
	"github.com/iocwatch/iocwatch/stream"
)

// feedRuntime keeps the feeds of `run` fresh: file watches, polling
// intervals and SIGHUP, each change swapped into the pipeline's rules. It
// is safe for concurrent use; Close is safe twice.
type feedRuntime struct {
	m      *feed.Manager
	report *loadReport // the first load
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// startFeeds loads every feed the config names, stores the first Rules in
// holder (with ex, the config's compiled exclusions, carried into every
// Rules), and
// keeps reloading in the background until ctx is done or Close is
// called: a watched file that changes, an http or taxii feed at its
// interval, everything on SIGHUP. Each new index is built beside the
// current one and swapped into holder in one atomic store; batches in
// flight finish on the old one. A feed that fails keeps its last good
// indicators and is logged. The error is for a config that cannot be used
// or a first index that cannot be built.
//
// onUpdate, if not nil, is called after every swap (not for the first
// load) with the reload's update, whose Added lists the new indicators.
func startFeeds(ctx context.Context, cfg *config.Config, ex *match.Exclusions, holder *atomic.Pointer[stream.Rules], log *slog.Logger, onUpdate func(*feed.Update)) (*feedRuntime, error) {
	opt := feedOptions(cfg)
	opt.ReloadCPU = reloadCPU(cfg)
	opt.Log = log
	opt.OnUpdate = func(u *feed.Update) {
		holder.Store(&stream.Rules{Index: u.Index, Allow: u.Allow, Exclusions: ex})
		if onUpdate != nil {
			onUpdate(u)
		}
	}
	m, err := feed.New(opt)
	if err != nil {
		return nil, usageError{err}
	}
	// SIGHUP is caught from before the first load, which can take minutes
	// with remote feeds: a `systemctl reload` meanwhile is a reload once
	// the feeds are in, not the signal's default, the end of the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	u, err := m.Load(ctx)
	if err != nil {
		signal.Stop(hup)
		m.Close()
		return nil, err
	}
	now := time.Now()
	rt := &feedRuntime{m: m, report: reportOf(m.Status(), now)}
	if err := unreadableFeedFiles(rt.report); err != nil {
		signal.Stop(hup)
		m.Close()
		return nil, err
	}
	rules := &stream.Rules{Index: u.Index, Allow: u.Allow, Exclusions: ex}
	holder.Store(rules)
	rt.report.indexKind = u.Index.Counts()
	rt.report.warnings = rulesWarnings(rules, cfg.Match.PatternWarn, now)
	for _, f := range rt.report.all() {
		switch {
		case f.err != nil && f.total == 0:
			log.Error("feed failed to load; starting without it", "feed", f.name, "err", f.err)
		case f.err != nil:
			log.Warn("feed source failed; starting from its cached copy", "feed", f.name, "indicators", f.total, "cached_at", f.dataTime, "err", f.err)
		case len(f.notes) > 0:
			log.Info("feed loaded", "feed", f.name, "format", f.format, "indicators", f.total, "refused", len(f.refused), "notes", f.notes)
		default:
			log.Info("feed loaded", "feed", f.name, "format", f.format, "indicators", f.total, "refused", len(f.refused))
		}
	}
	for _, w := range rt.report.warnings {
		log.Warn(w)
	}
	if u.Index.Len() == 0 {
		log.Warn("no indicators loaded: nothing can alert until a feed loads")
	}

	runCtx, cancel := context.WithCancel(ctx)
	rt.cancel = cancel
	rt.wg.Add(2)
	go func() {
		defer rt.wg.Done()
		if err := m.Run(runCtx); err != nil {
			log.Error("feed manager stopped", "err", err)
		}
	}()
	go func() {
		defer rt.wg.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading every feed")
				rt.reload(runCtx, log)
			}
		}
	}()
	return rt, nil
}

// reloadCPU maps feed_reload_cpu to feed.Options.ReloadCPU: 1 (no pacing)
// is 1 there too, and an unset value (a Config built in code) the default.
func reloadCPU(cfg *config.Config) float64 {
	if cfg.FeedReloadCPU <= 0 {
		return feed.DefaultReloadCPU
	}
	return cfg.FeedReloadCPU
}

// reload re-reads every feed (SIGHUP) and logs the outcome.
func (rt *feedRuntime) reload(ctx context.Context, log *slog.Logger) {
	u, err := rt.m.Reload(ctx)
	if err != nil {
		log.Warn("reload: some feeds failed and keep their last good indicators", "err", err)
	}
	if u == nil {
		log.Info("reload: no feed changed")
	}
}

// Report is the state of every feed after the first load.
func (rt *feedRuntime) Report() *loadReport { return rt.report }

// Status is the live state of every feed (for the status page and metrics).
func (rt *feedRuntime) Status() []feed.Status { return rt.m.Status() }

// Confirm accepts the content the shrink guard holds back for a feed.
func (rt *feedRuntime) Confirm(name string) error {
	if _, err := rt.m.Confirm(name); err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	return nil
}

// Close stops watching and polling and waits for the goroutines to end.
// The rules in holder stay as they are.
func (rt *feedRuntime) Close() {
	rt.once.Do(func() {
		rt.cancel()
		rt.wg.Wait()
		rt.m.Close()
	})
}
