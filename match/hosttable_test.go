package match

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// checkHostTable compares every key of want, and each of misses, with t.
func checkHostTable(t *testing.T, ht *hostTable, want map[string]ref, misses []string) {
	t.Helper()
	if ht.len() != len(want) {
		t.Fatalf("len = %d; want %d", ht.len(), len(want))
	}
	for k, r := range want {
		if got, ok := ht.lookup(k); !ok || got != r {
			t.Fatalf("lookup(%q) = %v, %v; want %v, true", k, got, ok, r)
		}
	}
	for _, k := range misses {
		if got, ok := ht.lookup(k); ok {
			t.Fatalf("lookup(%q) = %v, true; want a miss", k, got)
		}
	}
}

func TestHostTableGrowsAndFinds(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 100, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ht := newHostTable(0) // grows from the smallest size
			want := map[string]ref{}
			for i := range n {
				k := fmt.Sprintf("h%d.example.com", i)
				r, found := ht.upsert([]byte(k), "")
				if found {
					t.Fatalf("upsert(%q): found a new key", k)
				}
				*r = ref{id: uint32(i), flags: refOne}
				want[k] = *r
			}
			// Upserting again finds the existing ref.
			for i := range n {
				k := fmt.Sprintf("h%d.example.com", i)
				if r, found := ht.upsert([]byte(k), k); !found || *r != want[k] {
					t.Fatalf("second upsert(%q) = %v, %v", k, *r, found)
				}
			}
			if n > 0 && uint64(ht.len())*2 > uint64(len(ht.slots)) {
				t.Fatalf("%d keys in %d slots: more than half full", ht.len(), len(ht.slots))
			}
			checkHostTable(t, ht, want, []string{"", "example.com", "com", "h.example.com", fmt.Sprintf("h%d.example.com", n)})
		})
	}
}

// TestHostTableCollisions fills a small table by hand with slots whose tags
// equal a key's tag, or whose position is the key's, but whose keys
// differ, so that lookups must walk past them, compare keys and wrap
// around the end of the slots.
func TestHostTableCollisions(t *testing.T) {
	const key = "evil.example"
	for _, tc := range []struct {
		name string
		// decoys are entries placed in the slots from key's home position
		// on; sameTag gives a decoy key's own tag the key's tag.
		decoys  int
		sameTag bool
		present bool // whether key itself follows the decoys
	}{
		{"a tag match with another key is a miss", 1, true, false},
		{"a tag match with another key is skipped", 1, true, true},
		{"several tag matches are skipped", 5, true, true},
		{"other tags are skipped", 5, false, true},
		{"a run of other tags ends in a miss", 7, false, false},
	} {
		for home := range uint64(16) {
			t.Run(fmt.Sprintf("%s/home=%d", tc.name, home), func(t *testing.T) {
				ht := &hostTable{slots: make([]uint64, 16), mask: 15}
				// Pick a seed that puts key at the home position under test.
				for ht.seed = 1; ht.hash(key)&ht.mask != home; ht.seed += 2 {
				}
				h := ht.hash(key)
				p := h & ht.mask
				for i := range tc.decoys {
					tag := slotTag(h)
					if !tc.sameTag {
						tag = slotTag(h ^ uint64(i+1)<<33)
					}
					ht.entries = append(ht.entries, hostEntry{key: fmt.Sprintf("decoy%d.example", i), r: ref{id: uint32(100 + i)}})
					ht.slots[p] = tag | uint64(len(ht.entries)-1)
					p = (p + 1) & ht.mask
				}
				if tc.present {
					ht.entries = append(ht.entries, hostEntry{key: key, r: ref{id: 7, flags: refOne}})
					ht.slots[p] = slotTag(h) | uint64(len(ht.entries)-1)
				}
				r, ok := ht.lookup(key)
				if ok != tc.present || ok && r != (ref{id: 7, flags: refOne}) {
					t.Fatalf("lookup(%q) = %v, %v; want present %v", key, r, ok, tc.present)
				}
				// An upsert of an absent key lands in the first free slot.
				if !tc.present {
					nr, found := ht.upsert([]byte(key), "")
					if found {
						t.Fatal("upsert found an absent key")
					}
					nr.id = 9
					if r, ok := ht.lookup(key); !ok || r.id != 9 {
						t.Fatalf("after upsert, lookup = %v, %v", r, ok)
					}
				}
			})
		}
	}
}

