package match_test

import (
	"fmt"
	"net/netip"

	"github.com/iocwatch/iocwatch/match"
)

func ExampleIndex_Match() {
	ix, err := match.Build([]*match.Indicator{
		{Kind: match.KindCIDR, Value: "203.0.113.0/24", Meta: &match.Meta{Source: "feodo"}},
		{Kind: match.KindDomain, Value: "evil.example", Meta: &match.Meta{Source: "misp"}},
		{Kind: match.KindURL, Value: "http://evil.example/gate.php", Meta: &match.Meta{Source: "urlhaus"}},
	}, match.BuildOptions{})
	if err != nil {
		panic(err)
	}
	hits := ix.Match(match.Query{
		RemoteIP:  netip.MustParseAddr("::ffff:203.0.113.77"),
		RemoteURL: "HTTP://Evil.Example:80/gate.php#x",
	}, nil)
	for _, h := range hits {
		fmt.Println(h.Field, h.Indicator.Kind, h.Indicator.Value, h.Indicator.Meta.Source)
	}
	// Output:
	// RemoteIP cidr 203.0.113.0/24 feodo
	// RemoteUrl domain evil.example misp
	// RemoteUrl url http://evil.example/gate.php urlhaus
}

func ExampleNormalizeURL() {
	for _, s := range []string{"HTTP://User@Evil.Example:80/a/%7euser?#frag", "evil.example/x", "evil.example"} {
		u, ok := match.NormalizeURL(s)
		fmt.Printf("%q %v\n", u, ok)
	}
	// Output:
	// "http://evil.example/a/~user" true
	// "http://evil.example/x" true
	// "" false
}
