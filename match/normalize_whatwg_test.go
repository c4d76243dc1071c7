package match

import (
	"slices"
	"strings"
	"testing"
)

// The host and path of a RemoteUrl are read as a browser or an HTTP client
// library reads them (the WHATWG URL Standard): in http, https, ws, wss,
// ftp and file URLs, and in values without a scheme, a backslash is a
// slash, and the dot segments of the path are resolved. iocwatch used to
// take "http://evil.com\@good.com/" for a URL on good.com, where every
// browser connects to evil.com.
func TestNormalizeURLBackslashesAndDotSegments(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ok is false
	}{
		// A backslash ends the authority and separates path segments.
		{"a backslash ends the authority before a userinfo '@'", `http://evil.com\@good.com/`, "http://evil.com/@good.com/"},
		{"backslashes after the scheme's colon start the authority", `http:\\evil.com\a\b`, "http://evil.com/a/b"},
		{"the scheme's case does not matter", `HTTPS:\\evil.com\a`, "https://evil.com/a"},
		{"slashes and backslashes mix", `http:/\evil.com/a\b`, "http://evil.com/a/b"},
		{"one backslash after the colon is enough", `http:\evil.com`, "http://evil.com/"},
		{"one slash after the colon is enough", `http:/evil.com/x`, "http://evil.com/x"},
		{"extra slashes before the host are skipped", "http:///evil.com/x", "http://evil.com/x"},
		{"extra backslashes before the host are skipped", `https:\\\\evil.com\x`, "https://evil.com/x"},
		{"ws is a special scheme", `ws:\\evil.com\x`, "ws://evil.com/x"},
		{"wss is a special scheme", `wss://evil.com\x`, "wss://evil.com/x"},
		{"ftp is a special scheme", `ftp:\\evil.com\x`, "ftp://evil.com/x"},
		{"file takes exactly two slashes or backslashes", `file:\\server\share\x`, "file://server/share/x"},
		{"file keeps a third slash as its empty host", "file:///etc/passwd", ""},
		{"a value without a scheme is http: a backslash ends its host", `evil.com\x`, "http://evil.com/x"},
		{"a value without a scheme keeps its port before a backslash", `evil.com:8080\x`, "http://evil.com:8080/x"},
		{"a host and a backslash alone are the root", `evil.com\`, "http://evil.com/"},
		{"a value without a scheme hides no userinfo behind a backslash", `evil.com\@good.com`, "http://evil.com/@good.com"},
		{"two backslashes start a scheme-relative URL", `\\evil.com\x`, "http://evil.com/x"},
		{"a slash and a backslash start a scheme-relative URL", `/\evil.com/x`, "http://evil.com/x"},
		{"extra slashes of a scheme-relative URL are skipped", "///evil.com/x", "http://evil.com/x"},
		{"an escaped backslash is no separator", "http://evil.com/a%5cb", "http://evil.com/a%5Cb"},
		{"a backslash in the query is kept", `http://evil.com/a\b?c\d`, `http://evil.com/a/b?c\d`},
		{"a backslash in the fragment goes with the fragment", `http://evil.com/a#\@good.com`, "http://evil.com/a"},
		{"a special scheme needs no slash after its colon", "http:evil.com", "http://evil.com/"},
		// Other schemes keep a backslash as a byte.
		{"another scheme keeps a backslash in its path", `foo://evil.com/a\b`, `foo://evil.com/a\b`},
		{"another scheme keeps a backslash in its userinfo", `foo://evil.com\@good.com/`, "foo://good.com/"},
		// Dot segments.
		{"a double-dot segment removes the one before it", "http://evil.com/a/../b", "http://evil.com/b"},
		{"a single-dot segment goes", "http://evil.com/a/./b", "http://evil.com/a/b"},
		{"escaped dots in any case are dots", "http://evil.com/a/%2e%2E/b", "http://evil.com/b"},
		{"a dot and an escaped dot are a double dot", "http://evil.com/a/.%2e/b", "http://evil.com/b"},
		{"an escaped dot and a dot are a double dot", "http://evil.com/a/%2E./b", "http://evil.com/b"},
		{"an escaped single dot goes", "http://evil.com/a/%2e/b", "http://evil.com/a/b"},
		{"a double dot at the root stays at the root", "http://evil.com/..", "http://evil.com/"},
		{"double dots above the root stop at the root", "http://evil.com/../../x", "http://evil.com/x"},
		{"a trailing single dot leaves a trailing slash", "http://evil.com/a/.", "http://evil.com/a/"},
		{"a trailing double dot leaves a trailing slash", "http://evil.com/a/b/..", "http://evil.com/a/"},
		{"a double dot before the query is the end of the path", "http://evil.com/a/b/..?q=1", "http://evil.com/a/?q=1"},
		{"a double dot before the fragment is the end of the path", "http://evil.com/a/..#f", "http://evil.com/"},
		{"backslashes separate dot segments", `http://evil.com/a\..\b`, "http://evil.com/b"},
		{"a double dot removes an empty segment", "http://evil.com/a//../b", "http://evil.com/a/b"},
		{"empty segments are kept", "http://evil.com/a//b/./", "http://evil.com/a//b/"},
		{"a double dot can leave a path that starts with two slashes", "http://evil.com/..//x", "http://evil.com//x"},
		{"three dots are a name", "http://evil.com/a/.../b", "http://evil.com/a/.../b"},
		{"dots inside a segment are a name", "http://evil.com/.well-known/..x/a..", "http://evil.com/.well-known/..x/a.."},
		{"an escaped slash after two dots is no separator", "http://evil.com/a/..%2fb", "http://evil.com/a/..%2Fb"},
		{"a doubly escaped dot is no dot", "http://evil.com/%252e%252e/x", "http://evil.com/%252e%252e/x"},
		{"the query is not a path", `http://x/?a=/../b\c`, `http://x/?a=/../b\c`},
		{"a value without a scheme resolves its path", "evil.com/a/../b", "http://evil.com/b"},
		{"another scheme resolves its path too", "foo://evil.com/a/../b", "foo://evil.com/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeURL(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("NormalizeURL(%q) = %q, true; want ok false", tt.in, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
			}
			if again, ok := NormalizeURL(got); !ok || again != got {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want it unchanged", got, again, ok)
			}
			b, ok := AppendURL([]byte("x"), tt.in)
			if !ok || string(b) != "x"+tt.want {
				t.Fatalf("AppendURL(%q) = %q, %v", tt.in, b, ok)
			}
		})
	}
}

