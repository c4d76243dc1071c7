package sink

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// cefUnescape is the reader's side of appendCEFEscaped: it undoes "\\",
// "\"+sep, "\n" and "\r", and rejects any other backslash sequence, an
// unescaped sep, and a raw CR or LF.
func cefUnescape(s string, sep byte) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return "", errors.New("trailing backslash")
			}
			i++
			switch s[i] {
			case '\\', sep:
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", fmt.Errorf("unknown escape \\%c", s[i])
			}
		case c == sep:
			return "", fmt.Errorf("unescaped %q at %d", sep, i)
		case c == '\n' || c == '\r':
			return "", fmt.Errorf("raw line break at %d", i)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// cefClean is what a value looks like after escaping and unescaping: the
// characters the escaper replaces (other controls → space, invalid UTF-8
// → U+FFFD) replaced, everything else unchanged.
func cefClean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\r':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// parseCEF splits a CEF line into its 7 header fields and its extension,
// unescaping both. It is strict: an unknown escape, an unescaped '=' inside
// a value, or a raw line break is an error.
func parseCEF(line string) (header [7]string, ext map[string]string, err error) {
	rest, ok := strings.CutPrefix(line, "CEF:")
	if !ok {
		return header, nil, errors.New("no CEF: prefix")
	}
	// Header: 7 fields, each ended by an unescaped '|'.
	for f := 0; f < 7; f++ {
		end := -1
		for i := 0; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == '|' {
				end = i
				break
			}
		}
		if end < 0 {
			return header, nil, fmt.Errorf("header field %d not terminated", f)
		}
		if header[f], err = cefUnescape(rest[:end], '|'); err != nil {
			return header, nil, fmt.Errorf("header field %d: %w", f, err)
		}
		rest = rest[end+1:]
	}
	// Extension: key=value pairs; a value runs to the space before the
	// next key=, and '=' inside values is escaped.
	ext = map[string]string{}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return header, nil, fmt.Errorf("extension: no key= in %q", rest)
		}
		key := rest[:eq]
		for _, c := range key {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return header, nil, fmt.Errorf("extension: bad key %q", key)
			}
		}
		rest = rest[eq+1:]
		// Find the next unescaped '=', then back up to the space before
		// its key.
		end := len(rest)
		for i := 0; i < len(rest); i++ {
			if rest[i] == '\\' {
				i++
				continue
			}
			if rest[i] == '=' {
				sp := strings.LastIndexByte(rest[:i], ' ')
				if sp < 0 {
					return header, nil, fmt.Errorf("extension: unescaped '=' in the value of %s", key)
				}
				end = sp
				break
			}
		}
		v, err := cefUnescape(rest[:end], '=')
		if err != nil {
			return header, nil, fmt.Errorf("extension %s: %w", key, err)
		}
		if _, dup := ext[key]; dup {
			return header, nil, fmt.Errorf("extension: duplicate key %s", key)
		}
		ext[key] = v
		rest = strings.TrimPrefix(rest[end:], " ")
	}
	return header, ext, nil
}

