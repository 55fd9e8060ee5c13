// Hook for tests/integration/goleak.sh: the programs of Go's own leak-profile test
// set (runtime/testdata/testgoroutineleakprofile and its goker/ directory, copied next
// to this file at test time) have their `prof.WriteTo(os.Stdout, 2)` replaced by
// tliDump(prof, os.Stdout). It freezes the program where its leaks exist: it waits
// until the program has settled (below), announces "ready PID" (stderr) and waits
// for SIGUSR1, so tlinspect can inspect that state; then the runtime's own
// goroutineleak profile (debug=2) is written to stdout on the same state. Waiting on
// a signal keeps the main goroutine a root, as it is while it runs WriteTo.
// Toolchains without that profile (before go1.26, or go1.26 without
// GOEXPERIMENT=goroutineleakprofile) have pprof.Lookup("goroutineleak") nil: the
// goroutine profile (debug=2, every goroutine's stack) is written instead, and the
// harness finds the leaked ones by the Go test's own expectations.
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// tliStates is the header line of every goroutine but the caller ("goroutine N [state]:")
// and whether one of them is runnable or running.
func tliStates(buf []byte) ([]byte, []byte, bool) {
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var hdr []byte
	busy := false
	for i, line := range bytes.Split(buf, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("goroutine ")) || i == 0 { // the first is the caller
			continue
		}
		hdr = append(append(hdr, line...), '\n')
		busy = busy || bytes.Contains(line, []byte("[running")) || bytes.Contains(line, []byte("[runnable"))
	}
	return buf[:cap(buf)], hdr, busy
}

// tliSettle waits (up to 20 s) until no other goroutine is runnable and the states of all
// of them stayed the same over 100 ms: some GoKer programs (e.g. Kubernetes58107's 10^5
// Gosched loops) still move when their own WriteTo would run, and the comparison needs
// one state, seen by tlinspect and by the runtime alike. "unsettled" if it never settles.
func tliSettle() {
	buf := make([]byte, 1<<20)
	var prev []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		var hdr []byte
		var busy bool
		buf, hdr, busy = tliStates(buf)
		if !busy && prev != nil && bytes.Equal(hdr, prev) {
			return
		}
		prev = hdr
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "unsettled")
}

// tliDiscard replaces SpawnGC's prof.WriteTo(io.Discard, 2) (the profile run concurrently,
// as a stress): a no-op where the toolchain has no goroutineleak profile.
func tliDiscard(prof *pprof.Profile, w io.Writer) {
	if prof != nil {
		prof.WriteTo(w, 2)
	}
}

func tliDump(prof *pprof.Profile, w io.Writer) {
	tliSettle()
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	fmt.Fprintf(os.Stderr, "ready %d\n", os.Getpid())
	<-c
	signal.Stop(c)
	fmt.Fprintln(w, "tli-profile-begin")
	if prof == nil {
		prof = pprof.Lookup("goroutine")
	}
	prof.WriteTo(w, 2)
	fmt.Fprintln(w, "tli-profile-end")
}
