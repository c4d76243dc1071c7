package stream

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/internal/jsonstr"
)

// corpus is a deterministic, realistic set of Event Hubs messages for the
// decoder's benchmarks and agreement tests.
type corpus struct {
	msgs    [][]byte
	records int // records in all messages
	watched int // records of watched tables
	bytes   int
}

// genCorpus generates nMsgs Event Hubs bodies of recsPerMsg records each,
// deterministic by seed: ~1.4 KB per record, about 70% DeviceNetworkEvents,
// 20% DeviceEvents and 10% other tables, every record with backslashed
// folder paths and command lines, ~10% inspected events whose host is only
// in AdditionalFields (a JSON string), and ~20% IPv6 (some IPv4-mapped).
func genCorpus(seed uint64, nMsgs, recsPerMsg int) *corpus {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	c := &corpus{}
	for range nMsgs {
		var b []byte
		b = append(b, `{"records":[`...)
		for k := range recsPerMsg {
			if k > 0 {
				b = append(b, ',')
			}
			var watched bool
			b, watched = g.record(b)
			c.records++
			if watched {
				c.watched++
			}
		}
		b = append(b, "]}"...)
		c.msgs = append(c.msgs, b)
		c.bytes += len(b)
	}
	return c
}

type gen struct {
	r *rand.Rand
	b []byte
}

