// Command bench is the scale target for `tlinspect leaks`: -n goroutines (half
// leaked on channels only they hold, half idle workers on a channel a global
// holds) and a heap of about -heapmb MiB of pointer-rich objects (a linked
// graph of 64-byte nodes plus slices of pointers) reachable from a global.
// It prints "ready <pid>" with the number of leaked goroutines it made.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

type node struct {
	next, other *node
	val         [6]int64
}

var (
	work  = make(chan int)
	heap  [][]*node
	sink  *node
	ready = make(chan struct{}, 1024)
)

//go:noinline
func leak() {
	ch := make(chan int)
	go func() {
		ready <- struct{}{}
		ch <- 1
	}()
}

func main() {
	n := flag.Int("n", 100000, "goroutines")
	mb := flag.Int("heapmb", 1024, "heap size in MiB")
	flag.Parse()
	// heap: slices of 4096 pointers to 64-byte nodes, nodes linked to each other
	perSlice := 4096
	bytesPer := perSlice*8 + perSlice*64
	for total := 0; total < *mb<<20; total += bytesPer {
		s := make([]*node, perSlice)
		for i := range s {
			s[i] = &node{next: sink}
			sink = s[i]
		}
		heap = append(heap, s)
	}
	leaked := 0
	for i := 0; i < *n; i++ {
		if i%2 == 0 {
			leak()
			<-ready
			leaked++
		} else {
			go func() {
				for range work {
				}
			}()
		}
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	fmt.Printf("ready %d leaked %d goroutines %d\n", os.Getpid(), leaked, runtime.NumGoroutine())
	for {
		time.Sleep(time.Hour)
	}
}
