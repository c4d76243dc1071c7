package match

import (
	"slices"
	"strings"
	"time"
)

// urlIndex holds the URL indicators. Exact URLs are keys of a map. URL
// prefixes (indicators ending in '*') are sorted, so the prefixes sharing an
// origin ("scheme://host:port", then '/') form one contiguous range; within
// it a binary search finds the greatest prefix not above the URL, and the
// prefixes of the URL are that entry's chain of parents (each entry's
// parent is the longest other entry that is a prefix of it).
//
// Whether an event URL's host has URL indicators at all is known from the
// probe of Index.hosts that domain matching makes, so an event URL on a
// host without URL indicators costs no further lookup; only a URL whose
// host is an IP literal starts with the origin map, which also says
// whether any exact URL has that origin. The zero value holds no URLs.
type urlIndex struct {
	exact   map[string]ref
	entries []prefixEntry
	origins map[string]originEntry
}

type prefixEntry struct {
	prefix string
	r      ref
	parent int32 // index of the longest proper prefix in entries; -1 none
}

// originEntry is what an origin has: entries[lo:hi] and maybe exact URLs.
type originEntry struct {
	lo, hi uint32
	exact  bool
}

// buildURLIndex takes normalised exact URLs and normalised URL prefixes
// (NormalizeURL output, so each has an origin followed by a path) with
// their refs.
func buildURLIndex(exact, prefixes map[string]ref) urlIndex {
	x := urlIndex{exact: exact}
	if len(exact)+len(prefixes) == 0 {
		return x
	}
	x.origins = make(map[string]originEntry)
	for u := range exact {
		o := u[:originEnd(u)]
		e := x.origins[o]
		e.exact = true
		x.origins[o] = e
	}
	x.entries = make([]prefixEntry, 0, len(prefixes))
	for k, r := range prefixes {
		x.entries = append(x.entries, prefixEntry{prefix: k, r: r})
	}
	slices.SortFunc(x.entries, func(a, b prefixEntry) int { return strings.Compare(a.prefix, b.prefix) })
	var stack []int32
	for i := range x.entries {
		e := &x.entries[i]
		for len(stack) > 0 && !strings.HasPrefix(e.prefix, x.entries[stack[len(stack)-1]].prefix) {
			stack = stack[:len(stack)-1]
		}
		e.parent = -1
		if len(stack) > 0 {
			e.parent = stack[len(stack)-1]
		}
		stack = append(stack, int32(i))
		o := e.prefix[:originEnd(e.prefix)]
		r := x.origins[o]
		if r.hi == 0 {
			r.lo = uint32(i)
		}
		r.hi = uint32(i + 1)
		x.origins[o] = r
	}
	return x
}

// originEnd returns the length of "scheme://authority" in a normalised URL.
func originEnd[S string | []byte](u S) int {
	i := 0
	for ; i+2 < len(u); i++ {
		if u[i] == ':' && u[i+1] == '/' && u[i+2] == '/' {
			i += 3
			break
		}
	}
	for ; i < len(u); i++ {
		if u[i] == '/' {
			return i
		}
	}
	return len(u)
}

// origin looks up the URL indicators of an origin ("scheme://host:port").
func (x *urlIndex) origin(o []byte) (originEntry, bool) {
	if len(x.origins) == 0 {
		return originEntry{}, false
	}
	e, ok := x.origins[string(o)]
	return e, ok
}

// match reports the indicators of the identical URL, else those of the
// longest prefix of u, skipping groups without an active indicator. u is a
// normalised URL whose origin is u[:originLen]; flags (hostExactURL,
// hostPrefixURL) say which kinds of URL indicator its host has. When
// found, o is the entry of its origin; otherwise the origin map is
// consulted only if prefixes are to be searched.
func (x *urlIndex) match(ix *Index, hits []Hit, flags uint32, o originEntry, found bool, u []byte, originLen int, at time.Time) []Hit {
	if flags&hostExactURL != 0 {
		if r, ok := x.exact[string(u)]; ok {
			var any bool
			if hits, any = ix.emit(hits, r, FieldRemoteURL, at); any {
				return hits
			}
		}
	}
	if flags&hostPrefixURL == 0 {
		return hits
	}
	if !found {
		if o, found = x.origin(u[:originLen]); !found {
			return hits
		}
	}
	lo, hi := int(o.lo), int(o.hi)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x.entries[mid].prefix <= string(u) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	j := lo - 1
	if j < int(o.lo) {
		return hits
	}
	l := commonPrefixLen(x.entries[j].prefix, u)
	for j >= 0 && len(x.entries[j].prefix) > l {
		j = int(x.entries[j].parent)
	}
	for j >= 0 {
		var any bool
		if hits, any = ix.emit(hits, x.entries[j].r, FieldRemoteURL, at); any {
			return hits
		}
		j = int(x.entries[j].parent)
	}
	return hits
}

func commonPrefixLen(a string, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
