package sink

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CEF (ArcSight Common Event Format, version 0) rendering of an alert, as
// the syslog sink sends it and Microsoft Sentinel's CEF connector and
// Splunk's CEF add-ons read it:
//
//	CEF:0|iocwatch|iocwatch|<version>|ioc-match-<kind>|IOC match: <kind> <value>|<severity 0-10>|<extension>
//
// The extension is "key=value" pairs separated by single spaces, keys in a
// fixed order, empty values left out. docs/sinks-network.md has the full
// table of alert fields to CEF keys; in short:
//
//	rt=DetectedAt (ms)   start=Timestamp (summary: FirstSeen, else Timestamp)
//	end=LastSeen, else Timestamp (summary only; see alertSpan)
//	externalId=alert_id  cat=table  act=ActionType  msg=indicator description
//	dvchost, shost=DeviceName  deviceExternalId=DeviceId
//	src=LocalIP (IPv4)  c6a2=LocalIP (IPv6, c6a2Label=Source IPv6 Address)
//	dst=RemoteIP (IPv4)  c6a3=RemoteIP (IPv6, c6a3Label=Destination IPv6 Address)
//	dpt=RemotePort  request=RemoteUrl  dhost=host of RemoteUrl
//	suser=account  sproc=FileName  filePath=process folder path  fileHash=SHA-256
//	cs1=indicator value  cs2=source  cs3=tags (comma-separated)  cs4=command line
//	cs5=matched_field  cs6=reference (each csN with its csNLabel)
//	cn1=confidence  cn2=repeat_count  cn3=ReportId (each cnN with its cnNLabel)
//	flexString1=MachineGroup  flexString2=alert_id (again: Sentinel's ExternalID is an int)
//	deviceCustomDate1=indicator_added_at (retro alerts)
//
// CEF's src and dst are IPv4 fields: an IPv6 address goes to the IPv6
// source and destination fields c6a2 and c6a3 instead, in canonical form
// without a zone, and an IPv4-mapped IPv6 address is written as the IPv4
// address it is. A LocalIP or RemoteIP that is not an address at all (the
// pipeline never makes one) is left out of the line.
//
// TenantId and MatchedValue are not carried (the JSON payload has them).
//
// Escaping: in header fields "\" → "\\" and "|" → "\|"; in extension
// values "\" → "\\" and "=" → "\="; in both, LF → "\n" and CR → "\r".
// Other control characters (C0, DEL, C1) become a space and invalid UTF-8
// becomes U+FFFD, so a CEF line is always one line of printable UTF-8.

// CEF header constants.
const (
	cefVendor  = "iocwatch"
	cefProduct = "iocwatch"
)

// AppendCEF appends a's CEF line (no trailing newline) to dst. version is
// the Device Version header field (iocwatch's version; "" is written as
// "0").
func AppendCEF(dst []byte, a *Alert, version string) []byte {
	if version == "" {
		version = "0"
	}
	kind := a.Indicator.Kind
	if kind == "" {
		kind = "unknown"
	}
	dst = append(dst, "CEF:0|"...)
	dst = appendCEFHeader(dst, cefVendor)
	dst = append(dst, '|')
	dst = appendCEFHeader(dst, cefProduct)
	dst = append(dst, '|')
	dst = appendCEFHeader(dst, version)
	dst = append(dst, "|ioc-match-"...)
	dst = appendCEFHeader(dst, kind)
	dst = append(dst, "|IOC match: "...)
	dst = appendCEFHeader(dst, kind)
	dst = append(dst, ' ')
	dst = appendCEFHeader(dst, a.Indicator.Value)
	dst = append(dst, '|')
	dst = strconv.AppendInt(dst, int64(CEFSeverity(a.Indicator.Severity)), 10)
	dst = append(dst, '|')

	e := cefExt{dst: dst}
	e.time("rt", a.DetectedAt)
	start, end := alertSpan(a)
	e.time("start", start)
	if a.RepeatCount > 0 {
		e.time("end", end)
	}
	e.str("externalId", a.AlertID)
	e.str("cat", a.Table)
	e.str("act", a.ActionType)
	e.str("msg", a.Indicator.Description)
	e.str("dvchost", a.DeviceName)
	e.str("shost", a.DeviceName)
	e.str("deviceExternalId", a.DeviceID)
	e.addr("src", "c6a2", "Source IPv6 Address", a.LocalIP)
	e.addr("dst", "c6a3", "Destination IPv6 Address", a.RemoteIP)
	if a.RemotePort > 0 {
		e.int("dpt", int64(a.RemotePort))
	}
	e.str("request", a.RemoteURL)
	e.str("dhost", remoteURLHost(a.RemoteURL))
	e.str("suser", a.AccountName)
	e.str("sproc", a.FileName)
	e.str("filePath", a.FolderPath)
	e.str("fileHash", a.SHA256)
	e.labelled("cs1", "indicator", a.Indicator.Value)
	e.labelled("cs2", "source", a.Indicator.Source)
	e.labelledList("cs3", "tags", a.Indicator.Tags)
	e.labelled("cs4", "command_line", a.CommandLine)
	e.labelled("cs5", "matched_field", a.MatchedField)
	e.labelled("cs6", "reference", a.Indicator.Reference)
	if a.Indicator.Confidence > 0 {
		e.labelledInt("cn1", "confidence", int64(a.Indicator.Confidence))
	}
	if a.RepeatCount > 0 {
		e.labelledInt("cn2", "repeat_count", int64(a.RepeatCount))
	}
	if a.ReportID != 0 {
		e.labelledInt("cn3", "report_id", a.ReportID)
	}
	e.labelled("flexString1", "machine_group", a.MachineGroup)
	// Sentinel's CommonSecurityLog keeps externalId in an integer column:
	// the alert_id goes in a string one as well.
	e.labelled("flexString2", "alert_id", a.AlertID)
	if a.Retro && !a.IndicatorAddedAt.IsZero() {
		e.labelledInt("deviceCustomDate1", "indicator_added_at", a.IndicatorAddedAt.UnixMilli())
	}
	return e.dst
}