// TestHostHashIsPerLabel checks that the hashes matchHost derives for a
// host's suffixes in one pass equal the hashes of the suffixes as keys, for
// labels of every length class hashLabel distinguishes.
func TestHostHashIsPerLabel(t *testing.T) {
	labels := []string{"", "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopq", strings.Repeat("x", 63)}
	seed := uint64(0x1234567)
	for _, l1 := range labels {
		for _, l2 := range labels {
			host := l1 + "." + l2 + ".com"
			h := hashLabel(seed, "com")
			if got := hostHash(seed, "com"); got != h {
				t.Fatalf("hostHash(com) = %x; want %x", got, h)
			}
			h = hashLabel(h, l2)
			if got := hostHash(seed, l2+".com"); got != h {
				t.Fatalf("hostHash(%q) = %x; want %x", l2+".com", got, h)
			}
			h = hashLabel(h, []byte(l1))
			if got := hostHash(seed, []byte(host)); got != h {
				t.Fatalf("hostHash(%q) = %x; want %x", host, got, h)
			}
		}
	}
	// Distinct short names get distinct hashes (not guaranteed in general,
	// but a collision among these would betray a broken hash).
	seen := map[uint64]string{}
	for _, a := range labels {
		for _, b := range labels {
			k := a + "." + b
			h := hostHash(seed, k)
			if o, dup := seen[h]; dup && o != k {
				t.Fatalf("hostHash(%q) == hostHash(%q)", k, o)
			}
			seen[h] = k
		}
	}
}

// TestMatchHostManyLabels covers hosts past fastLabels labels, matched
// label by label.
func TestMatchHostManyLabels(t *testing.T) {
	deep := strings.Repeat("a.", 20) + "evil.example"
	inds := []*Indicator{mk("domain evil.example"), mk("domain " + strings.Repeat("a.", 18) + "evil.example"), mk("url http://" + deep + "/x")}
	ix, err := Build(inds, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"b." + deep, []string{"domain:" + strings.Repeat("a.", 18) + "evil.example"}},
		{"http://" + deep + "/x", []string{"domain:" + strings.Repeat("a.", 18) + "evil.example", "url:http://" + deep + "/x"}},
		{strings.Repeat("b.", 20) + "evil.example", []string{"domain:evil.example"}},
		{strings.Repeat("b.", 20) + "good.example", nil},
	} {
		var got []string
		for _, h := range ix.Match(Query{RemoteURL: tc.url, At: time.Time{}}, nil) {
			got = append(got, h.Indicator.Kind.String()+":"+h.Indicator.Value)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("Match(%q) = %q; want %q", tc.url, got, tc.want)
		}
	}
}

// A large table's filter passes every key it holds and stops most names
// it does not; matching through it finds every domain and its
// subdomains.
func TestTheHostFilterPassesEveryKeyAndStopsMostOthers(t *testing.T) {
	var inds []*Indicator
	meta := &Meta{Source: "t"}
	for i := range minFilterKeys + 1000 {
		inds = append(inds, &Indicator{Kind: KindDomain, Value: fmt.Sprintf("c2-%d.example.net", i), Meta: meta})
	}
	ix, err := Build(inds, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tab := ix.hosts
	if tab.filter.words == nil {
		t.Fatalf("no filter for %d keys", tab.len())
	}
	for _, e := range tab.entries {
		if !tab.mayHave(tab.hash(e.key)) {
			t.Fatalf("the filter stops %q, a key of the table", e.key)
		}
	}
	passed := 0
	for i := range 10000 {
		if tab.mayHave(tab.hash(fmt.Sprintf("absent-%d.example.org", i))) {
			passed++
		}
	}
	if passed > 2500 {
		t.Errorf("the filter passed %d of 10000 absent names, want about 1250", passed)
	}
	for _, i := range []int{0, 1, 4242, minFilterKeys + 999} {
		for _, host := range []string{fmt.Sprintf("c2-%d.example.net", i), fmt.Sprintf("www.c2-%d.example.net", i)} {
			if hits := ix.Match(Query{RemoteURL: "https://" + host + "/x"}, nil); len(hits) != 1 || hits[0].Indicator != *inds[i] {
				t.Errorf("Match(%s) = %v, want the indicator c2-%d.example.net", host, hits, i)
			}
		}
	}
	for _, host := range []string{"example.net", "c2-x.example.net", fmt.Sprintf("c2-%d.example.net", minFilterKeys+1000)} {
		if hits := ix.Match(Query{RemoteURL: host}, nil); len(hits) != 0 {
			t.Errorf("Match(%s) = %v, want none", host, hits)
		}
	}
}
