package eventhubs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

func TestZZProf(t *testing.T) {
	conn := "Endpoint=sb://127.0.0.1:5679;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true"
	ctx := context.Background()
	msg, _ := os.ReadFile("testdata/defender_message.json")
	pr, err := NewProducer(ctx, conn, "bench")
	if err != nil { t.Fatal(err) }
	bodies := make([][]byte, 10000)
	for i := range bodies { bodies[i] = msg }
	st := time.Now()
	for p := range 4 { if err := pr.SendToPartition(ctx, fmt.Sprint(p), bodies); err != nil { t.Fatal(err) } }
	t.Logf("produce 40k: %v", time.Since(st))
	cc, _ := azeventhubs.NewConsumerClientFromConnectionString(conn, "bench", "$Default", nil)
	st = time.Now()
	var wg sync.WaitGroup
	for p := range 4 {
		pc, _ := cc.NewPartitionClient(fmt.Sprint(p), &azeventhubs.PartitionClientOptions{StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}})
		wg.Add(1)
		go func() { defer wg.Done(); for got := 0; got < 10000; { evs, err := pc.ReceiveEvents(ctx, 500, nil); if err != nil { t.Error(err); return }; got += len(evs) } }()
	}
	wg.Wait()
	t.Logf("consume 40k: %v", time.Since(st))
}
