package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

const genUsage = `gen [flags]

Generates a seeded, realistic Defender stream (Event Hubs envelopes of both
watched tables, inspected events, IPv6 and mapped addresses, hosts and URLs
in mixed case) with hits planted on the indicators of --feed at --hit-ratio,
a share of them from processes the example exclusions suppress. Writes JSON
lines to stdout or --out, or produces to a Kafka topic or an Event Hub.
The planted hits go to --planted as JSON lines; a summary goes to stderr,
and on a terminal a progress line (records, rate, planted hits, the share
of --records done and the time left) while it runs.`

type genFlags struct {
	seed          int64
	records       int64
	rate          float64
	perMessage    int
	bare          bool
	hitRatio      float64
	excludedRatio float64
	feeds         stringList
	feedFormat    string
	to            string
	out           string
	planted       string
	brokers       string
	topic         string
	hub           string
	connEnv       string
	start         string
}

func cmdGen(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "gen", genUsage)
	var f genFlags
	fs.Int64Var(&f.seed, "seed", 1, "random `seed`: the same seed and --start give the same stream")
	fs.Int64Var(&f.records, "records", 10000, "records to generate; 0 runs until interrupted")
	fs.Float64Var(&f.rate, "rate", 0, "records per second; 0 is flat out")
	fs.IntVar(&f.perMessage, "per-message", 8, "records per Event Hubs envelope")
	fs.BoolVar(&f.bare, "bare", false, "write bare records, one per message, without the envelope")
	fs.Float64Var(&f.hitRatio, "hit-ratio", 0.03, "fraction of records with a planted hit")
	fs.Float64Var(&f.excludedRatio, "excluded-ratio", 0.2, "fraction of planted hits from processes the example exclusions suppress (on the sample feed's addresses only: none with --feed)")
	fs.Var(&f.feeds, "feed", "indicator `file` to plant hits on (repeatable; gzip or zstd unpacked; default: the shipped sample feed)")
	fs.StringVar(&f.feedFormat, "feed-format", "auto", "`format` of every --feed: auto, text, csv, feodo, urlhaus, threatfox, defender-csv, stix2, misp")
	fs.StringVar(&f.to, "to", "stdout", "destination: stdout, file, kafka or eventhubs")
	fs.StringVar(&f.out, "out", "", "output `file` (implies --to file): JSON lines; gzip- or zstd-compressed when it ends in .gz or .zst; an Event Hubs Capture (Avro) file when it ends in .avro")
	fs.StringVar(&f.planted, "planted", "", "write the planted hits to this JSON-lines `file`")
	fs.StringVar(&f.brokers, "brokers", "127.0.0.1:9092", "Kafka `brokers`, comma-separated (with --to kafka)")
	fs.StringVar(&f.topic, "topic", "defender", "Kafka `topic` (with --to kafka)")
	fs.StringVar(&f.hub, "hub", "", "Event Hub `name` (with --to eventhubs)")
	fs.StringVar(&f.connEnv, "connection-string-env", "EVENTHUB_CONNECTION_STRING", "environment `variable` holding the Event Hubs connection string")
	fs.StringVar(&f.start, "start", "", "first event time, RFC 3339 (default: now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	toSet := false
	fs.Visit(func(fl *flag.Flag) { toSet = toSet || fl.Name == "to" })
	if f.out != "" && !toSet {
		f.to = "file" // --out names a file: that is where the records go
	}
	switch {
	case f.out != "" && f.to != "file":
		return usagef("--out names a file, but --to is %s: use --to file", f.to)
	case f.records < 0:
		return usagef("--records %d: want 0 (until interrupted) or more", f.records)
	case f.rate < 0:
		return usagef("--rate %v: want 0 (flat out) or more", f.rate)
	case f.perMessage < 1:
		return usagef("--per-message %d: want 1 or more", f.perMessage)
	case f.hitRatio < 0 || f.hitRatio > 1:
		return usagef("--hit-ratio %v: want a fraction between 0 and 1", f.hitRatio)
	case f.excludedRatio < 0 || f.excludedRatio > 1:
		return usagef("--excluded-ratio %v: want a fraction between 0 and 1", f.excludedRatio)
	}
	inds, err := genIndicators(f.feeds, f.feedFormat)
	if err != nil {
		return err
	}
	opt := gen.Options{Seed: f.seed, RecordsPerMessage: f.perMessage, Bare: f.bare, HitRatio: f.hitRatio,
		ExcludedRatio: f.excludedRatio, Indicators: inds}
	if f.start != "" {
		if opt.Start, err = time.Parse(time.RFC3339Nano, f.start); err != nil {
			return usagef("--start %q: want an RFC 3339 time with its zone, such as 2026-11-26T09:00:00Z", f.start)
		}
	}
	if f.bare {
		opt.RecordsPerMessage = 1
	}
	w, err := newGenWriter(ctx, f, env)
	if err != nil {
		return err
	}
	var planted *bufio.Writer
	if f.planted != "" {
		pf, err := os.Create(f.planted)
		if err != nil {
			w.Close()
			return fmt.Errorf("--planted: %w", err)
		}
		defer pf.Close()
		planted = bufio.NewWriter(pf)
		defer planted.Flush()
	}
	// A progress line on a terminal, unless the records go to that terminal.
	var prog genProgress
	began := time.Now()
	bar := startProgress(env.stderr, env.stderrIsTerminal && !(f.to == "stdout" && env.stdoutIsTerminal), 200*time.Millisecond, func() string {
		return genProgressLine(prog.records.Load(), prog.planted.Load(), f.records, time.Since(began))
	})
	res, err := runGenerator(ctx, gen.New(opt), f.records, opt.RecordsPerMessage, f.rate, w, func(p gen.Planted) {
		if planted != nil {
			line, _ := json.Marshal(p)
			planted.Write(line)
			planted.WriteByte('\n')
		}
	}, &prog)
	bar.Stop()
	cerr := w.Close()
	fmt.Fprintf(env.stderr, "generated %d records in %d messages, %d planted hits (%d from excluded processes) in %s\n",
		res.records, res.messages, res.planted, res.excluded, res.elapsed.Round(time.Millisecond))
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return cerr
}

