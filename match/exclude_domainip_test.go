package match

import (
	"strings"
	"testing"
)

// A remote_domain exclusion that is an IP address in any form a browser
// reads as one is refused with the key to use, remote_ip, and the address
// to give it (remote_ip takes only the usual forms), quoted last so that a
// loader that must not show a value can cut it off; the same value as a
// domain indicator keeps the advice for indicators, kind ip. Both name the
// rule or indicator and the value.
func TestADomainThatIsAnAddressNamesTheRightKey(t *testing.T) {
	tests := []struct {
		value string
		addr  string // the address the exclusion error gives remote_ip
	}{
		{"113.7", "113.0.0.7"},
		{"0x7f.1", "127.0.0.1"},
		{"203.0.113.7", "203.0.113.7"},
		{"203.0.113.7.", "203.0.113.7"},
		{"3405803783", "203.0.113.7"},
		{"0313.0.0161.7", "203.0.113.7"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			want := `"` + tt.value + `": bad domain: is an IP address: use remote_ip: "` + tt.addr + `"`
			if err := CheckExclusionValue("remote_domain", tt.value); err == nil || err.Error() != want {
				t.Errorf("CheckExclusionValue(remote_domain, %q) = %v\nwant %s", tt.value, err, want)
			}
			_, err := CompileExclusions([]RuleSpec{{Name: "backup", Reason: "test", Origin: "x.yaml:3",
				When: map[string][]string{"remote_domain": {tt.value}}}})
			if want := `x.yaml:3: rule "backup": remote_domain: ` + want; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("CompileExclusions = %v\nwant %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "kind") {
				t.Errorf("CompileExclusions = %v; an exclusion has no kind", err)
			}
			// The address it names is one remote_ip takes.
			if err := CheckExclusionValue("remote_ip", tt.addr); err != nil {
				t.Errorf("CheckExclusionValue(remote_ip, %q) = %v", tt.addr, err)
			}

			// An indicator has a kind: its advice is kind ip.
			_, err = Build([]*Indicator{mk("domain " + tt.value)}, BuildOptions{})
			if want := `domain indicator "` + tt.value + `": is an IP address: use kind ip`; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Build(domain %q) = %v\nwant an error with %s", tt.value, err, want)
			}
			if err != nil && strings.Contains(err.Error(), "remote_ip") {
				t.Errorf("Build(domain %q) = %v; an indicator has no remote_ip", tt.value, err)
			}
		})
	}
}
