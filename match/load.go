package match

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/textenc"
)

// The feed formats Load reads (LoadOptions.Format and LoadResult.Format).
const (
	FormatAuto        = "auto"         // detect with DetectFormat
	FormatText        = "text"         // one value per line
	FormatCSV         = "csv"          // CSV with a CSVMapping (or columns guessed from the header)
	FormatFeodo       = "feodo"        // abuse.ch Feodo Tracker IP blocklist CSV
	FormatURLhaus     = "urlhaus"      // abuse.ch URLhaus CSV dump
	FormatThreatFox   = "threatfox"    // abuse.ch ThreatFox CSV export
	FormatDefenderCSV = "defender-csv" // Microsoft Defender custom-indicator import CSV
	FormatSTIX2       = "stix2"        // STIX 2.1 bundle of indicator objects
	FormatMISP        = "misp"         // MISP event JSON
)

// ldFormats lists every format name Load accepts besides "auto", in the
// order docs/feeds.md describes them.
var ldFormats = []string{FormatText, FormatCSV, FormatFeodo, FormatURLhaus, FormatThreatFox, FormatDefenderCSV, FormatSTIX2, FormatMISP}

// LoadOptions says how to read one feed. The zero value reads format
// "auto" with the default Guard, names the feed "feed" in origins and
// errors, and uses time.Now for TTL and expiry.
//
// A LoadOptions is a plain value: Load does not keep or change it.
type LoadOptions struct {
	// Name is the feed's file name or URL, used in every error and in
	// Indicator.Origin ("feeds/c2.csv:14"). Empty means "feed".
	Name string
	// Format is one of the Format constants: "auto" (also when empty)
	// detects it from the first bytes and Name (DetectFormat).
	Format string
	// CSV maps columns for Format "csv". Its zero value guesses the columns
	// from the header names (see docs/feeds.md).
	CSV CSVMapping
	// Defaults is metadata applied where the feed gives none: Source,
	// Severity, Confidence, Description, Reference, ValidFrom, ValidUntil.
	// Defaults.Tags are added to every indicator, after the feed's own
	// tags. Where is ignored. Indicators may share Defaults.Tags: treat it
	// as read-only.
	//
	// A source the format implies (feodo's "feodotracker", "urlhaus",
	// "threatfox", "defender", "stix", "misp") yields to Defaults.Source;
	// a source the feed data names (a STIX identity, a MISP organisation)
	// wins over it.
	Defaults Meta
	// TTL, if > 0, sets ValidUntil = Now + TTL on every indicator that has
	// no ValidUntil from the feed or Defaults (callers use it for "expires
	// N days after last seen" across reloads).
	TTL time.Duration
	// Guard refuses junk; its zero value applies the default rules.
	Guard Guard
	// Now is the time for TTL and for skipping already-expired indicators;
	// zero means time.Now().
	Now time.Time
	// SizeHint, if > 0, is about how many indicators the content holds (a
	// reload knows the count of the last load): LoadResult.Indicators
	// starts with room for that many, instead of growing, copied over, as
	// it fills. Any value gives the same result.
	SizeHint int
	// Withdrawn asks for LoadResult.Withdrawn: the values of the entries
	// the feed still names but that their publisher withdrew. A caller
	// that keeps values a feed stopped listing (a TTL) needs them, to
	// drop those at once; reading them costs a parse of entries that are
	// otherwise only counted.
	Withdrawn bool
}

// Refusal is one value the loader refused, with where and why. It is a
// plain value, safe for concurrent use.
type Refusal struct {
	Origin string // "feeds/c2.csv:14", "bundle.json: indicator--…", "event.json: Attribute[12]"
	Value  string // the value as the feed wrote it (may be empty)
	Reason string // "private range refused", "invalid character ' ' in domain", …
}

// String formats the refusal as `feeds/c2.csv:14: "10.0.0.0/8": private range refused`.
func (r Refusal) String() string {
	return r.Origin + ": " + strconv.Quote(r.Value) + ": " + r.Reason
}

