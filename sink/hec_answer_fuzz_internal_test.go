package sink

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHECAnswer checks how the sink reads a HEC answer body, which comes
// from the network (Splunk, or whatever sits at the URL: a proxy, a
// gateway, a peer echoing the request), for any body and token NewHEC
// accepts: readAnswer does not panic; it takes the body for HEC's answer
// exactly when encoding/json decodes it with a code, and then its detail
// starts with that code; the detail is one line of printable text of
// bounded length; and it holds neither the token (without the blanks
// around it, which no server reads as part of a header value) nor
// "Splunk <token>", however the body carries it — a peer may echo the
// request's Authorization header.
func FuzzHECAnswer(f *testing.F) {
	const tok = "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"
	for _, s := range []string{
		`{"text":"Success","code":0}`,
		`{"text":"Success","code":0,"ackId":7}`,
		`{"text":"Invalid data format","code":6,"invalid-event-number":3}`,
		`{"text":"Invalid token: Splunk ` + tok + `","code":4}`,
		`{"text":"Invalid token: Splunk 5d3c2b1a-hec0-4e5f-\n9a8b-7c6d5e4f3a2b","code":4}`,
		`{"text":"Server is busy","code":9}`,
		`{"CODE":"x"}`,
		"<html><body>502 Bad Gateway: you sent Authorization: Splunk " + tok + "</body></html>",
		strings.Repeat("x", 505) + "Splunk " + tok,
		"{\"text\":\"\\u2028\\u0000\xff\",\"code\":-1}",
		"",
	} {
		f.Add([]byte(s), tok)
	}
	f.Add([]byte(`{"text":"you sent Splunk a b c d\n","code":4}`), "a b c d")
	f.Add([]byte("you sent Splunk tok\ten"), "tok\ten")
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		h, err := NewHEC(HECOptions{URL: "https://splunk.example:8088/services/collector/event", Token: token})
		if err != nil {
			return // a token NewHEC refuses is never sent
		}
		r, isHEC, detail := h.readAnswer(body)

		var model hecResponse
		wantHEC := json.Unmarshal(body, &model) == nil && model.Code != nil
		if isHEC != wantHEC {
			t.Fatalf("readAnswer(%q): HEC's answer = %v, encoding/json says %v", body, isHEC, wantHEC)
		}
		if isHEC {
			if *r.Code != *model.Code {
				t.Fatalf("readAnswer(%q): code %d, encoding/json %d", body, *r.Code, *model.Code)
			}
			if want := "HEC code " + strconv.Itoa(*model.Code) + " "; !strings.HasPrefix(detail, want) {
				t.Fatalf("readAnswer(%q): detail %q does not start %q", body, detail, want)
			}
		}
		if !utf8.ValidString(detail) {
			t.Fatalf("readAnswer(%q): detail %q is not valid UTF-8", body, detail)
		}
		for _, c := range detail {
			if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' {
				t.Fatalf("readAnswer(%q): detail %q holds control character %U", body, detail, c)
			}
		}
		// 512 bytes of excerpt; or HEC's code, 200 bytes of text quoted
		// (at most 10 bytes a rune: \U0010ffff) and the event number.
		if len(detail) > 2200 {
			t.Fatalf("readAnswer(%q): detail is %d bytes", body, len(detail))
		}
		// The token without the blanks around it (as credentials takes
		// it: no server reads them as part of a header value); one
		// shorter than 4 bytes is not scrubbed: it would blank ordinary
		// words.
		for _, secret := range []string{strings.TrimSpace(token), "Splunk " + token} {
			if len(secret) < 4 {
				continue
			}
			if at := survivingSecret(detail, secret); at >= 0 {
				t.Fatalf("readAnswer(%q): detail %q shows the secret %q at byte %d", body, detail, secret, at)
			}
		}
	})
}

// survivingSecret returns where secret occurs in s without overlapping a
// "[redacted]" marker, or -1: a copy overlapping one is made of the text
// around the secret and the marker, and reveals nothing of it.
func survivingSecret(s, secret string) int {
	const marker = "[redacted]"
	for i := 0; i+len(secret) <= len(s); i++ {
		if s[i:i+len(secret)] != secret {
			continue
		}
		overlaps := false
		for j := max(0, i-len(marker)+1); j < i+len(secret) && j+len(marker) <= len(s); j++ {
			if s[j:j+len(marker)] == marker {
				overlaps = true
				break
			}
		}
		if !overlaps {
			return i
		}
	}
	return -1
}

// A peer's answer that carries the token in a form the sink's own
// handling turns back into the token — unquoted from JSON and quoted
// again, or a tab or newline made a space — does not show it either.
func TestHECAnswerNeverShowsTheTokenItRebuilds(t *testing.T) {
	for _, tc := range []struct {
		name, token, body string
	}{
		{"echoed unescaped into HEC's JSON text, requoted", `ab\"cd`, `{"text":"you sent Splunk ab\"cd","code":4}`},
		{"echoed into HEC's JSON text with a newline for its space", "ab cd-ef", `{"text":"you sent Splunk ab\ncd-ef","code":4}`},
		{"echoed in a proxy's page with a tab for its space", "ab cd-ef", "<p>you sent Splunk ab\tcd-ef</p>"},
		{"echoed in a proxy's page with two spaces for one", "ab cd-ef", "<p>you sent Splunk ab  cd-ef</p>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHEC(HECOptions{URL: "https://splunk.example:8088/services/collector/event", Token: tc.token})
			if err != nil {
				t.Fatal(err)
			}
			_, _, detail := h.readAnswer([]byte(tc.body))
			if strings.Contains(detail, tc.token) || !strings.Contains(detail, "[redacted]") {
				t.Errorf("readAnswer(%q) = %q: the token %q shown, or nothing redacted", tc.body, detail, tc.token)
			}
		})
	}
}

// A webhook peer's answer and status line are shown scrubbed of the
// sink's credentials after they are sanitised too: a tab, a newline or a
// run of spaces made one space does not rebuild a credential holding a
// space.
func TestPeerExcerptsNeverShowACredentialTheyRebuild(t *testing.T) {
	secrets := credentials("ApiKey ab cd-ef")
	for _, text := range []string{"you sent ApiKey ab\tcd-ef", "you sent ab\ncd-ef", "you sent ab   cd-ef", "ab\r\ncd-ef"} {
		for what, got := range map[string]string{
			"body excerpt": readExcerpt(strings.NewReader(text), secrets),
			"status line":  statusText(&http.Response{Status: "401 " + text}, secrets),
		} {
			if strings.Contains(got, "ab cd-ef") || !strings.Contains(got, "[redacted]") {
				t.Errorf("%s of %q = %q: the credential shown, or nothing redacted", what, text, got)
			}
		}
	}
}