func TestNormalizeHostBackslashes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ok is false
	}{
		{"a backslash ends the authority before a userinfo '@'", `http://evil.com\@good.com/`, "evil.com"},
		{"the same in a value without a scheme", `evil.com\@good.com`, "evil.com"},
		{"a backslash ends a bare host", `evil.com\x`, "evil.com"},
		{"a backslash ends the port", `evil.com:8080\x`, "evil.com"},
		{"backslashes after the scheme's colon start the authority", `http:\\evil.com\x`, "evil.com"},
		{"extra slashes before the host are skipped", "http:///evil.com", "evil.com"},
		{"two backslashes start a scheme-relative URL", `\\evil.com\share`, "evil.com"},
		{"an IPv4 host ends at a backslash", `http://203.0.113.7\@good.com/`, "203.0.113.7"},
		{"another scheme keeps a backslash in its userinfo", `foo://good.com\@evil.com/`, "evil.com"},
		{"a scheme with nothing after it has no host", `http:\\`, ""},
		{"a backslash alone has no host", `\x`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := NormalizeHost(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("NormalizeHost(%q) = %q, true; want ok false", tt.in, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
			}
		})
	}
}

// Every part of matching sees the host and path a client would request:
// the domain lookup, URL indicators (both sides), URL prefixes, patterns.
// urlMatchCase is one RemoteUrl matched against an index of indicators
// (mk's notation) and the hits it must give (hitStrings' notation).
type urlMatchCase struct {
	name string
	inds []string
	url  string
	want []string
}

// runURLMatchCases builds an index for each case and checks its hits.
func runURLMatchCases(t *testing.T, tests []urlMatchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inds []*Indicator
			for _, s := range tt.inds {
				inds = append(inds, mk(s))
			}
			ix, err := Build(inds, BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := hitStrings(ix.Match(Query{RemoteURL: tt.url}, nil))
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("Match(%q) over %q = %q; want %q", tt.url, tt.inds, got, want)
			}
		})
	}
}

