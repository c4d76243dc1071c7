package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

const replayUsage = `replay [-c FILE | --feed FILE...] [--exclusions FILE] [flags] EVENTS...

Matches exported events against the indicators: JSON lines of Event Hubs
bodies, bare records or {"body":…} wrappers, pretty-printed JSON (an array
of records, an Advanced Hunting API response), an Advanced Hunting CSV
export or Event Hubs Capture (Avro) files, plain or gzip- or
zstd-compressed, UTF-8 or UTF-16. A directory stands for every file below
it, a quoted pattern for its matches, "-" for stdin. A damaged file is a
decode error and the next file is read.

Prints the alerts (JSON lines on stdout; with --sinks they go to the
config's sinks instead) and a summary on stderr: records, records/s,
matches, excluded per rule, alerts, decode errors, and what suppression
held back (repeats, summaries, duplicates) so that the alerts the sinks got
add up. On a terminal a progress line shows the records so far, the rate,
and how far through the files it is with the time left. With --sample it
replays the stream, feed and exclusions shipped in the binary. An
exclusion's expires is judged at each event's Timestamp: the rules in force
when the events happened apply. It exits 1 when no record could be
decoded, or when a signal stopped it early (the summary then covers what
was read).`

func cmdReplay(ctx context.Context, env *cliEnv, args []string) (err error) {
	fs := newFlagSet(env, "replay", replayUsage)
	var common commonFlags
	common.register(fs)
	common.withoutSource = true // the events come from the command line
	sample := fs.Bool("sample", false, "replay the sample stream shipped in the binary, with its sample feed and the example exclusions")
	deadLetter := fs.String("dead-letter", "", "write undecodable messages to this JSON-lines `file`")
	workers := fs.Int("workers", 0, "decode/match `goroutines` (default: the config's pipeline.workers, else one per core)")
	human := fs.Bool("human", false, "print alerts as readable lines instead of JSON (the default on a terminal)")
	quiet := fs.Bool("quiet", false, "print no alerts, only the summary")
	toSinks := fs.Bool("sinks", false, "deliver the alerts to the config's sinks, as run does, instead of printing them (a retro-hunt whose alerts should reach the SIEM)")
	eventsFormat := fs.String("events-format", "auto", "`format` of the EVENTS files: auto (from each file's first bytes), jsonl, csv or avro")
	var win windowFlags
	win.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *workers < 0 {
		return usagef("--workers %d: want 1 or more (0: the config's pipeline.workers, else one per core)", *workers)
	}
	paths := fs.Args()
	if err := checkEventsFormat(*eventsFormat, paths); err != nil {
		return err
	}
	var sampleDir string
	var names map[string]string
	if *sample {
		dir, err := writeSample()
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		sampleDir = dir
		names = map[string]string{samplePath(dir, sampleEvents): sampleEvents} // positions name the shipped file, not its temporary copy
		paths = append(paths, samplePath(dir, sampleEvents))
		common.feeds = append(common.feeds, samplePath(dir, sampleFeed))
		common.exclusions = append(common.exclusions, samplePath(dir, sampleExclusions))
	}
	if len(paths) == 0 {
		return usagef("no events to replay: name files (or - for stdin), or use --sample")
	}
	cfg, err := common.loadConfig()
	if err != nil {
		return err
	}
	defer func() { err = redactError(err, cfg) }() // a peer may have echoed a secret into it
	if *workers > 0 {
		cfg.Pipeline.Workers = *workers
	}
	if *deadLetter != "" {
		cfg.Pipeline.DeadLetter = *deadLetter
	}
	switch {
	case *toSinks && common.configPath == "":
		return usagef("--sinks delivers to the sinks of a config: give -c FILE")
	case *toSinks && *quiet:
		return usagef("--sinks and --quiet: choose one")
	case *quiet:
		cfg.Sinks = nil
	case !*toSinks:
		// A replay prints its alerts; the config's sinks (a SOAR, a
		// pager) get them only when asked for.
		cfg.Sinks = []config.Sink{printSink(*human || env.stdoutIsTerminal)}
		cfg.ApplyDefaults()
	}
	// A replay neither records nor hunts the history: what the retro-hunt
	// cannot apply (an account written DOMAIN\name) the replay applies, so
	// its summary must not warn of it.
	cfg.History.Enabled = false
	log := newLogger(env.stderr, cfg)
	start := time.Now()
	// Past events are judged by the exclusions in force when they happened.
	rules, rep, err := loadRulesAt(cfg, start, true)
	if err != nil {
		return err
	}
	if err := unusableFeedFiles(rep); err != nil {
		return err
	}
	printLoadSummary(env.stderr, rep, sampleDir)

	src, err := newFileSource(cfg, paths, names, env.stdin, *eventsFormat, false) // a replay ends with its files
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	windowed, err := win.wrap(src, time.Now())
	if err != nil {
		return err
	}
	// Alerts printed on the terminal the progress line is drawn on clear
	// it first, so that the two never share a line.
	tl := newTerminalLine(env.stderr)
	sinkEnv := env
	if env.stderrIsTerminal && env.stdoutIsTerminal {
		e := *env
		e.stdout = tl.above(env.stdout)
		sinkEnv = &e
	}
	out, err := buildSinks(cfg, sinkEnv, log)
	if err != nil {
		return err
	}
	dl, closeDL, err := openDeadLetter(cfg, log)
	if err != nil {
		out.Close(context.Background())
		return err
	}
	onExcluded, closeAudit, err := openExclusionAudit(cfg, log)
	if err != nil {
		out.Close(context.Background())
		closeDL(context.Background())
		return err
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	p := stream.New(windowed, &holder, out, stream.Options{
		Workers:              cfg.Pipeline.Workers,
		InFlight:             cfg.Pipeline.InFlight,
		MaxMessageBytes:      cfg.Pipeline.MaxMessageBytes,
		MaxRecordsPerMessage: cfg.Pipeline.MaxRecordsPerMessage,
		Ordered:              true,
		DeadLetter:           dl,
		OnExcluded:           onExcluded,
		Log:                  log,
	})
	st := p.Stats()
	began := time.Now()
	bar := tl.startProgress(env.stderrIsTerminal, 200*time.Millisecond, func() string {
		el := time.Since(began).Seconds()
		read, total := src.Progress()
		return fmt.Sprintf("replaying: %d records, %s, %d alerts, %d excluded, %d decode errors",
			st.Records.Load(), humanRate(float64(st.Records.Load())/el), st.Alerts.Load(), st.Excluded.Load(), st.DecodeErrors.Load()) +
			inputProgress(read, total, time.Since(began))
	})
	runErr := p.Run(ctx)
	bar.Stop()
	elapsed := time.Since(began)
	closeErr := closeWithin(30*time.Second, out.Close, closeDL, closeAudit)
	printReplaySummary(env.stderr, st, elapsed, cfg.Pipeline.DeadLetter)
	if _, sup := sinkParts(out); sup != nil {
		printSuppression(env.stderr, st.Alerts.Load(), sup.Counts())
	}
	win.summary(env.stderr)
	if runErr != nil {
		return refusalHint(runErr, cfg)
	}
	if closeErr != nil {
		return fmt.Errorf("closing sinks: %w", closeErr)
	}
	if ctx.Err() != nil {
		// A partial hunt must not pass for a complete one in a script.
		return errors.New("interrupted before the end of the input: the summary covers what was read")
	}
	if st.Watched.Load()+st.Skipped.Load() == 0 && st.DecodeErrors.Load() > 0 {
		return fmt.Errorf("no record could be decoded (%s): are these Defender events? The first: %s", plural(st.DecodeErrors.Load(), "error"), st.FirstDecodeError())
	}
	return nil
}

// printLoadSummary prints a line per feed and allow-list file and every
// warning. With the
// shipped sample (sampleDir, its temporary copy) it also lists the
// refused lines, named after the shipped file.
func printLoadSummary(w io.Writer, rep *loadReport, sampleDir string) {
	for i, f := range rep.all() {
		what := "feed"
		if i >= len(rep.feeds) {
			what = "allow-list"
		}
		if f.err != nil {
			fmt.Fprintf(w, "%s %s: %v\n", what, f.name, f.err)
			continue
		}
		fmt.Fprintf(w, "%s %s (%s): %s (%s)", what, f.name, f.format, plural(int64(f.total), "indicator"), kindCounts(f.counts))
		if len(f.refused) > 0 {
			fmt.Fprintf(w, ", %d refused", len(f.refused))
			if sampleDir == "" {
				fmt.Fprint(w, " (check lists them)")
			}
		}
		fmt.Fprintln(w)
		if sampleDir != "" {
			for _, r := range f.refused {
				r.Origin = strings.TrimPrefix(r.Origin, sampleDir+string(filepath.Separator))
				fmt.Fprintf(w, "  refused %s\n", r)
			}
		}
	}
	for _, warn := range rep.warnings {
		if sampleDir != "" {
			// Name the shipped file, not its temporary copy.
			warn = strings.ReplaceAll(warn, sampleDir+string(filepath.Separator), "")
		}
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

// printSuppression says what suppression held back of the alerts, so
// that the count the sinks got can be told from the count matched.
func printSuppression(w io.Writer, alerts int64, c sink.SuppressCounts) {
	if c.Repeats == 0 && c.Duplicates == 0 {
		return
	}
	fmt.Fprintf(w, "suppression: repeats held back %d, summaries sent %d, duplicates dropped %d; alerts to the sinks %d\n",
		c.Repeats, c.SummariesSent, c.Duplicates, alertsToSinks(alerts, c))
}

// brokenRecords is how many records were counted but could not be
// decoded (a record that is not an object, a broken field): neither
// watched nor of another table.
func brokenRecords(st *stream.Stats) int64 {
	return max(0, st.Records.Load()-st.Watched.Load()-st.Skipped.Load())
}

// alertsToSinks is how many alerts the sinks got of the alerts matched,
// after suppression.
func alertsToSinks(alerts int64, c sink.SuppressCounts) uint64 {
	return uint64(alerts) - c.Repeats - c.Duplicates + c.SummariesSent
}

func printReplaySummary(w io.Writer, st *stream.Stats, elapsed time.Duration, deadLetter string) {
	secs := elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	broken := ""
	if n := brokenRecords(st); n > 0 {
		broken = fmt.Sprintf(", %d broken", n)
	}
	fmt.Fprintf(w, "replayed %d messages, %d records (%d watched, %d of other tables%s) in %.3fs: %s\n",
		st.Messages.Load(), st.Records.Load(), st.Watched.Load(), st.Skipped.Load(), broken,
		secs, humanRate(float64(st.Records.Load())/secs))
	var rules []string
	byRule := st.ExcludedByRule()
	for _, name := range sortedKeys(byRule) {
		rules = append(rules, fmt.Sprintf("%s %d", name, byRule[name]))
	}
	excl := fmt.Sprint(st.Excluded.Load())
	if len(rules) > 0 {
		excl += " (" + strings.Join(rules, ", ") + ")"
	}
	fmt.Fprintf(w, "matches %d, allow-listed %d, excluded %s, alerts %d\n", st.Hits.Load(), st.Allowed.Load(), excl, st.Alerts.Load())
	if n := st.DecodeErrors.Load(); n > 0 {
		where := "not kept: add --dead-letter FILE to keep them"
		if deadLetter != "" {
			where = "written to " + deadLetter
		}
		fmt.Fprintf(w, "decode errors %d (%s); the first: %s\n", n, where, st.FirstDecodeError())
	}
}

// plural writes n and noun, with an "s" unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
