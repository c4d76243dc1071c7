package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The feed file of a running watcher is replaced, mid-stream, by content
// that is not a feed: binary junk, an HTML login page, an empty file, a
// file whose every line is refused. Each time the watcher keeps its last
// good indicators and says so in its log, and the stream goes on: every
// planted hit — before, during and after — is alerted.
func TestAFeedReplacedByGarbageMidStreamKeepsTheLastGoodIndicators(t *testing.T) {
	good, err := os.ReadFile(assetPath(t, "sample-feed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	feedDir := t.TempDir()
	feedPath := filepath.Join(feedDir, "c2.txt")
	if err := os.WriteFile(feedPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	box := &alertBox{}
	srv := webhookReceiver(t, box, nil)
	sc := startStreamScenarioWithFeed(t, feedPath, fmt.Sprintf(`  - name: soar
    type: webhook
    webhook: {url: "%s/alerts", batch: true}`, srv.URL), 31)
	faultWait(t, 20*time.Second, "the first alerts", func() (bool, string) { n := len(box.all()); return n >= 20, fmt.Sprint(n) })

	replace := func(content []byte) {
		t.Helper()
		tmp := filepath.Join(feedDir, ".c2.txt.tmp")
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, feedPath); err != nil {
			t.Fatal(err)
		}
	}
	garbage := []struct {
		name    string
		content []byte
	}{
		{"binary junk", []byte("\x00\x01\x02\xff\xfe PK\x03\x04 \x89PNG\r\n\x1a\n" + strings.Repeat("\xde\xad\xbe\xef", 256))},
		{"an HTML login page", []byte("<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><form action=/login><input name=user></form></body></html>\n")},
		{"an empty file", nil},
		{"a file whose every line is refused", []byte("10.0.0.0/8\ncom\n0.0.0.0/0\n")},
	}
	for _, g := range garbage {
		before := len(box.all())
		logBefore := len(sc.w.stderr.String())
		replace(g.content)
		faultWait(t, 10*time.Second, "the watcher to read "+g.name, func() (bool, string) {
			tail := sc.w.stderr.String()[logBefore:]
			return strings.Contains(tail, "feed=sample") && (strings.Contains(tail, "level=WARN") || strings.Contains(tail, "level=ERROR")), "no warning about the feed yet"
		})
		time.Sleep(time.Second) // the stream goes on, on the old indicators
		if len(box.all()) == before {
			t.Errorf("no alert in the second after the feed became %s: the indicators were dropped", g.name)
		}
		if sc.w.exited() {
			t.Fatalf("the watcher exited after the feed became %s", g.name)
		}
		t.Logf("after %s: %s", g.name, strings.TrimSpace(lastLine(sc.w.stderr.String()[logBefore:], "feed=sample")))
	}
	replace(good)
	time.Sleep(time.Second)
	stopped := time.Now()
	sc.finish(t, box, 25*time.Second)
	r := checkAlerts(t, sc.ps, box.all())
	t.Logf("FAULT feed replaced by 4 kinds of garbage mid-stream; caught up %s after the stream stopped: %d messages (%d records), %d planted hits, %d alerts, %d unique, %d duplicates, %d missing",
		time.Since(stopped).Round(time.Millisecond), sc.ps.messages, sc.ps.records, r.planted, r.alerts, r.unique, r.duplicates, r.missing)
}

// lastLine returns the last line of s holding sub.
func lastLine(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}
