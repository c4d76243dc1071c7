package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted replaces a secret in every rendering.
const redacted = "[redacted]"

// Secret is a password, token, key or connection string. Every way of
// printing it — fmt verbs, String, GoString, text, JSON and YAML encoding,
// slog — shows "[redacted]" (or "" when the secret is empty, so that "not
// set" stays visible). Only Reveal returns the value.
//
// The zero value is the empty secret. Secret is a string: safe for
// concurrent use.
type Secret string

// Reveal returns the secret itself. Call it only where the value is handed
// to the library that needs it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" for the empty secret.
func (s Secret) String() string { return s.shown() }

// GoString returns config.Secret("[redacted]"), for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// Format redacts the secret for every fmt verb, including %x and %q.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// LogValue returns the redacted string, so slog never logs the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalText returns the redacted string.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON returns the redacted string as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalYAML returns the redacted string.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }
