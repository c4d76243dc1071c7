package match

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/cputime"
)

// ldBenchText generates n feed lines: 50% IPv4 addresses, 10% IPv4
// prefixes, 5% IPv6 addresses, 25% domains, 10% URLs, with a comment line
// every 1000 lines. Values are unique and pass the guard.
func ldBenchText(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	// First octets outside every range the guard refuses.
	octets := [...]int{5, 23, 31, 45, 62, 77, 85, 91, 103, 109, 145, 151, 176, 185, 194, 203, 212}
	var b bytes.Buffer
	b.Grow(n * 32)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			b.WriteString("# generated feed, block ")
			fmt.Fprintf(&b, "%d\n", i/1000)
			continue
		}
		switch x := r.IntN(100); {
		case x < 50:
			fmt.Fprintf(&b, "%d.%d.%d.%d\n", octets[r.IntN(len(octets))], r.IntN(256), r.IntN(256), 1+r.IntN(254))
		case x < 60:
			fmt.Fprintf(&b, "%d.%d.%d.0/24\n", octets[r.IntN(len(octets))], r.IntN(256), r.IntN(256))
		case x < 65:
			fmt.Fprintf(&b, "2a0%d:%x:%x::%x\n", r.IntN(10), r.IntN(65536), r.IntN(65536), r.IntN(65536))
		case x < 90:
			fmt.Fprintf(&b, "c2-%d.%s.example\n", i, [...]string{"cdn", "update", "api", "login"}[r.IntN(4)])
		default:
			fmt.Fprintf(&b, "http://dl-%d.bad-cdn.example/p/%x.bin\n", i, r.Uint32())
		}
	}
	return b.Bytes()
}

// BenchmarkLoadText loads a generated 1M-line text feed.
func BenchmarkLoadText(b *testing.B) {
	const lines = 1_000_000
	data := ldBenchText(lines)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var res *LoadResult
	cpu0 := cputime.Process()
	for b.Loop() {
		var err error
		res, err = Load(bytes.NewReader(data), LoadOptions{Name: "bench.txt", Format: FormatText, Now: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if want := lines - lines/1000; len(res.Indicators.Indicators()) != want || len(res.Refused) != 0 {
		b.Fatalf("loaded %d indicators and refused %d, want %d and 0", len(res.Indicators.Indicators()), len(res.Refused), want)
	}
}

// BenchmarkParseValue classifies one value of each kind.
func BenchmarkParseValue(b *testing.B) {
	for _, v := range []string{"198.51.100.7", "2001:db8::7", "198.51.100.0/24", "Update.Bad-CDN.example", "https://files.bad-cdn.example/p/stage2.bin"} {
		b.Run(v, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseValue(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadSTIX loads the largest real STIX sample (the Poison Ivy report).
func BenchmarkLoadSTIX(b *testing.B) {
	data := ldReadSample(b, "stix21_bundle_oasis_poisonivy_report.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(bytes.NewReader(data), LoadOptions{Format: FormatSTIX2}); err != nil {
			b.Fatal(err)
		}
	}
}
