package match

import (
	"reflect"
	"strings"
	"testing"
)

func TestSTIXParsePattern(t *testing.T) {
	type terms = []stixTerm
	ip4 := func(v string) stixTerm { return stixTerm{"ipv4-addr:value", v} }
	dom := func(v string) stixTerm { return stixTerm{"domain-name:value", v} }
	tests := []struct {
		name        string
		pattern     string
		terms       terms
		unsupported []string
		err         string
	}{
		{"one address comparison", "[ipv4-addr:value = '198.51.100.7']", terms{ip4("198.51.100.7")}, nil, ""},
		{"an IPv6 address comparison", "[ipv6-addr:value = '2001:db8::1']", terms{{"ipv6-addr:value", "2001:db8::1"}}, nil, ""},
		{"a URL comparison", "[url:value = 'https://evil.example/x']", terms{{"url:value", "https://evil.example/x"}}, nil, ""},
		{"a network-traffic destination", "[network-traffic:dst_ref.value = '198.51.100.7']", terms{{"network-traffic:dst_ref.value", "198.51.100.7"}}, nil, ""},
		{"OR inside one observation", "[domain-name:value = 'a.example' OR ipv4-addr:value = '198.51.100.7']", terms{dom("a.example"), ip4("198.51.100.7")}, nil, ""},
		{"OR across observations", "[domain-name:value = 'a.example'] OR [ipv4-addr:value = '198.51.100.7']", terms{dom("a.example"), ip4("198.51.100.7")}, nil, ""},
		{"OR in nested parentheses", "([domain-name:value = 'a.example'] OR ([ipv4-addr:value = '198.51.100.7' OR (domain-name:value = 'b.example')]))", terms{dom("a.example"), ip4("198.51.100.7"), dom("b.example")}, nil, ""},
		{"the same value twice is one term", "[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '198.51.100.7']", terms{ip4("198.51.100.7")}, nil, ""},
		{"escaped quote and backslash are unescaped", `[url:value = 'http://e.example/o\'brien\\x']`, terms{{"url:value", `http://e.example/o'brien\x`}}, nil, ""},
		{"IN gives one term per member", "[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')]", terms{ip4("198.51.100.1"), ip4("198.51.100.2")}, nil, ""},
		{"ISSUBSET on an address is a prefix", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']", terms{ip4("198.51.100.0/24")}, nil, ""},
		{"keywords are case-insensitive", "[domain-name:value = 'a.example' or domain-name:value = 'b.example']", terms{dom("a.example"), dom("b.example")}, nil, ""},
		{"a MISP type qualifier AND reduces to the value", "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", terms{{"network-traffic:dst_ref.value", "198.51.100.7"}}, nil, ""},
		{"a hash comparison is unsupported", "[file:hashes.'SHA-256' = 'ef53']", nil, []string{"stix pattern: file:hashes"}, ""},
		{"a hash OR an address keeps the address", "[file:hashes.MD5 = 'ef53' OR ipv4-addr:value = '198.51.100.7']", terms{ip4("198.51.100.7")}, []string{"stix pattern: file:hashes"}, ""},
		{"AND of two values is unsupported", "[domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.7']", nil, []string{"stix pattern: AND"}, ""},
		{"AND with a port is unsupported", "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]", nil, []string{"stix pattern: AND"}, ""},
		{"AND across observations is unsupported", "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'a.example']", nil, []string{"stix pattern: AND"}, ""},
		{"a type qualifier on another reference is unsupported", "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7']", nil, []string{"stix pattern: AND"}, ""},
		{"FOLLOWEDBY is unsupported", "[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [domain-name:value = 'a.example']", nil, []string{"stix pattern: FOLLOWEDBY"}, ""},
		{"a WITHIN qualifier is unsupported", "[ipv4-addr:value = '198.51.100.7'] WITHIN 60 SECONDS", nil, []string{"stix pattern: qualifier WITHIN"}, ""},
		{"a REPEATS qualifier is unsupported", "[ipv4-addr:value = '198.51.100.7'] REPEATS 5 TIMES", nil, []string{"stix pattern: qualifier REPEATS"}, ""},
		{"a START STOP qualifier is unsupported", "[ipv4-addr:value = '198.51.100.7'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", nil, []string{"stix pattern: qualifier START/STOP"}, ""},
		{"LIKE is unsupported", "[url:value LIKE 'http://%.example/%']", nil, []string{"stix pattern: operator LIKE"}, ""},
		{"MATCHES is unsupported", "[domain-name:value MATCHES '^evil']", nil, []string{"stix pattern: operator MATCHES"}, ""},
		{"!= is unsupported", "[domain-name:value != 'a.example']", nil, []string{"stix pattern: operator !="}, ""},
		{"NOT is unsupported", "[domain-name:value NOT = 'a.example']", nil, []string{"stix pattern: NOT"}, ""},
		{"a number value is unsupported", "[ipv4-addr:value = 3]", nil, []string{"stix pattern: non-string value"}, ""},
		{"EXISTS is unsupported", "[EXISTS domain-name:value]", nil, []string{"stix pattern: operator EXISTS"}, ""},
		{"a hex literal is parsed", "[artifact:payload_bin = h'ff00']", nil, []string{"stix pattern: artifact:payload_bin"}, ""},
		{"a missing closing bracket is an error", "[ipv4-addr:value = '198.51.100.7'", nil, nil, "expected ']'"},
		{"an unterminated string is an error", "[ipv4-addr:value = '198.51.100.7]", nil, nil, "unterminated string"},
		{"an unknown escape is an error", `[url:value = 'a\nb']`, nil, nil, "invalid escape"},
		{"a comparison outside brackets is an error", "ipv4-addr:value = '198.51.100.7'", nil, nil, "expected '[' or '('"},
		{"a missing operator is an error", "[ipv4-addr:value '198.51.100.7']", nil, nil, "comparison operator"},
		{"a missing value is an error", "[ipv4-addr:value = ]", nil, nil, "literal value"},
		{"an empty pattern is an error", "", nil, nil, "expected '[' or '('"},
		{"trailing text is an error", "[ipv4-addr:value = '198.51.100.7'] junk", nil, nil, "unexpected"},
		{"an incomplete path is an error", "[ipv4-addr: = 'x']", nil, nil, "incomplete object path"},
		{"deep nesting is an error", strings.Repeat("(", 100) + "[ipv4-addr:value = '1']" + strings.Repeat(")", 100), nil, nil, "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stixParsePattern(tt.pattern)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("stixParsePattern(%q) = %+v, %v; want an error containing %q", tt.pattern, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("stixParsePattern(%q): %v", tt.pattern, err)
			}
			if !reflect.DeepEqual(got.Terms, tt.terms) || !reflect.DeepEqual(got.Unsupported, tt.unsupported) {
				t.Fatalf("stixParsePattern(%q) = %+v, want terms %+v, unsupported %q", tt.pattern, got, tt.terms, tt.unsupported)
			}
		})
	}
}

