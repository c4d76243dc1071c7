package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/match/feed"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/history"
)

// historyWiring ties the retro-hunt history (stream/history) into `run`:
// the pipeline records into it, every feed reload is retro-hunted, and the
// alerts go through the sink stack. A nil *historyWiring (history not
// enabled) is valid: every method does nothing.
//
// In run.go, in this order:
//
//	hw, err := openHistory(cfg, log)                               // before startFeeds
//	feeds, err := startFeeds(ctx, cfg, ex, &holder, log, hw.onUpdate)
//	out, err := buildSinks(cfg, env, log)
//	hw.start(out, &holder, feeds.m.Current(), log)                 // hunts the values new since the last run
//	opt.OnEvents = hw.onEvents()
//	closeErr := closeWithin(30*time.Second, hw.close, src.Close, out.Close, closeDL) // hw before out
type historyWiring struct {
	hist *history.History

	mu      sync.Mutex
	hunter  *history.Hunter
	pending []pendingHunt // reloads before start
}

// openHistory opens the history the config enables (nil when disabled).
// Its directory is history.path; retention and max_mib bound it.
func openHistory(cfg *config.Config, log *slog.Logger) (*historyWiring, error) {
	if !cfg.History.Enabled {
		return nil, nil
	}
	h, err := history.Open(history.Options{
		Dir:       cfg.History.Path,
		Retention: cfg.History.Retention,
		MaxBytes:  int64(cfg.History.MaxMiB) << 20,
		Log:       log,
	})
	if err != nil {
		return nil, err
	}
	st := h.Stats()
	log.Info("history opened", "dir", cfg.History.Path, "observations", st.Observations, "segments", st.Segments,
		"bytes", st.Bytes, "oldest", st.Oldest, "newest", st.Newest)
	return &historyWiring{hist: h}, nil
}

// onEvents is the pipeline's OnEvents hook (nil when disabled).
func (w *historyWiring) onEvents() func([]stream.Event) {
	if w == nil {
		return nil
	}
	return w.hist.Record
}

// onUpdate is the feed manager's reload callback: the reload's added
// indicators are queued for a retro-hunt. It only queues.
func (w *historyWiring) onUpdate(u *feed.Update) {
	if w == nil || u == nil {
		return
	}
	w.submit(u.Index, u.Added(), u.At)
}

// submit queues added for a retro-hunt, present being the index they are
// in; before start they wait in pending.
func (w *historyWiring) submit(present *match.Index, added []*match.Indicator, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hunter == nil {
		w.pending = append(w.pending, pendingHunt{present, added, at})
		return
	}
	w.hunter.Submit(present, added, at)
}

// pendingHunt is a submit made before start.
type pendingHunt struct {
	present *match.Index
	added   []*match.Indicator
	at      time.Time
}

// start starts the retro-hunter: alerts go to out (the sink stack, with
// its suppression), the allow-list and exclusions are those holder holds
// at each hunt. first is the update the feeds loaded with (its Added is
// every indicator: only the values new since the last run are hunted).
func (w *historyWiring) start(out sink.Sink, holder *atomic.Pointer[stream.Rules], first *feed.Update, log *slog.Logger) error {
	if w == nil {
		return nil
	}
	hu, err := history.NewHunter(w.hist, history.HunterOptions{
		Rules: func() (*match.Index, *match.Exclusions) {
			r := holder.Load()
			if r == nil {
				return nil, nil
			}
			return r.Allow, r.Exclusions
		},
		Emit: func(a []sink.Alert) error { return out.Write(context.Background(), a) },
		Log:  log,
	})
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hunter = hu
	if first != nil {
		hu.Submit(first.Index, first.Added(), first.At)
	}
	for _, p := range w.pending {
		hu.Submit(p.present, p.added, p.at)
	}
	w.pending = nil
	return nil
}

// close stops the hunter (a hunt in progress is cancelled and runs again
// after the next start) and closes the history. Call it before the sinks
// close.
func (w *historyWiring) close(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	hu := w.hunter
	w.mu.Unlock()
	var err error
	if hu != nil {
		err = hu.Close(ctx)
	}
	if cerr := w.hist.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

// windowFlags are replay's --since and --until.
//
// In replay.go:
//
//	var win windowFlags
//	win.register(fs)                                  // with the other flags
//	src, err := win.wrap(fileSrc, time.Now())         // after newFileSource; use src in stream.New
//	win.summary(env.stderr)                           // after printReplaySummary
type windowFlags struct {
	since, until string
	ws           *history.WindowSource
}

func (w *windowFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.since, "since", "", "replay only events at or after this `time`: a duration back from now (24h, 7d) or RFC 3339")
	fs.StringVar(&w.until, "until", "", "replay only events before this `time`: a duration back from now or RFC 3339")
}

// wrap returns src filtered to the window, or src itself when no bound was
// given. A bad bound is a usage error.
func (w *windowFlags) wrap(src stream.Source, now time.Time) (stream.Source, error) {
	win, err := history.ParseWindow(w.since, w.until, now)
	if err != nil {
		return nil, usageError{err}
	}
	if win.Open() {
		return src, nil
	}
	w.ws = history.NewWindowSource(src, win)
	return w.ws, nil
}

// summary prints how many events the window left out, if it was used.
func (w *windowFlags) summary(out io.Writer) {
	if w.ws == nil {
		return
	}
	st := w.ws.Stats()
	undated := ""
	if n := st.Undated.Load(); n > 0 {
		undated = fmt.Sprintf(", %d without a timestamp kept", n)
	}
	fmt.Fprintf(out, "time window: %d events inside, %d outside left out%s\n", st.Kept.Load(), st.Filtered.Load(), undated)
}
