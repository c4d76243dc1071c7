package sink

import (
	"net/netip"
	"strings"
)

// OCSF constants of the Detection Finding class this package emits.
const (
	ocsfSchemaVersion = "1.5.0"
	ocsfClassUID      = 2004 // Detection Finding
	ocsfCategoryUID   = 2    // Findings
	ocsfActivityID    = 1    // Create
	ocsfTypeUID       = ocsfClassUID*100 + ocsfActivityID
	ocsfProduct       = "iocwatch"
	ocsfFindingType   = "IOC match"
	ocsfLogProvider   = "Microsoft Defender for Endpoint"
)

// OCSF observable type_id values used for the matched value.
const (
	ocsfObsHostname = 1
	ocsfObsIP       = 2
	ocsfObsURL      = 6
)

// ocsfSeverity maps an indicator's free-text severity to OCSF severity_id
// and its caption. Unknown words map to 99 Other with the feed's own word
// as caption, and no severity to 0 Unknown.
func ocsfSeverity(s string) (int64, string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, "Unknown"
	case strings.EqualFold(s, "informational"), strings.EqualFold(s, "info"), strings.EqualFold(s, "information"):
		return 1, "Informational"
	case strings.EqualFold(s, "low"):
		return 2, "Low"
	case strings.EqualFold(s, "medium"), strings.EqualFold(s, "moderate"):
		return 3, "Medium"
	case strings.EqualFold(s, "high"):
		return 4, "High"
	case strings.EqualFold(s, "critical"):
		return 5, "Critical"
	case strings.EqualFold(s, "fatal"):
		return 6, "Fatal"
	}
	return 99, s
}

// ocsfObservable returns the observable for the matched value: its OCSF
// attribute name, type_id, type caption and value. A domain hit's value is
// the host of the matched RemoteUrl (which Defender may give as a full
// URL), so that a Hostname observable holds a host name.
func ocsfObservable(a *Alert) (name string, typeID int64, typeName, value string) {
	switch {
	case a.MatchedField == "RemoteIP":
		return "dst_endpoint.ip", ocsfObsIP, "IP Address", a.MatchedValue
	case a.MatchedField == "RemoteUrl.host" || a.Indicator.Kind == "ip" || a.Indicator.Kind == "cidr":
		return "evidences.url.hostname", ocsfObsIP, "IP Address", a.MatchedValue
	case a.Indicator.Kind == "domain":
		return "dst_endpoint.hostname", ocsfObsHostname, "Hostname", remoteURLHost(a.MatchedValue)
	}
	return "evidences.url.url_string", ocsfObsURL, "URL String", a.MatchedValue
}

// remoteURLHost returns the host of a RemoteUrl value, which is either a bare
// host ("www.example.org", "host:8080") or a URL with scheme, userinfo,
// port, path and query; the scheme may be missing ("host/path") or empty
// ("//host/path"). IPv6 brackets are removed. It returns "" when there is
// no host. As the matcher does, it takes "://" for the end of a scheme
// only after a scheme's letters, so a URL inside the path or query of a
// scheme-less one is not where the host is read.
func remoteURLHost(u string) string {
	if n := schemeLen(u); n > 0 {
		u = u[n+3:]
	} else if strings.HasPrefix(u, "//") {
		u = u[2:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "[") {
		if i := strings.IndexByte(u, ']'); i > 0 {
			return u[1:i]
		}
		return ""
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 && strings.IndexByte(u, ':') == i {
		u = u[:i]
	}
	return u
}

// schemeLen returns the length of u's scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".") when "://" follows it, else 0.
func schemeLen(u string) int {
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && strings.HasPrefix(u[i:], "://"):
			return i
		default:
			return 0
		}
	}
	return 0
}

// isIPHost reports whether h is an IP address. Strings that cannot be one
// are refused before parsing, which keeps the common case (a host name)
// free of the parser's error allocation.
func isIPHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}

