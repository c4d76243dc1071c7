package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/Azure/go-amqp"
)

// An amqp:not-found refusal of a receiver names the entity the service
// could not find, and the source's error says which to check: the hub
// (deleted while iocwatch runs, or a wrong hub name or namespace) or the
// consumer group. The descriptions are the ones the service, Microsoft's
// emulator and the project's emulator give:
//
//   - the service's gateway, for a hub it does not have, names the
//     receiver's whole address (sb://namespace/hub/consumergroups/
//     $default/partitions/0 — a group every hub has);
//   - the service and Microsoft's emulator, for a consumer group a hub
//     does not have, name the group's entity, namespace:eventhub:hub~id|group;
//   - the project's emulator names the hub alone, or hub/consumergroups/group.
//
// A description that names no entity, or one that is not this hub's
// (another name alone, "$Default" or the group's; another hub's address),
// gets both checks. No emulator: the
// errors are the ones the client returns.
func TestNotFoundNamesTheHubOrTheGroup(t *testing.T) {
	const (
		ns       = "contoso-sec.servicebus.windows.net"
		hubHint  = `the hub was not found in namespace contoso-sec.servicebus.windows.net: it was deleted, or the hub name or the namespace is wrong`
		cgHint   = "check that the consumer group exists in the hub"
		bothHint = "check that the hub exists in the namespace and the consumer group in the hub"
	)
	notFound := func(desc string) *amqp.Error {
		return &amqp.Error{Condition: amqp.ErrCondNotFound, Description: desc}
	}
	tests := []struct {
		name string
		err  error
		want string // the hint; the others must be absent
	}{
		{"the gateway: no such hub", notFound("The messaging entity 'sb://" + ns + "/defender/consumergroups/$default/partitions/3' could not be found. " +
			"TrackingId:6f8d22dbc2974559a2004baaf6710f8f_G32, SystemTracker:gateway5, Timestamp:6/19/2018 9:35:32 PM"), hubHint},
		{"the gateway: no such hub, the group named as configured", notFound("The messaging entity 'sb://" + ns + "/defender/consumergroups/nope/partitions/3' could not be found."), hubHint},
		{"the gateway: no such hub, in another case", notFound("The messaging entity 'sb://" + ns + "/Defender/ConsumerGroups/$Default/Partitions/3' could not be found."), hubHint},
		{"the project's emulator: no such hub", notFound("The messaging entity 'defender' could not be found."), hubHint},
		{"the service: no such group", notFound("The messaging entity 'contoso-sec:eventhub:defender~32766|nope' could not be found. " +
			"TrackingId:3aaeaca7-1fb9-44b7-85ab-d6febdd18650_B32, SystemTracker:contoso-sec:eventhub:defender~32766|nope, Timestamp:7/1/2016 9:03:27 PM"), cgHint},
		{"the project's emulator: no such group", notFound("The messaging entity 'defender/consumergroups/nope' could not be found."), cgHint},
		{"wrapped by the client", fmt.Errorf("link: %w", notFound("The messaging entity 'defender' could not be found.")), hubHint},
		{"no entity named", notFound("The messaging entity could not be found."), bothHint},
		{"the namespace alone", notFound("The messaging entity 'sb://" + ns + "/' could not be found."), bothHint},
		{"an address of another shape", notFound("The messaging entity 'defender/partitions/3' could not be found."), bothHint},
		{"no description", notFound(""), bothHint},
		// An entity that is not this hub's, nor one of its receivers'
		// addresses, says nothing of which is missing.
		{"a consumer group's name alone", notFound("The messaging entity '$Default' could not be found."), bothHint},
		{"the configured group's name alone", notFound("The messaging entity 'nope' could not be found."), bothHint},
		{"another hub's name", notFound("The messaging entity 'other-hub' could not be found."), bothHint},
		{"the hub's entity without a group", notFound("The messaging entity 'contoso-sec:eventhub:defender~32766' could not be found."), bothHint},
		{"another hub's receiver address", notFound("The messaging entity 'sb://" + ns + "/other-hub/consumergroups/$default/partitions/3' could not be found."), bothHint},
		{"another hub's group", notFound("The messaging entity 'other-hub/consumergroups/nope' could not be found."), bothHint},
		{"the management node", notFound("The messaging entity 'sb://" + ns + "/defender/$management' could not be found."), bothHint},
		{"a quote left open", notFound("The messaging entity 'defender could not be found."), bothHint},
		{"an empty entity", notFound("The messaging entity '' could not be found."), bothHint},
		{"a slash alone", notFound("The messaging entity '/' could not be found."), bothHint},
		{"the hub in another case", notFound("The messaging entity 'DEFENDER' could not be found."), hubHint},
		{"the group's entity in another case", notFound("The messaging entity 'Defender/ConsumerGroups/nope' could not be found."), cgHint},
	}
	for _, tt := range tests {
		for _, reader := range []bool{false, true} {
			name := tt.name + ", probe"
			if reader {
				name = tt.name + ", reader"
			}
			t.Run(name, func(t *testing.T) {
				var logs bytes.Buffer
				s := &Source{
					log: slog.New(slog.NewJSONHandler(&logs, nil)), red: newRedactor(), owner: "replica-me",
					failed: make(chan struct{}), parts: map[string]*partition{},
				}
				s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup = ns, "defender", "nope"
				if reader {
					p := &partition{id: "3", num: 3, ctx: context.Background()}
					s.parts["3"] = p
					s.ended(p, tt.err)
				} else {
					s.cannotOpen("3", tt.err)
				}
				select {
				case <-s.failed:
				default:
					t.Fatal("the source goes on; want it stopped")
				}
				msg := s.fatal.Error()
				for _, w := range []string{`hub "defender"`, `consumer group "nope"`, "partition 3", "(" + tt.want + ")"} {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not contain %q", msg, w)
					}
				}
				for _, h := range []string{hubHint, cgHint, bothHint} {
					if h != tt.want && strings.Contains(msg, h) {
						t.Errorf("error %q says %q", msg, h)
					}
				}
				if !errors.Is(s.fatal, tt.err) {
					t.Errorf("error %q does not wrap the client's %v", msg, tt.err)
				}
			})
		}
	}
}
