package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// recordLines returns n JSON lines of records, each with a random URL
// path, so that they do not compress to nothing.
func recordLines(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b []byte
	for i := range n {
		u := fmt.Sprintf("http://h%d.example/%016x%016x", i%97, rng.Uint64(), rng.Uint64())
		b = append(b, record(i, fmt.Sprintf("198.51.%d.%d", i/256%256, i%256), u, "x.exe", `c:\x.exe`)...)
		b = append(b, '\n')
	}
	return b
}

func gzipped(t *testing.T, members ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, m := range members {
		w := gzip.NewWriter(&b)
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func zstded(t *testing.T, frames ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range frames {
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// A gzip or zstd file — an archived stream or CSV export, UTF-16 inside
// or not — gives the messages, line numbers and events of the plain file,
// from a path (read, not mapped) and from stdin, whatever the format
// option.
func TestFileSourceReadsCompressedFilesAsThePlainOnes(t *testing.T) {
	csvExport, err := os.ReadFile("testdata/csv/network_export.csv")
	if err != nil {
		t.Fatal(err)
	}
	jsonl := append(recordLines(3000), "{\"broken\":\n\n"...)
	jsonl = append(jsonl, recordLines(5)...)
	for _, tc := range []struct {
		name   string
		plain  []byte
		format string
	}{
		{"events.jsonl", jsonl, "auto"},
		{"events.jsonl", jsonl, "jsonl"},
		{"export.csv", csvExport, "auto"},
		{"export.csv", csvExport, "csv"},
	} {
		dir := t.TempDir()
		orig := filepath.Join(dir, tc.name)
		if err := os.WriteFile(orig, tc.plain, 0o600); err != nil {
			t.Fatal(err)
		}
		want := sourceText(t, FileOptions{Paths: []string{orig}, Format: tc.format}, orig)
		if len(want) < 2 {
			t.Fatalf("%s: only %d messages from the plain file", tc.name, len(want))
		}
		variants := map[string][]byte{
			".gz":           gzipped(t, tc.plain),
			".gz (members)": gzipped(t, tc.plain[:len(tc.plain)/3], tc.plain[len(tc.plain)/3:]),
			".zst":          zstded(t, tc.plain),
			".zst (frames)": zstded(t, tc.plain[:len(tc.plain)/3], tc.plain[len(tc.plain)/3:]),
			".utf16.gz":     gzipped(t, utf16Text(string(tc.plain), true)),
			" named .jsonl": gzipped(t, tc.plain),
		}
		for suffix, data := range variants {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name+suffix, " ", "_"))
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, opt := range []FileOptions{{Paths: []string{p}, Format: tc.format}, {Stdin: bytes.NewReader(data), Format: tc.format}} {
				name := p
				if opt.Stdin != nil {
					name = "stdin"
				}
				got := sourceText(t, opt, name)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s (format %s): %d messages differ from the plain file's %d", name, tc.format, len(got), len(want))
				}
			}
		}
	}
}

// A compressed file cut short or corrupted ends with a message carrying an
// error that names the file and the format, after the lines before the
// damage. (readToTheEnd counts the good messages and returns the first
// message error, if any, once the source has ended.)
func TestABrokenCompressedFileIsAnErrorNamingIt(t *testing.T) {
	plain := recordLines(2000)
	gz, zs := gzipped(t, plain), zstded(t, plain)
	flipped := bytes.Clone(zs)
	flipped[len(flipped)/2] ^= 0xff
	for _, tc := range []struct {
		name     string
		data     []byte
		says     string
		minLines int  // delivered before the error
		atOpen   bool // the file cannot be opened: the error stops the source
	}{
		{"cut.jsonl.gz", gz[:len(gz)*2/3], "gzip data cut short", 1000, false},
		{"flipped.jsonl.zst", flipped, "zstd:", 300, false},
		{"header.jsonl.gz", gz[:6], "gzip", 0, true},
	} {
		p := filepath.Join(t.TempDir(), tc.name)
		if err := os.WriteFile(p, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := NewFileSource(FileOptions{Paths: []string{p}})
		if err != nil {
			t.Fatal(err)
		}
		n, readErr := readToTheEnd(src)
		if errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), p) || !strings.Contains(readErr.Error(), tc.says) {
			t.Errorf("%s: error %v, want one naming the file and %q", tc.name, readErr, tc.says)
		}
		if n < tc.minLines {
			t.Errorf("%s: %d lines delivered before the error, want at least %d", tc.name, n, tc.minLines)
		}
		_, again := src.Read(context.Background())
		if tc.atOpen && (again == nil || again.Error() != readErr.Error()) {
			t.Errorf("%s: the next Read gave %v, want the error again", tc.name, again)
		} else if !tc.atOpen && !errors.Is(again, io.EOF) {
			t.Errorf("%s: the next Read gave %v, want the end", tc.name, again)
		}
		_ = src.Close(context.Background())
	}
}

