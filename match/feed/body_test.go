package feed

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/match"
)

// readLimited reads the whole content whatever the size hint says, and
// still refuses content past max.
func TestReadLimitedIgnoresAWrongSizeHint(t *testing.T) {
	content := strings.Repeat("20.0.0.1\n", 1000)
	tests := []struct {
		name    string
		max     int64
		size    int64
		wantErr error
	}{
		{"no hint", 1 << 20, 0, nil},
		{"the right hint", 1 << 20, int64(len(content)), nil},
		{"a hint too small", 1 << 20, 10, nil},
		{"a hint too large", 1 << 20, 1 << 30, nil},
		{"content past max with a hint saying it fits", 100, 50, errTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readLimited(strings.NewReader(content), tt.max, tt.size)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != content {
				t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(content))
			}
			if tt.size == int64(len(content)) && cap(got) > len(content)+2*bytes.MinRead {
				t.Errorf("with the right hint the buffer holds %d bytes for %d", cap(got), len(content))
			}
		})
	}
}

func TestGzipSizeReadsTheTrailer(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 100_000} {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(bytes.Repeat([]byte{'a'}, n))
		zw.Close()
		if got := gzipSize(b.Bytes()); got != int64(n) {
			t.Errorf("gzipSize of %d bytes = %d", n, got)
		}
	}
	if got := gzipSize([]byte{1, 2, 3}); got != 0 {
		t.Errorf("gzipSize of 3 bytes = %d, want 0", got)
	}
}

func TestSizeHintEstimatesTheIndicators(t *testing.T) {
	listed := func(n int) *feedState {
		l := match.NewList(n)
		for range n {
			l.Append(match.Indicator{Kind: match.KindDomain, Value: "x.example"})
		}
		return &feedState{listed: l}
	}
	tests := []struct {
		name string
		fs   *feedState
		body string
		want int
	}{
		{"a reload: the last count and a sixteenth", listed(1600), "a\nb\n", 1700},
		{"a first load of lines: the line count", listed(0), "20.0.0.1\n20.0.0.2\nevil.example", 3},
		{"a first load of JSON: none", listed(0), "\n  {\"type\": \"bundle\"}\n", 0},
		{"a first load of a JSON array: none", listed(0), "[{}]", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sizeHint(tt.fs, []byte(tt.body)); got != tt.want {
				t.Errorf("sizeHint = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestInflateHintTrustsTheStatedSizeOnlyAsFarAsTheCompressedOne(t *testing.T) {
	tests := []struct{ stated, compressed, want int64 }{
		{1000, 200, 1000},
		{1 << 30, 100, 100 * maxInflateHint},
		{0, 100, 0},
	}
	for _, tt := range tests {
		if got := inflateHint(tt.stated, tt.compressed); got != tt.want {
			t.Errorf("inflateHint(%d, %d) = %d, want %d", tt.stated, tt.compressed, got, tt.want)
		}
	}
}
