package csvtail

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestUnclosed(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     bool   // the last record is an unclosed quote
		rest     string // what it swallowed after its first line
		line     int
	}{
		{"an unclosed quote swallows the rest", "a,b\n1,\"x\n2,ok\n3,ok\n", true, "2,ok\n3,ok\n", 2},
		{"without a final newline", "a,b\n1,\"x\n2,ok", true, "2,ok", 2},
		{"CRLF", "a,b\r\n1,\"x\r\n2,ok\r\n", true, "2,ok\n", 2},
		{"a closed quoted field over two lines, last", "a,b\n1,\"two\nlines\"\n", false, "", 0},
		{"a closed quoted field over two lines, last, no final newline", "a,b\n1,\"two\nlines\"", false, "", 0},
		{"a closed quoted field over two lines, then a row", "a,b\n1,\"two\nlines\"\n2,ok\n", false, "", 0},
		{"plain rows", "a,b\n1,x\n2,y\n", false, "", 0},
		{"a bare quote inside an unquoted field", "a,b\n1,say \"hi\"\n", false, "", 0},
		{"an unclosed quote on the last line alone", "a,b\n1,\"x\n", true, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(strings.NewReader(tc.in))
			cr := csv.NewReader(tr)
			cr.LazyQuotes, cr.FieldsPerRecord = true, -1
			var got bool
			var rest string
			var line int
			for {
				rec, err := cr.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if tr.Unclosed(cr, rec) {
					got = true
					rest, line = Rest(cr, rec)
				}
			}
			if got != tc.want || rest != tc.rest || line != tc.line {
				t.Errorf("unclosed %v, rest %q at line %d; want %v, %q, %d", got, rest, line, tc.want, tc.rest, tc.line)
			}
		})
	}
}