// ParseCEFAlert rebuilds the alert fields a CEF line carries, for the
// tests of package sink_test (syslog receivers) and the round-trip test.
func ParseCEFAlert(line string) (Alert, error) {
	h, ext, err := parseCEF(line)
	if err != nil {
		return Alert{}, err
	}
	if h[0] != "0" || h[1] != cefVendor || h[2] != cefProduct {
		return Alert{}, fmt.Errorf("header %q", h[:3])
	}
	var a Alert
	kind, ok := strings.CutPrefix(h[4], "ioc-match-")
	if !ok {
		return a, fmt.Errorf("signature id %q", h[4])
	}
	a.Indicator.Kind = kind
	if want := "IOC match: " + kind + " " + ext["cs1"]; h[5] != want {
		return a, fmt.Errorf("name %q, want %q", h[5], want)
	}
	if n, err := strconv.Atoi(h[6]); err != nil || n < 0 || n > 10 {
		return a, fmt.Errorf("severity %q", h[6])
	}
	ms := func(k string) (time.Time, error) {
		v, ok := ext[k]
		if !ok {
			return time.Time{}, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s=%q: %w", k, v, err)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	num := func(k string) (int64, error) {
		v, ok := ext[k]
		if !ok {
			return 0, nil
		}
		return strconv.ParseInt(v, 10, 64)
	}
	label := func(k, want string) (string, error) {
		v, ok := ext[k]
		if !ok {
			return "", nil
		}
		if ext[k+"Label"] != want {
			return "", fmt.Errorf("%sLabel=%q, want %q", k, ext[k+"Label"], want)
		}
		return v, nil
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var e error
	a.DetectedAt, e = ms("rt")
	add(e)
	a.Timestamp, e = ms("start")
	add(e)
	a.LastSeen, e = ms("end")
	add(e)
	a.AlertID = ext["externalId"]
	a.Table = ext["cat"]
	a.ActionType = ext["act"]
	a.Indicator.Description = ext["msg"]
	a.DeviceName = ext["shost"]
	if ext["dvchost"] != a.DeviceName {
		add(fmt.Errorf("dvchost %q != shost %q", ext["dvchost"], a.DeviceName))
	}
	a.DeviceID = ext["deviceExternalId"]
	for _, f := range []struct {
		v4, v6, label string
		dst           *string
	}{{"src", "c6a2", "Source IPv6 Address", &a.LocalIP}, {"dst", "c6a3", "Destination IPv6 Address", &a.RemoteIP}} {
		v6, e := label(f.v6, f.label)
		add(e)
		v4, is4 := ext[f.v4]
		switch {
		case is4 && v6 != "":
			add(fmt.Errorf("both %s=%q and %s=%q", f.v4, v4, f.v6, v6))
		case is4:
			if ip, err := netip.ParseAddr(v4); err != nil || !ip.Is4() {
				add(fmt.Errorf("%s=%q is not an IPv4 address", f.v4, v4))
			}
			*f.dst = v4
		case v6 != "":
			if ip, err := netip.ParseAddr(v6); err != nil || !ip.Is6() || ip.Is4In6() {
				add(fmt.Errorf("%s=%q is not an IPv6 address", f.v6, v6))
			}
			*f.dst = v6
		}
	}
	port, e := num("dpt")
	add(e)
	a.RemotePort = int(port)
	a.RemoteURL = ext["request"]
	if ext["dhost"] != remoteURLHost(a.RemoteURL) {
		add(fmt.Errorf("dhost %q, want the host of %q", ext["dhost"], a.RemoteURL))
	}
	a.AccountName = ext["suser"]
	a.FileName = ext["sproc"]
	a.FolderPath = ext["filePath"]
	a.SHA256 = ext["fileHash"]
	a.Indicator.Value, e = label("cs1", "indicator")
	add(e)
	a.Indicator.Source, e = label("cs2", "source")
	add(e)
	tags, e := label("cs3", "tags")
	add(e)
	if tags != "" {
		a.Indicator.Tags = strings.Split(tags, ",")
	}
	a.CommandLine, e = label("cs4", "command_line")
	add(e)
	a.MatchedField, e = label("cs5", "matched_field")
	add(e)
	a.Indicator.Reference, e = label("cs6", "reference")
	add(e)
	for _, f := range []struct {
		k, label string
		dst      *int
	}{{"cn1", "confidence", &a.Indicator.Confidence}, {"cn2", "repeat_count", &a.RepeatCount}} {
		v, e := label(f.k, f.label)
		add(e)
		if v != "" {
			n, e := strconv.Atoi(v)
			add(e)
			*f.dst = n
		}
	}
	if v, e := label("cn3", "report_id"); e != nil {
		add(e)
	} else if v != "" {
		a.ReportID, e = strconv.ParseInt(v, 10, 64)
		add(e)
	}
	a.MachineGroup, e = label("flexString1", "machine_group")
	add(e)
	if id, e := label("flexString2", "alert_id"); e != nil || id != a.AlertID {
		add(fmt.Errorf("flexString2 alert_id %q, externalId %q: %v", id, a.AlertID, e))
	}
	if v, e := label("deviceCustomDate1", "indicator_added_at"); e != nil {
		add(e)
	} else if v != "" {
		n, e := strconv.ParseInt(v, 10, 64)
		add(e)
		a.Retro, a.IndicatorAddedAt = true, time.UnixMilli(n).UTC()
	}
	if a.RepeatCount > 0 {
		a.FirstSeen, a.Timestamp = a.Timestamp, time.Time{}
	}
	return a, errors.Join(errs...)
}

func TestCEFEscaping(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		header    string
		extension string
	}{
		{"plain text is unchanged", "ws-0142.corp.example", "ws-0142.corp.example", "ws-0142.corp.example"},
		{"a backslash is doubled everywhere", `c:\temp\a.dll`, `c:\\temp\\a.dll`, `c:\\temp\\a.dll`},
		{"a pipe is escaped in the header only", "a|b", `a\|b`, "a|b"},
		{"an equals sign is escaped in the extension only", "a=b", "a=b", `a\=b`},
		{"LF and CR are written as \\n and \\r", "l1\nl2\r\n", `l1\nl2\r\n`, `l1\nl2\r\n`},
		{"a trailing backslash stays unambiguous", `x\`, `x\\`, `x\\`},
		{"an already escaped sequence is escaped again", `\|\=`, `\\\|\\=`, `\\|\\\=`},
		{"tabs and other controls become spaces", "a\tb\x00c\x1bd\x7fe", "a b c d e", "a b c d e"},
		{"non-ASCII text is kept as UTF-8", "Zürich ☃ 東京", "Zürich ☃ 東京", "Zürich ☃ 東京"},
		{"invalid UTF-8 becomes U+FFFD", "a\xc3\x28b", "a\uFFFD(b", "a\uFFFD(b"},
		{"C1 controls and Unicode line separators become spaces", "a\u0085b\u2028c\u2029d", "a b c d", "a b c d"},
		{"quotes are left alone", `"quoted" 'x'`, `"quoted" 'x'`, `"quoted" 'x'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendCEFHeader(nil, tc.in)); got != tc.header {
				t.Errorf("header escape of %q = %q, want %q", tc.in, got, tc.header)
			}
			if got := string(appendCEFExtValue(nil, tc.in)); got != tc.extension {
				t.Errorf("extension escape of %q = %q, want %q", tc.in, got, tc.extension)
			}
		})
	}
}

