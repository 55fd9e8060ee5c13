// leakexplain: goroutines whose retention path is known by construction, for
// tests/integration/leakexplain.sh (`leaks --explain ID`, issue 16):
//   - keepWaiter receives on keep.ch: the channel is reached from the global main.keep
//     through the holder object (field ch at offset holderChOff);
//   - stackWaiter receives on a channel only sleeper's stack holds (sleeper sleeps, so its
//     stack is a root, and it uses the channel after the sleep: a live local);
//   - leaker receives on a channel nothing else holds: leaked;
//   - mutexWaiter waits on keepG.mu, locked for good: the semaphore's object (the guarded
//     struct, a heap object) is reached from the global main.keepG.
//
// main sleeps (not blocked for a user reason: not judged). The record on stderr (one
// "name value" per line, then "ready PID") is the oracle: ids from runtime.Stack, addresses
// from the program itself.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

type holder struct {
	pad [3]uint64
	ch  chan int
}

// set in init, so that the holder is a heap object (a composite literal in the
// declaration would be laid out statically in data)
var keep *holder

func init() { keep = &holder{ch: make(chan int)} }

// a mutex inside a heap object with a pointer (not a tiny-allocator block)
type guarded struct {
	name *string
	mu   sync.Mutex
}

var keepG *guarded

func init() {
	keepG = &guarded{}
	keepG.mu.Lock() // never unlocked
}

func mutexWaiter(ids chan<- string) {
	ids <- fmt.Sprintf("mutex_waiter %d", goid())
	keepG.mu.Lock()
}

// the id of the calling goroutine, as runtime.Stack prints it ("goroutine N [")
func goid() int64 {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseInt(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

func keepWaiter(ids chan<- string) {
	ids <- fmt.Sprintf("keep_waiter %d", goid())
	<-keep.ch
}

func stackWaiter(c chan int, ids chan<- string) {
	ids <- fmt.Sprintf("stack_waiter %d", goid())
	<-c
}

//go:noinline
func sleeper(ids chan<- string) {
	c := make(chan int)
	ids <- fmt.Sprintf("sleeper %d", goid())
	ids <- fmt.Sprintf("stack_chan %p", c)
	go stackWaiter(c, ids)
	time.Sleep(time.Hour)
	c <- 1 // c is live across the sleep: it stays in sleeper's frame
}

func leaker(ids chan<- string) {
	c := make(chan int)
	ids <- fmt.Sprintf("leaker %d", goid())
	ids <- fmt.Sprintf("leak_chan %p", c)
	<-c
}

//go:noinline
func record(ids chan string, n int) {
	fmt.Fprintf(os.Stderr, "main %d\n", goid())
	fmt.Fprintf(os.Stderr, "keep_global %p\n", &keep)
	fmt.Fprintf(os.Stderr, "keep_holder %p\n", keep)
	fmt.Fprintf(os.Stderr, "keep_chan %p\n", keep.ch)
	fmt.Fprintf(os.Stderr, "holder_ch_off %d\n", unsafe.Offsetof(keep.ch))
	fmt.Fprintf(os.Stderr, "keepg_global %p\n", &keepG)
	fmt.Fprintf(os.Stderr, "keepg_object %p\n", keepG)
	fmt.Fprintf(os.Stderr, "keepg_size %d\n", unsafe.Sizeof(*keepG))
	for i := 0; i < n; i++ {
		fmt.Fprintln(os.Stderr, <-ids)
	}
}

// wait until every goroutine but main is parked (a loaded machine may be slow to get
// them there; a mutex waiter spins before it sleeps)
func settle() {
	buf := make([]byte, 1<<16)
	for i := 0; i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		b := buf[:runtime.Stack(buf, true)]
		if bytes.Count(b, []byte(" [running]"))+bytes.Count(b, []byte(" [runnable]")) <= 1 && i >= 1 {
			return
		}
	}
}

func main() {
	ids := make(chan string, 16)
	go keepWaiter(ids)
	go sleeper(ids)
	go leaker(ids)
	go mutexWaiter(ids)
	record(ids, 7)
	settle()
	runtime.GC()
	fmt.Fprintf(os.Stderr, "ready %d\n", os.Getpid())
	time.Sleep(time.Hour) // asleep: a root
}
