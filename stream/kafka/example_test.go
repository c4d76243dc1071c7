package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// Example reads three Defender messages from an in-process broker,
// acknowledges them, and shows the offset Close committed.
func Example() {
	ctx := context.Background()
	broker, err := embedded.Start(embedded.BrokerOptions{
		Topics: []embedded.Topic{{Name: "defender", Partitions: 1}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer broker.Close()
	_ = broker.Produce(ctx, "defender", 0,
		[]byte(`{"records":[]}`), []byte(`{"records":[]}`), []byte(`{"records":[]}`))

	src, err := kafka.New(kafka.Options{
		Brokers:        []string{broker.Addr()},
		Topics:         []string{"defender"},
		Group:          "iocwatch",
		CommitInterval: time.Hour, // commit on Close only, for a stable output
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for n := 0; n < 3; {
		batch, err := src.Read(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, m := range batch.Messages {
			fmt.Println(m.Position, string(m.Value))
		}
		n += len(batch.Messages)
		_ = batch.Ack(ctx) // after every sink accepted the batch's alerts
	}
	if err := src.Close(ctx); err != nil {
		fmt.Println(err)
		return
	}
	committed, _ := broker.Committed(ctx, "iocwatch", "defender")
	fmt.Println("committed:", committed)
	// Output:
	// defender[0]@0 {"records":[]}
	// defender[0]@1 {"records":[]}
	// defender[0]@2 {"records":[]}
	// committed: map[0:3]
}
