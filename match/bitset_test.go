package match

import (
	"math/rand/v2"
	"testing"
)

// A hashFilter holds every key added and lets few others through: the
// rates its doc comment and the index's sizing rely on.
func TestHashFilterHoldsItsKeysAndLetsFewOthersThrough(t *testing.T) {
	tests := []struct {
		bitsPerKey int
		keys       int
		maxPass    float64 // the largest share of absent keys that may pass
	}{
		{16, 100_000, 1.0 / 150}, // 21 bits a key after rounding: ~1 in 230
		{8, 100_000, 1.0 / 30},   // 10.5 bits: ~1 in 50
		{6, 140_000, 1.0 / 15},   // 7.5 bits, near the host filter's fewest: ~1 in 23
	}
	for _, tt := range tests {
		r := rand.New(rand.NewPCG(1, uint64(tt.bitsPerKey)))
		f := newHashFilter(tt.keys, tt.bitsPerKey, 0)
		keys := make([]uint64, tt.keys)
		for i := range keys {
			keys[i] = r.Uint64()
			f.add(keys[i])
		}
		for _, k := range keys {
			if !f.has(k) {
				t.Fatalf("%d bits a key: key %#x added but not held", tt.bitsPerKey, k)
			}
		}
		const probes = 200_000
		pass := 0
		for range probes {
			if f.has(r.Uint64()) {
				pass++
			}
		}
		if got := float64(pass) / probes; got > tt.maxPass {
			t.Errorf("%d bits a key (%d bits for %d keys): %.4f of absent keys pass, want at most %.4f",
				tt.bitsPerKey, len(f.words)*64, tt.keys, got, tt.maxPass)
		} else {
			t.Logf("%d bits a key (%.1f after rounding): 1 in %.0f absent keys passes", tt.bitsPerKey, float64(len(f.words)*64)/float64(tt.keys), 1/got)
		}
	}
	var zero hashFilter
	if zero.has(0) || zero.has(^uint64(0)) {
		t.Error("the zero filter holds a key")
	}
}
