package bench

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestTheHelperKeepsTheLiveTopicInFilesAndTheFilledOneInMemory(t *testing.T) {
	h := &helper{}
	rep, err := h.serve(context.Background(), &helperRequest{Op: "broker", Topics: []string{TopicFill}, FileTopics: []string{TopicLive}, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			h.close()
		}
	}()
	if rep.Addr == "" || rep.FileAddr == "" || rep.Addr == rep.FileAddr {
		t.Fatalf("addresses %q and %q: want two brokers", rep.Addr, rep.FileAddr)
	}
	if got := len(h.brokerOf(TopicFill).HighWatermarks(TopicFill)); got != 2 {
		t.Fatalf("the memory broker has %d partitions of %s, want 2", got, TopicFill)
	}
	if got := len(h.brokerOf(TopicLive).HighWatermarks(TopicLive)); got != 2 {
		t.Fatalf("the file broker has %d partitions of %s, want 2", got, TopicLive)
	}
	w := StandardWorkload().With("", 1_000)
	for _, req := range []helperRequest{
		{Op: "fill", Topic: TopicFill, Workload: w, Messages: 50},
		{Op: "paced", Topic: TopicLive, Workload: w, Rate: 4_000, Seconds: 0.1},
	} {
		if r, err := h.serve(context.Background(), &req); err != nil || r.Records == 0 {
			t.Fatalf("%s to %s: %d records, %v", req.Op, req.Topic, r.Records, err)
		}
	}
	var inFiles int64
	err = filepath.WalkDir(h.logDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			var fi fs.FileInfo
			if fi, err = d.Info(); err == nil {
				inFiles += fi.Size()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inFiles < 50_000 {
		t.Fatalf("%d bytes under %s after the paced run: the live topic's log is not in files", inFiles, h.logDir)
	}
	var hw int64
	for _, p := range h.brokerOf(TopicFill).HighWatermarks(TopicFill) {
		hw += p
	}
	if hw != 50 {
		t.Fatalf("%s holds %d messages, want the 50 filled", TopicFill, hw)
	}
	dir := h.logDir
	h.close()
	closed = true
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("after close, %s: %v; want it removed", dir, err)
	}
}
