package main

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
)

// The sample stream, feed and exclusions shipped in the binary, for
// `replay --sample` and `demo`. assets/exclusions.yaml is a copy of
// docs/examples/exclusions.yaml (a test keeps them equal).
//
//go:embed assets
var assets embed.FS

const (
	sampleEvents     = "sample-events.jsonl"
	sampleFeed       = "sample-feed.txt"
	sampleExclusions = "exclusions.yaml"
)

// writeSample writes the shipped sample files into a new temporary
// directory (the loaders read files) and returns it.
func writeSample() (string, error) {
	dir, err := os.MkdirTemp("", "iocwatch-sample-")
	if err != nil {
		return "", fmt.Errorf("sample: %w", err)
	}
	for _, name := range []string{sampleEvents, sampleFeed, sampleExclusions} {
		data, err := assets.ReadFile("assets/" + name)
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("sample: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("sample: %w", err)
		}
	}
	return dir, nil
}

func samplePath(dir, name string) string { return filepath.Join(dir, name) }

func removeAll(dir string) { os.RemoveAll(dir) }
