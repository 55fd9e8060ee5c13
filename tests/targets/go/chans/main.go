// Command chans is an integration-test target for tlinspect's channel, graph
// and leak commands.
//
// It reproduces each blocking pattern of issue 3, waits until every parked
// goroutine has parked, and records its own truth in <out>/facts.json:
//
//	channels: name -> {addr (%p of the channel), len, cap, closed, elemtype,
//	          sendx_lt_recvx (ring wrapped)}           from len()/cap() in Go
//	leaked:   goid -> pattern  (goroutines that can never run again)
//	alive:    goid -> pattern  (blocked goroutines that are NOT leaks)
//	blocked_on: goid -> [channel addrs]
//	leaked_sync: goid -> pattern  (blocked forever in sync.Cond.Wait: leaked on every Go; from
//	          1.26 the runtime links the waiter to its notifyList, before that tlinspect finds
//	          the *sync.Cond live in the waiter's sync.(*Cond).Wait frame)
//	sema:     goid -> pattern  (the leaked and alive goroutines that wait on a semaphore:
//	          sync.Mutex / RWMutex / WaitGroup; <= 1.25 links them through runtime.semtable)
//
// Goroutine ids come from the goroutine's own runtime.Stack header.
// With -leakprofile FILE it then writes the runtime's own goroutineleak
// profile (debug=2, Go 1.26+ when registered) BEFORE announcing "ready <pid>".
// Then main sleeps (main in `select {}` would itself be a leak).
//
// Standard library only; builds with every toolchain from go1.19 on.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

type chanFact struct {
	Addr     string `json:"addr"`
	Len      int    `json:"len"`
	Cap      int    `json:"cap"`
	Closed   bool   `json:"closed"`
	ElemType string `json:"elemtype"`
	Wrapped  bool   `json:"sendx_lt_recvx"`
}

var (
	regMu      sync.Mutex
	leaked     = map[string]string{}
	leakedSync = map[string]string{}
	semaWaits  = map[string]string{}
	alive      = map[string]string{}
	blockedOn  = map[string][]string{}
	chanFacts  = map[string]chanFact{}
	barrier    sync.WaitGroup
)

