package reference

import (
	"encoding/json"
	"net/netip"

	"github.com/iocwatch/iocwatch/stream"
)

// JSONDecoder is the straightforward encoding/json decoder: the message
// is unmarshalled into structs holding the columns an Event needs, then
// converted. The zero value is ready; it is not safe for concurrent use
// (one per goroutine).
type JSONDecoder struct {
	buf []byte
}

type ejRecord struct {
	Time       string `json:"time"`
	TenantID   string `json:"tenantId"`
	Category   string `json:"category"`
	Properties struct {
		Timestamp                      string          `json:"Timestamp"`
		DeviceID                       string          `json:"DeviceId"`
		DeviceName                     string          `json:"DeviceName"`
		ActionType                     string          `json:"ActionType"`
		MachineGroup                   string          `json:"MachineGroup"`
		ReportID                       int64           `json:"ReportId"`
		RemoteIP                       string          `json:"RemoteIP"`
		RemotePort                     uint16          `json:"RemotePort"`
		RemoteURL                      string          `json:"RemoteUrl"`
		LocalIP                        string          `json:"LocalIP"`
		LocalPort                      uint16          `json:"LocalPort"`
		Protocol                       string          `json:"Protocol"`
		InitiatingProcessFileName      string          `json:"InitiatingProcessFileName"`
		InitiatingProcessFolderPath    string          `json:"InitiatingProcessFolderPath"`
		InitiatingProcessCommandLine   string          `json:"InitiatingProcessCommandLine"`
		InitiatingProcessSHA256        string          `json:"InitiatingProcessSHA256"`
		InitiatingProcessAccountName   string          `json:"InitiatingProcessAccountName"`
		InitiatingProcessAccountDomain string          `json:"InitiatingProcessAccountDomain"`
		FileName                       string          `json:"FileName"`
		DNSQueryString                 string          `json:"DnsQueryString"`
		AdditionalFields               json.RawMessage `json:"AdditionalFields"`
	} `json:"properties"`
}

type ejMessage struct {
	Records []ejRecord `json:"records"`
	ejRecord
}

type ejAddFields struct {
	Host           string `json:"host"`
	URI            string `json:"uri"`
	ServerName     string `json:"server_name"`
	Query          string `json:"query"`
	DNSQueryString string `json:"DnsQueryString"`
}

// Decode implements Decoder.
func (d *JSONDecoder) Decode(msg []byte, dst []stream.Event) ([]stream.Event, int, error) {
	var m ejMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return dst, 0, err
	}
	d.buf = d.buf[:0]
	recs := m.Records
	if recs == nil {
		if m.Category == "" {
			return dst, 0, nil
		}
		recs = []ejRecord{m.ejRecord}
	}
	for i := range recs {
		r := &recs[i]
		t := stream.ParseTable(r.Category)
		if t == stream.TableOther {
			continue
		}
		p := &r.Properties
		ev := stream.Event{Table: t, TenantID: r.TenantID, DeviceID: p.DeviceID, DeviceName: p.DeviceName,
			ActionType: p.ActionType, MachineGroup: p.MachineGroup, ReportID: p.ReportID,
			RemotePort: p.RemotePort, RemoteURL: p.RemoteURL, LocalPort: p.LocalPort, Protocol: p.Protocol,
			ProcessFileName: p.InitiatingProcessFileName, ProcessFolderPath: p.InitiatingProcessFolderPath,
			ProcessCommandLine: p.InitiatingProcessCommandLine, ProcessSHA256: p.InitiatingProcessSHA256,
			AccountName: p.InitiatingProcessAccountName, AccountDomain: p.InitiatingProcessAccountDomain,
			FileName: p.FileName}
		if ts, ok := parseTime([]byte(p.Timestamp)); ok {
			ev.Timestamp = ts
		} else if ts, ok := parseTime([]byte(r.Time)); ok {
			ev.Timestamp = ts
		}
		if a, err := netip.ParseAddr(p.RemoteIP); err == nil {
			ev.RemoteIP = a.Unmap()
		}
		if a, err := netip.ParseAddr(p.LocalIP); err == nil {
			ev.LocalIP = a.Unmap()
		}
		if ev.RemoteURL == "" {
			ev.RemoteURL = d.inspectedURL(ev.ActionType, p.DNSQueryString, p.AdditionalFields)
		}
		dst = append(dst, ev)
	}
	return dst, len(recs), nil
}

func (d *JSONDecoder) inspectedURL(action, dnsQuery string, raw json.RawMessage) string {
	switch action {
	case "HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected":
	case "DnsQueryResponse":
		if dnsQuery != "" {
			return dnsQuery
		}
	default:
		return ""
	}
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		raw = []byte(s)
	}
	var af ejAddFields
	if json.Unmarshal(raw, &af) != nil {
		return ""
	}
	u := inspected(action, af.Host, af.URI, af.ServerName, af.Query, af.DNSQueryString, &d.buf)
	return string([]byte(u)) // d.buf is reused by the next message
}