// alertSpan is the span of activity a reports, in event time, as OCSF's
// start_time and end_time have it and HEC's time ends it: an alert's is
// its Timestamp; a suppression summary's runs from FirstSeen to LastSeen,
// each falling back to the Timestamp it carries (its first alert's) when
// it is zero. A zero time is unknown and left out. The suppressor sets
// FirstSeen and LastSeen both or neither (neither when no alert of the
// window had a Timestamp), and Timestamp only when the window's first
// alert had one: a summary with none of the three knows no event time,
// and none is made up for it.
func alertSpan(a *Alert) (start, end time.Time) {
	start, end = a.Timestamp, a.Timestamp
	if a.RepeatCount > 0 {
		if !a.FirstSeen.IsZero() {
			start = a.FirstSeen
		}
		if !a.LastSeen.IsZero() {
			end = a.LastSeen
		}
	}
	return start, end
}

// cefExt appends extension pairs, a space between them.
type cefExt struct {
	dst  []byte
	some bool
}

func (e *cefExt) key(k string) {
	if e.some {
		e.dst = append(e.dst, ' ')
	}
	e.some = true
	e.dst = append(e.dst, k...)
	e.dst = append(e.dst, '=')
}

func (e *cefExt) str(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	e.dst = appendCEFExtValue(e.dst, v)
}

func (e *cefExt) int(k string, v int64) {
	e.key(k)
	e.dst = strconv.AppendInt(e.dst, v, 10)
}

func (e *cefExt) time(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	e.int(k, t.UnixMilli())
}

// addr writes the address v to the key of its family: an IPv4 address
// (IPv4-mapped IPv6 unmapped) to v4, an IPv6 address (without its zone) to
// v6 preceded by v6Label=label6. Empty or unparsable values are left out:
// the keys are typed address fields.
func (e *cefExt) addr(v4, v6, label6, v string) {
	if v == "" {
		return
	}
	ip, err := netip.ParseAddr(v)
	if err != nil {
		return
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		e.key(v4)
	} else {
		e.key(v6 + "Label")
		e.dst = append(e.dst, label6...)
		e.key(v6)
	}
	e.dst = ip.AppendTo(e.dst)
}

// labelled writes k=v preceded by its label pair kLabel=label.
func (e *cefExt) labelled(k, label, v string) {
	if v == "" {
		return
	}
	e.key(k + "Label")
	e.dst = append(e.dst, label...)
	e.str(k, v)
}

// labelledInt writes k=n preceded by kLabel=label.
func (e *cefExt) labelledInt(k, label string, n int64) {
	e.key(k + "Label")
	e.dst = append(e.dst, label...)
	e.int(k, n)
}

// labelledList writes the values joined by commas, preceded by
// kLabel=label; nothing when vs is empty.
func (e *cefExt) labelledList(k, label string, vs []string) {
	if len(vs) == 0 || (len(vs) == 1 && vs[0] == "") {
		return
	}
	e.key(k + "Label")
	e.dst = append(e.dst, label...)
	e.key(k)
	for i, v := range vs {
		if i > 0 {
			e.dst = append(e.dst, ',')
		}
		e.dst = appendCEFExtValue(e.dst, v)
	}
}

// appendCEFHeader appends s escaped for a CEF header field.
func appendCEFHeader(dst []byte, s string) []byte {
	return appendCEFEscaped(dst, s, '|')
}

// appendCEFExtValue appends s escaped for a CEF extension value.
func appendCEFExtValue(dst []byte, s string) []byte {
	return appendCEFEscaped(dst, s, '=')
}

// appendCEFEscaped escapes "\", sep, LF and CR with a backslash, turns other
// control characters into spaces and invalid UTF-8 into U+FFFD. Runs of
// bytes that need nothing are copied in one append.
func appendCEFEscaped(dst []byte, s string, sep byte) []byte {
	start := 0 // first byte not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != 0x7f && c != '\\' && c != sep {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', sep:
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, ' ')
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case r >= 0x80 && r < 0xa0, r == '\u2028', r == '\u2029':
			// C1 controls and the Unicode line/paragraph separators,
			// which some viewers break lines on.
			dst = append(dst, s[start:i]...)
			dst = append(dst, ' ')
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// CEFSeverity maps an indicator's free-text severity to CEF's 0–10 scale:
// critical 10, high 8, medium (or moderate) 5, low 3, informational (info)
// 1; a number 0–10 is taken as is; anything else, including empty, is 5.
// Case and surrounding spaces are ignored.
func CEFSeverity(s string) int {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "critical", "very-high", "very high":
		return 10
	case "high":
		return 8
	case "medium", "moderate":
		return 5
	case "low":
		return 3
	case "info", "informational", "information":
		return 1
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 10 {
		return n
	}
	return 5
}

// syslogSeverity maps CEF's 0–10 to an RFC 5424 severity: 9–10 critical
// (2), 7–8 error (3), 4–6 warning (4), 1–3 notice (5), 0 informational (6).
func syslogSeverity(cef int) int {
	switch {
	case cef >= 9:
		return 2
	case cef >= 7:
		return 3
	case cef >= 4:
		return 4
	case cef >= 1:
		return 5
	default:
		return 6
	}
}