// LoadResult is what one feed gave. It is not safe for concurrent
// mutation; once Load returns, reading it from many goroutines is safe.
type LoadResult struct {
	// Indicators are the usable indicators, in feed order. Load does not
	// merge duplicates (Build groups indicators that share a value). Never
	// nil in a result Load returns.
	Indicators *List
	// Refused lists junk and unparsable entries, each with its origin.
	Refused []Refusal
	// Skipped counts entries the format has but iocwatch does not use:
	// STIX patterns on hashes, MISP types like md5, to_ids=false (a MISP
	// attribute's, or a CSV's to_ids column, as in MISP's export), revoked
	// or expired indicators, the older versions of a STIX indicator,
	// deleted MISP attributes, Defender "Allowed" rows. For STIX each
	// unsupported alternative of an OR counts once.
	Skipped int
	// SkippedReasons splits Skipped by reason, e.g. "stix pattern:
	// file:hashes": 3, "misp type: md5": 31, "expired": 2.
	SkippedReasons map[string]int
	// Format is the format actually used (after auto-detection).
	Format string
	// Notes say how the feed was read where the loader had to guess and
	// the guess changes what loads, e.g. "no header row: column 1 read as
	// the value" for a CSV whose first row is data. They are not problems.
	Notes []string
	// Withdrawn, with LoadOptions.Withdrawn, lists the values of the
	// entries the feed names but their publisher withdrew, which are
	// skipped (and counted in Skipped under their reason): a revoked STIX
	// indicator, a deleted MISP attribute (or one of a deleted object),
	// to_ids=false (a MISP attribute's, or a CSV's to_ids column), a
	// Defender "Allowed" row, and an entry whose valid_until has passed
	// ("expired"). Each value is as Load would have loaded it (kind and
	// canonical value), in feed order, repeated when the feed repeats it;
	// a value that does not parse is left out, and nothing of such an
	// entry is refused. An entry found expired only once its value is read
	// — by a CSV row's valid_until column (a Defender ExpirationTime), or
	// by Defaults.ValidUntil — is read as any other first: a value of it
	// that does not parse, or that the Guard refuses, is refused, with or
	// without the option, and not listed here. A value the feed also lists
	// in another entry is in Indicators too: that entry stands.
	Withdrawn []Withdrawal
}

// Withdrawal is a value of an entry its publisher withdrew
// (LoadResult.Withdrawn). It is a plain value.
type Withdrawal struct {
	Kind   Kind
	Value  string // canonical, as in an Indicator
	Reason string // the skip reason: "stix revoked", "misp deleted", "misp to_ids=false", "defender-csv action: Allowed", "expired"
}

// SkippedSummary formats SkippedReasons as "reason: n, reason: n" sorted by
// reason, or "" when nothing was skipped.
func (r *LoadResult) SkippedSummary() string {
	keys := make([]string, 0, len(r.SkippedReasons))
	for k := range r.SkippedReasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(r.SkippedReasons[k]))
	}
	return b.String()
}

// ldHeadSize is how many bytes Load peeks at to detect a format.
const ldHeadSize = 8 << 10

// Load reads one feed. The error is for a feed that cannot be read at all
// (an I/O error, not JSON when STIX or MISP was asked, no usable CSV
// header, a format that cannot be detected); bad entries are Refused, not
// errors. Load never panics on input and is safe for concurrent use (each
// call has its own state).
func Load(r io.Reader, opt LoadOptions) (*LoadResult, error) {
	name := opt.Name
	if name == "" {
		name = "feed"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	// UTF-16 (Windows PowerShell's `>` and Out-File write it) is read as
	// UTF-8; its lines stay where they were.
	if enc := textenc.SniffReader(br); enc != textenc.UTF8 {
		br = bufio.NewReaderSize(textenc.NewReader(br, enc), 64<<10)
	}
	format := strings.ToLower(strings.TrimSpace(opt.Format))
	if format == "" || format == FormatAuto {
		head, err := br.Peek(ldHeadSize)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%s: read: %w", name, err)
		}
		format = DetectFormat(opt.Name, head)
		if format == "" {
			if h := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n"); len(h) > 0 && (h[0] == '{' || h[0] == '[') {
				// Naming the line formats would lead to JSON read as lines.
				return nil, fmt.Errorf("%s: cannot detect the feed format from its first bytes: JSON that is neither a STIX bundle nor a MISP event; "+
					"other JSON (abuse.ch's JSON exports, a MISP feed's manifest.json) is not read: use the publisher's CSV or text form, or set the format if it is %s or %s",
					name, FormatSTIX2, FormatMISP)
			}
			return nil, fmt.Errorf("%s: cannot detect the feed format from its first bytes: set the format (one of %s)", name, strings.Join(ldFormats, ", "))
		}
	}
	st := newLdState(name, format, opt)
	var err error
	switch format {
	case FormatText:
		err = loadText(st, br)
	case FormatCSV:
		err = loadCSVFeed(st, br, csvfGeneric(opt.CSV))
	case FormatFeodo, FormatURLhaus, FormatThreatFox, FormatDefenderCSV:
		err = loadCSVFeed(st, br, csvfPreset(format))
	case FormatSTIX2:
		err = loadSTIX(st, br)
	case FormatMISP:
		err = loadMISP(st, br)
	default:
		return nil, fmt.Errorf("%s: unknown feed format %q (want auto or one of %s)", name, opt.Format, strings.Join(ldFormats, ", "))
	}
	if err != nil {
		return nil, err
	}
	st.noteInnerStars()
	return st.res, nil
}

