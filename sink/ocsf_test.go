package sink_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The OCSF 1.5.0 requirements checkOCSF enforces, from the schema's
// definitions of the Detection Finding class and the objects it uses:
//
//   - base event: activity_id, category_uid, class_uid, metadata,
//     severity_id, time and type_uid are required; type_uid is
//     class_uid*100+activity_id; severity_id is 0–6 or 99, and 99 (Other)
//     needs the source's label in severity;
//   - Finding: finding_info is required;
//   - metadata: product and version are required; product needs a name
//     or uid;
//   - finding_info: uid is required; analytic needs type_id;
//   - device: type_id is required, and at least one of ip, uid, name,
//     hostname, … (the constraint of Endpoint, which it extends); each
//     group needs name or uid;
//   - actor: at least one of process, user, app_name, app_uid,
//     authorizations, idp, invoked_by, session;
//   - process: at least one of pid, uid, name, cmd_line; file: name and
//     type_id are required; each fingerprint (hashes[]): algorithm_id and
//     value;
//   - user: at least one of account, name, uid;
//   - network endpoints: at least one of ip, uid, name, hostname, …; ip is
//     an IP address and port is 0–65535;
//   - observables: name and type_id are required;
//   - evidences: at least one of its artifact attributes.
//
// Time attributes (timestamp_t) are integers in milliseconds.

// checkOCSF returns the schema problems of one encoded finding.
func checkOCSF(b []byte) []string {
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	num := func(m map[string]any, path, k string) (int64, bool) {
		v, ok := m[k]
		if !ok {
			bad("%s%s is required", path, k)
			return 0, false
		}
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			bad("%s%s = %v, want an integer", path, k, v)
			return 0, false
		}
		return int64(f), true
	}
	obj := func(m map[string]any, path, k string, required bool) map[string]any {
		v, ok := m[k]
		if !ok {
			if required {
				bad("%s%s is required", path, k)
			}
			return nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			bad("%s%s is %T, want an object", path, k, v)
		}
		return o
	}
	str := func(m map[string]any, path, k string, required bool) {
		v, ok := m[k]
		if !ok {
			if required {
				bad("%s%s is required", path, k)
			}
			return
		}
		if _, ok := v.(string); !ok {
			bad("%s%s is %T, want a string", path, k, v)
		}
	}
	atLeastOne := func(m map[string]any, path string, keys ...string) {
		for _, k := range keys {
			if _, ok := m[k]; ok {
				return
			}
		}
		bad("%s needs at least one of %v", path, keys)
	}
	arr := func(m map[string]any, path, k string) []map[string]any {
		v, ok := m[k]
		if !ok {
			return nil
		}
		a, ok := v.([]any)
		if !ok {
			bad("%s%s is %T, want an array", path, k, v)
			return nil
		}
		var out []map[string]any
		for i, e := range a {
			o, ok := e.(map[string]any)
			if !ok {
				bad("%s%s[%d] is %T, want an object", path, k, i, e)
				continue
			}
			out = append(out, o)
		}
		return out
	}
	endpoint := func(m map[string]any, path string) {
		if m == nil {
			return
		}
		atLeastOne(m, path, "ip", "uid", "name", "hostname", "domain", "instance_uid", "interface_uid", "interface_name", "mac", "svc_name")
		if v, ok := m["ip"]; ok {
			s, _ := v.(string)
			if _, err := netip.ParseAddr(s); err != nil {
				bad("%sip = %v, want an IP address", path, v)
			}
		}
		if _, ok := m["port"]; ok {
			if p, ok := num(m, path, "port"); ok && (p < 0 || p > 65535) {
				bad("%sport = %d, want 0–65535", path, p)
			}
		}
		str(m, path, "hostname", false)
	}

	activity, _ := num(ev, "", "activity_id")
	if v, ok := num(ev, "", "category_uid"); ok && v != 2 {
		bad("category_uid = %d, want 2 (Findings)", v)
	}
	class, _ := num(ev, "", "class_uid")
	if class != 2004 {
		bad("class_uid = %d, want 2004 (Detection Finding)", class)
	}
	if activity != 1 {
		bad("activity_id = %d, want 1 (Create)", activity)
	}
	if v, ok := num(ev, "", "type_uid"); ok && v != class*100+activity {
		bad("type_uid = %d, want class_uid*100+activity_id = %d", v, class*100+activity)
	}
	if sev, ok := num(ev, "", "severity_id"); ok {
		if (sev < 0 || sev > 6) && sev != 99 {
			bad("severity_id = %d, want 0–6 or 99", sev)
		}
		if sev == 99 {
			if s, _ := ev["severity"].(string); s == "" {
				bad("severity_id 99 (Other) without a severity label")
			}
		}
	}
	for _, k := range []string{"time", "start_time", "end_time"} {
		if _, ok := ev[k]; ok || k == "time" {
			num(ev, "", k)
		}
	}
	if md := obj(ev, "", "metadata", true); md != nil {
		str(md, "metadata.", "version", true)
		if v, _ := md["version"].(string); v != "1.5.0" {
			bad("metadata.version = %q, want 1.5.0", v)
		}
		if p := obj(md, "metadata.", "product", true); p != nil {
			atLeastOne(p, "metadata.product", "name", "uid")
		}
	}
	if fi := obj(ev, "", "finding_info", true); fi != nil {
		str(fi, "finding_info.", "uid", true)
		str(fi, "finding_info.", "title", false)
		for _, k := range []string{"created_time", "first_seen_time", "last_seen_time"} {
			if _, ok := fi[k]; ok {
				num(fi, "finding_info.", k)
			}
		}
		if an := obj(fi, "finding_info.", "analytic", false); an != nil {
			num(an, "finding_info.analytic.", "type_id")
		}
	}
	if d := obj(ev, "", "device", false); d != nil {
		num(d, "device.", "type_id")
		// Device extends Endpoint, and keeps its constraint.
		atLeastOne(d, "device", "ip", "uid", "name", "hostname", "instance_uid", "interface_uid", "interface_name")
		for i, g := range arr(d, "device.", "groups") {
			atLeastOne(g, fmt.Sprintf("device.groups[%d]", i), "name", "uid")
		}
		if _, ok := d["ip"]; ok {
			endpoint(map[string]any{"ip": d["ip"]}, "device.")
		}
	}
	if ac := obj(ev, "", "actor", false); ac != nil {
		atLeastOne(ac, "actor", "process", "user", "app_name", "app_uid", "authorizations", "idp", "invoked_by", "session")
		if p := obj(ac, "actor.", "process", false); p != nil {
			atLeastOne(p, "actor.process", "pid", "uid", "name", "cmd_line")
			if f := obj(p, "actor.process.", "file", false); f != nil {
				str(f, "actor.process.file.", "name", true)
				num(f, "actor.process.file.", "type_id")
				for i, h := range arr(f, "actor.process.file.", "hashes") {
					path := fmt.Sprintf("actor.process.file.hashes[%d].", i)
					num(h, path, "algorithm_id")
					str(h, path, "value", true)
				}
			}
			if u := obj(p, "actor.process.", "user", false); u != nil {
				atLeastOne(u, "actor.process.user", "account", "name", "uid")
			}
		}
		if u := obj(ac, "actor.", "user", false); u != nil {
			atLeastOne(u, "actor.user", "account", "name", "uid")
		}
	}
	endpoint(obj(ev, "", "src_endpoint", false), "src_endpoint.")
	endpoint(obj(ev, "", "dst_endpoint", false), "dst_endpoint.")
	for i, o := range arr(ev, "", "observables") {
		path := fmt.Sprintf("observables[%d].", i)
		str(o, path, "name", true)
		num(o, path, "type_id")
	}
	for i, e := range arr(ev, "", "evidences") {
		atLeastOne(e, fmt.Sprintf("evidences[%d]", i), "actor", "api", "connection_info", "data", "database", "databucket",
			"device", "dst_endpoint", "email", "file", "process", "query", "resources", "src_endpoint", "url", "user", "job", "script")
	}
	return probs
}

