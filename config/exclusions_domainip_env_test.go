package config

import "testing"

// A remote_domain value that is an IP address is refused with the
// remote_ip value to write instead — the address in its usual form,
// worked out from the value. When the value came from the environment,
// neither it nor that address (which tells it) is shown: the message
// names the value by its ${…} text and stops before the address. Written
// in the file, both are shown.
func TestARemoteDomainAddressFromTheEnvironmentIsNotShown(t *testing.T) {
	tests := []envRuleCase{
		{"an address in another form", "113.7", "{remote_domain: '${IOCWATCH_TEST_VALUE}'}",
			`v.yaml:3: rule "r": remote_domain: "${IOCWATCH_TEST_VALUE}" (expanded): bad domain: is an IP address: use remote_ip`,
			[]string{"113.7", "113.0.0.7"}},
		{"in hex, with spaces match trims", " 0x7f.1 ", "{remote_domain: ['${IOCWATCH_TEST_VALUE}']}",
			`v.yaml:3: rule "r": remote_domain: "${IOCWATCH_TEST_VALUE}" (expanded): bad domain: is an IP address: use remote_ip`,
			[]string{"0x7f", "127.0.0.1"}},
		{"text around the reference", "113.7", "{remote_domain: ['203.0.${IOCWATCH_TEST_VALUE}.']}",
			`v.yaml:3: rule "r": remote_domain: "203.0.${IOCWATCH_TEST_VALUE}." (expanded): bad domain: is an IP address: use remote_ip`,
			[]string{"113.7", "203.0.113.7"}},
		{"IPv6 in brackets", "[2001:db8::5ec:1]", "{remote_domain: [backup.example, '${IOCWATCH_TEST_VALUE}']}",
			`v.yaml:3: rule "r": remote_domain: "${IOCWATCH_TEST_VALUE}" (expanded): bad domain: is an IP address: use remote_ip`,
			[]string{"2001:db8", "5ec"}},
		// The address is the value as written: it is named by its
		// reference there too, which is the remote_ip value to write.
		{"the usual form", "203.0.113.7", "{remote_domain: '${IOCWATCH_TEST_VALUE}'}",
			`v.yaml:3: rule "r": remote_domain: "${IOCWATCH_TEST_VALUE}" (expanded): bad domain: is an IP address: use remote_ip: "${IOCWATCH_TEST_VALUE}" (expanded)`,
			[]string{"203.0.113.7", "113"}},
	}
	runEnvRuleCases(t, tests)
	// Written in the file, the value and the address are the user's own
	// text and its reading: both shown.
	checkWrittenRule(t, "{remote_domain: ['113.7']}",
		`v.yaml:3: rule "r": remote_domain: "113.7": bad domain: is an IP address: use remote_ip: "113.0.0.7"`)
}
