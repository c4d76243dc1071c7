package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/stream"
)

const runUsage = `run -c FILE [flags]
       run --feed FILE... [--exclusions FILE] [EVENTS... | -]

Watches the source the config names (file, stdin, kafka or eventhubs) and
delivers alerts to its sinks until interrupted (SIGINT or SIGTERM: reading
stops, in-flight batches finish, sinks flush, delivered batches are
acknowledged). Without a config, it reads EVENTS (or stdin) and prints
alerts as JSON lines. EVENTS given with a config replace its source: they
are read as a file source is, in order.`

func cmdRun(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs := newFlagSet(env, "run", runUsage)
	var common commonFlags
	common.register(fs)
	follow := fs.Bool("follow", false, "keep reading the last file as it grows, across rotation and truncation (tail -F)")
	metricsListen := fs.String("metrics-listen", "", "`ADDR` (host:port) of /metrics, /healthz and the status page instead of the config's metrics.listen (default 127.0.0.1:9464); off: none, so that a second ad-hoc run does not compete for the port")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkMetricsListen(*metricsListen); err != nil {
		return err
	}
	cfg, err := common.loadConfig()
	if err != nil {
		return err
	}
	defer func() { err = redactError(err, cfg) }() // a peer may have echoed a secret into it
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "metrics-listen" {
			return
		}
		if *metricsListen == "off" || *metricsListen == "" {
			cfg.Metrics.Enabled = false
		} else {
			cfg.Metrics.Enabled, cfg.Metrics.Listen = true, *metricsListen
		}
	})
	paths := fs.Args()
	if common.configPath == "" && len(paths) == 0 {
		paths = []string{"-"}
	}
	sourceFromPaths(cfg, paths)
	if *follow {
		cfg.Source.File.Follow = true
	}
	// Exclusions are part of the config: a bad one stops run before the
	// ops listener or the history is opened.
	ex, err := compileExclusions(cfg)
	if err != nil {
		return usageError{err}
	}
	log := newLogger(env.stderr, cfg)
	o, err := startOps(cfg, log) // /healthz answers while the feeds load
	if err != nil {
		return err
	}
	defer o.close()
	hw, err := openHistory(cfg, log) // nil when history is disabled
	if err != nil {
		return err
	}
	var holder atomic.Pointer[stream.Rules]
	feeds, err := startFeeds(ctx, cfg, ex, &holder, log, hw.onUpdate)
	if err != nil {
		hw.close(context.Background())
		return err
	}
	defer feeds.Close()
	rules := holder.Load()

	src, err := openSource(ctx, cfg, paths, env, log)
	if err != nil {
		return err
	}
	out, err := buildSinks(cfg, env, log)
	if err != nil {
		src.Close(context.Background())
		return err
	}
	if err := hw.start(out, &holder, feeds.m.Current(), log); err != nil {
		src.Close(context.Background())
		out.Close(context.Background())
		return err
	}
	dl, closeDL, err := openDeadLetter(cfg, log)
	if err != nil {
		src.Close(context.Background())
		out.Close(context.Background())
		return err
	}
	dlFailure, err := stream.ParseDeadLetterFailure(cfg.Pipeline.DeadLetterFailure)
	if err != nil {
		src.Close(context.Background())
		out.Close(context.Background())
		closeDL(context.Background())
		return usagef("pipeline.dead_letter_failure: %w", err)
	}
	onExcluded, closeAudit, err := openExclusionAudit(cfg, log)
	if err != nil {
		src.Close(context.Background())
		out.Close(context.Background())
		closeDL(context.Background())
		return err
	}
	opt := stream.Options{
		Workers:              cfg.Pipeline.Workers,
		InFlight:             cfg.Pipeline.InFlight,
		MaxMessageBytes:      cfg.Pipeline.MaxMessageBytes,
		MaxRecordsPerMessage: cfg.Pipeline.MaxRecordsPerMessage,
		Ordered:              cfg.Source.Type == "file" || cfg.Source.Type == "stdin",
		DeadLetter:           dl,
		DeadLetterFailure:    dlFailure,
		OnExcluded:           onExcluded,
		OnDecodeError:        decodeErrorLogger(log, dl != nil),
		Log:                  log,
		DrainTimeout:         shutdownBudget - closeReserve,
	}
	opt.OnEvents = hw.onEvents()
	o.watch(&opt, &holder, src, out, o.liveFeeds(feeds))
	p := stream.New(src, &holder, out, opt)
	o.attach(p)
	log.Info("watching", "version", describeBuild().Version, "source", sourceName(cfg, paths), "indicators", rules.Index.Len(), "sinks", len(cfg.Sinks))
	var stopping atomic.Int64 // when the shutdown began (Unix ns), 0 before
	stopLog := context.AfterFunc(ctx, func() {
		stopping.Store(time.Now().UnixNano())
		log.Info(fmt.Sprintf("stopping: reading stopped; batches in flight finish and the sinks flush, within %s in all (a second signal stops at once)", shutdownBudget))
	})
	runErr := p.Run(ctx)
	o.pipelineStopped(runErr)
	stopLog()
	st := p.Stats()
	// One budget for the whole shutdown: what draining the batches in
	// flight took is not given again to closing the sinks.
	budget := shutdownBudget
	if at := stopping.Load(); at != 0 {
		budget = max(closeReserve, shutdownBudget-time.Since(time.Unix(0, at)))
	}
	closeErr := closeWithin(budget, hw.close, src.Close, out.Close, closeDL, closeAudit)
	stopped := []any{"records", st.Records.Load(), "alerts", st.Alerts.Load(), "excluded", st.Excluded.Load(), "decode_errors", st.DecodeErrors.Load()}
	if _, sup := sinkParts(out); sup != nil {
		// What suppression held back, so that the alerts the sinks got
		// can be told from the alerts matched.
		if c := sup.Counts(); c.Repeats != 0 || c.Duplicates != 0 {
			stopped = append(stopped, "repeats_held_back", c.Repeats, "summaries_sent", c.SummariesSent,
				"duplicates_dropped", c.Duplicates, "alerts_to_sinks", alertsToSinks(st.Alerts.Load(), c))
		}
	}
	log.Info("stopped", stopped...)
	if runErr != nil && stopping.Load() != 0 && errors.Is(runErr, context.Canceled) {
		// The shutdown budget ran out with batches in flight: say what
		// becomes of them.
		runErr = fmt.Errorf("stopped with %d batches read but not delivered (the %s shutdown budget ran out): they are not acknowledged, so a Kafka or Event Hubs source reads them again at the next start — a file or stdin source does not: %w",
			st.Batches.Load()-st.Acked.Load(), shutdownBudget, runErr)
	}
	if runErr != nil {
		return refusalHint(runErr, cfg)
	}
	if closeErr != nil {
		return fmt.Errorf("shutdown: %w", closeErr)
	}
	return nil
}

// shutdownBudget bounds a graceful stop of run: the batches in flight
// finishing (stream.Options.DrainTimeout) and the sinks flushing, in all.
var shutdownBudget = 30 * time.Second // a variable for tests

// closeReserve is the part of shutdownBudget kept for closing the sinks
// when the batches in flight took the rest.
const closeReserve = 2 * time.Second

// sourceFromPaths makes the files (or stdin) named on the command line
// the config's source, which they replace: what depends on the source's
// kind — ordered delivery, the metrics' source label, the readiness
// checks — then follows what is read, not the config's Kafka or Event
// Hubs block. Without paths, cfg is left as it is.
func sourceFromPaths(cfg *config.Config, paths []string) {
	if len(paths) > 0 {
		cfg.Source.Type = sourceName(cfg, paths)
	}
}

// sourceName names the source run reads for its log: the config's, or
// the files (or stdin) named on the command line, which replace it.
func sourceName(cfg *config.Config, paths []string) string {
	switch {
	case len(paths) == 0:
		return cfg.Source.Type
	case len(paths) == 1 && paths[0] == "-":
		return "stdin"
	default:
		return "file"
	}
}