func TestOCSFRequiredAttributes(t *testing.T) {
	cases := map[string]sink.Alert{
		"the full alert":                          fullAlert(),
		"the zero alert":                          {},
		"an alert with only identity and a hit":   {AlertID: "a1", MatchedField: "RemoteIP", MatchedValue: "203.0.113.7", Indicator: sink.AlertIndicator{Kind: "ip", Value: "203.0.113.7"}},
		"an alert with a port but no address":     {AlertID: "a2", RemotePort: 443},
		"an alert with a non-IP RemoteIP":         {AlertID: "a3", RemoteIP: "-", LocalIP: "not an ip", RemotePort: 70000},
		"an alert with only a folder path":        {AlertID: "a4", FolderPath: `c:\windows\system32\svchost.exe`},
		"an alert with only a hash":               {AlertID: "a5", SHA256: "00ff"},
		"an alert with an odd severity":           {AlertID: "a6", Indicator: sink.AlertIndicator{Severity: "Hoch"}},
		"an alert whose RemoteUrl has an IP host": {AlertID: "a7", RemoteURL: "http://[2001:db8::1]:8080/x"},
		"an alert with only a device group":       {AlertID: "a8", MachineGroup: "Workstations", LocalIP: "not an ip"},
	}
	for i, a := range sinktest.Alerts(200, 9) {
		cases[fmt.Sprintf("generated alert %d", i)] = a
	}
	for name, a := range cases {
		b, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if probs := checkOCSF(b); len(probs) > 0 {
			t.Errorf("%s: %s\n%s", name, strings.Join(probs, "; "), b)
		}
	}
}

