package match

import (
	"strings"
	"testing"
)

// An IDN host whose last label is "xn--" (in any case or width, with
// characters IDNA drops) is no host: the label decodes to nothing, which
// UTS #46 makes an error (the WHATWG URL Standard's settings keep it one),
// so a browser refuses "http://évil.com.xn--/". golang.org/x/net/idna
// returns the empty label instead, and the host was read as évil.com,
// its trailing dot dropped (and a feed read "http://２０３．０．１１３．７．xn--/x"
// as a URL on 203.0.113.7). A label that IDNA's mapping empties (a soft
// hyphen alone) is only an empty label, no error in UTS #46 with the
// WHATWG's settings (its lookup does not verify DNS lengths): last, it is
// the root's trailing dot, and the host is still évil.com; elsewhere it
// is an empty label, no usable host, as in an ASCII name.
func TestIDNHostWithAnEmptyACELabel(t *testing.T) {
	const evil = "xn--vil-9la.com" // évil.com
	tests := []struct {
		name, host string
		want       string // "" when refused
	}{
		{"a last label xn--", "évil.com.xn--", ""},
		{"in upper case", "évil.com.XN--", ""},
		{"in full-width letters", "évil.com.ｘｎ－－", ""},
		{"after an ideographic full stop", "évil.com。xn--", ""},
		{"with a soft hyphen inside", "évil.com.xn-\u00ad-", ""},
		{"with a soft hyphen after", "évil.com.xn--\u00ad", ""},
		{"escaped", "%C3%A9vil.com.xn--", ""},
		{"and a trailing dot", "évil.com.xn--.", ""},
		{"after an address in full-width digits", "２０３．０．１１３．７．xn--", ""},
		{"first", "xn--.évil.com", ""},
		{"in the middle", "évil.xn--.com", ""},
		// Not an empty ACE label: the root, an empty label, a real one.
		{"a trailing dot is the root", "évil.com.", evil},
		{"a last label IDNA empties is the root", "évil.com.\u00ad", evil},
		{"a middle label IDNA empties is an empty label", "évil.\u00ad.com", ""},
		{"an ACE label that decodes to a character", "évil.com.xn--ls8h", evil + ".xn--ls8h"},
		{"a name that starts with xn", "évil.com.xn", evil + ".xn"},
		// A name all in ASCII is not read as IDN: its "xn--" label is
		// kept, a name of its own, on no indicator of evil.com.
		{"in a name all in ASCII", "evil.com.xn--", "evil.com.xn--"},
		{"in a name all in ASCII, escaped", "evil.com.xn%2D%2D", "evil.com.xn--"},
	}
	ix, err := Build([]*Indicator{mk("domain évil.com"), mk("url http://évil.com/x")}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := NormalizeHost(tt.host); tt.want == "" && ok || tt.want != "" && got != tt.want {
				t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.host, got, ok, tt.want)
			}
			u := "http://" + tt.host + "/x"
			if got, ok := NormalizeURL(u); tt.want == "" && ok || tt.want != "" && got != "http://"+tt.want+"/x" {
				t.Errorf("NormalizeURL(%q) = %q, %v; want the host %q", u, got, ok, tt.want)
			}
			for _, q := range []string{tt.host, u} {
				got := hitStrings(ix.Match(Query{RemoteURL: q}, nil))
				if want := tt.want == evil; want != (len(got) > 0) {
					t.Errorf("Match(RemoteUrl %q) = %q; want hits %v", q, got, want)
				}
			}
			if tt.want != "" {
				return
			}
			// A feed and an exclusion refuse the host too.
			for _, v := range []string{tt.host, u} {
				if k, pv, err := ParseValue(v); err == nil {
					t.Errorf("ParseValue(%q) = %v %q; want it refused", v, k, pv)
				}
			}
			if err := CheckExclusionValue("remote_domain", tt.host); err == nil {
				t.Errorf("CheckExclusionValue(remote_domain, %q) = nil; want it refused", tt.host)
			}
			if _, err := Build([]*Indicator{mk("domain " + tt.host)}, BuildOptions{}); err == nil || !strings.Contains(err.Error(), "not a valid host name") {
				t.Errorf("Build(domain %q) = %v; want it refused as no valid host name", tt.host, err)
			}
		})
	}
}