func TestMatchReadsBackslashesAndDotSegmentsAsAClientDoes(t *testing.T) {
	tests := []urlMatchCase{
		{"a domain fires on the host before a backslash", []string{"domain evil.com"}, `http://evil.com\@good.com/`,
			[]string{"RemoteUrl domain evil.com"}},
		{"the name after a backslash and '@' is no host", []string{"domain good.com"}, `http://evil.com\@good.com/`, nil},
		{"a domain fires on a host written with backslashes after the scheme", []string{"domain evil.com"}, `http:\\evil.com\x`,
			[]string{"RemoteUrl domain evil.com"}},
		{"a domain fires on a scheme-less host before a backslash", []string{"domain evil.com"}, `evil.com\x`,
			[]string{"RemoteUrl domain evil.com"}},
		{"an ip fires on an IP-literal host before a backslash", []string{"ip 203.0.113.7"}, `http://203.0.113.7\@good.com/`,
			[]string{"RemoteUrl.host ip 203.0.113.7"}},
		{"a URL fires on a path with a double-dot segment", []string{"url http://evil.com/b"}, "http://evil.com/a/../b",
			[]string{"RemoteUrl url http://evil.com/b"}},
		{"a URL fires on a path with escaped dots", []string{"url http://evil.com/b"}, "http://evil.com/a/%2e%2E/b",
			[]string{"RemoteUrl url http://evil.com/b"}},
		{"a URL fires on a path with backslashes", []string{"url http://evil.com/a/b"}, `http:\\evil.com\a\b`,
			[]string{"RemoteUrl url http://evil.com/a/b"}},
		{"a URL indicator written with backslashes fires on slashes", []string{`url http:\\evil.com\a\b`}, "http://evil.com/a/b",
			[]string{`RemoteUrl url http:\\evil.com\a\b`}},
		{"a URL indicator with dot segments fires on the path it stands for", []string{"url http://evil.com/x/../b"}, "http://evil.com/b",
			[]string{"RemoteUrl url http://evil.com/x/../b"}},
		{"a URL on an IP-literal host fires on a path with dot segments", []string{"url http://203.0.113.7/b"}, `http://203.0.113.7/a/..\b`,
			[]string{"RemoteUrl url http://203.0.113.7/b"}},
		{"a prefix fires on a path resolved into it", []string{"url http://evil.com/b/*"}, "http://evil.com/a/../b/c",
			[]string{"RemoteUrl url http://evil.com/b/*"}},
		{"a prefix does not fire on a path resolved out of it", []string{"url http://evil.com/a/*"}, "http://evil.com/a/../b", nil},
		{"a prefix with a complete double-dot segment is resolved", []string{"url http://evil.com/a/../*"}, "http://evil.com/x",
			[]string{"RemoteUrl url http://evil.com/a/../*"}},
		{"a prefix's last dot segment is text the star continues", []string{"url http://evil.com/a/.*"}, "http://evil.com/a/.env",
			[]string{"RemoteUrl url http://evil.com/a/.*"}},
		{"a prefix's last dot segment does not stand for its parent", []string{"url http://evil.com/a/.*"}, "http://evil.com/a/x", nil},
		{"a prefix's last double dot is text the star continues", []string{"url http://evil.com/a/..*"}, "http://evil.com/a/..x",
			[]string{"RemoteUrl url http://evil.com/a/..*"}},
		{"a prefix's last double dot is not the root", []string{"url http://evil.com/a/..*"}, "http://evil.com/b", nil},
		{"a prefix's double dot before '?' is resolved", []string{"url http://evil.com/a/..?*"}, "http://evil.com/?q=1",
			[]string{"RemoteUrl url http://evil.com/a/..?*"}},
		{"a backslash before a prefix's star is a slash", []string{`url http://evil.com\*`}, "http://evil.com/x",
			[]string{`RemoteUrl url http://evil.com\*`}},
		{"a backslash before a prefix's star ends a segment", []string{`url http://evil.com/a\*`}, "http://evil.com/a/x",
			[]string{`RemoteUrl url http://evil.com/a\*`}},
		{"a backslash before a prefix's star is not a name's start", []string{`url http://evil.com/a\*`}, "http://evil.com/ab", nil},
		{"a pattern sees slashes for backslashes", []string{"pattern /a/b"}, `evil.com\a\b`,
			[]string{"RemoteUrl pattern /a/b"}},
		{"a pattern sees the resolved path", []string{"pattern .com/b"}, "http://evil.com/a/../b",
			[]string{"RemoteUrl pattern .com/b"}},
	}
	runURLMatchCases(t, tests)
}

