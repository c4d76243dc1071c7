package main

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/stream"
)

// Checks of command-line values: a bad value is a usage error (exit 2)
// naming its flag, found before anything starts.

// checkMetricsListen checks run's --metrics-listen as metrics.listen is
// checked: host:port, or off.
func checkMetricsListen(addr string) error {
	if addr == "" || addr == "off" {
		return nil
	}
	if err := config.CheckListenAddr("--metrics-listen", addr); err != nil {
		return usageError{err}
	}
	return nil
}

// checkEventsFormat checks replay's --events-format against the files it
// applies to: a Capture (Avro) file is binary, so it cannot be read as
// JSON lines or CSV, nor anything else as Avro. Files that cannot be
// opened, and stdin, are left to the file source.
func checkEventsFormat(format string, paths []string) error {
	switch format {
	case "", "auto":
		return nil
	case "jsonl", "csv", "avro":
	default:
		return usagef("--events-format: unknown format %q (want auto, jsonl, csv or avro)", format)
	}
	files, err := stream.ExpandPaths(paths)
	if err != nil {
		return nil // the file source says what is wrong
	}
	for _, p := range files {
		avro, ok := isCaptureFile(p)
		switch {
		case !ok:
		case format == "avro" && !avro:
			return usagef("--events-format avro: %s is not an Event Hubs Capture (Avro) file (--events-format auto detects each file's format)", p)
		case format != "avro" && avro:
			return usagef("--events-format %s: %s is an Event Hubs Capture (Avro) file (use --events-format avro or auto)", format, p)
		}
	}
	return nil
}

// isCaptureFile reports whether the regular file p, once decompressed,
// starts as an Avro file does; ok is false when p was not read.
func isCaptureFile(p string) (avro, ok bool) {
	if p == "-" {
		return false, false
	}
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return false, false // a FIFO would block
	}
	f, err := os.Open(p)
	if err != nil {
		return false, false
	}
	defer f.Close()
	zr, _, err := decompress.Unpack(bufio.NewReader(f))
	if err != nil {
		return false, false
	}
	defer zr.Close()
	head, _ := bufio.NewReader(zr).Peek(4)
	if len(head) == 0 {
		return false, false // empty: nothing to read either way
	}
	return stream.LooksLikeAvro(head), true
}

// checkSHA256 checks lookup's --sha256: 64 hex digits, as an exclusion's
// process_sha256 is.
func checkSHA256(v string) error {
	if v == "" {
		return nil
	}
	if len(v) != 64 || strings.IndexFunc(v, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	}) >= 0 {
		return usagef("--sha256 %q: want a SHA-256, 64 hex digits", v)
	}
	return nil
}

// watchedTable returns the watched table lookup's --table names, with or
// without the "AdvancedHunting-" prefix, in any case: an exclusion's
// table condition can only meet those.
func watchedTable(v string) (string, error) {
	t := v
	if len(t) > len("AdvancedHunting-") && strings.EqualFold(t[:len("AdvancedHunting-")], "AdvancedHunting-") {
		t = t[len("AdvancedHunting-"):]
	}
	for _, w := range []string{"DeviceNetworkEvents", "DeviceEvents"} {
		if strings.EqualFold(t, w) {
			return w, nil
		}
	}
	return "", usagef("--table %q: want DeviceNetworkEvents or DeviceEvents, the tables iocwatch watches", v)
}

// checkHistoryDir checks that the history hunt is to search is a
// directory; flag names where it came from (--history or history.path).
func checkHistoryDir(flag, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s %s: no such directory (give the history.path run writes to)", flag, dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return usagef("%s %s: not a directory", flag, dir)
	}
	return nil
}
