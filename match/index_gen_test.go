package match

import (
	"math/rand/v2"
	"net/netip"
	"strings"
)

// benchData is a deterministic indicator set with queries that hit and
// miss it, for benchmarks.
type benchData struct {
	inds []*Indicator
	// hit queries carry an address that is an ip indicator and a URL
	// that is a url indicator; miss queries carry an address and a URL
	// outside every indicator.
	hit4, hit6, miss4, miss6 []Query
}

const benchQueries = 1024

// genBenchData generates nIP ip/cidr indicators (3/4 IPv4 in 1.0.0.0 to
// 199.255.255.255, 1/4 IPv6 in 2000::/4; 4/5 single addresses, 1/5
// prefixes), nDomain domains and nURL URLs (1/10 of them prefixes ending in
// '*'), all from seed. Misses use 200.0.0.0/8, 3fff::/16 and the .invalid
// top-level domain, which no indicator uses.
func genBenchData(seed uint64, nIP, nDomain, nURL int) *benchData {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d := &benchData{inds: make([]*Indicator, 0, nIP+nDomain+nURL)}
	var ip4, ip6 []netip.Addr
	var urls []string
	for range nIP {
		ind := &Indicator{Meta: &Meta{Source: "bench"}}
		if r.IntN(4) > 0 {
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(199)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			if r.IntN(5) > 0 {
				ind.Kind, ind.Value = KindIP, a.String()
				ip4 = append(ip4, a)
			} else {
				ind.Kind, ind.Value = KindCIDR, netip.PrefixFrom(a, 16+r.IntN(16)).Masked().String()
			}
		} else {
			var b [16]byte
			hi, lo := r.Uint64(), r.Uint64()
			for i := range 8 {
				b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
			}
			b[0] = 0x20 | b[0]&0x0f
			a := netip.AddrFrom16(b)
			if r.IntN(5) > 0 {
				ind.Kind, ind.Value = KindIP, a.String()
				ip6 = append(ip6, a)
			} else {
				ind.Kind, ind.Value = KindCIDR, netip.PrefixFrom(a, 32+r.IntN(33)).Masked().String()
			}
		}
		d.inds = append(d.inds, ind)
	}
	for range nDomain {
		d.inds = append(d.inds, &Indicator{Kind: KindDomain, Value: randDomain(r), Meta: &Meta{Source: "bench"}})
	}
	for i := range nURL {
		u := []string{"http://", "https://"}[r.IntN(2)] + randDomain(r) + "/" + randLabel(r, 3, 10) + "/" + randLabel(r, 3, 10) + ".php"
		if i%10 == 9 {
			d.inds = append(d.inds, &Indicator{Kind: KindURL, Value: u[:strings.LastIndexByte(u, '/')+1] + "*", Meta: &Meta{Source: "bench"}})
			continue
		}
		d.inds = append(d.inds, &Indicator{Kind: KindURL, Value: u, Meta: &Meta{Source: "bench"}})
		urls = append(urls, u)
	}
	for range benchQueries {
		missURL := "http://www." + randLabel(r, 6, 12) + ".invalid/" + randLabel(r, 3, 10) + "/index.html"
		d.miss4 = append(d.miss4, Query{
			RemoteIP:  netip.AddrFrom4([4]byte{200, byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}),
			RemoteURL: missURL,
		})
		var b [16]byte
		b[0], b[1], b[15] = 0x3f, 0xff, byte(r.Uint32())
		b[8] = byte(r.Uint32())
		d.miss6 = append(d.miss6, Query{RemoteIP: netip.AddrFrom16(b), RemoteURL: missURL})
		if len(ip4) > 0 && len(urls) > 0 {
			d.hit4 = append(d.hit4, Query{RemoteIP: ip4[r.IntN(len(ip4))], RemoteURL: urls[r.IntN(len(urls))]})
		}
		if len(ip6) > 0 && len(urls) > 0 {
			d.hit6 = append(d.hit6, Query{RemoteIP: ip6[r.IntN(len(ip6))], RemoteURL: urls[r.IntN(len(urls))]})
		}
	}
	return d
}

var benchTLDs = []string{"com", "net", "org", "info", "ru", "cn", "top", "xyz", "co.uk", "com.br", "de", "io"}

func randDomain(r *rand.Rand) string {
	d := randLabel(r, 5, 14) + "." + benchTLDs[r.IntN(len(benchTLDs))]
	if r.IntN(4) == 0 {
		d = randLabel(r, 2, 6) + "." + d
	}
	return d
}

func randLabel(r *rand.Rand, minLen, maxLen int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, minLen+r.IntN(maxLen-minLen+1))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
