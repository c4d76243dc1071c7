package bench
import ("testing";"fmt";"runtime";"time";"context";"path/filepath";"github.com/iocwatch/iocwatch/match")
func TestScratch(t *testing.T){
	runtime.GOMAXPROCS(1)
	w := StandardWorkload().With("s", 100_000)
	inds := w.Indicators()
	c := NewCorpus(w, inds)
	for _, n := range DecoderNames { d,_ := NewDecoder(n); s,err := DecodeRun(d, c, 500*time.Millisecond); fmt.Println(n, si(s.Rate()), si(s.CPURate()), err) }
	ix,_ := match.Build(inds, match.BuildOptions{})
	qs := Queries(c)
	s,h,_ := MatchRun(IocIndex{Ix: ix, At: time.Now()}, qs, 500*time.Millisecond); fmt.Println("match", si(s.Rate()), si(s.CPURate()), h)
	path := filepath.Join(t.TempDir(), "c.jsonl"); c.WriteFile(path)
	paths := []string{path,path,path}
	for range 2 {
	r,err := RunPipeline(context.Background(), paths, ix, 1, &CountingSink{}); fmt.Println("pipe1", si(r.Rate()), si(r.CPURate()), err)
	p,_ := NewReference("fast", inds)
	r,err = RunReference(context.Background(), paths, p, &CountingSink{}); fmt.Println("fast", si(r.Rate()), si(r.CPURate()), err)
	}
	fmt.Println(loadAvg())
}
