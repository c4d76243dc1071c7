package ops_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/stream"
)

// chromiumBinary returns Debian's headless-capable Chromium, skipping the
// test when it is missing — unless CI is "true", where it must be there
// (scripts/setup-test-deps installs it).
func chromiumBinary(t *testing.T) string {
	t.Helper()
	const path = "/usr/bin/chromium"
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing: run scripts/setup-test-deps", path)
	}
	t.Skipf("%s is missing (scripts/setup-test-deps installs it)", path)
	return ""
}

// chromium runs headless Chromium with args and returns its standard
// output.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// artifactDir is where test artifacts go: $IOCWATCH_ARTIFACTS, else a
// temporary directory.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("IOCWATCH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func TestStatusPageInABrowserShowsTheWatchersNumbers(t *testing.T) {
	bin := chromiumBinary(t)
	rules, inds := loadSampleRules(t)
	sample := filepath.Join("testdata", "sample-events.jsonl")
	generated, genRecords := writeGenerated(t, inds, 800)
	src, err := stream.NewFileSource(stream.FileOptions{Paths: []string{sample, generated}, BatchLines: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	w := newWatcher(t, src, "file", rules, inds)
	w.runToEnd(t)
	srv, err := ops.Serve("127.0.0.1:0", w.mon.Handler(ops.Auth{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	url := "http://" + srv.Addr() + "/"

	doc := parseDOM(t, chromium(t, bin, "--dump-dom", url))
	st := w.p.Stats()
	delivered := w.deliveredAlerts()
	excluded := st.ExcludedByRule()
	var excludedSum int64
	for _, n := range excluded {
		excludedSum += n
	}
	sinkStats := w.fan.SinkStats()
	supp := w.sup.Counts()
	wantRecords := countRecords(t, sample) + genRecords
	if len(delivered) < 60 || len(excluded) == 0 {
		t.Fatalf("the run gave %d alerts and %d exclusion rules firing: too few to check the page", len(delivered), len(excluded))
	}

	numbers := []struct {
		name, id string
		want     int64
	}{
		{"records read are every record of both files", "records-total", wantRecords},
		{"records read agree with the pipeline", "records-total", st.Records.Load()},
		{"alerts are those the pipeline delivered", "alerts-total", int64(len(delivered))},
		{"indicator hits agree with the pipeline", "matches-total", st.Hits.Load()},
		{"excluded hits are the sum over the rules", "excluded-total", excludedSum},
		{"decode errors agree with the pipeline", "decode-errors-total", st.DecodeErrors.Load()},
		{"nothing is left in flight at the end", "in-flight-total", 0},
		{"the indicator total is the feed's", "indicators-total", int64(len(inds))},
		{"suppressed repeats agree with the suppressor", "suppressed-repeats", int64(supp.Repeats)},
		{"alerts seen are every alert delivered", "alerts-seen", int64(len(delivered))},
	}
	for _, n := range numbers {
		t.Run(n.name, func(t *testing.T) {
			if got := intOf(t, text(byID(t, doc, n.id))); got != n.want {
				t.Errorf("#%s shows %d, want %d", n.id, got, n.want)
			}
		})
	}
	t.Run("indicators are counted by kind", func(t *testing.T) {
		byKind := map[string]int64{}
		for _, ind := range inds {
			byKind[ind.Kind.String()]++
		}
		for _, k := range []string{"ip", "cidr", "domain", "url", "pattern"} {
			if got := intOf(t, text(byID(t, doc, "indicators-"+k))); got != byKind[k] {
				t.Errorf("%s: page %d, feed %d", k, got, byKind[k])
			}
		}
	})
	t.Run("throughput is the records over the two seconds between samples", func(t *testing.T) {
		got, err := strconv.ParseFloat(strings.ReplaceAll(text(byID(t, doc, "records-per-second")), ",", ""), 64)
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(wantRecords) / 2; got < want-0.05 || got > want+0.05 {
			t.Errorf("records/s %v, want %v", got, want)
		}
	})
	t.Run("the watcher is ready although a best-effort sink fails", func(t *testing.T) {
		if got := text(byID(t, doc, "state")); got != "READY" {
			t.Errorf("state %q", got)
		}
	})
	t.Run("every exclusion firing is listed with its count, most first", func(t *testing.T) {
		rows := findAll(doc, func(n *html.Node) bool { return attr(n, "data-rule") != "" })
		if len(rows) != min(len(excluded), ops.MaxExclusionRows) {
			t.Fatalf("%d rows, want %d", len(rows), len(excluded))
		}
		prev := int64(-1)
		for _, r := range rows {
			rule := attr(r, "data-rule")
			cells := findAll(r, func(n *html.Node) bool { return n.Data == "td" })
			got := intOf(t, text(cells[len(cells)-1]))
			if got != excluded[rule] {
				t.Errorf("rule %s: page %d, pipeline %d", rule, got, excluded[rule])
			}
			if prev >= 0 && got > prev {
				t.Errorf("rule %s (%d) listed after a rule with fewer (%d)", rule, got, prev)
			}
			prev = got
		}
	})
	t.Run("sinks show their counters and health", func(t *testing.T) {
		for _, s := range sinkStats {
			row := findAll(doc, func(n *html.Node) bool { return attr(n, "data-sink") == s.Name })
			if len(row) != 1 {
				t.Fatalf("sink %s: %d rows", s.Name, len(row))
			}
			acc := intOf(t, text(findAll(row[0], hasClass("sink-accepted"))[0]))
			errs := intOf(t, text(findAll(row[0], hasClass("sink-errors"))[0]))
			if acc != int64(s.Accepted) || errs != int64(s.Failed) {
				t.Errorf("sink %s: page accepted %d errors %d, fan %d %d", s.Name, acc, errs, s.Accepted, s.Failed)
			}
			state := text(findAll(row[0], hasClass("pill"))[0])
			if want := map[string]string{"alerts-file": "accepting", "chat": "failing"}[s.Name]; state != want {
				t.Errorf("sink %s: state %q, want %q", s.Name, state, want)
			}
		}
		if n := int64(w.fileAlerts(t)); n != int64(sinkStats[0].Accepted) || n != int64(len(delivered))-int64(supp.Repeats+supp.Duplicates) {
			t.Errorf("the alerts file holds %d lines; the page says %d accepted; delivered %d − suppressed %d",
				n, sinkStats[0].Accepted, len(delivered), supp.Repeats+supp.Duplicates)
		}
	})
	t.Run("the last alerts are the last delivered, newest first", func(t *testing.T) {
		rows := findAll(doc, hasClass("alert"))
		if len(rows) != min(len(delivered), ops.DefaultRecentAlerts) {
			t.Fatalf("%d rows, want %d", len(rows), ops.DefaultRecentAlerts)
		}
		for i, r := range rows {
			a := delivered[len(delivered)-1-i]
			dev := text(findAll(r, hasClass("device"))[0])
			ind := text(findAll(r, hasClass("indicator"))[0])
			if dev != a.DeviceName || !strings.Contains(ind, a.Indicator.Value) {
				t.Errorf("row %d: %q %q, want %q %q", i, dev, ind, a.DeviceName, a.Indicator.Value)
			}
		}
	})
	t.Run("the feed is fresh", func(t *testing.T) {
		row := findAll(doc, func(n *html.Node) bool { return attr(n, "data-feed") == "sample" })
		if len(row) != 1 || !strings.Contains(text(row[0]), "ok") {
			t.Errorf("feed row: %d rows", len(row))
		}
	})

	t.Run("hide=1 shows no device or account name", func(t *testing.T) {
		hidden := parseDOM(t, chromium(t, bin, "--dump-dom", url+"?hide=1"))
		page := text(hidden)
		for _, a := range delivered {
			if strings.Contains(page, a.DeviceName) {
				t.Fatalf("device %q on the hidden page", a.DeviceName)
			}
		}
		rows := findAll(hidden, hasClass("alert"))
		if len(rows) == 0 {
			t.Fatal("no alert rows")
		}
		for i, r := range rows {
			a := delivered[len(delivered)-1-i]
			dev, acct := text(findAll(r, hasClass("device"))[0]), text(findAll(r, hasClass("account"))[0])
			if dev != "hidden" || (acct != "hidden" && !(acct == "" && a.AccountName == "")) {
				t.Errorf("row %d: device %q, account %q", i, dev, acct)
			}
		}
	})

	t.Run("a screenshot is kept", func(t *testing.T) {
		shot := filepath.Join(artifactDir(t), "status-page.png")
		chromium(t, bin, "--screenshot="+shot, "--window-size=1280,900", "--hide-scrollbars", url)
		data, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 10_000 {
			t.Fatalf("%s is not a PNG of a rendered page (%d bytes)", shot, len(data))
		}
		t.Logf("screenshot: %s", shot)
	})
}

func parseDOM(t *testing.T, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	if n.Type != html.ElementNode {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(c string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		for _, f := range strings.Fields(attr(n, "class")) {
			if f == c {
				return true
			}
		}
		return false
	}
}

func findAll(root *html.Node, pred func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && pred(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	found := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id })
	if len(found) != 1 {
		t.Fatalf("%d elements with id %q", len(found), id)
	}
	return found[0]
}

// text is the visible text of n, spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func intOf(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
