package match

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/csvtail"
)

// CSVMapping maps CSV columns to indicator fields, for Format "csv". A
// column is named by its header (case-insensitive, surrounding spaces
// ignored) or by its 1-based index ("#3"). Empty means "no such column".
// Tags may name several columns separated by commas ("threat,tags"); every
// cell of a tags column is itself split at ',', ';' and '|'.
//
// When Value is empty the columns are guessed from the header names
// (value from "indicator", "ioc", "value", "ip", "domain", "url", …, else
// the first column; see docs/feeds.md). The zero value does that, with '#'
// comments, a header on the first line and ',' between fields. A
// CSVMapping is a plain value, safe for concurrent use.
//
// A column headed to_ids, as in MISP's CSV export, is honoured whatever
// the mapping: a row whose cell is 0 or false (any case) is context, not a
// detection indicator, and is skipped ("misp to_ids=false"), as the MISP
// JSON loader skips such an attribute. So is a column headed
// attribute_tag, the export's tags of an attribute: its cell is MISP's tag
// names joined by commas (a comma inside a tag's quoted value is the
// tag's), each a tag of the row's indicators (unless the mapping's Tags
// names that column: it is read as mapped then). The export's
// includeContext columns event_tag and event_info are honoured too: the
// event's tags, split as attribute_tag is, come before the attribute's
// (after the mapped Tags), as the MISP JSON loader orders event and
// attribute Tag; the event's info is the description, followed by the
// mapped description (MISP's comment) as "info: comment", as in MISP JSON.
// A column the mapping names itself is read as mapped only.
type CSVMapping struct {
	Value, Kind, Source, Severity, Confidence, Tags, Description, Reference, ValidFrom, ValidUntil string

	// Comment is the comment-line prefix; empty means "#". Blank lines and
	// comment lines are skipped anywhere in the file (a "# END" footer).
	Comment string
	// NoComments says the file has no comment lines: Comment is ignored and
	// a line starting with '#' is data.
	NoComments bool
	// HeaderInComment says the header is the last comment line before the
	// data (URLhaus: "# id,dateadded,url,…"). When the Value column is not
	// found there, the first data line is taken as the header instead.
	HeaderInComment bool
	// NoHeader says the file has no header line; every column must then be
	// mapped by index, and Value defaults to "#1".
	NoHeader bool
	// Delimiter separates fields; 0 means ','.
	Delimiter rune
	// DefaultKind is the kind of every value when there is no Kind column;
	// KindInvalid (zero) detects it per value with ParseValue.
	DefaultKind Kind
	// NullValues are cell values that mean empty ("None" in URLhaus),
	// compared case-sensitively after trimming spaces.
	NullValues []string
}

// csvfKind is what one value of a Kind column means.
type csvfKind struct {
	kind Kind // KindInvalid: detect with ParseValue
	port bool // the value carries a ":port" (or "|port") to cut at the last separator
	// url says the value is a URL, or a bare host taken for what it is
	// (kind KindInvalid): a '#' right after the host starts a fragment,
	// not a comment.
	url bool
	// domainIP says the value is MISP's "domain|address": both halves
	// are indicators (mispDomainIPValue).
	domainIP bool
}

// csvfKinds are the Kind column values understood by Format "csv",
// lower-cased.
var csvfKinds = map[string]csvfKind{
	"ip": {kind: KindIP}, "ipv4": {kind: KindIP}, "ipv6": {kind: KindIP}, "ip-dst": {kind: KindIP},
	"ip-src": {kind: KindIP}, "ipaddress": {kind: KindIP}, "ip_address": {kind: KindIP},
	"ip address": {kind: KindIP}, "ipv4-addr": {kind: KindIP}, "ipv6-addr": {kind: KindIP},
	"address": {kind: KindIP},
	"ip:port": {kind: KindIP, port: true}, "ip-dst|port": {kind: KindIP, port: true},
	"ip-src|port": {kind: KindIP, port: true}, "ip_port": {kind: KindIP, port: true},
	"cidr": {kind: KindCIDR}, "netblock": {kind: KindCIDR}, "subnet": {kind: KindCIDR},
	"prefix": {kind: KindCIDR}, "network": {kind: KindCIDR},
	"domain": {kind: KindDomain}, "hostname": {kind: KindDomain}, "domainname": {kind: KindDomain},
	"hostname|port": {kind: KindDomain, port: true}, "domain-name": {kind: KindDomain},
	"domain_name": {kind: KindDomain}, "fqdn": {kind: KindDomain},
	"host": {kind: KindDomain},
	"url":  {kind: KindURL}, "uri": {kind: KindURL},
	"domain|ip": {domainIP: true}, // both halves: a domain and an ip
	"pattern":   {kind: KindPattern}, "substring": {kind: KindPattern},
}

