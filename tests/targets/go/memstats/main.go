// memstats: the oracle of tests/integration/goheap.sh. It allocates a mix (tiny,
// small, large objects, garbage, a few goroutines), runs runtime.GC(), allocates a
// bit more so that every P's mcache holds spans and counts not yet flushed, lets the
// runtime settle, then prints "ready <pid>" and waits for SIGUSR1 without allocating. The suite inspects
// it in that state (live and from a core); on SIGUSR1 the target calls
// runtime.ReadMemStats (which flushes the mcaches) and writes the figures as JSON
// (snake_case keys) to the file named by argv[1], then blocks forever, still
// without allocating, so that the flushed state can be inspected too.
package main

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type node struct {
	next *node
	val  [5]int64
}

var (
	keepSmall []*node
	keepTiny  []*int32
	keepBig   [][]byte
	keepStr   []string
	sink      interface{}
	ms        runtime.MemStats
	mu        sync.Mutex
	out       = make([]byte, 0, 8192)
)

// alloc runs in several goroutines at once (each P's mcache gets spans): the shared slices are
// appended under mu (unsynchronized appends raced: on arm64 a torn slice header crashed it)
func alloc(round int) {
	for i := 0; i < 3000; i++ {
		mu.Lock()
		keepSmall = append(keepSmall, &node{val: [5]int64{int64(i)}})
		v := int32(i)
		keepTiny = append(keepTiny, &v)
		if i%7 == 0 {
			keepStr = append(keepStr, strconv.Itoa(i*round))
		}
		sink = make([]byte, 100+i%900) // garbage
		mu.Unlock()
	}
	for i := 0; i < 8; i++ {
		mu.Lock()
		keepBig = append(keepBig, make([]byte, 40000+i*5000))
		sink = make([]byte, 70000) // large garbage
		mu.Unlock()
	}
}

func field(name string, v uint64) {
	if len(out) > 1 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	out = strconv.AppendUint(out, v, 10)
}

func main() {
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: memstats OUTFILE\n")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 40)

	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			alloc(g + 1)
		}(g)
	}
	wg.Wait()
	alloc(4)
	runtime.GC()
	// return every free page now, so that the background scavenger has nothing left to
	// release while the suite looks (heap_released would drift by megabytes otherwise)
	debug.FreeOSMemory()
	alloc(5) // not flushed: mcaches hold spans and counts
	keepSmall = keepSmall[:len(keepSmall)/2]
	sink = nil
	ready := []byte("ready " + strconv.Itoa(os.Getpid()) + "\n")
	written := []byte("written\n")
	// Receiving a signal may make the runtime start a thread, which allocates its m and g:
	// receive one now, so that the threads SIGUSR1 needs exist before the looks, and let
	// the runtime settle.
	warm := make(chan os.Signal, 1)
	signal.Notify(warm, syscall.SIGUSR2)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	<-warm
	time.Sleep(300 * time.Millisecond)
	os.Stdout.Write(ready)
	<-sig
	runtime.ReadMemStats(&ms)
	out = append(out, '{')
	field("alloc", ms.Alloc)
	field("total_alloc", ms.TotalAlloc)
	field("sys", ms.Sys)
	field("mallocs", ms.Mallocs)
	field("frees", ms.Frees)
	field("heap_alloc", ms.HeapAlloc)
	field("heap_sys", ms.HeapSys)
	field("heap_idle", ms.HeapIdle)
	field("heap_inuse", ms.HeapInuse)
	field("heap_released", ms.HeapReleased)
	field("heap_objects", ms.HeapObjects)
	field("stack_inuse", ms.StackInuse)
	field("stack_sys", ms.StackSys)
	field("mspan_inuse", ms.MSpanInuse)
	field("mspan_sys", ms.MSpanSys)
	field("mcache_inuse", ms.MCacheInuse)
	field("mcache_sys", ms.MCacheSys)
	field("buck_hash_sys", ms.BuckHashSys)
	field("gc_sys", ms.GCSys)
	field("other_sys", ms.OtherSys)
	field("next_gc", ms.NextGC)
	field("last_gc", ms.LastGC)
	field("pause_total_ns", ms.PauseTotalNs)
	field("num_gc", uint64(ms.NumGC))
	field("num_forced_gc", uint64(ms.NumForcedGC))
	out = append(out, '}', '\n')
	f.Write(out)
	f.Close()
	os.Stdout.Write(written)
	select {}
}
