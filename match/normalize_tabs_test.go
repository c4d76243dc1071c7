package match

import (
	"strings"
	"testing"
)

// A browser removes every ASCII tab and newline from a URL before it reads
// it, and the C0 control characters and spaces around it (the WHATWG URL
// Standard), so "http://ev\til.com/" is a URL on evil.com. iocwatch used
// to refuse such a host, and a domain indicator did not fire on it.
func TestNormalizeURLRemovesTabsAndNewlines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		host string // NormalizeHost; "" means ok is false
		url  string // NormalizeURL; "" means ok is false
	}{
		{"a tab in the host", "http://ev\til.com/", "evil.com", "http://evil.com/"},
		{"a newline in the host", "http://evil.\ncom/x", "evil.com", "http://evil.com/x"},
		{"a carriage return and a newline in the host", "http://evil\r\n.com/x", "evil.com", "http://evil.com/x"},
		{"a tab in a bare host", "ev\til.com", "evil.com", ""},
		{"a tab before a backslash and '@'", "http://evil.com\t\\@good.com/", "evil.com", "http://evil.com/@good.com/"},
		{"a tab in the userinfo", "http://u\t@evil.com/", "evil.com", "http://evil.com/"},
		{"a tab in the port", "http://evil.com:80\t80/x", "evil.com", "http://evil.com:8080/x"},
		{"a tab in an IPv6 literal", "http://[2001:db8::\t1]/x", "2001:db8::1", "http://[2001:db8::1]/x"},
		{"a tab in an IPv4 literal", "http://203.0.113\t.7/x", "203.0.113.7", "http://203.0.113.7/x"},
		{"a tab in the scheme", "ht\ttp://evil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab between the scheme and its colon", "http\t://evil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab after the colon", "http:\t//evil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab between the slashes", "http:/\t/evil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab between file's slashes", "file:/\t/evil.com/x", "evil.com", "file://evil.com/x"},
		{"a tab between another scheme's slashes", "foo:/\t/evil.com/x", "evil.com", "foo://evil.com/x"},
		{"a tab between the slashes of a scheme-relative URL", "/\t/evil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab after the slashes", "http://\tevil.com/x", "evil.com", "http://evil.com/x"},
		{"a tab in a dot segment", "http://evil.com/a/.\t./b", "evil.com", "http://evil.com/b"},
		{"a tab before a dot segment", "http://evil.com/a/\t../b", "evil.com", "http://evil.com/b"},
		{"a tab inside a percent-escape", "http://evil.com/a/%2\te/b", "evil.com", "http://evil.com/a/b"},
		{"newlines in the path", "http://evil.com/a\r\n/b", "evil.com", "http://evil.com/a/b"},
		{"a tab in the query", "http://evil.com/x?a=\tb", "evil.com", "http://evil.com/x?a=b"},
		{"a tab inside a percent-escape in the query", "http://evil.com/x?%4\t1", "evil.com", "http://evil.com/x?A"},
		{"a tab in the fragment", "http://evil.com/x#\tf", "evil.com", "http://evil.com/x"},
		{"a tab in another scheme's path", "foo://ev\til.com/a\tb", "evil.com", "foo://evil.com/ab"},
		{"a tab in a value without a scheme", "evil.com/a\tb", "evil.com", "http://evil.com/ab"},
		{"C0 controls around the URL", "\x00http://evil.com/x\x1f\x0b", "evil.com", "http://evil.com/x"},
		{"C0 controls around a bare host", "\x01evil.com\x00", "evil.com", ""},
		{"a space inside the host is no tab", "http://evil com/", "", ""},
		{"another control inside the host is no tab", "http://evil\x0bcom/", "", ""},
		{"tabs alone leave no host", "\t\n\r", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, ok := NormalizeHost(tt.in)
			if ok != (tt.host != "") || host != tt.host {
				t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, host, ok, tt.host)
			}
			if b, ok := AppendHost([]byte("x"), tt.in); ok != (tt.host != "") || ok && string(b) != "x"+tt.host {
				t.Errorf("AppendHost(%q) = %q, %v; want %q", tt.in, b, ok, "x"+tt.host)
			}
			u, ok := NormalizeURL(tt.in)
			if ok != (tt.url != "") || u != tt.url {
				t.Errorf("NormalizeURL(%q) = %q, %v; want %q", tt.in, u, ok, tt.url)
			}
			if b, ok := AppendURL([]byte("x"), tt.in); ok != (tt.url != "") || ok && string(b) != "x"+tt.url {
				t.Errorf("AppendURL(%q) = %q, %v; want %q", tt.in, b, ok, "x"+tt.url)
			}
		})
	}
}