// noteInnerStars notes the url indicators whose '*' is not their last
// byte: a user who wrote a glob (http://x/*.exe) learns why it never
// fires. Such URLs load: '*' is a valid byte of a path.
func (st *ldState) noteInnerStars() {
	switch st.innerStars {
	case 0:
	case 1:
		st.note(fmt.Sprintf("a '*' inside a URL is matched literally, only a trailing '*' makes a prefix: %s", st.firstStar))
	default:
		st.note(fmt.Sprintf("a '*' inside a URL is matched literally, only a trailing '*' makes a prefix: %s and %d more", st.firstStar, st.innerStars-1))
	}
}

// ldState is the state of one Load call shared by the format readers.
type ldState struct {
	name   string
	opt    LoadOptions
	now    time.Time
	res    *LoadResult
	source string // the source the format implies, used when neither feed nor Defaults give one
	// last is the Meta of the last indicator emitted: the next one shares
	// it when its metadata is equal. next is where emit completes an
	// indicator's metadata before comparing (a field, so that it is not
	// allocated per indicator).
	last *Meta
	next Meta
	// where is printable(whereIn): every line of a feed has the same.
	whereIn, where string
	// innerStars counts url indicators with a '*' before their last byte
	// (matched literally: only a trailing '*' makes a prefix), and
	// firstStar names the first, for a note.
	innerStars int
	firstStar  string
	// withdrawing is the skip reason of the entry being read for
	// LoadResult.Withdrawn (see withdraw), "" otherwise.
	withdrawing string
}

func newLdState(name, format string, opt LoadOptions) *ldState {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	st := &ldState{
		name: name,
		opt:  opt,
		now:  now,
		res:  &LoadResult{Format: format, SkippedReasons: map[string]int{}},
	}
	st.res.Indicators = NewList(min(max(opt.SizeHint, 0), maxSizeHint))
	return st
}

// maxSizeHint caps the room LoadOptions.SizeHint reserves (8M indicators:
// 160 MiB of records); past it the list grows as it fills.
const maxSizeHint = 8 << 20

// lineOrigin returns "name:line".
func (st *ldState) lineOrigin(line int) string { return ldOrigin(st.name, line) }

// refuse records a refused entry. value is copied: a loader may pass a
// string that shares the memory of its read buffer (the text loader's raw
// value, read in place from the bufio.Reader), which the next lines
// overwrite. Only refused values pay for the copy.
func (st *ldState) refuse(origin, value, reason string) {
	if st.withdrawing != "" {
		return // a withdrawn entry is read only for its values
	}
	st.res.Refused = append(st.res.Refused, Refusal{Origin: printable(origin), Value: strings.Clone(value), Reason: printable(reason)})
}

// printable returns s, or s quoted when it holds control characters or
// invalid UTF-8: an origin or a reason may carry text from the feed (a
// STIX id, a pattern), and `check` prints them one per line on a terminal.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			if c >= 0x80 && utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
				return s
			}
			return strconv.Quote(s)
		}
	}
	return s
}

