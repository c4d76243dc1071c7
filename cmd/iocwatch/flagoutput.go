package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
)

// flagOutput is the output of a command's flag set. While the flags are
// parsed it holds what the flag package writes (an error, the usage), so
// that help asked for with -h or --help goes to standard output, where
// `iocwatch replay --help | less` finds it, and the usage shown with a
// flag error goes to standard error; outside parsing (a command showing
// its usage itself) it writes to standard error.
type flagOutput struct {
	stdout, stderr io.Writer
	parsing        bool
	buf            bytes.Buffer
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if o.parsing {
		return o.buf.Write(p)
	}
	return o.stderr.Write(p)
}

// parse runs fs.Parse(args) with what it writes held, then sends that to
// standard output when help was asked for, else to standard error.
func (o *flagOutput) parse(fs *flag.FlagSet, args []string) error {
	o.parsing = true
	err := fs.Parse(args)
	o.parsing = false
	w := o.stderr
	if errors.Is(err, flag.ErrHelp) {
		w = o.stdout
	}
	_, _ = o.buf.WriteTo(w)
	return err
}

// parseHeld is fs.Parse through fs's flagOutput, when it has one.
func parseHeld(fs *flag.FlagSet, args []string) error {
	if o, ok := fs.Output().(*flagOutput); ok {
		return o.parse(fs, args)
	}
	return fs.Parse(args)
}
