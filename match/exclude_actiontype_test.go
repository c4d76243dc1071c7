package match

import (
	"slices"
	"strings"
	"testing"
)

// An action_type value Defender never reports makes the rule silently
// never match: a misspelling of a known action type (within two edits,
// ignoring case) draws "did you mean", any other unknown value a milder
// warning — Microsoft adds action types.
func TestExclusionWarningsNameUnknownActionTypes(t *testing.T) {
	const far = ` is not a DeviceNetworkEvents or DeviceEvents action type iocwatch knows: check its spelling (a new action type Microsoft added matches as written)`
	tests := []struct {
		values []string
		want   []string // after `x.yaml:1: rule "r": `
	}{
		{[]string{"ConnectionSucess"}, []string{`action_type "ConnectionSucess" is not an action type Defender reports (did you mean "ConnectionSuccess"?), so it never matches`}},
		{[]string{"connectionsucess"}, []string{`action_type "connectionsucess" is not an action type Defender reports (did you mean "ConnectionSuccess"?), so it never matches`}},
		{[]string{"ConnetcionSuccess"}, []string{`action_type "ConnetcionSuccess" is not an action type Defender reports (did you mean "ConnectionSuccess"?), so it never matches`}},
		{[]string{"ConnectionFailled"}, []string{`action_type "ConnectionFailled" is not an action type Defender reports (did you mean "ConnectionFailed"?), so it never matches`}},
		{[]string{"DnsQueryRespons"}, []string{`action_type "DnsQueryRespons" is not an action type Defender reports (did you mean "DnsQueryResponse"?), so it never matches`}},
		{[]string{"SslConnectionInspectd", "ConnectionSuccess"}, []string{`action_type "SslConnectionInspectd" is not an action type Defender reports (did you mean "SslConnectionInspected"?), so it never matches`}},
		{[]string{"UsbDriveMountd"}, []string{`action_type "UsbDriveMountd" is not an action type Defender reports (did you mean "UsbDriveMount" or "UsbDriveMounted"?), so it never matches`}},
		{[]string{"QuantumTunnelOpened"}, []string{`action_type "QuantumTunnelOpened"` + far}},
		{[]string{"Connection"}, []string{`action_type "Connection"` + far}},
		// Known values, in any case, draw nothing.
		{[]string{"ConnectionSuccess"}, nil},
		{[]string{"CONNECTIONSUCCESS", "connectionfailed"}, nil},
		{[]string{"SslConnectionInspected", "DnsConnectionInspected", "HttpConnectionInspected"}, nil},
		{[]string{"DnsQueryResponse", "BrowserLaunchedToOpenUrl", "SmartScreenUrlWarning", "ExploitGuardNetworkProtectionBlocked"}, nil},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"action_type": tt.values, "remote_port": {"443"}})
		var want []string
		for _, w := range tt.want {
			want = append(want, `x.yaml:1: rule "r": `+w)
		}
		if got := x.Warnings(t0); !slices.Equal(got, want) {
			t.Errorf("action_type %q: Warnings =\n%q\nwant\n%q", tt.values, got, want)
		}
	}
}

// Every action type of the lists is known to itself and to the tables it
// is listed for, and no table lists one twice, ignoring case.
func TestKnownActionTypesAreKnown(t *testing.T) {
	for i, types := range actionTypesByTable {
		seen := map[string]bool{}
		for _, a := range types {
			if seen[strings.ToLower(a)] {
				t.Errorf("%s: %q listed twice", watchedTables[i], a)
			}
			seen[strings.ToLower(a)] = true
			if known, _ := suggestActionType(a); !known {
				t.Errorf("%q is not known", a)
			}
			if actionTypeTables[strings.ToLower(a)]&(1<<i) == 0 {
				t.Errorf("%q is not a %s action type", a, watchedTables[i])
			}
		}
	}
}
