package match

import (
	"errors"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// glob is a compiled, case-insensitive path glob for exclusion rules:
//
//   - '/' and '\' are both separators and match each other;
//   - '*' matches any run of characters within one path segment;
//   - '**' matches any run across segments; written as a whole leading or
//     inner segment ("**/b", "a/**/b") it also matches no segment at all,
//     and "a/**" matches everything under a/;
//   - '?' matches one character other than a separator;
//   - everything else matches itself, compared with Unicode case folding
//     (as strings.EqualFold). There is no escape character, no [class]
//     and no {a,b} alternation (a brace matches itself).
//
// Matching simulates the glob's automaton over a bit set of states, so it
// takes time linear in the path and never backtracks. A glob is immutable
// and safe for concurrent use.
type glob struct {
	src  string
	toks []gtok
}

type gtokKind uint8

const (
	gLit       gtokKind = iota // r, case-folded
	gAny1                      // '?'
	gStar                      // '*'
	gDStar                     // '**' inside a segment
	gDStarSegs                 // entry of "**/": none, or into gDStarLoop
	gDStarLoop                 // any rune; a separator may also leave
	gSep                       // '/' or '\'
)

type gtok struct {
	kind gtokKind
	r    rune
}

// maxGlobTokens bounds a glob so that its states fit a fixed bit set.
const maxGlobTokens = 255

type stateSet [4]uint64

func (s *stateSet) add(i int)            { s[i>>6] |= 1 << (i & 63) }
func (s *stateSet) has(i int) bool       { return s[i>>6]&(1<<(i&63)) != 0 }
func (s *stateSet) empty() bool          { return s[0]|s[1]|s[2]|s[3] == 0 }
func isSep(r rune) bool                  { return r == '/' || r == '\\' }
func (g *glob) String() string           { return g.src }
func (g *glob) accepts(s *stateSet) bool { return s.has(len(g.toks)) }

// compileGlob compiles a glob; it refuses an empty pattern, invalid UTF-8
// and patterns over 255 elements.
func compileGlob(p string) (*glob, error) {
	switch {
	case p == "":
		return nil, errors.New("empty glob")
	case !utf8.ValidString(p):
		return nil, errors.New("glob is not valid UTF-8")
	}
	g := &glob{src: p}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == '*' && strings.HasPrefix(p[i:], "**"):
			j := i + 2
			for j < len(p) && p[j] == '*' {
				j++ // "***" is "**"
			}
			atStart := i == 0 || isSep(rune(p[i-1]))
			if atStart && j < len(p) && isSep(rune(p[j])) {
				g.toks = append(g.toks, gtok{kind: gDStarSegs}, gtok{kind: gDStarLoop})
				j++
			} else {
				g.toks = append(g.toks, gtok{kind: gDStar})
			}
			i = j
			continue
		case r == '*':
			g.toks = append(g.toks, gtok{kind: gStar})
		case r == '?':
			g.toks = append(g.toks, gtok{kind: gAny1})
		case isSep(r):
			g.toks = append(g.toks, gtok{kind: gSep})
		default:
			g.toks = append(g.toks, gtok{kind: gLit, r: foldRune(r)})
		}
		i += n
	}
	if len(g.toks) > maxGlobTokens {
		return nil, errors.New("glob too long (at most 255 elements)")
	}
	return g, nil
}

// foldRune maps r to the smallest rune of its case-folding orbit, so that
// two runes are equal under strings.EqualFold exactly when their foldRune
// values are equal.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r // an upper-case ASCII letter is the least of its orbit
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// closure adds the states reachable without input (forward only, so one
// pass in order suffices).
func (g *glob) closure(s *stateSet) {
	for i, t := range g.toks {
		if !s.has(i) {
			continue
		}
		switch t.kind {
		case gStar, gDStar:
			s.add(i + 1)
		case gDStarSegs:
			s.add(i + 1)
			s.add(i + 2)
		}
	}
}

// step returns the states reached from s on rune r.
func (g *glob) step(s *stateSet, r rune) stateSet {
	var next stateSet
	fr := foldRune(r)
	sep := isSep(r)
	for w, word := range s {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			i := w<<6 | b
			if i >= len(g.toks) {
				continue
			}
			switch t := g.toks[i]; t.kind {
			case gLit:
				if fr == t.r {
					next.add(i + 1)
				}
			case gAny1:
				if !sep {
					next.add(i + 1)
				}
			case gStar:
				if !sep {
					next.add(i)
				}
			case gDStar:
				next.add(i)
			case gDStarLoop:
				next.add(i)
				if sep {
					next.add(i + 1)
				}
			case gSep:
				if sep {
					next.add(i + 1)
				}
			}
		}
	}
	g.closure(&next)
	return next
}

// match reports whether the concatenation of the parts matches the whole
// glob. It does not allocate.
func (g *glob) match(parts ...string) bool {
	var s stateSet
	s.add(0)
	g.closure(&s)
	for _, p := range parts {
		for _, r := range p {
			s = g.step(&s, r)
			if s.empty() {
				return false
			}
		}
	}
	return g.accepts(&s)
}
