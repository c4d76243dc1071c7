package config

import (
	"errors"
	"strconv"
	"strings"
)

// Error is one problem in a configuration: a syntax or type error, an
// unknown key, an unset environment variable or a failed check. Load, Parse,
// LoadExclusions and Validate return one Error, or several joined with
// errors.Join; errors.As finds them.
//
// Its text is "file:line: key.path: message", leaving out what is unknown.
// The zero value is an empty message. An Error is immutable once returned.
type Error struct {
	File string // the file name as given to Load or Parse; "" for a Config built in code
	Line int    // 1-based line; 0 when unknown
	Path string // key path such as "sinks[1].webhook.url"; "" when the message names its place
	Err  error  // what is wrong; never holds a secret
}

// Error formats the problem as "file:line: key.path: message".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// errorList collects problems in the order found.
type errorList []error

func (l *errorList) add(file string, line int, path string, err error) {
	*l = append(*l, &Error{File: file, Line: line, Path: path, Err: err})
}

func (l errorList) join() error {
	if len(l) == 0 {
		return nil
	}
	return errors.Join(l...)
}
