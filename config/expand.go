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
// '}' (not expanded again). used reports whether a ${…} reference was
// present. Every problem of the value is returned; the messages quote the
// reference, never a variable's value.
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
			i += 2 + end
			name, def, hasDef := ref, "", false
			if k := strings.Index(ref, ":-"); k >= 0 {
				name, def, hasDef = ref[:k], ref[k+2:], true
			}
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
