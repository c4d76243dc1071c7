package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream/history"
)

const huntUsage = `hunt [-c FILE | --history DIR] [--since 24h|RFC3339] [--until …] VALUE...

Searches the retro-hunt history (history.path of the config, or --history)
for the observations that talked to any VALUE — an IP, a CIDR, a domain
(subdomains match), a URL or a URL prefix ending in '*' — with the matching
rules of the live path, and prints them: JSON lines, or a table on a
terminal. It only reads: it can run beside the iocwatch that writes the
history. A summary goes to stderr. The table is sorted by event time;
JSON lines come in recording order.`

// huntLine is one matching observation as the hunt command prints it.
// The column names are Defender's, like an alert's.
type huntLine struct {
	Timestamp    time.Time   `json:"timestamp,omitzero"`
	Table        string      `json:"table"`
	DeviceID     string      `json:"DeviceId"`
	DeviceName   string      `json:"DeviceName"`
	ActionType   string      `json:"ActionType"`
	RemoteIP     string      `json:"RemoteIP,omitempty"`
	RemotePort   int         `json:"RemotePort,omitempty"`
	RemoteURL    string      `json:"RemoteUrl,omitempty"`
	FileName     string      `json:"InitiatingProcessFileName,omitempty"`
	FolderPath   string      `json:"InitiatingProcessFolderPath,omitempty"`
	SHA256       string      `json:"InitiatingProcessSHA256,omitempty"`
	AccountName  string      `json:"InitiatingProcessAccountName,omitempty"`
	MachineGroup string      `json:"MachineGroup,omitempty"`
	ReportID     int64       `json:"ReportId"`
	TenantID     string      `json:"TenantId,omitempty"`
	Matched      []huntMatch `json:"matched"`
}

type huntMatch struct {
	Value string `json:"value"` // the VALUE, in canonical form
	Kind  string `json:"kind"`
	Field string `json:"field"` // RemoteIP, RemoteUrl or RemoteUrl.host
}

func cmdHunt(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "hunt", huntUsage)
	common := commonFlags{withoutSource: true} // only the history is read
	fs.StringVar(&common.configPath, "c", "", "YAML config `file` whose history.path to search")
	fs.StringVar(&common.configPath, "config", "", "same as -c")
	dir := fs.String("history", "", "history `directory` to search (instead of the config's history.path)")
	since := fs.String("since", "", "only observations at or after this `time`: a duration back from now (24h, 7d) or RFC 3339")
	until := fs.String("until", "", "only observations before this `time`: a duration back from now or RFC 3339")
	asJSON := fs.Bool("json", false, "print JSON lines even on a terminal")
	asTable := fs.Bool("table", false, "print a table even when not on a terminal")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("name at least one IP, CIDR, domain or URL to hunt for")
	}
	now := time.Now()
	win, err := history.ParseWindow(*since, *until, now)
	if err != nil {
		return usageError{err}
	}
	inds := make([]*match.Indicator, 0, fs.NArg())
	for i, v := range fs.Args() {
		kind, canon, err := match.ParseValue(v)
		if err != nil {
			return usagef("VALUE %q: %w", v, err)
		}
		inds = append(inds, &match.Indicator{Kind: kind, Value: canon, Meta: &match.Meta{Where: fmt.Sprintf("argument %d", i+1)}})
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		return usageError{err}
	}
	if *dir == "" {
		if common.configPath == "" {
			return usagef("no history to search: give --history DIR or -c FILE (with history.path)")
		}
		cfg, err := common.loadConfig()
		if err != nil {
			return err
		}
		if cfg.History.Path == "" {
			return usagef("%s: history.path is not set", common.configPath)
		}
		*dir = cfg.History.Path
		if err := checkHistoryDir(common.configPath+": history.path", *dir); err != nil {
			return err
		}
	} else if err := checkHistoryDir("--history", *dir); err != nil {
		return err
	}
	// Damaged segments are read where they parse (a damaged block is
	// passed over) and named on stderr, and the damage is counted in the
	// summary: a silent gap would read as "nobody talked to it". A
	// directory or segment that cannot be read fails the hunt.
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := history.Open(history.Options{Dir: *dir, ReadOnly: true, Log: log})
	if errors.Is(err, history.ErrNoHistory) {
		return usageError{err} // a mistyped path, as a missing directory is
	}
	if err != nil {
		return err
	}
	defer h.Close(context.Background())

	// JSON lines stream in recording order (segment by segment, as the
	// scan reads them); the table, for a person, is sorted by event time:
	// its rows are held anyway, since the columns' widths depend on all.
	table := (env.stdoutIsTerminal || *asTable) && !*asJSON
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	var rows []huntRow
	matched := 0
	st, err := h.Scan(ctx, history.Query{Index: ix, Since: win.Since, Until: win.Until}, func(o *history.Observation, hits []match.Hit) error {
		matched++
		line := huntLineOf(o, hits)
		if table {
			rows = append(rows, huntRow{line.Timestamp, formatHuntRow(&line)})
			return nil
		}
		return enc.Encode(&line)
	})
	if table {
		// What was found before an error (or an interrupt) is shown too,
		// as JSON lines are.
		if werr := writeHuntTable(env.stdout, rows); err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	hs := h.Stats()
	held := "an empty history"
	if hs.Observations > 0 {
		held = fmt.Sprintf("%d observations from %s to %s", hs.Observations, hs.Oldest.Format(time.RFC3339), hs.Newest.Format(time.RFC3339))
	}
	fmt.Fprintf(env.stderr, "%d matching observations; %d of %d segments read, %d observations decoded; %s holds %s\n",
		matched, st.Read, st.Segments, st.Observations, *dir, held)
	if st.DamagedBlocks > 0 {
		// The segments are named in the warnings above.
		places := "1 place"
		if st.DamagedBlocks > 1 {
			places = fmt.Sprintf("%d places", st.DamagedBlocks)
		}
		lost := ""
		if st.LostMatches > 0 {
			lost = fmt.Sprintf("; %d more matching observations are not shown: their device, process, account or action was in the damaged bytes", st.LostMatches)
		}
		fmt.Fprintf(env.stderr, "damaged history: %d bytes that do not parse passed over in %s, the observations they held lost%s\n",
			st.DamagedBytes, places, lost)
	}
	return nil
}

