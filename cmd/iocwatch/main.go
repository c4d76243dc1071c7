package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes, documented in README.md and "iocwatch help".
const (
	exitOK      = 0 // success
	exitFailure = 1 // a failure while running, or check/lookup found problems
	exitUsage   = 2 // bad command line or configuration: nothing was started
)

// usageError marks errors that are the user's command line or config.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

type command struct {
	name, summary string
	run           func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what a command may touch: streams, so tests can drive commands.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// stderrIsTerminal enables progress bars.
	stderrIsTerminal bool
	stdoutIsTerminal bool
}

func commands() []command {
	return []command{
		{"run", "watch a source (file, stdin, Kafka, Event Hubs) and deliver alerts", cmdRun},
		{"replay", "match exported events (JSON lines, Advanced Hunting CSV, Event Hubs Capture) and print a summary", cmdReplay},
		{"check", "load the config, feeds and exclusions; report counts and every problem", cmdCheck},
		{"lookup", "which indicators and exclusions apply to an IP, domain or URL", cmdLookup},
		{"demo", "zero set-up demo: embedded Kafka broker, live generated stream, alerts as they happen", cmdDemo},
		{"hunt", "search the retro-hunt history: who talked to an IP, domain or URL", cmdHunt},
		{"gen", "generate a seeded Defender stream with planted hits (stdout, file, Kafka, Event Hubs)", cmdGen},
		{"bench", "measure throughput, latency and memory against reference implementations", cmdBench},
		{"version", "which iocwatch this is: version, commit, Go release, platform", cmdVersion},
	}
}

const helpText = `iocwatch — real-time C2 detection over the Microsoft Defender event stream.

Usage:
  iocwatch <command> [flags] [args]

Commands:
%s
Run "iocwatch help <command>" or "iocwatch <command> -h" for a command's flags.

run, replay, check and lookup take -c FILE (a YAML config, see
docs/configuration.md) or, for ad-hoc use, --feed [NAME=]FILE (repeatable),
--exclusions FILE and --allow FILE; hunt takes -c FILE.

Exit codes:
  0  success
  1  a failure while running; check or lookup found problems
  2  bad command line or configuration (nothing was started)
`

func printHelp(w io.Writer) {
	list := ""
	for _, c := range commands() {
		list += fmt.Sprintf("  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, helpText, list)
}

func main() {
	// The first SIGINT or SIGTERM stops gracefully (ctx ends); a second
	// one stops at once, for an operator who will not wait for a sink
	// that hangs.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "iocwatch: a second signal: stopping now, without waiting for batches in flight or the sinks")
		os.Exit(exitFailure)
	}()
	code := runMain(ctx, newCLIEnv(), os.Args[1:])
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// runMain dispatches to a command and maps its error to an exit code.
func runMain(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 {
		printHelp(env.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		if name == "help" && len(args) > 1 && !strings.HasPrefix(args[1], "-") {
			// help COMMAND: the command's own usage.
			return runMain(ctx, env, []string{args[1], "--help"})
		}
		printHelp(env.stdout)
		return exitOK
	case "--version", "-version":
		name, args = "version", append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errHelp):
			return exitOK
		case errors.As(err, new(usageError)):
			fmt.Fprintf(env.stderr, "iocwatch %s: %v\n", name, err)
			return exitUsage
		case errors.Is(err, errProblemsFound):
			return exitFailure
		default:
			fmt.Fprintf(env.stderr, "iocwatch %s: %v\n", name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(env.stderr, "iocwatch: unknown command %q\n\n", name)
	printHelp(env.stderr)
	return exitUsage
}

var (
	errHelp          = errors.New("help shown")
	errProblemsFound = errors.New("problems found")
)