// csvfSpec is one CSV flavour: a mapping plus what the format implies.
type csvfSpec struct {
	format    string
	m         CSVMapping
	source    string              // implied source
	guess     bool                // guess columns from the header when m.Value is empty
	kinds     map[string]csvfKind // Kind column values; nil: csvfKinds
	skipRow   func(r *csvfRow) string
	decorate  func(r *csvfRow, ind *Meta)
	kindLabel string // names the Kind column in skip reasons; default "<format> <column>"
}

func csvfGeneric(m CSVMapping) *csvfSpec {
	return &csvfSpec{format: FormatCSV, m: m, guess: true}
}

// csvfPreset returns the spec of a named abuse.ch or Defender CSV format.
func csvfPreset(format string) *csvfSpec {
	switch format {
	case FormatFeodo:
		// The header is a quoted line after the '#' preamble; some
		// versions of the list wrote it as the preamble's last line
		// ("# first_seen_utc,dst_ip,…").
		return &csvfSpec{format: format, source: "feodotracker", m: CSVMapping{
			Value: "dst_ip", Tags: "malware", ValidFrom: "first_seen_utc", DefaultKind: KindIP,
			HeaderInComment: true,
		}}
	case FormatURLhaus:
		return &csvfSpec{format: format, source: "urlhaus", m: CSVMapping{
			Value: "url", Tags: "threat,tags", Reference: "urlhaus_link", ValidFrom: "dateadded",
			HeaderInComment: true, NullValues: []string{"None"}, DefaultKind: KindURL,
		}}
	case FormatThreatFox:
		return &csvfSpec{format: format, source: "threatfox", m: CSVMapping{
			Value: "ioc_value", Kind: "ioc_type", Tags: "threat_type,malware_printable,tags",
			Description: "malware_printable", Confidence: "confidence_level", Reference: "reference",
			ValidFrom: "first_seen_utc", HeaderInComment: true, NullValues: []string{"None"},
		}, kinds: map[string]csvfKind{
			"ip:port": {kind: KindIP, port: true}, "domain": {kind: KindDomain}, "url": {kind: KindURL},
		}, decorate: func(r *csvfRow, ind *Meta) {
			if id := r.byName("ioc_id"); ind.Reference == "" && ldAllDigits(id) {
				ind.Reference = "https://threatfox.abuse.ch/ioc/" + id + "/"
			}
			// Newer exports say when the host is a compromised legitimate site.
			if strings.EqualFold(r.byName("is_compromised"), "true") {
				ind.Tags = ldAddTags(ind.Tags, "compromised")
			}
		}}
	case FormatDefenderCSV:
		return &csvfSpec{format: format, source: "defender", m: CSVMapping{
			Value: "IndicatorValue", Kind: "IndicatorType", ValidUntil: "ExpirationTime",
			Severity: "Severity", Description: "Title", Tags: "Category,MitreTechniques",
		}, kinds: map[string]csvfKind{
			// A Defender "Url" indicator is often a bare host: take it as a domain then.
			"ipaddress": {kind: KindIP}, "url": {url: true}, "domainname": {kind: KindDomain},
		}, skipRow: func(r *csvfRow) string {
			if a := r.byName("action"); strings.EqualFold(a, "allowed") {
				return "defender-csv action: Allowed"
			}
			return ""
		}, decorate: func(r *csvfRow, ind *Meta) {
			if d := r.byName("description"); d != "" {
				if ind.Description == "" {
					ind.Description = d
				} else {
					ind.Description += ": " + d
				}
			}
		}}
	}
	return nil
}

// csvfRow is one record with its header.
type csvfRow struct {
	rec   []string
	names map[string]int // lower-cased header name → index
	nulls []string
}

func (r *csvfRow) cell(i int) string {
	if i < 0 || i >= len(r.rec) {
		return ""
	}
	v := strings.TrimSpace(r.rec[i])
	for _, n := range r.nulls {
		if v == n {
			return ""
		}
	}
	return v
}

func (r *csvfRow) byName(name string) string {
	i, ok := r.names[strings.ToLower(name)]
	if !ok {
		return ""
	}
	return r.cell(i)
}

