package gen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/internal/jsonstr"
	"github.com/iocwatch/iocwatch/match"
)

// Options configure a Generator. The zero value generates 8-record
// envelopes with no planted hits, starting now.
type Options struct {
	Seed int64
	// RecordsPerMessage: records per Event Hubs envelope; 1 with Bare set
	// writes bare records. Default 8.
	RecordsPerMessage int
	// Bare writes each record alone, without the {"records":[…]} envelope.
	Bare bool
	// HitRatio is the fraction of records given a planted hit (0–1).
	HitRatio float64
	// ExcludedRatio is the fraction of planted hits that are benign traffic
	// docs/examples/exclusions.yaml suppresses (svchost.exe under System32
	// to a management server, mstsc.exe to a jump host on 3389, the Veeam
	// agent to a backup repository, wuauclt.exe to WSUS). Only the
	// scenarios whose server address an ip or cidr indicator covers are
	// used; with none, every planted hit is a real one.
	ExcludedRatio float64
	// Indicators to plant hits on: ip, cidr, domain and url kinds are used.
	Indicators []*match.Indicator
	// Devices is the number of distinct devices; default 500.
	Devices int
	// Start is the first event time; default now. Events advance by Step.
	Start time.Time
	// Step between records; default 1ms.
	Step time.Duration
	// TenantID of every record; default a fixed GUID.
	TenantID string

	// IPv6Share is the fraction (0–1) of benign RemoteIPs that are IPv6.
	// 0 keeps the default of 0.12; a negative value gives none.
	IPv6Share float64
	// BenignHosts, when > 0, is the number of distinct benign host names
	// (generated from Seed, under their own registrable domains) that
	// records without a planted hit carry; 0 uses a built-in list of 16
	// well-known hosts. Many distinct hosts make lookups miss the CPU
	// caches as real traffic does.
	BenignHosts int
	// ExtraColumnBytes, when > 0, widens every record by about this many
	// bytes of Defender columns that iocwatch does not read
	// (InitiatingProcessVersionInfo…, integrity level, parent creation
	// time, …). 0 writes the usual ~1.4 KB record.
	ExtraColumnBytes int
	// Clock, when set, gives every record's Timestamp (and its envelope
	// time) instead of Start + n × Step: with Clock = time.Now the records
	// carry the time they were generated, from which a consumer computes
	// produce-to-alert latency. A generator with a Clock is not
	// deterministic.
	Clock func() time.Time
}

// Planted is one planted hit.
type Planted struct {
	DeviceID  string
	ReportID  int64
	Timestamp time.Time
	Kind      string // indicator kind
	Value     string // indicator value
	Field     string // RemoteIP or RemoteUrl
	// Excluded is true when the record is benign traffic that the example
	// exclusions suppress: no alert is expected for it.
	Excluded bool
}

// Generator produces messages. Not safe for concurrent use.
type Generator struct {
	opt      Options
	r        *rand.Rand
	now      time.Time
	report   int64
	ips      []*match.Indicator
	hosts    []*match.Indicator
	urls     []*match.Indicator
	devices  []device
	benign   []string // BenignHosts generated hosts; nil: the built-in list
	extra    []byte   // ExtraColumnBytes of columns, ready to append
	excl     []excludable
	records  int64
	recBuf   []byte
	planted  []Planted
	messages int64
}

type device struct{ id, name, group, account string }

