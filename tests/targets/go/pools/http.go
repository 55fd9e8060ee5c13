package main

// net/http.Transport pools (go.pools.http_transports): three HTTP servers on 127.0.0.1
// inside the program (hosts A, B, C) and four client Transports in a known state.
//
//	main.client (an *http.Client's Transport): host A 3 bodies never closed (in use), 2
//	    read and closed (idle); host B 1 in use, 2 idle.
//	net/http.DefaultTransport (http.Get): host A 1 idle; host B 2 in use, 1 idle.
//	main.heapTransport (made at run time: a heap object): host B 1 idle, 1 in use.
//	main.emptyTransport (made at run time): no connection.
//	main.valueTransport (a global http.Transport value): host A 1 in use.
//	main.brokenList: host C 2 idle, then its idle list made cyclic (the last element's next
//	    names the first).
//	main.brokenMap: host C 1 idle, then its idleConn map's count made garbage.
//
// The oracle records the construction, the kernel's own socket table (this process's
// established sockets to each server port, /proc/self/net/tcp by the inodes of
// /proc/self/fd) and the readLoop/writeLoop goroutines runtime.Stack prints, with the
// receiver (the *persistConn) where it prints one.

import (
	"bufio"
	"container/list"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

var (
	client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	// allocated at run time, so heap objects the census types (the others are static data)
	heapTransport  *http.Transport
	emptyTransport *http.Transport // no connection at all
	valueTransport http.Transport  // a global of type http.Transport
	brokenList     = &http.Transport{}
	brokenMap      = &http.Transport{}
	openBodies     []io.ReadCloser // response bodies never closed: their connections stay in use
)

func serve() (string, int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	return ln.Addr().String(), ln.Addr().(*net.TCPAddr).Port
}

// use leaves idle connections idle and inUse in use on host through rt
func use(rt http.RoundTripper, host string, idle, inUse int) {
	var closeLater []io.ReadCloser
	for i := 0; i < idle+inUse; i++ { // all at once: each on its own connection
		req, _ := http.NewRequest("GET", "http://"+host+"/", nil)
		res, err := rt.RoundTrip(req)
		must(err)
		if i < idle {
			closeLater = append(closeLater, res.Body)
		} else {
			openBodies = append(openBodies, res.Body)
		}
	}
	for _, b := range closeLater { // read to the end and closed: back to the pool
		io.Copy(io.Discard, b)
		b.Close()
	}
}

func field(v interface{}, name string) uintptr {
	f, ok := reflect.TypeOf(v).Elem().FieldByName(name)
	if !ok {
		must(fmt.Errorf("no field %s", name))
	}
	return f.Offset
}

// idleList is t.idleLRU.ll (connLRU's first field)
func idleList(t *http.Transport) *list.List {
	return *(**list.List)(unsafe.Add(unsafe.Pointer(t), field(t, "idleLRU")))
}

// waitIdle waits until t's idle list holds n connections (readLoop returns them asynchronously)
func waitIdle(t *http.Transport, n int) {
	for i := 0; i < 400; i++ {
		if l := idleList(t); l != nil && l.Len() == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(fmt.Errorf("idle list never reached %d", n))
}

// corruptHTTP breaks brokenList's idle list into a cycle and brokenMap's idleConn count.
// Nothing uses either Transport afterwards; the collector follows only pointers.
func corruptHTTP() {
	l := idleList(brokenList)
	first, last := l.Front(), l.Back()
	next := field(last, "next")
	*(**list.Element)(unsafe.Add(unsafe.Pointer(last), next)) = first
	m := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(brokenMap), field(brokenMap, "idleConn")))
	*(*uint64)(m) = 1 << 40 // runtime.hmap.count / internal/runtime/maps.Map.used
}

