package main

import (
	"io"
	"strings"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/config"
)

// secretWriter replaces every secret value of a config (see configSecrets:
// the secrets and the credentials written in URLs, in every form
// ops.Redactor.Values knows) in what is written through it, line by line:
// check and lookup print feed errors, and a feed server may echo the
// credentials it was sent into its error answer. Text shaped like a
// credential but not one of the config's is left alone (lookup prints
// indicator URLs as they are). Text without a newline waits in the buffer
// until Flush. Not safe for concurrent use.
type secretWriter struct {
	w   io.Writer
	r   *ops.Redactor
	buf []byte
}

// newSecretWriter returns a secretWriter for cfg's secrets.
func newSecretWriter(w io.Writer, cfg *config.Config) *secretWriter {
	return &secretWriter{w: w, r: ops.NewRedactor(configSecrets(cfg)...)}
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
	_, err := io.WriteString(s.w, s.r.Values(string(b)))
	return err
}

// redactError returns err with cfg's secrets (configSecrets) removed from
// its text, for the final error line a command prints: a peer may have
// echoed a credential into it. errors.Is and errors.As still see err.
func redactError(err error, cfg *config.Config) error {
	if err == nil {
		return nil
	}
	text := ops.NewRedactor(configSecrets(cfg)...).String(err.Error())
	if text == err.Error() {
		return err
	}
	return redactedError{err: err, text: text}
}

// redactedError is an error whose text had secrets removed.
type redactedError struct {
	err  error
	text string
}

func (e redactedError) Error() string { return e.text }
func (e redactedError) Unwrap() error { return e.err }