// An exclusion by remote_domain sees the host a client connects to: a
// rule for a trusted domain does not hide a hit on a URL that only names
// it after a backslash and '@'.
func TestRemoteDomainSeesTheHostBeforeABackslash(t *testing.T) {
	tests := []struct {
		domain, url string
		want        bool
	}{
		{"good.com", `http://evil.com\@good.com/`, false},
		{"evil.com", `http://evil.com\@good.com/`, true},
		{"evil.com", `http:\\evil.com\x`, true},
		{"good.com", `good.com\x`, true},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"remote_domain": {tt.domain}})
		host, _ := NormalizeHost(tt.url) // as the pipeline sets RemoteHost
		s := Subject{RemoteHost: host}
		if got := x.Match(&s, Hit{}, t0) != nil; got != tt.want {
			t.Errorf("remote_domain %q on %q (host %q): excluded %v, want %v", tt.domain, tt.url, host, got, tt.want)
		}
	}
}

// A feed's URL is read as the matcher reads it: in a special scheme's URL,
// or one without a scheme, a backslash ends the host, and ParseValue's
// canonical form writes the path's backslashes as slashes, so that the
// guard judges the host the index keys. A URL whose host ended at the last
// '@' for the loader and at a backslash for the index used to load, be
// judged by the wrong host, or make Build refuse the whole index.
func TestParseValueReadsBackslashesAsTheMatcherDoes(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		kind  Kind
		value string // canonical; for errors, a substring of the message
	}{
		{"a backslash ends the host before a userinfo '@'", `http://evil.example\@good.example/`, KindURL, "http://evil.example/@good.example/"},
		{"the path's backslashes become slashes", `HTTPS://Evil.Example\a\b`, KindURL, "https://evil.example/a/b"},
		{"a star after a backslash is a prefix", `http://evil.example\kits\*`, KindURL, "http://evil.example/kits/*"},
		{"a backslash in the query is kept", `http://evil.example/a\b?c\d#e\f`, KindURL, `http://evil.example/a/b?c\d#e\f`},
		{"a URL without a scheme ends its host at a backslash", `Evil.Example\@good.example/x`, KindURL, "evil.example/@good.example/x"},
		{"a bracket the backslash leaves open is an error", `http://[::1\@good.example/`, KindInvalid, "unclosed"},
		{"another scheme keeps a backslash in its userinfo", `foo://a\@evil.example/`, KindURL, `foo://a\@evil.example/`},
		{"a bare host and a backslash is no domain", `evil.example\x`, KindInvalid, "invalid character"},
		// "http:" and any run of slashes and backslashes is the scheme, as
		// for the matcher; file takes exactly two.
		{"backslashes after the scheme's colon", `HTTP:\\Evil.Example\a\b`, KindURL, "http://evil.example/a/b"},
		{"one slash after the scheme's colon", "https:/evil.example/x", KindURL, "https://evil.example/x"},
		{"a slash and a backslash after the scheme's colon", `ws:/\evil.example\x`, KindURL, "ws://evil.example/x"},
		{"extra slashes after the scheme's colon", "ftp:///evil.example/x", KindURL, "ftp://evil.example/x"},
		{"a host after the slashes ends at a backslash", `http:\\evil.example\@good.example/`, KindURL, "http://evil.example/@good.example/"},
		{"a star after backslashes makes a prefix", `http:\\evil.example\kits\*`, KindURL, "http://evil.example/kits/*"},
		{"file takes two backslashes", `file:\\server.example\share\x`, KindURL, "file://server.example/share/x"},
		{"file with a third slash has no host", `file:\\\x`, KindInvalid, "without a host"},
		{"another scheme needs its two slashes", `foo:\\evil.example\x`, KindInvalid, "invalid port"},
		// Whitespace in a value without a scheme, newlines too (a feed's
		// value is not read without them, as a RemoteUrl is).
		{"a newline in the path of a value without a scheme", "evil.example/a\nb", KindInvalid, "whitespace"},
		{"a tab in the host of a URL", "http://ev\til.example/", KindInvalid, "whitespace"},
		// A '#' after a backslash is after the path, not the host.
		{"a fragment after a backslash path", `evil.example\x#frag`, KindURL, "evil.example/x#frag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, value, err := ParseValue(tt.in)
			if tt.kind == KindInvalid {
				if err == nil || !strings.Contains(err.Error(), tt.value) {
					t.Fatalf("ParseValue(%q) = %s %q, %v; want an error with %q", tt.in, kind, value, err, tt.value)
				}
				return
			}
			if err != nil || kind != tt.kind || value != tt.value {
				t.Fatalf("ParseValue(%q) = %s %q, %v; want %s %q", tt.in, kind, value, err, tt.kind, tt.value)
			}
			if _, ok := NormalizeURL(strings.TrimSuffix(value, "*")); !ok {
				t.Fatalf("ParseValue(%q) = %q, which NormalizeURL refuses", tt.in, value)
			}
		})
	}

	// What loads builds, and the guard judges the host a client reaches.
	feed := "http://10.0.0.1\\@good.example/x\nhttp://c2\\@good.example/\nhttp://[::1\\@good.example/\nhttp://evil.example\\@good.example/\n"
	res, err := Load(strings.NewReader(feed), LoadOptions{Name: "feed.txt", Format: FormatText})
	if err != nil {
		t.Fatal(err)
	}
	got, refused := loadedAndRefused(res)
	if want := []string{"url:http://evil.example/@good.example/@feed.txt:4"}; !slices.Equal(got, want) {
		t.Errorf("loaded %q, want %q (refused %q)", got, want, refused)
	}
	if len(refused) != 3 {
		t.Errorf("refused %q, want lines 1 to 3", refused)
	}
	ix, err := BuildLists([]*List{res.Indicators}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{RemoteURL: "http://evil.example/@good.example/"}
	if got := hitStrings(ix.Match(q, nil)); !slices.Equal(got, []string{"RemoteUrl url http://evil.example/@good.example/"}) {
		t.Errorf("Match(%q) = %q", q.RemoteURL, got)
	}
}

