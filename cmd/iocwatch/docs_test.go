package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/exampleenv"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// docFiles are the Markdown files a user reads: README.md and every .md
// below docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// docLine is one line of a Markdown file, with whether it is inside a
// fenced code block.
type docLine struct {
	n      int
	text   string
	inCode bool
}

func readDocLines(t *testing.T, path string) []docLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docLine
	fence := ""
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			fence = trimmed[:3]
			out = append(out, docLine{i + 1, l, true})
			continue
		}
		if fence != "" && strings.HasPrefix(trimmed, fence) {
			fence = ""
			out = append(out, docLine{i + 1, l, true})
			continue
		}
		out = append(out, docLine{i + 1, l, fence != ""})
	}
	return out
}

var (
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpans  = regexp.MustCompile("`[^`]*`")
	mdHeading  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	linkText   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// slug is GitHub's anchor for a heading: lower case, punctuation other
// than '-' and '_' removed, spaces become '-'.
func slug(heading string) string {
	heading = linkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors lists the anchors a Markdown file defines: its headings'
// slugs (a repeated one numbered -1, -2, … as GitHub does) and explicit
// <a name> or <a id> tags.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range readDocLines(t, path) {
		if l.inCode {
			continue
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(l.text, -1) {
			out[m[1]] = true
		}
		m := mdHeading.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// TestDocLinksResolve checks every relative link of README.md and docs/:
// the file it names exists, and the anchor it names is a heading of that
// file (or of the same file for "#anchor").
func TestDocLinksResolve(t *testing.T) {
	cache := map[string]map[string]bool{}
	checked := 0
	for _, f := range docFiles(t) {
		for _, l := range readDocLines(t, f) {
			if l.inCode {
				continue
			}
			text := codeSpans.ReplaceAllString(l.text, "")
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				file, anchor, _ := strings.Cut(target, "#")
				path := f
				if file != "" {
					path = filepath.Join(filepath.Dir(f), filepath.FromSlash(file))
				}
				rel, _ := filepath.Rel(repoRoot, f)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", rel, l.n, target, file)
					continue
				}
				if anchor == "" || !strings.HasSuffix(path, ".md") {
					continue
				}
				if cache[path] == nil {
					cache[path] = anchors(t, path)
				}
				if !cache[path][anchor] {
					t.Errorf("%s:%d: link %q: no heading of %s has the anchor #%s", rel, l.n, target, filepath.Base(path), anchor)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d relative links found: is the link pattern broken?", checked)
	}
}

func TestDocLinkCheckerCatchesBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "a.md")
	if err := os.WriteFile(doc, []byte("# Top\n\n## The `human` line\n\n## Top\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := anchors(t, doc)
	for _, want := range []string{"top", "the-human-line", "top-1"} {
		if !got[want] {
			t.Errorf("anchors %v lack %q", got, want)
		}
	}
	if got["the-human-line-1"] || got["missing"] {
		t.Errorf("anchors %v hold anchors the file does not define", got)
	}
}

// commandFlags runs "iocwatch CMD -h" and returns the flags it lists.
func commandFlags(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", cmd, "-h")
	if code != exitOK {
		t.Fatalf("%s -h: exit %d: %s", cmd, code, stderr)
	}
	flags := map[string]bool{"h": true, "help": true}
	sc := bufio.NewScanner(strings.NewReader(stdout + stderr))
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = true
		}
	}
	if len(flags) < 3 {
		t.Fatalf("%s -h lists no flags:\n%s%s", cmd, stdout, stderr)
	}
	return flags
}

var (
	flagLine = regexp.MustCompile(`^  --?([a-z][a-z0-9-]*)`)
	// docCommand is "iocwatch CMD" followed by its arguments, up to the
	// end of a code span, a table cell or a shell comment.
	docCommand = regexp.MustCompile("iocwatch (run|replay|check|lookup|demo|hunt|gen|bench)((?: +[^ `|#]+)*)")
	docFlag    = regexp.MustCompile(`(?:^|[\s/\[(])--?([a-z][a-z0-9-]*)`)
)

// TestDocCommandsUseRealFlags checks every "iocwatch CMD --flag …" that
// README.md and docs/ show — in code blocks and inline — against the flags
// CMD -h lists: a user copying the command must not meet "flag provided
// but not defined".
func TestDocCommandsUseRealFlags(t *testing.T) {
	flags := map[string]map[string]bool{}
	seen := 0
	for _, f := range docFiles(t) {
		rel, _ := filepath.Rel(repoRoot, f)
		for _, l := range readDocLines(t, f) {
			for _, m := range docCommand.FindAllStringSubmatch(l.text, -1) {
				cmd := m[1]
				for _, fm := range docFlag.FindAllStringSubmatch(m[2], -1) {
					if flags[cmd] == nil {
						flags[cmd] = commandFlags(t, cmd)
					}
					seen++
					if !flags[cmd][fm[1]] {
						t.Errorf("%s:%d: iocwatch %s has no flag --%s: %s", rel, l.n, cmd, fm[1], strings.TrimSpace(m[0]))
					}
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d documented flags found: is the command pattern broken?", seen)
	}
}

// exampleEnv holds the variables the configuration examples need.
var exampleEnv = exampleenv.Vars

// TestExampleExclusionsDrawNoWarnings checks the exclusion rules of the
// configuration examples — inline and in their exclusions files — as
// `iocwatch check` does: an example a user copies must not teach a rule
// that check warns about (a process name alone, an expired rule, a range
// too broad). The date is fixed so that the examples' expiry dates do not
// make the test fail on a later day.
func TestExampleExclusionsDrawNoWarnings(t *testing.T) {
	for k, v := range exampleEnv {
		t.Setenv(k, v)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	matches, err := filepath.Glob(filepath.Join(repoRoot, "docs", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, path := range matches {
		if filepath.Base(path) == "exclusions.yaml" {
			continue // loaded through iocwatch.yaml's exclusions_files
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := compileExclusions(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ex == nil {
				return
			}
			rules++
			for _, w := range ex.Warnings(now) {
				t.Errorf("check warns about the example: %s", w)
			}
		})
	}
	if rules == 0 {
		t.Fatal("no example holds exclusion rules")
	}
}
