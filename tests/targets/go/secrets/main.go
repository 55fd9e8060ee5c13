// Command secrets plants credentials in each region `tlinspect secrets` tells apart and
// records where (the oracle of tests/integration/secrets.sh): a free heap slot (a []byte
// collected by runtime.GC), an unreachable object (allocated after the last GC, GC then off),
// a channel's buffer (a string sent to a buffered channel), the dead part of a goroutine's
// stack (written deep in a call chain that has returned), and live memory (a global).
// Every token is built at run time from the pid, so none of them is in the binary.
// Writes OUTDIR/planted.txt ("REGION KIND ADDRESS TOKEN" per line), prints "ready PID".
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"
	"unsafe"
)

var (
	keep     [][]byte
	live     string
	ch       = make(chan string, 2)
	block    = make(chan int)
	stackAt  uintptr
	stackTok string
	sink     []byte
)

func token(kind, tag string) string {
	p := os.Getpid()
	switch kind {
	case "jwt":
		return fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ%s%d%s.c2lnbmF0dXJl%sX%d", tag, p, tag, tag, p)
	case "aws-access-key":
		return fmt.Sprintf("AKIA%s%012d", tag, p)
	case "bearer-token":
		return fmt.Sprintf("Bearer tok%s%dabcdefghijklmnop", tag, p)
	}
	return fmt.Sprintf("postgres://app:Pw%s%dx@db.example/app", tag, p)
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// strData: a string's data pointer (unsafe.StringData is go1.20+)
func strData(s string) uintptr { return (*[2]uintptr)(unsafe.Pointer(&s))[0] }

//go:noinline
func deep(n int, tok string) byte {
	var pad [256]byte
	if n > 0 {
		return deep(n-1, tok) + pad[n%256]
	}
	copy(pad[16:], tok)
	stackAt = uintptr(unsafe.Pointer(&pad[16])) + 7 // after "Bearer "
	return pad[0]
}

func main() {
	out := os.Args[1]
	debug.SetGCPercent(-1)
	var lines []string
	rec := func(region, kind string, a uintptr, tok string) {
		lines = append(lines, fmt.Sprintf("%s %s 0x%x %s", region, kind, a, tok))
	}
	// free: one 200-byte slot among live neighbours of its size class, collected
	var freeAt uintptr
	freeTok := token("jwt", "FREE")
	for i := 0; i < 40; i++ {
		b := make([]byte, 200)
		if i == 20 {
			copy(b[8:], freeTok)
			freeAt = addr(b) + 8
			continue
		}
		keep = append(keep, b)
	}
	runtime.GC()
	runtime.GC()
	rec("free", "jwt", freeAt, freeTok)
	// unreachable: allocated after the last GC, dropped; the GC is off from here on
	un := make([]byte, 300)
	unTok := token("aws-access-key", "UNRE")
	copy(un[8:], unTok)
	rec("free", "aws-access-key", addr(un)+8, unTok)
	sink = un // on the heap, not main's stack
	sink, un = nil, nil
	// chan-buffer: a string in a buffered channel, one sender blocked behind it
	chTok := token("jwt", "CHAN")
	chb := []byte(chTok)
	s := string(chb)
	rec("chan-buffer", "jwt", strData(s), chTok)
	ch <- s
	ch <- "second element, no secret"
	go func() { ch <- "third, blocked" }()
	// stack-dead: deep in a call chain that returned; the goroutine then waits, shallow
	stackTok = token("bearer-token", "STAK")
	done := make(chan bool)
	go func() {
		deep(24, stackTok)
		done <- true
		<-block
	}()
	<-done
	rec("stack-dead", "bearer-token", stackAt, stackTok[7:])
	// live: a global reachable string
	liveTok := token("url", "LIVE")
	live = string([]byte(liveTok))
	pw := 0
	for i := 0; i+1 < len(live); i++ {
		if live[i] == ':' && live[i+1] != '/' {
			pw = i + 1
		}
	}
	rec("live", "url-password", strData(live)+uintptr(pw),
		live[pw:pw+len(live[pw:])-len("@db.example/app")])
	f, err := os.Create(out + "/planted.txt")
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Fprintln(f, l)
	}
	f.Close()
	fmt.Printf("ready %d\n", os.Getpid())
	for { // a timer keeps the runtime's deadlock check quiet
		time.Sleep(time.Hour)
	}
}
