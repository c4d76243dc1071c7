package reference

import (
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/iocwatch/iocwatch/stream"
)

// FastjsonDecoder is the tuned github.com/valyala/fastjson decoder: the
// parsers are reused and strings alias the parser's buffer (valid until the
// next Decode). The zero value is ready; it is not safe for concurrent use
// (one per goroutine).
type FastjsonDecoder struct {
	p, inner fastjson.Parser
	buf      []byte // inspected URLs built from AdditionalFields
}

// Decode implements Decoder.
func (d *FastjsonDecoder) Decode(msg []byte, dst []stream.Event) ([]stream.Event, int, error) {
	v, err := d.p.ParseBytes(msg)
	if err != nil {
		return dst, 0, err
	}
	d.buf = d.buf[:0]
	recs := v.GetArray("records")
	if recs == nil {
		if str(v, "category") == "" { // a bare record names its table
			return dst, 0, nil
		}
		recs = []*fastjson.Value{v}
	}
	for _, r := range recs {
		t := stream.ParseTable(str(r, "category"))
		if t == stream.TableOther {
			continue
		}
		dst = append(dst, stream.Event{})
		d.record(r, t, &dst[len(dst)-1])
	}
	return dst, len(recs), nil
}

func (d *FastjsonDecoder) record(r *fastjson.Value, t stream.Table, e *stream.Event) {
	pr := r.Get("properties")
	e.Table = t
	e.TenantID = str(r, "tenantId")
	if ts, ok := parseTime(pr.GetStringBytes("Timestamp")); ok {
		e.Timestamp = ts
	} else if ts, ok := parseTime(r.GetStringBytes("time")); ok {
		e.Timestamp = ts
	}
	e.DeviceID = str(pr, "DeviceId")
	e.DeviceName = str(pr, "DeviceName")
	e.ActionType = str(pr, "ActionType")
	e.MachineGroup = str(pr, "MachineGroup")
	e.ReportID = pr.GetInt64("ReportId")
	e.RemoteIP = addr(pr.GetStringBytes("RemoteIP"))
	e.RemotePort = port(pr.Get("RemotePort"))
	e.RemoteURL = str(pr, "RemoteUrl")
	e.LocalIP = addr(pr.GetStringBytes("LocalIP"))
	e.LocalPort = port(pr.Get("LocalPort"))
	e.Protocol = str(pr, "Protocol")
	e.ProcessFileName = str(pr, "InitiatingProcessFileName")
	e.ProcessFolderPath = str(pr, "InitiatingProcessFolderPath")
	e.ProcessCommandLine = str(pr, "InitiatingProcessCommandLine")
	e.ProcessSHA256 = str(pr, "InitiatingProcessSHA256")
	e.AccountName = str(pr, "InitiatingProcessAccountName")
	e.AccountDomain = str(pr, "InitiatingProcessAccountDomain")
	e.FileName = str(pr, "FileName")
	if e.RemoteURL == "" {
		e.RemoteURL = d.inspectedURL(pr, e.ActionType)
	}
}

// inspectedURL derives RemoteUrl from AdditionalFields (and the
// DnsQueryString column) as the iocwatch decoder does.
func (d *FastjsonDecoder) inspectedURL(pr *fastjson.Value, action string) string {
	switch action {
	case "HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected":
	case "DnsQueryResponse":
		if s := str(pr, "DnsQueryString"); s != "" {
			return s
		}
	default:
		return ""
	}
	af := pr.Get("AdditionalFields")
	if af == nil {
		return ""
	}
	if af.Type() == fastjson.TypeString {
		var err error
		if af, err = d.inner.ParseBytes(af.GetStringBytes()); err != nil {
			return ""
		}
	}
	if af.Type() != fastjson.TypeObject {
		return ""
	}
	u := inspected(action, str(af, "host"), str(af, "uri"), str(af, "server_name"), str(af, "query"), str(af, "DnsQueryString"), &d.buf)
	if u == "" {
		return ""
	}
	// The inner parser's buffer is reused by the next record: keep a copy.
	start := len(d.buf)
	d.buf = append(d.buf, u...)
	b := d.buf[start:]
	return unsafe.String(&b[0], len(b))
}

// inspected applies the decoder's rules for the host of inspected events.
func inspected(action, host, uri, serverName, query, dnsQuery string, buf *[]byte) string {
	switch action {
	case "HttpConnectionInspected":
		if hasPrefixFold(uri, "http://") || hasPrefixFold(uri, "https://") {
			return uri
		}
		if host == "" || !strings.HasPrefix(uri, "/") {
			return host
		}
		start := len(*buf)
		*buf = append(*buf, "http://"...)
		*buf = append(*buf, host...)
		*buf = append(*buf, uri...)
		b := (*buf)[start:]
		return unsafe.String(&b[0], len(b))
	case "SslConnectionInspected":
		return serverName
	case "DnsConnectionInspected":
		return query
	default:
		return dnsQuery
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// str returns a string member without copying: it aliases the parser's
// buffer.
func str(v *fastjson.Value, key string) string {
	b := v.GetStringBytes(key)
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func addr(b []byte) netip.Addr {
	if len(b) == 0 {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func port(v *fastjson.Value) uint16 {
	if v == nil {
		return 0
	}
	n, err := v.Int()
	if err != nil || n < 0 || n > 65535 {
		return 0
	}
	return uint16(n)
}

// parseTime parses Defender's "2006-01-02T15:04:05.0000000Z" quickly and
// anything else with time.Parse(RFC3339Nano).
func parseTime(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, false
	}
	if len(b) >= 20 && b[len(b)-1] == 'Z' && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' {
		num := func(s []byte) (int, bool) {
			n := 0
			for _, c := range s {
				if c < '0' || c > '9' {
					return 0, false
				}
				n = n*10 + int(c-'0')
			}
			return n, true
		}
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		dd, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		s, ok6 := num(b[17:19])
		ns := 0
		ok7 := true
		if frac := b[19 : len(b)-1]; len(frac) > 0 {
			if frac[0] != '.' || len(frac) > 10 {
				ok7 = false
			} else {
				var n int
				n, ok7 = num(frac[1:])
				for i := len(frac) - 1; i < 9; i++ {
					n *= 10
				}
				ns = n
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && h < 24 && mi < 60 && s < 60 {
			return time.Date(y, time.Month(mo), dd, h, mi, s, ns, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, unsafe.String(&b[0], len(b)))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}