var (
	genUsers    = []string{"ana", "bob.smith", "carla", "d.okafor", "svc_backup", "j\u00fcrgen", "admin"}
	genDomains  = []string{"corp.example", "eu.corp.example", "lab.example.net"}
	genProcs    = []string{"chrome.exe", "svchost.exe", "msedge.exe", "powershell.exe", "rundll32.exe", "OneDrive.exe", "teams.exe", "MsMpEng.exe", "curl.exe", "outlook.exe"}
	genDirs     = []string{`c:\windows\system32`, `C:\Program Files\Google\Chrome\Application`, `c:\users\%s\appdata\local\temp`, `C:\Program Files (x86)\Microsoft\Edge\Application`, `c:\users\%s\appdata\local\microsoft\onedrive\23.226.1031.0003`, `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.23110.3-0`}
	genHosts    = []string{"update.bad-cdn.example", "www.example.org", "login.microsoftonline.com", "cdn.office.net", "telemetry.example.com", "files.example-storage.net", "api.github.com", "clients4.google.com"}
	genOtherCat = []string{"AdvancedHunting-DeviceProcessEvents", "AdvancedHunting-DeviceFileEvents", "AdvancedHunting-DeviceLogonEvents", "AdvancedHunting-DeviceRegistryEvents"}
	genNetActs  = []string{"ConnectionSuccess", "ConnectionSuccess", "ConnectionSuccess", "ConnectionFailed", "InboundConnectionAccepted", "ListeningConnectionCreated", "ConnectionAttempt"}
	genDevActs  = []string{"BrowserLaunchedToOpenUrl", "SmartScreenUrlWarning", "ExploitGuardNetworkProtectionBlocked", "DnsQueryResponse", "PowerShellCommand", "ProcessCreatedUsingWmiQuery", "AntivirusDetection"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for range n {
		sb.WriteByte(digits[g.r.IntN(16)])
	}
	return sb.String()
}

func (g *gen) ipv4() string {
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) remoteIP() (ip, typ string) {
	switch n := g.r.IntN(100); {
	case n < 15:
		return fmt.Sprintf("2a02:cf40:%x:%x::%x", g.r.IntN(0xffff), g.r.IntN(0xffff), 1+g.r.IntN(0xfff)), "Public"
	case n < 20:
		return "::ffff:" + g.ipv4(), "FourToSixMapping"
	default:
		return g.ipv4(), "Public"
	}
}

func (g *gen) ts(base time.Time) string {
	return base.Add(time.Duration(g.r.Int64N(int64(time.Hour)))).UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// str appends "key":"value" with JSON escaping.
func (g *gen) str(key, val string) {
	g.b = append(g.b, '"')
	g.b = append(g.b, key...)
	g.b = append(g.b, `":`...)
	g.b = jsonstr.Append(g.b, val)
	g.b = append(g.b, ',')
}

func (g *gen) raw(key, val string) {
	g.b = append(g.b, '"')
	g.b = append(g.b, key...)
	g.b = append(g.b, `":`...)
	g.b = append(g.b, val...)
	g.b = append(g.b, ',')
}

var genBase = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// record appends one envelope record and reports whether its table is
// watched.
func (g *gen) record(dst []byte) ([]byte, bool) {
	g.b = dst
	n := g.r.IntN(100)
	category := "AdvancedHunting-DeviceNetworkEvents"
	switch {
	case n >= 90:
		category = g.pick(genOtherCat)
	case n >= 70:
		category = "AdvancedHunting-DeviceEvents"
	}
	g.b = append(g.b, '{')
	g.str("time", g.ts(genBase.Add(time.Minute)))
	g.str("tenantId", "0f8fad5b-d9cb-469f-a165-70867728950e")
	g.str("operationName", "Publish")
	g.str("category", category)
	g.b = append(g.b, `"properties":{`...)

	user := g.pick(genUsers)
	proc := g.pick(genProcs)
	dir := g.pick(genDirs)
	if strings.Contains(dir, "%s") {
		dir = fmt.Sprintf(dir, user)
	}
	device := fmt.Sprintf("ws-%04d.%s", g.r.IntN(5000), g.pick(genDomains))
	g.str("Timestamp", g.ts(genBase))
	g.str("DeviceId", g.hex(40))
	g.str("DeviceName", device)
	action := g.pick(genNetActs)
	if category == "AdvancedHunting-DeviceEvents" {
		action = g.pick(genDevActs)
	}
	inspected := category == "AdvancedHunting-DeviceNetworkEvents" && g.r.IntN(100) < 14
	var addFields string
	if inspected {
		host := g.pick(genHosts)
		switch g.r.IntN(3) {
		case 0:
			action = "HttpConnectionInspected"
			addFields = fmt.Sprintf(`{"direction":"Out","host":"%s","method":"GET","uri":"/download/%s.bin?id=%d","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","status_code":"200","version":"1.1"}`, host, g.hex(8), g.r.IntN(99999))
		case 1:
			action = "SslConnectionInspected"
			addFields = fmt.Sprintf(`{"version":"TLS 1.2","client_cipher":"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384","direction":"Out","server_name":"%s","established":true,"ja3":"%s","ja3s":"%s"}`, host, g.hex(32), g.hex(32))
		default:
			action = "DnsConnectionInspected"
			addFields = fmt.Sprintf(`{"direction":"Out","query":"%s","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","uid":"C%s"}`, host, g.hex(16))
		}
	}
	if action == "DnsQueryResponse" {
		addFields = fmt.Sprintf(`{"DnsQueryString":"%s","DnsQueryResult":[{"DnsQueryType":"A","IpAddress":"%s"}]}`, g.pick(genHosts), g.ipv4())
	}
	g.str("ActionType", action)
	ip, ipType := g.remoteIP()
	g.str("RemoteIP", ip)
	g.raw("RemotePort", strconv.Itoa([]int{443, 80, 53, 8443, 3389, 445}[g.r.IntN(6)]))
	if !inspected && g.r.IntN(100) < 45 {
		url := g.pick(genHosts)
		if g.r.IntN(3) == 0 {
			url = "https://" + url + "/path/to/" + g.hex(6) + "?q=" + g.hex(4)
		}
		g.str("RemoteUrl", url)
	} else {
		g.raw("RemoteUrl", "null")
	}
	g.str("LocalIP", fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254)))
	g.raw("LocalPort", strconv.Itoa(49152+g.r.IntN(16000)))
	if category == "AdvancedHunting-DeviceNetworkEvents" {
		g.str("Protocol", "Tcp")
		g.str("RemoteIPType", ipType)
		g.str("LocalIPType", "Private")
	} else {
		g.str("FileName", g.pick(genProcs))
		g.str("FolderPath", dir+`\`+g.pick(genProcs))
		g.str("SHA256", g.hex(64))
		g.str("ProcessCommandLine", `"`+proc+`" --type=renderer --field-trial-handle=`+g.hex(12))
		g.str("AccountName", user)
		g.raw("FileOriginUrl", "null")
	}
	g.str("InitiatingProcessFileName", proc)
	g.str("InitiatingProcessFolderPath", strings.ToLower(dir+`\`+proc))
	g.str("InitiatingProcessCommandLine", `"`+proc+`" --flag `+dir+`\data\`+g.hex(8)+`.dat`)
	g.str("InitiatingProcessSHA1", g.hex(40))
	g.str("InitiatingProcessSHA256", g.hex(64))
	g.raw("InitiatingProcessId", strconv.Itoa(1000+g.r.IntN(60000)))
	g.str("InitiatingProcessCreationTime", g.ts(genBase.Add(-time.Hour)))
	g.str("InitiatingProcessAccountDomain", "corp")
	g.str("InitiatingProcessAccountName", user)
	g.str("InitiatingProcessAccountSid", "S-1-5-21-"+strconv.Itoa(g.r.IntN(1<<30))+"-"+strconv.Itoa(g.r.IntN(1<<30))+"-1104")
	g.str("InitiatingProcessParentFileName", "explorer.exe")
	g.raw("IsInitiatingProcessRemoteSession", "false")
	g.raw("ReportId", strconv.FormatInt(1e10+g.r.Int64N(1e10), 10))
	if addFields != "" {
		g.str("AdditionalFields", addFields)
	} else {
		g.raw("AdditionalFields", "null")
	}
	g.str("MachineGroup", "Workstations")
	g.b[len(g.b)-1] = '}' // replaces the last comma
	g.b = append(g.b, '}')
	return g.b, category != "AdvancedHunting-" && ParseTable(category) != TableOther
}
