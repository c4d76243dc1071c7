package match

import (
	"errors"
	"fmt"
	"strings"
)

// This file parses the STIX 2.1 patterning language (STIX 2.1 part 9) far
// enough to take out what iocwatch can match: equality on the value of an
// address, domain or URL, alone or joined by OR (inside one observation or
// across observations). Everything else is parsed, so that a well-formed
// pattern is never mistaken for a broken one, and reported as unsupported.

// stixTerm is one usable comparison: Path = 'Value'.
type stixTerm struct {
	Path  string // one of stixPaths
	Value string // the string literal, unescaped
}

// stixPattern is what a pattern gives: the usable alternatives and one
// reason for each alternative that is not usable.
type stixPattern struct {
	Terms       []stixTerm
	Unsupported []string // "stix pattern: file:hashes", "stix pattern: AND", …
}

// stixPaths are the object paths iocwatch matches, with the kind each
// value must be (an IP kind accepts a prefix; a domain kind an address or
// prefix too, which is what a network-traffic reference holds: an
// ipv4-addr, ipv6-addr or domain-name, never a URL).
var stixPaths = map[string]Kind{
	"ipv4-addr:value":               KindIP,
	"ipv6-addr:value":               KindIP,
	"domain-name:value":             KindDomain,
	"url:value":                     KindURL,
	"network-traffic:dst_ref.value": KindDomain,
	"network-traffic:src_ref.value": KindDomain,
}

// String formats the usable terms as a canonical pattern that
// stixParsePattern reads back to the same terms.
func (p stixPattern) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, t := range p.Terms {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(t.Path)
		b.WriteString(" = '")
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(t.Value))
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}

// stixParsePattern parses a STIX pattern. The error is for a pattern that
// is not well-formed; a well-formed pattern that iocwatch cannot use comes
// back with no Terms and the reasons in Unsupported.
func stixParsePattern(s string) (stixPattern, error) {
	toks, err := stixLex(s)
	if err != nil {
		return stixPattern{}, err
	}
	p := &stixParser{toks: toks}
	n, err := p.observations(0)
	if err != nil {
		return stixPattern{}, err
	}
	if t := p.peek(); t.kind != stkEOF {
		return stixPattern{}, fmt.Errorf("at offset %d: unexpected %s after the pattern", t.pos, t)
	}
	var out stixPattern
	seen := map[stixTerm]bool{}
	n.collect(&out, seen)
	return out, nil
}

// Tokens.

type stixTokKind uint8

const (
	stkEOF stixTokKind = iota
	stkLBrack
	stkRBrack
	stkLParen
	stkRParen
	stkComma
	stkOp     // = != < > <= >=
	stkWord   // keyword or bare literal: AND, OR, true, …
	stkPath   // object path: type:prop.sub[*].x
	stkString // '…', text unescaped
	stkTyped  // t'…', h'…', b'…'
	stkNumber // 12, -3.5
)

type stixTok struct {
	kind stixTokKind
	text string
	pos  int
}

func (t stixTok) String() string {
	switch t.kind {
	case stkEOF:
		return "end of pattern"
	case stkString:
		return fmt.Sprintf("string '%s'", t.text)
	default:
		return fmt.Sprintf("%q", t.text)
	}
}

func stixIsWordChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// stixQuoted reads a quoted literal starting at s[i] == '\” and returns
// its unescaped text and the index after the closing quote.
func stixQuoted(s string, i int) (string, int, error) {
	start := i
	i++
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("at offset %d: unterminated string", start)
			}
			if e := s[i+1]; e == '\\' || e == '\'' {
				b.WriteByte(e)
				i += 2
				continue
			}
			return "", 0, fmt.Errorf("at offset %d: invalid escape \\%c in string (only \\\\ and \\' are allowed)", i, s[i+1])
		case '\'':
			return b.String(), i + 1, nil
		}
		b.WriteByte(c)
		i++
	}
	return "", 0, fmt.Errorf("at offset %d: unterminated string", start)
}

