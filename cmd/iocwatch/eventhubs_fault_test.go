package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/iocwatch/iocwatch/stream/eventhubs"
	"github.com/iocwatch/iocwatch/testenv"
)

const eventHubsFaultConfig = `
source:
  type: eventhubs
  eventhubs:
    connection_string: ${FAULT_EH_CONNECTION_STRING}
    hub: defender
    checkpoint:
      connection_string: ${FAULT_BLOB_CONNECTION_STRING}
      container: "{{CONTAINER}}"
    start_position: earliest
    load_balancing: greedy
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
exclusions_files: ["{{EXCLUSIONS}}"]
suppression: {window: 0s}
sinks:
  - name: alerts
    type: file
    file: {path: "{{ALERTS}}"}
metrics: {enabled: false}
`

// releaseOwnership deletes the partition-ownership blobs of the checkpoint
// container: what their expiry (60 s without renewal) does for a replica
// that was killed. The test does it at once so that it takes seconds; the
// checkpoints stay.
func releaseOwnership(t *testing.T, blobConn, cont string) int {
	t.Helper()
	cc, err := container.NewClientFromConnectionString(blobConn, cont, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n := 0
	pager := cc.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name != nil && strings.Contains(*b.Name, "/ownership/") {
				if _, err := cc.NewBlobClient(*b.Name).Delete(ctx, nil); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
	}
	return n
}

// The Event Hubs path of the SIGKILL test: a watcher with checkpoints in
// Azurite is killed mid-stream and restarted. Checkpoints are written every
// checkpoint_interval (5 s by default), so up to that much of the stream
// is alerted twice; nothing is lost.
func TestAnEventHubsWatcherKilledMidStreamAndRestartedAlertsEveryPlantedHit(t *testing.T) {
	conn := testenv.StartEmulator(t, "defender:4")
	blob := testenv.StartAzurite(t)
	cont := testenv.NewContainer(t, blob)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prod, err := eventhubs.NewProducer(ctx, conn, "defender")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())

	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.jsonl")
	cfg := writeConfig(t, dir, eventHubsFaultConfig, map[string]string{
		"CONTAINER": cont, "FEED": assetPath(t, "sample-feed.txt"), "EXCLUSIONS": assetPath(t, "exclusions.yaml"), "ALERTS": alerts,
	})
	env := []string{"FAULT_EH_CONNECTION_STRING=" + conn, "FAULT_BLOB_CONNECTION_STRING=" + blob}
	stop := make(chan struct{})
	ps := produceUntil(t, sampleGenerator(t, 77), stop, func(ctx context.Context, group int, msgs [][]byte) error {
		return prod.SendToPartition(ctx, fmt.Sprint(group%4), msgs)
	})
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-ps.done
	}()

	iocwatchBinary(t)
	began := time.Now()
	w1 := startIocwatch(t, env, "run", "-c", cfg)
	var firstAlert time.Time
	faultWait(t, 30*time.Second, "the first watcher's alerts", func() (bool, string) {
		n := len(readAlertFileLive(t, alerts))
		if n > 0 && firstAlert.IsZero() {
			firstAlert = time.Now()
		}
		return (n >= 40 && time.Since(firstAlert) > 6*time.Second) || w1.exited(), fmt.Sprintf("%d alerts", n)
	})
	if w1.exited() {
		t.Fatalf("the first watcher exited on its own: %v", w1.state)
	}
	t.Logf("first alert %s after start; killing at %s", firstAlert.Sub(began).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	w1.stop(t, syscall.SIGKILL)
	before := len(readAlertFile(t, alerts))
	released := releaseOwnership(t, blob, cont)

	restarted := time.Now()
	w2 := startIocwatch(t, env, "run", "-c", cfg)
	time.Sleep(2 * time.Second) // the stream goes on across the restart
	close(stop)
	<-ps.done
	if ps.err != nil {
		t.Fatal(ps.err)
	}
	faultWait(t, 30*time.Second, "every planted hit after the restart", func() (bool, string) {
		ok, missing := ps.allAlerted(readAlertFileLive(t, alerts))
		return ok || w2.exited(), fmt.Sprintf("%d planted hits not alerted yet", missing)
	})
	t.Logf("every planted hit alerted %s after the restart", time.Since(restarted).Round(time.Millisecond))
	if code := w2.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("the second watcher exited with %d", code)
	}
	r := checkAlerts(t, ps, readAlertFile(t, alerts))
	t.Logf("FAULT eventhubs killed with SIGKILL: %d messages (%d records), %d planted hits (+%d excluded look-alikes), %d alerts before the kill, %d ownership claims released, %d alerts in all, %d unique, %d duplicates, %d missing",
		ps.messages, ps.records, r.planted, r.excluded, before, released, r.alerts, r.unique, r.duplicates, r.missing)
}