func huntLineOf(o *history.Observation, hits []match.Hit) huntLine {
	l := huntLine{
		Timestamp: o.Timestamp, Table: o.Table.String(), DeviceID: o.DeviceID, DeviceName: o.DeviceName,
		ActionType: o.ActionType, RemotePort: int(o.RemotePort), RemoteURL: o.RemoteURL,
		FileName: o.ProcessFileName, FolderPath: o.ProcessFolderPath, SHA256: o.ProcessSHA256,
		AccountName: o.AccountName, MachineGroup: o.MachineGroup, ReportID: o.ReportID, TenantID: o.TenantID,
	}
	if o.RemoteIP.IsValid() {
		l.RemoteIP = o.RemoteIP.String()
	}
	for _, h := range hits {
		l.Matched = append(l.Matched, huntMatch{Value: h.Indicator.Value, Kind: h.Indicator.Kind.String(), Field: h.Field.String()})
	}
	return l
}

// huntRow is one row of the table: the observation's time, and the row.
type huntRow struct {
	ts  time.Time
	row string
}

// writeHuntTable writes rows as a table sorted by time: rows without one
// last, rows of the same time in the order found (recording order).
func writeHuntTable(w io.Writer, rows []huntRow) error {
	slices.SortStableFunc(rows, func(a, b huntRow) int {
		return cmp.Or(cmp.Compare(btoi(a.ts.IsZero()), btoi(b.ts.IsZero())), a.ts.Compare(b.ts))
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tDEVICE\tACTION\tREMOTE\tPROCESS\tACCOUNT\tMATCHED")
	for _, r := range rows {
		io.WriteString(tw, r.row)
	}
	return tw.Flush()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// formatHuntRow returns l as a row of the table, its cells separated by
// tabs.
func formatHuntRow(l *huntLine) string {
	ts := "-"
	if !l.Timestamp.IsZero() {
		ts = l.Timestamp.UTC().Format("2006-01-02 15:04:05.000")
	}
	remote := l.RemoteIP
	if l.RemotePort != 0 && remote != "" {
		if strings.Contains(remote, ":") {
			remote = "[" + remote + "]"
		}
		remote += ":" + strconv.Itoa(l.RemotePort)
	}
	if l.RemoteURL != "" {
		if remote != "" {
			remote += " "
		}
		remote += l.RemoteURL
	}
	var m []string
	for _, x := range l.Matched {
		m = append(m, x.Kind+" "+x.Value)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ts, cell(l.DeviceName), cell(l.ActionType), cell(remote),
		cell(l.FileName), cell(l.AccountName), cell(strings.Join(m, ", ")))
}

// cell makes a value safe for one table cell: no tabs, newlines or other
// control characters (they would break the columns or drive the terminal),
// "-" when empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