// csvfCols is a mapping resolved to column indexes (-1: none).
type csvfCols struct {
	value, kind, source, severity, confidence, description, reference, validFrom, validUntil int
	tags                                                                                     []int
	// toIDs is MISP's to_ids column, found by its header name
	// (csvfMISPColumn), not mapped: a row whose cell is 0 or false is
	// context, not a detection indicator, and is skipped.
	toIDs int
	// mispTags is MISP's attribute_tag column, found by its header name
	// (csvfMISPColumn), not mapped: its cell is tag names joined by
	// commas (mispSplitTags). -1 when the mapping's Tags names it.
	mispTags int
	// eventTags is the event_tag column of MISP's CSV export made with
	// includeContext, found and split as mispTags is; -1 when the
	// mapping's Tags names it.
	eventTags int
	// eventInfo is the event_info column of MISP's CSV export made with
	// includeContext, found by its header name: the description, before
	// the mapped one. -1 when the mapping's Description names it.
	eventInfo int
}

// csvfMISPColumn returns the column of a header named name, compared in
// csvfNorm form (to_ids is "toids", and "To IDs" is it too), as MISP's
// CSV export names its to_ids, attribute_tag, event_tag and event_info
// columns, or -1.
func csvfMISPColumn(header []string, name string) int {
	for i, h := range header {
		if csvfNorm(h) == name {
			return i
		}
	}
	return -1
}

