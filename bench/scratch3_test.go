package bench
import ("testing";"fmt";"runtime";"time";"context";"github.com/iocwatch/iocwatch/match")
func TestScratchKafka(t *testing.T){
	runtime.GOMAXPROCS(1)
	w := StandardWorkload().With("k", 1000)
	inds := w.Indicators()
	ix,_ := match.Build(inds, match.BuildOptions{})
	rig, err := StartKafkaRig(helperArgv(), 4); if err != nil { t.Fatal(err) }
	defer rig.Close()
	ctx := context.Background()
	n, err := rig.Fill(ctx, w, 4000); fmt.Println("filled", n, err)
	for range 3 {
		r, err := rig.ConsumeFill(ctx, ix, 1, int64(n)); fmt.Println("consume", si(r.Rate()), si(r.CPURate()), r.Records, r.Alerts, err)
	}
	r, err := rig.Latency(ctx, ix, 1, w, 50000, 3*time.Second)
	fmt.Println("latency", r.Records, r.Alerts, percentile(r.Latencies,50), percentile(r.Latencies,99), err)
}
