package bench
import ("testing";"runtime";"context";"path/filepath";"github.com/iocwatch/iocwatch/match")
func BenchmarkScratchPipe(b *testing.B){
	runtime.GOMAXPROCS(1)
	w := StandardWorkload().With("s", 100_000)
	inds := w.Indicators()
	c := NewCorpus(w, inds)
	ix,_ := match.Build(inds, match.BuildOptions{})
	path := filepath.Join(b.TempDir(), "c.jsonl"); c.WriteFile(path)
	b.ResetTimer()
	for b.Loop() {
		RunPipeline(context.Background(), []string{path,path,path,path,path,path,path,path}, ix, 1, &CountingSink{})
	}
}
