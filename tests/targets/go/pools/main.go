// Command pools is the target of tests/integration/pools.sh: two database/sql
// pools on a real PostgreSQL (lib/pq, built in GOPATH mode), put in a known
// state, then it waits.
//
//	db  (application_name APP_a, SetMaxOpenConns(5)):
//	    2 connections leaked (an *sql.Rows dropped without Close by goroutines that exit),
//	    2 held by goroutines parked with an open *sql.Rows,
//	    1 held by a goroutine parked with an *sql.Conn,
//	    1 request timed out (wait_count and wait_duration), 2 goroutines waiting in (*DB).conn.
//	db2 (application_name APP_b, SetMaxIdleConns(2)): 4 connections used at once and
//	    returned: 2 idle, 2 closed by max idle.
//	cache: a map[int]int that held 100,000 entries, 10 left (its buckets never shrink).
//	sessions (a sync.Map value): 100 keys stored and promoted by 100 loads, 30 deleted, one
//	    new key stored (the 30 deleted become expunged, dirty holds 71), one more deleted,
//	    5 loads missing: 70 entries. registry (a *sync.Map): 50 keys, ranged once.
//	hostile (a sync.Map): filled, then corrupted (corrupt).
//	http: Transports with idle and in-use connections on three local servers (http.go).
//	timers: 4 time.AfterFunc closures (one function), 3 tickers each with a goroutine
//	    receiving, 2 goroutines in time.Sleep; all an hour away; one more AfterFunc (another
//	    closure) reset from an hour to 30 minutes.
//
// The oracle (file argv[2]) is what the program and PostgreSQL say: db.Stats() of both,
// the goroutine ids of holders, waiters and leakers, pg_stat_activity's count of
// backends per application_name, and len() of the maps. Usage: pools SOCKETDIR ORACLE APP.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	_ "github.com/lib/pq"
)

var (
	db  *sql.DB
	db2 *sql.DB
	// a cache that once held cachePeak entries: Go maps never shrink
	cache = map[int]int{}
	small = map[string]int{"a": 1, "b": 2}
	// sync.Maps: one value, one behind a pointer
	sessions sync.Map
	registry = &sync.Map{}
	// a sync.Map corrupted as wild memory would be (corrupt)
	hostile sync.Map
	// timers nobody stops
	callbacks []*time.Timer
	tickers   []*time.Ticker
)

const cachePeak = 100000

const query = "SELECT generate_series(1, 100)"

func goid() int64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	id, _ := strconv.ParseInt(f[1], 10, 64)
	return id
}

