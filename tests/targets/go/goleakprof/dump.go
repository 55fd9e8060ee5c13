// Hook for tests/integration/goleak.sh: the programs of Go's own leak-profile test
// set (runtime/testdata/testgoroutineleakprofile, copied next to this file at test
// time) have their `prof.WriteTo(os.Stdout, 2)` replaced by tliDump(prof, os.Stdout). It freezes
// the program where its leaks exist: it announces "ready PID" (stderr) and waits
// for SIGUSR1, so tlinspect can inspect that state; then the runtime's own
// goroutineleak profile (debug=2) is written to stdout on the same state. Waiting on
// a signal keeps the main goroutine a root, as it is while it runs WriteTo.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func tliDump(prof *pprof.Profile, w io.Writer) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	fmt.Fprintf(os.Stderr, "ready %d\n", os.Getpid())
	<-c
	signal.Stop(c)
	fmt.Fprintln(w, "tli-profile-begin")
	prof.WriteTo(w, 2)
	fmt.Fprintln(w, "tli-profile-end")
}