// csvfToIDs reads a to_ids cell: MISP writes 1 or 0; true and false in
// any case are taken too (a spreadsheet's or another tool's). An empty
// cell says nothing, as an absent to_ids in MISP JSON: the row is an
// indicator. ok is false for any other value.
func csvfToIDs(cell string) (toIDs, ok bool) {
	switch strings.ToLower(cell) {
	case "", "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

// csvfNorm is a header name as the guess compares it: lower case, letters
// and digits only ("First Seen (UTC)" is "firstseenutc").
func csvfNorm(h string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(h) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// csvfGuess lists, per field, the header names (csvfNorm form) the generic
// CSV guesses its columns from, in order of preference (docs/feeds.md
// lists them).
var csvfGuess = struct {
	value, kind, source, severity, confidence, tags, description, reference, validFrom, validUntil []string
}{
	value: []string{"indicator", "indicatorvalue", "iocvalue", "ioc", "value", "observable", "observablevalue",
		"ip", "ipaddress", "dstip", "address", "domain", "domainname", "hostname", "host", "fqdn", "url",
		// The plurals and variants a one-column list is headed with.
		"indicators", "iocs", "values", "observables", "ips", "ipaddresses", "ipaddr", "ipv4", "ipv6",
		"domains", "hostnames", "hosts", "urls"},
	kind:        []string{"kind", "type", "ioctype", "indicatortype", "observablekey"},
	source:      []string{"source", "feed"},
	severity:    []string{"severity"},
	confidence:  []string{"confidence", "confidencelevel"},
	tags:        []string{"tags", "tag", "malware", "threat"},
	description: []string{"description", "comment", "title"},
	reference:   []string{"reference", "link"},
	validFrom:   []string{"validfrom", "firstseen", "firstseenutc", "dateadded"},
	validUntil:  []string{"validuntil", "expiration", "expirationtime", "expires"},
}

// csvfKnownNames holds every header name (csvfNorm form) that the guess
// or a preset format reads: a first row with one of them is a header.
var csvfKnownNames = sync.OnceValue(func() map[string]bool {
	known := map[string]bool{}
	g := csvfGuess
	for _, names := range [][]string{g.value, g.kind, g.source, g.severity, g.confidence, g.tags, g.description, g.reference, g.validFrom, g.validUntil} {
		for _, n := range names {
			known[n] = true
		}
	}
	for _, f := range []string{FormatFeodo, FormatURLhaus, FormatThreatFox, FormatDefenderCSV} {
		for _, ref := range csvfRefs(csvfPreset(f).m) {
			known[csvfNorm(ref)] = true
		}
	}
	// Columns the presets and MISP's export read by name outside a mapping.
	for _, n := range []string{"ioc_id", "is_compromised", "action", "description", "to_ids", "attribute_tag", "event_tag", "event_info"} {
		known[csvfNorm(n)] = true
	}
	return known
})

// csvfRefs lists the column references of a mapping, the tags split.
func csvfRefs(m CSVMapping) []string {
	refs := []string{m.Value, m.Kind, m.Source, m.Severity, m.Confidence, m.Description, m.Reference, m.ValidFrom, m.ValidUntil}
	if m.Tags != "" {
		refs = append(refs, strings.Split(m.Tags, ",")...)
	}
	return refs
}

// csvfGuessMapping maps columns by their header names (csvfNorm form),
// trying the names in order, for Format "csv" without a Value mapping.
func csvfGuessMapping(header []string) CSVMapping {
	norm := make([]string, len(header))
	for i, h := range header {
		norm[i] = csvfNorm(h)
	}
	find := func(names []string) string {
		for _, n := range names {
			for i, h := range norm {
				if h == n {
					return "#" + strconv.Itoa(i+1)
				}
			}
		}
		return ""
	}
	g := csvfGuess
	m := CSVMapping{
		Value:       find(g.value),
		Kind:        find(g.kind),
		Source:      find(g.source),
		Severity:    find(g.severity),
		Confidence:  find(g.confidence),
		Tags:        find(g.tags),
		Description: find(g.description),
		Reference:   find(g.reference),
		ValidFrom:   find(g.validFrom),
		ValidUntil:  find(g.validUntil),
	}
	if m.Value == "" {
		m.Value = "#1"
	}
	return m
}

// csvfIndexRef returns the 0-based column of a "#N" reference; ok is false
// for a header name or a malformed reference. An empty ref is column -1.
func csvfIndexRef(ref string) (int, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return -1, true
	}
	n, found := strings.CutPrefix(ref, "#")
	i, err := strconv.Atoi(n)
	if !found || err != nil || i < 1 {
		return 0, false
	}
	return i - 1, true
}

// csvfNamesKnown reports whether a row names a column the guess or a
// preset knows, leaving out the cell of column skip (a kind column: its
// "ip" or "url" is data).
func csvfNamesKnown(rec []string, skip int) bool {
	known := csvfKnownNames()
	for i, c := range rec {
		if i != skip && known[csvfNorm(c)] {
			return true
		}
	}
	return false
}

// csvfHeaderless reports whether the first row of a generic CSV is data,
// not a header: the mapping maps columns by index only (or is guessed), no
// cell names a known column, and the value cell reads as an indicator. A
// plain list saved as ".csv" is the common case.
func csvfHeaderless(m CSVMapping, rec []string) bool {
	for _, ref := range csvfRefs(m) {
		if _, ok := csvfIndexRef(ref); !ok {
			return false // a named column: the feed has a header, or the mapping is wrong (an error names the columns)
		}
	}
	value, _ := csvfIndexRef(m.Value)
	if value < 0 {
		value = 0
	}
	kind, _ := csvfIndexRef(m.Kind)
	if value >= len(rec) || csvfNamesKnown(rec, kind) {
		return false
	}
	// A file hash is no column name either: a list of hashes (a MISP
	// feed's hashes.csv) has its first row refused like the others.
	v := strings.TrimSpace(rec[value])
	return csvfIsIndicator(v) || gdHashName(strings.ToLower(v)) != ""
}

// csvfIsIndicator reports whether a cell reads as an indicator rather than
// a column name: ParseValue takes a lone word ("indicators", "data") for a
// one-label domain and "ip/cidr" for a URL, so a name must be dotted and
// under a known top-level domain, and a URL without a scheme must be on
// such a name or an address.
func csvfIsIndicator(s string) bool {
	k, v, err := ParseValue(s)
	if err != nil {
		return false
	}
	switch k {
	case KindIP, KindCIDR:
		return true
	case KindDomain:
		return csvfDottedKnownTLD(v)
	case KindURL:
		var u rawURL
		ok := splitURL(v, &u)
		if !ok {
			return false
		}
		if u.scheme != "" {
			return true
		}
		if _, ok := ldParseAddr(u.host); ok {
			return true
		}
		return csvfDottedKnownTLD(strings.ToLower(u.host))
	}
	return false
}

// csvfAnyIndicator reports whether a cell of a row reads as an indicator
// (csvfIsIndicator): the row is data, not a header.
func csvfAnyIndicator(rec []string) bool {
	for _, c := range rec {
		if csvfIsIndicator(strings.TrimSpace(c)) {
			return true
		}
	}
	return false
}

func csvfDottedKnownTLD(h string) bool {
	h = strings.TrimSuffix(h, ".")
	return strings.IndexByte(h, '.') > 0 && ldKnownTLD(h)
}

// csvfResolve turns column references into indexes, and finds MISP's
// to_ids, attribute_tag, event_tag and event_info columns by their header
// names (csvfMISPColumn). header may be nil (NoHeader): then only "#N"
// references work.
func csvfResolve(m CSVMapping, header []string) (csvfCols, error) {
	names := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := names[k]; !dup {
			names[k] = i
		}
	}
	var errs []error
	missing := false // a column not in the header: the header is listed once, at the end
	col := func(field, ref string) int {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			return -1
		}
		if n, ok := strings.CutPrefix(ref, "#"); ok {
			i, err := strconv.Atoi(n)
			if err != nil || i < 1 {
				errs = append(errs, fmt.Errorf("%s column %q: want a header name or \"#N\" with N ≥ 1", field, ref))
				return -1
			}
			return i - 1
		}
		if header == nil {
			errs = append(errs, fmt.Errorf("%s column %q: the feed has no header, map columns by index (\"#3\")", field, ref))
			return -1
		}
		if i, ok := names[strings.ToLower(ref)]; ok {
			return i
		}
		if _, err := strconv.Atoi(ref); err == nil {
			errs = append(errs, fmt.Errorf("%s column %q not found in the header (a column number is written \"#%s\")", field, ref, ref))
		} else {
			errs = append(errs, fmt.Errorf("%s column %q not found in the header", field, ref))
		}
		missing = true
		return -1
	}
	c := csvfCols{
		toIDs:       csvfMISPColumn(header, "toids"),
		mispTags:    csvfMISPColumn(header, "attributetag"),
		eventTags:   csvfMISPColumn(header, "eventtag"),
		eventInfo:   csvfMISPColumn(header, "eventinfo"),
		value:       col("value", m.Value),
		kind:        col("kind", m.Kind),
		source:      col("source", m.Source),
		severity:    col("severity", m.Severity),
		confidence:  col("confidence", m.Confidence),
		description: col("description", m.Description),
		reference:   col("reference", m.Reference),
		validFrom:   col("valid_from", m.ValidFrom),
		validUntil:  col("valid_until", m.ValidUntil),
	}
	if m.Tags != "" {
		for _, t := range strings.Split(m.Tags, ",") {
			if i := col("tags", t); i >= 0 {
				c.tags = append(c.tags, i)
			}
		}
	}
	if slices.Contains(c.tags, c.mispTags) {
		c.mispTags = -1 // read as mapped
	}
	if slices.Contains(c.tags, c.eventTags) {
		c.eventTags = -1 // read as mapped
	}
	if c.eventInfo == c.description {
		c.eventInfo = -1 // read as mapped (or there is none)
	}
	if len(errs) == 0 && c.value < 0 {
		errs = append(errs, errors.New("no value column: map one (csv.value)"))
	}
	if len(errs) == 0 {
		return c, nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	msg := strings.Join(msgs, "; ")
	if missing {
		msg += " (columns: " + csvfShowHeader(header) + ")"
	}
	return c, errors.New(msg)
}

// csvfShowHeader lists a header's columns for an error: printable (a
// binary file's "header" is escaped) and at most a few hundred bytes.
func csvfShowHeader(header []string) string {
	const most = 240
	var b strings.Builder
	for i, h := range header {
		h = printable(h)
		if i > 0 {
			b.WriteString(", ")
		}
		if b.Len()+len(h) > most {
			fmt.Fprintf(&b, "… %d columns in all", len(header))
			break
		}
		b.WriteString(h)
	}
	return b.String()
}

// csvfCommentHeader parses the header from a comment line.
func csvfCommentHeader(line, prefix string, delim rune) []string {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), prefix))
	if s == "" {
		return nil
	}
	r := csv.NewReader(strings.NewReader(s))
	r.Comma, r.LazyQuotes, r.TrimLeadingSpace, r.FieldsPerRecord = delim, true, true, -1
	rec, err := r.Read()
	if err != nil {
		return nil
	}
	return csvfCleanHeader(rec)
}

