package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll drains a source, releasing each batch once read, and returns
// "position value" lines.
func readAll(t *testing.T, src Source) []string { return drain(t, src, false) }

// readHeld is readAll keeping every batch until the last was read (so a
// file's blocks must stay intact while batches hold them).
func readHeld(t *testing.T, src Source) []string { return drain(t, src, true) }

func drain(t *testing.T, src Source, hold bool) []string {
	t.Helper()
	var out []string
	var held []Batch
	for n := 0; ; n++ {
		b, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Messages) == 0 {
			t.Errorf("batch %d is empty", n)
		}
		held = append(held, b)
		if !hold {
			out = releaseAll(out, held)
			held = held[:0]
		}
	}
	return releaseAll(out, held)
}

// releaseAll appends the messages of batches to out, then releases them.
func releaseAll(out []string, batches []Batch) []string {
	for _, b := range batches {
		for _, m := range b.Messages {
			out = append(out, messageLine(m))
		}
	}
	for _, b := range batches {
		if b.Release != nil {
			b.Release()
		}
	}
	return out
}

// messageLine is "position value", with " ERR" for a framing error.
func messageLine(m Message) string {
	s := m.Position.String() + " " + string(m.Value)
	if m.Err != nil {
		s += " ERR"
	}
	return s
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileSourceReadsLinesWithTheirNumbersAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", "{\"a\":1}\r\n\r\n{\"a\":2}\n   \n{\"a\":3}")
	b := writeFile(t, dir, "b.jsonl", "{\"b\":1}\n")
	src, err := NewFileSource(FileOptions{Paths: []string{a, b}, BatchLines: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, src)
	want := []string{a + `:1 {"a":1}`, a + `:3 {"a":2}`, a + `:5 {"a":3}`, b + `:1 {"b":1}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Names renames a file in its messages' positions; files it does not hold
// keep their paths.
func TestFileSourceNamesFilesAsTold(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", "{\"a\":1}\n")
	b := writeFile(t, dir, "b.jsonl", "{\"b\":1}\n")
	src, err := NewFileSource(FileOptions{Paths: []string{a, b}, Names: map[string]string{a: "shipped.jsonl"}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(readAll(t, src), "\n")
	if want := "shipped.jsonl:1 {\"a\":1}\n" + b + `:1 {"b":1}`; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestFileSourceReadsLinesLongerThanItsBuffer(t *testing.T) {
	long := `{"x":"` + strings.Repeat("y", 600<<10) + `"}`
	p := writeFile(t, t.TempDir(), "long.jsonl", long+"\n{}\n")
	src, err := NewFileSource(FileOptions{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, src)
	if len(got) != 2 || len(got[0]) != len(p)+3+len(long) {
		t.Fatalf("got %d messages, first %d bytes", len(got), len(got[0]))
	}
}

func TestFileSourceReadsStdin(t *testing.T) {
	src, err := NewFileSource(FileOptions{Stdin: strings.NewReader("{}\n{}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); len(got) != 2 || !strings.HasPrefix(got[1], "stdin:2 ") {
		t.Errorf("got %q", got)
	}
}

func TestFileSourceNamesAMissingFile(t *testing.T) {
	_, err := NewFileSource(FileOptions{Paths: []string{"no/such/events.jsonl"}})
	if err == nil || !strings.Contains(err.Error(), "no/such/events.jsonl") {
		t.Fatalf("error %v does not name the file", err)
	}
	if _, err := NewFileSource(FileOptions{Format: "xml"}); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

func TestFileSourceDetectsAnAdvancedHuntingCSVExport(t *testing.T) {
	csv := "Timestamp,DeviceName,ActionType,RemoteIP,RemotePort,RemoteUrl,Protocol,ReportId\r\n" +
		"2026-11-26T09:13:58.12Z,ws-1,ConnectionSuccess,203.0.113.7,443,,Tcp,42\r\n"
	p := writeFile(t, t.TempDir(), "export.csv", csv)
	src, err := NewFileSource(FileOptions{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, src)
	if len(got) != 1 {
		t.Fatalf("got %q", got)
	}
	var d Decoder
	events, errs := d.Decode([]byte(strings.SplitN(got[0], " ", 2)[1]), nil)
	if len(errs) > 0 || len(events) != 1 || events[0].RemoteIP.String() != "203.0.113.7" || events[0].ReportID != 42 {
		t.Fatalf("the CSV row did not decode: %+v %v", events, errs)
	}
}

func TestFileSourceFollowsAGrowingFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "live.jsonl", "{\"n\":1}\n{\"n\":")
	src, err := NewFileSource(FileOptions{Paths: []string{p}, Follow: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := src.Read(ctx)
	if err != nil || len(b.Messages) != 1 {
		t.Fatalf("first read: %v %d", err, len(b.Messages))
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("2}\n")
		f.Close()
	}()
	b, err = src.Read(ctx)
	if err != nil || len(b.Messages) != 1 || string(b.Messages[0].Value) != `{"n":2}` || b.Messages[0].Position.Offset != 2 {
		t.Fatalf("followed read: %v %+v", err, b.Messages)
	}
	src.Close(context.Background())
	if _, err := src.Read(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("read after Close: %v", err)
	}
}

// A followed file that is rotated (renamed away, a new one created in its
// place: logrotate) or truncated (copytruncate) is read again from the
// start of what its path names, as tail -F does; nothing written to the
// old file before the switch is lost, and a line left without its newline
// is delivered as it is.
func TestFileSourceFollowsRotationAndTruncation(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "live.jsonl", "{\"a\":1}\n")
	src, err := NewFileSource(FileOptions{Paths: []string{p}, Follow: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	readUntil := func(want int) {
		t.Helper()
		for len(got) < want {
			b, err := src.Read(ctx)
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			got = releaseAll(got, []Batch{b})
		}
	}
	appendTo := func(path, text string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	readUntil(1)

	// Rotation: the old file gets a last line and a line without its
	// newline, is renamed, and a new file takes the path.
	appendTo(p, "{\"a\":2}\n{\"a\":3}")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(p, "{\"b\":1}\n")
	readUntil(4)

	// Truncation, then new lines, fewer than were read (more, between two
	// polls, would look like growth: tail -F cannot tell either).
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(p, "{}\n")
	readUntil(5)

	want := []string{p + `:1 {"a":1}`, p + `:2 {"a":2}`, p + `:3 {"a":3}`, p + `:1 {"b":1}`, p + `:1 {}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The messages of a JSON-lines source must be exactly what a plain split
// of the input says, whatever the batch limits and however the reader
// hands out its bytes: every line once, in order, with its number, CR and
// LF trimmed, blank lines skipped, long lines cut to MaxLineBytes.
func TestFileSourceLinesAgreeWithAPlainSplit(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // longer than the bufio buffer
	inputs := map[string]string{
		"plain":            "a\nb\nc\n",
		"no final newline": "a\nb\nc",
		"CRLF and blanks":  "a\r\n\r\n  \nb\r\r\n\n\nc",
		"long lines":       "a\n" + long + "\nb\n" + long,
		"many small lines": strings.Repeat("{\"k\":1}\n", 5000) + "tail",
		"empty":            "",
	}
	want := func(in string, maxLine int) []string {
		var out []string
		if in == "" {
			return nil
		}
		lines := strings.Split(in, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		for i, l := range lines {
			v := strings.TrimRight(l, "\r")
			suffix := ""
			if maxLine > 0 && len(v) > maxLine {
				v, suffix = v[:maxLine], " ERR"
			}
			if suffix == "" && strings.TrimSpace(v) == "" {
				continue
			}
			out = append(out, fmt.Sprintf("stdin:%d %s%s", i+1, v, suffix))
		}
		return out
	}
	readers := map[string]func(string) io.Reader{
		"whole":         func(s string) io.Reader { return strings.NewReader(s) },
		"one byte":      func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":          func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"data with EOF": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
	}
	limits := []struct{ lines, bytes, maxLine int }{
		{1024, 1 << 20, 1 << 20},
		{1, 1 << 20, 1 << 20},
		{3, 1 << 20, 1 << 20},
		{1024, 10, 1 << 20},
		{7, 4096, 100 << 10},
		{1024, 1 << 20, -1},
	}
	for name, in := range inputs {
		for rname, rd := range readers {
			if rname == "one byte" && len(in) > 100_000 {
				continue // slow, and "half" covers short reads
			}
			for _, lim := range limits {
				t.Run(fmt.Sprintf("%s/%s/%+v", name, rname, lim), func(t *testing.T) {
					src, err := NewFileSource(FileOptions{Paths: []string{"-"}, Format: "jsonl", Stdin: rd(in),
						BatchLines: lim.lines, BatchBytes: lim.bytes, MaxLineBytes: lim.maxLine})
					if err != nil {
						t.Fatal(err)
					}
					got := readAll(t, src)
					w := want(in, lim.maxLine)
					if len(got) != len(w) {
						t.Fatalf("%d messages, want %d", len(got), len(w))
					}
					for i := range got {
						if got[i] != w[i] {
							t.Fatalf("message %d = %.80q, want %.80q", i, got[i], w[i])
						}
					}
				})
			}
		}
	}
}

// A malformed row of a CSV export reaches the pipeline with its position
// (file and line, once: not again in the error) and what is known of its
// text, for the dead-letter file; the rows after it are read. So in a
// compressed export, whose damage ends it (a malformed row is not taken
// for damage).
func TestFileSourcePassesAMalformedCSVRowOnWithItsText(t *testing.T) {
	export := "Timestamp,DeviceName,RemoteIP\n2026-11-28T10:00:00Z,ws1\n2026-11-28T10:00:01Z,\"ws2,203.0.113.77\n2026-11-28T10:00:02Z,ws3,203.0.113.77\n"
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"x.csv", []byte(export)},
		{"x.csv.gz", gzipped(t, []byte(export))},
		{"x.csv.zst", zstded(t, []byte(export))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tc.name, string(tc.data))
			src, err := NewFileSource(FileOptions{Paths: []string{p}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close(context.Background())
			b, err := src.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Release()
			var got []string
			for _, m := range b.Messages {
				s := m.Position.String() + " " + string(m.Value)
				if m.Err != nil {
					s += " ERR " + m.Err.Error()
				}
				got = append(got, s)
			}
			want := []string{
				p + ":2 2026-11-28T10:00:00Z,ws1 ERR malformed CSV row: 2 fields, the header has 3",
				p + `:3 2026-11-28T10:00:01Z,"ws2,203.0.113.77 ERR malformed CSV row: the quote opened on line 3 is never closed`,
				p + `:4 {"Table":"DeviceNetworkEvents","Timestamp":"2026-11-28T10:00:02Z","DeviceName":"ws3","RemoteIP":"203.0.113.77"}`,
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if _, err := src.Read(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("the Read after the rows: %v, want io.EOF", err)
			}
		})
	}
}
