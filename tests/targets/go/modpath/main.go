// Command modpath: goroutines blocked in a module whose path has a dot in its first element
// (example.com/demo/work), for the "user location" of tlinspect on normal and -trimpath builds.
// Prints "ready PID" once they are parked, then runs forever.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"example.com/demo/work"
)

func main() {
	c := make(chan int)
	go work.Block(c)
	p := work.New()
	for i := 0; i < 3; i++ {
		go p.Worker()
	}
	for runtime.NumGoroutine() < 5 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	fmt.Printf("ready %d\n", os.Getpid())
	for { // sleeping, not deadlocked: the runtime must not end the program
		time.Sleep(time.Hour)
	}
}
