package stream

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/iocwatch/iocwatch/internal/csvtail"
	"github.com/iocwatch/iocwatch/internal/jsonstr"
)

// CSVReader reads an Advanced Hunting CSV export and yields each row as a
// bare JSON record (so one decode path serves all inputs). Columns are
// found by header name, in any order; every non-empty value becomes a JSON
// string, AdditionalFields included (the decoder parses the JSON it holds).
//
// Each record carries a "Table" key: the row's source_ column (written by
// `find` queries), else its Type column, else the table inferred from the
// header — Protocol or RemoteIPType → DeviceNetworkEvents; else FileName or
// FileOriginUrl → DeviceEvents; else DeviceNetworkEvents. Header columns
// named Table or category are not copied, so that key decides.
//
// The zero value is not usable: call NewCSVReader. A CSVReader is not safe
// for concurrent use.
type CSVReader struct {
	r        *csv.Reader
	name     string
	header   []string
	keep     []bool // columns copied into the record
	tableCol int    // source_ column, or -1
	typeCol  int    // Type column, or -1
	table    string // inferred from the header
	buf      []byte
	row      []string // the fields of the last row read
	skipped  int      // lines before what r reads (a #TYPE line; what an unclosed quote swallowed)
	end      int      // the last line of the last row read, or of the header
	tail     *csvtail.Reader
}

// csvRowError is Next's error for a malformed row: "name:line: what"; the
// file source, whose positions name the file and line already, passes on
// what alone, with the row's text (when known) as the message.
type csvRowError struct {
	name string
	line int
	err  error
	text string // the row's fields joined by the delimiter; "" when not known
}

func (e *csvRowError) Error() string { return fmt.Sprintf("%s:%d: %v", e.name, e.line, e.err) }
func (e *csvRowError) Unwrap() error { return e.err }

// newCSV returns the reader of an export's rows: stray quotes kept as
// text, any field count (a row that differs from the header is an error
// of Next's), records reused.
func newCSV(r io.Reader, comma rune) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// NewCSVReader reads the header row of an Advanced Hunting CSV export from
// r: after an optional byte order mark, the #TYPE line of PowerShell's
// Export-Csv and blank lines (of spaces and tabs, if any), which keep
// their line numbers. The field separator — a comma, a semicolon or a tab
// — is told from the header line (see csvDelimiter). name (the file name)
// prefixes every error. The header is unusable — an error naming the file
// — when it cannot be read or names no Defender column at all. Of a live
// input, no more than the header line is waited for.
func NewCSVReader(r io.Reader, name string) (*CSVReader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	limit := min(br.Size(), 64<<10)
	head := peekCSVLine(br, limit)
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		// Dropped before the CSV reader: a mark before a quoted field
		// would make the quotes part of the column's name.
		br.Discard(3)
		head = peekCSVLine(br, limit)
	}
	skipped := 0
	if typeLine(head) {
		// Windows PowerShell's Export-Csv writes "#TYPE <class>" first.
		if _, err := br.ReadSlice('\n'); err != nil {
			return nil, fmt.Errorf("%s: empty file: want an Advanced Hunting CSV header", name)
		}
		skipped = 1
		head = peekCSVLine(br, limit)
	}
	// Blank lines before the header, which the separator is told from.
	// (The CSV reader would skip empty ones, not those of spaces.)
	for len(head) > 0 && len(bytes.Trim(head, " \t\r\n")) == 0 {
		br.Discard(len(head))
		if head[len(head)-1] == '\n' {
			skipped++
		} else if len(head) < limit {
			break // the input's end
		}
		head = peekCSVLine(br, limit)
	}
	tail := csvtail.New(br)
	cr := newCSV(tail, csvDelimiter(firstLine(head)))
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file: want an Advanced Hunting CSV header", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: CSV header: %w", name, err)
	}
	c := &CSVReader{r: cr, tail: tail, name: name, tableCol: -1, typeCol: -1, keep: make([]bool, len(header)), skipped: skipped}
	c.end = c.endLine(header)
	cr.ReuseRecord = true
	known, has := 0, map[string]bool{} // known: event columns, not routing ones
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.TrimSpace(h)
		header[i] = h
		has[h] = true
		if lookupKey([]byte(h)) >= colTimestamp {
			known++
		}
		switch h {
		case "", "Table", "category":
			continue
		case "source_":
			c.tableCol = i
		case "Type":
			c.typeCol = i
		}
		c.keep[i] = true
	}
	if known == 0 {
		head := strings.Join(header, ",")
		if len(head) > 80 {
			head = head[:80] + "…"
		}
		return nil, fmt.Errorf("%s:%d: CSV header names no Defender column (want Timestamp, DeviceName, RemoteIP, RemoteUrl, …), got %q", name, skipped+1, head)
	}
	c.header = header
	switch {
	case has["Protocol"] || has["RemoteIPType"]:
		c.table = "DeviceNetworkEvents"
	case has["FileName"] || has["FileOriginUrl"]:
		c.table = "DeviceEvents"
	default:
		c.table = "DeviceNetworkEvents"
	}
	return c, nil
}

