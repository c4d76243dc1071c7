package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

const demoUsage = `demo [--port 9092] [--rate 2000] [--json] [--duration D]

Zero set-up: starts an in-process Kafka broker on 127.0.0.1, a generator
producing a live Defender stream with a few C2 beacons and some excluded
look-alikes, loads the shipped sample feed and the example exclusions, and
runs the watcher as a consumer-group member. Alerts print as they happen, a
status line every few seconds. Runs until Ctrl-C or --duration.`

const demoTopic = "defender"

func cmdDemo(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "demo", demoUsage)
	port := fs.Int("port", 9092, "broker `port` on 127.0.0.1 (a free port is picked when it is taken)")
	rate := fs.Float64("rate", 2000, "generated records per second")
	hitRatio := fs.Float64("hit-ratio", 0.0005, "fraction of generated records that contact an indicator")
	jsonOut := fs.Bool("json", false, "print alerts as JSON lines instead of readable lines")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	seed := fs.Int64("seed", 0, "generator `seed` (0: a new one each run, printed at the start)")
	statusEvery := fs.Duration("status", 5*time.Second, "status line `interval`")
	window := fs.Duration("window", 10*time.Minute, "suppress repeats of one device × indicator within this `window` (0: off)")
	plantedPath := fs.String("planted", "", "also write the planted hits to this JSON-lines `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkDemoFlags(fs.Args(), *port, *rate, *hitRatio, *duration, *statusEvery, *window); err != nil {
		return err
	}
	// The planted-hits file is opened before anything starts, so that a
	// path that cannot be created stops the demo at once.
	var plantedOut *json.Encoder
	if *plantedPath != "" {
		f, err := os.Create(*plantedPath)
		if err != nil {
			return fmt.Errorf("--planted: %w", err)
		}
		defer f.Close()
		plantedOut = json.NewEncoder(f)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	broker, err := embedded.Start(embedded.BrokerOptions{
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)),
		Topics: []embedded.Topic{{Name: demoTopic, Partitions: 4}},
		Logger: log,
		// A demo left running keeps the newest 64 MiB of each partition
		// (minutes at the default rate), not everything ever generated.
		RetentionBytes: 64 << 20,
	})
	if err != nil {
		return fmt.Errorf("start the embedded broker: %w", err)
	}
	defer broker.Close()

	dir, err := writeSample()
	if err != nil {
		return err
	}
	defer removeAll(dir)
	cfg := config.Default()
	cfg.Feeds = []config.Feed{{Name: "sample-feed", Type: "file", Path: samplePath(dir, sampleFeed), Format: "text"}}
	cfg.ExclusionsFiles = []string{samplePath(dir, sampleExclusions)}
	cfg.Sinks = []config.Sink{{Name: "stdout", Type: "stdout", Format: "native", Queue: 1024,
		Stdout: config.StdoutSink{Human: !*jsonOut}, Retry: config.Retry{Initial: 200 * time.Millisecond, Max: 5 * time.Second}}}
	cfg.ApplyDefaults()
	cfg.Suppression.Window = *window
	rules, rep, err := loadRules(cfg, time.Now())
	if err != nil {
		return err
	}
	indicators := rules.Index.Indicators()

	fmt.Fprintf(env.stderr, "iocwatch demo: Kafka broker on %s, topic %q (4 partitions), consumer group \"iocwatch-demo\"\n", broker.Addr(), demoTopic)
	fmt.Fprintf(env.stderr, "loaded %d indicators from the sample feed (%s), %d refused as junk; %d exclusion rules\n",
		rules.Index.Len(), kindCounts(rules.Index.Counts()), len(rep.feeds[0].refused), len(rules.Exclusions.Rules()))
	fmt.Fprintf(env.stderr, "generating %.0f records/s (seed %d) with C2 beacons and excluded look-alikes; produce your own events with any Kafka client, e.g.\n", *rate, *seed)
	fmt.Fprintf(env.stderr, "  kcat -P -b %s -t %s < events.jsonl      (one Defender message per line)\n", broker.Addr(), demoTopic)
	fmt.Fprintf(env.stderr, "Ctrl-C stops.\n\n")

	src, err := kafka.New(kafka.Options{Brokers: []string{broker.Addr()}, Topics: []string{demoTopic}, Group: "iocwatch-demo",
		StartOffset: "earliest", Logger: log})
	if err != nil {
		return err
	}
	out, err := buildSinks(cfg, env, log)
	if err != nil {
		src.Close(context.Background())
		return err
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	p := stream.New(src, &holder, out, stream.Options{Log: log})

	// The generator.
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	var genWG sync.WaitGroup
	genWG.Add(1)
	var planted, plantedExcluded, produced atomic.Int64
	go func() {
		defer genWG.Done()
		w := newKafkaGenWriter([]string{broker.Addr()}, demoTopic)
		defer w.Close()
		// A live stream: each record is stamped when it is made, so that an
		// alert's timestamp is just before its detected_at.
		g := gen.New(gen.Options{Seed: *seed, HitRatio: *hitRatio, ExcludedRatio: 0.3, Indicators: indicators, Clock: time.Now})
		_, err := runGenerator(genCtx, g, 0, 8, *rate, &countingWriter{genWriter: w, n: &produced, perMessage: 8}, func(pl gen.Planted) {
			planted.Add(1)
			if pl.Excluded {
				plantedExcluded.Add(1)
			}
			if plantedOut != nil {
				plantedOut.Encode(pl)
			}
		}, nil)
		if err != nil && genCtx.Err() == nil {
			log.Error("generator stopped", "err", err)
		}
	}()

	// --duration: stop the generator, let the watcher catch up with what
	// was produced (at most 30 s), then stop. Ctrl-C stops at once.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	if *duration > 0 {
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(*duration):
			}
			stopGen()
			genWG.Wait()
			deadline := time.Now().Add(30 * time.Second)
			for p.Stats().Records.Load() < produced.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			stopRun()
		}()
	}

	// The status line.
	st := p.Stats()
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		t := time.NewTicker(*statusEvery)
		defer t.Stop()
		var last int64
		lastAt := time.Now()
		for {
			select {
			case <-runCtx.Done():
				return
			case now := <-t.C:
				n := st.Records.Load()
				var lag int64
				for _, l := range src.Lag() {
					lag += l
				}
				fmt.Fprintf(env.stderr, "[status] %s, consumer lag %d messages, records %d, matches %d, excluded %d, alerts %d (planted %d, %d of them excluded)\n",
					humanRate(float64(n-last)/now.Sub(lastAt).Seconds()), lag, n, st.Hits.Load(), st.Excluded.Load(), st.Alerts.Load(),
					planted.Load(), plantedExcluded.Load())
				last, lastAt = n, now
			}
		}
	}()

	runErr := p.Run(runCtx)
	stopGen()
	genWG.Wait()
	<-statusDone
	closeErr := closeWithin(10*time.Second, src.Close, out.Close)
	fmt.Fprintf(env.stderr, "\ndemo stopped: %d records, %d matches, %d excluded, %d alerts\n", st.Records.Load(), st.Hits.Load(), st.Excluded.Load(), st.Alerts.Load())
	if runErr != nil {
		return runErr
	}
	return closeErr
}

