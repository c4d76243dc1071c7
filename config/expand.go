package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand applies the environment rules to one scalar value:
//
//	${NAME}          the variable's value; an unset variable is an error
//	${NAME:-default} the value, or default when the variable is unset or empty
//	$$               one literal '$' (so $${ is a literal "${")
//	$anything else   literal, as written ($ConnectionString, $Default)
//
// NAME is [A-Za-z_][A-Za-z0-9_]*; default is literal text up to the first
// '}' (not expanded again), and may not hold "${": ${A:-${B}} is an error.
// used reports whether a ${…} reference was present. Every problem of the
// value is returned; the messages quote the reference, never a variable's
// value.
func expand(s string, lookup func(string) (string, bool)) (out string, used bool, errs []error) {
	if !strings.Contains(s, "$") {
		return s, false, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			used = true
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, errors.New("unterminated ${ reference: close it with '}', or write $${ for a literal ${"))
				return b.String(), used, errs
			}
			ref := s[i+2 : i+2+end]
			name, def, hasDef := ref, "", false
			if k := strings.Index(ref, ":-"); k >= 0 {
				name, def, hasDef = ref[:k], ref[k+2:], true
			}
			if hasDef && strings.Contains(def, "${") {
				// ${A:-${B}} would end at the first '}' and keep the
				// second: refuse it rather than give "${B}" or "value}".
				errs = append(errs, errors.New("a default cannot hold a ${…} reference: defaults are literal text and end at the first '}', so ${A:-${B}} does not work"))
				i = closingBrace(s, i+2) // past the whole reference
				continue
			}
			i += 2 + end
			if !validEnvName(name) {
				errs = append(errs, errors.New("bad ${…} reference: write ${NAME} or ${NAME:-default}, NAME of letters, digits and '_' not starting with a digit (or $${ for a literal ${)"))
				continue
			}
			v, ok := lookup(name)
			switch {
			case hasDef && v == "":
				b.WriteString(def)
			case ok:
				b.WriteString(v)
			default:
				errs = append(errs, fmt.Errorf("environment variable %s is not set (write ${%s:-} to allow it empty)", name, name))
			}
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), used, errs
}

// closingBrace returns the index of the '}' that closes the reference
// whose text starts at s[from], counting the ${ nested in it; the last
// index of s when it is not closed.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return len(s) - 1
}

// escapeDollars is the inverse of expand for a literal string: it writes
// "$$" for a '$' that expand would otherwise read as "$$" or "${".
func escapeDollars(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '$' && i+1 < len(s) && (s[i+1] == '$' || s[i+1] == '{') {
			b.WriteByte('$')
		}
	}
	return b.String()
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
