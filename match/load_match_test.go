package match

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadAndBuild loads a CSV feed of "type,value" rows and builds its index,
// failing the test if any row is refused: the cases below are about values
// that load and then must (or must not) fire.
func loadAndBuild(t *testing.T, rows ...[2]string) *Index {
	t.Helper()
	var b strings.Builder
	b.WriteString("type,value\n")
	for _, r := range rows {
		b.WriteString(r[0] + `,"` + strings.ReplaceAll(r[1], `"`, `""`) + "\"\n")
	}
	res, err := Load(strings.NewReader(b.String()), LoadOptions{Format: FormatCSV, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Refused {
		t.Fatalf("refused: %s", r)
	}
	ix, err := BuildLists([]*List{res.Indicators}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// A pattern is matched against the normalised RemoteUrl, in which only
// ASCII letters are lower-cased (other bytes are percent-encoded as they
// are). The loader must not fold the case of anything else, or a pattern
// copied from an event never fires on that event.
func TestLoadedPatternMatchesItsOwnNonASCIIText(t *testing.T) {
	for _, c := range []struct {
		pattern, url string
		want         bool
	}{
		{"Ünïcode", "http://evil.example/Ünïcode", true},
		{"ünïcode", "http://evil.example/ünïcode", true},
		{"/STRASSE-Ä", "http://evil.example/strasse-Ä.php", true},
		{"Страница", "https://evil.example/Страница?id=1", true},
		{"Страница", "https://evil.example/%D0%A1%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0", true},
		{"caf\xe9.php", "http://evil.example/CAF\xe9.php", true}, // Latin-1, not UTF-8
		{"GATE.php", "http://evil.example/gate.PHP", true},
	} {
		ix := loadAndBuild(t, [2]string{"pattern", c.pattern})
		if got := len(ix.Lookup(c.url, time.Time{})) > 0; got != c.want {
			t.Errorf("pattern %q on %q: hit %v, want %v", c.pattern, c.url, got, c.want)
		}
	}
}

// "http://evil.example/gate.php?*" means gate.php with a query. Normalising
// drops an empty query, and with it the '?', so the prefix must keep it or
// it takes in every path that starts with "/gate.php". Fragments are never
// matched (events' are dropped), so a prefix ending in one is its URL.
func TestURLPrefixEndingInQueryOrFragmentStaysOnItsPath(t *testing.T) {
	for _, c := range []struct {
		indicator, url string
		want           bool
	}{
		{"http://evil.example/gate.php?*", "http://evil.example/gate.php?id=7", true},
		{"http://evil.example/gate.php?*", "http://EVIL.example:80/gate.php?id=7#x", true},
		{"http://evil.example/gate.php?*", "http://evil.example/gate.phpx", false},
		{"http://evil.example/gate.php?*", "http://evil.example/gate.php/admin", false},
		{"http://evil.example/gate.php?*", "http://evil.example/gate.php.bak?id=7", false},
		{"http://evil.example?*", "http://evil.example/?q=1", true},
		{"http://evil.example?*", "http://evil.example/login", false},
		{"evil.example/gate.php?*", "http://evil.example/gate.php?id=7", true},
		{"evil.example/gate.php?*", "http://evil.example/gate.php2", false},
		{"http://evil.example/gate.php?id=*", "http://evil.example/gate.php?id=7", true},
		{"http://evil.example/gate.php#*", "http://evil.example/gate.php#top", true},
		{"http://evil.example/gate.php#*", "http://evil.example/gate.php", true},
		{"http://evil.example/gate.php#*", "http://evil.example/gate.phpx", false},
		{"http://evil.example/gate.php#*", "http://evil.example/gate.php/x", false},
	} {
		ix := loadAndBuild(t, [2]string{"url", c.indicator})
		if got := len(ix.Lookup(c.url, time.Time{})) > 0; got != c.want {
			t.Errorf("url %q on %q: hit %v, want %v", c.indicator, c.url, got, c.want)
		}
	}
}

// A '*' inside a URL is a literal byte of the path (a valid one), so a
// URL written as a glob loads but never fires as one: the load result
// notes it, naming the first such line; a trailing '*' is a prefix and
// noted nothing.
func TestAStarInsideAURLIsNoted(t *testing.T) {
	tests := []struct {
		name, feed string
		notes      []string
	}{
		{"a trailing star is a prefix", "http://evil.example/gate/*\n", nil},
		{"one star inside", "http://evil.example/*.exe\n", []string{`a '*' inside a URL is matched literally, only a trailing '*' makes a prefix: f.txt:1 "http://evil.example/*.exe"`}},
		{"several", "evil.example\nhttp://evil.example/a*b\nhttp://evil.example/*/x*\nhttp://evil.example/c*d\n",
			[]string{`a '*' inside a URL is matched literally, only a trailing '*' makes a prefix: f.txt:2 "http://evil.example/a*b" and 2 more`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.feed), LoadOptions{Name: "f.txt", Format: FormatText})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Refused) > 0 || !reflect.DeepEqual(res.Notes, tt.notes) {
				t.Errorf("notes %q (refused %v), want %q", res.Notes, res.Refused, tt.notes)
			}
		})
	}
}

// A URL field's "evil.example#x" is the host's root with a fragment: it
// loads, and fires on the root only, as "evil.example/#x" would.
func TestURLFieldWithFragmentRightAfterHostMatchesTheRoot(t *testing.T) {
	ix := loadAndBuild(t, [2]string{"url", "evil.example#frag"})
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"http://evil.example/", true},
		{"http://evil.example/#frag", true},
		{"http://evil.example/login", false},
		{"http://other.example/", false},
	} {
		if got := len(ix.Lookup(c.url, time.Time{})) > 0; got != c.want {
			t.Errorf("%q: hit %v, want %v", c.url, got, c.want)
		}
	}
}
