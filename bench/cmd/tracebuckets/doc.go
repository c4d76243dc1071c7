// Command tracebuckets reads a Go execution trace (go test -trace, or
// runtime/trace) and prints where groups of goroutines spent each time
// bucket: running, waiting for a core (runnable), in a GC mark assist;
// and which part of each bucket the collector was marking. With -samples
// (a trace taken while the CPU profiler ran, e.g. go test -trace -cpuprofile)
// it also splits each group's CPU samples between inside and outside the
// collector's marks, by what the sample was doing (write barriers,
// allocation, assists, or the first function of the project).
//
// It is how docs/benchmarks-feeds.md found what the pipeline does while
// a reload runs:
//
//	go test -c -o /tmp/cmd.test ./cmd/iocwatch/
//	cd cmd/iocwatch && /tmp/cmd.test -test.run XXX -test.bench 'ReloadUnderLoad/reload_cpu=1$' \
//	    -test.benchtime 1x -test.trace /tmp/reload.trace -test.cpuprofile /tmp/reload.cpu
//	cd ../.. && go run ./bench/cmd/tracebuckets -from 7000 -to 10000 -samples /tmp/reload.trace
//
// A goroutine belongs to the first group whose substring occurs in a
// function of a stack it was seen with (its start, a blocking point);
// the default groups are the pipeline's workers, its other goroutines,
// the feed manager and the collector's mark workers (-group name=substring,
// repeatable, replaces them).
package main
