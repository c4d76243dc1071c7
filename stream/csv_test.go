package stream

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCSVReaderGolden reads each testdata/csv/*.csv export, decodes every
// row with a Decoder, and compares the events with <name>.expected.jsonl
// and the row errors with <name>.expected.err (-update rewrites them).
func TestCSVReaderGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "csv", "*.csv"))
	if len(files) == 0 {
		t.Fatal("no CSV exports in testdata/csv")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			name := filepath.Base(path)
			c, err := NewCSVReader(f, name)
			if err != nil {
				t.Fatal(err)
			}
			var d Decoder
			var got, gotErr strings.Builder
			for {
				rec, line, err := c.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					gotErr.WriteString(err.Error() + "\n")
					continue
				}
				evs, errs := d.Decode(rec, nil)
				for _, e := range errs {
					t.Errorf("line %d: %v (record %s)", line, e, rec)
				}
				for _, r := range renderEvents(evs) {
					got.WriteString(strconv.Itoa(line) + " " + r + "\n")
				}
			}
			base := strings.TrimSuffix(path, ".csv")
			compareGolden(t, base+".expected.jsonl", got.String())
			compareGolden(t, base+".expected.err", gotErr.String())
		})
	}
}

func TestCSVReaderRoutesRowsByTable(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []string // the "Table" of each row
	}{
		{"the source_ column of a find export names the table",
			"source_,RemoteIP,FileName\nDeviceEvents,1.2.3.4,a\nDeviceNetworkEvents,1.2.3.4,\n", []string{"DeviceEvents", "DeviceNetworkEvents"}},
		{"the Type column of a Log Analytics export names the table",
			"Type,RemoteIP\nDeviceEvents,1.2.3.4\n", []string{"DeviceEvents"}},
		{"an empty source_ falls back to the table inferred from the header",
			"source_,RemoteIP,Protocol\n,1.2.3.4,Tcp\n", []string{"DeviceNetworkEvents"}},
		{"a Protocol column means DeviceNetworkEvents", "RemoteIP,Protocol,FileName\n1.2.3.4,Tcp,x\n", []string{"DeviceNetworkEvents"}},
		{"a RemoteIPType column means DeviceNetworkEvents", "RemoteIP,RemoteIPType\n1.2.3.4,Public\n", []string{"DeviceNetworkEvents"}},
		{"a FileName column without network columns means DeviceEvents", "RemoteUrl,FileName\nx.example,a.exe\n", []string{"DeviceEvents"}},
		{"a FileOriginUrl column means DeviceEvents", "FileOriginUrl,DeviceName\nhttp://x.example/a,pc\n", []string{"DeviceEvents"}},
		{"otherwise DeviceNetworkEvents", "RemoteUrl,DeviceName\nx.example,pc\n", []string{"DeviceNetworkEvents"}},
		{"a Table column in the header does not override the routing",
			"Table,RemoteIP,Protocol\nDeviceEvents,1.2.3.4,Tcp\n", []string{"DeviceNetworkEvents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCSVReader(strings.NewReader(tt.csv), "x.csv")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				rec, _, err := c.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(rec, &m); err != nil {
					t.Fatalf("record %s: %v", rec, err)
				}
				got = append(got, m["Table"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("tables %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewCSVReaderRefusesAnUnusableHeader(t *testing.T) {
	tests := []struct{ name, csv, want string }{
		{"an empty file", "", "feed.csv: empty file"},
		{"a header without Defender columns", "a,b,c\n1,2,3\n", `feed.csv:1: CSV header names no Defender column`},
		{"a header with only the table column", "source_\nDeviceEvents\n", `feed.csv:1: CSV header names no Defender column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCSVReader(strings.NewReader(tt.csv), "feed.csv")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCSVReaderReportsAMalformedRowAndReadsOn(t *testing.T) {
	in := "DeviceName,RemoteIP\r\npc1,1.2.3.4\r\npc2\r\n\"pc3,1.2.3.5\r\npc4,1.2.3.6\r\n"
	c, err := NewCSVReader(strings.NewReader(in), "e.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		rec, line, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			got = append(got, err.Error())
			continue
		}
		got = append(got, strconv.Itoa(line)+" "+string(rec))
	}
	want := []string{
		`2 {"Table":"DeviceNetworkEvents","DeviceName":"pc1","RemoteIP":"1.2.3.4"}`,
		`e.csv:3: malformed CSV row: 1 fields, the header has 2`,
		// The unclosed quote would run to the end of the file (LazyQuotes):
		// its row is refused, the rows it swallowed are read again.
		`e.csv:4: malformed CSV row: the quote opened on line 4 is never closed`,
		`5 {"Table":"DeviceNetworkEvents","DeviceName":"pc4","RemoteIP":"1.2.3.6"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every golden export, re-written with ';' (Excel in locales whose list
// separator it is) or tabs between the fields, gives the same records,
// lines and errors as with commas; the file source detects it.
func TestCSVExportsWithSemicolonsOrTabsReadAsWithCommas(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "csv", "*.csv"))
	if len(files) == 0 {
		t.Fatal("no CSV exports in testdata/csv")
	}
	read := csvRecords
	tried := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := read(data)
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))).ReadAll()
		if err != nil {
			continue // an export with malformed rows cannot be re-written field by field
		}
		for _, d := range []rune{';', '\t'} {
			var out bytes.Buffer
			w := csv.NewWriter(&out)
			w.Comma, w.UseCRLF = d, bytes.Contains(data, []byte("\r\n"))
			if err := w.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			if !LooksLikeCSV(out.Bytes()) {
				t.Errorf("%s with %q: not taken for CSV", path, d)
			}
			if got := read(out.Bytes()); got != want {
				t.Errorf("%s with %q:\n%s\nwant\n%s", path, d, got, want)
			}
		}
		tried++
	}
	if tried == 0 {
		t.Fatal("no export could be re-written")
	}
}

// An export written by Windows PowerShell's Export-Csv — a "#TYPE" line
// first, every field quoted — gives the records of the plain export, each
// a line later.
func TestAPowerShellExportCsvFileReadsAsTheExport(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "csv", "network_export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var ps bytes.Buffer
	ps.WriteString("#TYPE System.Management.Automation.PSCustomObject\r\n")
	for _, row := range rows {
		for i, f := range row {
			if i > 0 {
				ps.WriteByte(',')
			}
			ps.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
		}
		ps.WriteString("\r\n")
	}
	if !LooksLikeCSV(ps.Bytes()) {
		t.Fatal("not taken for CSV")
	}
	records := func(b []byte) []string {
		c, err := NewCSVReader(bytes.NewReader(b), "x.csv")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			rec, line, err := c.Next()
			if errors.Is(err, io.EOF) {
				return out
			}
			out = append(out, fmt.Sprintf("%d %s %v", line, rec, err))
		}
	}
	want := records(data)
	for i, w := range want { // one line later
		n, rest, _ := strings.Cut(w, " ")
		l, _ := strconv.Atoi(n)
		want[i] = fmt.Sprintf("%d %s", l+1, rest)
	}
	if got := records(ps.Bytes()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLooksLikeCSV(t *testing.T) {
	tests := []struct {
		name string
		head string
		want bool
	}{
		{"an Advanced Hunting header", "Timestamp,DeviceName,RemoteIP\r\n2026-…", true},
		{"a quoted header after a byte order mark", "\xef\xbb\xbf\"Timestamp\",\"DeviceName\"\n", true},
		{"a single-column export", "RemoteUrl\nx.example\n", true},
		{"a JSON object", `{"records":[]}`, false},
		{"JSON lines after blank lines", "\r\n  {\"RemoteIP\":\"1.2.3.4\"}", false},
		{"a JSON array", `[{"a":1}]`, false},
		{"empty input", "", false},
		{"plain text without commas", "hello world\n", false},
		{"a header saved by Excel with semicolons", "Timestamp;DeviceName;RemoteIP\r\n", true},
		{"a tab-separated header", "Timestamp\tRemoteUrl\n", true},
		{"semicolons without a Defender column", "a;b;c\n", false},
		{"Export-Csv's #TYPE line, then the header", "#TYPE System.Management.Automation.PSCustomObject\r\n\"Timestamp\",\"RemoteIP\"\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeCSV([]byte(tt.head)); got != tt.want {
				t.Errorf("LooksLikeCSV(%q) = %v, want %v", tt.head, got, tt.want)
			}
		})
	}
}

// FuzzCSV checks that every row NewCSVReader and Next produce is valid
// JSON holding the row's non-empty values under their header names, and
// decodes without error.
func FuzzCSV(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "csv", "*.csv"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b) // the realistic exports
		}
	}
	f.Add([]byte("RemoteIP,DeviceName\n1.2.3.4,\"a\"\"b\"\n"))                                                                 // an escaped quote
	f.Add([]byte("RemoteUrl,AdditionalFields\nx,\"{\"\"host\"\":1}\"\n"))                                                      // JSON in a column
	f.Add([]byte("RemoteIP,DeviceName\n1.2.3.4,a\x00\xff\\\"\n"))                                                              // NUL, invalid UTF-8, backslash
	f.Add([]byte("RemoteIP,RemoteIP,Table\n1,2,x\n"))                                                                          // duplicate and skipped columns
	f.Add([]byte("source_,DeviceName\nDeviceEvents,a\nb\n\"unclosed,c\n"))                                                     // malformed rows
	f.Add([]byte("#TYPE System.Management.Automation.PSCustomObject\r\n\"RemoteIP\";\"DeviceName\"\r\n\"1.2.3.4\";\"a\"\r\n")) // Export-Csv, semicolons
	f.Add([]byte("\xef\xbb\xbf\r\n \t\r\nRemoteIP\tDeviceName\r\n1.2.3.4\ta\r\n"))                                             // blank lines before a tab-separated header
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewCSVReader(bytes.NewReader(data), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		dup := map[string]int{}
		for _, h := range c.header {
			dup[jsonUTF8(h)]++ // encoding/json reads invalid UTF-8 in keys as U+FFFD
		}
		var d Decoder
		for range 1000 {
			rec, line, err := c.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), "f.csv:") {
					t.Fatalf("error does not name the file and line: %v", err)
				}
				continue
			}
			if line < 2 {
				t.Fatalf("row at line %d", line)
			}
			var m map[string]any
			if err := json.Unmarshal(rec, &m); err != nil {
				t.Fatalf("record %q is not JSON: %v", rec, err)
			}
			if _, ok := m["Table"].(string); !ok {
				t.Fatalf("record %q has no Table", rec)
			}
			row := c.row // the fields behind rec
			for i, h := range c.header {
				if !c.keep[i] || dup[jsonUTF8(h)] > 1 || row == nil {
					continue
				}
				if v := row[i]; v != "" && m[jsonUTF8(h)] != jsonUTF8(v) {
					t.Fatalf("column %q: record has %q, row has %q", h, m[h], v)
				}
			}
			if _, errs := d.Decode(rec, nil); len(errs) != 0 {
				t.Fatalf("record %q: %v", rec, errs)
			}
			d.Reset()
		}
	})
}

// A byte order mark before a quoted header — Export-Csv -Encoding UTF8
// quotes every field — must not hide the first column: the records are
// those of the same export without the mark.
func TestAByteOrderMarkBeforeAQuotedHeaderKeepsTheFirstColumn(t *testing.T) {
	const quoted = "\"Timestamp\",\"DeviceName\",\"RemoteIP\",\"Protocol\"\r\n" +
		"\"2026-11-26T09:13:58.120Z\",\"pc1\",\"198.51.100.7\",\"Tcp\"\r\n"
	records := func(s string) string { return csvRecords([]byte(s)) }
	want := records(quoted)
	if !strings.Contains(want, `"Timestamp":"2026-11-26T09:13:58.120Z"`) {
		t.Fatalf("the quoted export without a mark: %s", want)
	}
	for _, tt := range []struct{ name, csv string }{
		{"a byte order mark", "\xef\xbb\xbf" + quoted},
		{"a byte order mark and semicolons", "\xef\xbb\xbf" + strings.ReplaceAll(quoted, ",", ";")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := records(tt.csv); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// csvRecords reads data as a CSV export and returns each record with its
// line and error, one a line, or the reader's error.
func csvRecords(data []byte) string {
	c, err := NewCSVReader(bytes.NewReader(data), "x.csv")
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for {
		rec, line, err := c.Next()
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		fmt.Fprintf(&b, "%d %s %v\n", line, rec, err)
	}
}

// Blank lines before the header — after the byte order mark and the #TYPE
// line, when there are — are skipped whatever the delimiter: an export
// separated by commas, semicolons or tabs gives the records it gives
// without them, each as many lines later, read by NewCSVReader and by the
// file source with the format auto from a file (as it is, gzip-compressed
// and in UTF-16) and from a live stdin.
func TestBlankLinesBeforeTheHeaderAreSkippedWhateverTheDelimiter(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "csv", "network_export.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	const typeLine = "#TYPE System.Management.Automation.PSCustomObject\r\n"
	prefixes := []struct{ name, text string }{
		{"a blank line", "\n"},
		{"blank CRLF lines", "\r\n\r\n"},
		{"a line of spaces and a tab", " \t \r\n\n"},
		{"a byte order mark and blank lines", "\xef\xbb\xbf\n\n"},
		{"a #TYPE line and a blank line", typeLine + "\r\n"},
		{"a byte order mark, a #TYPE line and blank lines", "\xef\xbb\xbf" + typeLine + "\r\n \r\n"},
	}
	dir := t.TempDir()
	for _, d := range []rune{',', ';', '\t'} {
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		w.Comma = d
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		body := out.String()
		want := csvRecords([]byte(body))
		if !strings.Contains(want, `"RemoteIP":"203.0.113.77"`) {
			t.Fatalf("%q: the export without a prefix gives\n%s", d, want)
		}
		wantFile := sourceLines(t, FileOptions{Paths: []string{writeFile(t, dir, "plain.csv", body)}})
		for _, p := range prefixes {
			t.Run(fmt.Sprintf("%q, %s", d, p.name), func(t *testing.T) {
				in := p.text + body
				skip := strings.Count(p.text, "\n")
				if !LooksLikeCSV([]byte(in)) {
					t.Error("not taken for CSV")
				}
				if got, want := csvRecords([]byte(in)), shiftLines(want, skip, " "); got != want {
					t.Errorf("NewCSVReader:\n%s\nwant\n%s", got, want)
				}
				want := shiftLines(wantFile, skip, " ")
				forms := map[string][]byte{"as it is": []byte(in), "gzip": gzipped(t, []byte(in))}
				if utf8.ValidString(in) {
					forms["UTF-16"] = utf16Text(strings.TrimPrefix(in, "\xef\xbb\xbf"), true)
				}
				for form, b := range forms {
					path := filepath.Join(dir, "in.csv")
					if err := os.WriteFile(path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					if got := sourceLines(t, FileOptions{Paths: []string{path}}); got != want {
						t.Errorf("a file, %s:\n%s\nwant\n%s", form, got, want)
					}
					pr, pw := io.Pipe()
					go func() { pw.Write(b); pw.Close() }()
					if got := sourceLines(t, FileOptions{Stdin: pr}); got != want {
						t.Errorf("a live stdin, %s:\n%s\nwant\n%s", form, got, want)
					}
				}
			})
		}
	}
}

// sourceLines reads a file source of opt to its end and returns its
// messages as "line value[ ERR]", one a line, the input's name left out,
// ending with the error that stopped it, if any but io.EOF.
func sourceLines(t *testing.T, opt FileOptions) string {
	t.Helper()
	src := mustFileSource(t, opt)
	defer src.Close(context.Background())
	var b strings.Builder
	for {
		batch, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		if err != nil {
			return b.String() + "error: " + err.Error() + "\n"
		}
		for _, m := range batch.Messages {
			_, line, _ := strings.Cut(messageLine(m), ":")
			b.WriteString(line + "\n")
		}
		batch.Release()
	}
}

// shiftLines adds n to the line number that starts each line of text, up
// to sep.
func shiftLines(text string, n int, sep string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		num, rest, ok := strings.Cut(l, sep)
		if i, err := strconv.Atoi(num); ok && err == nil {
			l = strconv.Itoa(i+n) + sep + rest
		}
		b.WriteString(l)
	}
	return b.String()
}
