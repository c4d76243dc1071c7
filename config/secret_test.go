package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

func TestSecretRedactsEveryRendering(t *testing.T) {
	const value = "hunter2-secret"
	s := Secret(value)
	holder := struct {
		Token Secret            `json:"token" yaml:"token"`
		Map   map[string]Secret `json:"map" yaml:"map"`
		Ptr   *Secret           `json:"ptr" yaml:"ptr"`
	}{s, map[string]Secret{"k": s}, &s}

	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("m", "secret", s, "holder", holder)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("m", "secret", s, "holder", holder)
	js, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yaml.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	text, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	renderings := map[string]string{
		"String":   s.String(),
		"GoString": s.GoString(),
		"%v":       fmt.Sprintf("%v", s),
		"%s":       fmt.Sprintf("%s", s),
		"%q":       fmt.Sprintf("%q", s),
		"%x":       fmt.Sprintf("%x", s),
		"%X":       fmt.Sprintf("%X", s),
		"%d":       fmt.Sprintf("%d", s),
		"%10.3s":   fmt.Sprintf("%10.3s", s),
		"%+v":      fmt.Sprintf("%+v", holder),
		"%#v":      fmt.Sprintf("%#v", holder),
		"Sprint":   fmt.Sprint(s, holder),
		"Errorf":   fmt.Errorf("bad %v", s).Error(),
		"json":     string(js),
		"yaml":     string(ym),
		"text":     string(text),
		"slog":     logBuf.String(),
		"LogValue": s.LogValue().String(),
		"Redacted()": func() string {
			c := Default()
			c.Metrics.BearerToken = s
			return c.Redacted()
		}(),
	}
	for name, r := range renderings {
		if strings.Contains(r, value) || strings.Contains(r, fmt.Sprintf("%x", value)) {
			t.Errorf("%s shows the secret: %s", name, r)
		}
		if !strings.Contains(r, "[redacted]") && name != "%x" && name != "%X" && name != "%10.3s" {
			t.Errorf("%s does not say [redacted]: %s", name, r)
		}
	}
	if got := fmt.Sprintf("%#v", s); got != `config.Secret("[redacted]")` {
		t.Errorf("%%#v = %s", got)
	}
	if got := s.Reveal(); got != value {
		t.Errorf("Reveal() = %q", got)
	}
}

func TestEmptySecretShowsEmpty(t *testing.T) {
	var s Secret
	if s.IsSet() || s.String() != "" || fmt.Sprint(s) != "" || s.Reveal() != "" {
		t.Errorf("empty secret: IsSet %v, String %q, Sprint %q", s.IsSet(), s.String(), fmt.Sprint(s))
	}
	js, _ := json.Marshal(s)
	if string(js) != `""` {
		t.Errorf("json = %s", js)
	}
}

func TestURLCredentialsFindsWhatRedactedHides(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"https://feeds.example/iocs.txt", nil},
		{"https://user@feeds.example/x", nil},
		{"https://Kd8Wq1Ys5Hc4@feeds.example/x", []string{"Kd8Wq1Ys5Hc4"}},
		{"https://alice:fake%40pw-1@feeds.example/x", []string{"fake%40pw-1", "fake@pw-1"}},
		{"https://feeds.example/x?auth-key=fake-k1&fmt=csv&code=fake+c2", []string{"fake-k1", "fake+c2", "fake c2"}},
		{"not a url ?key=x", nil},
		{"https://feeds.example/api/v1/9f86d081884c7d659a2feaa0c55ad015/ips.txt", []string{"9f86d081884c7d659a2feaa0c55ad015"}},
	}
	for _, tt := range tests {
		got := urlcred.Values(tt.url)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("urlcred.Values(%q) = %q, want %q", tt.url, got, tt.want)
		}
		// Every credential Redacted hides is listed.
		shown := redactURL(tt.url)
		for _, c := range got {
			if strings.Contains(shown, c) {
				t.Errorf("redactURL(%q) = %q still shows %q", tt.url, shown, c)
			}
		}
	}
}
