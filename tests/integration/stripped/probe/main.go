// Command probe links in the runtime structures tlinspect's runtime maps describe
// (goroutines, channels, select, timers, sync, maps, database/sql, net/http), so that its
// DWARF carries every type `tlinspect maps gen` emits. It is built, never run
// by maps-gen; run as a program it parks a few goroutines and prints "ready <pid>".
//
// Standard library only; must build with every toolchain from go1.19 on.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

type nopDriver struct{}

func (nopDriver) Open(string) (driver.Conn, error) { return nil, errors.New("probe: no database") }

type connector struct{}

func (connector) Connect(context.Context) (driver.Conn, error) { return nil, errors.New("probe: no database") }
func (connector) Driver() driver.Driver                         { return nopDriver{} }

var (
	mu   sync.Mutex
	rw   sync.RWMutex
	wg   sync.WaitGroup
	cond = sync.NewCond(&mu)
	sm   sync.Map
	db   *sql.DB
	m    = map[string]int{}
	tr   *http.Transport
)

func main() {
	db = sql.OpenDB(connector{})
	// net/http's Transport, persistConn and connLRU (container/list) in the DWARF
	tr = &http.Transport{}
	tr.CloseIdleConnections()
	sm.Store("k", 1)
	m["k"] = 1
	ch := make(chan int)
	bch := make(chan string, 4)
	done := make(chan struct{})
	tm := time.NewTimer(time.Hour)
	go func() { <-ch }()
	// a labelled goroutine: runtime/pprof's labelMap and label types are then in the DWARF
	go pprof.Do(context.Background(), pprof.Labels("probe", "labels"), func(context.Context) { <-ch })
	go func() { bch <- "x"; ch2 := make(chan bool); ch2 <- true }()
	go func() {
		select {
		case <-done:
		case <-tm.C:
		}
	}()
	wg.Add(1)
	go func() { wg.Wait() }()
	go func() { rw.RLock(); mu.Lock(); cond.Wait() }()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("ready %d\n", os.Getpid())
	if len(os.Args) > 1 && os.Args[1] == "-exit" {
		_ = db.Close()
		return
	}
	select {}
}