func curGoid() int64 {
	var b [128]byte
	n := runtime.Stack(b[:], false)
	f := strings.Fields(string(b[:n]))
	if len(f) < 2 || f[0] != "goroutine" {
		panic("unexpected runtime.Stack header: " + string(b[:n]))
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

// register records the calling goroutine; chans are the channels it blocks on
// (as %p strings, which keep no reference).
func register(leak bool, pattern string, chans ...string) {
	id := strconv.FormatInt(curGoid(), 10)
	regMu.Lock()
	if strings.HasPrefix(pattern, "sema:") {
		semaWaits[id] = pattern
	}
	if leak && strings.HasPrefix(pattern, "sync:") {
		leakedSync[id] = pattern
	} else if leak {
		leaked[id] = pattern
	} else {
		alive[id] = pattern
	}
	if len(chans) > 0 {
		blockedOn[id] = chans
	}
	regMu.Unlock()
	barrier.Done()
}

func addr(c interface{}) string { return fmt.Sprintf("%p", c) }

// ---- globals that keep channels alive ----
var (
	jobs     = make(chan int)    // worker pool input: held by a global -> workers are NOT leaked
	ring     = make(chan int, 4) // buffered, wrapped around
	strs     = make(chan string, 3)
	closedCh = make(chan int, 2)
	structs  = make(chan struct{ a, b int64 }, 2)
	bools    = make(chan bool, 5)
)

//go:noinline
func leakUnbufferedSend() {
	ch := make(chan int)
	barrier.Add(1)
	go func() {
		register(true, "unbuffered send, no receiver", addr(ch))
		ch <- 42
	}()
}

//go:noinline
func leakReceiveSendersExited() {
	ch := make(chan int)
	var sent sync.WaitGroup
	sent.Add(1)
	barrier.Add(1)
	go func() {
		register(true, "receive, senders exited", addr(ch))
		for v := range ch {
			_ = v
		}
	}()
	go func() { // the sender: sends once and exits without closing
		ch <- 1
		sent.Done()
	}()
	sent.Wait()
}

//go:noinline
func leakSelect() {
	a, b := make(chan int), make(chan string)
	barrier.Add(1)
	go func() {
		register(true, "select without default", addr(a), addr(b))
		select {
		case <-a:
		case b <- "x":
		}
	}()
}

//go:noinline
func leakContextBackground() {
	barrier.Add(1)
	go func() {
		register(true, "<-context.Background().Done()")
		<-context.Background().Done()
	}()
}

//go:noinline
func leakNilSend() {
	barrier.Add(1)
	go func() {
		var c chan int
		register(true, "send on nil channel")
		c <- 1
	}()
}

//go:noinline
func leakSelectNoCases() {
	barrier.Add(1)
	go func() {
		register(true, "select {}")
		select {}
	}()
}

//go:noinline
func leakDeadlockPair() {
	a, b := make(chan int), make(chan int)
	barrier.Add(2)
	go func() {
		register(true, "deadlock pair (receives a, then would send b)", addr(a))
		<-a
		b <- 1
	}()
	go func() {
		register(true, "deadlock pair (receives b, then would send a)", addr(b))
		<-b
		a <- 1
	}()
}

// Semaphore waits (sync.Mutex, RWMutex, WaitGroup): Go >= 1.26 links the waiter
// to its object through g.waiting, older runtimes only through runtime.semtable.
// Either way tlinspect must judge them.
//
// The sync objects live in structs with a pointer field: a bare Mutex or
// WaitGroup (no pointers, < 16 bytes) goes to the tiny allocator, which packs
// several into one 16-byte block, and the block is reachable as a whole (a
// leaked mutex sharing a block with a live one is not a leak for Go either).
type mutexBox struct {
	sync.Mutex
	_ *int
}

type wgBox struct {
	sync.WaitGroup
	_ *int
}

//go:noinline
func leakWaitGroup() {
	wg := new(wgBox)
	wg.Add(1)
	barrier.Add(1)
	go func() {
		register(true, "sema: WaitGroup.Wait on a local WaitGroup nobody calls Done on")
		wg.Wait()
	}()
}

//go:noinline
func leakMutex() {
	mu := new(mutexBox)
	mu.Lock() // locked and abandoned
	barrier.Add(1)
	go func() {
		register(true, "sema: Mutex.Lock on a local mutex locked and abandoned")
		mu.Lock()
	}()
}

//go:noinline
func leakRWMutexRLock() {
	rw := new(sync.RWMutex)
	rw.Lock() // write-locked and abandoned
	barrier.Add(1)
	go func() {
		register(true, "sema: RWMutex.RLock on a local RWMutex write-locked and abandoned")
		rw.RLock()
	}()
}

// a mutex held by a goroutine that is alive (sleeping, holding it): its waiter is NOT leaked
//
//go:noinline
func mutexHeldByLiveGoroutine() {
	mu := new(mutexBox)
	locked := make(chan struct{})
	go func(m *mutexBox) {
		m.Lock()
		close(locked)
		for {
			time.Sleep(time.Hour)
			m.Unlock()
			m.Lock()
		}
	}(mu)
	<-locked
	barrier.Add(1)
	go func() {
		register(false, "sema: Mutex.Lock on a mutex a live goroutine holds")
		mu.Lock()
	}()
}

// sync objects a global can reach: their waiters are NOT leaked
var (
	globalMu sync.Mutex
	globalWG = new(sync.WaitGroup)
)

//go:noinline
func syncHeldByGlobals() {
	globalMu.Lock()
	globalWG.Add(1)
	barrier.Add(2)
	go func() {
		register(false, "sema: Mutex.Lock on a global mutex")
		globalMu.Lock()
	}()
	go func() {
		register(false, "sema: WaitGroup.Wait on a WaitGroup a global points to")
		globalWG.Wait()
	}()
}

//go:noinline
func leakCond() {
	c := sync.NewCond(&sync.Mutex{})
	barrier.Add(1)
	go func() {
		register(true, "sync: Cond.Wait on a local Cond nobody signals")
		c.L.Lock()
		c.Wait()
	}()
}

func workerPool(n int) {
	barrier.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			register(false, "idle worker on a global channel", addr(jobs))
			for j := range jobs {
				_ = j
			}
		}()
	}
}

