// Command demo is a small "leaky service" for `make demo`: it has the usual
// ways a Go service leaks goroutines, prints "pid N" and then runs forever.
//
//   - request handlers whose result nobody reads: blocked forever on a send
//   - an idle worker pool waiting on a job channel
//   - a mutex pile-up behind a lock that is never released
//   - a ticker goroutine that sleeps between ticks
//   - a cache refresher waiting on a WaitGroup that never reaches zero
//
// Flags: -leaks N (leaked senders, default 50), -workers N (default 8),
// -waiters N (mutex waiters, default 20). Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

type result struct {
	id   int
	body string
}

type service struct {
	jobs     chan int
	mu       sync.Mutex
	cache    map[string]string
	refresh  sync.WaitGroup
	ticks    uint64
	shutdown chan struct{}
}

// handleRequest starts a backend call and "times out" without ever reading the
// result: the backend goroutine leaks, blocked on its send.
func (s *service) handleRequest(id int) {
	results := make(chan result) // unbuffered: the classic leak
	go s.callBackend(id, results)
	select {
	case r := <-results:
		_ = r
	case <-time.After(time.Millisecond):
		// timed out; nobody will ever receive from results
	}
}

func (s *service) callBackend(id int, out chan<- result) {
	time.Sleep(5 * time.Millisecond) // the backend is slow
	out <- result{id: id, body: "ok"}
}

// worker is one of an idle pool: it waits for jobs that never come.
func (s *service) worker(n int) {
	for j := range s.jobs {
		_ = j * n
	}
}

// updateCache waits for the cache lock, which an admin operation holds forever.
func (s *service) updateCache(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[key] = "v"
}

func (s *service) stuckAdminOperation(locked chan<- struct{}) {
	s.mu.Lock()
	close(locked)
	<-s.shutdown // forgot to unlock: holds s.mu until shutdown, which never comes
	s.mu.Unlock()
}

func (s *service) ticker() {
	for {
		time.Sleep(500 * time.Millisecond)
		s.ticks++
	}
}

func (s *service) refresher() {
	s.refresh.Wait() // Add(1) without a matching Done
}

func main() {
	leaks := flag.Int("leaks", 50, "leaked backend calls (blocked on send)")
	workers := flag.Int("workers", 8, "idle worker pool size")
	waiters := flag.Int("waiters", 20, "goroutines piled up on the cache mutex")
	flag.Parse()

	s := &service{jobs: make(chan int), cache: map[string]string{}, shutdown: make(chan struct{})}
	for i := 0; i < *workers; i++ {
		go s.worker(i)
	}
	locked := make(chan struct{})
	go s.stuckAdminOperation(locked)
	<-locked
	for i := 0; i < *waiters; i++ {
		go s.updateCache(fmt.Sprintf("k%d", i))
	}
	go s.ticker()
	s.refresh.Add(1)
	go s.refresher()
	for i := 0; i < *leaks; i++ {
		s.handleRequest(i)
	}
	time.Sleep(20 * time.Millisecond) // let the slow backends reach their send
	fmt.Printf("pid %d\n", os.Getpid())
	<-s.shutdown
}