// New returns a generator.
func New(opt Options) *Generator {
	if opt.RecordsPerMessage <= 0 {
		opt.RecordsPerMessage = 8
	}
	if opt.Devices <= 0 {
		opt.Devices = 500
	}
	if opt.Start.IsZero() {
		opt.Start = time.Now().UTC()
	}
	if opt.Step <= 0 {
		opt.Step = time.Millisecond
	}
	if opt.TenantID == "" {
		opt.TenantID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	}
	g := &Generator{opt: opt, r: rand.New(rand.NewPCG(uint64(opt.Seed), 0x10c3a7c4)), now: opt.Start.UTC(), report: 18984951960}
	for _, ind := range opt.Indicators {
		switch ind.Kind {
		case match.KindIP, match.KindCIDR:
			g.ips = append(g.ips, ind)
		case match.KindDomain:
			g.hosts = append(g.hosts, ind)
		case match.KindURL:
			if !strings.HasSuffix(ind.Value, "*") || len(ind.Value) > 1 {
				g.urls = append(g.urls, ind)
			}
		}
	}
	for _, sc := range excludedScenarios {
		a := netip.MustParseAddr(sc.ip)
		for _, ind := range g.ips {
			if covers(ind, a) {
				g.excl = append(g.excl, excludable{sc, ind})
				break
			}
		}
	}
	if opt.BenignHosts > 0 {
		// A separate stream, so that the records stay the same as without
		// BenignHosts apart from their hosts.
		hr := rand.New(rand.NewPCG(uint64(opt.Seed), 0xb3e19a7))
		g.benign = make([]string, opt.BenignHosts)
		for i := range g.benign {
			g.benign[i] = benignHostName(hr)
		}
	}
	if opt.ExtraColumnBytes > 0 {
		g.extra = extraColumns(opt.ExtraColumnBytes)
	}
	groups := []string{"Workstations", "Servers", "Domain Controllers", "Finance", "Developers", "Kiosks"}
	for i := range opt.Devices {
		kind := "ws"
		if i%10 == 0 {
			kind = "srv"
		}
		g.devices = append(g.devices, device{
			id:      fmt.Sprintf("%016x%016x%08x", g.r.Uint64(), g.r.Uint64(), g.r.Uint32()),
			name:    fmt.Sprintf("%s-%04d.corp.example", kind, i),
			group:   groups[g.r.IntN(len(groups))],
			account: accounts[g.r.IntN(len(accounts))],
		})
	}
	return g
}

// Records returns how many records were generated so far.
func (g *Generator) Records() int64 { return g.records }

// Next appends one message (an envelope, or a bare record with Bare) to dst
// and returns it with the hits planted in it. The Planted slice is reused
// by the next call.
func (g *Generator) Next(dst []byte) ([]byte, []Planted) {
	return g.NextN(dst, g.opt.RecordsPerMessage)
}

// NextN is Next with n records in the envelope (at least 1; a bare record
// is always one): the last message of a stream of a given length.
func (g *Generator) NextN(dst []byte, n int) ([]byte, []Planted) {
	g.planted = g.planted[:0]
	g.messages++
	if g.opt.Bare {
		return g.record(dst), g.planted
	}
	dst = append(dst, `{"records":[`...)
	for i := range max(n, 1) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = g.record(dst)
	}
	return append(dst, "]}"...), g.planted
}

type proc struct{ name, path, cmd string }

// scenario is benign traffic that an exclusion rule suppresses.
type scenario struct {
	p    proc
	ip   string
	port int
}

// excludable is a scenario whose address an indicator covers.
type excludable struct {
	s   scenario
	ind *match.Indicator
}

