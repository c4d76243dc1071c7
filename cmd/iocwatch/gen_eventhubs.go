package main

import (
	"context"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

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
	// A value that is not a connection string is the user's setting, like
	// an empty one (exit 2), not a failure to reach the namespace. The
	// parser's errors name keys, never their values.
	if _, err := azeventhubs.ParseConnectionString(conn); err != nil {
		return nil, usageError{fmt.Errorf("--to eventhubs: the environment variable %s does not hold an Event Hubs connection string (Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…): %w", f.connEnv, err)}
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
