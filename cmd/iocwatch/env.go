package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

func newCLIEnv() *cliEnv {
	return &cliEnv{
		stdin:            os.Stdin,
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		stderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		stdoutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
}

// progress draws a one-line progress report on a terminal every interval
// until stopped; on anything else it draws nothing.
type progress struct {
	line *terminalLine
	stop chan struct{}
	done sync.WaitGroup
}

func startProgress(w io.Writer, enabled bool, every time.Duration, line func() string) *progress {
	return newTerminalLine(w).startProgress(enabled, every, line)
}

// terminalLine is a progress line on a terminal (stderr) that output to
// the same terminal (alerts on stdout) can clear before it writes, so
// that the two do not run together on one line; the next tick draws the
// line again.
type terminalLine struct {
	mu    sync.Mutex
	w     io.Writer
	shown bool
}

func newTerminalLine(w io.Writer) *terminalLine { return &terminalLine{w: w} }

func (t *terminalLine) draw(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprint(t.w, "\r\033[K"+s)
	t.shown = s != ""
}

// above returns out, clearing the progress line before each write.
func (t *terminalLine) above(out io.Writer) io.Writer { return &clearingWriter{t: t, out: out} }

type clearingWriter struct {
	t   *terminalLine
	out io.Writer
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	if c.t.shown {
		fmt.Fprint(c.t.w, "\r\033[K")
		c.t.shown = false
	}
	return c.out.Write(p)
}

func (t *terminalLine) startProgress(enabled bool, every time.Duration, line func() string) *progress {
	p := &progress{line: t, stop: make(chan struct{})}
	if !enabled {
		return p
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-p.stop:
				t.draw("")
				return
			case <-tk.C:
				t.draw(line())
			}
		}
	}()
	return p
}

func (p *progress) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.done.Wait()
}

// inputProgress says how far a replay is through its files and, at the
// rate so far, how long the rest takes: ", 37% of 2.98 GB, 12s left"; ""
// when the size is not known (stdin).
func inputProgress(read, total int64, elapsed time.Duration) string {
	return shareDone(read, total, elapsed, humanBytes)
}

// shareDone says what share of total is done and, at the rate so far, how
// long the rest takes: ", 37% of " + size(total) + ", 12s left"; "" when
// total is not known (0).
func shareDone(done, total int64, elapsed time.Duration, size func(int64) string) string {
	if total <= 0 {
		return ""
	}
	frac := min(float64(done)/float64(total), 1)
	s := fmt.Sprintf(", %.0f%% of %s", 100*frac, size(total))
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac).Round(time.Second)
		s += fmt.Sprintf(", %s left", left)
	}
	return s
}

// humanBytes writes n bytes in kB, MB or GB (powers of 1000).
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// humanRate formats a rate as "712.4k/s".
func humanRate(n float64) string { return humanCount(n) + "/s" }

// humanCount formats a count as "712.4k" or "3.00M".
func humanCount(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	default:
		return fmt.Sprintf("%.0f", n)
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
