package textenc

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

const sample = "# C2 list\r\n203.0.113.77\r\nevil.example.com\r\nпример.рф\r\n"

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want Encoding
	}{
		{"UTF-8", []byte(sample), UTF8},
		{"UTF-8 with a byte order mark", append([]byte("\xef\xbb\xbf"), sample...), UTF8},
		{"empty", nil, UTF8},
		{"one byte", []byte("a"), UTF8},
		{"UTF-16LE with a byte order mark", Encode(sample, UTF16LE, true), UTF16LE},
		{"UTF-16BE with a byte order mark", Encode(sample, UTF16BE, true), UTF16BE},
		{"UTF-16LE without one", Encode(sample, UTF16LE, false), UTF16LE},
		{"UTF-16BE without one", Encode(sample, UTF16BE, false), UTF16BE},
		{"only a byte order mark", []byte{0xff, 0xfe}, UTF16LE},
		{"UTF-32LE is not UTF-16", []byte{0xff, 0xfe, 0, 0, 'a', 0, 0, 0}, UTF8},
		{"Cyrillic UTF-16LE without a mark is not guessed", Encode("пример.рф пример.рф", UTF16LE, false), UTF8},
		{"binary with scattered zeros", []byte("a\x00\x00b\x00c\x00\x00d\x00\x00e"), UTF8},
		{"all zeros", make([]byte, 64), UTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sniff(tc.head); got != tc.want {
				t.Errorf("Sniff = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNewReaderTranscodesToUTF8(t *testing.T) {
	for _, tc := range []struct {
		e   Encoding
		bom bool
	}{{UTF16LE, true}, {UTF16LE, false}, {UTF16BE, true}, {UTF16BE, false}} {
		in := Encode(sample, tc.e, tc.bom)
		got, err := io.ReadAll(NewReader(bytes.NewReader(in), Sniff(in)))
		if err != nil {
			t.Fatalf("%s bom=%v: %v", tc.e, tc.bom, err)
		}
		if string(got) != sample {
			t.Errorf("%s bom=%v: read %q, want %q", tc.e, tc.bom, got, sample)
		}
	}
	// A long text crosses the transformer's buffers, and a surrogate pair
	// (an emoji) may straddle them.
	long := strings.Repeat("line 😀 ok\n", 10000)
	in := Encode(long, UTF16LE, true)
	got, err := io.ReadAll(NewReader(bytes.NewReader(in), UTF16LE))
	if err != nil || string(got) != long {
		t.Errorf("long text: %d bytes back (err %v), want %d", len(got), err, len(long))
	}
	// UTF-8 passes through untouched.
	r := strings.NewReader(sample)
	if NewReader(r, UTF8) != io.Reader(r) {
		t.Error("NewReader(UTF8) wrapped the reader")
	}
}

// SniffReader decides from the reader's next bytes and leaves them unread.
func TestSniffReaderLeavesTheBytesUnread(t *testing.T) {
	in := Encode(strings.Repeat(sample, 20), UTF16BE, false)
	br := bufio.NewReaderSize(bytes.NewReader(in), 16)
	if e := SniffReader(br); e != UTF16BE {
		// A 16-byte buffer peeks 16 bytes: enough for mostly ASCII text.
		t.Fatalf("SniffReader = %s through a 16-byte buffer, want UTF-16BE", e)
	}
	br = bufio.NewReader(bytes.NewReader(in))
	if e := SniffReader(br); e != UTF16BE {
		t.Fatalf("SniffReader = %s, want UTF-16BE", e)
	}
	rest, _ := io.ReadAll(br)
	if !bytes.Equal(rest, in) {
		t.Error("SniffReader consumed bytes")
	}
}

// An unpaired surrogate becomes U+FFFD; the rest of the line survives.
func TestAnUnpairedSurrogateIsReplaced(t *testing.T) {
	in := []byte{0xff, 0xfe, 'a', 0, 0x00, 0xd8, 'b', 0, '\n', 0}
	got, err := io.ReadAll(NewReader(bytes.NewReader(in), Sniff(in)))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a\uFFFDb\n" {
		t.Errorf("read %q", got)
	}
}

// Whatever the bytes, Sniff does not panic and NewReader yields valid
// UTF-8 for UTF-16 input.
func FuzzSniffAndRead(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(Encode(sample, UTF16LE, true))
	f.Add(Encode(sample, UTF16BE, false))
	f.Add([]byte{0xff, 0xfe, 0x00, 0xd8})
	f.Add([]byte{0xfe, 0xff, 0xd8})
	f.Fuzz(func(t *testing.T, in []byte) {
		e := Sniff(in)
		out, err := io.ReadAll(NewReader(bytes.NewReader(in), e))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if e != UTF8 && !utf8.Valid(out) {
			t.Fatalf("%s input %q gave invalid UTF-8 %q", e, in, out)
		}
		if e == UTF8 && !bytes.Equal(out, in) {
			t.Fatalf("UTF-8 input changed")
		}
	})
}
