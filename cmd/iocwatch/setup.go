package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"go.yaml.in/yaml/v3"
)

// commonFlags are the flags run, replay, check and lookup share: a config
// file, or ad-hoc feeds, exclusions and allow-lists.
type commonFlags struct {
	configPath string
	feeds      stringList
	feedFormat string
	exclusions stringList
	allow      stringList
	ipIndex    string
	logLevel   string
	// withoutSource: the command does not read the configured source
	// (replay, lookup, hunt), so the config need not have one.
	withoutSource bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "c", "", "YAML config `file` (see docs/configuration.md)")
	fs.StringVar(&c.configPath, "config", "", "same as -c")
	fs.Var(&c.feeds, "feed", "indicator `file` to load, or NAME=FILE (repeatable; format detected from content; the feed is named NAME, else after the file)")
	fs.StringVar(&c.feedFormat, "feed-format", "auto", "`format` of every --feed: auto, text, csv, feodo, urlhaus, threatfox, defender-csv, stix2, misp")
	fs.Var(&c.exclusions, "exclusions", "exclusions `file` (repeatable; see docs/exclusions.md)")
	fs.Var(&c.allow, "allow", "allow-list `file`: values that must never alert (repeatable)")
	fs.StringVar(&c.ipIndex, "ip-index", "", "IP index `implementation`: bart (default) or cidranger")
	fs.StringVar(&c.logLevel, "log-level", "", "log `level`: debug, info, warn, error (default info)")
}

// newFlagSet returns a flag set whose errors go to env.stderr, and its
// help to env.stdout when asked for (-h, --help), else to env.stderr.
func newFlagSet(env *cliEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("iocwatch "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{stdout: env.stdout, stderr: env.stderr})
	fs.Usage = func() { printUsage(fs, usage) }
	return fs
}

// parseFlags parses args and maps -h and flag errors to the CLI's errors.
// Flags may come after the positional arguments too (lookup 1.2.3.4 --feed
// f.txt), as in most command-line tools; "--" ends the flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := parseHeld(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
	// Leave the positional arguments as fs.Args().
	return fs.Parse(append([]string{"--"}, positional...))
}

// printSink is the sink of ad-hoc use and of replay: alerts on stdout,
// JSON lines or (human) readable lines.
func printSink(human bool) config.Sink {
	sk := config.Sink{Name: "stdout", Type: "stdout", Format: "native", Queue: 1024,
		Retry: config.Retry{Initial: 200 * time.Millisecond, Max: 30 * time.Second}}
	sk.Stdout.Human = human
	return sk
}

// loadConfig reads -c, or builds an ad-hoc config from the flags. The
// result is validated, with the checks the sinks make of their own
// settings (sinkChecks); its problems are usage errors (exit 2).
func (c *commonFlags) loadConfig() (*config.Config, error) {
	if err := c.checkValues(); err != nil {
		return nil, err
	}
	var cfg *config.Config
	if c.configPath != "" {
		var err error
		if cfg, err = config.Load(c.configPath); err != nil {
			return nil, usageError{c.configHint(err)}
		}
	} else {
		cfg = config.Default()
		cfg.Sinks = []config.Sink{printSink(false)}
		cfg.Metrics.Enabled = false
		cfg.Source.Type = "stdin" // events come from the command line or stdin
		cfg.Source.Stdin.Format = "auto"
	}
	feeds, err := adhocFeeds(c.feeds, cfg.Feeds)
	if err != nil {
		return nil, err
	}
	for _, f := range feeds {
		f.Format = c.feedFormat
		cfg.Feeds = append(cfg.Feeds, f)
	}
	cfg.ExclusionsFiles = append(cfg.ExclusionsFiles, c.exclusions...)
	cfg.AllowlistFiles = append(cfg.AllowlistFiles, c.allow...)
	if c.ipIndex != "" {
		cfg.Match.IPIndex = c.ipIndex
	}
	if c.logLevel != "" {
		cfg.Log.Level = c.logLevel
	}
	cfg.ApplyDefaults() // for the feeds and sinks added above
	validate := cfg.Validate
	if c.withoutSource {
		validate = cfg.ValidateWithoutSource
	}
	if err := validate(sinkChecks(cfg)...); err != nil {
		// The exclusions files are part of the configuration: their
		// problems are reported with its own, not in a later run.
		if !slices.Contains(cfg.ExclusionsFiles, "") {
			if _, xerr := cfg.AllExclusions(); xerr != nil {
				err = errors.Join(err, xerr)
			}
		}
		return nil, usageError{c.configHint(err)}
	}
	return cfg, nil
}

