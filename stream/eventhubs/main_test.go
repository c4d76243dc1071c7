package eventhubs

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// claimRenewer is the SDK goroutine that renews a link's CBS claim.
//
// azeventhubs v2.0.2's ConsumerClient.Close closes the connection but not
// the client's management link, so the renewer of that link lingers until
// its next renewal (about 1h50 for a SAS token), then sees the closed client
// and exits. One per ConsumerClient that made a management call is therefore
// expected; every other renewer (a partition or producer link) would be a
// client this package forgot to close.
const claimRenewer = "github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/internal.(*Namespace).startNegotiateClaimRenewer.func3"

// managementLinks counts the management links the tests made the SDK open
// (Options.afterHubCheck).
var managementLinks atomic.Int64

// TestMain fails the package when a Source, Producer or their SDK clients
// leave goroutines behind after Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction(claimRenewer),
		goleak.Cleanup(func(code int) {
			if code == 0 {
				if err := checkRenewers(managementLinks.Load()); err != nil {
					fmt.Fprintln(os.Stderr, err)
					code = 1
				}
			}
			os.Exit(code)
		}))
}

// checkRenewers fails unless exactly want claim renewers remain.
func checkRenewers(want int64) error {
	var got int64
	for range 40 {
		got = countTopFunction(claimRenewer)
		if got == want {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("leak: %d CBS claim renewers remain, want %d (one per ConsumerClient management link): a partition or producer client was not closed", got, want)
}

func countTopFunction(fn string) int64 {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var count int64
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) > 1 && strings.HasPrefix(lines[1], fn+"(") {
			count++
		}
	}
	return count
}
