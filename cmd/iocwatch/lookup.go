package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/internal/textenc"
	"github.com/iocwatch/iocwatch/match"
)

const lookupUsage = `lookup [-c FILE | --feed FILE...] [--exclusions FILE] [event flags] VALUE...

For each VALUE — an IP address, a CIDR range, a domain or a URL, defanged
or not (evil[.]example, hxxp://…) — prints the indicators that match it
(kind, value, feed, severity, tags, where it was read), whether the
allow-list covers it, and which exclusion rule would suppress the hit for an
event with the facts given by the event flags (process, path, device…).
--account takes NAME or DOMAIN\NAME. A range lists the ip and cidr
indicators that cover it or lie inside it, and for each which exclusion
applies to which part of the addresses that would hit it; a value that
matches only indicators not valid now says so. A VALUE of - reads values
from stdin, one a line (blank lines, lines starting with # and " #
comments" skipped): paste an incident's addresses to see which are known.
Exits 1 when a value matches nothing.`

func cmdLookup(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "lookup", lookupUsage)
	var common commonFlags
	common.register(fs)
	common.withoutSource = true // no events are read
	var subj match.Subject
	fs.StringVar(&subj.ProcessName, "process", "", "initiating process file `name` (e.g. svchost.exe)")
	fs.StringVar(&subj.ProcessPath, "path", "", "initiating process folder `path` (e.g. c:\\windows\\system32\\svchost.exe)")
	fs.StringVar(&subj.ProcessSHA256, "sha256", "", "initiating process `SHA-256`")
	fs.StringVar(&subj.DeviceName, "device", "", "device `name`")
	fs.StringVar(&subj.DeviceGroup, "device-group", "", "device `group` (MachineGroup)")
	fs.StringVar(&subj.Account, "account", "", "account `name` or DOMAIN\\name (e.g. CORP\\svc-backup)")
	fs.StringVar(&subj.ActionType, "action", "ConnectionSuccess", "`ActionType`")
	fs.StringVar(&subj.Table, "table", "DeviceNetworkEvents", "`table` of the event: DeviceNetworkEvents or DeviceEvents")
	port := fs.Int("port", 0, "remote `port`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one IP, domain or URL to look up")
	}
	if *port < 0 || *port > 65535 {
		return usagef("-port %d: not a port", *port)
	}
	if err := checkSHA256(subj.ProcessSHA256); err != nil {
		return err
	}
	if dom, name, ok := strings.Cut(subj.Account, `\`); ok {
		// Defender splits it: InitiatingProcessAccountDomain and …Name.
		if dom == "" || name == "" || strings.Contains(name, `\`) {
			return usagef(`--account %q: want NAME or DOMAIN\NAME`, subj.Account)
		}
		subj.AccountDomain, subj.Account = dom, name
	}
	table, err := watchedTable(subj.Table)
	if err != nil {
		return err
	}
	subj.Table = table
	subj.RemotePort = uint16(*port)
	cfg, err := common.loadConfig()
	if err != nil {
		return err
	}
	now := time.Now()
	rules, rep, err := loadRules(cfg, now)
	if err != nil {
		return err
	}
	if err := unusableFeedFiles(rep); err != nil {
		return err
	}
	errOut := newSecretWriter(env.stderr, cfg) // feed errors may echo credentials
	for _, f := range rep.feeds {
		if f.err != nil {
			fmt.Fprintf(errOut, "warning: %v\n", f.err)
		}
	}
	errOut.Flush()
	out := newSecretWriter(env.stdout, cfg)
	defer out.Flush()
	w := out
	values, err := lookupValues(fs.Args(), env.stdin)
	if err != nil {
		return err
	}
	missed := 0
	for i, value := range values {
		if i > 0 {
			fmt.Fprintln(w)
		}
		q := match.Refang(strings.TrimSpace(value)) // evil[.]example, as pasted from a report
		s := subj
		var hits []match.Hit
		rng, err := netip.ParsePrefix(q)
		isRange := err == nil
		if isRange {
			if a := rng.Addr(); a.Is4In6() && rng.Bits() >= 96 {
				// The pipeline unmaps RemoteIP: ::ffff:192.0.2.0/120 is 192.0.2.0/24.
				rng = netip.PrefixFrom(a.Unmap(), rng.Bits()-96)
			}
			hits = rules.Index.LookupPrefix(rng, now)
			verb := "indicators overlap"
			if len(hits) == 1 {
				verb = "indicator overlaps"
			}
			fmt.Fprintf(w, "%s: %d %s the range (covering it or inside it)\n", value, len(hits), verb)
		} else {
			hits = rules.Index.Lookup(q, now)
			noun := "indicators"
			if len(hits) == 1 {
				noun = "indicator"
			}
			fmt.Fprintf(w, "%s: %d matching %s\n", value, len(hits), noun)
			if a, err := netip.ParseAddr(strings.Trim(q, "[]")); err == nil {
				s.RemoteIP = a.Unmap()
			} else if host, ok := match.NormalizeHost(q); ok {
				s.RemoteHost = host
				if a, err := netip.ParseAddr(host); err == nil {
					s.RemoteIP = a.Unmap()
				}
			}
		}
		if len(hits) == 0 {
			missed++
			if !isRange {
				// In a feed, but not active now: say so rather than "unknown".
				for _, h := range rules.Index.Lookup(q, time.Time{}) {
					fmt.Fprintf(w, "  %s %s from feed %s matches but is not active now (%s)\n", h.Indicator.Kind, h.Indicator.Value, h.Indicator.Meta.Source, validity(h.Indicator.Meta))
				}
			}
		}
		for _, h := range hits {
			ind := h.Indicator
			fmt.Fprintf(w, "  %s %s on %s — feed %s", ind.Kind, ind.Value, h.Field, ind.Meta.Source)
			if ind.Meta.Severity != "" {
				fmt.Fprintf(w, ", severity %s", ind.Meta.Severity)
			}
			if ind.Meta.Confidence > 0 {
				fmt.Fprintf(w, ", confidence %d", ind.Meta.Confidence)
			}
			if len(ind.Meta.Tags) > 0 {
				fmt.Fprintf(w, ", tags %s", strings.Join(ind.Meta.Tags, ","))
			}
			if !ind.Meta.ValidUntil.IsZero() {
				fmt.Fprintf(w, ", valid until %s", ind.Meta.ValidUntil.Format(time.RFC3339))
			}
			fmt.Fprintln(w)
			if ind.Meta.Description != "" {
				fmt.Fprintf(w, "      %s\n", ind.Meta.Description)
			}
			if ind.Origin() != "" {
				fmt.Fprintf(w, "      from %s\n", ind.Origin())
			}
			switch {
			case rules.Exclusions == nil:
			case isRange:
				printRangeExclusions(w, rules.Exclusions, &s, hitRange(rng, ind), h, now)
			default:
				if r := rules.Exclusions.Match(&s, h, now); r != nil {
					fmt.Fprintf(w, "      excluded by %q: %s\n", r.Name, r.Reason)
				} else {
					fmt.Fprintf(w, "      no exclusion applies%s\n", describeSubject(&s))
				}
			}
		}
		if rules.Allow != nil {
			if allowed := rules.Allow.Lookup(q, now); len(allowed) > 0 {
				fmt.Fprintf(w, "  allow-listed by %s %s: never alerts\n", allowed[0].Indicator.Kind, allowed[0].Indicator.Value)
			}
		}
	}
	printFeedStates(w, rep)
	if missed > 0 {
		return errProblemsFound
	}
	return nil
}

// hitRange returns the addresses of range q whose events would hit
// indicator ind, an ip or cidr indicator overlapping q: q when ind covers
// it, else ind's own prefix.
func hitRange(q netip.Prefix, ind match.Indicator) netip.Prefix {
	q = q.Masked()
	p, err := netip.ParsePrefix(ind.Value)
	if err != nil {
		a, err := netip.ParseAddr(ind.Value)
		if err != nil {
			return q
		}
		a = a.WithZone("").Unmap()
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p = p.Masked(); p.Bits() > q.Bits() && q.Contains(p.Addr()) {
		return p
	}
	return q
}

// maxRangeParts is how many prefixes of one part of a range are listed.
const maxRangeParts = 8

// printRangeExclusions says which exclusion would suppress hit h for an
// event to each address of p: one rule for all of it, none, or each rule
// with its part and the part that alerts.
func printRangeExclusions(w io.Writer, x *match.Exclusions, s *match.Subject, p netip.Prefix, h match.Hit, now time.Time) {
	shares := x.MatchRange(s, p, h, now)
	if len(shares) == 1 {
		if r := shares[0].Rule; r != nil {
			fmt.Fprintf(w, "      excluded by %q: %s\n", r.Name, r.Reason)
		} else {
			fmt.Fprintf(w, "      no exclusion applies%s\n", describeSubject(s))
		}
		return
	}
	fmt.Fprintln(w, "      excluded for part of the range only:")
	for _, sh := range shares {
		parts := make([]string, 0, min(len(sh.Prefixes), maxRangeParts))
		for _, q := range sh.Prefixes[:min(len(sh.Prefixes), maxRangeParts)] {
			parts = append(parts, q.String())
		}
		list := strings.Join(parts, ", ")
		if n := len(sh.Prefixes) - maxRangeParts; n > 0 {
			list += fmt.Sprintf(" and %d more ranges", n)
		}
		if sh.Rule != nil {
			fmt.Fprintf(w, "        %s by %q: %s\n", list, sh.Rule.Name, sh.Rule.Reason)
		} else {
			fmt.Fprintf(w, "        %s: no exclusion applies%s\n", list, describeSubject(s))
		}
	}
}

// describeSubject says which event facts the exclusion check used.
func describeSubject(s *match.Subject) string {
	var facts []string
	add := func(k, v string) {
		if v != "" {
			facts = append(facts, k+"="+v)
		}
	}
	add("process", s.ProcessName)
	add("path", s.ProcessPath)
	add("sha256", s.ProcessSHA256)
	add("device", s.DeviceName)
	add("device-group", s.DeviceGroup)
	if s.AccountDomain != "" {
		add("account", s.AccountDomain+`\`+s.Account)
	} else {
		add("account", s.Account)
	}
	if s.RemotePort != 0 {
		add("port", strconv.Itoa(int(s.RemotePort)))
	}
	if s.ActionType != "ConnectionSuccess" { // the flags' defaults are facts of every lookup
		add("action", s.ActionType)
	}
	if s.Table != "DeviceNetworkEvents" {
		add("table", s.Table)
	}
	if len(facts) == 0 {
		return " (to a hit with no process, device or account facts: add --process, --path… to ask about a specific event)"
	}
	return " (for " + strings.Join(facts, " ") + ")"
}

// validity describes an indicator's validity period.
func validity(m *match.Meta) string {
	var parts []string
	if !m.ValidFrom.IsZero() {
		parts = append(parts, "valid from "+m.ValidFrom.UTC().Format(time.RFC3339))
	}
	if !m.ValidUntil.IsZero() {
		parts = append(parts, "valid until "+m.ValidUntil.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// lookupValues returns args with each "-" replaced by the values read from
// stdin, one a line (UTF-8 or UTF-16, as Windows tools write it); blank
// lines, lines starting with '#' and what follows " #" on a line are
// skipped.
func lookupValues(args []string, stdin io.Reader) ([]string, error) {
	var out []string
	for _, a := range args {
		if a != "-" {
			out = append(out, a)
			continue
		}
		br := bufio.NewReader(stdin)
		var in io.Reader = br
		if enc := textenc.SniffReader(br); enc != textenc.UTF8 {
			in = textenc.NewReader(br, enc)
		}
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			v := sc.Text()
			if i := strings.Index(v, " #"); i >= 0 {
				v = v[:i]
			}
			if v = strings.TrimSpace(strings.TrimPrefix(v, "\ufeff")); v != "" && !strings.HasPrefix(v, "#") {
				out = append(out, v)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("lookup: read values from stdin: %w", err)
		}
	}
	if len(out) == 0 {
		return nil, usagef("no value to look up on stdin")
	}
	return out, nil
}