// genIndicators loads the feeds hits are planted on (the sample feed by
// default).
func genIndicators(feeds []string, format string) ([]*match.Indicator, error) {
	if len(feeds) == 0 {
		data, err := assets.ReadFile("assets/" + sampleFeed)
		if err != nil {
			return nil, err
		}
		res, err := match.Load(strings.NewReader(string(data)), match.LoadOptions{Name: sampleFeed, Format: "text"})
		if err != nil {
			return nil, err
		}
		return res.Indicators.Indicators(), nil
	}
	var all []*match.Indicator
	for _, p := range feeds {
		res, err := loadGenFeed(p, format)
		if err != nil {
			return nil, usageError{err}
		}
		if res.Indicators.Len() == 0 {
			return nil, usagef("--feed %s: no indicators to plant hits on (format %s, %d entries refused, %d skipped): iocwatch check --feed %[1]s lists them", p, res.Format, len(res.Refused), res.Skipped)
		}
		all = append(all, res.Indicators.Indicators()...)
	}
	return all, nil
}

// loadGenFeed loads one --feed file, unpacking gzip or zstd as the feeds
// of run and check are (the name without its .gz or .zst guides format
// detection).
func loadGenFeed(path, format string) (*match.LoadResult, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r, c, err := decompress.Unpack(bufio.NewReader(fh))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer r.Close()
	name := path
	if c != decompress.None {
		name = strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".zst")
	}
	return match.Load(r, match.LoadOptions{Name: name, Format: format})
}

// genWriter takes generated messages.
type genWriter interface {
	Write(ctx context.Context, msgs [][]byte) error
	Close() error
}

type genResult struct {
	records, messages, planted, excluded int64
	elapsed                              time.Duration
}

// genProgress is what runGenerator has written so far, for a progress
// line read from another goroutine.
type genProgress struct{ records, planted atomic.Int64 }

// genProgressLine is gen's progress line: "generating: 1.20M records,
// 60.0k/s, 36.1k planted, 40% of 3.00M, 30s left" (the share and the time
// left only with a limit).
func genProgressLine(records, planted, limit int64, elapsed time.Duration) string {
	return fmt.Sprintf("generating: %s records, %s, %s planted", humanCount(float64(records)),
		humanRate(float64(records)/max(elapsed.Seconds(), 1e-3)), humanCount(float64(planted))) +
		shareDone(records, limit, elapsed, func(n int64) string { return humanCount(float64(n)) })
}

