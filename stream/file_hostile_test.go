package stream

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FileOptions.MaxLineBytes: a line is kept whole up to the bound; past it
// the first MaxLineBytes bytes are kept, the rest is dropped, and the
// message carries ErrMessageTooLarge with the line's length.
func TestFileSourceBoundsEachLine(t *testing.T) {
	long := strings.Repeat("x", 300<<10) // longer than the 256 KiB read buffer
	tests := []struct {
		name    string
		content string
		limit   int
		want    []string // kept bytes of each message
		tooLong []int    // line length reported per message; 0: not too long
	}{
		{"a line of exactly the bound is whole", "abcd\n", 4, []string{"abcd"}, []int{0}},
		{"a line one byte over is cut", "abcde\nok\n", 4, []string{"abcd", "ok"}, []int{5, 0}},
		{"CRLF does not count towards the bound", "abcd\r\nabcde\r\n", 4, []string{"abcd", "abcd"}, []int{0, 5}},
		{"a last line without a newline is bounded too", "ok\nabcdefgh", 4, []string{"ok", "abcd"}, []int{0, 8}},
		{"a line longer than the read buffer is cut and measured", long + "\r\n" + "ok\n", 1000, []string{long[:1000], "ok"}, []int{len(long), 0}},
		{"a line longer than the read buffer under the bound is whole", long + "\n", len(long), []string{long}, []int{0}},
		{"a negative bound keeps every line whole", long + "\n", -1, []string{long}, []int{0}},
		{"a blank line over the bound is still reported", strings.Repeat(" ", 10) + "\n", 4, []string{"    "}, []int{10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "e.jsonl", tc.content)
			src, err := NewFileSource(FileOptions{Paths: []string{p}, MaxLineBytes: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []Message
			for {
				b, err := src.Read(context.Background())
				if err != nil {
					break
				}
				for _, m := range b.Messages {
					m.Value = append([]byte(nil), m.Value...)
					msgs = append(msgs, m)
				}
				b.Release()
			}
			if len(msgs) != len(tc.want) {
				t.Fatalf("%d messages, want %d", len(msgs), len(tc.want))
			}
			for i, m := range msgs {
				if string(m.Value) != tc.want[i] {
					t.Errorf("message %d: %d bytes kept, want %d", i, len(m.Value), len(tc.want[i]))
				}
				switch {
				case tc.tooLong[i] == 0 && m.Err != nil:
					t.Errorf("message %d: unexpected error %v", i, m.Err)
				case tc.tooLong[i] != 0 && (!errors.Is(m.Err, ErrMessageTooLarge) || !strings.Contains(m.Err.Error(), "a line of "+strconv.Itoa(tc.tooLong[i])+" bytes")):
					t.Errorf("message %d: error %v, want ErrMessageTooLarge for a line of %d bytes", i, m.Err, tc.tooLong[i])
				}
			}
		})
	}
}

// In follow mode a long line written in pieces, with reads in between, is
// bounded and measured across the pieces.
func TestFileSourceBoundsALineThatGrowsInFollowMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "e.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := NewFileSource(FileOptions{Paths: []string{p}, Follow: true, MaxLineBytes: 1024, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan Message, 1)
	go func() {
		b, err := src.Read(ctx)
		if err != nil {
			close(got)
			return
		}
		m := b.Messages[0]
		m.Value = append([]byte(nil), m.Value...)
		got <- m
	}()
	for range 50 { // 50 pieces of 10 KiB, no newline yet
		if _, err := f.WriteString(strings.Repeat("y", 10<<10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := f.WriteString("\n"); err != nil {
		t.Fatal(err)
	}
	m, ok := <-got
	if !ok {
		t.Fatal("no message")
	}
	if len(m.Value) != 1024 || !errors.Is(m.Err, ErrMessageTooLarge) || !strings.Contains(m.Err.Error(), "a line of 512000 bytes") {
		t.Errorf("kept %d bytes, error %v; want 1024 and a line of 512000 bytes", len(m.Value), m.Err)
	}
}

// A CSV row whose record is longer than the bound is cut like a line, and
// the rows around it are whole.
func TestFileSourceBoundsACSVRow(t *testing.T) {
	header := "Timestamp,DeviceId,DeviceName,ActionType,RemoteIP,RemotePort,ReportId,source_\n"
	row := func(report int, name string) string {
		return "2026-11-26T09:13:58Z,dev,\"" + name + "\",ConnectionSuccess,203.0.113.77,443," + strconv.Itoa(report) + ",DeviceNetworkEvents\n"
	}
	p := writeFile(t, t.TempDir(), "export.csv", header+row(1, "ws-1")+row(2, strings.Repeat("N", 5000))+row(3, "ws-3"))
	src, err := NewFileSource(FileOptions{Paths: []string{p}, Format: "csv", MaxLineBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 3 {
		t.Fatalf("%d messages, want 3", len(b.Messages))
	}
	for i, m := range b.Messages {
		tooLong := errors.Is(m.Err, ErrMessageTooLarge)
		if tooLong != (i == 1) || len(m.Value) > 1024 {
			t.Errorf("row %d: %d bytes, error %v; want only the long row cut to 1024 bytes", i+1, len(m.Value), m.Err)
		}
	}
	if b.Messages[1].Position.Offset != 3 {
		t.Errorf("the long row is at line %d, want 3", b.Messages[1].Position.Offset)
	}
}