func TestOCSFMapping(t *testing.T) {
	a := fullAlert()
	b, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = ev
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				var i int
				fmt.Sscan(k, &i)
				if i >= len(x) {
					return nil
				}
				v = x[i]
			default:
				return nil
			}
		}
		return v
	}
	ms := func(t time.Time) float64 { return float64(t.UnixMilli()) }
	for _, tc := range []struct {
		path string
		want any
	}{
		{"class_uid", 2004.0}, {"category_uid", 2.0}, {"activity_id", 1.0}, {"type_uid", 200401.0},
		{"severity_id", 4.0}, {"severity", "High"},
		{"time", ms(a.DetectedAt)},
		{"start_time", ms(a.FirstSeen)}, {"end_time", ms(a.LastSeen)}, {"count", 12.0},
		{"confidence_score", 75.0},
		{"metadata.version", "1.5.0"}, {"metadata.product.name", "iocwatch"}, {"metadata.product.vendor_name", "iocwatch"},
		{"metadata.uid", a.AlertID}, {"metadata.log_name", "DeviceNetworkEvents"},
		{"finding_info.uid", a.AlertID},
		{"finding_info.title", "IOC match: domain bad-cdn.example on ws-0142.corp.example"},
		{"finding_info.desc", "Emotet C2 server"},
		{"finding_info.types.0", "IOC match"},
		{"finding_info.created_time", ms(a.DetectedAt)},
		{"finding_info.src_url", a.Indicator.Reference},
		{"device.name", "ws-0142.corp.example"}, {"device.uid", a.DeviceID}, {"device.groups.0.name", "Workstations"},
		{"actor.process.name", "rundll32.exe"}, {"actor.process.cmd_line", a.CommandLine},
		{"actor.process.file.path", a.FolderPath},
		{"actor.process.file.hashes.0.algorithm_id", 3.0}, {"actor.process.file.hashes.0.value", a.SHA256},
		{"actor.process.user.name", "ana"}, {"actor.user.name", "ana"},
		{"src_endpoint.ip", "10.20.3.14"},
		{"dst_endpoint.ip", "203.0.113.77"}, {"dst_endpoint.port", 443.0}, {"dst_endpoint.hostname", "update.bad-cdn.example"},
		{"observables.0.name", "dst_endpoint.hostname"}, {"observables.0.type_id", 1.0}, {"observables.0.value", "update.bad-cdn.example"},
		{"evidences.0.url.url_string", a.RemoteURL},
		{"unmapped.table", "DeviceNetworkEvents"}, {"unmapped.report_id", 18984951960.0},
		{"unmapped.tenant_id", a.TenantID}, {"unmapped.indicator.source", "threatfox"},
		{"unmapped.retro", true},
	} {
		if got := get(tc.path); got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.path, got, tc.want)
		}
	}
}

