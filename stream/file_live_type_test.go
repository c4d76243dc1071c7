package stream

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// An Export-Csv file of Windows PowerShell piped in line by line
// (`Get-Content export.csv | iocwatch replay -`) is read as CSV although
// its #TYPE line (or a byte order mark, or a blank line) comes alone: a live input's format is judged from the
// header after that line, not from the #TYPE line, which alone would make
// it JSON lines and every row a decode error. The header is written once
// the first Read returned or after a while: a Read that judged the input
// from the #TYPE line alone returns it as a message at once. It gives the
// messages the same export gives read from a file.
func TestALiveExportCsvWhoseTypeLineComesAloneIsReadAsCSV(t *testing.T) {
	for _, tc := range []struct{ name, first, rest string }{
		{"#TYPE line, then the header and a row",
			"#TYPE System.Management.Automation.PSCustomObject\r\n",
			"\"Timestamp\",\"DeviceName\",\"RemoteIP\"\r\n\"2026-11-26T09:13:58Z\",\"ws-1\",\"203.0.113.7\"\r\n"},
		{"byte order mark and #TYPE line, then a header with semicolons and a row",
			"\ufeff#TYPE System.Management.Automation.PSCustomObject\r\n",
			"\"Timestamp\";\"DeviceName\";\"RemoteIP\"\r\n\"2026-11-26T09:13:58Z\";\"ws-1\";\"203.0.113.7\"\r\n"},
		{"#TYPE line and the header, then a row",
			"#TYPE System.Management.Automation.PSCustomObject\n\"Timestamp\",\"DeviceName\",\"RemoteIP\"\n",
			"\"2026-11-26T09:13:58Z\",\"ws-1\",\"203.0.113.7\"\n"},
		{"byte order mark and a blank line, then a header with tabs and a row",
			"\ufeff\r\n",
			"\"Timestamp\"\t\"DeviceName\"\t\"RemoteIP\"\r\n\"2026-11-26T09:13:58Z\"\t\"ws-1\"\t\"203.0.113.7\"\r\n"},
		{"#TYPE line and a blank line, then a header with semicolons and a row",
			"#TYPE System.Management.Automation.PSCustomObject\r\n\r\n",
			"\"Timestamp\";\"DeviceName\";\"RemoteIP\"\r\n\"2026-11-26T09:13:58Z\";\"ws-1\";\"203.0.113.7\"\r\n"},
		{"#TYPE line, then the header cut in two",
			"#TYPE System.Management.Automation.PSCustomObject\n\"Timestamp\",\"Device",
			"Name\",\"RemoteIP\"\n\"2026-11-26T09:13:58Z\",\"ws-1\",\"203.0.113.7\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, pw := liveStdin(t)
			go pw.Write([]byte(tc.first))
			type result struct {
				b   Batch
				err error
			}
			first := make(chan result, 1)
			go func() {
				b, err := src.Read(context.Background())
				first <- result{b, err}
			}()
			var got []string
			select {
			case r := <-first:
				if r.err != nil {
					t.Fatal(r.err)
				}
				got = append(got, lines(r.b))
				go func() { pw.Write([]byte(tc.rest)); pw.Close() }()
			case <-time.After(200 * time.Millisecond):
				go func() { pw.Write([]byte(tc.rest)); pw.Close() }()
				r := <-first
				if r.err != nil {
					t.Fatal(r.err)
				}
				got = append(got, lines(r.b))
			}
			for {
				b, err := src.Read(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, lines(b))
			}
			// As the same export is read from a file.
			path := writeFile(t, t.TempDir(), "export.csv", tc.first+tc.rest)
			file := mustFileSource(t, FileOptions{Paths: []string{path}})
			defer file.Close(context.Background())
			want := strings.Join(readAll(t, file), "\n")
			want = strings.ReplaceAll(strings.ReplaceAll(want, path+":", "stdin:"), " ERR", "")
			if !strings.Contains(want, `"RemoteIP":"203.0.113.7"`) {
				t.Fatalf("the export read from a file gives\n%s", want)
			}
			if s := strings.Join(got, "\n"); s != want {
				t.Errorf("got\n%s\nwant\n%s", s, want)
			}
		})
	}
}