// note adds a LoadResult.Notes line.
func (st *ldState) note(s string) {
	st.res.Notes = append(st.res.Notes, printable(s))
}

func (st *ldState) skip(reason string) {
	if st.withdrawing != "" {
		return // counted once, under its withdrawal
	}
	st.res.Skipped++
	st.res.SkippedReasons[reason]++
}

// withdraw counts an entry its publisher withdrew (LoadResult.Withdrawn
// lists the kinds) as skipped for reason, and reports whether to read it
// on: with LoadOptions.Withdrawn, the values it would have loaded go to
// LoadResult.Withdrawn instead of Indicators, and nothing else of it is
// refused or skipped, until the reader calls endWithdraw at the end of
// the entry. Inside such an entry it only reports true.
func (st *ldState) withdraw(reason string) bool {
	if st.withdrawing != "" {
		return true
	}
	st.skip(reason)
	if !st.opt.Withdrawn {
		return false
	}
	st.withdrawing = reason
	return true
}

// endWithdraw ends the entry withdraw began.
func (st *ldState) endWithdraw() { st.withdrawing = "" }

// addWithdrawn records a value of a withdrawn entry. value is copied, as
// refuse copies its value.
func (st *ldState) addWithdrawn(kind Kind, value, reason string) {
	st.res.Withdrawn = append(st.res.Withdrawn, Withdrawal{Kind: kind, Value: strings.Clone(value), Reason: reason})
}

// emit guards, completes and appends one classified indicator. where and
// line say where it was read (line 0: where names it alone); meta holds
// the metadata the feed gave (nil for none), its Where ignored. raw is the
// value as written, for refusals (which copy it: it may share a read
// buffer's memory).
func (st *ldState) emit(where string, line int, raw string, kind Kind, value string, meta *Meta) {
	if st.withdrawing != "" {
		st.addWithdrawn(kind, value, st.withdrawing)
		return
	}
	if reason := st.opt.Guard.Check(kind, value); reason != "" {
		st.refuse(ldOrigin(where, line), raw, reason)
		return
	}
	if kind == KindURL && strings.IndexByte(value[:len(value)-1], '*') >= 0 {
		if st.innerStars++; st.innerStars == 1 {
			st.firstStar = ldOrigin(where, line) + " " + strconv.Quote(value)
		}
	}
	m := &st.next
	if meta != nil {
		*m = *meta
	} else {
		*m = Meta{}
	}
	if where != st.whereIn {
		st.whereIn, st.where = where, printable(where)
	}
	m.Where = st.where
	d := &st.opt.Defaults
	if m.Source == "" {
		m.Source = d.Source
		if m.Source == "" {
			m.Source = st.source
		}
	}
	if m.Severity == "" {
		m.Severity = d.Severity
	}
	if m.Confidence == 0 {
		m.Confidence = d.Confidence
	}
	switch {
	case len(m.Tags) == 0:
		m.Tags = d.Tags
	case len(d.Tags) > 0:
		m.Tags = ldAddTags(slices.Clip(m.Tags), d.Tags...)
	}
	if m.Description == "" {
		m.Description = d.Description
	}
	if m.Reference == "" {
		m.Reference = d.Reference
	}
	if m.ValidFrom.IsZero() {
		m.ValidFrom = d.ValidFrom
	}
	if m.ValidUntil.IsZero() {
		m.ValidUntil = d.ValidUntil
		if m.ValidUntil.IsZero() && st.opt.TTL > 0 {
			m.ValidUntil = st.now.Add(st.opt.TTL)
		}
	}
	if !m.ValidUntil.IsZero() && !st.now.Before(m.ValidUntil) {
		st.skip("expired")
		if st.opt.Withdrawn {
			st.addWithdrawn(kind, value, "expired")
		}
		return
	}
	if st.last == nil || !m.equal(st.last) {
		c := *m
		st.last = &c
	}
	if st.res.Indicators.Full() {
		st.refuse(ldOrigin(where, line), raw, "the feed holds more indicators than one list takes (4 GiB of values or 2^32 indicators)")
		return
	}
	ind := Indicator{Kind: kind, Value: value, Meta: st.last}
	if line > 0 && uint64(line) <= uint64(^uint32(0)) {
		ind.Line = uint32(line)
	}
	st.res.Indicators.Append(ind)
}

