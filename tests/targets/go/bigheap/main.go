// Command bigheap is a Go target with a large live heap and many blocked
// goroutines, for the out-of-memory sweep (tests/stress/nomem.sh,
// tests/integration/nomem.sh) and the pause measurement of `leaks`.
//
//	bigheap -heap MB -g N [-gapfile FILE]
//
// The heap: MB MiB kept alive from globals, built in 1 MiB units in rotation:
// a linked list of 64-byte nodes (pointers, no malloc header), 4 KiB blocks
// with a pointer (malloc header on go1.22+), one 1 MiB []*node (a large
// object with a pointer type) and a 1 MiB []byte (no pointers).
//
// The goroutines, goroutine i blocks, in rotation, on:
//
//	0  a send on a channel only its own stack references   (leaked)
//	1  a second Lock of a mutex only its own stack holds     (leaked)
//	2  a receive from a global channel                      (not leaked)
//	3  Lock of a global mutex main holds                    (not leaked)
//	4  time.Sleep(24h)                                      (not leaked)
//
// With -gapfile, a heartbeat goroutine ticks every 1 ms and tracks the
// largest gap between two ticks; on SIGUSR1 it writes "SEQ GAP_NS" to FILE
// (via rename) and resets (the method of tests/bench/README.md).
//
// After two collections the GC is turned off, so that the heap stays the same
// from run to run. It prints "leaked K" (goroutines of kinds 0 and 1), "heap B"
// (the runtime's HeapAlloc then) and, last, "ready PID".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

type node struct {
	next *node
	pad  [7]uintptr
}

type block struct {
	n   *node
	pad [511]uint64
}

var (
	lists   []*node
	blocks  []*block
	ptrs    [][]*node
	raw     [][]byte
	global  = make(chan int)
	held    sync.Mutex
	started sync.WaitGroup
)

const unit = 1 << 20

func build(mb int) {
	var last *node
	for u := 0; u < mb; u++ {
		switch u % 4 {
		case 0:
			var head *node
			for i := 0; i < unit/64; i++ {
				head = &node{next: head}
			}
			lists = append(lists, head)
			last = head
		case 1:
			for i := 0; i < unit/4096; i++ {
				blocks = append(blocks, &block{n: last})
			}
		case 2:
			p := make([]*node, unit/8)
			for i := range p {
				if i%64 == 0 {
					p[i] = last
				}
			}
			ptrs = append(ptrs, p)
		default:
			raw = append(raw, make([]byte, unit))
		}
	}
}

// buildLists: mb MiB of 64-byte nodes in lists of 1 MiB (16384 objects per MiB)
func buildLists(mb int) {
	for u := 0; u < mb; u++ {
		var head *node
		for i := 0; i < unit/64; i++ {
			head = &node{next: head}
		}
		lists = append(lists, head)
	}
}

func park(i int) {
	started.Done()
	switch i % 5 {
	case 0:
		c := make(chan int)
		c <- i
	case 1:
		var mu sync.Mutex
		mu.Lock()
		mu.Lock()
	case 2:
		<-global
	case 3:
		held.Lock()
	default:
		time.Sleep(24 * time.Hour)
	}
}

func writeReport(path string, seq uint64, gap time.Duration) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", seq, gap.Nanoseconds())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bigheap:", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		fmt.Fprintln(os.Stderr, "bigheap:", err)
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
		case <-t.C:
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
	mb := flag.Int("heap", 64, "live heap in MiB")
	n := flag.Int("g", 1000, "blocked goroutines")
	gapfile := flag.String("gapfile", "", "heartbeat: where SIGUSR1 reports are written")
	listmb := flag.Int("listmb", 0, "MiB of the heap that are linked lists of 64-byte nodes (many small objects); the rest as usual")
	flag.Parse()
	buildLists(*listmb)
	build(*mb - *listmb)
	held.Lock()
	started.Add(*n)
	leaked := 0
	for i := 0; i < *n; i++ {
		if i%5 < 2 {
			leaked++
		}
		go park(i)
	}
	started.Wait()
	if *gapfile != "" {
		go heartbeat(*gapfile)
	}
	time.Sleep(200 * time.Millisecond) // let the last goroutines park
	runtime.GC()
	runtime.GC()
	// no more collections (nor the forced one every 2 minutes): the heap stays as it is,
	// so that every run of an inspector sees the same spans and objects
	debug.SetGCPercent(-1)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("leaked %d\nheap %d\nready %d\n", leaked, ms.HeapAlloc, os.Getpid())
	select {}
}
