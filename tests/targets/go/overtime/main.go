// overtime: the target of tests/integration/overtime.sh (snapshot, diff, watch, goroutines --pprof).
//
//	overtime OUTDIR leak    stable workers; on SIGUSR1 leaks exactly LEAKN goroutines blocked on a
//	                        channel receive in main.leakyHandler (started by main.leakBurst) and
//	                        LEAKN objects of type main.LeakedRecord (kept by a global slice), then
//	                        writes OUTDIR/leaked ("LEAKN SIZEOF"); on SIGUSR2 writes the runtime's own goroutine
//	                        profile (pprof debug=0) to OUTDIR/goroutine.pb.gz at a quiet point.
//	overtime OUTDIR drip    stable workers that come and go (same count within noise) and one
//	                        goroutine per DRIP_MS started in main.dripper, blocked forever.
//
// Prints "ready PID" when its steady state is reached.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const LEAKN = 37
const WORKERS = 8

type LeakedRecord struct {
	ID      int
	Payload [10]int64
	Next    *LeakedRecord
}

var kept []*LeakedRecord
var keepMu sync.Mutex

//go:noinline
func leakyHandler(ch chan int) {
	<-ch // nobody ever sends: leaked
}

//go:noinline
func leakBurst() {
	for i := 0; i < LEAKN; i++ {
		ch := make(chan int)
		go leakyHandler(ch)
	}
	keepMu.Lock()
	for i := 0; i < LEAKN; i++ {
		kept = append(kept, &LeakedRecord{ID: i})
	}
	keepMu.Unlock()
}

//go:noinline
func worker(jobs chan int, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		_ = j
	}
}

//go:noinline
func stableWorkers(stop chan struct{}) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < WORKERS; i++ {
		wg.Add(1)
		go worker(jobs, &wg)
	}
	<-stop
}

// a pool that goes up and down (4, 6, 4, 6 ...) but never trends: watch must not flag it
//
//go:noinline
func wobbler(quit chan struct{}) {
	<-quit
}

func wobble() {
	for i := 0; i < 4; i++ {
		go wobbler(make(chan struct{}))
	}
	for {
		quit := make(chan struct{})
		go wobbler(quit)
		go wobbler(quit)
		time.Sleep(700 * time.Millisecond)
		close(quit)
		time.Sleep(700 * time.Millisecond)
	}
}

//go:noinline
func dripped(ch chan struct{}) {
	<-ch
}

//go:noinline
func dripper(every time.Duration) {
	for {
		go dripped(make(chan struct{}))
		time.Sleep(every)
	}
}

// profileWriter writes the runtime's own goroutine profile (debug=0) when asked, once main is
// back at its receive: every other goroutine is then where tlinspect will find it later (this
// one, in WriteTo here and at its receive afterwards, is left out of the comparison).
//
//go:noinline
func profileWriter(out string, req chan struct{}) {
	for range req {
		time.Sleep(200 * time.Millisecond)
		pprof.Do(context.Background(), pprof.Labels("phase", "profile"), func(context.Context) {
			f, err := os.Create(filepath.Join(out, "goroutine.tmp"))
			if err == nil {
				pprof.Lookup("goroutine").WriteTo(f, 0)
				f.Close()
				os.Rename(filepath.Join(out, "goroutine.tmp"), filepath.Join(out, "goroutine.pb.gz"))
			}
		})
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: overtime OUTDIR leak|drip")
		os.Exit(2)
	}
	out := os.Args[1]
	stop := make(chan struct{})
	go stableWorkers(stop)
	profReq := make(chan struct{})
	go profileWriter(out, profReq)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	switch os.Args[2] {
	case "drip":
		go wobble()
		go dripper(200 * time.Millisecond)
	case "leak":
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	fmt.Printf("ready %d\n", os.Getpid())
	for s := range sig {
		switch s {
		case syscall.SIGUSR1:
			leakBurst()
			runtime.GC()
			time.Sleep(100 * time.Millisecond) // every leaked goroutine parks
			// the oracle: how many goroutines and objects, and the size of one object
			os.WriteFile(filepath.Join(out, "leaked"),
				[]byte(fmt.Sprintf("%d %d\n", LEAKN, unsafe.Sizeof(LeakedRecord{}))), 0644)
		case syscall.SIGUSR2:
			profReq <- struct{}{}
		}
	}
}
