// Command churn is a Go target for the check of stacks copied before the stop
// (tests/integration/precopy.sh): goroutines that stay parked beside goroutines
// that park and wake thousands of times a second, so that a look taken while it
// runs finds some of them changed by the time the target is stopped.
//
//	churn -parked N -pairs M [-gc DURATION]
//
// The parked goroutines (main.parked) block, in rotation, on a receive, a
// select, a mutex and time.Sleep; each pair of churners (main.churner)
// ping-pongs a value over two unbuffered channels, with a little stack depth
// (main.bounce) that changes with the value. With -gc, a GC every DURATION
// stamps g.waitsince of the churners parked at that instant, so a look before
// the stop finds them "parked" and the stop finds them moved on. After two GCs (which stamp
// g.waitsince of the parked ones) it prints "pid P", "parked N", "coroutines C"
// (1 on go1.23+: coro.go leaves an iter.Pull coroutine parked) and "ready".
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	// startCoroutine leaves a coroutine parked (coro.go, go1.23+); how many
	startCoroutine = func() int { return 0 }
	coroKeep       any
	never          = make(chan int)
	sel            = make(chan int)
	held           sync.Mutex
	wg             sync.WaitGroup
)

func parked(i int) {
	wg.Done()
	switch i % 4 {
	case 0:
		<-never
	case 1:
		select {
		case <-never:
		case <-sel:
		}
	case 2:
		held.Lock()
	default:
		time.Sleep(24 * time.Hour)
	}
}

//go:noinline
func bounce(depth int, in <-chan int, out chan<- int, v int) int {
	if depth > 0 {
		return bounce(depth-1, in, out, v) + 1
	}
	out <- v + 1
	return <-in
}

func churner(in <-chan int, out chan<- int, first bool) {
	v := 0
	if first {
		out <- 0
	}
	for {
		v = <-in
		v = bounce(v%5, in, out, v) - v%5
	}
}

func main() {
	np := flag.Int("parked", 1000, "goroutines that stay parked")
	pairs := flag.Int("pairs", 4, "pairs of goroutines that park and wake without end")
	gcEvery := flag.Duration("gc", 0, "run a GC this often (stamps g.waitsince of whatever is parked then)")
	flag.Parse()
	held.Lock()
	wg.Add(*np)
	for i := 0; i < *np; i++ {
		go parked(i)
	}
	wg.Wait()
	for i := 0; i < *pairs; i++ {
		a, b := make(chan int), make(chan int)
		go churner(a, b, true)
		go churner(b, a, false)
	}
	ncoro := startCoroutine()
	time.Sleep(100 * time.Millisecond)
	// two: a cycle stamps g.waitsince with the previous cycle's end (the first with 0)
	runtime.GC()
	runtime.GC()
	if *gcEvery > 0 {
		go func() {
			for {
				time.Sleep(*gcEvery)
				runtime.GC()
			}
		}()
	}
	fmt.Printf("pid %d\nparked %d\ncoroutines %d\nready\n", os.Getpid(), *np, ncoro)
	select {}
}
