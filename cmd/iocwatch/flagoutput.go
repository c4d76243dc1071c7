package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
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
	} else if err != nil {
		// The flag package names a flag "-name" in its errors; the docs
		// and --help write "--name".
		msg := err.Error()
		if fixed := longFlagNames(msg); fixed != msg {
			held := o.buf.String()
			o.buf.Reset()
			o.buf.WriteString(strings.Replace(held, msg, fixed, 1))
			err = errors.New(fixed)
		}
	}
	_, _ = o.buf.WriteTo(w)
	return err
}

// flagNameRE finds a flag name as the flag package's errors write it:
// "…: -name", "for flag -name:", "for -name:".
var flagNameRE = regexp.MustCompile(`(not defined: |needs an argument: |for flag |for )-([A-Za-z0-9][A-Za-z0-9_.-]+)`)

// longFlagNames rewrites the flag names of a flag error of more than one
// letter as --name.
func longFlagNames(msg string) string {
	return flagNameRE.ReplaceAllString(msg, "$1--$2")
}

// parseHeld is fs.Parse through fs's flagOutput, when it has one.
func parseHeld(fs *flag.FlagSet, args []string) error {
	if o, ok := fs.Output().(*flagOutput); ok {
		return o.parse(fs, args)
	}
	return fs.Parse(args)
}

// printUsage writes a command's usage to fs.Output(): "Usage: iocwatch "
// and usage, then its flags as fs.PrintDefaults lists them, but written as
// the docs and messages write them — --name, and -c for a one-letter name
// (the flag package parses either form). A command without flags lists
// none.
func printUsage(fs *flag.FlagSet, usage string) {
	out := fs.Output()
	fmt.Fprintf(out, "Usage: iocwatch %s\n", usage)
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	if b.Len() == 0 {
		return
	}
	io.WriteString(out, "\nFlags:\n")
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		// A flag's line is "  -name", then " argument", or a tab and the
		// usage of a one-letter flag; other lines start with 4 spaces.
		if name, ok := strings.CutPrefix(line, "  -"); ok && len(name) > 1 && !strings.ContainsAny(name[1:2], " \t\n") {
			line = "  --" + name
		}
		io.WriteString(out, line)
	}
}