// TestCEFAddressesGoToTheKeysOfTheirFamily checks that src and dst, which
// CEF defines as IPv4 addresses, carry only IPv4 addresses, and that an
// IPv6 address goes to c6a2 (source) or c6a3 (destination) with the labels
// the CEF producers use.
func TestCEFAddressesGoToTheKeysOfTheirFamily(t *testing.T) {
	const src6, dst6 = "Source IPv6 Address", "Destination IPv6 Address"
	for _, tc := range []struct {
		name          string
		local, remote string
		want          map[string]string // the address keys and labels expected; others must be absent
	}{
		{"IPv4 addresses go to src and dst", "10.20.3.14", "203.0.113.77",
			map[string]string{"src": "10.20.3.14", "dst": "203.0.113.77"}},
		{"IPv6 addresses go to c6a2 and c6a3", "2001:db8:1::14", "2001:db8::dead:beef",
			map[string]string{"c6a2Label": src6, "c6a2": "2001:db8:1::14", "c6a3Label": dst6, "c6a3": "2001:db8::dead:beef"}},
		{"an IPv4 local and an IPv6 remote address", "10.20.3.14", "2a02:cf40::",
			map[string]string{"src": "10.20.3.14", "c6a3Label": dst6, "c6a3": "2a02:cf40::"}},
		{"an IPv6 local and an IPv4 remote address", "fd00::14", "198.51.100.7",
			map[string]string{"c6a2Label": src6, "c6a2": "fd00::14", "dst": "198.51.100.7"}},
		{"an IPv4-mapped IPv6 address is the IPv4 address", "::ffff:10.20.3.14", "::ffff:203.0.113.77",
			map[string]string{"src": "10.20.3.14", "dst": "203.0.113.77"}},
		{"IPv6 is written in canonical form, without a zone", "FE80::1%eth0", "2001:DB8:0:0:0:0:0:1",
			map[string]string{"c6a2Label": src6, "c6a2": "fe80::1", "c6a3Label": dst6, "c6a3": "2001:db8::1"}},
		{"a value that is no address is left out", "-", "not-an-address",
			map[string]string{}},
		{"no addresses", "", "", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Alert{AlertID: "x", LocalIP: tc.local, RemoteIP: tc.remote, Indicator: AlertIndicator{Kind: "ip", Value: "203.0.113.77"}}
			line := string(AppendCEF(nil, &a, "1.0"))
			_, ext, err := parseCEF(line)
			if err != nil {
				t.Fatalf("parseCEF(%q): %v", line, err)
			}
			for _, k := range []string{"src", "dst", "c6a2", "c6a2Label", "c6a3", "c6a3Label"} {
				got, ok := ext[k]
				want, wantOK := tc.want[k]
				if ok != wantOK || got != want {
					t.Errorf("%s = %q (present %v), want %q (present %v)\nline: %q", k, got, ok, want, wantOK, line)
				}
			}
		})
	}
}

