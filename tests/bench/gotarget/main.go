// Command gotarget is the benchmark target: N parked goroutines plus a
// heartbeat that measures how long the process was paused from outside.
//
//	gotarget -n N -gapfile FILE
//
// Goroutine i blocks, in rotation, on: a send on an unbuffered channel
// nobody receives from; a receive from a channel nobody sends on; a select
// on two channels; sync.Mutex.Lock on a mutex main holds; time.Sleep(24h).
// The channels are spread over 16 channels per kind.
//
// A heartbeat goroutine ticks every 1 ms and tracks the largest gap between
// two ticks (monotonic clock). On SIGUSR1 it writes "SEQ GAP_NS\n" to FILE
// (atomically, via rename) and resets the maximum. The driver sends SIGUSR1
// before and after running an inspector: the second report is the longest
// time the target made no progress, i.e. the observed pause.
//
// It prints "pid P", "goroutines G" (runtime.NumGoroutine) and "ready".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const perKind = 16

var (
	sendChans [perKind]chan int
	recvChans [perKind]chan int
	selChans  [perKind]chan int
	held      sync.Mutex
	started   sync.WaitGroup
)

func park(i int) {
	k := (i / 5) % perKind
	started.Done()
	switch i % 5 {
	case 0:
		sendChans[k] <- i
	case 1:
		<-recvChans[k]
	case 2:
		select {
		case <-selChans[k]:
		case <-recvChans[k]:
		}
	case 3:
		held.Lock()
	default:
		time.Sleep(24 * time.Hour)
	}
}

func writeReport(path string, seq uint64, gap time.Duration) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", seq, gap.Nanoseconds())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gotarget:", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintln(os.Stderr, "gotarget:", err)
	}
}

func heartbeat(path string) {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1)
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	last := time.Now()
	var maxGap time.Duration
	var seq uint64
	for {
		select {
		case now := <-t.C:
			// t.C carries the tick's scheduled time; measure delivery instead.
			_ = now
			n := time.Now()
			if g := n.Sub(last); g > maxGap {
				maxGap = g
			}
			last = n
		case <-sig:
			n := time.Now()
			if g := n.Sub(last); g > maxGap {
				maxGap = g
			}
			seq++
			writeReport(path, seq, maxGap)
			maxGap = 0
			last = n
		}
	}
}

func main() {
	n := flag.Int("n", 1000, "parked goroutines")
	gapfile := flag.String("gapfile", "gap.txt", "where SIGUSR1 reports are written")
	flag.Parse()
	for k := 0; k < perKind; k++ {
		sendChans[k] = make(chan int)
		recvChans[k] = make(chan int)
		selChans[k] = make(chan int)
	}
	held.Lock()
	started.Add(*n)
	for i := 0; i < *n; i++ {
		go park(i)
	}
	started.Wait()
	go heartbeat(*gapfile)
	time.Sleep(200 * time.Millisecond) // let the last goroutines park
	runtime.GC()
	runtime.GC()
	fmt.Printf("pid %d\ngoroutines %d\nready\n", os.Getpid(), runtime.NumGoroutine())
	select {}
}
