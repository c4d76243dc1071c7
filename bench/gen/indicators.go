package gen

import (
	"math/rand/v2"
	"net/netip"

	"github.com/iocwatch/iocwatch/match"
)

// IndicatorOptions size a generated indicator set. The zero value
// generates no indicators.
type IndicatorOptions struct {
	Seed int64
	// IPs is the number of ip and cidr indicators, Domains of domain
	// indicators, URLs of url indicators (every tenth a prefix ending in
	// '*') and Patterns of pattern indicators.
	IPs, Domains, URLs, Patterns int
	// IPv6Share is the fraction (0–1) of ip and cidr indicators that are
	// IPv6; 0 means the default 0.25, a negative value none.
	IPv6Share float64
	// PrefixShare is the fraction (0–1) of ip and cidr indicators that are
	// prefixes (IPv4 /24–/31, IPv6 /48–/64) rather than single addresses;
	// 0 means the default 0.1, a negative value none.
	PrefixShare float64
	// Source names the feed in every indicator; default "bench".
	Source string
}

// guardedOctets are the first IPv4 octets the indicators use: public
// unicast space outside every range match.Guard refuses by default, and
// overlapping the benign traffic (20–169) so that lookups of benign
// addresses walk populated parts of the index.
var guardedOctets = func() []byte {
	var o []byte
	for i := 1; i <= 223; i++ {
		switch i {
		case 10, 100, 127, 169, 172, 192, 198:
			continue
		}
		o = append(o, byte(i))
	}
	return o
}()

// indicatorTLDs are the suffixes of generated domain indicators.
var indicatorTLDs = []string{"com", "net", "org", "info", "ru", "cn", "top", "xyz", "co.uk", "com.br", "de", "io", "biz", "su"}

// Indicators generates a deterministic indicator set: the same options
// give the same indicators, in the same order (ip/cidr, then domains,
// URLs, patterns). Every value is in canonical form and passes the
// default match.Guard, so the set can also be written to a feed and
// loaded. Values are random and may, rarely, repeat; a few benign
// addresses of a generated stream fall inside a generated prefix, as in
// real feeds.
func Indicators(opt IndicatorOptions) []*match.Indicator {
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed1dc))
	v6 := opt.IPv6Share
	if v6 == 0 {
		v6 = 0.25
	}
	pfx := opt.PrefixShare
	if pfx == 0 {
		pfx = 0.1
	}
	src := opt.Source
	if src == "" {
		src = "bench"
	}
	out := make([]*match.Indicator, 0, opt.IPs+opt.Domains+opt.URLs+opt.Patterns)
	// One backing array per kind: fewer, larger allocations.
	inds := make([]match.Indicator, opt.IPs+opt.Domains+opt.URLs+opt.Patterns)
	meta := &match.Meta{Source: src, Severity: "high"} // shared, as a loaded feed's
	next := func(k match.Kind, v string) {
		ind := &inds[len(out)]
		ind.Kind, ind.Value, ind.Meta = k, v, meta
		out = append(out, ind)
	}
	for range opt.IPs {
		isPrefix := r.Float64() < pfx
		if r.Float64() < v6 {
			var b [16]byte
			b[0], b[1] = 0x24+byte(r.IntN(12)), byte(r.UintN(256))
			for i := 2; i < 16; i++ {
				b[i] = byte(r.UintN(256))
			}
			a := netip.AddrFrom16(b)
			if isPrefix {
				next(match.KindCIDR, netip.PrefixFrom(a, 48+r.IntN(17)).Masked().String())
			} else {
				next(match.KindIP, a.String())
			}
			continue
		}
		a := netip.AddrFrom4([4]byte{guardedOctets[r.IntN(len(guardedOctets))], byte(r.UintN(256)), byte(r.UintN(256)), byte(1 + r.IntN(254))})
		if isPrefix {
			next(match.KindCIDR, netip.PrefixFrom(a, 24+r.IntN(8)).Masked().String())
		} else {
			next(match.KindIP, a.String())
		}
	}
	var guard match.Guard
	for range opt.Domains {
		// A random name is now and then a public suffix ("navoi.su"),
		// which the guard refuses: draw again.
		d := indicatorDomain(r)
		for guard.Check(match.KindDomain, d) != "" {
			d = indicatorDomain(r)
		}
		next(match.KindDomain, d)
	}
	for i := range opt.URLs {
		d := indicatorDomain(r)
		for guard.Check(match.KindDomain, d) != "" {
			d = indicatorDomain(r)
		}
		u := []string{"http://", "https://"}[r.IntN(2)] + d + "/" + randLabel(r, 3, 10) + "/"
		if i%10 == 9 {
			next(match.KindURL, u+"*")
			continue
		}
		next(match.KindURL, u+randLabel(r, 3, 10)+".php")
	}
	for range opt.Patterns {
		next(match.KindPattern, "/"+randLabel(r, 6, 12)+".php?")
	}
	return out
}

func indicatorDomain(r *rand.Rand) string {
	d := randLabel(r, 5, 14) + "." + indicatorTLDs[r.IntN(len(indicatorTLDs))]
	if r.IntN(4) == 0 {
		d = randLabel(r, 2, 6) + "." + d
	}
	return d
}