// sockets counts this process's established TCP connections to each of ports
func sockets(ports []int) map[string]int {
	inodes := map[string]bool{}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	out := map[string]int{}
	for _, p := range ports {
		out[strconv.Itoa(p)] = 0
	}
	f, err := os.Open("/proc/self/net/tcp")
	must(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		x := strings.Fields(sc.Text()) // sl local rem st ... uid timeout inode
		if len(x) < 10 || x[3] != "01" || !inodes[x[9]] {
			continue
		}
		rp, _ := strconv.ParseInt(x[2][strings.IndexByte(x[2], ':')+1:], 16, 32)
		if _, ok := out[strconv.Itoa(int(rp))]; ok {
			out[strconv.Itoa(int(rp))]++
		}
	}
	return out
}

var loopRe = regexp.MustCompile(`^net/http\.\(\*persistConn\)\.(readLoop|writeLoop)\((0x[0-9a-f]+)?(\??)`)

// loops: the readLoop/writeLoop goroutines runtime.Stack prints, with their receiver if printed
func loops() []map[string]interface{} {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []map[string]interface{}
	var id int64
	for _, line := range strings.Split(string(buf), "\n") {
		if strings.HasPrefix(line, "goroutine ") {
			id, _ = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
		}
		if m := loopRe.FindStringSubmatch(line); m != nil {
			e := map[string]interface{}{"goid": id, "loop": m[1], "pconn": nil}
			if m[2] != "" && m[3] == "" {
				e["pconn"] = m[2]
			}
			out = append(out, e)
		}
	}
	return out
}

// setupHTTP builds the state above; it returns the construction for the oracle
func setupHTTP() map[string]interface{} {
	hostA, portA := serve()
	hostB, portB := serve()
	hostC, portC := serve()
	tr := client.Transport.(*http.Transport)
	use(tr, hostA, 2, 3)
	use(tr, hostB, 2, 1)
	use(http.DefaultTransport, hostA, 1, 0)
	use(http.DefaultTransport, hostB, 1, 2)
	heapTransport = &http.Transport{MaxIdleConnsPerHost: 4}
	emptyTransport = &http.Transport{}
	use(heapTransport, hostB, 1, 1)
	use(&valueTransport, hostA, 0, 1)
	use(brokenList, hostC, 2, 0)
	use(brokenMap, hostC, 1, 0)
	waitIdle(tr, 4)
	waitIdle(http.DefaultTransport.(*http.Transport), 2)
	waitIdle(heapTransport, 1)
	waitIdle(brokenList, 2)
	waitIdle(brokenMap, 1)
	corruptHTTP()
	a, b, c := strconv.Itoa(portA), strconv.Itoa(portB), strconv.Itoa(portC)
	type hc = map[string]int
	return map[string]interface{}{
		"ports": map[string]string{"a": a, "b": b, "c": c},
		"transports": map[string]map[string]hc{
			"main.client":               {a: {"idle": 2, "in_use": 3}, b: {"idle": 2, "in_use": 1}},
			"net/http.DefaultTransport": {a: {"idle": 1, "in_use": 0}, b: {"idle": 1, "in_use": 2}},
			"main.heapTransport":        {b: {"idle": 1, "in_use": 1}},
			"main.emptyTransport":       {},
			"main.valueTransport":       {a: {"idle": 0, "in_use": 1}},
			"main.brokenList":           {c: {"idle": 2, "in_use": 0}},
			"main.brokenMap":            {c: {"idle": 1, "in_use": 0}},
		},
		"heap":   []string{"main.heapTransport", "main.emptyTransport"},
		"value":  []string{"main.valueTransport"},
		"broken": map[string]string{"main.brokenList": "cycle", "main.brokenMap": "count"},
	}
}

// finishHTTP adds what the kernel and the runtime say, once everything is parked
func finishHTTP(h map[string]interface{}) {
	p := h["ports"].(map[string]string)
	var ports []int
	for _, s := range p {
		n, _ := strconv.Atoi(s)
		ports = append(ports, n)
	}
	h["sockets"] = sockets(ports)
	h["loops"] = loops()
}
