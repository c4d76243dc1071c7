package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuildSaysWhichIocwatchThisIs(t *testing.T) {
	info := func(main string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/iocwatch/iocwatch", Version: main}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name   string
		linked string
		read   func() (*debug.BuildInfo, bool)
		want   string
	}{
		{"a version set at link time wins", "v1.2.3", info("v1.2.0"), "iocwatch v1.2.3 go1.26.8"},
		{"go install …@version records the module's", "", info("v1.2.0"), "iocwatch v1.2.0 go1.26.8"},
		{"a checkout's commit, its time and changes", "",
			info("v0.0.0-20261127210716-2db9a6d1a257+dirty", "vcs", "git", "vcs.revision", "2db9a6d1a2579c0ffee0", "vcs.time", "2026-11-27T21:07:16Z", "vcs.modified", "true"),
			"iocwatch v0.0.0-20261127210716-2db9a6d1a257+dirty (commit 2db9a6d1a257, 2026-11-27T21:07:16Z, modified) go1.26.8"},
		{"an unmodified checkout", "", info("(devel)", "vcs.revision", "2db9a6d", "vcs.modified", "false"), "iocwatch devel (commit 2db9a6d) go1.26.8"},
		{"go build without version control: devel", "", info("(devel)"), "iocwatch devel go1.26.8"},
		{"no build information at all", "", func() (*debug.BuildInfo, bool) { return nil, false }, "iocwatch devel " + runtime.Version()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describe(tt.linked, tt.read).String(); got != tt.want+platform {
				t.Errorf("got  %q\nwant %q", got, tt.want+platform)
			}
		})
	}
}

func TestTheVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, stdout, stderr := runCLI(t, "", args...)
		if code != exitOK || !strings.HasPrefix(stdout, "iocwatch ") || !strings.Contains(stdout, runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "", "version", "extra"); code != exitUsage || !strings.Contains(stderr, "no arguments") {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
}
