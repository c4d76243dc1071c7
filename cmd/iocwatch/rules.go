package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/match/feed"
	"github.com/iocwatch/iocwatch/stream"
)

// feedReport is the state of one feed, for check, lookup and logs.
type feedReport struct {
	name, typ, path, format string
	allow                   bool // an allow-list file, not an indicator feed
	counts                  map[match.Kind]int
	total, retained         int
	refused                 []match.Refusal
	skipped                 int
	skippedReasons          map[string]int
	notes                   []string // how the feed was read where the loader guessed (no header row, …)
	// err is the error of the last fetch; with total > 0 (a cached or
	// earlier copy in use) it is a warning, otherwise the feed is empty.
	err error
	// loadedAt is when the indicators in use last changed.
	loadedAt              time.Time
	lastFetch, lastSucess time.Time
	dataTime              time.Time // when the origin last vouched for the content
	fromCache             bool
	held                  *feed.Held
}

// loadReport is what building the rules gave.
type loadReport struct {
	feeds     []feedReport
	allow     []feedReport
	warnings  []string
	indexKind map[match.Kind]int
	at        time.Time // when the report was made, for ages
}

// what names the kind of feed in messages: "feed" or "allow-list".
func (f feedReport) what() string {
	if f.allow {
		return "allow-list"
	}
	return "feed"
}

// all returns the feed reports followed by the allow-list reports.
func (r *loadReport) all() []feedReport {
	return append(append([]feedReport(nil), r.feeds...), r.allow...)
}

// problems counts refusals and feed errors (what makes check fail).
func (r *loadReport) problems() int {
	n := 0
	for _, f := range r.all() {
		n += len(f.refused)
		if f.err != nil {
			n++
		}
		if f.held != nil {
			n++
		}
	}
	return n
}

// unreadableFeedFiles is the error for file feeds and allow-lists whose
// file could not be opened at the first load: a path in the configuration
// (or a --feed) that names nothing, or nothing readable, is a mistake to
// stop on, not a feed that may come back — a remote feed that is down
// starts from its cache, or empty, and is fetched again. check reports
// such feeds itself.
func unreadableFeedFiles(rep *loadReport) error { return badFeedFiles(rep, false) }

// unusableFeedFiles is unreadableFeedFiles for a one-shot command (replay,
// lookup): a file feed that loaded nothing because of an error — its
// format not recognised, its content broken — stops it too, since it will
// not be loaded again while the command runs and its answer would be
// given without it.
func unusableFeedFiles(rep *loadReport) error { return badFeedFiles(rep, true) }

