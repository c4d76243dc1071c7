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

	"github.com/iocwatch/iocwatch/match"
)

const lookupUsage = `lookup [-c FILE | --feed FILE...] [--exclusions FILE] [event flags] VALUE...

For each VALUE — an IP address, a domain or a URL — prints the indicators
that match it (kind, value, feed, severity, tags, where it was read), whether
the allow-list covers it, and which exclusion rule would suppress the hit for
an event with the facts given by the event flags (process, path, device…).
A VALUE of - reads values from stdin, one a line (blank lines and lines
starting with # skipped): paste an incident's addresses to see which are
known. Exits 1 when a value matches nothing.`

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
	fs.StringVar(&subj.Account, "account", "", "account `name`")
	fs.StringVar(&subj.ActionType, "action", "ConnectionSuccess", "`ActionType`")
	fs.StringVar(&subj.Table, "table", "DeviceNetworkEvents", "`table`")
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
	if err := unreadableFeedFiles(rep); err != nil {
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
		hits := rules.Index.Lookup(value, now)
		fmt.Fprintf(w, "%s: %d matching indicators\n", value, len(hits))
		if len(hits) == 0 {
			missed++
		}
		s := subj
		if a, err := netip.ParseAddr(strings.Trim(value, "[]")); err == nil {
			s.RemoteIP = a.Unmap()
		} else if host, ok := match.NormalizeHost(value); ok {
			s.RemoteHost = host
			if a, err := netip.ParseAddr(host); err == nil {
				s.RemoteIP = a.Unmap()
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
			if rules.Exclusions != nil {
				if r := rules.Exclusions.Match(&s, h, now); r != nil {
					fmt.Fprintf(w, "      excluded by %q: %s\n", r.Name, r.Reason)
				} else {
					fmt.Fprintf(w, "      no exclusion applies%s\n", describeSubject(&s))
				}
			}
		}
		if rules.Allow != nil {
			if allowed := rules.Allow.Lookup(value, now); len(allowed) > 0 {
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
	add("device", s.DeviceName)
	add("account", s.Account)
	if s.RemotePort != 0 {
		add("port", strconv.Itoa(int(s.RemotePort)))
	}
	if len(facts) == 0 {
		return " (to a hit with no process, device or account facts: add --process, --path… to ask about a specific event)"
	}
	return " (for " + strings.Join(facts, " ") + ")"
}

// lookupValues returns args with each "-" replaced by the values read from
// stdin, one a line; blank lines and lines starting with '#' are skipped.
func lookupValues(args []string, stdin io.Reader) ([]string, error) {
	var out []string
	for _, a := range args {
		if a != "-" {
			out = append(out, a)
			continue
		}
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if v := strings.TrimSpace(sc.Text()); v != "" && !strings.HasPrefix(v, "#") {
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