func csvfCleanHeader(rec []string) []string {
	h := make([]string, len(rec))
	for i, c := range rec {
		h[i] = strings.TrimSpace(strings.TrimPrefix(c, "\ufeff"))
	}
	return h
}

// loadCSVFeed reads one CSV flavour.
func loadCSVFeed(st *ldState, br *bufio.Reader, spec *csvfSpec) error {
	st.source = spec.source
	m := spec.m
	prefix := m.Comment
	if prefix == "" {
		prefix = "#"
	}
	delim := m.Delimiter
	if delim == 0 {
		delim = ','
	}
	if !utf8.ValidRune(delim) || delim == utf8.RuneError || delim == '"' || delim == '\r' || delim == '\n' {
		return fmt.Errorf("%s: invalid CSV delimiter %q", st.name, delim)
	}
	isComment := func(s string) bool { return !m.NoComments && strings.HasPrefix(strings.TrimSpace(s), prefix) }

	// The preamble: blank and comment lines before the first data line.
	lines, lastComment, lastCommentLine, first := 0, "", 0, ""
	for {
		s, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:%d: read: %w", st.name, lines+1, err)
		}
		if s == "" && err != nil {
			break
		}
		if lines == 0 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		if t := strings.TrimSpace(s); t != "" && !isComment(t) {
			first = s
			break
		}
		lines++
		if isComment(s) {
			lastComment, lastCommentLine = s, lines
		}
		if err != nil {
			break
		}
	}

	if spec.guess && m.Delimiter == 0 && !m.NoHeader { // a data line's fields may hold any separator
		header := first
		if m.HeaderInComment && lastComment != "" {
			header = strings.TrimPrefix(strings.TrimSpace(lastComment), prefix)
		}
		delim = csvfGuessDelimiter(header, m.Value)
	}
	var r *csv.Reader
	var tail *csvtail.Reader
	open := func(in io.Reader) {
		tail = csvtail.New(in)
		r = csv.NewReader(tail)
		r.Comma, r.LazyQuotes, r.TrimLeadingSpace, r.FieldsPerRecord, r.ReuseRecord = delim, true, true, -1, true
		if c, n := utf8.DecodeRuneInString(prefix); !m.NoComments && n == len(prefix) && c != delim && c != '"' && c != '\r' && c != '\n' && c != utf8.RuneError && c != ' ' {
			r.Comment = c
		}
	}
	open(io.MultiReader(strings.NewReader(first), br))
	last := lines // the line of the last record read
	read := func() ([]string, int, error) {
		for fails := 0; ; {
			rec, err := r.Read()
			if err == nil {
				line, _ := r.FieldPos(0)
				last = lines + line
				if tail.Unclosed(r, rec) {
					// The quote swallowed the rest of the feed: refuse its
					// row and read what it swallowed again.
					rest, at := csvtail.Rest(r, rec)
					st.refuse(st.lineOrigin(last), "", fmt.Sprintf("CSV: the quote opened on line %d is never closed", lines+at))
					lines += at
					open(strings.NewReader(rest))
					continue
				}
				if isComment(rec[0]) || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
					continue // a comment, or a line of only white space: blank
				}
				return rec, last, nil
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, last + 1, err
			}
			fails++
			if fails > 1000 {
				return nil, 0, fmt.Errorf("%s:%d: CSV: %w", st.name, lines+pe.StartLine, pe.Err)
			}
			st.refuse(st.lineOrigin(lines+pe.StartLine), "", "CSV: "+pe.Err.Error())
		}
	}

	var header []string
	var cols csvfCols
	var pending []string // the first row, when it is data (no header)
	pendingLine := 0
	orig := m
	resolve := func() error {
		m = orig
		if spec.guess && m.Value == "" && !m.NoHeader {
			g := csvfGuessMapping(header)
			if m.Kind != "" || m.DefaultKind != KindInvalid {
				g.Kind = m.Kind
			}
			g.Comment, g.NoComments, g.HeaderInComment, g.Delimiter, g.DefaultKind, g.NullValues = m.Comment, m.NoComments, m.HeaderInComment, m.Delimiter, m.DefaultKind, m.NullValues
			m = g
		}
		var err error
		cols, err = csvfResolve(m, header)
		return err
	}
	switch {
	case m.NoHeader:
		if orig.Value == "" {
			orig.Value = "#1"
		}
		if err := resolve(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	case m.HeaderInComment && lastComment != "":
		header = csvfCommentHeader(lastComment, prefix, delim)
		if err := resolve(); err == nil {
			break
		}
		fallthrough
	default:
		rec, line, err := read()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: no CSV header: the feed has no data line", st.name)
		}
		if err != nil {
			return fmt.Errorf("%s:%d: read: %w", st.name, line, err)
		}
		if spec.guess && orig.Value == "" && !m.NoHeader && lastComment != "" {
			// The header may be the last comment line, as in the SSLBL and
			// the 2020 Feodo Tracker lists ("# Firstseen,DstIP,DstPort"):
			// take it when it names a known column, has as many columns as
			// the first row, and that row names none but holds an
			// indicator.
			if ch := csvfCommentHeader(lastComment, prefix, delim); len(ch) == len(rec) && csvfNamesKnown(ch, -1) &&
				!csvfNamesKnown(rec, -1) && csvfAnyIndicator(rec) {
				header = ch
				if err := resolve(); err != nil {
					return fmt.Errorf("%s:%d: CSV header: %w", st.name, lastCommentLine, err)
				}
				pending, pendingLine = slices.Clone(rec), line
				st.note(fmt.Sprintf("header read from the comment on line %d: %s", lastCommentLine, csvfShowHeader(header)))
				break
			}
		}
		if spec.guess && csvfHeaderless(orig, rec) {
			// A list saved as ".csv": its first row is data.
			if orig.Value == "" {
				orig.Value = "#1"
			}
			if err := resolve(); err != nil {
				return fmt.Errorf("%s:%d: CSV: %w", st.name, line, err)
			}
			pending, pendingLine = slices.Clone(rec), line
			st.note(fmt.Sprintf("no header row: column %d read as the value", cols.value+1))
			break
		}
		header = csvfCleanHeader(rec)
		if err := resolve(); err != nil {
			return fmt.Errorf("%s:%d: CSV header: %w", st.name, line, err)
		}
		if spec.guess && orig.Value == "" && !csvfNamesKnown(header, -1) {
			st.note(fmt.Sprintf("first row read as the header, though it names no known column (%s): column %d read as the value",
				csvfShowHeader(header), cols.value+1))
		}
	}

	row := &csvfRow{names: map[string]int{}, nulls: m.NullValues}
	for i, h := range header {
		k := strings.ToLower(h)
		if _, dup := row.names[k]; !dup {
			row.names[k] = i
		}
	}
	kinds := spec.kinds
	if kinds == nil {
		kinds = csvfKinds
	}
	kindLabel := spec.kindLabel
	if kindLabel == "" && cols.kind >= 0 {
		kindLabel = spec.format + " " + csvfColName(header, cols.kind)
	}
	if pending != nil {
		row.rec = pending
		csvfRowIndicator(st, spec, m, cols, kinds, kindLabel, row, pendingLine)
	}
	for {
		rec, line, err := read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: read: %w", st.name, line, err)
		}
		row.rec = rec
		csvfRowIndicator(st, spec, m, cols, kinds, kindLabel, row, line)
	}
}