func badFeedFiles(rep *loadReport, anyError bool) error {
	var errs []error
	for _, f := range rep.all() {
		if f.typ == feed.TypeFile && f.total == 0 && f.err != nil && (anyError || errors.Is(f.err, fs.ErrNotExist) || errors.Is(f.err, fs.ErrPermission) || errors.Is(f.err, syscall.EISDIR)) {
			errs = append(errs, f.err)
		}
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// reportOf turns the Manager's status into feed reports.
func reportOf(sts []feed.Status, now time.Time) *loadReport {
	rep := &loadReport{at: now}
	for _, s := range sts {
		f := feedReport{
			name: s.Name, typ: s.Type, path: s.Location, format: s.Format, counts: s.Counts, total: s.Total,
			retained: s.Retained, refused: s.Refused, skipped: s.Skipped, skippedReasons: s.SkippedReasons, notes: s.Notes,
			err: s.LastError, loadedAt: s.LastChange, lastFetch: s.LastFetch, lastSucess: s.LastSuccess,
			dataTime: s.DataTime, fromCache: s.FromCache, held: s.Held,
		}
		if f.counts == nil {
			f.counts = map[match.Kind]int{}
		}
		f.allow = s.Allow
		if f.err != nil {
			f.err = fmt.Errorf("%s %q: %w", f.what(), s.Name, f.err)
		}
		if s.Allow {
			rep.allow = append(rep.allow, f)
		} else {
			rep.feeds = append(rep.feeds, f)
		}
	}
	return rep
}

// feedSpec maps one configured feed to the feed manager's spec.
func feedSpec(f config.Feed) feed.Spec {
	s := feed.Spec{
		Name: f.Name, Type: f.Type, Path: f.Path, URL: f.URL,
		Load:     loadOptions(f),
		TTL:      f.TTL,
		Interval: f.Interval, Timeout: f.Timeout, MaxBytes: f.MaxBytes,
		TLS: feed.TLSOptions{CAFile: f.TLS.CAFile, CertFile: f.TLS.CertFile, KeyFile: f.TLS.KeyFile,
			InsecureSkipVerify: f.TLS.InsecureSkipVerify, ServerName: f.TLS.ServerName},
		TAXII: feed.TAXIIOptions{Collection: f.TAXII.Collection, Username: f.TAXII.Username,
			Password: f.TAXII.Password.Reveal(), Token: f.TAXII.Token.Reveal()},
	}
	s.Load.TTL = 0 // the manager applies the TTL ("expires TTL after last seen")
	if len(f.Headers) > 0 {
		s.Headers = make(map[string]string, len(f.Headers))
		for k, v := range f.Headers {
			s.Headers[k] = v.Reveal()
		}
	}
	return s
}

// feedOptions maps the config to the feed manager's options: the feeds,
// the allow-list (files, with the junk guard off: an allow-list may name
// anything, and inline values), the cache (written: the one-shot
// commands make it read-only, see loadRulesAt) and the shrink guard.
func feedOptions(cfg *config.Config) feed.Options {
	opt := feed.Options{
		AllowValues: cfg.Allowlist,
		Build:       match.BuildOptions{IPIndex: cfg.Match.IPIndex},
		CacheDir:    cfg.FeedCacheDir,
		ShrinkGuard: cfg.ShrinkGuard,
	}
	if cfg.ShrinkGuard == 0 {
		opt.ShrinkGuard = -1 // 0 turns the guard off in the config
	}
	for _, f := range cfg.Feeds {
		opt.Feeds = append(opt.Feeds, feedSpec(f))
	}
	for i, p := range cfg.AllowlistFiles {
		opt.Allow = append(opt.Allow, feed.Spec{
			Name: fmt.Sprintf("allowlist_files[%d]", i), Type: feed.TypeFile, Path: p,
			Load: match.LoadOptions{Format: match.FormatText, Defaults: match.Meta{Source: "allowlist"},
				Guard: match.Guard{AllowPrivate: true, AllowBroad: true, AllowPublicSuffix: true}},
		})
	}
	return opt
}

// compileExclusions compiles the config's exclusion rules (nil for none).
func compileExclusions(cfg *config.Config) (*match.Exclusions, error) {
	specs, err := exclusionSpecs(cfg)
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	return match.CompileExclusions(specs) // its errors begin with "exclusions:"
}

// rulesWarnings are the warnings about a set of rules: expired or soon
// expiring exclusions, and too many patterns for the automaton.
func rulesWarnings(rules *stream.Rules, patternLimit int, now time.Time) []string {
	var w []string
	if rules.Exclusions != nil {
		w = append(w, rules.Exclusions.Warnings(now)...)
	}
	if n := rules.Index.PatternCount(); patternLimit > 0 && n > patternLimit {
		w = append(w, fmt.Sprintf("%d pattern indicators: the Aho-Corasick automaton costs about 62 KiB each (%d MiB); consider domain or URL indicators (match.pattern_warn: %d)", n, n*62/1024, patternLimit))
	}
	return w
}

// emptyFeeds warns of feeds and allow-lists that loaded without an error
// and hold nothing: an empty file, or one whose lines were all comments,
// refused or skipped — seldom what the configuration meant.
func emptyFeeds(rep *loadReport) []string {
	var w []string
	for _, f := range rep.all() {
		if f.err == nil && f.total == 0 && f.retained == 0 {
			w = append(w, fmt.Sprintf("%s %q (%s) holds no indicators", f.what(), f.name, f.path))
		}
	}
	return w
}

// loadRules loads everything the config names into one Rules snapshot,
// once, for the one-shot commands (check, lookup, replay, demo): file
// feeds are read, http and taxii feeds fetched. The cache directory is
// read as run reads it — its cached copies stand in for an unreachable
// server, a TTL feed's kept values are loaded — but never written
// (feed.Options.CacheReadOnly): it belongs to the running service, which
// a candidate config's stricter guard or shorter ttl, or a download the
// service has not loaded, must not change behind its back. A feed that
// fails is reported and left out; the error is for a config that cannot
// be used or an index that cannot be built.
func loadRules(cfg *config.Config, now time.Time) (*stream.Rules, *loadReport, error) {
	return loadRulesAt(cfg, now, false)
}

// loadRulesAt is loadRules; with atEventTime the exclusions judge a rule's
// expiry at each event's time instead of now (match.Exclusions.AtEventTime),
// as a replay of past events needs, and their warnings say so.
func loadRulesAt(cfg *config.Config, now time.Time, atEventTime bool) (*stream.Rules, *loadReport, error) {
	ex, err := compileExclusions(cfg)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if atEventTime {
		ex = ex.AtEventTime()
	}
	opt := feedOptions(cfg)
	opt.Now = func() time.Time { return now }
	opt.CacheReadOnly = true // only run writes the cache
	m, err := feed.New(opt)
	if err != nil {
		return nil, nil, usageError{err}
	}
	defer m.Close()
	u, err := m.Load(context.Background())
	rep := reportOf(m.Status(), now)
	if err != nil {
		return nil, rep, err
	}
	rules := &stream.Rules{Index: u.Index, Allow: u.Allow, Exclusions: ex}
	rep.indexKind = u.Index.Counts()
	rep.warnings = append(emptyFeeds(rep), rulesWarnings(rules, cfg.Match.PatternWarn, now)...)
	rep.warnings = append(rep.warnings, unreadableCache(cfg.FeedCacheDir)...)
	if cfg.History.Enabled {
		rep.warnings = append(rep.warnings, retroHuntWarnings(ex)...)
	}
	return rules, rep, nil
}

// retroHuntWarnings names, for a config whose history is on, the account
// values written DOMAIN\name: the history does not keep the account
// domain, so a retro-hunt never matches them, and the rule never excludes
// that account's retro-hunt hits (the live path and replay do).
func retroHuntWarnings(ex *match.Exclusions) []string {
	var w []string
	for _, r := range ex.Rules() {
		where := fmt.Sprintf("%s: rule %q", r.Origin, r.Name)
		if r.Origin == "" {
			where = fmt.Sprintf("rule %q", r.Name)
		}
		for _, a := range r.DomainAccounts() {
			w = append(w, fmt.Sprintf("%s: account %q names the account's domain, which the history does not keep: the rule never excludes that account's retro-hunt hits (a bare name matches in any domain)", where, a))
		}
	}
	return w
}

// unreadableCache warns when the feed cache directory, or a cached copy
// or kept values in it, cannot be read: the one-shot commands then load
// the feeds without what run starts from (a copy standing in for a server
// that is down, the values a ttl keeps), which they would otherwise show
// as run does. The service makes the directory its own (mode 0700, files
// 0600), so a check run as another user meets this. A directory that does
// not exist yet is no warning: run has not written it.
func unreadableCache(dir string) []string {
	if dir == "" {
		return nil
	}
	const without = "the feeds load without the cached copies and kept values run starts from; run this as a user who can read it (root, or the service's user)"
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("feed_cache_dir cannot be read (%v): %s", err, without)}
	}
	var bad []error
	for _, e := range entries {
		if n := e.Name(); e.IsDir() || !strings.HasSuffix(n, ".cache") && !strings.HasSuffix(n, ".retained.jsonl") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			bad = append(bad, err)
			continue
		}
		f.Close()
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return []string{fmt.Sprintf("feed_cache_dir: a file cannot be read (%v): %s", bad[0], without)}
	}
	return []string{fmt.Sprintf("feed_cache_dir: %d files cannot be read (the first: %v): %s", len(bad), bad[0], without)}
}

