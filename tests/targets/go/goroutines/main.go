// Command goroutines is an integration-test target for tlinspect.
//
// It parks goroutines in known states, waits until they have all parked,
// runs two GCs (so g.waitsince gets stamped), and then records the
// runtime's own view of itself:
//
//	<out>/stack.txt         runtime.Stack(buf, true)
//	<out>/pprof-debug2.txt  pprof.Lookup("goroutine").WriteTo(f, 2)
//	<out>/facts.json        pid, go version, NumGoroutine, role -> goid
//
// The dump is taken by a goroutine that exits afterwards, so its [running]
// entry is the one goroutine of the dump that no longer exists at
// inspection time. Then main prints "ready <pid>" and blocks forever in
// `select {}` (its state at inspection time differs from the dump).
//
// Flags: -out DIR (default "."), -n N extra parked goroutines (scale),
// -crash: after the dump, debug.SetTraceback("crash") so that SIGABRT makes
// the kernel write a core (the dump itself stays at the default traceback
// level, so it is comparable with tlinspect's default hiding rules).
//
// Standard library only; must build with every toolchain from go1.19 on.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ---------------------------------------------------------------------------
// registry: each deliberately parked goroutine records its role and goid,
// then signals the barrier right before it blocks.

var (
	regMu   sync.Mutex
	roles   = map[string]int64{}
	extra   []int64
	barrier sync.WaitGroup
)

// curGoid parses the goroutine id from this goroutine's own traceback header
// ("goroutine 18 [running]:").
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

//go:noinline
func register(role string) {
	id := curGoid()
	regMu.Lock()
	if role == "" {
		extra = append(extra, id)
	} else {
		roles[role] = id
	}
	regMu.Unlock()
	barrier.Done()
}

// ---------------------------------------------------------------------------
// shared objects the goroutines block on

var (
	sendCh     = make(chan int)      // nobody receives
	recvCh     = make(chan int)      // nobody sends
	selA       = make(chan int)      // select: receive case
	selB       = make(chan string)   // select: send case
	stopCh     = make(chan struct{}) // never closed
	heldMu     sync.Mutex            // locked by main forever
	heldRW     sync.RWMutex          // write-locked by main forever
	neverWG    sync.WaitGroup        // Add(1), never Done
	condMu     sync.Mutex
	cond       = sync.NewCond(&condMu)
	pipeR      *os.File
	pipeW      *os.File // kept open so the reader never sees EOF
	busyCount  [2]uint64
	inlineCh   = make(chan int)
	spawnCh    = make(chan int)
	closureCh  = make(chan int)
	methodCh   = make(chan int)
	genericCh  = make(chan float64)
	lockedCh   = make(chan int)
	extraSend  [16]chan int
	extraRecv  [16]chan int
	extraSel   [16]chan int
	nilChan    chan int // nil
	sleepLong  = 24 * time.Hour
	busyYields uint64
)

func init() {
	for i := range extraSend {
		extraSend[i] = make(chan int)
		extraRecv[i] = make(chan int)
		extraSel[i] = make(chan int)
	}
}

// ---------------------------------------------------------------------------
// one function per role, so each has a distinct, recognisable frame

//go:noinline
func blockChanSend() {
	register("chan_send")
	sendCh <- 42
}

//go:noinline
func blockChanRecv() {
	register("chan_recv")
	<-recvCh
}

//go:noinline
func blockSelect2() {
	register("select2")
	select {
	case <-selA:
	case selB <- "x":
	}
}

//go:noinline
func selectDefaultLoop() {
	register("select_default_loop")
	for {
		select {
		case <-stopCh:
			return
		default:
		}
		time.Sleep(10 * time.Millisecond)
	}
}

//go:noinline
func blockNilSend() {
	register("nil_send")
	nilChan <- 1
}

//go:noinline
func blockNilRecv() {
	register("nil_recv")
	<-nilChan
}

//go:noinline
func blockSelectNoCases() {
	register("select_nocases")
	select {}
}

//go:noinline
func blockMutex() {
	register("mutex_lock")
	heldMu.Lock()
	heldMu.Unlock()
}

//go:noinline
func blockRLock() {
	register("rwmutex_rlock")
	heldRW.RLock()
	heldRW.RUnlock()
}

//go:noinline
func blockWaitGroup() {
	register("waitgroup_wait")
	neverWG.Wait()
}