func csvfColName(header []string, i int) string {
	if i < len(header) && header[i] != "" {
		return header[i]
	}
	return "#" + strconv.Itoa(i+1)
}

func csvfRowIndicator(st *ldState, spec *csvfSpec, m CSVMapping, cols csvfCols, kinds map[string]csvfKind, kindLabel string, row *csvfRow, line int) {
	origin := st.lineOrigin(line)
	if cols.value >= len(row.rec) {
		st.refuse(origin, strings.Join(row.rec, string(ldDelim(m))), fmt.Sprintf("row has %d fields, the value is in column #%d", len(row.rec), cols.value+1))
		return
	}
	if spec.skipRow != nil {
		// A row its publisher withdrew (Defender's "Allowed").
		if reason := spec.skipRow(row); reason != "" {
			if !st.withdraw(reason) {
				return
			}
			defer st.endWithdraw()
		}
	}
	raw := row.cell(cols.value)
	ks := csvfKind{kind: m.DefaultKind}
	if cols.kind >= 0 {
		kc := row.cell(cols.kind)
		lk := strings.ToLower(kc)
		k, ok := kinds[lk]
		if base, cut := strings.CutSuffix(lk, ":value"); !ok && cut {
			// A STIX object path, as Sentinel's ThreatIntelIndicators
			// export names an observable: "ipv4-addr:value".
			k, ok = kinds[base]
		}
		if !ok {
			if kc == "" {
				st.refuse(origin, raw, "empty kind column")
			} else {
				st.skip(kindLabel + ": " + kc)
			}
			return
		}
		ks = k
	}
	if cols.toIDs >= 0 {
		// After the kind, as MISP JSON: a hash is counted by its type.
		c := row.cell(cols.toIDs)
		toIDs, ok := csvfToIDs(c)
		if !ok {
			st.refuse(origin, raw, fmt.Sprintf("to_ids %q: want 1, 0, true or false", c))
			return
		}
		if !toIDs {
			if !st.withdraw(mispSkipToIDs) {
				return
			}
			defer st.endWithdraw()
		}
	}
	if raw == "" {
		st.refuse(origin, raw, "empty value")
		return
	}
	if ks.domainIP {
		meta := csvfRowMeta(spec, m, cols, row)
		mispDomainIPValue(st, st.name, line, raw, &meta)
		return
	}
	v := raw
	if ks.port {
		if i := strings.LastIndexAny(v, ":|"); i > 0 && ldAllDigits(v[i+1:]) {
			v = v[:i]
		}
	}
	kind, value, err := ldParseAs(ks.kind, v)
	if ks.url && errors.Is(err, errLdHashAfterHost) {
		if k, u, ok := ldURLWithFragment(v); ok {
			kind, value, err = k, u, nil
		}
	}
	if err != nil {
		st.refuse(origin, raw, err.Error())
		return
	}
	meta := csvfRowMeta(spec, m, cols, row)
	st.emit(st.name, line, raw, kind, value, &meta)
}