// runGenerator produces records up to limit (0: until ctx ends) at rate
// records/s (0: flat out), in groups of messages handed to w. prog, when
// not nil, follows what was written.
func runGenerator(ctx context.Context, g *gen.Generator, limit int64, perMessage int, rate float64, w genWriter, onPlant func(gen.Planted), prog *genProgress) (genResult, error) {
	var res genResult
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()
	const group = 64
	msgs := make([][]byte, 0, group)
	var pending []gen.Planted // planted in msgs: reported once msgs are written
	bufs := make([][]byte, group)
	for {
		if err := ctx.Err(); err != nil {
			res.elapsed = time.Since(start)
			return res, err
		}
		msgs, pending = msgs[:0], pending[:0]
		// Flat out: groups of 64 messages. Paced: every message already due.
		due := int64(-1)
		if rate > 0 {
			due = int64(time.Since(start).Seconds()*rate) + 1
		}
		for i := 0; i < group && (limit == 0 || g.Records() < limit) && (due < 0 || g.Records() < due); i++ {
			var pl []gen.Planted
			n := perMessage
			if limit > 0 {
				n = int(min(int64(n), limit-g.Records())) // the last message holds what is left
			}
			bufs[i], pl = g.NextN(bufs[i][:0], n)
			msgs = append(msgs, bufs[i])
			pending = append(pending, pl...)
		}
		if len(msgs) == 0 && due >= 0 && (limit == 0 || g.Records() < limit) {
			// Nothing due yet: wait for the next record's time.
			next := start.Add(time.Duration(float64(g.Records()+1) / rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				res.elapsed = time.Since(start)
				return res, ctx.Err()
			case <-time.After(time.Until(next)):
			}
			continue
		}
		if len(msgs) == 0 {
			res.records = g.Records()
			res.elapsed = time.Since(start)
			return res, nil
		}
		if err := w.Write(ctx, msgs); err != nil {
			res.records = g.Records()
			return res, err
		}
		res.messages += int64(len(msgs))
		res.records = g.Records()
		for _, p := range pending {
			res.planted++
			if p.Excluded {
				res.excluded++
			}
			onPlant(p)
		}
		if prog != nil {
			prog.records.Store(res.records)
			prog.planted.Store(res.planted)
		}
	}
}

func newGenWriter(ctx context.Context, f genFlags, env *cliEnv) (genWriter, error) {
	switch f.to {
	case "stdout":
		return &linesWriter{w: bufio.NewWriterSize(env.stdout, 1<<20)}, nil
	case "file":
		if f.out == "" {
			return nil, usagef("--to file needs --out FILE")
		}
		w, err := newFileGenWriter(f.out)
		if err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
		return w, nil
	case "kafka":
		return newKafkaGenWriter(strings.Split(f.brokers, ","), f.topic), nil
	case "eventhubs":
		return newEventHubsGenWriter(ctx, f)
	default:
		return nil, usagef("--to %q: want stdout, file, kafka or eventhubs", f.to)
	}
}

// newFileGenWriter writes JSON lines to the file path, compressed by its
// extension (.gz, .zst), or an Event Hubs Capture file (.avro).
func newFileGenWriter(path string) (genWriter, error) {
	fh, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".avro":
		cw, err := stream.NewCaptureWriter(fh)
		if err != nil {
			fh.Close()
			return nil, err
		}
		return &captureGenWriter{w: cw, c: fh}, nil
	case ".gz":
		zw := gzip.NewWriter(fh)
		return &linesWriter{w: bufio.NewWriterSize(zw, 1<<20), c: multiCloser{zw, fh}}, nil
	case ".zst":
		zw, err := zstd.NewWriter(fh)
		if err != nil {
			fh.Close()
			return nil, err
		}
		return &linesWriter{w: bufio.NewWriterSize(zw, 1<<20), c: multiCloser{zw, fh}}, nil
	}
	return &linesWriter{w: bufio.NewWriterSize(fh, 1<<20), c: fh}, nil
}

// multiCloser closes each in turn (a compressor, then its file) and
// returns the first error.
type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// captureGenWriter writes each message as a record of a Capture file.
type captureGenWriter struct {
	w *stream.CaptureWriter
	c io.Closer
}

func (g *captureGenWriter) Write(_ context.Context, msgs [][]byte) error {
	for _, m := range msgs {
		if err := g.w.Write(m); err != nil {
			return err
		}
	}
	return nil
}

func (g *captureGenWriter) Close() error {
	return multiCloser{g.w, g.c}.Close()
}

type linesWriter struct {
	w *bufio.Writer
	c io.Closer
}

func (l *linesWriter) Write(_ context.Context, msgs [][]byte) error {
	for _, m := range msgs {
		l.w.Write(m)
		if err := l.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	return nil
}

func (l *linesWriter) Close() error {
	err := l.w.Flush()
	if l.c != nil {
		if cerr := l.c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// kafkaGenWriter produces to a topic with kafka-go, spreading messages over
// the partitions.
type kafkaGenWriter struct {
	w    *kafkago.Writer
	msgs []kafkago.Message
}

func newKafkaGenWriter(brokers []string, topic string) *kafkaGenWriter {
	return &kafkaGenWriter{w: &kafkago.Writer{
		Addr:         kafkago.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafkago.RoundRobin{},
		BatchSize:    256,
		BatchBytes:   16 << 20,
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafkago.RequireOne,
	}}
}

func (k *kafkaGenWriter) Write(ctx context.Context, msgs [][]byte) error {
	k.msgs = k.msgs[:0]
	for _, m := range msgs {
		k.msgs = append(k.msgs, kafkago.Message{Value: append([]byte(nil), m...)})
	}
	if err := k.w.WriteMessages(ctx, k.msgs...); err != nil {
		return fmt.Errorf("produce to %s: %w", k.w.Topic, err)
	}
	return nil
}

func (k *kafkaGenWriter) Close() error { return k.w.Close() }