// pathNeedsResolving looks at eight bytes at a time; it must agree with
// the byte-by-byte definition on every path, whatever the length and
// wherever a pair falls against the eight-byte words (a miss would leave
// a dot segment or a backslash in the normalised path).
func TestPathNeedsResolvingAgreesWithItsDefinition(t *testing.T) {
	ref := func(p string) uint8 {
		for i := 0; i < len(p); i++ {
			if p[i] == '\\' || p[i] == '.' && i > 0 && (p[i-1] == '/' || p[i-1] == '\\') {
				return 1
			}
		}
		return 0
	}
	check := func(p string) {
		if got, want := pathNeedsResolving(p), ref(p); got != want {
			t.Fatalf("pathNeedsResolving(%q) = %d; want %d", p, got, want)
		}
	}
	const alphabet = "/.\\a"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 9)
	// Longer paths: one pair or one backslash at every place, in a path
	// of every length up to 40, among bytes that are neither.
	for n := 1; n <= 40; n++ {
		for i := 0; i < n; i++ {
			b := []byte(strings.Repeat("x.", n)[:n])
			b[i] = '\\'
			check(string(b))
			if i+1 < n {
				b[i], b[i+1] = '/', '.'
				check(string(b))
				b[i] = 'x'
				check(string(b))
			}
		}
	}
}

// A field of URLs reads a '#' after a backslash path as the matcher does:
// "evil.example\x#frag" is the URL of /x, not of /x/ (the '#' is not right
// after the host, so it is no reason to write the root's '/' before it).
func TestParseAsURLFragmentAfterABackslashPath(t *testing.T) {
	for _, in := range []string{`evil.example\x#frag`, `http://evil.example\x#frag`, `evil.example:8080\a\b#c`} {
		kind, value, err := ldParseAs(KindURL, in)
		if err != nil || kind != KindURL {
			t.Fatalf("ldParseAs(url, %q) = %s %q, %v", in, kind, value, err)
		}
		key, ok := NormalizeURL(value)
		if want, _ := NormalizeURL(in); !ok || key != want {
			t.Errorf("ldParseAs(url, %q) = %q, keyed %q; the RemoteUrl %q is %q", in, value, key, in, want)
		}
	}
}
