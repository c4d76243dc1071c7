package sink

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// StdoutOptions configures NewStdout. The zero value writes native JSON
// lines.
type StdoutOptions struct {
	// Format is the JSON shape of each line: FormatNative (default, also
	// for "") or FormatOCSF. Ignored when Human is set.
	Format Format
	// Human writes one readable line per alert instead of JSON, for a
	// terminal:
	//
	//	2026-11-26T09:13:58.120Z ws-0142.corp.example rundll32.exe (ana) → 203.0.113.77:443 update.bad-cdn.example  domain:bad-cdn.example [threatfox, high]
	//
	// that is: event time (UTC, ms), device, process (account), → remote
	// address and RemoteUrl, then the indicator as kind:value with its
	// source and severity. Retro alerts end with "retro", summaries with
	// "×N repeats first…last". Control characters, invalid UTF-8 and
	// bidirectional-override characters are escaped (\n, \x1b, \u202e) so
	// a hostile value can neither break the line nor drive the terminal.
	Human bool
}

// Stdout is a Sink that writes each alert as one line to an io.Writer
// (usually os.Stdout). Each Write encodes its whole batch first and hands
// it to the writer in one Write call, so concurrent batches never
// interleave; an alert that cannot be encoded is refused alone. Write returns once the writer accepted the bytes. Close does
// not close the writer. The zero value is not usable: use NewStdout. Safe
// for concurrent use.
type Stdout struct {
	mu     sync.Mutex
	w      io.Writer
	opt    StdoutOptions
	buf    []byte
	closed bool
}

// NewStdout returns a Stdout sink writing to w. It fails on an unknown
// opt.Format.
func NewStdout(w io.Writer, opt StdoutOptions) (*Stdout, error) {
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if err := opt.Format.Validate(); err != nil {
		return nil, fmt.Errorf("stdout sink: %w", err)
	}
	return &Stdout{w: w, opt: opt}, nil
}

// Write writes one line per alert. An alert that cannot be encoded (a time
// outside years 0–9999) is refused alone, with a permanent *RefusedError
// naming it, after the others are written.
func (s *Stdout) Write(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stdout sink: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("stdout sink: %w", ErrClosed)
	}
	b := s.buf[:0]
	var refused Refusals
	for i := range alerts {
		if s.opt.Human {
			b = AppendHuman(b, &alerts[i])
		} else {
			start := len(b)
			var err error
			if b, err = EncodeJSON(b, &alerts[i], s.opt.Format); err != nil {
				b = b[:start]
				refused.Add(i, fmt.Errorf("stdout sink: %w", err))
				continue
			}
		}
		b = append(b, '\n')
	}
	if cap(b) <= 1<<20 {
		s.buf = b
	}
	if len(b) == 0 {
		return refused.Err()
	}
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("stdout sink: write %d alerts: %w", len(alerts), err)
	}
	return refused.Err()
}

// Close stops the sink: later Writes return ErrClosed. Every Write has
// already handed its bytes to the writer, so there is nothing to flush.
// It is safe to call twice.
func (s *Stdout) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// AppendHuman appends the one-line readable form of a (see
// StdoutOptions.Human), without a newline. It never fails: times are
// written as given, and zero fields are left out.
func AppendHuman(b []byte, a *Alert) []byte {
	if !a.Timestamp.IsZero() {
		b = a.Timestamp.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	} else {
		b = append(b, '-')
	}
	if a.DeviceName != "" {
		b = append(b, ' ')
		b = appendHumanField(b, a.DeviceName)
	}
	name := a.FileName
	if name == "" {
		name = pathBase(a.FolderPath)
	}
	if name != "" {
		b = append(b, ' ')
		b = appendHumanField(b, name)
	}
	if a.AccountName != "" {
		b = append(b, " ("...)
		b = appendHumanField(b, a.AccountName)
		b = append(b, ')')
	}
	b = append(b, " →"...)
	if a.RemoteIP != "" {
		b = append(b, ' ')
		if a.RemotePort != 0 && containsByte(a.RemoteIP, ':') {
			b = append(b, '[')
			b = appendHumanField(b, a.RemoteIP)
			b = append(b, ']')
		} else {
			b = appendHumanField(b, a.RemoteIP)
		}
		if a.RemotePort != 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(a.RemotePort), 10)
		}
	}
	if a.RemoteURL != "" {
		b = append(b, ' ')
		b = appendHumanField(b, a.RemoteURL)
	}
	b = append(b, "  "...)
	b = appendHumanField(b, a.Indicator.Kind)
	b = append(b, ':')
	b = appendHumanField(b, a.Indicator.Value)
	if a.Indicator.Source != "" || a.Indicator.Severity != "" {
		b = append(b, " ["...)
		b = appendHumanField(b, a.Indicator.Source)
		if a.Indicator.Source != "" && a.Indicator.Severity != "" {
			b = append(b, ", "...)
		}
		b = appendHumanField(b, a.Indicator.Severity)
		b = append(b, ']')
	}
	if a.Retro {
		b = append(b, " retro"...)
	}
	if a.RepeatCount > 0 {
		b = append(b, " ×"...)
		b = strconv.AppendInt(b, int64(a.RepeatCount), 10)
		b = append(b, " repeats"...)
		if !a.FirstSeen.IsZero() && !a.LastSeen.IsZero() {
			b = append(b, ' ')
			b = a.FirstSeen.UTC().AppendFormat(b, time.TimeOnly)
			b = append(b, "…"...)
			b = a.LastSeen.UTC().AppendFormat(b, time.TimeOnly)
		}
	}
	return b
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// appendHumanField appends s with control characters, invalid UTF-8 and
// bidirectional controls escaped, Go-style.
func appendHumanField(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, '\\', 'x', jsonHex[c>>4], jsonHex[c&0xF])
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x7f:
			b = append(b, '\\', 'x', jsonHex[r>>4], jsonHex[r&0xF])
		case r >= 0x80 && r < 0xa0, // C1 controls
			r == '\u061c', r == '\u200e', r == '\u200f', // bidi marks
			r >= '\u202a' && r <= '\u202e', // bidi embeddings and overrides
			r >= '\u2066' && r <= '\u2069', // bidi isolates
			r == '\u2028', r == '\u2029':
			b = append(b, '\\', 'u')
			b = append(b, jsonHex[r>>12&0xF], jsonHex[r>>8&0xF], jsonHex[r>>4&0xF], jsonHex[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}