//go:noinline
func blockCond() {
	condMu.Lock()
	register("cond_wait")
	for {
		cond.Wait() // never signalled
	}
}

//go:noinline
func blockSleep() {
	register("sleep")
	time.Sleep(sleepLong)
}

//go:noinline
func blockPipeRead() {
	register("pipe_read")
	var b [16]byte
	_, _ = pipeR.Read(b[:])
}

//go:noinline
func busyLoop(i int) {
	register("busy" + strconv.Itoa(i+1))
	for {
		busyCount[i]++
		if busyCount[i]%(1<<20) == 0 {
			runtime.Gosched()
		}
	}
}

// A chain of small helpers without //go:noinline: the compiler inlines them
// into inlinedRoot, so tracebacks show inlined frames "main.inlC(...)".
func inlC(ch chan int) int { return <-ch }
func inlB(ch chan int) int { return inlC(ch) + 1 }
func inlA(ch chan int) int { return inlB(ch) + 2 }

//go:noinline
func inlinedRoot() {
	register("inlined_chain")
	v := inlA(inlineCh)
	fmt.Println(v)
}

// spawner is itself a goroutine (created by main); it creates "spawned",
// so spawned's creator goid is not 1.
//
//go:noinline
func spawner() {
	barrier.Add(1)
	go spawned()
	register("spawner")
	<-spawnCh
}

//go:noinline
func spawned() {
	register("spawned")
	<-spawnCh
}

type worker struct{ name string }

//go:noinline
func (w *worker) run(ch chan int) {
	register("method_value")
	<-ch
	fmt.Println(w.name)
}

//go:noinline
func genericWait[T any](ch chan T) T {
	register("generic")
	return <-ch
}

//go:noinline
func lockedThread() {
	runtime.LockOSThread()
	register("locked_thread")
	<-lockedCh
}

//go:noinline
func extraParked(i int) {
	register("")
	k := i / 5 % 16
	switch i % 5 {
	case 0:
		extraSend[k] <- i
	case 1:
		<-extraRecv[k]
	case 2:
		select {
		case <-extraSel[k]:
		case extraSend[k] <- i:
		}
	case 3:
		heldMu.Lock()
	default:
		time.Sleep(sleepLong)
	}
}

// ---------------------------------------------------------------------------
// dumping

func allStacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// headerStates maps goid -> bracket text of each "goroutine N [...]:" line.
func headerStates(dump []byte) map[int64]string {
	out := map[int64]string{}
	for _, line := range bytes.Split(dump, []byte("\n")) {
		s := string(line)
		if !strings.HasPrefix(s, "goroutine ") || !strings.HasSuffix(s, "]:") {
			continue
		}
		f := strings.Fields(s)
		id, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		i := strings.Index(s, "[")
		out[id] = s[i+1 : len(s)-2]
	}
	return out
}

// allParked reports whether every goroutine in the dump except self and the
// volatile ones is in a parked (not running/runnable) state.
func allParked(dump []byte, self int64, volatile map[int64]bool) (bool, string) {
	for id, st := range headerStates(dump) {
		if id == self || volatile[id] {
			continue
		}
		if strings.HasPrefix(st, "running") || strings.HasPrefix(st, "runnable") {
			return false, fmt.Sprintf("goroutine %d [%s]", id, st)
		}
	}
	return true, ""
}

type facts struct {
	Pid               int              `json:"pid"`
	GoVersion         string           `json:"go_version"`
	Executable        string           `json:"executable"`
	NumGoroutine      int              `json:"num_goroutine"`
	NumGoroutineAtDmp int              `json:"num_goroutine_at_dump"`
	DumpTimeUnix      float64          `json:"dump_time_unix"`
	DumperGoid        int64            `json:"dumper_goid"`
	Main              map[string]any   `json:"main"`
	Roles             map[string]int64 `json:"roles"`
	Volatile          []string         `json:"volatile"`
	Extra             map[string]any   `json:"extra"`
	ParkPolls         int              `json:"park_polls"`
}

var volatileRoles = []string{"busy1", "busy2", "select_default_loop"}

