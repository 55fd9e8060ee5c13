// overtime: the target of tests/integration/overtime.sh (snapshot, diff, watch, goroutines --pprof).
//
//	overtime OUTDIR leak    stable workers; on SIGUSR1 leaks exactly LEAKN goroutines blocked on a
//	                        channel receive in main.leakyHandler (started by main.leakBurst under the
//	                        pprof labels burst=one, which they inherit) and LEAKN objects of type
//	                        main.LeakedRecord (kept by a global slice), POOLN connections of the
//	                        database/sql pool main.otdb (an in-process driver: *sql.Rows dropped
//	                        without Close) and TIMERN time.AfterFunc(main.leakTimer) an hour away,
//	                        then writes OUTDIR/pool.json (db.Stats() at ready and after, the counts)
//	                        and OUTDIR/leaked ("LEAKN SIZEOF"); on SIGUSR2 writes the runtime's own goroutine
//	                        profile (pprof debug=0) to OUTDIR/goroutine.pb.gz at a quiet point.
//	overtime OUTDIR drip    stable workers that come and go (same count within noise) and one
//	                        goroutine per DRIP_MS started in main.dripper, blocked forever.
//
// Prints "ready PID" when its steady state is reached.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

const LEAKN = 37
const WORKERS = 8
const POOLN = 3
const TIMERN = 4

// an in-process database/sql driver: every query returns rows that never end. No connection is
// opened before the signal (a connection taken from the idle list would stay reachable from the
// list's backing array, as the GC sees it, so not leaked).
type fakeDriver struct{}
type fakeConn struct{ n int }
type fakeStmt struct{}
type fakeRows struct{}

func (fakeDriver) Open(string) (driver.Conn, error)         { return &fakeConn{}, nil }
func (*fakeConn) Prepare(string) (driver.Stmt, error)       { return fakeStmt{}, nil }
func (*fakeConn) Close() error                              { return nil }
func (*fakeConn) Begin() (driver.Tx, error)                 { return nil, io.EOF }
func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return driver.ResultNoRows, nil }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return fakeRows{}, nil }
func (fakeRows) Columns() []string                          { return []string{"x"} }
func (fakeRows) Close() error                               { return nil }
func (fakeRows) Next(dest []driver.Value) error             { dest[0] = int64(1); return nil }

var otdb *sql.DB
var leakTimers []*time.Timer

//go:noinline
func leakTimer() {}

// leakPool drops POOLN *sql.Rows without Close: their connections stay in use, reachable only
// from the pool's bookkeeping
//
//go:noinline
func leakPool() {
	for i := 0; i < POOLN; i++ {
		rows, err := otdb.Query("SELECT 1")
		if err != nil {
			panic(err)
		}
		_ = rows
	}
}

func dbStats() string {
	s := otdb.Stats()
	return fmt.Sprintf(`{"open": %d, "in_use": %d, "idle": %d, "wait_count": %d}`, s.OpenConnections, s.InUse,
		s.Idle, s.WaitCount)
}

type LeakedRecord struct {
	ID      int
	Payload [10]int64
	Next    *LeakedRecord
}

var kept []*LeakedRecord
var keepMu sync.Mutex

//go:noinline
func leakyHandler(ch chan int) {
	<-ch // nobody ever sends: leaked
}

//go:noinline
func leakBurst() {
	pprof.Do(context.Background(), pprof.Labels("burst", "one"), func(context.Context) {
		for i := 0; i < LEAKN; i++ {
			ch := make(chan int)
			go leakyHandler(ch)
		}
	})
	keepMu.Lock()
	for i := 0; i < LEAKN; i++ {
		kept = append(kept, &LeakedRecord{ID: i})
	}
	keepMu.Unlock()
}

//go:noinline
func worker(jobs chan int, wg *sync.WaitGroup) {
	defer wg.Done()
	for j := range jobs {
		_ = j
	}
}

//go:noinline
func stableWorkers(stop chan struct{}) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < WORKERS; i++ {
		wg.Add(1)
		go worker(jobs, &wg)
	}
	<-stop
}

// a pool that goes up and down (4, 6, 4, 6 ...) but never trends: watch must not flag it
//
//go:noinline
func wobbler(quit chan struct{}) {
	<-quit
}

func wobble() {
	for i := 0; i < 4; i++ {
		go wobbler(make(chan struct{}))
	}
	for {
		quit := make(chan struct{})
		go wobbler(quit)
		go wobbler(quit)
		time.Sleep(700 * time.Millisecond)
		close(quit)
		time.Sleep(700 * time.Millisecond)
	}
}

//go:noinline
func dripped(ch chan struct{}) {
	<-ch
}

//go:noinline
func dripper(every time.Duration) {
	for {
		go dripped(make(chan struct{}))
		time.Sleep(every)
	}
}

// profileWriter writes the runtime's own goroutine profile (debug=0) when asked, once main is
// back at its receive: every other goroutine is then where tlinspect will find it later (this
// one, in WriteTo here and at its receive afterwards, is left out of the comparison).
//
//go:noinline
func profileWriter(out string, req chan struct{}) {
	for range req {
		time.Sleep(200 * time.Millisecond)
		pprof.Do(context.Background(), pprof.Labels("phase", "profile"), func(context.Context) {
			f, err := os.Create(filepath.Join(out, "goroutine.tmp"))
			if err == nil {
				pprof.Lookup("goroutine").WriteTo(f, 0)
				f.Close()
				os.Rename(filepath.Join(out, "goroutine.tmp"), filepath.Join(out, "goroutine.pb.gz"))
			}
		})
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: overtime OUTDIR leak|drip")
		os.Exit(2)
	}
	out := os.Args[1]
	stop := make(chan struct{})
	go stableWorkers(stop)
	profReq := make(chan struct{})
	go profileWriter(out, profReq)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	switch os.Args[2] {
	case "drip":
		go wobble()
		go dripper(200 * time.Millisecond)
	case "leak":
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
	sql.Register("overtime", fakeDriver{})
	otdb, _ = sql.Open("overtime", "")
	otdb.SetMaxIdleConns(2)
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	atReady := dbStats()
	fmt.Printf("ready %d\n", os.Getpid())
	for s := range sig {
		switch s {
		case syscall.SIGUSR1:
			leakBurst()
			leakPool()
			for i := 0; i < TIMERN; i++ {
				leakTimers = append(leakTimers, time.AfterFunc(time.Hour, leakTimer))
			}
			runtime.GC()
			time.Sleep(100 * time.Millisecond) // every leaked goroutine parks
			// the oracle: how many goroutines and objects, and the size of one object
			// (fmt, not encoding/json: its caches would be more that moved)
			// and the runtime's memstats now (the first screen's memory line)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			pj := fmt.Sprintf(`{"db": "main.otdb", "before": %s, "after": %s, "leaked_connections": %d, `+
				`"timers": %d, "timer_function": "main.leakTimer", "labels": {"burst": "one"}, `+
				`"memstats": {"num_gc": %d, "heap_alloc": %d, "heap_objects": %d, "heap_sys": %d}}`,
				atReady, dbStats(), POOLN, TIMERN, ms.NumGC, ms.HeapAlloc, ms.HeapObjects, ms.HeapSys)
			os.WriteFile(filepath.Join(out, "pool.json"), []byte(pj), 0644)
			os.WriteFile(filepath.Join(out, "leaked"),
				[]byte(fmt.Sprintf("%d %d\n", LEAKN, unsafe.Sizeof(LeakedRecord{}))), 0644)
		case syscall.SIGUSR2:
			profReq <- struct{}{}
		}
	}
}
