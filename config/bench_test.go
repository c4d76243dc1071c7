package config

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseAndValidate measures loading the complete example (about
// 200 lines): start-up and reload cost, not a hot path.
func BenchmarkParseAndValidate(b *testing.B) {
	for k, v := range exampleEnv {
		b.Setenv(k, v)
	}
	data, err := os.ReadFile(filepath.Join("..", "docs", "examples", "iocwatch.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := Parse(data, "iocwatch.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
