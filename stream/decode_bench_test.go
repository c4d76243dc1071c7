package stream

import (
	"encoding/json"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/iocwatch/iocwatch/internal/cputime"
	"github.com/valyala/fastjson"
)

// The benchmarks decode the same generated corpus (seed 1: 256 Event Hubs
// messages of 8 records, ~1.4 KB per record) three ways. One op is one
// message. Besides ns/op and MB/s they report records/s and ns/record by
// the wall clock and, where the OS tells (Linux), by the CPU time of the
// benchmark's thread (cpu-records/s, cpu-ns/record): on a shared machine
// the wall clock also counts the time other processes held the core.

const benchSeed = 1

func benchCorpus(b *testing.B) *corpus {
	b.Helper()
	c := genCorpus(benchSeed, 256, 8)
	b.SetBytes(int64(c.bytes / len(c.msgs)))
	b.ReportAllocs()
	return c
}

// startClocks locks the goroutine to its thread and returns a function
// that reports the per-record metrics for the records decoded since.
func startClocks(b *testing.B) func(records int) {
	runtime.LockOSThread()
	cpu0 := cputime.Thread()
	cpuOK := cpu0 > 0
	return func(records int) {
		cpu1 := cputime.Thread()
		runtime.UnlockOSThread()
		s := b.Elapsed().Seconds()
		b.ReportMetric(float64(records)/s, "records/s")
		b.ReportMetric(s*1e9/float64(records), "ns/record")
		if cpuOK {
			cs := (cpu1 - cpu0).Seconds()
			b.ReportMetric(float64(records)/cs, "cpu-records/s")
			b.ReportMetric(cs*1e9/float64(records), "cpu-ns/record")
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	c := benchCorpus(b)
	var d Decoder
	var evs []Event
	var errs []RecordError
	records, events, n := 0, 0, 0
	report := startClocks(b)
	for b.Loop() {
		evs, errs = d.Decode(c.msgs[n], evs[:0])
		if len(errs) != 0 {
			b.Fatal(errs)
		}
		d.Reset()
		events += len(evs)
		records += 8
		if n++; n == len(c.msgs) {
			n = 0
		}
	}
	report(records)
	if events == 0 {
		b.Fatal("no events decoded")
	}
}

// ejRecord is the straightforward encoding/json model of an envelope
// record, with the same columns the Decoder extracts.
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
		AdditionalFields               json.RawMessage `json:"AdditionalFields"`
	} `json:"properties"`
}

type ejAddFields struct {
	Host           string `json:"host"`
	URI            string `json:"uri"`
	ServerName     string `json:"server_name"`
	Query          string `json:"query"`
	DNSQueryString string `json:"DnsQueryString"`
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	c := benchCorpus(b)
	var evs []Event
	records, events, n := 0, 0, 0
	report := startClocks(b)
	for b.Loop() {
		var nrec int
		var err error
		evs, nrec, err = decodeEncodingJSON(c.msgs[n], evs[:0])
		if err != nil {
			b.Fatal(err)
		}
		events += len(evs)
		records += nrec
		if n++; n == len(c.msgs) {
			n = 0
		}
	}
	report(records)
	if events == 0 {
		b.Fatal("no events decoded")
	}
}

// decodeEncodingJSON is the straightforward encoding/json decoder the
// benchmark compares against: a struct decode, then the same conversions.
func decodeEncodingJSON(msg []byte, evs []Event) ([]Event, int, error) {
	var env struct {
		Records []ejRecord `json:"records"`
	}
	if err := json.Unmarshal(msg, &env); err != nil {
		return evs, 0, err
	}
	for i := range env.Records {
		r := &env.Records[i]
		t := ParseTable(r.Category)
		if t == TableOther {
			continue
		}
		p := &r.Properties
		ev := Event{Table: t, TenantID: r.TenantID, DeviceID: p.DeviceID, DeviceName: p.DeviceName,
			ActionType: p.ActionType, MachineGroup: p.MachineGroup, ReportID: p.ReportID,
			RemotePort: p.RemotePort, RemoteURL: p.RemoteURL, LocalPort: p.LocalPort, Protocol: p.Protocol,
			ProcessFileName: p.InitiatingProcessFileName, ProcessFolderPath: p.InitiatingProcessFolderPath,
			ProcessCommandLine: p.InitiatingProcessCommandLine, ProcessSHA256: p.InitiatingProcessSHA256,
			AccountName: p.InitiatingProcessAccountName, AccountDomain: p.InitiatingProcessAccountDomain,
			FileName: p.FileName}
		ev.Timestamp, _ = time.Parse(time.RFC3339Nano, p.Timestamp)
		if a, err := netip.ParseAddr(p.RemoteIP); err == nil {
			ev.RemoteIP = a.Unmap()
		}
		if a, err := netip.ParseAddr(p.LocalIP); err == nil {
			ev.LocalIP = a.Unmap()
		}
		if ev.RemoteURL == "" && len(p.AdditionalFields) > 0 && p.AdditionalFields[0] == '"' {
			var s string
			var af ejAddFields
			if json.Unmarshal(p.AdditionalFields, &s) == nil && json.Unmarshal([]byte(s), &af) == nil {
				switch ev.ActionType {
				case "HttpConnectionInspected":
					ev.RemoteURL = "http://" + af.Host + af.URI
				case "SslConnectionInspected":
					ev.RemoteURL = af.ServerName
				case "DnsConnectionInspected":
					ev.RemoteURL = af.Query
				case "DnsQueryResponse":
					ev.RemoteURL = af.DNSQueryString
				}
			}
		}
		evs = append(evs, ev)
	}
	return evs, len(env.Records), nil
}

