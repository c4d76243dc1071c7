package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// feedSpec is one indicator file to load, whatever the config said.
type feedSpec struct {
	name string // the feed's name in reports
	path string
	opt  match.LoadOptions
}

// feedReport is what loading one feed gave, for check, lookup and logs.
type feedReport struct {
	name, path, format string
	counts             map[match.Kind]int
	total              int
	refused            []match.Refusal
	skipped            int
	skippedReasons     map[string]int
	err                error
	loadedAt           time.Time
}

// loadReport is what building the rules gave.
type loadReport struct {
	feeds     []feedReport
	allow     []feedReport
	warnings  []string
	indexKind map[match.Kind]int
}

// problems counts refusals and feed errors (what makes check fail).
func (r *loadReport) problems() int {
	n := 0
	for _, f := range append(append([]feedReport(nil), r.feeds...), r.allow...) {
		n += len(f.refused)
		if f.err != nil {
			n++
		}
	}
	return n
}

func loadFeed(spec feedSpec, now time.Time) ([]*match.Indicator, feedReport) {
	rep := feedReport{name: spec.name, path: spec.path, counts: map[match.Kind]int{}, loadedAt: now}
	f, err := os.Open(spec.path)
	if err != nil {
		rep.err = fmt.Errorf("feed %q: %w", spec.name, err)
		return nil, rep
	}
	defer f.Close()
	opt := spec.opt
	if opt.Name == "" {
		opt.Name = spec.path
	}
	if opt.Now.IsZero() {
		opt.Now = now
	}
	if opt.Defaults.Source == "" {
		opt.Defaults.Source = spec.name
	}
	res, err := match.Load(f, opt)
	if err != nil {
		rep.err = fmt.Errorf("feed %q: %w", spec.name, err)
		return nil, rep
	}
	rep.format = res.Format
	rep.refused = res.Refused
	rep.skipped = res.Skipped
	rep.skippedReasons = res.SkippedReasons
	for _, ind := range res.Indicators {
		rep.counts[ind.Kind]++
	}
	rep.total = len(res.Indicators)
	return res.Indicators, rep
}

// buildRules loads every feed, the allow-list and the exclusions, and builds
// one Rules snapshot. A feed that cannot be read is reported and left out;
// the error is for what makes the snapshot unusable.
func buildRules(feeds, allow []feedSpec, allowValues []string, exclusions []match.RuleSpec, bopt match.BuildOptions, patternLimit int, now time.Time) (*stream.Rules, *loadReport, error) {
	rep := &loadReport{}
	var all []*match.Indicator
	for _, spec := range feeds {
		inds, fr := loadFeed(spec, now)
		all = append(all, inds...)
		rep.feeds = append(rep.feeds, fr)
	}
	ix, err := match.Build(all, bopt)
	if err != nil {
		return nil, rep, fmt.Errorf("build index: %w", err)
	}
	rep.indexKind = ix.Counts()
	rules := &stream.Rules{Index: ix}
	if len(allow) > 0 || len(allowValues) > 0 {
		var allowInds []*match.Indicator
		for i, v := range allowValues {
			kind, canon, err := match.ParseValue(v)
			if err != nil {
				return nil, rep, fmt.Errorf("allowlist[%d] %q: %w", i, v, err)
			}
			allowInds = append(allowInds, &match.Indicator{Kind: kind, Value: canon, Source: "allowlist", Origin: fmt.Sprintf("allowlist[%d]", i)})
		}
		for _, spec := range allow {
			spec.opt.Guard.AllowPrivate = true // an allow-list may name anything
			spec.opt.Guard.AllowBroad = true
			spec.opt.Guard.AllowPublicSuffix = true
			inds, fr := loadFeed(spec, now)
			allowInds = append(allowInds, inds...)
			rep.allow = append(rep.allow, fr)
		}
		if rules.Allow, err = match.Build(allowInds, bopt); err != nil {
			return nil, rep, fmt.Errorf("build allow-list: %w", err)
		}
	}
	if len(exclusions) > 0 {
		ex, err := match.CompileExclusions(exclusions)
		if err != nil {
			return nil, rep, fmt.Errorf("exclusions: %w", err)
		}
		rules.Exclusions = ex
		rep.warnings = append(rep.warnings, ex.Warnings(now)...)
	}
	if n, limit := ix.PatternCount(), patternLimit; limit > 0 && n > limit {
		rep.warnings = append(rep.warnings, fmt.Sprintf("%d pattern indicators: the Aho-Corasick automaton costs about 62 KiB each (%d MiB); consider domain or URL indicators (match.pattern_warn: %d)", n, n*62/1024, limit))
	}
	return rules, rep, nil
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
