// leaktimers: goroutines blocked on timer channels, for tests/integration/goleak.sh. `leaks`
// judges a timer channel by reachability, as the runtime does: a pending timer sits in a P's
// timer heap (reached from allp) whose entry holds the channel, so its waiters are not leaked;
// a stopped timer's channel is held by nothing once it has left that heap (at once on go1.23+,
// whose timers leave the heap when stopped; older ones keep a deleted timer there until it is
// cleaned, so its waiter may still look reachable). Truth by construction, per function:
// pending, ticker and selpend never leak; stopped always leaks.
package main

import (
	"fmt"
	"os"
	"time"
)

func pending() { <-time.After(time.Hour) }

func stopped() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	<-t.C
}

func ticker() {
	t := time.NewTicker(time.Hour)
	for range t.C {
	}
}

func selpend(c chan int) {
	select {
	case <-c:
	case <-time.After(time.Hour):
	}
}

func main() {
	for i := 0; i < 3; i++ {
		go pending()
		go stopped()
		go ticker()
		go selpend(make(chan int))
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Fprintf(os.Stderr, "ready %d\n", os.Getpid())
	time.Sleep(time.Hour) // asleep: a root
}