// printFeedReport prints one feed's state for `check`: counts, refusals,
// skips, and the fetch history (last fetch, last success, age).
func printFeedReport(w io.Writer, f feedReport) {
	if f.err != nil && f.total == 0 {
		fmt.Fprintf(w, "  %-20s ERROR %v\n", f.name, f.err)
		if !f.lastFetch.IsZero() {
			fmt.Fprintf(w, "      %s\n", fetchHistory(f, time.Time{}))
		}
		return
	}
	fmt.Fprintf(w, "  %-20s %-12s %18s (%s), %d refused, %d skipped  [%s, loaded %s]\n",
		f.name, f.format, plural(int64(f.total), "indicator"), kindCounts(f.counts), len(f.refused), f.skipped, f.path, timeOrNever(f.loadedAt))
	fmt.Fprintf(w, "      %s\n", fetchHistory(f, time.Time{}))
	if f.retained > 0 {
		fmt.Fprintf(w, "      %d of them no longer listed, kept until their ttl\n", f.retained)
	}
	if f.err != nil {
		fmt.Fprintf(w, "      last fetch failed: %v\n", f.err)
	}
	if f.held != nil {
		fmt.Fprintf(w, "      HELD BACK since %s: the feed shrank from %d to %d indicators; the previous ones stay in use until the next fetch confirms the size (or SIGHUP for a file)\n",
			f.held.Since.Format(time.RFC3339), f.held.Previous, f.held.Total)
	}
	for _, n := range f.notes {
		fmt.Fprintf(w, "      note: %s\n", n)
	}
	for _, r := range f.refused {
		fmt.Fprintf(w, "      refused %s\n", r)
	}
	reasons := make([]string, 0, len(f.skippedReasons))
	for reason := range f.skippedReasons {
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	for _, reason := range reasons {
		fmt.Fprintf(w, "      skipped %d: %s\n", f.skippedReasons[reason], reason)
	}
}

// printFeedStates prints one line per feed for `lookup`: what the answer
// is based on and how fresh it is.
func printFeedStates(w io.Writer, rep *loadReport) {
	all := rep.all()
	if len(all) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfeeds:")
	for _, f := range all {
		state := fmt.Sprintf("%s (%s), %d refused", plural(int64(f.total), "indicator"), kindCounts(f.counts), len(f.refused))
		if f.err != nil {
			state += fmt.Sprintf(", ERROR %v", f.err)
		}
		if f.held != nil {
			state += fmt.Sprintf(", shrink to %d held back", f.held.Total)
		}
		fmt.Fprintf(w, "  %-20s %s; %s\n", f.name, state, fetchHistory(f, rep.at))
	}
}

// fetchHistory says "last fetch …, last success …, age …" (now zero:
// the age is left out).
func fetchHistory(f feedReport, now time.Time) string {
	s := fmt.Sprintf("last fetch %s, last success %s", timeOrNever(f.lastFetch), timeOrNever(f.lastSucess))
	if !f.dataTime.IsZero() {
		if now.IsZero() {
			now = time.Now()
		}
		s += ", age " + now.Sub(f.dataTime).Round(time.Second).String()
	}
	if f.fromCache {
		s += " (cached copy: the source could not be reached)"
	}
	return s
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func kindCounts(m map[match.Kind]int) string {
	kinds := []match.Kind{match.KindIP, match.KindCIDR, match.KindDomain, match.KindURL, match.KindPattern}
	var parts []string
	for _, k := range kinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
