package match

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// I2P eepsites (.i2p) are C2 as Tor onion services are: a feed's .i2p
// name or URL loads under the default guard, in a URL field too (a bare
// host there must end in a known top-level domain), while an internal
// name in the same feed is still refused with its file and line.
func TestFeedLoadsAlternativeRootNames(t *testing.T) {
	const lan = "internal name refused: .lan is for private networks, never on the Internet"
	tests := []struct {
		name, format, in string
		loaded           []string // kind:value@origin
		refused          []string
	}{
		{
			name: "text", format: FormatText,
			in: "# c2\nabc.i2p\nhttp://abc.i2p/gate.php\nukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p\nfoo.lan\nexpyuzz4wqqyqhjn.onion\nB32.I2P\nvitalik.eth\nhttps://vitalik.eth/x\n",
			loaded: []string{"domain:abc.i2p@feed.txt:2", "url:http://abc.i2p/gate.php@feed.txt:3",
				"domain:ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p@feed.txt:4", "domain:expyuzz4wqqyqhjn.onion@feed.txt:6"},
			refused: []string{`feed.txt:5: "foo.lan": ` + lan, `feed.txt:7: "B32.I2P": public suffix refused`,
				`feed.txt:8: "vitalik.eth": unknown top-level domain refused: ` + ensHint("vitalik.eth"),
				`feed.txt:9: "https://vitalik.eth/x": URL host: unknown top-level domain refused: ` + ensHint("vitalik.eth")},
		},
		{
			name: "csv, a bare host in a URL field", format: FormatCSV,
			in:      "type,value\nurl,abc.i2p\nurl,http://abc.i2p/x\ndomain,foo.lan\n",
			loaded:  []string{"domain:abc.i2p@feed.txt:2", "url:http://abc.i2p/x@feed.txt:3"},
			refused: []string{`feed.txt:4: "foo.lan": ` + lan},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, refused := loadFeed(t, tt.format, tt.in, Guard{})
			if !reflect.DeepEqual(got, tt.loaded) || !reflect.DeepEqual(refused, tt.refused) {
				t.Fatalf("loaded %q\nrefused %q\nwant %q\nand %q", got, refused, tt.loaded, tt.refused)
			}
		})
	}
}

// The names of the alternative roots need nothing of the matching side: a
// domain indicator loaded from a feed fires on its host in RemoteUrl,
// bare or in a URL, in any case and with a port, and on the hosts under
// it, and not on a longer name that only starts with it.
func TestAlternativeRootNamesMatchRemoteURL(t *testing.T) {
	res, err := Load(strings.NewReader("abc.i2p\nexpyuzz4wqqyqhjn.onion\nc2server.bit\n"), LoadOptions{Name: "feed.txt", Format: FormatText})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) > 0 {
		t.Fatalf("refused: %v", res.Refused)
	}
	ix, err := BuildLists([]*List{res.Indicators}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want []string // "Field kind value"
	}{
		{"http://abc.i2p/", []string{"RemoteUrl domain abc.i2p"}},
		{"abc.i2p", []string{"RemoteUrl domain abc.i2p"}},
		{"HTTP://WWW.ABC.I2P:80/gate.php?id=1", []string{"RemoteUrl domain abc.i2p"}},
		{"abc.i2p.", []string{"RemoteUrl domain abc.i2p"}},
		{"http://xabc.i2p/", nil},
		{"http://abc.i2p.example/", nil},
		{"http://expyuzz4wqqyqhjn.onion/gate", []string{"RemoteUrl domain expyuzz4wqqyqhjn.onion"}},
		{"c2server.bit", []string{"RemoteUrl domain c2server.bit"}},
	} {
		if got := hitStrings(ix.Match(Query{RemoteURL: tc.url}, nil)); !slices.Equal(got, tc.want) {
			t.Errorf("Match(RemoteUrl %q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}
