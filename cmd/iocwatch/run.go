package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/stream"
)

const runUsage = `run -c FILE [flags]
       run --feed FILE... [--exclusions FILE] [EVENTS... | -]

Watches the source the config names (file, stdin, kafka or eventhubs) and
delivers alerts to its sinks until interrupted (SIGINT or SIGTERM: reading
stops, in-flight batches finish, sinks flush, delivered batches are
acknowledged). Without a config, it reads EVENTS (or stdin) and prints
alerts as JSON lines.`

func cmdRun(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "run", runUsage)
	var common commonFlags
	common.register(fs)
	follow := fs.Bool("follow", false, "keep reading files as they grow (tail -f)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := common.loadConfig()
	if err != nil {
		return err
	}
	paths := fs.Args()
	if common.configPath == "" && len(paths) == 0 {
		paths = []string{"-"}
	}
	if *follow {
		cfg.Source.File.Follow = true
	}
	log := newLogger(env.stderr, cfg)
	rules, rep, err := loadRules(cfg, time.Now())
	if err != nil {
		return err
	}
	for _, f := range rep.feeds {
		if f.err != nil {
			log.Error("feed failed to load; starting without it", "feed", f.name, "err", f.err)
			continue
		}
		log.Info("feed loaded", "feed", f.name, "format", f.format, "indicators", f.total, "refused", len(f.refused))
	}
	for _, w := range rep.warnings {
		log.Warn(w)
	}
	if rules.Index.Len() == 0 {
		log.Warn("no indicators loaded: nothing can alert")
	}

	src, err := openSource(ctx, cfg, paths, env, log)
	if err != nil {
		return err
	}
	out, err := buildSinks(cfg, env, log)
	if err != nil {
		src.Close(context.Background())
		return err
	}
	dl, closeDL, err := openDeadLetter(cfg, log)
	if err != nil {
		src.Close(context.Background())
		out.Close(context.Background())
		return err
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	p := stream.New(src, &holder, out, stream.Options{
		Workers:         cfg.Pipeline.Workers,
		InFlight:        cfg.Pipeline.InFlight,
		MaxMessageBytes: cfg.Pipeline.MaxMessageBytes,
		Ordered:         cfg.Source.Type == "file" || cfg.Source.Type == "stdin",
		DeadLetter:      dl,
		Log:             log,
	})
	log.Info("watching", "source", cfg.Source.Type, "indicators", rules.Index.Len(), "sinks", len(cfg.Sinks))
	runErr := p.Run(ctx)
	st := p.Stats()
	closeErr := closeWithin(30*time.Second, src.Close, out.Close, closeDL)
	log.Info("stopped", "records", st.Records.Load(), "alerts", st.Alerts.Load(), "excluded", st.Excluded.Load(), "decode_errors", st.DecodeErrors.Load())
	if runErr != nil {
		return runErr
	}
	if closeErr != nil {
		return fmt.Errorf("shutdown: %w", closeErr)
	}
	return nil
}