// A followed file cannot be compressed, UTF-16, a Capture file or a
// pretty-printed document: the source says so instead of waiting on a
// stream it cannot resume.
func TestAFollowedFileThatCannotGrowIsRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"live.jsonl.gz":   gzipped(t, []byte("{}\n")),
		"live-utf16.json": utf16Text("{}\n", true),
		"live.avro":       writeCapture(t, [][]byte{[]byte("{}")}, nil, 1),
		"live.json":       []byte("[\n{}\n]\n"),
	} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := NewFileSource(FileOptions{Paths: []string{p}, Follow: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot be followed") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: Read = %v, want a refusal to follow it, naming it", name, err)
		}
		src.Close(context.Background())
	}
}

// Progress counts the compressed bytes read, out of the files' size.
func TestProgressOfACompressedFileReachesItsSize(t *testing.T) {
	data := gzipped(t, recordLines(20000))
	p := filepath.Join(t.TempDir(), "events.jsonl.gz")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := NewFileSource(FileOptions{Paths: []string{p}, BatchLines: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	var readings []int64
	for {
		b, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		r, total := src.Progress()
		if total != int64(len(data)) {
			t.Fatalf("total %d, want the compressed size %d", total, len(data))
		}
		readings = append(readings, r)
	}
	if len(readings) < 3 || readings[len(readings)-1] != int64(len(data)) || readings[0] >= int64(len(data)) {
		t.Errorf("progress readings %v: want a rise to %d", readings, len(data))
	}
}

// readToTheEnd reads src until Read fails (io.EOF included), releasing
// every batch, and returns how many messages it read and the error.
func readToTheEnd(src Source) (int, error) {
	n := 0
	var damage error
	for {
		b, err := src.Read(context.Background())
		if err != nil {
			if damage != nil && errors.Is(err, io.EOF) {
				return n, damage
			}
			return n, err
		}
		for _, m := range b.Messages {
			if m.Err == nil {
				n++
			} else if damage == nil {
				damage = fmt.Errorf("%s: %w", m.Position, m.Err)
			}
		}
		if b.Release != nil {
			b.Release()
		}
	}
}

// A damaged file in a list does not stop the files after it: its damage is
// one message carrying the error, positioned after its last good line.
func TestADamagedFileDoesNotStopTheNextOnes(t *testing.T) {
	plain := recordLines(2000)
	gz := gzipped(t, plain)
	dir := t.TempDir()
	writeFile(t, dir, "1-cut.jsonl.gz", string(gz[:len(gz)/2]))
	writeFile(t, dir, "2-broken.json", "{\n  \"records\": [\n    {\"RemoteIP\": \"192.0.2.1\"},\n    {\"RemoteIP\": ,}\n  ]\n}\n")
	writeFile(t, dir, "3-good.jsonl", string(plain))
	src := mustFileSource(t, FileOptions{Paths: []string{dir}})
	var good int
	var damage []Message
	for {
		b, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v, want the files after the damaged ones read", err)
		}
		for _, m := range b.Messages {
			if m.Err != nil {
				damage = append(damage, Message{Position: m.Position, Err: m.Err})
			} else {
				good++
			}
		}
		b.Release()
	}
	if len(damage) != 2 {
		t.Fatalf("%d damage messages (%v), want 2", len(damage), damage)
	}
	cut, broken := damage[0], damage[1]
	if !strings.Contains(cut.Err.Error(), "gzip data cut short") || !strings.Contains(cut.Err.Error(), "the rest of the file is not read") || cut.Position.Source != filepath.Join(dir, "1-cut.jsonl.gz") || cut.Position.Offset < 500 {
		t.Errorf("cut file: %v at %v, want the gzip damage after its good lines", cut.Err, cut.Position)
	}
	if !strings.Contains(broken.Err.Error(), `element 2 of "records"`) || broken.Position.String() != filepath.Join(dir, "2-broken.json")+":2" {
		t.Errorf("broken document: %v at %v, want element 2 at :2", broken.Err, broken.Position)
	}
	if want := int(cut.Position.Offset-1) + 1 + 2000; good != want {
		t.Errorf("%d good messages, want %d (the cut file's, the document's first, all of the good file's)", good, want)
	}
}

// A compressed CSV export cut short or corrupted ends, after the rows
// before the damage, with one message carrying the error, positioned after
// the last good row; the next Read ends the source. Asking the CSV reader
// again after such an error gives the same error, so it must not be taken
// for a malformed row and read past (which gave a batch of error messages
// at every Read, without end).
func TestABrokenCompressedCSVExportEndsWithOneDamageMessage(t *testing.T) {
	export := csvLines(20000)
	gz, zs := gzipped(t, export), zstded(t, export)
	flipped := bytes.Clone(zs)
	flipped[len(flipped)/2] ^= 0xff
	for _, tc := range []struct {
		name    string
		data    []byte
		says    string
		minRows int // delivered before the damage
	}{
		{"cut.csv.gz", gz[:len(gz)/2], "gzip data cut short", 5000},
		{"cut.csv.zst", zs[:len(zs)/2], "zstd data cut short", 5000},
		{"flipped.csv.zst", flipped, "zstd:", 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			src := mustFileSource(t, FileOptions{Paths: []string{p}})
			defer src.Close(context.Background())
			rows, lastRow, damage := readRowsAndDamage(t, src)
			if len(damage) != 1 {
				t.Fatalf("%d damage messages, want 1: %v", len(damage), damage[:min(len(damage), 3)])
			}
			d := damage[0]
			if msg := d.Err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, tc.says) || !strings.Contains(msg, "the rest of the file is not read") {
				t.Errorf("damage %q, want it to name the file, say %q and that the rest is not read", msg, tc.says)
			}
			if rows < tc.minRows || d.Position.Source != p || d.Position.Offset != lastRow+1 {
				t.Errorf("%d rows, then the damage at %v; want at least %d rows, the damage on the line after the last (%d)", rows, d.Position, tc.minRows, lastRow)
			}
		})
	}
}