func FuzzCEFEscape(f *testing.F) {
	// Seeds: each special character alone, escapes that look already
	// escaped, line breaks, controls, non-ASCII and invalid UTF-8.
	for _, s := range []string{
		"", "plain", `\`, "|", "=", "\n", "\r", `\\`, `\|`, `\=`, `\n`, "a=b|c\\d\ne",
		"\t\x00\x7f", "Überwachung.exe /ziel=\"café\"", "\xff\xfe", "\u2028", "k=v k2=v2", "x\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := cefClean(s)
		for _, sep := range []byte{'|', '='} {
			esc := string(appendCEFEscaped(nil, s, sep))
			if strings.ContainsAny(esc, "\r\n") {
				t.Fatalf("escape(%q, %q) = %q holds a raw line break", s, sep, esc)
			}
			if !utf8.ValidString(esc) {
				t.Fatalf("escape(%q, %q) = %q is not valid UTF-8", s, sep, esc)
			}
			got, err := cefUnescape(esc, sep)
			if err != nil {
				t.Fatalf("unescape(escape(%q, %q) = %q): %v", s, sep, esc, err)
			}
			if got != want {
				t.Fatalf("unescape(escape(%q, %q)) = %q, want %q", s, sep, got, want)
			}
		}
		// The same value in a whole line: the line parses back to it in
		// the header (name) and in every extension slot.
		a := Alert{AlertID: s, DeviceName: s, CommandLine: s, Indicator: AlertIndicator{Kind: "url", Value: s, Source: s}}
		line := string(AppendCEF(nil, &a, "1.0"))
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("CEF line %q holds a raw line break", line)
		}
		h, ext, err := parseCEF(line)
		if err != nil {
			t.Fatalf("parseCEF(%q): %v", line, err)
		}
		if h[5] != "IOC match: url "+want {
			t.Errorf("name = %q, want %q", h[5], "IOC match: url "+want)
		}
		for _, k := range []string{"externalId", "shost", "cs4", "cs1", "cs2"} {
			if want != "" && ext[k] != want {
				t.Errorf("%s = %q, want %q (line %q)", k, ext[k], want, line)
			}
		}
	})
}

func TestCEFSeverity(t *testing.T) {
	for _, tc := range []struct {
		in       string
		cef, sys int
	}{
		{"critical", 10, 2}, {"Critical", 10, 2}, {"high", 8, 3}, {" HIGH ", 8, 3},
		{"medium", 5, 4}, {"moderate", 5, 4}, {"low", 3, 5}, {"informational", 1, 5},
		{"info", 1, 5}, {"0", 0, 6}, {"9", 9, 2}, {"10", 10, 2}, {"11", 5, 4},
		{"", 5, 4}, {"Hoch", 5, 4},
	} {
		t.Run(fmt.Sprintf("severity %q is CEF %d and syslog %d", tc.in, tc.cef, tc.sys), func(t *testing.T) {
			c := CEFSeverity(tc.in)
			if c != tc.cef {
				t.Errorf("CEFSeverity(%q) = %d, want %d", tc.in, c, tc.cef)
			}
			if s := syslogSeverity(c); s != tc.sys {
				t.Errorf("syslogSeverity(%d) = %d, want %d", c, s, tc.sys)
			}
		})
	}
}

// CEFClean is cefClean for the tests of package sink_test.
func CEFClean(s string) string { return cefClean(s) }