// a pipeline stage blocked sending to a consumer that is alive (sleeping, holding the channel)
//
//go:noinline
func pipeline() {
	out := make(chan int)
	barrier.Add(1)
	go func() {
		register(false, "pipeline stage, consumer alive", addr(out))
		out <- 7
	}()
	go func(in chan int) { // consumer: alive (sleeping), holds `in`
		for {
			time.Sleep(time.Hour)
			<-in
		}
	}(out)
}

// select with default never blocks: this goroutine polls and sleeps (not a leak, not blocked on a channel)
//
//go:noinline
func selectDefault() {
	c := make(chan int)
	go func() {
		for {
			select {
			case <-c:
			default:
			}
			time.Sleep(time.Hour)
		}
	}()
}

// a receiver on a buffered global channel that is blocked? no: bools has items. A
// receiver blocked on a global-held empty channel is covered by workerPool.

func fact(name string, c interface{}, l, cp int, closed bool, elem string, wrapped bool) {
	chanFacts[name] = chanFact{Addr: addr(c), Len: l, Cap: cp, Closed: closed, ElemType: elem, Wrapped: wrapped}
}

func main() {
	out := flag.String("out", ".", "directory for facts.json")
	leakProfile := flag.String("leakprofile", "", "write the goroutineleak profile (debug=2) here")
	flag.Parse()

	// buffered channel with wrap-around: sendx < recvx
	for i := 1; i <= 4; i++ {
		ring <- i
	}
	<-ring
	<-ring
	<-ring
	ring <- 5
	ring <- 6 // ring now holds 4,5,6: recvx=3, sendx=2
	strs <- "secret-one"
	strs <- "secret-two"
	closedCh <- 9
	close(closedCh)
	structs <- struct{ a, b int64 }{1, 2}
	bools <- true
	bools <- false
	bools <- true

	leakUnbufferedSend()
	leakReceiveSendersExited()
	leakSelect()
	leakContextBackground()
	leakNilSend()
	leakSelectNoCases()
	leakDeadlockPair()
	leakWaitGroup()
	leakMutex()
	leakRWMutexRLock()
	mutexHeldByLiveGoroutine()
	syncHeldByGlobals()
	leakCond()
	workerPool(3)
	pipeline()
	selectDefault()

	barrier.Wait()
	time.Sleep(300 * time.Millisecond) // let every registered goroutine park
	runtime.GC()

	fact("ring", ring, len(ring), cap(ring), false, "int", true)
	fact("strs", strs, len(strs), cap(strs), false, "string", false)
	fact("closedCh", closedCh, len(closedCh), cap(closedCh), true, "int", false)
	fact("structs", structs, len(structs), cap(structs), false, "struct { a int64; b int64 }", false)
	fact("bools", bools, len(bools), cap(bools), false, "bool", false)
	fact("jobs", jobs, len(jobs), cap(jobs), false, "int", false)

	regMu.Lock()
	facts := map[string]interface{}{
		"pid":         os.Getpid(),
		"go_version":  runtime.Version(),
		"leaked":      leaked,
		"leaked_sync": leakedSync,
		"sema":        semaWaits,
		"alive":       alive,
		"blocked_on":  blockedOn,
		"channels":    chanFacts,
		"ring_values": []int{4, 5, 6},
	}
	regMu.Unlock()
	b, _ := json.MarshalIndent(facts, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "facts.json"), b, 0o644); err != nil {
		panic(err)
	}
	if *leakProfile != "" {
		f, err := os.Create(*leakProfile)
		if err != nil {
			panic(err)
		}
		if p := pprof.Lookup("goroutineleak"); p != nil {
			p.WriteTo(f, 2)
		} else {
			fmt.Fprintln(f, "no goroutineleak profile")
		}
		f.Close()
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for {
		time.Sleep(time.Hour)
	}
}
