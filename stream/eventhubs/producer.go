package eventhubs

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// Producer sends event bodies to a hub, packing them into as few batches as
// the hub's message size allows. It loads generated Defender streams into a
// namespace or the test emulator (iocwatch gen --to eventhubs).
//
// The zero value is not usable; create one with NewProducer. Safe for
// concurrent use.
type Producer struct {
	pc  *azeventhubs.ProducerClient
	hub string
	ns  string
	red *redactor
}

// NewProducer connects to hub with a connection string (hub may be empty
// when the string has an EntityPath) and checks that the hub exists.
func NewProducer(ctx context.Context, connString, hub string) (*Producer, error) {
	red := newRedactor(connString)
	props, err := azeventhubs.ParseConnectionString(connString)
	if err != nil {
		return nil, red.Err(fmt.Errorf("eventhubs: producer connection string: %w", err))
	}
	hubArg := hub
	if props.EntityPath != nil && *props.EntityPath != "" {
		if hub != "" && hub != *props.EntityPath {
			return nil, fmt.Errorf("eventhubs: producer hub %q differs from the connection string's EntityPath %q", hub, *props.EntityPath)
		}
		hub, hubArg = *props.EntityPath, ""
	}
	pc, err := azeventhubs.NewProducerClientFromConnectionString(connString, hubArg, &azeventhubs.ProducerClientOptions{ApplicationID: "iocwatch"})
	if err != nil {
		return nil, red.Err(fmt.Errorf("eventhubs: producer for hub %q: %w", hub, err))
	}
	p := &Producer{pc: pc, hub: hub, ns: props.FullyQualifiedNamespace, red: red}
	if _, err := pc.GetEventHubProperties(ctx, nil); err != nil {
		_ = pc.Close(context.WithoutCancel(ctx))
		return nil, red.Err(fmt.Errorf("eventhubs: producer: hub %q in namespace %s: %w", hub, p.ns, err))
	}
	return p, nil
}

// Send sends bodies, in order, letting the service spread the batches over
// the partitions. Each body becomes one event. It returns after every batch
// was accepted, or with the first failure (the batches before it were sent).
func (p *Producer) Send(ctx context.Context, bodies [][]byte) error {
	return p.send(ctx, nil, bodies)
}

// SendToPartition sends bodies, in order, to one partition ("0", "1", …).
func (p *Producer) SendToPartition(ctx context.Context, partitionID string, bodies [][]byte) error {
	return p.send(ctx, &partitionID, bodies)
}

func (p *Producer) send(ctx context.Context, partitionID *string, bodies [][]byte) error {
	target := p.hub
	if partitionID != nil {
		target = fmt.Sprintf("%s[%s]", p.hub, *partitionID)
	}
	newBatch := func() (*azeventhubs.EventDataBatch, error) {
		b, err := p.pc.NewEventDataBatch(ctx, &azeventhubs.EventDataBatchOptions{PartitionID: partitionID})
		if err != nil {
			return nil, p.red.Err(fmt.Errorf("eventhubs: new batch for %s: %w", target, err))
		}
		return b, nil
	}
	batch, err := newBatch()
	if err != nil {
		return err
	}
	first := 0 // index of the first body in batch
	flush := func(end int) error {
		if err := p.pc.SendEventDataBatch(ctx, batch, nil); err != nil {
			return p.red.Err(fmt.Errorf("eventhubs: send events %d..%d to %s: %w", first, end-1, target, err))
		}
		return nil
	}
	for i, body := range bodies {
		err := batch.AddEventData(&azeventhubs.EventData{Body: body}, nil)
		if errors.Is(err, azeventhubs.ErrEventDataTooLarge) && batch.NumEvents() > 0 {
			if err := flush(i); err != nil {
				return err
			}
			if batch, err = newBatch(); err != nil {
				return err
			}
			first = i
			err = batch.AddEventData(&azeventhubs.EventData{Body: body}, nil)
		}
		if err != nil {
			return p.red.Err(fmt.Errorf("eventhubs: event %d (%d bytes) for %s: %w", i, len(body), target, err))
		}
	}
	if batch.NumEvents() > 0 {
		return flush(len(bodies))
	}
	return nil
}

// Close closes the connection. Safe to call twice.
func (p *Producer) Close(ctx context.Context) error {
	if err := p.pc.Close(ctx); err != nil {
		return p.red.Err(fmt.Errorf("eventhubs: close producer for %s: %w", p.hub, err))
	}
	return nil
}