func dump(outdir string, f *facts) error {
	self := curGoid()
	f.DumperGoid = self
	regMu.Lock()
	vol := map[int64]bool{}
	for _, r := range volatileRoles {
		vol[roles[r]] = true
	}
	regMu.Unlock()

	// Registration happens right before blocking; poll until every goroutine
	// has actually parked.
	deadline := time.Now().Add(20 * time.Second)
	for {
		f.ParkPolls++
		ok, who := allParked(allStacks(), self, vol)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutines did not park in time: %s", who)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// waitsince is stamped by GC stack scanning with the end time of the
	// previous cycle: two GCs are needed (runtime/mgcmark.go scanstack, go1.19+).
	runtime.GC()
	runtime.GC()

	st := allStacks()
	if ok, who := allParked(st, self, vol); !ok {
		return fmt.Errorf("goroutine woke up before the dump: %s", who)
	}
	f.DumpTimeUnix = float64(time.Now().UnixNano()) / 1e9
	f.NumGoroutineAtDmp = runtime.NumGoroutine()
	if err := os.WriteFile(filepath.Join(outdir, "stack.txt"), st, 0o644); err != nil {
		return err
	}
	pf, err := os.Create(filepath.Join(outdir, "pprof-debug2.txt"))
	if err != nil {
		return err
	}
	if err := pprof.Lookup("goroutine").WriteTo(pf, 2); err != nil {
		pf.Close()
		return err
	}
	return pf.Close()
}

func main() {
	outdir := flag.String("out", ".", "directory for stack.txt, pprof-debug2.txt, facts.json")
	nExtra := flag.Int("n", 0, "extra parked goroutines (for scale)")
	crash := flag.Bool("crash", false, "after the dump, set traceback level crash (SIGABRT then dumps core)")
	flag.Parse()

	if err := os.MkdirAll(*outdir, 0o755); err != nil {
		fatal(err)
	}
	var err error
	pipeR, pipeW, err = os.Pipe()
	if err != nil {
		fatal(err)
	}
	heldMu.Lock()
	heldRW.Lock()
	neverWG.Add(1)

	named := []func(){
		blockChanSend, blockChanRecv, blockSelect2, selectDefaultLoop,
		blockNilSend, blockNilRecv, blockSelectNoCases, blockMutex,
		blockRLock, blockWaitGroup, blockCond, blockSleep, blockPipeRead,
		inlinedRoot, spawner, lockedThread,
	}
	barrier.Add(len(named) + 2 + 3 + *nExtra)
	for _, fn := range named {
		go fn()
	}
	for i := 0; i < 2; i++ {
		go busyLoop(i)
	}
	// closure goroutine: captures a local
	local := make(chan int)
	go func() {
		register("closure")
		<-local
		<-closureCh
	}()
	// method-value goroutine
	w := &worker{name: "w"}
	mv := w.run
	go mv(methodCh)
	// generic function goroutine
	go genericWait[float64](genericCh)
	for i := 0; i < *nExtra; i++ {
		go extraParked(i)
	}
	barrier.Wait()

	exe, _ := os.Executable()
	f := &facts{
		Pid:        os.Getpid(),
		GoVersion:  runtime.Version(),
		Executable: exe,
		Main: map[string]any{
			"goid":               curGoid(),
			"state_at_inspection": "select (no cases)",
			"holds":              []string{"heldMu", "heldRW (write)"},
		},
		Volatile: volatileRoles,
	}

	before := runtime.NumGoroutine()
	errc := make(chan error)
	go func() { errc <- dump(*outdir, f) }() // the dumper exits after sending
	if err := <-errc; err != nil {
		fatal(err)
	}
	// Wait until the dumper goroutine is really gone.
	for i := 0; i < 2000 && runtime.NumGoroutine() != before; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)

	regMu.Lock()
	f.Roles = roles
	ex := append([]int64(nil), extra...)
	regMu.Unlock()
	sort.Slice(ex, func(i, j int) bool { return ex[i] < ex[j] })
	f.Extra = map[string]any{"count": len(ex), "kinds": []string{"chan send", "chan receive", "select", "mutex", "sleep"}}
	if len(ex) > 0 {
		f.Extra["min_goid"] = ex[0]
		f.Extra["max_goid"] = ex[len(ex)-1]
	}
	f.NumGoroutine = runtime.NumGoroutine()
	js, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*outdir, "facts.json"), append(js, '\n'), 0o644); err != nil {
		fatal(err)
	}
	if *crash {
		debug.SetTraceback("crash")
	}
	fmt.Printf("ready %d\n", os.Getpid())
	select {}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "goroutines target:", err)
	os.Exit(1)
}