var (
	benignProcs = []proc{
		{"chrome.exe", `c:\program files\google\chrome\application\chrome.exe`, `"C:\Program Files\Google\Chrome\Application\chrome.exe" --type=utility --utility-sub-type=network.mojom.NetworkService`},
		{"msedge.exe", `c:\program files (x86)\microsoft\edge\application\msedge.exe`, `"msedge.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US`},
		{"teams.exe", `c:\users\%s\appdata\local\microsoft\teams\current\teams.exe`, `"Teams.exe" --type=renderer --autoplay-policy=no-user-gesture-required`},
		{"outlook.exe", `c:\program files\microsoft office\root\office16\outlook.exe`, `"OUTLOOK.EXE" /recycle`},
		{"onedrive.exe", `c:\users\%s\appdata\local\microsoft\onedrive\onedrive.exe`, `"OneDrive.exe" /background`},
		{"powershell.exe", `c:\windows\system32\windowspowershell\v1.0\powershell.exe`, `powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\scripts\inventory.ps1`},
		{"MsSense.exe", `c:\program files\windows defender advanced threat protection\mssense.exe`, `"MsSense.exe"`},
		{"python.exe", `c:\users\%s\appdata\local\programs\python\python312\python.exe`, `python.exe -m pip install --upgrade requests`},
		{"curl.exe", `c:\windows\system32\curl.exe`, `curl.exe -s https://status.example.com/health`},
		{"zoom.exe", `c:\users\%s\appdata\roaming\zoom\bin\zoom.exe`, `"Zoom.exe" --url=zoommtg://zoom.us/join?action=join`},
	}
	suspiciousProcs = []proc{
		{"rundll32.exe", `c:\users\%s\appdata\local\temp\rundll32.exe`, `rundll32.exe c:\users\%s\appdata\local\temp\a.dll,Start`},
		{"svchost.exe", `c:\users\public\svchost.exe`, `svchost.exe -k netsvcs`},
		{"powershell.exe", `c:\windows\system32\windowspowershell\v1.0\powershell.exe`, `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`},
		{"mshta.exe", `c:\windows\system32\mshta.exe`, `mshta.exe vbscript:Execute("CreateObject(""Wscript.Shell"").Run ""powershell""")`},
		{"update.exe", `c:\programdata\microsoft\update\update.exe`, `"C:\ProgramData\Microsoft\Update\update.exe" /silent`},
	}
	// excludedScenarios are the benign traffic that docs/examples/exclusions.yaml
	// suppresses: the process, where it connects, and on which port.
	excludedScenarios = []scenario{
		{proc{"svchost.exe", `c:\windows\system32\svchost.exe`, `svchost.exe -k netsvcs -p -s Schedule`}, "192.0.2.10", 443},
		{proc{"taskhostw.exe", `c:\windows\system32\taskhostw.exe`, `taskhostw.exe`}, "192.0.2.11", 443},
		{proc{"mstsc.exe", `c:\windows\system32\mstsc.exe`, `"C:\Windows\system32\mstsc.exe" /v:192.0.2.5`}, "192.0.2.5", 3389},
		{proc{"VeeamAgent.exe", `c:\program files\veeam\endpoint backup\veeamagent.exe`, `"VeeamAgent.exe" -id 4f0d`}, "192.0.2.70", 10005},
		{proc{"wuauclt.exe", `c:\windows\system32\wuauclt.exe`, `wuauclt.exe /UpdateDeploymentProvider UpdateDeploymentProvider.dll /ClassId 2`}, "203.0.113.20", 8530},
	}
	accounts      = []string{"ana", "bram", "chen", "dmitri", "eva", "farah", "gus", "hana", "system", "network service", "josé", "zoë"}
	benignHosts   = []string{"www.example.org", "login.microsoftonline.com", "outlook.office365.com", "github.com", "teams.microsoft.com", "update.googleapis.com", "cdn.jsdelivr.net", "api.slack.com", "s3.amazonaws.com", "pypi.org", "notbad-cdn.example", "evil.example.net.au", "ocsp.digicert.com", "ctldl.windowsupdate.com", "zoom.us", "münchen.example"}
	netActions    = []string{"ConnectionSuccess", "ConnectionSuccess", "ConnectionSuccess", "ConnectionSuccess", "ConnectionFailed", "ConnectionAttempt", "InboundConnectionAccepted", "ListeningConnectionCreated", "ConnectionRequest"}
	inspected     = []string{"HttpConnectionInspected", "SslConnectionInspected", "DnsConnectionInspected"}
	deviceActions = []string{"DnsQueryResponse", "BrowserLaunchedToOpenUrl", "SmartScreenUrlWarning", "ExploitGuardNetworkProtectionBlocked", "NetworkProtectionUserBypassEvent", "AntivirusDetection", "ProcessCreatedUsingWmiQuery"}
)

func (g *Generator) pick(list []proc, acct string) proc {
	p := list[g.r.IntN(len(list))]
	if strings.Contains(p.path, "%s") {
		p.path = fmt.Sprintf(p.path, acct)
	}
	if strings.Contains(p.cmd, "%s") {
		p.cmd = fmt.Sprintf(p.cmd, acct)
	}
	return p
}

func (g *Generator) benignIP() netip.Addr {
	v6 := false
	switch {
	case g.opt.IPv6Share == 0:
		v6 = g.r.IntN(100) < 12
	case g.opt.IPv6Share > 0:
		v6 = g.r.Float64() < g.opt.IPv6Share
	}
	switch {
	case v6:
		var b [16]byte
		b[0], b[1] = 0x2a, 0x02
		for i := 2; i < 16; i++ {
			b[i] = byte(g.r.UintN(256))
		}
		return netip.AddrFrom16(b)
	default:
		// Public-looking IPv4 outside the documentation ranges used by indicators.
		return netip.AddrFrom4([4]byte{byte(20 + g.r.IntN(150)), byte(g.r.UintN(256)), byte(g.r.UintN(256)), byte(1 + g.r.IntN(254))})
	}
}

// rec is one record being built; absent strings are written as null.
type rec struct {
	table                                   string
	action                                  string
	remoteIP, remoteURL, additional, dnsQry string
	ipStyle                                 int // 0 plain, 1 ::ffff: mapped
	port                                    int
	p                                       proc
	fileName                                string
	noTimestamp                             bool
}

func (g *Generator) record(dst []byte) []byte {
	g.records++
	if g.opt.Clock != nil {
		g.now = g.opt.Clock().UTC()
	} else {
		g.now = g.now.Add(g.opt.Step)
	}
	g.report++
	d := g.devices[g.r.IntN(len(g.devices))]
	var r rec
	r.table = "DeviceNetworkEvents"
	if g.r.IntN(100) < 25 {
		r.table = "DeviceEvents"
	}
	r.port = []int{443, 443, 443, 80, 53, 8080, 445, 3389, 22, 5985}[g.r.IntN(10)]
	r.p = g.pick(benignProcs, d.account)
	if r.table == "DeviceNetworkEvents" {
		if g.r.IntN(100) < 8 {
			r.action = inspected[g.r.IntN(len(inspected))]
		} else {
			r.action = netActions[g.r.IntN(len(netActions))]
		}
	} else {
		r.action = deviceActions[g.r.IntN(len(deviceActions))]
		r.fileName = []string{"chrome.exe", "invoice.pdf.exe", "setup.msi", ""}[g.r.IntN(4)]
	}
	ip := g.benignIP()
	r.remoteIP = ip.String()
	if ip.Is4() && g.r.IntN(100) < 5 {
		r.remoteIP = "::ffff:" + ip.String()
	}
	var host string
	if g.benign != nil {
		host = g.benign[g.r.IntN(len(g.benign))]
	} else {
		host = benignHosts[g.r.IntN(len(benignHosts))]
	}
	g.setHost(&r, host, "/"+strconv.Itoa(g.r.IntN(1000)), false)
	if g.r.IntN(200) == 0 {
		r.noTimestamp = true
	}

	// Plant a hit.
	if (len(g.ips) > 0 || len(g.hosts) > 0 || len(g.urls) > 0) && g.r.Float64() < g.opt.HitRatio {
		excluded := len(g.excl) > 0 && g.r.Float64() < g.opt.ExcludedRatio
		pl := Planted{DeviceID: d.id, ReportID: g.report, Timestamp: g.now, Excluded: excluded}
		if r.noTimestamp {
			pl.Timestamp = time.Time{} // the decoder falls back to the envelope time
		}
		if excluded {
			x := g.excl[g.r.IntN(len(g.excl))]
			r.p, r.remoteIP, r.port = x.s.p, x.s.ip, x.s.port
			r.table, r.action, r.fileName = "DeviceNetworkEvents", "ConnectionSuccess", ""
			g.setHost(&r, benignHosts[g.r.IntN(3)], "/", false)
			pl.Kind, pl.Value, pl.Field = x.ind.Kind.String(), x.ind.Value, "RemoteIP"
			g.planted = append(g.planted, pl)
			return g.write(dst, &r, d)
		}
		r.p = g.pick(suspiciousProcs, d.account)
		total := len(g.ips) + len(g.hosts) + len(g.urls)
		n := g.r.IntN(total)
		switch {
		case n < len(g.ips):
			ind := g.ips[n]
			addr := g.addrIn(ind)
			r.remoteIP = addr.String()
			if addr.Is4() && g.r.IntN(10) == 0 {
				r.remoteIP = "::ffff:" + addr.String()
			}
			// Keep the URL from matching something else by accident.
			g.setHost(&r, benignHosts[g.r.IntN(3)], "/", false)
			pl.Kind, pl.Value, pl.Field = ind.Kind.String(), ind.Value, "RemoteIP"
		case n < len(g.ips)+len(g.hosts):
			ind := g.hosts[n-len(g.ips)]
			h := ind.Value
			if g.r.IntN(2) == 0 {
				h = []string{"cdn.", "api.", "x1.", "update."}[g.r.IntN(4)] + h
			}
			g.setHost(&r, mixCase(g.r, h), "/gate.php?id="+strconv.Itoa(g.r.IntN(1e6)), true)
			pl.Kind, pl.Value, pl.Field = ind.Kind.String(), ind.Value, "RemoteUrl"
		default:
			ind := g.urls[n-len(g.ips)-len(g.hosts)]
			u := strings.TrimSuffix(ind.Value, "*")
			if strings.HasSuffix(ind.Value, "*") {
				u += "x" + strconv.Itoa(g.r.IntN(100)) + ".bin"
			}
			r.remoteURL, r.additional, r.dnsQry = u, "", ""
			if r.table == "DeviceEvents" {
				r.action = "BrowserLaunchedToOpenUrl"
			} else if isInspected(r.action) {
				r.action = "ConnectionSuccess"
			}
			pl.Kind, pl.Value, pl.Field = ind.Kind.String(), ind.Value, "RemoteUrl"
		}
		g.planted = append(g.planted, pl)
	}
	return g.write(dst, &r, d)
}