// FuzzSTIXPattern checks that the pattern parser never panics and that
// what it accepts round-trips: the canonical pattern of the usable terms
// parses back to the same terms.
func FuzzSTIXPattern(f *testing.F) {
	// The pattern forms of the real samples (OASIS and MISP exports).
	f.Add("[ipv4-addr:value = '198.51.100.7']")
	f.Add("[domain-name:value = 'www.webserver.fartit.com' OR ipv4-addr:value = '113.10.246.30']")
	f.Add("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8']")
	f.Add("[domain-name:value = 'circl.lu' AND domain-name:resolves_to_refs[*].value = '149.13.33.14']")
	f.Add("[file:hashes.'SHA-256' = 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c']")
	f.Add("[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']")
	// Escapes, sets, qualifiers, nesting, typed literals.
	f.Add(`[url:value = 'http://e.example/o\'brien\\x']`)
	f.Add("[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')] OR [ipv4-addr:value ISSUBSET '198.51.100.0/24']")
	f.Add("([a:b = 'x'] FOLLOWEDBY [c:d = 'y']) WITHIN 300 SECONDS")
	f.Add("[a:b = t'2016-01-01T00:00:00Z'] START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'")
	f.Add("[NOT EXISTS a:b] REPEATS 5 TIMES")
	f.Add("[artifact:payload_bin = b'AAAA' AND artifact:mime_type != h'00']")
	// Broken ones.
	f.Add("[ipv4-addr:value = '198.51.100.7'")
	f.Add("[a:b[x] = 1]")
	f.Add("((((")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := stixParsePattern(s)
		if err != nil {
			if len(p.Terms) != 0 || len(p.Unsupported) != 0 {
				t.Fatalf("stixParsePattern(%q) failed (%v) but returned %+v", s, err, p)
			}
			return
		}
		if len(p.Terms) == 0 {
			if len(p.Unsupported) == 0 {
				t.Fatalf("stixParsePattern(%q) gave neither terms nor a reason", s)
			}
			return
		}
		canon := p.String()
		q, err := stixParsePattern(canon)
		if err != nil {
			t.Fatalf("canonical pattern %q of %q does not parse: %v", canon, s, err)
		}
		if !reflect.DeepEqual(q.Terms, p.Terms) || len(q.Unsupported) != 0 {
			t.Fatalf("round trip of %q: %+v, then %q gave %+v", s, p.Terms, canon, q)
		}
	})
}
