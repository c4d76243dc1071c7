package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lookup of a range says which exclusion applies to which part of it, as
// the pipeline would decide for an event to each address — not what the
// range's first address alone would get.
func TestLookupOfARangeSharesItAmongTheExclusions(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(feed, []byte("192.0.2.10\n192.0.2.0/24\n198.51.100.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"lookup", "--feed", feed, "--exclusions", "assets/exclusions.yaml"}
	tests := []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{
			name: "a rule on the first addresses covers only them",
			args: []string{"--process", "mstsc.exe", "--path", `c:\windows\system32\mstsc.exe`, "--port", "3389", "192.0.2.0/24"},
			want: []string{
				"  ip 192.0.2.10 on RemoteIP — feed f\n      from " + feed + ":1\n      excluded by \"rdp-client\": Admins connect to servers with Remote Desktop\n",
				"  cidr 192.0.2.0/24 on RemoteIP — feed f\n      from " + feed + ":2\n" +
					"      excluded for part of the range only:\n" +
					"        192.0.2.0/28 by \"rdp-client\": Admins connect to servers with Remote Desktop\n" +
					"        192.0.2.16/28, 192.0.2.32/27, 192.0.2.64/26, 192.0.2.128/25: no exclusion applies (for process=mstsc.exe path=c:\\windows\\system32\\mstsc.exe port=3389)\n",
			},
		},
		{
			name: "an indicator inside the range is judged on its own addresses",
			args: []string{"--process", "svchost.exe", "--path", `c:\windows\system32\svchost.exe`, "192.0.2.0/24"},
			want: []string{
				"  ip 192.0.2.10 on RemoteIP — feed f\n      from " + feed + ":1\n      excluded by \"scheduled-maintenance\": ",
				"        192.0.2.10/31 by \"scheduled-maintenance\": ",
			},
		},
		{
			name: "a rule on a part of the range is not missed",
			args: []string{"--device-group", "Backup Servers", "198.51.0.0/16"},
			want: []string{
				"      excluded for part of the range only:\n" +
					"        198.51.100.0/26 by \"backup-servers\": The backup servers replicate to the off-site copy every night\n" +
					"        198.51.100.64/26, 198.51.100.128/25: no exclusion applies (for device-group=Backup Servers)\n",
			},
		},
		{
			name: "an IPv4-mapped range is the IPv4 range, as the pipeline unmaps RemoteIP",
			args: []string{"--process", "mstsc.exe", "--path", `c:\windows\system32\mstsc.exe`, "--port", "3389", "::ffff:192.0.2.0/124"},
			want: []string{
				"::ffff:192.0.2.0/124: 2 indicators overlap the range (covering it or inside it)\n",
				"  cidr 192.0.2.0/24 on RemoteIP — feed f\n      from " + feed + ":2\n      excluded by \"rdp-client\": ",
			},
		},
		{
			name: "a range inside a rule's is excluded whole",
			args: []string{"--device-group", "Backup Servers", "198.51.100.0/27"},
			want: []string{"  cidr 198.51.100.0/24 on RemoteIP — feed f\n      from " + feed + ":3\n      excluded by \"backup-servers\": "},
			not:  []string{"part of the range"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", append(base, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("lookup output lacks\n%s\n--- output:\n%s", w, stdout)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(stdout, n) {
					t.Errorf("lookup output has %q:\n%s", n, stdout)
				}
			}
		})
	}
}

// --account takes DOMAIN\name as Defender splits it, into
// InitiatingProcessAccountDomain and InitiatingProcessAccountName, so that
// a rule on DOMAIN\name is judged as the pipeline judges it.
func TestLookupAccountTakesTheDomain(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	excl := filepath.Join(dir, "exclusions.yaml")
	if err := os.WriteFile(feed, []byte("192.0.2.10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := "exclusions:\n  - name: backup-agent\n    reason: The backup service account copies to the vault\n    when:\n      account: ['CORP\\svc-backup']\n      remote_ip: [192.0.2.10]\n"
	if err := os.WriteFile(excl, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		account string
		code    int
		want    string
	}{
		{`CORP\svc-backup`, exitOK, `excluded by "backup-agent"`},
		{`corp\SVC-Backup`, exitOK, `excluded by "backup-agent"`},
		{`WS-0142\svc-backup`, exitOK, `no exclusion applies (for account=WS-0142\svc-backup)`},
		{`svc-backup`, exitOK, "no exclusion applies (for account=svc-backup)"},
		{`\svc-backup`, exitUsage, `--account "\\svc-backup": want NAME or DOMAIN\NAME`},
		{`CORP\`, exitUsage, `--account "CORP\\": want NAME or DOMAIN\NAME`},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", "lookup", "--feed", feed, "--exclusions", excl, "--account", tt.account, "192.0.2.10")
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}
