package urlcred

import (
	"slices"
	"testing"
)

func TestValues(t *testing.T) {
	tests := []struct {
		name, url string
		want      []string
	}{
		{"no credentials", "https://feeds.example/c2.txt?format=txt", nil},
		{"a password", "https://analyst:s3cr%40t@feeds.example/c2.txt", []string{"s3cr%40t", "s3cr@t"}},
		{"a user without a password", "https://analyst@feeds.example/c2.txt", nil},
		{"credential-like parameters", "https://x.example/hook?sv=1.0&sig=abc%2Bdef&api_key=k1&Auth-Key=k2&code=c3",
			[]string{"abc%2Bdef", "abc+def", "k1", "k2", "c3"}},
		{"a plus in a query value", "https://x.example/?token=a+b", []string{"a+b", "a b"}},
		{"an empty value", "https://x.example/?token=", nil},
		{"not a URL", "feeds/c2.txt", nil},
		{"no scheme", "x.example/?key=k", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Values(tt.url); !slices.Equal(got, tt.want) {
				t.Errorf("Values(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestIsParam(t *testing.T) {
	for name, want := range map[string]bool{"sig": true, "api_key": true, "Auth-Key": true, "password": true, "sv": false, "format": false, "page": false} {
		if got := IsParam(name); got != want {
			t.Errorf("IsParam(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://analyst:s3cret@feeds.example/c2.txt?format=txt&auth-key=k1": "https://analyst:[x]@feeds.example/c2.txt?format=txt&auth-key=[x]",
		"https://feeds.example/c2.txt":                                       "https://feeds.example/c2.txt",
		"feeds/c2.txt?key=k":                                                 "feeds/c2.txt?key=k",
	} {
		if got := Redact(in, "[x]"); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEchoes(t *testing.T) {
	got := Echoes("https://soar:pw@x.example/hook?sig=s1")
	want := []string{"pw", "s1", BasicAuth("soar", "pw")}
	if !slices.Equal(got, want) {
		t.Errorf("Echoes = %q, want %q", got, want)
	}
	if BasicAuth("soar", "pw") != "c29hcjpwdw==" {
		t.Errorf("BasicAuth = %q", BasicAuth("soar", "pw"))
	}
	if got := Echoes("https://x.example/?format=txt"); got != nil {
		t.Errorf("Echoes of a URL without credentials = %q", got)
	}
}
