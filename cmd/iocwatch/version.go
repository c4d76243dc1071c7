package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release this binary is, when the build says so: release
// builds set it with -ldflags "-X main.version=v1.2.3". Otherwise
// describeBuild takes the module version the go command recorded.
var version string

// buildDesc says which iocwatch this is, for `iocwatch version`, the run
// log, iocwatch_build_info and the status page.
type buildDesc struct {
	Version  string // main.version, else the module's version (go install …@v1.2.3, or a checkout's pseudo-version), else "devel"
	Revision string // the commit the binary was built from, when the go command recorded it
	Time     string // that commit's time (RFC 3339)
	Modified bool   // built from a work tree with uncommitted changes
	Go       string // the Go release that built it
}

// describeBuild reads what the linker and the go command recorded.
func describeBuild() buildDesc {
	return describe(version, debug.ReadBuildInfo)
}

// describe is describeBuild with its inputs given (for tests).
func describe(linked string, read func() (*debug.BuildInfo, bool)) buildDesc {
	b := buildDesc{Version: linked, Go: runtime.Version()}
	info, ok := read()
	if ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if info.GoVersion != "" {
			b.Go = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// String is one line: "iocwatch v1.2.3 (commit 0123abcd4567, 2026-11-27T20:00:00Z,
// modified) go1.26.8 linux/amd64".
func (b buildDesc) String() string {
	var vcs []string
	if b.Revision != "" {
		vcs = append(vcs, "commit "+b.Revision[:min(len(b.Revision), 12)])
	}
	if b.Time != "" {
		vcs = append(vcs, b.Time)
	}
	if b.Modified {
		vcs = append(vcs, "modified")
	}
	s := "iocwatch " + b.Version
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return s + " " + b.Go + " " + runtime.GOOS + "/" + runtime.GOARCH
}

const versionUsage = `version

Prints which iocwatch this is: its version, the commit it was built from
(when the go command recorded it), the Go release and the platform. Quote
it in bug reports. iocwatch --version does the same.`

func cmdVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "version", versionUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments, got %q", fs.Arg(0))
	}
	fmt.Fprintln(env.stdout, describeBuild())
	return nil
}