func isInspected(a string) bool {
	return a == "HttpConnectionInspected" || a == "SslConnectionInspected" || a == "DnsConnectionInspected"
}

// setHost places host where the record's action type carries it. Unless
// carry is set, about half of the plain network events get no RemoteUrl.
func (g *Generator) setHost(r *rec, host, path string, carry bool) {
	r.remoteURL, r.additional, r.dnsQry = "", "", ""
	switch {
	case r.action == "HttpConnectionInspected":
		r.additional = `{"direction":"Out","host":"` + host + `","method":"GET","uri":"` + path + `","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","status_code":"200"}`
	case r.action == "SslConnectionInspected":
		r.additional = `{"version":"TLS 1.3","direction":"Out","server_name":"` + host + `","ja3_hash":"72a589da586844d7f0818ce684948eea","established":true}`
	case r.action == "DnsConnectionInspected":
		r.additional = `{"direction":"Out","query":"` + host + `","query_type":"A","rcode":0}`
	case r.action == "DnsQueryResponse":
		r.dnsQry = host
	case !carry && r.table == "DeviceNetworkEvents" && g.r.IntN(2) == 0:
		// About half of network events carry no RemoteUrl.
	default:
		switch g.r.IntN(3) {
		case 0:
			r.remoteURL = host
		case 1:
			r.remoteURL = "https://" + mixCase(g.r, host) + path
		default:
			r.remoteURL = "http://" + host + ":8080" + path
		}
	}
}

func mixCase(r *rand.Rand, s string) string {
	if r.IntN(3) != 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' && r.IntN(2) == 0 {
			b[i] = c - 32
		}
	}
	return string(b)
}

// covers reports whether an ip or cidr indicator contains a.
func covers(ind *match.Indicator, a netip.Addr) bool {
	if ind.Kind == match.KindIP {
		b, err := netip.ParseAddr(ind.Value)
		return err == nil && b == a
	}
	p, err := netip.ParsePrefix(ind.Value)
	return err == nil && p.Contains(a)
}

