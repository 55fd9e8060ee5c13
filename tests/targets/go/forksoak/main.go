// forksoak: a busy Go process that counts what it lives through, for the --snapshot=fork soak
// (tests/integration/fork.sh). It must notice if a stop, or the clone a fork snapshot makes one
// of its threads execute, loses or corrupts anything:
//   - a heartbeat goroutine counts 1 ms ticks and the longest gap between two;
//   - every real-time signal 40 it receives is counted (signal.Notify into a large channel:
//     real-time signals queue, so every one sent arrives; none is dropped by the kernel);
//   - workers allocate, fill and later verify buffers (the GC runs; sysmon preempts them with
//     SIGURG), and sleepers sit in nanosleep and futex system calls that stops interrupt;
//     a verification failure prints "corrupt" and exits 3.
// On SIGUSR1 it writes "SEQ TICKS SIGNALS MAXGAP_NS" to the -report file (via a rename).
// Prints "ready PID" once running.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

const rtSig = syscall.Signal(40)

func worker(id int) {
	ring := make([][]byte, 64)
	for i := 0; ; i++ {
		k := i % len(ring)
		if b := ring[k]; b != nil {
			for j := range b {
				if b[j] != byte(id+k+j) {
					fmt.Println("corrupt", id, k, j)
					os.Exit(3)
				}
			}
		}
		b := make([]byte, 16<<10)
		for j := range b {
			b[j] = byte(id + k + j)
		}
		ring[k] = b
		if i%64 == 0 {
			time.Sleep(200 * time.Microsecond)
		}
	}
}

func sleeper() {
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	go func() {
		for {
			time.Sleep(3 * time.Millisecond)
			c.Broadcast()
		}
	}()
	for {
		mu.Lock()
		c.Wait()
		mu.Unlock()
	}
}

func main() {
	report := flag.String("report", "", "where SIGUSR1 reports are written")
	workers := flag.Int("workers", 2, "allocating goroutines")
	flag.Parse()

	rt := make(chan os.Signal, 1<<16)
	signal.Notify(rt, rtSig)
	usr := make(chan os.Signal, 4)
	signal.Notify(usr, syscall.SIGUSR1)
	for i := 0; i < *workers; i++ {
		go worker(i)
	}
	go sleeper()

	tick := time.NewTicker(time.Millisecond)
	last := time.Now()
	var ticks, sigs, seq uint64
	var maxGap time.Duration
	fmt.Printf("ready %d\n", os.Getpid())
	for {
		select {
		case <-tick.C:
			n := time.Now()
			if g := n.Sub(last); g > maxGap {
				maxGap = g
			}
			last = n
			ticks++
		case <-rt:
			sigs++
		case <-usr:
			seq++
			tmp := *report + ".tmp"
			s := fmt.Sprintf("%d %d %d %d\n", seq, ticks, sigs, maxGap.Nanoseconds())
			if os.WriteFile(tmp, []byte(s), 0o644) == nil {
				os.Rename(tmp, *report)
			}
		}
	}
}