// ldOrigin returns "where:line", or where when line is 0.
func ldOrigin(where string, line int) string {
	if line == 0 {
		return where
	}
	return where + ":" + strconv.Itoa(line)
}

// ldParseAs classifies s as an explicit kind says it should be. An IP kind
// accepts an address or a prefix; a domain kind also accepts an address
// (feeds put IPs in hostname fields); a URL kind wants a scheme or a path,
// but takes an address or a name under a known top-level domain for what
// it is, and reads a '#' right after the host as a fragment
// (ldURLWithFragment); a pattern only has its ASCII letters lower-cased,
// as Build and Match fold the URL (other bytes are percent-encoded as they
// are: folding "Ü" to "ü" would keep the pattern from ever matching its
// own text).
func ldParseAs(want Kind, s string) (Kind, string, error) {
	if want == KindPattern {
		s = strings.TrimSpace(s)
		if s == "" {
			return KindInvalid, "", errors.New("empty value")
		}
		return KindPattern, ldLowerASCII(s), nil
	}
	k, v, err := ParseValue(s)
	if want == KindURL && errors.Is(err, errLdHashAfterHost) {
		if k2, v2, ok := ldURLWithFragment(s); ok {
			return k2, v2, nil
		}
	}
	if err != nil || want == KindInvalid {
		return k, v, err
	}
	switch want {
	case KindIP, KindCIDR:
		if k != KindIP && k != KindCIDR {
			return KindInvalid, "", fmt.Errorf("not an IP address or prefix (it reads as a %s)", k)
		}
	case KindDomain:
		if k == KindURL {
			return KindInvalid, "", errors.New("not a domain (it reads as a URL)")
		}
	case KindURL:
		// Feeds put bare hosts in URL fields ("www.evil.top"): take an
		// address, or a name under a known top-level domain, for what it
		// is; refuse the rest ("igfxtray.exe").
		if k == KindDomain && !ldKnownTLD(v) {
			return KindInvalid, "", errors.New("not a URL (no scheme or path), and not a domain under a known top-level domain")
		}
	}
	return k, v, nil
}

// ldURLWithFragment reads s, which ParseValue refused with
// errLdHashAfterHost, as a field that holds URLs means it: a field of URLs
// has no inline comments, so "evil.example#x" is the URL of the host's
// root with a fragment. It is written with the root's '/'
// ("evil.example/#x"), which ParseValue reads back as it is.
func ldURLWithFragment(s string) (Kind, string, bool) {
	k, v, err := ParseValue(strings.Replace(s, "#", "/#", 1))
	return k, v, err == nil && k == KindURL
}

// ldLowerASCII lower-cases the ASCII letters of s, leaving every other
// byte (and invalid UTF-8) as it is.
func ldLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// ldKnownTLD reports whether a domain ends in a top-level domain the
// guard knows (gdKnownTLD): one of the public suffix list's ICANN section
// (those it holds by a wildcard rule only, as "*.kh", too), an
// alternative root C2 uses (.onion, .bit, …), or "example" or "test".
func ldKnownTLD(d string) bool {
	return gdKnownTLD(d[strings.LastIndexByte(d, '.')+1:])
}

// ldParseTime reads the timestamps feeds use: RFC 3339 (any fraction),
// "2006-01-02 15:04:05", "2006-01-02T15:04:05" and "2006-01-02" (UTC when
// no zone is given), and Unix seconds (MISP).
func ldParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range [...]string{
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05 MST",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

// ldAddTags appends the non-empty, not yet present tags to dst.
func ldAddTags(dst []string, tags ...string) []string {
outer:
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		for _, have := range dst {
			if have == t {
				continue outer
			}
		}
		dst = append(dst, t)
	}
	return dst
}

// ldJSONError wraps a JSON decoding error with the line it happened on.
func ldJSONError(name string, data []byte, err error) error {
	off := int64(-1)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off >= 0 && off <= int64(len(data)) {
		line := 1 + bytes.Count(data[:off], []byte("\n"))
		return fmt.Errorf("%s:%d: invalid JSON: %w", name, line, err)
	}
	return fmt.Errorf("%s: invalid JSON: %w", name, err)
}
