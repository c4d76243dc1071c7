package stream

import (
	"context"
	"testing"
)

// BenchmarkProcessAlertStorm decodes and matches batches of 100 one-record
// messages of which every other one hits an indicator (as in an alert
// storm, and in the reload benchmark's workload): the cost of building
// alerts beside decoding and matching.
func BenchmarkProcessAlertStorm(b *testing.B) {
	rules := testRules(b, "34.1.1.1", "evil.example")
	var batch Batch
	for i := range 100 {
		ip, url := "93.184.216.34", "www.example.org"
		switch i % 4 {
		case 0:
			ip = "34.1.1.1"
		case 1:
			url = "cdn.evil.example"
		}
		batch.Messages = append(batch.Messages, Message{Value: []byte(record(i, ip, url, "chrome.exe", `C:\Program Files\Google\Chrome\Application`))})
	}
	p := New(nil, rules, nil, Options{})
	w := worker{p: p}
	ctx := context.Background()
	b.ReportAllocs()
	alerts := 0
	for b.Loop() {
		j := &job{batch: batch}
		if err := w.process(ctx, j); err != nil {
			b.Fatal(err)
		}
		alerts += len(j.alerts)
	}
	if alerts == 0 {
		b.Fatal("no alerts")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Messages)), "ns/record")
	b.ReportMetric(float64(alerts)/float64(b.N), "alerts/batch")
}
