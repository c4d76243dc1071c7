package testenv

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// ExampleRules builds a Rules snapshot of inds and the shipped example
// exclusions (docs/examples/exclusions.yaml): the rules that bench/gen's
// excluded look-alikes are planted against. End-to-end tests of the
// sources use it.
func ExampleRules(t testing.TB, inds []*match.Indicator) *atomic.Pointer[stream.Rules] {
	t.Helper()
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := config.LoadExclusions(filepath.Join(root, "docs", "examples", "exclusions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]match.RuleSpec, 0, len(rules))
	for _, r := range rules {
		specs = append(specs, match.RuleSpec{Name: r.Name, Reason: r.Reason, Expires: r.Expires, When: r.When, Origin: r.Origin})
	}
	excl, err := match.CompileExclusions(specs)
	if err != nil {
		t.Fatal(err)
	}
	var p atomic.Pointer[stream.Rules]
	p.Store(&stream.Rules{Index: ix, Exclusions: excl})
	return &p
}
