package main

import (
	"context"
	"os"

	"github.com/iocwatch/iocwatch/stream/eventhubs"
)

// eventHubsGenWriter sends generated messages through the azeventhubs
// ProducerClient, batched.
type eventHubsGenWriter struct{ p *eventhubs.Producer }

func newEventHubsGenWriter(ctx context.Context, f genFlags) (genWriter, error) {
	if f.hub == "" {
		return nil, usagef("--to eventhubs needs --hub NAME")
	}
	conn := os.Getenv(f.connEnv)
	if conn == "" {
		return nil, usagef("--to eventhubs: the environment variable %s (the Event Hubs connection string) is empty", f.connEnv)
	}
	p, err := eventhubs.NewProducer(ctx, conn, f.hub)
	if err != nil {
		return nil, err
	}
	return &eventHubsGenWriter{p: p}, nil
}

func (e *eventHubsGenWriter) Write(ctx context.Context, msgs [][]byte) error {
	return e.p.Send(ctx, msgs)
}

func (e *eventHubsGenWriter) Close() error { return e.p.Close(context.Background()) }
