package main

import (
	"io"
	"strings"

	"github.com/iocwatch/iocwatch/config"
)

// secretWriter replaces every secret value of a config (see configSecrets)
// in what is written through it, line by line: check and lookup print feed
// errors, and a feed server may echo the credentials it was sent into its
// error answer. Text without a newline waits in the buffer until Flush.
// Not safe for concurrent use.
type secretWriter struct {
	w    io.Writer
	repl *strings.Replacer
	buf  []byte
}

// newSecretWriter returns a secretWriter for cfg's secrets.
func newSecretWriter(w io.Writer, cfg *config.Config) *secretWriter {
	s := &secretWriter{w: w}
	var pairs []string
	for _, v := range configSecrets(cfg) {
		if len(v) >= 4 {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	if len(pairs) > 0 {
		s.repl = strings.NewReplacer(pairs...)
	}
	return s
}

// Write buffers p and writes every complete line, redacted.
func (s *secretWriter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	if i := strings.LastIndexByte(string(s.buf), '\n'); i >= 0 {
		if err := s.emit(s.buf[:i+1]); err != nil {
			return 0, err
		}
		s.buf = append(s.buf[:0], s.buf[i+1:]...)
	}
	return len(p), nil
}

// Flush writes what is left without a newline.
func (s *secretWriter) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	err := s.emit(s.buf)
	s.buf = s.buf[:0]
	return err
}

func (s *secretWriter) emit(b []byte) error {
	text := string(b)
	if s.repl != nil {
		text = s.repl.Replace(text)
	}
	_, err := io.WriteString(s.w, text)
	return err
}
