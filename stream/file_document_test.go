package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocumentStart(t *testing.T) {
	for _, tc := range []struct {
		head string
		want byte
	}{
		{"[\n  {\"a\":1}\n]\n", '['},
		{"\xef\xbb\xbf{\r\n    \"Stats\":  {}\r\n}", '{'},
		{"\n\n  [   \n{}]", '['},
		{"{\"records\":[]}\n{\"records\":[]}\n", 0}, // JSON lines
		{"[{\"a\":1},{\"a\":2}]\n", 0},              // an array on one line is a message
		{"{", 0},                                    // no line end yet: not known
		{"Timestamp,DeviceName\n", 0},
		{"", 0},
	} {
		if got := documentStart([]byte(tc.head)); got != tc.want {
			t.Errorf("documentStart(%q) = %q, want %q", tc.head, got, tc.want)
		}
	}
}

// indented renders v as pretty-printed JSON, as jq . or json.dump(indent=2) do.
func indented(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// A pretty-printed JSON document gives the events of the same records
// written as JSON lines: an array element by element (numbered from 1),
// an object — an Event Hubs body, the Advanced Hunting API's response —
// whole; UTF-16 and gzip too. Told "jsonl", the source reads lines.
func TestFileSourceReadsPrettyPrintedDocuments(t *testing.T) {
	var recs []any
	var jl []byte
	for i := range 40 {
		line := record(i, "198.51.100.7", "", "x.exe", `c:\x.exe`)
		var env struct{ Records []any }
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, env.Records...)
		jl = append(append(jl, line...), '\n')
	}
	dir := t.TempDir()
	lines := filepath.Join(dir, "lines.jsonl")
	if err := os.WriteFile(lines, jl, 0o600); err != nil {
		t.Fatal(err)
	}
	events := func(opt FileOptions, name string) []string {
		var out []string
		for _, l := range sourceText(t, opt, name) {
			_, after, _ := strings.Cut(l, " → ")
			out = append(out, after)
		}
		return out
	}
	want := events(FileOptions{Paths: []string{lines}}, lines)

	var rows []any
	for _, r := range recs {
		rows = append(rows, r.(map[string]any)["properties"])
	}
	apiResponse := map[string]any{"Stats": map[string]any{"ExecutionTime": 0.2}, "Schema": []any{map[string]any{"Name": "Timestamp", "Type": "DateTime"}}, "Results": rows}
	for _, tc := range []struct {
		name     string
		data     []byte
		messages int
	}{
		{"array.json", indented(t, recs), len(recs)},
		{"body.json", indented(t, map[string]any{"records": recs}), len(recs)},
		{"api.json", indented(t, apiResponse), len(recs)},
		{"array-utf16.json", utf16Text(string(indented(t, recs)), true), len(recs)},
		{"array.json.gz", gzipped(t, indented(t, recs)), len(recs)},
		// Windows PowerShell's Out-File -Encoding utf8 writes a byte order mark.
		{"array-bom.json", append([]byte("\xef\xbb\xbf"), indented(t, recs)...), len(recs)},
		{"body-bom.json", append([]byte("\xef\xbb\xbf"), indented(t, map[string]any{"records": recs})...), len(recs)},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := NewFileSource(FileOptions{Paths: []string{p}})
		if err != nil {
			t.Fatal(err)
		}
		msgs := readAll(t, src)
		if len(msgs) != tc.messages || !strings.HasPrefix(msgs[len(msgs)-1], p+":") {
			t.Errorf("%s: %d messages, want %d", tc.name, len(msgs), tc.messages)
		}
		var got []string
		for _, e := range events(FileOptions{Paths: []string{p}}, p) {
			got = append(got, strings.Fields(e)...)
		}
		var w []string
		for _, e := range want {
			w = append(w, strings.Fields(e)...)
		}
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s: events differ from the JSON lines':\n%.400s\nwant\n%.400s", tc.name, strings.Join(got, " "), strings.Join(w, " "))
		}
	}
	// A pretty-printed object without records is one message; a body far
	// larger than a message may be is read record by record.
	one := filepath.Join(dir, "record.json")
	if err := os.WriteFile(one, indented(t, recs[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	if msgs := readAll(t, mustFileSource(t, FileOptions{Paths: []string{one}})); len(msgs) != 1 || !strings.HasPrefix(msgs[0], one+":1 {") {
		t.Errorf("record.json: %d messages, want the object as message 1", len(msgs))
	}
	var many []any
	for range 300 {
		many = append(many, recs...)
	}
	big := filepath.Join(dir, "big-body.json")
	if err := os.WriteFile(big, indented(t, map[string]any{"records": many}), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(big); fi.Size() < 2<<20 {
		t.Fatalf("the big body is only %d bytes", fi.Size())
	}
	src, err := NewFileSource(FileOptions{Paths: []string{big}, MaxLineBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := readToTheEnd(src); !errors.Is(err, io.EOF) || n != len(many) {
		t.Errorf("big-body.json: %d messages (%v), want %d", n, err, len(many))
	}

	// The elements are numbered.
	src, err = NewFileSource(FileOptions{Paths: []string{filepath.Join(dir, "array.json")}})
	if err != nil {
		t.Fatal(err)
	}
	if msgs := readAll(t, src); !strings.HasPrefix(msgs[2], filepath.Join(dir, "array.json")+":3 {") {
		t.Errorf("third element at %.80q, want position 3", msgs[2])
	}
	// Told jsonl, the source reads lines, each a broken message.
	p := filepath.Join(dir, "array.json")
	if n := len(readAll(t, mustFileSource(t, FileOptions{Paths: []string{p}, Format: "jsonl"}))); n < 100 {
		t.Errorf("as JSON lines: %d messages, want one per non-blank line", n)
	}
}

func mustFileSource(t *testing.T, opt FileOptions) *FileSource {
	t.Helper()
	src, err := NewFileSource(opt)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// Broken JSON in an array that no element follows ends it with an error
// naming the element, after the elements before it; so does anything after
// the closing bracket.
func TestABrokenDocumentIsAnErrorNamingTheElement(t *testing.T) {
	good := "[\n  {\"RemoteIP\": \"192.0.2.1\"},\n  {\"RemoteIP\": \"192.0.2.2\"},\n"
	for _, tc := range []struct {
		name, text, says string
		delivered        int
	}{
		{"broken.json", good + "  {\"RemoteIP\": ,}\n]\n", "element 3", 2},
		{"cut.json", good, "element 3", 2},
		{"trailing.json", good + "  {}\n]\n[]\n", "after the JSON array", 3},
		{"not-an-array.json", "[\n  1,\n  \"x\"\n]\n", "", 2}, // elements that are no records: decode errors later, not framing errors
		// A broken object keeps the records before its damage.
		{"broken-object.json", "{\n  \"records\": [\n    {\"RemoteIP\": \"192.0.2.1\"},\n    {\"RemoteIP\": \"192.0.2.2\"},\n    {\"RemoteIP\": ,}\n  ]\n}\n", "element 3 of \"records\"", 2},
		{"cut-object.json", "{\n  \"records\": [\n    {\"RemoteIP\": \"192.0.2.1\"},\n", "element 2 of \"records\"", 1},
		{"after-arrays.json", "{\n  \"Results\": [\n    {\"RemoteIP\": \"192.0.2.1\"}\n  ],\n  \"x\": \n", "after the arrays", 1},
		// Damage before any records array: one message, the decoder's to report.
		{"broken-head.json", "{\n  \"x\": ,\n  \"records\": []\n}\n", "", 1},
	} {
		p := writeFile(t, t.TempDir(), tc.name, tc.text)
		src := mustFileSource(t, FileOptions{Paths: []string{p}})
		n, readErr := readToTheEnd(src)
		if tc.says == "" {
			if !errors.Is(readErr, io.EOF) {
				t.Errorf("%s: %v, want the end", tc.name, readErr)
			}
		} else if errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), p) || !strings.Contains(readErr.Error(), tc.says) {
			t.Errorf("%s: error %v, want one naming the file and %q", tc.name, readErr, tc.says)
		}
		if n != tc.delivered {
			t.Errorf("%s: %d messages delivered, want %d", tc.name, n, tc.delivered)
		}
	}
}

// Whatever follows a lone bracket, the document reader ends without a
// panic, reading on past broken elements, and never returns more bytes
// than it was given.
func FuzzDocumentReader(f *testing.F) {
	f.Add([]byte("[\n{\"a\":1},\n{\"b\":[1,2]}\n]\n"))
	f.Add([]byte("{\n\"records\": []\n}"))
	f.Add([]byte("[\n{\"a\":\n"))
	f.Add([]byte("[\n]\n]"))
	f.Add([]byte("[\n  {\"a\": ,},\n  {\"b\": 2},\n  {\"c\": \"x\n  },\n  {\"d\": 4}\n]\n"))
	f.Add([]byte("[\r\n{\"a\": 1},\r\n{\"a\": 2\r\n{\"a\": 3}\r\n]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := documentStart(data)
		if start == 0 {
			return
		}
		r := newDocumentReader(bufio.NewReader(bytes.NewReader(data)), "fuzz.json", start)
		total := 0
		for range 1 << 16 {
			msg, _, err := r.Next()
			var broken *brokenElement
			if err != nil && !errors.As(err, &broken) {
				return
			}
			if total += len(msg); total > len(data) {
				t.Fatalf("%d bytes of messages from %d bytes", total, len(data))
			}
		}
		t.Fatal("no end after 65536 messages")
	})
}

// A broken element of a pretty-printed array is one message carrying its
// error, and reading goes on at the next element: the elements after it
// are delivered with their own numbers, whatever the damage (a missing
// value, a string cut by a line end, a missing brace) and however the
// array is printed (jq's indentation, with nested objects, CRLF, one
// element a line). A broken last element ends the document as before.
func TestABrokenArrayElementIsOneMessageAndReadingGoesOn(t *testing.T) {
	el := func(ip string) string {
		return "  {\n    \"RemoteIP\": \"" + ip + "\",\n    \"AdditionalFields\": {\n      \"host\": \"x.example\"\n    }\n  }"
	}
	for _, tc := range []struct {
		name, text string
		want       []string // per message: its number, then "ok" or "broken"
		end        string   // what the last error says; "" for the end of the file
	}{
		{"missing-value.json",
			"[\n" + el("192.0.2.1") + ",\n  {\n    \"RemoteIP\": ,\n    \"AdditionalFields\": {\n      \"host\": \"y\"\n    }\n  },\n" + el("192.0.2.3") + ",\n" + el("192.0.2.4") + "\n]\n",
			[]string{"1 ok", "2 broken", "3 ok", "4 ok"}, ""},
		{"cut-string.json",
			"[\n" + el("192.0.2.1") + ",\n  {\n    \"RemoteIP\": \"192.0.\n  },\n" + el("192.0.2.3") + "\n]\n",
			[]string{"1 ok", "2 broken", "3 ok"}, ""},
		{"missing-brace.json",
			"[\n  {\n    \"RemoteIP\": \"192.0.2.1\",\n" + el("192.0.2.2") + ",\n" + el("192.0.2.3") + "\n]\n",
			[]string{"1 broken", "2 ok", "3 ok"}, ""},
		{"crlf.json",
			strings.ReplaceAll("[\n"+el("192.0.2.1")+",\n  {\n    \"RemoteIP\": ,\n  },\n"+el("192.0.2.3")+"\n]\n", "\n", "\r\n"),
			[]string{"1 ok", "2 broken", "3 ok"}, ""},
		{"one-a-line.json",
			"[\n{\"RemoteIP\": \"192.0.2.1\"},\n{\"RemoteIP\": ,},\n{\"RemoteIP\": \"192.0.2.3\"},\n{\"RemoteIP\": \"192.0.2.4\", \"x\": {\n}}\n]\n",
			[]string{"1 ok", "2 broken", "3 ok", "4 ok"}, ""},
		{"two-broken.json",
			"[\n  {\"RemoteIP\": ,},\n" + el("192.0.2.2") + ",\n  {\"RemoteIP\": \"\x01\"},\n" + el("192.0.2.4") + "\n]\n",
			[]string{"1 broken", "2 ok", "3 broken", "4 ok"}, ""},
		{"long-element-after.json",
			"[\n{\"RemoteIP\": ,},\n{\"RemoteIP\": \"192.0.2.2\", \"pad\": \"" + strings.Repeat("x", 100<<10) + "\"}\n]\n",
			[]string{"1 broken", "2 ok"}, ""},
		{"broken-last.json",
			"[\n" + el("192.0.2.1") + ",\n  {\"RemoteIP\": ,}\n]\n",
			[]string{"1 ok"}, "element 2"},
		{"after-the-bracket.json",
			"[\n  {\"RemoteIP\": ,},\n" + el("192.0.2.2") + "\n]\n[]\n",
			[]string{"1 broken", "2 ok"}, "after the JSON array"},
	} {
		p := writeFile(t, t.TempDir(), tc.name, tc.text)
		src := mustFileSource(t, FileOptions{Paths: []string{p}})
		var got []string
		var end error
		for end == nil {
			b, err := src.Read(context.Background())
			if err != nil {
				end = err
				break
			}
			for _, m := range b.Messages {
				state := "ok"
				switch {
				case m.Err != nil && strings.Contains(m.Err.Error(), "read on at the next element"):
					state = "broken"
					if !strings.Contains(m.Err.Error(), fmt.Sprintf("JSON array element %d ", m.Position.Offset)) {
						t.Errorf("%s: message %d says %q, want its element number", tc.name, m.Position.Offset, m.Err)
					}
					if !bytes.HasPrefix(m.Value, []byte("{")) {
						t.Errorf("%s: message %d keeps %q, want the broken element's text", tc.name, m.Position.Offset, m.Value)
					}
				case m.Err != nil:
					end = fmt.Errorf("%s: %w", m.Position, m.Err)
					continue
				default:
					var rec map[string]any
					if err := json.Unmarshal(m.Value, &rec); err != nil {
						t.Errorf("%s: message %d is no JSON object: %v\n%s", tc.name, m.Position.Offset, err, m.Value)
					}
				}
				got = append(got, fmt.Sprintf("%d %s", m.Position.Offset, state))
			}
			if b.Release != nil {
				b.Release()
			}
		}
		if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%s: messages %v, want %v", tc.name, got, tc.want)
		}
		if tc.end == "" && !errors.Is(end, io.EOF) {
			t.Errorf("%s: ended with %v, want the end of the file", tc.name, end)
		}
		if tc.end != "" && (errors.Is(end, io.EOF) || !strings.Contains(end.Error(), tc.end)) {
			t.Errorf("%s: ended with %v, want an error saying %q", tc.name, end, tc.end)
		}
	}
}

// After a broken element the byte offsets in errors still count from the
// start of the file: the second broken element is named at the byte it is
// named at when it is the only one (the same file with the first mended).
func TestErrorsAfterABrokenElementNameTheirByteInTheFile(t *testing.T) {
	offsets := func(text string) []string {
		r := newDocumentReader(bufio.NewReader(strings.NewReader(text)), "t.json", '[')
		var out []string
		for {
			_, _, err := r.Next()
			var broken *brokenElement
			if !errors.As(err, &broken) {
				if err != nil {
					return out
				}
				continue
			}
			_, after, _ := strings.Cut(err.Error(), "(byte ")
			at, _, _ := strings.Cut(after, ")")
			out = append(out, at)
		}
	}
	both := offsets("[\n  {\"a\": ,},\n  {\"a\": 2},\n  {\"a\": ,},\n  {\"a\": 4}\n]\n")
	second := offsets("[\n  {\"a\": 1},\n  {\"a\": 2},\n  {\"a\": ,},\n  {\"a\": 4}\n]\n")
	// The decoder names the first element at its brace, later ones just
	// after the comma before them.
	if len(both) != 2 || len(second) != 1 || both[0] != "4" || both[1] != second[0] || second[0] != "25" {
		t.Errorf("broken elements named at bytes %v, and %v alone; want [4 25] and [25]", both, second)
	}
}

// Text after the array's closing bracket is named at its byte in the
// file, after a broken element too, and counting a byte order mark.
func TestTextAfterTheArrayIsNamedAtItsByteInTheFile(t *testing.T) {
	const good, broken = "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\nx\n", "[\n  {\"a\": ,},\n  {\"a\": 2}\n]\nx\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"after good elements", good, "(at byte 27)"},
		{"after a broken element", broken, "(at byte 27)"},
		{"after a byte order mark", "\xef\xbb\xbf" + good, "(at byte 30)"},
		{"after a byte order mark and a broken element", "\xef\xbb\xbf" + broken, "(at byte 30)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newDocumentReader(bufio.NewReader(strings.NewReader(tc.text)), "t.json", '[')
			for {
				_, _, err := r.Next()
				var be *brokenElement
				if err == nil || errors.As(err, &be) {
					continue
				}
				if !strings.Contains(err.Error(), "after the JSON array's closing bracket "+tc.want) {
					t.Errorf("got %v, want the text after the array named %s", err, tc.want)
				}
				return
			}
		})
	}
}