// sinkChecks are the checks of the sinks' settings that their
// constructors make, without any network, and config.Validate cannot
// make itself: a Splunk HEC URL ending in another HEC endpoint than the
// event one, or that does not parse once written out for a request
// (sink.ValidateHECURL). Given to Validate, they are reported with its
// own problems, each at its file, line and key, so that check, run and
// every other command that loads the config refuse it at once, before
// anything starts.
func sinkChecks(cfg *config.Config) []config.KeyCheck {
	var checks []config.KeyCheck
	for i, s := range cfg.Sinks {
		if s.Type != "splunk_hec" {
			continue
		}
		u := s.SplunkHEC.URL
		checks = append(checks, config.KeyCheck{Path: fmt.Sprintf("sinks[%d].splunk_hec.url", i), Check: func() error { return sink.ValidateHECURL(u) }})
	}
	return checks
}

// checkValues checks the flags that set a key of the config against the
// values the key may take, so that a bad one names its flag rather than
// the key (and the config file, which does not hold it).
func (c *commonFlags) checkValues() error {
	for _, f := range [...]struct{ flag, key, value string }{
		{"--feed-format", "feeds[].format", c.feedFormat},
		{"--ip-index", "match.ip_index", c.ipIndex},
		{"--log-level", "log.level", c.logLevel},
	} {
		if f.value == "" {
			continue // not given (or not a flag of this command)
		}
		if err := config.CheckEnum(f.flag, f.key, f.value); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// configHint adds to a config's error what to do when -c names an
// exclusions file, or when neither -c nor --feed was given (the ad-hoc
// config then has no feed, and "feeds: at least one feed is required"
// names a key of a file the user never wrote).
func (c *commonFlags) configHint(err error) error {
	if c.configPath == "" && len(c.feeds) == 0 {
		return fmt.Errorf("%w\nno indicators to match: give a feed with --feed FILE (repeatable) or a config with -c FILE", err)
	}
	if c.configPath == "" || !onlyExclusions(c.configPath) {
		return err
	}
	return fmt.Errorf("%w\n%s holds exclusions only, not a config: pass it as --exclusions %[2]s (with --feed FILE), or name it under exclusions_files in a config", err, c.configPath)
}

// onlyExclusions reports whether the YAML file at path has no top-level
// key but exclusions: an exclusions file given as -c. It reads the file as
// config.Load does (config.ReadFile, at most 16 MiB): -c naming a large log
// or /dev/zero must not read it whole.
func onlyExclusions(path string) bool {
	data, err := config.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil || len(top) != 1 {
		return false
	}
	_, ok := top["exclusions"]
	return ok
}

// adhocFeeds makes the feeds of --feed args: NAME=PATH names its feed
// when NAME is a valid feed name and the whole arg is not a file;
// otherwise the arg is a path and the feed is named after its file
// (feedName), made unique among configured (the config's feeds), the
// names given and the names made before it ("feed", "feed-2").
func adhocFeeds(args []string, configured []config.Feed) ([]config.Feed, error) {
	taken := make(map[string]bool)
	for _, f := range configured {
		taken[f.Name] = true
	}
	feeds := make([]config.Feed, len(args))
	for i, a := range args {
		feeds[i] = config.Feed{Type: "file", Path: a}
		if eq := strings.IndexByte(a, '='); eq > 0 && feedNameRE.MatchString(a[:eq]) && !fileExists(a) {
			feeds[i].Name, feeds[i].Path = a[:eq], a[eq+1:]
			taken[feeds[i].Name] = true
		}
		if feeds[i].Path == "" {
			return nil, usagef("--feed %s: no file after the name", a)
		}
		if feeds[i].Path == "-" && !fileExists("-") {
			return nil, usagef("--feed -: a feed is read from a file, not from stdin: save the indicators to a file and give its path")
		}
	}
	for i := range feeds {
		if feeds[i].Name != "" {
			continue
		}
		base := feedName(feeds[i].Path)
		name := base
		for n := 2; taken[name]; n++ {
			suffix := fmt.Sprintf("-%d", n)
			name = strings.TrimRight(base[:min(len(base), maxFeedName-len(suffix))], "-.") + suffix
		}
		feeds[i].Name = name
		taken[name] = true
	}
	return feeds, nil
}

// feedNameRE is what config accepts as a feed's name.
var feedNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

const maxFeedName = 64

// feedName names an ad-hoc feed after its file ("feodo.csv" → "feodo"),
// made a valid name: every run of other characters than letters, digits,
// '.', '_' and '-' becomes one '-' ("IOC list.csv" → "IOC-list"), what is
// not a letter or digit is dropped from the start ("_iocs.txt" → "iocs"),
// and the name is cut to 64 characters; "feed" when nothing is left.
func feedName(path string) string {
	base := filepath.Base(path)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if strings.Trim(name, ".") == "" {
		name = base // ".iocs" names "iocs"
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'):
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name = strings.TrimLeft(b.String(), "._-")
	name = strings.TrimRight(name[:min(len(name), maxFeedName)], "-.")
	if name == "" {
		return "feed"
	}
	return name
}

// newLogger is the process logger of cfg.Log, redacting secrets (see
// newOpsLogger in ops_wiring.go).
func newLogger(w io.Writer, cfg *config.Config) *slog.Logger { return newOpsLogger(w, cfg) }

// loadOptions maps a feed's format, defaults and junk guard to
// match.LoadOptions (the feed manager sets the name, clock and TTL).
func loadOptions(f config.Feed) match.LoadOptions {
	opt := match.LoadOptions{
		Name:   f.Path,
		Format: f.Format,
		TTL:    f.TTL,
		Defaults: match.Meta{
			Source:     f.Source,
			Severity:   f.Severity,
			Confidence: f.Confidence,
			Tags:       f.Tags,
		},
		Guard: match.Guard{
			MinPrefixV4:       f.Allow.MinPrefixV4,
			MinPrefixV6:       f.Allow.MinPrefixV6,
			AllowPrivate:      f.Allow.Private,
			AllowBroad:        f.Allow.Broad,
			AllowPublicSuffix: f.Allow.PublicSuffix,
		},
	}
	if opt.Defaults.Source == "" {
		opt.Defaults.Source = f.Name
	}
	if f.Format == "csv" {
		c := f.CSV
		opt.CSV = match.CSVMapping{
			Value: c.Value, Kind: c.Kind, Source: c.Source, Severity: c.Severity, Confidence: c.Confidence,
			Tags: c.Tags, Description: c.Description, Reference: c.Reference, ValidFrom: c.ValidFrom,
			ValidUntil: c.ValidUntil, Comment: c.Comment, NoComments: c.Comment == "", HeaderInComment: c.HeaderInComment,
		}
		if r := []rune(c.Delimiter); len(r) == 1 {
			opt.CSV.Delimiter = r[0]
		}
	}
	return opt
}

// exclusionSpecs gathers inline and file exclusions as match rule specs.
func exclusionSpecs(cfg *config.Config) ([]match.RuleSpec, error) {
	rules, err := cfg.AllExclusions()
	if err != nil {
		return nil, err
	}
	specs := make([]match.RuleSpec, 0, len(rules))
	for _, r := range rules {
		specs = append(specs, match.RuleSpec{Name: r.Name, Reason: r.Reason, Expires: r.Expires, When: r.When, Origin: r.Origin, WhenOrigins: r.WhenOrigins})
	}
	return specs, nil
}

// closeWithin closes sinks and the like within d, joining their errors.
func closeWithin(d time.Duration, closers ...func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var errs []error
	for _, c := range closers {
		if c != nil {
			errs = append(errs, c(ctx))
		}
	}
	return errors.Join(errs...)
}

// newFileSource opens the file/stdin source of the config, or paths given
// on the command line in format (auto, jsonl, csv or avro), following the
// last of them as it grows when follow is set; names renames files in
// positions (stream.FileOptions.Names).
func newFileSource(cfg *config.Config, paths []string, names map[string]string, stdin io.Reader, format string, follow bool) (*stream.FileSource, error) {
	opt := stream.FileOptions{Paths: paths, Names: names, Format: format, Follow: follow, BatchLines: cfg.Pipeline.BatchLines, MaxLineBytes: cfg.Pipeline.MaxMessageBytes, Stdin: stdin}
	if len(paths) == 0 {
		switch cfg.Source.Type {
		case "file":
			opt.Paths, opt.Format, opt.Follow = cfg.Source.File.Paths, cfg.Source.File.Format, cfg.Source.File.Follow
		case "stdin":
			opt.Paths, opt.Format = []string{"-"}, cfg.Source.Stdin.Format
		}
	}
	src, err := stream.NewFileSource(opt)
	if err != nil {
		return nil, usageError{err}
	}
	return src, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
