package match

import (
	"slices"
	"sync"
	"time"

	"github.com/cloudflare/ahocorasick"
)

// patternSet finds pattern indicators in a lower-cased, normalised
// RemoteUrl with github.com/cloudflare/ahocorasick. The automaton costs
// about 62 KiB per pattern, so it is built only when patterns exist.
//
// Matcher.Contains only reads the automaton and does not allocate; it runs
// on every URL. Matcher.Match, which says which patterns matched, mutates
// the matcher and allocates its result, so it runs only after Contains
// found something, under a mutex. The zero value holds no patterns.
type patternSet struct {
	m    *ahocorasick.Matcher
	mu   sync.Mutex // serialises m.Match
	refs []ref      // dictionary index → its indicators
}

// build takes distinct, non-empty patterns and their refs.
func (p *patternSet) build(patterns []string, refs []ref) {
	if len(patterns) == 0 {
		return
	}
	p.m = ahocorasick.NewStringMatcher(patterns)
	p.refs = refs
}

func (p *patternSet) match(ix *Index, hits []Hit, hay []byte, at time.Time) []Hit {
	if !p.m.Contains(hay) {
		return hits
	}
	p.mu.Lock()
	found := p.m.Match(hay)
	p.mu.Unlock()
	slices.Sort(found)
	for _, i := range found {
		hits, _ = ix.emit(hits, p.refs[i], FieldRemoteURL, at)
	}
	return hits
}
