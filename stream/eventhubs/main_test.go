package eventhubs

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a Source, Producer or their SDK clients
// leave goroutines behind after Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
