// Command census is the oracle of tests/integration/gotypes.sh (the Go heap census,
// `tlinspect heap`): it builds known numbers of objects of named types reachable
// from named globals and from one goroutine's stack, plus garbage nothing reaches,
// records what it built, then blocks without allocating.
//
//	census -out FILE
//
// With the GC off, each construction's heap bytes are the runtime's own HeapAlloc
// delta (runtime.ReadMemStats) around it. FILE gets lines
//
//	type NAME COUNT        objects of NAME built (main.Garbage: garbage, 0 live)
//	root NAME BYTES        heap bytes added by the construction held by root NAME
//
// and "ready PID" is printed last.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

type User struct {
	ID   int
	Name string
	Tags []string
}

type Entry struct {
	K int
	V [3]int64
}

// Big is larger than 512 bytes: on go1.22+ it carries a malloc header.
type Big struct {
	refs [60]*int
	pad  [120]uint64
}

type Shape interface{ Area() int }

type Circle struct {
	R    int
	Next *Circle
}

func (c *Circle) Area() int { return 3 * c.R * c.R }

type Boxed struct {
	A, B int
	P    *int
}

type Node struct {
	next *Node
	val  int
}

type Local struct {
	a, b int
	p    *Local
}

type Garbage struct {
	a, b int64
	p    *int
}

var (
	users  []*User
	byID   map[int]*Entry
	bigs   []*Big
	shapes []Shape
	boxed  any
	head   *Node
)

const (
	nUsers   = 1000
	nEntries = 500
	nBigs    = 40
	nShapes  = 200
	nNodes   = 3000
	nLocals  = 300
	nGarbage = 2000
)

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// name returns a 24-byte string, allocated once (no intermediate garbage)
func name(i int) string {
	var b [24]byte
	s := strconv.AppendInt(b[:0], int64(i), 10)
	for j := len(s); j < 24; j++ {
		b[j] = 'x'
	}
	return string(b[:])
}

func buildUsers() {
	users = make([]*User, nUsers)
	for i := range users {
		users[i] = &User{ID: i, Name: name(i)}
	}
}

func buildMap() {
	byID = make(map[int]*Entry, nEntries)
	for i := 0; i < nEntries; i++ {
		byID[i] = &Entry{K: i}
	}
}

func buildBigs() {
	bigs = make([]*Big, nBigs)
	for i := range bigs {
		bigs[i] = &Big{}
	}
}

func buildShapes() {
	shapes = make([]Shape, nShapes)
	for i := range shapes {
		shapes[i] = &Circle{R: i}
	}
}

func buildList() {
	head = nil // a rebuild (measure) starts over
	for i := 0; i < nNodes; i++ {
		head = &Node{next: head, val: i}
	}
}

var sink *Garbage

func buildGarbage(done chan struct{}) {
	for i := 0; i < nGarbage; i++ {
		g := &Garbage{a: int64(i)}
		if i == -1 {
			sink = g
		}
	}
	close(done)
}

func goid() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return strings.Fields(string(buf))[1]
}

// newLocals builds the stack-held objects; the slice escapes (it is returned), so its
// backing array is a heap object that only holder's stack points to
//
//go:noinline
func newLocals() []*Local {
	locals := make([]*Local, nLocals)
	for i := range locals {
		locals[i] = &Local{a: i}
	}
	return locals
}

// holder keeps nLocals objects on its stack only, reports, and blocks
func holder(report chan<- string, block <-chan struct{}) {
	id := goid()
	// the construction is nLocals objects and one backing array; if anything else allocated
	// meanwhile (a runtime goroutine), build again: the earlier copy is garbage
	var locals []*Local
	var bytes uint64
	for try := 0; try < 20; try++ {
		var b, a runtime.MemStats
		runtime.ReadMemStats(&b)
		locals = newLocals()
		runtime.ReadMemStats(&a)
		bytes = a.HeapAlloc - b.HeapAlloc
		if a.Mallocs-b.Mallocs == nLocals+1 {
			break
		}
	}
	report <- fmt.Sprintf("root goroutine_%s %d", id, bytes)
	<-block
	runtime.KeepAlive(locals)
}

// waitParked returns once goroutine id is blocked on a channel receive (runtime.Stack says so)
func waitParked(id string) {
	buf := make([]byte, 1<<20)
	for i := 0; i < 2000; i++ {
		n := runtime.Stack(buf, true)
		if strings.Contains(string(buf[:n]), "goroutine "+id+" [chan receive") {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// measure records the bytes f's root retains: HeapAlloc's growth while f builds it. The runtime
// may allocate for itself meanwhile (a new thread's m and g on a loaded machine: seen, 5320 B
// more on go1.26 in a CI run), which only adds: f (idempotent: it rebuilds the root, the
// earlier build becomes garbage, the GC is off) runs three times and the least growth counts.
func measure(w *bufio.Writer, root string, f func()) {
	best := ^uint64(0)
	for k := 0; k < 3; k++ {
		before := heapAlloc()
		f()
		if d := heapAlloc() - before; d < best {
			best = d
		}
	}
	fmt.Fprintf(w, "root %s %d\n", root, best)
}

func main() {
	out := flag.String("out", "census.txt", "where to record what was built")
	flag.Parse()
	// a sleeper keeps the runtime's deadlock detector quiet while everything else blocks
	go func() {
		for {
			time.Sleep(time.Hour)
		}
	}()
	runtime.GC()
	debug.SetGCPercent(-1)
	f, err := os.Create(*out + ".tmp")
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(f)
	time.Sleep(20 * time.Millisecond) // let the runtime's own goroutines settle
	report, block := make(chan string), make(chan struct{})
	go holder(report, block)
	held := <-report
	// the holder's `<-block` takes a sudog (96 B, allocated when the P's cache is empty): wait
	// until it is parked so that this allocation does not land inside the next measurement
	waitParked(strings.Fields(held)[1][len("goroutine_"):])
	measure(w, "main.users", buildUsers)
	measure(w, "main.byID", buildMap)
	measure(w, "main.bigs", buildBigs)
	measure(w, "main.shapes", buildShapes)
	measure(w, "main.boxed", func() { boxed = &Boxed{A: 1} })
	measure(w, "main.head", buildList)
	fmt.Fprintln(w, held)
	done := make(chan struct{})
	go buildGarbage(done)
	<-done
	for _, t := range []struct {
		n string
		c int
	}{{"main.User", nUsers}, {"main.Entry", nEntries}, {"main.Big", nBigs}, {"main.Circle", nShapes},
		{"main.Boxed", 1}, {"main.Node", nNodes}, {"main.Local", nLocals}, {"main.Garbage", nGarbage}} {
		fmt.Fprintf(w, "type %s %d\n", t.n, t.c)
	}
	w.Flush()
	f.Close()
	os.Rename(*out+".tmp", *out)
	fmt.Printf("ready %d\n", os.Getpid())
	select {}
}