// pathBase returns the last element of a Windows or POSIX path.
func pathBase(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// appendOCSFTitle appends the finding title as a JSON string:
// "IOC match: <kind> <value> on <device>".
func appendOCSFTitle(b []byte, a *Alert) []byte {
	b = append(b, '"')
	b = append(b, "IOC match: "...)
	kind := a.Indicator.Kind
	if kind == "" {
		kind = "indicator"
	}
	b = appendJSONEscaped(b, kind)
	b = append(b, ' ')
	b = appendJSONEscaped(b, a.Indicator.Value)
	if a.DeviceName != "" {
		b = append(b, " on "...)
		b = appendJSONEscaped(b, a.DeviceName)
	}
	return append(b, '"')
}

// appendOCSF appends a as an OCSF Detection Finding. docs/alerts.md
// documents the mapping; TestOCSFRequiredAttributes checks it against the
// class's required attributes.
func appendOCSF(b []byte, a *Alert) ([]byte, error) {
	var w jw
	w.b = b
	w.obj()
	w.int("activity_id", ocsfActivityID)
	w.str("activity_name", "Create")
	w.int("category_uid", ocsfCategoryUID)
	w.str("category_name", "Findings")
	w.int("class_uid", ocsfClassUID)
	w.str("class_name", "Detection Finding")
	w.int("type_uid", ocsfTypeUID)
	w.str("type_name", "Detection Finding: Create")
	sevID, sev := ocsfSeverity(a.Indicator.Severity)
	w.int("severity_id", sevID)
	w.str("severity", sev)
	w.int("status_id", 1)
	w.str("status", "New")
	w.bool("is_alert", true)
	w.millis("time", a.DetectedAt)
	start, end := a.Timestamp, a.Timestamp
	if a.RepeatCount > 0 {
		if !a.FirstSeen.IsZero() {
			start = a.FirstSeen
		}
		if !a.LastSeen.IsZero() {
			end = a.LastSeen
		}
		w.int("count", int64(a.RepeatCount))
	}
	if !start.IsZero() {
		w.millis("start_time", start)
	}
	if !end.IsZero() {
		w.millis("end_time", end)
	}
	w.key("message")
	w.b = appendOCSFTitle(w.b, a)
	if a.Indicator.Confidence > 0 {
		w.int("confidence_score", int64(a.Indicator.Confidence))
	}

	w.key("metadata")
	w.obj()
	w.str("version", ocsfSchemaVersion)
	w.strOmit("uid", a.AlertID)
	w.key("product")
	w.obj()
	w.str("name", ocsfProduct)
	w.str("vendor_name", ocsfProduct)
	w.end()
	w.strOmit("log_name", a.Table)
	w.str("log_provider", ocsfLogProvider)
	if !a.Timestamp.IsZero() {
		w.time("original_time", a.Timestamp)
	}
	w.end()

	w.key("finding_info")
	w.obj()
	w.str("uid", a.AlertID)
	w.key("title")
	w.b = appendOCSFTitle(w.b, a)
	w.key("desc")
	if a.Indicator.Description != "" {
		w.b = appendJSONString(w.b, a.Indicator.Description)
	} else {
		w.b = appendOCSFTitle(w.b, a)
	}
	w.key("types")
	w.arr()
	w.elemStr(ocsfFindingType)
	w.endArr()
	w.millis("created_time", a.DetectedAt)
	if !start.IsZero() {
		w.millis("first_seen_time", start)
	}
	if !end.IsZero() {
		w.millis("last_seen_time", end)
	}
	w.strOmit("src_url", a.Indicator.Reference)
	w.key("analytic")
	w.obj()
	w.str("name", "iocwatch indicator match")
	w.int("type_id", 1)
	w.str("type", "Rule")
	w.end()
	if a.Table != "" {
		w.key("data_sources")
		w.arr()
		w.elemStr(a.Table)
		w.endArr()
	}
	w.end()

	// Device extends Endpoint: it needs a name, uid or ip, so an alert
	// with none of them has no device (and its group goes to unmapped).
	localIP := isIPHost(a.LocalIP)
	hasDevice := a.DeviceName != "" || a.DeviceID != "" || localIP
	if hasDevice {
		w.key("device")
		w.obj()
		w.int("type_id", 0)
		w.str("type", "Unknown")
		w.strOmit("name", a.DeviceName)
		w.strOmit("hostname", a.DeviceName)
		w.strOmit("uid", a.DeviceID)
		if localIP {
			w.str("ip", a.LocalIP)
		}
		if a.MachineGroup != "" {
			w.key("groups")
			w.arr()
			w.sep()
			w.obj()
			w.str("name", a.MachineGroup)
			w.end()
			w.endArr()
		}
		w.end()
	}

	procName := a.FileName
	if procName == "" {
		procName = pathBase(a.FolderPath)
	}
	hasProc := procName != "" || a.CommandLine != ""
	if hasProc || a.AccountName != "" {
		w.key("actor")
		w.obj()
		if hasProc {
			w.key("process")
			appendOCSFProcess(&w, a, procName)
		}
		if a.AccountName != "" {
			w.key("user")
			w.obj()
			w.str("name", a.AccountName)
			w.end()
		}
		w.end()
	}

	remoteIP := isIPHost(a.RemoteIP)
	if localIP {
		w.key("src_endpoint")
		w.obj()
		w.str("ip", a.LocalIP)
		w.end()
	}
	host := remoteURLHost(a.RemoteURL)
	if isIPHost(host) {
		host = ""
	}
	dst := remoteIP || host != ""
	port := dst && a.RemotePort > 0 && a.RemotePort <= 65535
	if dst {
		w.key("dst_endpoint")
		w.obj()
		if remoteIP {
			w.str("ip", a.RemoteIP)
		}
		if port {
			w.int("port", int64(a.RemotePort))
		}
		w.strOmit("hostname", host)
		w.end()
	}

	w.key("observables")
	w.arr()
	w.sep()
	w.obj()
	name, typeID, typeName, value := ocsfObservable(a)
	w.str("name", name)
	w.int("type_id", typeID)
	w.str("type", typeName)
	w.str("value", value)
	w.end()
	w.endArr()

	w.key("evidences")
	w.arr()
	w.sep()
	w.obj()
	if a.RemoteURL != "" {
		w.key("url")
		w.obj()
		w.str("url_string", a.RemoteURL)
		w.strOmit("hostname", remoteURLHost(a.RemoteURL))
		w.end()
	}
	w.key("data")
	w.obj()
	w.str("matched_field", a.MatchedField)
	w.str("matched_value", a.MatchedValue)
	w.str("indicator_kind", a.Indicator.Kind)
	w.str("indicator_value", a.Indicator.Value)
	w.end()
	w.end()
	w.endArr()

	w.key("unmapped")
	w.obj()
	w.str("table", a.Table)
	w.strOmit("action_type", a.ActionType)
	w.int("report_id", a.ReportID)
	w.strOmit("tenant_id", a.TenantID)
	w.str("matched_field", a.MatchedField)
	w.strOmit("remote_url", a.RemoteURL)
	// Values OCSF's typed attributes cannot carry go here as they came.
	if !remoteIP {
		w.strOmit("remote_ip", a.RemoteIP)
	}
	if !localIP {
		w.strOmit("local_ip", a.LocalIP)
	}
	if !port {
		w.intOmit("remote_port", int64(a.RemotePort))
	}
	if !hasDevice {
		w.strOmit("machine_group", a.MachineGroup)
	}
	if procName == "" {
		// actor.process.file needs a name: without one, path and hash
		// stay here.
		w.strOmit("folder_path", a.FolderPath)
		w.strOmit("sha256", a.SHA256)
	}
	w.key("indicator")
	w.obj()
	ind := &a.Indicator
	w.str("kind", ind.Kind)
	w.str("value", ind.Value)
	w.strOmit("source", ind.Source)
	w.strOmit("severity", ind.Severity)
	w.intOmit("confidence", int64(ind.Confidence))
	if len(ind.Tags) > 0 {
		w.strs("tags", ind.Tags)
	}
	w.end()
	if a.Retro {
		w.bool("retro", true)
	}
	w.timeOmit("indicator_added_at", a.IndicatorAddedAt)
	w.end()

	w.end()
	return w.b, w.err
}

// appendOCSFProcess appends actor.process; name is the process file name
// (FileName, or the last element of the folder path).
func appendOCSFProcess(w *jw, a *Alert, name string) {
	w.obj()
	w.strOmit("name", name)
	w.strOmit("cmd_line", a.CommandLine)
	if name != "" {
		w.key("file")
		w.obj()
		// name and type_id are required by the File object.
		w.str("name", name)
		w.int("type_id", 1)
		w.str("type", "Regular File")
		w.strOmit("path", a.FolderPath)
		if a.SHA256 != "" {
			w.key("hashes")
			w.arr()
			w.sep()
			w.obj()
			w.int("algorithm_id", 3)
			w.str("algorithm", "SHA-256")
			w.str("value", a.SHA256)
			w.end()
			w.endArr()
		}
		w.end()
	}
	if a.AccountName != "" {
		w.key("user")
		w.obj()
		w.str("name", a.AccountName)
		w.end()
	}
	w.end()
}