// Every part of matching reads a RemoteUrl without its tabs and
// newlines: the domain lookup, an IP-literal host, URL indicators, URL
// prefixes, patterns and the exclusions' remote_domain.
func TestMatchIgnoresTabsAndNewlinesInRemoteURL(t *testing.T) {
	tests := []urlMatchCase{
		{"a domain fires on a host with a tab", []string{"domain evil.com"}, "http://ev\til.com/x",
			[]string{"RemoteUrl domain evil.com"}},
		{"a domain fires on a host with a tab before a backslash", []string{"domain evil.com"}, "http://evil.com\t\\@good.com/",
			[]string{"RemoteUrl domain evil.com"}},
		{"the name after the backslash is no host", []string{"domain good.com"}, "http://evil.com\t\\@good.com/", nil},
		{"an ip fires on an IP-literal host with a newline", []string{"ip 203.0.113.7"}, "http://203.0.\n113.7/x",
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"a URL fires on a path with a tab", []string{"url http://evil.com/ab"}, "http://evil.com/a\tb",
			[]string{"RemoteUrl url http://evil.com/ab"}},
		{"a URL fires on a host and a path with tabs", []string{"url http://evil.com/b"}, "http://ev\til.com/a/.\t./b",
			[]string{"RemoteUrl url http://evil.com/b"}},
		{"a prefix fires on a path with a newline", []string{"url http://evil.com/kit/*"}, "http://evil.com/ki\nt/x",
			[]string{"RemoteUrl url http://evil.com/kit/*"}},
		{"a pattern sees the URL without its tabs", []string{"pattern evil.com/gate"}, "http://evil.com/ga\tte",
			[]string{"RemoteUrl pattern evil.com/gate"}},
	}
	runURLMatchCases(t, tests)

	// A pattern's tabs and newlines are removed as a URL's are.
	ix, err := Build([]*Indicator{{Kind: KindPattern, Value: "/ga\tte", Meta: &Meta{}}}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ix.Match(Query{RemoteURL: "http://evil.com/gate"}, nil)); got != 1 {
		t.Errorf("the pattern %q gives %d hits on http://evil.com/gate, want 1", "/ga\tte", got)
	}

	x := compileOne(t, map[string][]string{"remote_domain": {"evil.com"}})
	host, _ := NormalizeHost("http://ev\til.com/x") // as the pipeline sets RemoteHost
	if x.Match(&Subject{RemoteHost: host}, Hit{}, t0) == nil {
		t.Errorf("remote_domain evil.com does not exclude http://ev\\til.com/x (host %q)", host)
	}
}

// Match does not allocate for a RemoteUrl with tabs or newlines either:
// in its path (a stack buffer) or before it (a pooled one).
func TestMatchWithTabsDoesNotAllocate(t *testing.T) {
	ix, err := Build([]*Indicator{mk("domain evil.com"), mk("url http://evil.com/ab"), mk("url http://evil.com/k/*")}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://evil.com/a\tb", "http://evil.com/k/\tx?q=\t1", "http://ev\til.com/a\tb"} {
		hits := make([]Hit, 0, 8)
		if n := testing.AllocsPerRun(100, func() { hits = ix.Match(Query{RemoteURL: u}, hits[:0]) }); n != 0 {
			t.Errorf("Match(%q) allocates %v times", u, n)
		}
		if len(hits) != 2 {
			t.Errorf("Match(%q) = %d hits, want 2", u, len(hits))
		}
	}
	// Longer than the stack buffers, in the host and in the path.
	long := "http://ev\til.com/" + strings.Repeat("a\t", 300)
	if u, ok := NormalizeURL(long); !ok || u != "http://evil.com/"+strings.Repeat("a", 300) {
		t.Errorf("NormalizeURL of a long URL with tabs = %q, %v", u, ok)
	}
	hits := ix.Match(Query{RemoteURL: long}, nil)
	if len(hits) != 1 {
		t.Errorf("Match of a long URL with tabs = %d hits, want 1", len(hits))
	}
}