// csvfRowMeta is the metadata of a row's indicators.
func csvfRowMeta(spec *csvfSpec, m CSVMapping, cols csvfCols, row *csvfRow) Meta {
	var meta Meta
	meta.Source = row.cell(cols.source)
	meta.Severity = row.cell(cols.severity)
	if c := strings.TrimSuffix(row.cell(cols.confidence), "%"); c != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(c)); err == nil && n > 0 {
			meta.Confidence = min(n, 100)
		}
	}
	for _, i := range cols.tags {
		if c := row.cell(i); c != "" {
			for _, t := range strings.FieldsFunc(c, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
				if t = strings.TrimSpace(t); t != "" && !csvfIsNull(t, m.NullValues) {
					meta.Tags = ldAddTags(meta.Tags, t)
				}
			}
		}
	}
	// The event's tags, then the attribute's, as the MISP JSON loader
	// orders them. MISP joins the names with ',' alone (CsvExport): a name
	// may hold ';' or '|' ("misp-galaxy:…"), and a ',' inside its quoted
	// value (mispSplitTags). Kept as MISP JSON's are.
	for _, col := range [...]int{cols.eventTags, cols.mispTags} {
		if c := row.cell(col); c != "" {
			for _, t := range mispSplitTags(c) {
				if t = strings.TrimSpace(t); !csvfIsNull(t, m.NullValues) {
					meta.Tags = ldAddTags(meta.Tags, t)
				}
			}
		}
	}
	meta.Description = row.cell(cols.description)
	if info := row.cell(cols.eventInfo); info != "" {
		// As the MISP JSON loader writes the event's info and the
		// attribute's comment: "info: comment".
		if meta.Description == "" {
			meta.Description = info
		} else {
			meta.Description = info + ": " + meta.Description
		}
	}
	meta.Reference = row.cell(cols.reference)
	meta.ValidFrom, _ = ldParseTime(row.cell(cols.validFrom))
	meta.ValidUntil, _ = ldParseTime(row.cell(cols.validUntil))
	if spec.decorate != nil {
		spec.decorate(row, &meta)
	}
	return meta
}

func csvfIsNull(s string, nulls []string) bool {
	for _, n := range nulls {
		if s == n {
			return true
		}
	}
	return false
}

func ldDelim(m CSVMapping) rune {
	if m.Delimiter == 0 {
		return ','
	}
	return m.Delimiter
}

// csvfGuessDelimiter picks the separator of a generic CSV feed without a
// configured delimiter from its header (or first) line: of ',', ';' (a
// CSV saved by Excel where ';' is the list separator), tab and '|', the
// one that splits the line into a field named value (the mapping's Value
// column, when it is a name), else into the most fields; ',' on a tie.
func csvfGuessDelimiter(line, value string) rune {
	line = strings.TrimSpace(line)
	best, bestN := ',', 1
	for _, d := range []rune{',', ';', '\t', '|'} {
		fields := strings.Split(line, string(d))
		if value != "" && !strings.HasPrefix(value, "#") {
			for _, f := range fields {
				if strings.EqualFold(strings.Trim(strings.TrimSpace(f), `"`), value) {
					return d
				}
			}
		}
		if len(fields) > bestN {
			best, bestN = d, len(fields)
		}
	}
	return best
}