func stixLex(s string) ([]stixTok, error) {
	var toks []stixTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '[':
			toks = append(toks, stixTok{stkLBrack, "[", i})
			i++
		case c == ']':
			toks = append(toks, stixTok{stkRBrack, "]", i})
			i++
		case c == '(':
			toks = append(toks, stixTok{stkLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, stixTok{stkRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, stixTok{stkComma, ",", i})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			if op == "!" {
				return nil, fmt.Errorf("at offset %d: '!' must be followed by '='", i)
			}
			toks = append(toks, stixTok{stkOp, op, i})
			i += len(op)
		case c == '\'':
			text, j, err := stixQuoted(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, stixTok{stkString, text, i})
			i = j
		case (c == 't' || c == 'h' || c == 'b') && i+1 < len(s) && s[i+1] == '\'':
			text, j, err := stixQuoted(s, i+1)
			if err != nil {
				return nil, err
			}
			toks = append(toks, stixTok{stkTyped, string(c) + "'" + text + "'", i})
			i = j
		case c == '-' || c == '+' || '0' <= c && c <= '9':
			j := i
			if c == '-' || c == '+' {
				j++
			}
			digits := j
			for j < len(s) && ('0' <= s[j] && s[j] <= '9' || s[j] == '.') {
				j++
			}
			if j == digits || j < len(s) && stixIsWordChar(s[j]) {
				return nil, fmt.Errorf("at offset %d: invalid number", i)
			}
			toks = append(toks, stixTok{stkNumber, s[i:j], i})
			i = j
		case stixIsWordChar(c):
			j := i
			for j < len(s) && stixIsWordChar(s[j]) {
				j++
			}
			if j < len(s) && s[j] == ':' {
				end, err := stixPathEnd(s, j+1)
				if err != nil {
					return nil, err
				}
				toks = append(toks, stixTok{stkPath, s[i:end], i})
				i = end
				continue
			}
			toks = append(toks, stixTok{stkWord, s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("at offset %d: unexpected character %q", i, c)
		}
	}
	toks = append(toks, stixTok{stkEOF, "", len(s)})
	return toks, nil
}

// stixPathEnd returns the end of the object path whose property part
// starts at s[i]: names, '.', quoted names, and list steps [*] or [n].
func stixPathEnd(s string, i int) (int, error) {
	start := i
	needName := true
	for i < len(s) {
		c := s[i]
		switch {
		case stixIsWordChar(c):
			for i < len(s) && stixIsWordChar(s[i]) {
				i++
			}
			needName = false
		case c == '\'' && needName:
			_, j, err := stixQuoted(s, i)
			if err != nil {
				return 0, err
			}
			i, needName = j, false
		case c == '.' && !needName:
			i++
			needName = true
		case c == '[' && !needName:
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return 0, fmt.Errorf("at offset %d: unclosed '[' in object path", i)
			}
			step := s[i+1 : i+j]
			if step != "*" && !ldAllDigits(step) {
				return 0, fmt.Errorf("at offset %d: list index must be * or a number", i)
			}
			i += j + 1
		default:
			if needName {
				return 0, fmt.Errorf("at offset %d: incomplete object path", i)
			}
			return i, nil
		}
	}
	if needName {
		return 0, fmt.Errorf("at offset %d: incomplete object path", start)
	}
	return i, nil
}

// Syntax tree.

type stixOp uint8

const (
	stixOr         stixOp = iota // alternatives (comparison or observation level)
	stixAnd                      // comparison AND
	stixObsAnd                   // observation AND
	stixFollowedBy               // observation FOLLOWEDBY
	stixQualified                // an observation with a qualifier
	stixCmp                      // a comparison
)

type stixNode struct {
	op   stixOp
	kids []*stixNode
	// stixCmp:
	path string
	neg  bool
	cmp  string    // "=", "!=", "<", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"
	vals []stixTok // one literal, or the set of IN
	// stixQualified:
	qual string
}

const stixMaxDepth = 64

type stixParser struct {
	toks []stixTok
	i    int
}

func (p *stixParser) peek() stixTok { return p.toks[p.i] }
func (p *stixParser) next() stixTok {
	t := p.toks[p.i]
	if t.kind != stkEOF {
		p.i++
	}
	return t
}

func (p *stixParser) isWord(w string) bool {
	t := p.peek()
	return t.kind == stkWord && strings.EqualFold(t.text, w)
}

func (p *stixParser) expect(k stixTokKind, what string) (stixTok, error) {
	t := p.next()
	if t.kind != k {
		return t, fmt.Errorf("at offset %d: expected %s, found %s", t.pos, what, t)
	}
	return t, nil
}

func stixJoin(op stixOp, a, b *stixNode) *stixNode {
	if a.op == op {
		a.kids = append(a.kids, b)
		return a
	}
	return &stixNode{op: op, kids: []*stixNode{a, b}}
}

// observations: obsOr (FOLLOWEDBY obsOr)*
func (p *stixParser) observations(depth int) (*stixNode, error) {
	if depth > stixMaxDepth {
		return nil, errors.New("pattern nested too deeply")
	}
	n, err := p.obsOr(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("FOLLOWEDBY") {
		p.next()
		m, err := p.obsOr(depth)
		if err != nil {
			return nil, err
		}
		n = stixJoin(stixFollowedBy, n, m)
	}
	return n, nil
}

// obsOr: obsAnd (OR obsAnd)*
func (p *stixParser) obsOr(depth int) (*stixNode, error) {
	n, err := p.obsAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.next()
		m, err := p.obsAnd(depth)
		if err != nil {
			return nil, err
		}
		n = stixJoin(stixOr, n, m)
	}
	return n, nil
}

// obsAnd: qualified (AND qualified)*
func (p *stixParser) obsAnd(depth int) (*stixNode, error) {
	n, err := p.qualified(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("AND") {
		p.next()
		m, err := p.qualified(depth)
		if err != nil {
			return nil, err
		}
		n = stixJoin(stixObsAnd, n, m)
	}
	return n, nil
}

// qualified: observation (qualifier)*
func (p *stixParser) qualified(depth int) (*stixNode, error) {
	var n *stixNode
	switch t := p.next(); t.kind {
	case stkLBrack:
		c, err := p.compOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(stkRBrack, "']'"); err != nil {
			return nil, err
		}
		n = c
	case stkLParen:
		o, err := p.observations(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(stkRParen, "')'"); err != nil {
			return nil, err
		}
		n = o
	default:
		return nil, fmt.Errorf("at offset %d: expected '[' or '(' to start an observation, found %s", t.pos, t)
	}
	for {
		switch {
		case p.isWord("WITHIN"):
			p.next()
			if _, err := p.expect(stkNumber, "a number of seconds"); err != nil {
				return nil, err
			}
			if t := p.next(); t.kind != stkWord || !strings.EqualFold(t.text, "SECONDS") {
				return nil, fmt.Errorf("at offset %d: expected SECONDS, found %s", t.pos, t)
			}
			n = &stixNode{op: stixQualified, kids: []*stixNode{n}, qual: "WITHIN"}
		case p.isWord("REPEATS"):
			p.next()
			if _, err := p.expect(stkNumber, "a repeat count"); err != nil {
				return nil, err
			}
			if t := p.next(); t.kind != stkWord || !strings.EqualFold(t.text, "TIMES") {
				return nil, fmt.Errorf("at offset %d: expected TIMES, found %s", t.pos, t)
			}
			n = &stixNode{op: stixQualified, kids: []*stixNode{n}, qual: "REPEATS"}
		case p.isWord("START"):
			p.next()
			if t := p.next(); t.kind != stkTyped || t.text[0] != 't' {
				return nil, fmt.Errorf("at offset %d: expected a timestamp t'…' after START, found %s", t.pos, t)
			}
			if t := p.next(); t.kind != stkWord || !strings.EqualFold(t.text, "STOP") {
				return nil, fmt.Errorf("at offset %d: expected STOP, found %s", t.pos, t)
			}
			if t := p.next(); t.kind != stkTyped || t.text[0] != 't' {
				return nil, fmt.Errorf("at offset %d: expected a timestamp t'…' after STOP, found %s", t.pos, t)
			}
			n = &stixNode{op: stixQualified, kids: []*stixNode{n}, qual: "START/STOP"}
		default:
			return n, nil
		}
	}
}

// compOr: compAnd (OR compAnd)*
func (p *stixParser) compOr(depth int) (*stixNode, error) {
	if depth > stixMaxDepth {
		return nil, errors.New("pattern nested too deeply")
	}
	n, err := p.compAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.next()
		m, err := p.compAnd(depth)
		if err != nil {
			return nil, err
		}
		n = stixJoin(stixOr, n, m)
	}
	return n, nil
}

// compAnd: test (AND test)*
func (p *stixParser) compAnd(depth int) (*stixNode, error) {
	n, err := p.test(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("AND") {
		p.next()
		m, err := p.test(depth)
		if err != nil {
			return nil, err
		}
		n = stixJoin(stixAnd, n, m)
	}
	return n, nil
}

// test: '(' compOr ')' | EXISTS path | path [NOT] op literal | path [NOT] IN '(' literal, … ')'
func (p *stixParser) test(depth int) (*stixNode, error) {
	t := p.next()
	switch {
	case t.kind == stkLParen:
		n, err := p.compOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(stkRParen, "')'"); err != nil {
			return nil, err
		}
		return n, nil
	case t.kind == stkWord && strings.EqualFold(t.text, "EXISTS"):
		path, err := p.expect(stkPath, "an object path after EXISTS")
		if err != nil {
			return nil, err
		}
		return &stixNode{op: stixCmp, path: path.text, cmp: "EXISTS"}, nil
	case t.kind == stkWord && strings.EqualFold(t.text, "NOT") && p.peek().kind == stkWord && strings.EqualFold(p.peek().text, "EXISTS"):
		p.next()
		path, err := p.expect(stkPath, "an object path after EXISTS")
		if err != nil {
			return nil, err
		}
		return &stixNode{op: stixCmp, path: path.text, cmp: "EXISTS", neg: true}, nil
	case t.kind != stkPath:
		return nil, fmt.Errorf("at offset %d: expected an object path (type:property), found %s", t.pos, t)
	}
	n := &stixNode{op: stixCmp, path: t.text}
	if p.isWord("NOT") {
		p.next()
		n.neg = true
	}
	op := p.next()
	switch {
	case op.kind == stkOp:
		n.cmp = op.text
	case op.kind == stkWord:
		switch w := strings.ToUpper(op.text); w {
		case "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
			n.cmp = w
		default:
			return nil, fmt.Errorf("at offset %d: expected a comparison operator, found %s", op.pos, op)
		}
	default:
		return nil, fmt.Errorf("at offset %d: expected a comparison operator, found %s", op.pos, op)
	}
	if n.cmp == "IN" {
		if _, err := p.expect(stkLParen, "'(' after IN"); err != nil {
			return nil, err
		}
		for {
			lit, err := p.literal()
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, lit)
			if p.peek().kind == stkComma {
				p.next()
				continue
			}
			if _, err := p.expect(stkRParen, "',' or ')' in the IN set"); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	n.vals = []stixTok{lit}
	return n, nil
}

func (p *stixParser) literal() (stixTok, error) {
	t := p.next()
	switch t.kind {
	case stkString, stkTyped, stkNumber:
		return t, nil
	case stkWord:
		if strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false") {
			return t, nil
		}
	}
	return t, fmt.Errorf("at offset %d: expected a literal value, found %s", t.pos, t)
}

// Evaluation.

// collect adds n's usable alternatives to out, and a reason for each
// alternative that is not usable.
func (n *stixNode) collect(out *stixPattern, seen map[stixTerm]bool) {
	switch n.op {
	case stixOr:
		for _, k := range n.kids {
			k.collect(out, seen)
		}
	case stixCmp:
		terms, reason := n.terms()
		if reason != "" {
			out.Unsupported = append(out.Unsupported, reason)
			return
		}
		for _, t := range terms {
			if !seen[t] {
				seen[t] = true
				out.Terms = append(out.Terms, t)
			}
		}
	case stixAnd:
		if v := n.typeQualified(); v != nil {
			v.collect(out, seen)
			return
		}
		out.Unsupported = append(out.Unsupported, "stix pattern: AND")
	case stixObsAnd:
		out.Unsupported = append(out.Unsupported, "stix pattern: AND")
	case stixFollowedBy:
		out.Unsupported = append(out.Unsupported, "stix pattern: FOLLOWEDBY")
	case stixQualified:
		out.Unsupported = append(out.Unsupported, "stix pattern: qualifier "+n.qual)
	}
}

// terms returns the usable comparisons of a comparison node, or why it is
// not usable.
func (n *stixNode) terms() ([]stixTerm, string) {
	if _, ok := stixPaths[n.path]; !ok {
		obj, prop, _ := strings.Cut(n.path, ":")
		if i := strings.IndexAny(prop, ".["); i >= 0 {
			prop = prop[:i]
		}
		return nil, "stix pattern: " + obj + ":" + prop
	}
	if n.neg {
		return nil, "stix pattern: NOT"
	}
	switch n.cmp {
	case "=", "IN":
	case "ISSUBSET":
		// "value ISSUBSET 'cidr'" is how STIX writes an address in a prefix.
		if !strings.HasPrefix(n.path, "ipv") {
			return nil, "stix pattern: operator ISSUBSET"
		}
	default:
		return nil, "stix pattern: operator " + n.cmp
	}
	terms := make([]stixTerm, 0, len(n.vals))
	for _, v := range n.vals {
		if v.kind != stkString {
			return nil, "stix pattern: non-string value"
		}
		terms = append(terms, stixTerm{Path: n.path, Value: v.text})
	}
	return terms, ""
}

// typeQualified reduces "X:ref.type = 'ipv4-addr' AND X:ref.value = 'v'"
// (how MISP writes an address) to its value comparison; nil when the AND
// is anything else.
func (n *stixNode) typeQualified() *stixNode {
	var value *stixNode
	var types []*stixNode
	for _, k := range n.kids {
		if k.op != stixCmp {
			return nil
		}
		switch {
		case strings.HasSuffix(k.path, ".value") || strings.HasSuffix(k.path, ":value"):
			if value != nil {
				return nil
			}
			value = k
		case strings.HasSuffix(k.path, ".type") && k.cmp == "=" && !k.neg && len(k.vals) == 1 && k.vals[0].kind == stkString:
			types = append(types, k)
		default:
			return nil
		}
	}
	if value == nil {
		return nil
	}
	base := strings.TrimSuffix(value.path, "value")
	for _, t := range types {
		if t.path != base+"type" {
			return nil
		}
		switch t.vals[0].text {
		case "ipv4-addr", "ipv6-addr", "domain-name":
		default:
			return nil
		}
	}
	return value
}