func BenchmarkDecodeFastjson(b *testing.B) {
	c := benchCorpus(b)
	var fj fastjsonDecoder
	var evs []Event
	records, events, n := 0, 0, 0
	report := startClocks(b)
	for b.Loop() {
		var nrec int
		var err error
		evs, nrec, err = fj.decode(c.msgs[n], evs[:0])
		if err != nil {
			b.Fatal(err)
		}
		events += len(evs)
		records += nrec
		if n++; n == len(c.msgs) {
			n = 0
		}
	}
	report(records)
	if events == 0 {
		b.Fatal("no events decoded")
	}
}

// fastjsonDecoder is the tuned github.com/valyala/fastjson reference: the
// parsers are reused, strings alias the parser's buffer, and the address
// and time parsing is the Decoder's own.
type fastjsonDecoder struct{ p, pa fastjson.Parser }

func fjStr(v *fastjson.Value, key string) string {
	bs := v.GetStringBytes(key)
	if len(bs) == 0 {
		return ""
	}
	return unsafe.String(&bs[0], len(bs))
}

func (fj *fastjsonDecoder) decode(msg []byte, evs []Event) ([]Event, int, error) {
	v, err := fj.p.ParseBytes(msg)
	if err != nil {
		return evs, 0, err
	}
	recs := v.GetArray("records")
	for _, r := range recs {
		t := ParseTable(fjStr(r, "category"))
		if t == TableOther {
			continue
		}
		pr := r.Get("properties")
		ev := Event{Table: t, TenantID: fjStr(r, "tenantId"), DeviceID: fjStr(pr, "DeviceId"),
			DeviceName: fjStr(pr, "DeviceName"), ActionType: fjStr(pr, "ActionType"),
			MachineGroup: fjStr(pr, "MachineGroup"), ReportID: pr.GetInt64("ReportId"),
			RemotePort: uint16(pr.GetUint("RemotePort")), RemoteURL: fjStr(pr, "RemoteUrl"),
			LocalPort: uint16(pr.GetUint("LocalPort")), Protocol: fjStr(pr, "Protocol"),
			ProcessFileName: fjStr(pr, "InitiatingProcessFileName"), ProcessFolderPath: fjStr(pr, "InitiatingProcessFolderPath"),
			ProcessCommandLine: fjStr(pr, "InitiatingProcessCommandLine"), ProcessSHA256: fjStr(pr, "InitiatingProcessSHA256"),
			AccountName: fjStr(pr, "InitiatingProcessAccountName"), AccountDomain: fjStr(pr, "InitiatingProcessAccountDomain"),
			FileName: fjStr(pr, "FileName")}
		if ts, ok := parseTime(pr.GetStringBytes("Timestamp")); ok {
			ev.Timestamp = ts
		}
		ev.RemoteIP = parseAddr(pr.GetStringBytes("RemoteIP"))
		ev.LocalIP = parseAddr(pr.GetStringBytes("LocalIP"))
		if ev.RemoteURL == "" {
			if af := pr.GetStringBytes("AdditionalFields"); len(af) > 0 {
				if a, err := fj.pa.ParseBytes(af); err == nil {
					switch ev.ActionType {
					case "HttpConnectionInspected":
						ev.RemoteURL = "http://" + fjStr(a, "host") + fjStr(a, "uri")
					case "SslConnectionInspected":
						ev.RemoteURL = string(a.GetStringBytes("server_name"))
					case "DnsConnectionInspected":
						ev.RemoteURL = string(a.GetStringBytes("query"))
					case "DnsQueryResponse":
						ev.RemoteURL = string(a.GetStringBytes("DnsQueryString"))
					}
				}
			}
		}
		evs = append(evs, ev)
	}
	return evs, len(recs), nil
}
