package stream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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

// Broken JSON in an array ends it with an error naming the element, after
// the elements before it; so does anything after the closing bracket.
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
// panic, and never returns more bytes than it was given.
func FuzzDocumentReader(f *testing.F) {
	f.Add([]byte("[\n{\"a\":1},\n{\"b\":[1,2]}\n]\n"))
	f.Add([]byte("{\n\"records\": []\n}"))
	f.Add([]byte("[\n{\"a\":\n"))
	f.Add([]byte("[\n]\n]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := documentStart(data)
		if start == 0 {
			return
		}
		r := newDocumentReader(bufio.NewReader(bytes.NewReader(data)), "fuzz.json", start)
		total := 0
		for range 1 << 16 {
			msg, _, err := r.Next()
			if err != nil {
				return
			}
			if total += len(msg); total > len(data) {
				t.Fatalf("%d bytes of messages from %d bytes", total, len(data))
			}
		}
		t.Fatal("no end after 65536 messages")
	})
}