func TestOCSFObservableTypeFollowsTheMatch(t *testing.T) {
	for _, tc := range []struct {
		name, field, kind string
		wantName          string
		wantType          float64
	}{
		{"a RemoteIP hit is an IP Address", "RemoteIP", "cidr", "dst_endpoint.ip", 2},
		{"an IP-literal URL host is an IP Address", "RemoteUrl.host", "ip", "evidences.url.hostname", 2},
		{"a domain hit is a Hostname", "RemoteUrl", "domain", "dst_endpoint.hostname", 1},
		{"a URL hit is a URL String", "RemoteUrl", "url", "evidences.url.url_string", 6},
		{"a pattern hit is a URL String", "RemoteUrl", "pattern", "evidences.url.url_string", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sink.Alert{AlertID: "x", MatchedField: tc.field, MatchedValue: "v", Indicator: sink.AlertIndicator{Kind: tc.kind}}
			b, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Observables []struct {
					Name   string  `json:"name"`
					TypeID float64 `json:"type_id"`
					Value  string  `json:"value"`
				} `json:"observables"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if len(ev.Observables) != 1 || ev.Observables[0].Name != tc.wantName || ev.Observables[0].TypeID != tc.wantType || ev.Observables[0].Value != "v" {
				t.Errorf("observables = %+v, want [{%s %v v}]", ev.Observables, tc.wantName, tc.wantType)
			}
		})
	}
}

func TestOCSFSeverityMapping(t *testing.T) {
	for _, tc := range []struct {
		in   string
		id   float64
		name string
	}{
		{"", 0, "Unknown"}, {"  ", 0, "Unknown"}, {"informational", 1, "Informational"}, {"Info", 1, "Informational"},
		{"low", 2, "Low"}, {"Medium", 3, "Medium"}, {"moderate", 3, "Medium"}, {"HIGH", 4, "High"},
		{"critical", 5, "Critical"}, {"fatal", 6, "Fatal"}, {"Hoch", 99, "Hoch"}, {"7", 99, "7"},
	} {
		a := sink.Alert{Indicator: sink.AlertIndicator{Severity: tc.in}}
		b, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			ID   float64 `json:"severity_id"`
			Name string  `json:"severity"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != tc.id || ev.Name != tc.name {
			t.Errorf("severity %q → (%v, %q), want (%v, %q)", tc.in, ev.ID, ev.Name, tc.id, tc.name)
		}
	}
}

// The destination host of an alert is the host of its RemoteUrl as the
// matcher reads it: a "://" inside the path or query of a URL given
// without a scheme is not a scheme, and "//host/…" has its host after the
// slashes. OCSF (dst_endpoint, evidences, the observable of a domain hit)
// and CEF (dhost) must name that host, not one found in the query.
func TestTheDestinationHostIsTheURLsOwn(t *testing.T) {
	for _, tc := range []struct {
		name, url, host string
	}{
		{"a full URL", "https://evil.example/gate.php?id=42", "evil.example"},
		{"a full URL with a URL in its query", "https://evil.example/r?u=https://benign.example/", "evil.example"},
		{"no scheme, a URL in the query", "evil.example/r?u=https://benign.example/", "evil.example"},
		{"no scheme, a port and a URL in the path", "evil.example:8080/a/http://benign.example", "evil.example"},
		{"no scheme, a URL in the fragment", "evil.example#https://benign.example", "evil.example"},
		{"scheme-relative", "//evil.example/x", "evil.example"},
		{"a bare host with a port", "evil.example:443", "evil.example"},
		{"userinfo", "ftp://u:p@evil.example:21/f", "evil.example"},
		{"a scheme with digits and signs", "svn+ssh://evil.example/repo", "evil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sink.Alert{AlertID: "x", DeviceName: "ws-1", RemoteURL: tc.url, MatchedField: "RemoteUrl", MatchedValue: tc.url,
				Indicator: sink.AlertIndicator{Kind: "domain", Value: tc.host}}
			b, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Dst struct {
					Hostname string `json:"hostname"`
				} `json:"dst_endpoint"`
				Observables []struct {
					Value string `json:"value"`
				} `json:"observables"`
				Evidences []struct {
					URL struct {
						Hostname string `json:"hostname"`
					} `json:"url"`
				} `json:"evidences"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Dst.Hostname != tc.host {
				t.Errorf("dst_endpoint.hostname = %q, want %q", ev.Dst.Hostname, tc.host)
			}
			if len(ev.Observables) != 1 || ev.Observables[0].Value != tc.host {
				t.Errorf("observables = %+v, want the value %q", ev.Observables, tc.host)
			}
			if len(ev.Evidences) != 1 || ev.Evidences[0].URL.Hostname != tc.host {
				t.Errorf("evidences = %+v, want url.hostname %q", ev.Evidences, tc.host)
			}
			line := string(sink.AppendCEF(nil, &a, "1"))
			if !strings.Contains(line, " dhost="+tc.host+" ") {
				t.Errorf("CEF line has no dhost=%s: %s", tc.host, line)
			}
		})
	}
}

// An OCSF device needs a name, uid or ip (the Endpoint constraint): an
// alert without any has no device object, and its device group is kept in
// unmapped instead of being lost.
func TestOCSFDeviceOnlyWithAnIdentity(t *testing.T) {
	for _, tc := range []struct {
		name       string
		a          sink.Alert
		wantDevice bool
		wantGroup  string // unmapped.machine_group
	}{
		{"a device name", sink.Alert{DeviceName: "ws-1", MachineGroup: "G"}, true, ""},
		{"a device id", sink.Alert{DeviceID: "3f2a", MachineGroup: "G"}, true, ""},
		{"a local address", sink.Alert{LocalIP: "10.0.0.1"}, true, ""},
		{"nothing", sink.Alert{}, false, ""},
		{"a group and a local value that is no address", sink.Alert{MachineGroup: "G", LocalIP: "n/a"}, false, "G"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sink.EncodeJSON(nil, &tc.a, sink.FormatOCSF)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Device   map[string]any `json:"device"`
				Unmapped struct {
					MachineGroup string `json:"machine_group"`
				} `json:"unmapped"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if (ev.Device != nil) != tc.wantDevice {
				t.Errorf("device = %v, want present: %v", ev.Device, tc.wantDevice)
			}
			if ev.Unmapped.MachineGroup != tc.wantGroup {
				t.Errorf("unmapped.machine_group = %q, want %q", ev.Unmapped.MachineGroup, tc.wantGroup)
			}
		})
	}
}