// addrIn returns an address inside an ip or cidr indicator.
func (g *Generator) addrIn(ind *match.Indicator) netip.Addr {
	if ind.Kind == match.KindIP {
		a, _ := netip.ParseAddr(ind.Value)
		return a
	}
	p, err := netip.ParsePrefix(ind.Value)
	if err != nil {
		return netip.Addr{}
	}
	b := p.Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		if g.r.IntN(2) == 1 {
			b[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (g *Generator) write(dst []byte, r *rec, d device) []byte {
	t := g.now
	received := t.Add(time.Duration(2+g.r.IntN(5000)) * time.Millisecond)
	if g.opt.Clock != nil {
		received = t
	}
	dst = append(dst, `{"time":"`...)
	dst = received.AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
	dst = append(dst, `","tenantId":"`...)
	dst = append(dst, g.opt.TenantID...)
	dst = append(dst, `","operationName":"Publish","category":"AdvancedHunting-`...)
	dst = append(dst, r.table...)
	dst = append(dst, `","properties":{`...)
	if !r.noTimestamp {
		dst = append(dst, `"Timestamp":"`...)
		dst = t.AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
		dst = append(dst, `",`...)
	}
	dst = kv(dst, "DeviceId", d.id)
	dst = kv(dst, "DeviceName", d.name)
	dst = kv(dst, "ActionType", r.action)
	dst = kv(dst, "RemoteIP", r.remoteIP)
	dst = append(dst, `"RemotePort":`...)
	dst = strconv.AppendInt(dst, int64(r.port), 10)
	dst = append(dst, ',')
	dst = kvNull(dst, "RemoteUrl", r.remoteURL)
	dst = kv(dst, "LocalIP", fmt.Sprintf("10.%d.%d.%d", g.r.IntN(50), g.r.IntN(256), 1+g.r.IntN(254)))
	dst = append(dst, `"LocalPort":`...)
	dst = strconv.AppendInt(dst, int64(49152+g.r.IntN(16000)), 10)
	dst = append(dst, ',')
	if r.table == "DeviceNetworkEvents" {
		dst = kv(dst, "Protocol", "Tcp")
		dst = kv(dst, "RemoteIPType", "Public")
		dst = kv(dst, "LocalIPType", "Private")
	} else {
		dst = kvNull(dst, "FileName", r.fileName)
		dst = kvNull(dst, "FolderPath", "")
		dst = kvNull(dst, "FileOriginUrl", "")
		dst = kvNull(dst, "DnsQueryString", r.dnsQry)
	}
	dst = kv(dst, "InitiatingProcessFileName", r.p.name)
	dst = kv(dst, "InitiatingProcessFolderPath", r.p.path)
	dst = kv(dst, "InitiatingProcessCommandLine", r.p.cmd)
	sha := fmt.Sprintf("%016x%016x%016x%016x", g.r.Uint64(), g.r.Uint64(), g.r.Uint64(), g.r.Uint64())
	dst = kv(dst, "InitiatingProcessSHA256", sha)
	dst = kv(dst, "InitiatingProcessSHA1", sha[:40])
	dst = kv(dst, "InitiatingProcessMD5", sha[:32])
	dst = append(dst, `"InitiatingProcessId":`...)
	dst = strconv.AppendInt(dst, int64(g.r.IntN(30000)), 10)
	dst = append(dst, `,"InitiatingProcessCreationTime":"`...)
	dst = t.Add(-time.Duration(g.r.IntN(3600))*time.Second).AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
	dst = append(dst, `",`...)
	dst = kv(dst, "InitiatingProcessAccountDomain", "corp")
	dst = kv(dst, "InitiatingProcessAccountName", d.account)
	dst = kv(dst, "InitiatingProcessAccountSid", "S-1-5-21-1004336348-1177238915-682003330-"+strconv.Itoa(1000+g.r.IntN(9000)))
	dst = kv(dst, "InitiatingProcessAccountUpn", d.account+"@corp.example")
	dst = kv(dst, "InitiatingProcessParentFileName", []string{"explorer.exe", "services.exe", "userinit.exe", "cmd.exe"}[g.r.IntN(4)])
	dst = append(dst, `"InitiatingProcessParentId":`...)
	dst = strconv.AppendInt(dst, int64(g.r.IntN(30000)), 10)
	dst = append(dst, `,"IsInitiatingProcessRemoteSession":false,"ReportId":`...)
	dst = strconv.AppendInt(dst, g.report, 10)
	dst = append(dst, `,"AdditionalFields":`...)
	if r.additional == "" {
		dst = append(dst, "null"...)
	} else {
		dst = jsonstr.Append(dst, r.additional) // AdditionalFields is a JSON string holding JSON
	}
	dst = append(dst, ',')
	dst = append(dst, g.extra...)
	dst = kv(dst, "MachineGroup", d.group)
	dst[len(dst)-1] = '}' // replace the last comma
	return append(dst, '}')
}

func kv(dst []byte, k, v string) []byte {
	dst = append(dst, '"')
	dst = append(dst, k...)
	dst = append(dst, `":`...)
	dst = jsonstr.Append(dst, v)
	return append(dst, ',')
}

func kvNull(dst []byte, k, v string) []byte {
	if v == "" {
		dst = append(dst, '"')
		dst = append(dst, k...)
		return append(dst, `":null,`...)
	}
	return kv(dst, k, v)
}
