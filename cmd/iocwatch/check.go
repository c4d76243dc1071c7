package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

const checkUsage = `check [-c FILE | --feed FILE...] [--exclusions FILE] [--show-config]

Loads the config, every feed, the allow-list and the exclusions exactly as
run would, and prints indicator counts by kind and by feed, every refused
feed line (file:line and why), and every warning. Exits 1 when anything was
refused or failed to load, 2 when the config itself is invalid.`

func cmdCheck(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "check", checkUsage)
	var common commonFlags
	common.register(fs)
	showConfig := fs.Bool("show-config", false, "print the effective config (secrets redacted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	cfg, err := common.loadConfig()
	if err != nil {
		return err
	}
	// The exclusions are part of the config: it is not "valid" until they
	// compile.
	if _, err := compileExclusions(cfg); err != nil {
		return usageError{err}
	}
	out := newSecretWriter(env.stdout, cfg) // feed errors may echo credentials
	defer out.Flush()
	w := out
	now := time.Now()
	if common.configPath != "" {
		fmt.Fprintf(w, "config %s: valid\n", common.configPath)
		if warn := config.WarnWorldReadable(common.configPath); warn != "" {
			fmt.Fprintf(w, "warning: %s\n", warn)
		}
	}
	for _, warn := range cfg.Warnings() {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if *showConfig {
		fmt.Fprintln(w, "\neffective config:")
		fmt.Fprintln(w, cfg.Redacted())
	}
	rules, rep, err := loadRules(cfg, now)
	problems := 0
	if rep != nil {
		problems = rep.problems()
		fmt.Fprintln(w, "\nfeeds:")
		for _, f := range rep.feeds {
			printFeedReport(w, f)
		}
		if len(rep.allow) > 0 {
			fmt.Fprintln(w, "\nallow-list files:")
			for _, f := range rep.allow {
				printFeedReport(w, f)
			}
		}
	}
	if err != nil {
		if errors.As(err, new(usageError)) {
			return err // an invalid exclusion or feed spec: the config itself, exit 2 as run gives
		}
		fmt.Fprintf(w, "\nerror: %v\n", err)
		return errProblemsFound
	}
	ix := rules.Index
	fmt.Fprintf(w, "\nindex: %s (%s), IP index %s\n", plural(int64(ix.Len()), "indicator"), kindCounts(ix.Counts()), orDefault(cfg.Match.IPIndex, "bart"))
	bySource := map[string]map[match.Kind]int{}
	for _, ind := range ix.Indicators() {
		if bySource[ind.Meta.Source] == nil {
			bySource[ind.Meta.Source] = map[match.Kind]int{}
		}
		bySource[ind.Meta.Source][ind.Kind]++
	}
	sources := make([]string, 0, len(bySource))
	for s := range bySource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		fmt.Fprintf(w, "  source %-24s %s\n", s, kindCounts(bySource[s]))
	}
	if rules.Allow != nil {
		fmt.Fprintf(w, "allow-list: %d values (%s)\n", rules.Allow.Len(), kindCounts(rules.Allow.Counts()))
	}
	if rules.Exclusions != nil {
		fmt.Fprintf(w, "exclusions: %d rules\n", len(rules.Exclusions.Rules()))
		for _, r := range rules.Exclusions.Rules() {
			exp := ""
			if !r.Expires.IsZero() {
				exp = ", expires " + match.FormatExpiry(r.Expires) // in UTC, as the warnings say it
			}
			fmt.Fprintf(w, "  %-28s %s%s\n", r.Name, r.Reason, exp)
		}
	} else {
		fmt.Fprintln(w, "exclusions: none")
	}
	for _, warn := range rep.warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if cfg.Source.Type == "file" {
		// What run would read: patterns and directories expanded, every
		// file there.
		files, err := stream.ExpandPaths(cfg.Source.File.Paths)
		for _, f := range files {
			if err != nil {
				break
			}
			_, err = os.Stat(f)
		}
		if err != nil {
			fmt.Fprintf(w, "\nsource: file: error: source.file.paths: %v\n", err)
			problems++
		} else {
			fmt.Fprintf(w, "\nsource: file, %d files\n", len(files))
		}
	}
	fmt.Fprintf(w, "\nsinks: %d\n", len(cfg.Sinks))
	for _, s := range cfg.Sinks {
		be := ""
		if s.BestEffort {
			be = " (best effort)"
		}
		fmt.Fprintf(w, "  %-16s %s%s\n", s.Name, s.Type, be)
	}
	if problems > 0 {
		fmt.Fprintf(w, "\n%d problems (see above)\n", problems)
		return errProblemsFound
	}
	fmt.Fprintln(w, "\nok")
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
