package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iocwatch/iocwatch/bench"
)

const benchUsage = `bench [flags]

Runs the standard benchmark suite over generated Defender streams (bench/gen,
deterministic by seed): decode, match and full-pipeline records/s per core
against reference implementations (fastjson + bart + suffix hash;
encoding/json + cidranger + Aho-Corasick; Python when python3 with the
ahocorasick module is installed), IP and host index side by side, index
build time and memory from 1k to 2M indicators per kind, Kafka end to end
over an embedded broker (throughput, p50/p99 latency), the memory curve of
a whole process, and the verdict on each performance target. Prints the
table and writes report.md, report.json and chart.svg to --out.

The machine should be as quiet as it can be; comparisons are interleaved
and reported as medians and ratios, so a shared machine still gives
meaningful ratios. The full suite takes about 10 minutes on a quiet
2-core machine, more on a busy one; --quick about one.`

func cmdBench(ctx context.Context, env *cliEnv, args []string) error {
	if bench.IsHelper() {
		// Started by the suite itself: serve as its broker or memory probe.
		return bench.ServeHelper(ctx, env.stdin, env.stdout)
	}
	fs := newFlagSet(env, "bench", benchUsage)
	quick := fs.Bool("quick", false, "a reduced suite of about one minute")
	cores := fs.Int("cores", 2, "GOMAXPROCS of the parallel pipeline run (1 or 2); per-core figures always use 1")
	out := fs.String("out", "bench-out", "`directory` for report.md, report.json and chart.svg")
	rounds := fs.Int("rounds", 0, "interleaved rounds per comparison, and runs of the Kafka half-load latency (default 5, 3 with --quick)")
	sizes := fs.String("sizes", "", "indicator counts per kind, comma-separated (default 1k,10k,100k,1M,2M)")
	memSizes := fs.String("memory-sizes", "", "indicator counts per kind for the memory curve (default 1k,100k,500k,1M,2M,5M)")
	only := fs.String("only", "", "comma-separated sections: decode,match,ipindex,hostindex,build,pipeline,scaling,workloads,kafka,memory,python")
	python := fs.String("python", "", "python3 `interpreter` with the ahocorasick module (default: found on PATH)")
	machine := fs.String("machine", "", "`description` of the machine for the report (default: cores, OS, architecture and CPU model)")
	script := fs.String("python-script", "", "the Python reference `script` (default: bench/reference/python/iocwatch_ref.py if present)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *cores != 1 && *cores != 2 {
		return usagef("--cores %d: want 1 or 2", *cores)
	}
	if *rounds < 0 {
		return usagef("--rounds %d: want 1 or more (0: the default)", *rounds)
	}
	if *python != "" {
		if _, err := exec.LookPath(*python); err != nil {
			return usagef("--python: %w", err)
		}
	}
	if *script != "" {
		if _, err := os.Stat(*script); err != nil {
			return usagef("--python-script: %w", err)
		}
	}
	cfg := bench.Config{Quick: *quick, Cores: *cores, Rounds: *rounds, Python: *python, PythonScript: *script, Machine: *machine,
		Command: "iocwatch bench " + strings.Join(args, " "), Log: env.stderr}
	var err error
	if cfg.Sizes, err = parseCounts("--sizes", *sizes); err != nil {
		return err
	}
	if cfg.MemorySizes, err = parseCounts("--memory-sizes", *memSizes); err != nil {
		return err
	}
	if *only != "" {
		for id := range strings.SplitSeq(*only, ",") {
			id = strings.TrimSpace(id)
			if !slices.Contains(bench.SectionIDs, id) {
				return usagef("--only: unknown section %q (want some of %s)", id, strings.Join(bench.SectionIDs, ","))
			}
			cfg.Sections = append(cfg.Sections, id)
		}
	}
	// The report's directory is made before hours of measuring, not after.
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usagef("--out: %w", err)
	}
	if exe, err := os.Executable(); err == nil {
		cfg.Helper = []string{exe, "bench"}
	}
	if cfg.PythonScript == "" {
		if _, err := os.Stat(filepath.Join("bench", "reference", "python", "iocwatch_ref.py")); err == nil {
			cfg.PythonScript = filepath.Join("bench", "reference", "python", "iocwatch_ref.py")
		}
	}
	rep, runErr := bench.Run(ctx, cfg)
	if rep == nil {
		return runErr
	}
	// A failed section leaves the others' results: write them all.
	if err := rep.WriteMarkdown(env.stdout); err != nil {
		return err
	}
	if err := rep.WriteFiles(*out); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "wrote %s\n", filepath.Join(*out, "report.md")+", report.json, chart.svg")
	return runErr
}

func parseCounts(flag, s string) ([]int, error) {
	n, err := bench.ParseCounts(s)
	if err != nil {
		return nil, usagef("%s: %v", flag, err)
	}
	return n, nil
}
