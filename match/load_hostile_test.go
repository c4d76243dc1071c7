package match

import (
	"strings"
	"testing"
	"unicode"
)

// Feed text that reaches reports — a STIX id, a refusal's reason — is
// quoted when it holds control characters, so that a report line cannot be
// split or recoloured by the feed.
func TestOriginsAndReasonsFromAFeedCarryNoControlCharacters(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--a\nforged: line\u001b[31m","pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--b\r","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--c","pattern":"[domain-name:value = 'a\nb\u0007']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--d-café","pattern":"[ipv4-addr:value = '198.51.100.10']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`
	res, err := Load(strings.NewReader(bundle), LoadOptions{Name: "bundle.json", Format: FormatSTIX2})
	if err != nil {
		t.Fatal(err)
	}
	control := func(s string) bool {
		return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) }) >= 0
	}
	if len(res.Indicators.Indicators()) != 2 || len(res.Refused) != 2 {
		t.Fatalf("%d indicators and %d refusals, want 2 and 2: %v", len(res.Indicators.Indicators()), len(res.Refused), res.Refused)
	}
	for _, ind := range res.Indicators.Indicators() {
		if control(ind.Origin()) {
			t.Errorf("indicator origin %q holds control characters", ind.Origin())
		}
	}
	if got := res.Indicators.Indicators()[1].Origin(); !strings.Contains(got, "indicator--d-café") || strings.HasPrefix(got, `"`) {
		t.Errorf("a printable non-ASCII origin was altered: %q", got)
	}
	for _, r := range res.Refused {
		if s := r.String(); control(s) {
			t.Errorf("refusal %q holds control characters", s)
		}
	}
}