// The damage of a compressed CSV export is on the line after its last
// good row: after the last line of a row whose quoted field holds line
// breaks, after the header (and the #TYPE line before it) when no row
// came before the damage.
func TestTheDamageOfACSVExportIsOnTheLineAfterItsLastRow(t *testing.T) {
	header := "Timestamp,DeviceName,RemoteIP,RemoteUrl,AdditionalFields\n"
	var twoLineRows []byte
	for i := range 5000 {
		twoLineRows = fmt.Appendf(twoLineRows, "2026-11-26T09:00:00Z,ws-%d,198.51.100.%d,http://h%d.example/%d,\"{\"\"a\"\":\n%d}\"\n", i%50, i%256, i%97, i*7919, i)
	}
	whole := gzipped(t, append([]byte(header), twoLineRows...))
	headerOnly, _ := flushedGzip(t, []byte(header), twoLineRows)
	typed, _ := flushedGzip(t, []byte("#TYPE System.Management.Automation.PSCustomObject\n"+header), twoLineRows)
	for _, tc := range []struct {
		name    string
		data    []byte
		rowEnds int64 // lines a row takes: the damage is on the line after the last's last one
		noRows  int64 // the damage's line when no row came before it
	}{
		{"rows of two lines each", whole[:len(whole)/2], 2, 0},
		{"the header alone", headerOnly, 0, 2},
		{"a #TYPE line and the header", typed, 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "export.csv.gz")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			src := mustFileSource(t, FileOptions{Paths: []string{p}})
			defer src.Close(context.Background())
			rows, lastRow, damage := readRowsAndDamage(t, src)
			if len(damage) != 1 || !strings.Contains(damage[0].Err.Error(), "gzip data cut short") {
				t.Fatalf("damage %v, want one message saying the gzip data is cut short", damage)
			}
			want := tc.noRows
			if rows > 0 {
				want = lastRow + tc.rowEnds
			}
			if (rows > 0) != (tc.noRows == 0) || damage[0].Position.Offset != want {
				t.Errorf("%d rows, the last at line %d, then the damage at line %d; want it at line %d", rows, lastRow, damage[0].Position.Offset, want)
			}
		})
	}
}