func must(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func open(sock, app string) *sql.DB {
	d, err := sql.Open("postgres", fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable application_name=%s", sock, app))
	must(err)
	return d
}

//go:noinline
func leak(ids chan<- int64) {
	rows, err := db.Query(query) // dropped without Close: its connection stays in use
	must(err)
	_ = rows
	ids <- goid()
}

func hold(ids chan<- int64, release <-chan struct{}) {
	rows, err := db.Query(query)
	must(err)
	ids <- goid()
	<-release
	rows.Close()
}

func holdConn(ids chan<- int64, release <-chan struct{}) {
	c, err := db.Conn(context.Background())
	must(err)
	ids <- goid()
	<-release
	c.Close()
}

func wait(ids chan<- int64) {
	ids <- goid()
	rows, err := db.Query(query) // blocks in (*DB).conn: the pool is saturated
	if err == nil {
		rows.Close()
	}
}

func stats(d *sql.DB) map[string]int64 {
	s := d.Stats()
	return map[string]int64{
		"max_open": int64(s.MaxOpenConnections), "open": int64(s.OpenConnections), "in_use": int64(s.InUse),
		"idle": int64(s.Idle), "wait_count": s.WaitCount, "wait_duration_ns": int64(s.WaitDuration),
		"max_idle_closed": s.MaxIdleClosed, "max_idle_time_closed": s.MaxIdleTimeClosed,
		"max_lifetime_closed": s.MaxLifetimeClosed,
	}
}

func backends(app string) int64 {
	var n int64
	must(db2.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n))
	return n
}

// fillSyncMaps puts sessions and registry in the state the header describes; it returns
// what Load says is present in sessions (Range would promote its dirty map) and Range's
// count of registry.
func fillSyncMaps() (int, int) {
	for i := 0; i < 100; i++ {
		sessions.Store(i, i)
	}
	for i := 0; i < 100; i++ { // misses reach len(dirty): dirty becomes read
		sessions.Load(i)
	}
	for i := 0; i < 30; i++ { // deleted in read (p = nil)
		sessions.Delete(i)
	}
	sessions.Store(1000, 1000) // a new dirty map: the 30 deleted are expunged
	sessions.Delete(50)        // deleted in read and dirty
	present := 0
	for _, k := range append([]int{1000}, func() []int { // Load(1000) is a miss
		var ks []int
		for i := 0; i < 100; i++ {
			ks = append(ks, i)
		}
		return ks
	}()...) {
		if _, ok := sessions.Load(k); ok {
			present++
		}
	}
	for i := 0; i < 4; i++ {
		sessions.Load("nope")
	}
	for i := 0; i < 50; i++ {
		registry.Store(fmt.Sprint("k", i), i)
	}
	n := 0
	registry.Range(func(k, v any) bool { n++; return true })
	return present, n
}

// corrupt fills hostile, then breaks it: up to go1.23 its dirty map claims 2^60 buckets, from
// go1.24 its trie's root names itself as a child (a cycle). Nothing uses it afterwards, and the
// collector follows only pointers, so the program runs on. Offsets come from reflect.
func corrupt() string {
	for i := 0; i < 40; i++ {
		hostile.Store(i, i)
	}
	mt, base := reflect.TypeOf(hostile), unsafe.Pointer(&hostile)
	if f, ok := mt.FieldByName("dirty"); ok {
		h := *(*unsafe.Pointer)(unsafe.Add(base, f.Offset))
		*(*uint8)(unsafe.Add(h, 9)) = 60 // runtime.hmap.B
		return "wild bucket count"
	}
	m, _ := mt.FieldByName("m")
	r, _ := m.Type.FieldByName("root")
	root := *(*unsafe.Pointer)(unsafe.Add(base, m.Offset+r.Offset))
	ind := r.Type.Field(0).Type.Elem().Elem() // atomic.Pointer[T]{_ [0]*T; ...}: T
	c, _ := ind.FieldByName("children")
	*(*unsafe.Pointer)(unsafe.Add(root, c.Offset)) = root
	return "cycle"
}

var (
	fired     int
	resetName string
)

// armTimers starts the timers the header describes; it returns the AfterFunc function's name.
func armTimers() string {
	f := func() { fired++ }
	for i := 0; i < 4; i++ {
		callbacks = append(callbacks, time.AfterFunc(time.Hour, f))
	}
	// reset before it fires: up to go1.22 the new time waits in nextwhen
	reset := func() { fired++ }
	r := time.AfterFunc(time.Hour, reset)
	r.Reset(30 * time.Minute)
	callbacks = append(callbacks, r)
	resetName = runtime.FuncForPC(reflect.ValueOf(reset).Pointer()).Name()
	for i := 0; i < 3; i++ {
		t := time.NewTicker(time.Hour)
		tickers = append(tickers, t)
		go func() {
			for range t.C {
			}
		}()
	}
	for i := 0; i < 2; i++ {
		go time.Sleep(time.Hour)
	}
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}

func main() {
	sock, oracle, app := os.Args[1], os.Args[2], os.Args[3]
	db, db2 = open(sock, app+"_a"), open(sock, app+"_b")
	db.SetMaxOpenConns(5)
	db2.SetMaxIdleConns(2)

	// db2: four connections at once, then all returned: two stay idle
	var tx [4]*sql.Conn
	for i := range tx {
		c, err := db2.Conn(context.Background())
		must(err)
		must(c.PingContext(context.Background()))
		tx[i] = c
	}
	for _, c := range tx {
		c.Close()
	}

	ids := make(chan int64)
	release := make(chan struct{})
	var leakers, holders, waiters []int64
	for i := 0; i < 2; i++ {
		go leak(ids)
		leakers = append(leakers, <-ids)
	}
	for i := 0; i < 2; i++ {
		go hold(ids, release)
		holders = append(holders, <-ids)
	}
	go holdConn(ids, release)
	holders = append(holders, <-ids)
	// one request that gives up: wait_count 1 and a wait duration
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	if _, err := db.QueryContext(ctx, query); err == nil {
		must(fmt.Errorf("pool not saturated"))
	}
	cancel()
	for i := 0; i < 2; i++ {
		go wait(ids)
		waiters = append(waiters, <-ids)
	}
	for db.Stats().WaitCount != 3 {
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < cachePeak; i++ {
		cache[i] = i
	}
	for i := 10; i < cachePeak; i++ {
		delete(cache, i)
	}
	pgA, pgB := backends(app+"_a"), backends(app+"_b")
	sessionsPresent, registryRange := fillSyncMaps()
	hostileHow := corrupt()
	httpState := setupHTTP()
	afterFunc := armTimers()
	time.Sleep(20 * time.Millisecond) // the ticker goroutines block on their channels
	runtime.GC()
	finishHTTP(httpState)
	out := map[string]interface{}{
		"db": stats(db), "db2": stats(db2), "pg_backends_a": pgA, "pg_backends_b": pgB,
		"leakers": leakers, "holders": holders, "waiters": waiters,
		"cache_len": len(cache), "cache_peak": cachePeak, "small_len": len(small),
		"sessions_present": sessionsPresent, "registry_range": registryRange, "hostile": hostileHow, "http": httpState,
		"timers": map[string]interface{}{"after_func": afterFunc, "after_func_count": 4, "reset": resetName,
			"reset_seconds": 1800,
			"tickers": 3, "ticker_period_seconds": 3600, "sleeps": 2},
	}
	b, _ := json.Marshal(out)
	must(os.WriteFile(oracle, b, 0o644))
	fmt.Printf("ready %d\n", os.Getpid())
	select {}
}