// checkDemoFlags checks demo's arguments before anything starts: a bad
// value is a usage error (exit 2) naming its flag, not a broker error or a
// demo that runs with it.
func checkDemoFlags(extra []string, port int, rate, hitRatio float64, duration, status, window time.Duration) error {
	switch {
	case len(extra) > 0:
		return usagef("unexpected arguments %q: demo takes only flags (see iocwatch demo -h)", extra)
	case port < 0 || port > 65535:
		return usagef("--port %d: want a port from 1 to 65535 (0: any free port)", port)
	case !(rate > 0) || math.IsInf(rate, 0):
		return usagef("--rate %v: want a number of records per second above 0", rate)
	case !(hitRatio >= 0 && hitRatio <= 1):
		return usagef("--hit-ratio %v: want a fraction between 0 and 1", hitRatio)
	case duration < 0:
		return usagef("--duration %v: want 0 (until Ctrl-C) or more", duration)
	case status <= 0:
		return usagef("--status %v: want an interval above 0 (5s)", status)
	case window < 0:
		return usagef("--window %v: want 0 (no suppression) or more", window)
	}
	return nil
}

// countingWriter counts the records handed to the broker.
type countingWriter struct {
	genWriter
	n          *atomic.Int64
	perMessage int64
}

func (c *countingWriter) Write(ctx context.Context, msgs [][]byte) error {
	if err := c.genWriter.Write(ctx, msgs); err != nil {
		return err
	}
	c.n.Add(int64(len(msgs)) * c.perMessage)
	return nil
}