// Next returns the next row as a JSON bare record and its 1-based line
// number, or io.EOF after the last row. A malformed row (a field count
// that differs from the header's, a broken quote) gives an error naming
// name:line, and the next call reads on. The record is reused by the next
// call to Next: copy it to keep it.
func (c *CSVReader) Next() (record []byte, line int, err error) {
	row, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			l := pe.StartLine + c.skipped
			c.end = pe.Line + c.skipped
			return nil, l, &csvRowError{name: c.name, line: l, err: fmt.Errorf("malformed CSV row: %w", pe.Err)}
		}
		return nil, 0, fmt.Errorf("%s: %w", c.name, err)
	}
	c.row = row
	line, _ = c.r.FieldPos(0)
	line += c.skipped
	c.end = c.endLine(row)
	if c.tail.Unclosed(c.r, row) {
		// The quote swallowed the rest of the file: this row is broken,
		// the rows it swallowed are read again.
		rest, at := csvtail.Rest(c.r, row)
		first, _, _ := strings.Cut(row[len(row)-1], "\n")
		text := strings.Join(append(row[:len(row)-1:len(row)-1], `"`+first), string(c.r.Comma))
		err := &csvRowError{name: c.name, line: line, err: fmt.Errorf("malformed CSV row: the quote opened on line %d is never closed", c.skipped+at), text: text}
		c.skipped += at
		c.end = c.skipped // the row ends with the line its quote opens on
		c.tail = csvtail.New(strings.NewReader(rest))
		c.r = newCSV(c.tail, c.r.Comma)
		return nil, line, err
	}
	if len(row) != len(c.header) {
		return nil, line, &csvRowError{name: c.name, line: line, err: fmt.Errorf("malformed CSV row: %d fields, the header has %d", len(row), len(c.header)),
			text: strings.Join(row, string(c.r.Comma))}
	}
	table := c.table
	if c.tableCol >= 0 && row[c.tableCol] != "" {
		table = row[c.tableCol]
	} else if c.typeCol >= 0 && row[c.typeCol] != "" {
		table = row[c.typeCol]
	}
	b := append(c.buf[:0], `{"Table":`...)
	b = jsonstr.Append(b, table)
	for i, v := range row {
		if v == "" || !c.keep[i] {
			continue
		}
		b = append(b, ',')
		b = jsonstr.Append(b, c.header[i])
		b = append(b, ':')
		b = jsonstr.Append(b, v)
	}
	b = append(b, '}')
	c.buf = b
	return b, line, nil
}

// endLine is the last line of rec, the record r has just read: the line
// its last field starts on, and one more for each line break that field
// holds (a quoted field may hold some).
func (c *CSVReader) endLine(rec []string) int {
	if len(rec) == 0 {
		return c.end
	}
	line, _ := c.r.FieldPos(len(rec) - 1)
	return line + c.skipped + strings.Count(rec[len(rec)-1], "\n")
}

// lastLine is the last line of the last row Next read (well-formed or
// not), or of the header before the first row.
func (c *CSVReader) lastLine() int { return c.end }

// LooksLikeCSV reports whether the first bytes of a file look like a CSV
// header rather than JSON: after an optional byte order mark, the #TYPE
// line of PowerShell's Export-Csv and blank space, the first line does
// not start with { or [ and either holds a comma, names a Defender column
// between semicolons or tabs (a CSV saved by Excel in a locale whose list
// separator is ';', or tab-separated text), or is a single Defender
// column name.
func LooksLikeCSV(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if typeLine(head) {
		_, head, _ = bytes.Cut(head, []byte("\n"))
	}
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || head[0] == '{' || head[0] == '[' {
		return false
	}
	head = firstLine(head)
	if bytes.IndexByte(head, ',') >= 0 {
		return true
	}
	if d := csvDelimiter(head); d != ',' {
		return true
	}
	name := bytes.Trim(bytes.TrimSpace(head), `"`)
	return lookupKey(name) >= 0
}

// peekCSVLine returns br's next line, with its line end, without reading
// it: at most n bytes of it, and of a live input no more than has come
// when the line is whole.
func peekCSVLine(br *bufio.Reader, n int) []byte {
	head := peekUntil(br, n, func(head []byte) bool { return bytes.IndexByte(head, '\n') >= 0 })
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	return head
}

// firstLine returns head up to its first line end.
func firstLine(head []byte) []byte {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	return bytes.TrimSuffix(head, []byte("\r"))
}

// csvDelimiter picks the field separator of a header line: of ',', ';'
// and tab, the one that splits it into the most Defender column names
// (',' when none does better).
func csvDelimiter(header []byte) rune {
	header = bytes.TrimPrefix(header, []byte("\xef\xbb\xbf"))
	best, bestN := ',', 0
	for _, d := range []byte{',', ';', '\t'} {
		n := 0
		for _, f := range bytes.Split(header, []byte{d}) {
			if lookupKey(bytes.Trim(bytes.TrimSpace(f), `"`)) >= colTimestamp {
				n++
			}
		}
		if n > bestN {
			best, bestN = rune(d), n
		}
	}
	return best
}

// typeLine reports whether head starts with the "#TYPE <class>" line that
// Windows PowerShell's Export-Csv writes before the header (unless told
// -NoTypeInformation).
func typeLine(head []byte) bool {
	return bytes.HasPrefix(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), []byte("#TYPE "))
}