// Stdin redirected from a file (iocwatch replay - < cut.jsonl.gz) is read
// as a file: its damage is one message and the source goes on (here, to
// its end). A live stdin (a pipe) stops the source with the damage as the
// Read's error, after the lines read before it.
func TestTheDamageOfStdinIsAMessageOnlyWhenItIsAFile(t *testing.T) {
	gz := gzipped(t, recordLines(2000))
	cut := gz[:len(gz)/2]
	p := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	if err := os.WriteFile(p, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		stdin   func(t *testing.T) io.Reader
		message bool // the damage is a message, then the end; else the source's error
	}{
		{"a regular file", func(t *testing.T) io.Reader {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}, true},
		{"a pipe", func(t *testing.T) io.Reader {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { pr.Close() })
			go func() {
				pw.Write(cut)
				pw.Close()
			}()
			return pr
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := mustFileSource(t, FileOptions{Paths: []string{"-"}, Stdin: tc.stdin(t)})
			defer src.Close(context.Background())
			good, readErr := readToTheEnd(src)
			var damage error
			if tc.message {
				damage, readErr = readErr, nil // readToTheEnd's error is the damage message when the source ended
			}
			_, next := src.Read(context.Background())
			switch {
			case good < 500:
				t.Errorf("%d lines before the damage, want at least 500", good)
			case tc.message && (damage == nil || !strings.Contains(damage.Error(), "gzip data cut short") || !strings.HasPrefix(damage.Error(), "stdin:") || !errors.Is(next, io.EOF)):
				t.Errorf("damage message %v, then %v; want a message at stdin:N saying the gzip data is cut short, then io.EOF", damage, next)
			case !tc.message && (readErr == nil || errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), "gzip data cut short") || next == nil || next.Error() != readErr.Error()):
				t.Errorf("the source ended with %v, then %v; want the damage as its error, again", readErr, next)
			}
		})
	}
}

// readRowsAndDamage reads src to its end and returns how many messages it
// gave, the line of the last, and the damage messages; a Read that fails,
// or more than 100 batches (a source that never ends), fails the test.
func readRowsAndDamage(t *testing.T, src *FileSource) (rows int, lastRow int64, damage []Message) {
	t.Helper()
	for reads := 0; ; reads++ {
		if reads > 100 {
			t.Fatalf("still reading after %d batches: %d rows, %d damage messages", reads, rows, len(damage))
		}
		b, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return rows, lastRow, damage
		}
		if err != nil {
			t.Fatalf("Read: %v, want the damage as a message and then the end", err)
		}
		for _, m := range b.Messages {
			if m.Err != nil {
				damage = append(damage, Message{Position: m.Position, Err: m.Err})
			} else {
				rows++
				lastRow = m.Position.Offset
			}
		}
		b.Release()
	}
}
