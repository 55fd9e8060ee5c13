// The labels target: goroutines with pprof labels set by construction, for
// tests/integration/labels.sh. It writes, then waits (parked forever):
//
//	<out>/labels.json       goroutine id -> the labels it set (runtime.Stack gives the id),
//	                        for every goroutine of the construction (those without labels: {})
//	<out>/pprof-debug1.txt  pprof.Lookup("goroutine").WriteTo(f, 1): the runtime's own
//	                        "# labels: {...}" per stack group
//
// and prints "ready PID". Kinds: labels by pprof.Do (nested Do adds keys), by
// SetGoroutineLabels, inherited by a child goroutine, one goroutine with 27 labels
// (on go1.19-1.23 a map caught growing: its 27th insert started the growth to 8 buckets), and goroutines without labels.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"
)

var (
	mu      sync.Mutex
	record  = map[string]map[string]string{}
	ready   sync.WaitGroup
	forever = make(chan struct{})
)

func goid() int64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	s = s[:bytes.IndexByte(s, ' ')]
	id, _ := strconv.ParseInt(string(s), 10, 64)
	return id
}

// park records the labels this goroutine set, then waits forever.
func park(labels map[string]string) {
	mu.Lock()
	record[strconv.FormatInt(goid(), 10)] = labels
	mu.Unlock()
	ready.Done()
	<-forever
}

func withDo(kv ...string) {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	pprof.Do(context.Background(), pprof.Labels(kv...), func(context.Context) { park(m) })
}

func nested() {
	pprof.Do(context.Background(), pprof.Labels("layer", "outer", "request", "r-17"), func(ctx context.Context) {
		pprof.Do(ctx, pprof.Labels("layer", "inner", "user", "alice"), func(context.Context) {
			park(map[string]string{"layer": "inner", "request": "r-17", "user": "alice"})
		})
	})
}

func setLabels() {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("worker", "set", "shard", "3")))
	park(map[string]string{"worker": "set", "shard": "3"})
}

func parent() {
	pprof.Do(context.Background(), pprof.Labels("worker", "parent"), func(context.Context) {
		ready.Add(1)
		go park(map[string]string{"worker": "parent"}) // a child inherits its creator's labels
		park(map[string]string{"worker": "parent"})
	})
}

func many() {
	var kv []string
	m := map[string]string{}
	for i := 0; i < 27; i++ { // 27: on go1.19-1.23 the map is caught growing (oldbuckets half evacuated)
		k, v := fmt.Sprintf("key%02d", i), fmt.Sprintf("value-%d", i*7)
		kv = append(kv, k, v)
		m[k] = v
	}
	pprof.Do(context.Background(), pprof.Labels(kv...), func(context.Context) { park(m) })
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "labels:", err)
	os.Exit(1)
}

func main() {
	outdir := flag.String("out", ".", "directory for labels.json and pprof-debug1.txt")
	flag.Parse()
	if err := os.MkdirAll(*outdir, 0o755); err != nil {
		fatal(err)
	}
	ready.Add(10)
	go withDo("worker", "a")
	go withDo("worker", "b", "tenant", "acme")
	go withDo("worker", "b", "tenant", "globex")
	go withDo("empty", "")
	go nested()
	go setLabels()
	go parent()
	go many()
	go park(map[string]string{})
	go park(map[string]string{})
	ready.Wait()
	mu.Lock()
	js, err := json.MarshalIndent(record, "", " ")
	mu.Unlock()
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*outdir, "labels.json"), js, 0o644); err != nil {
		fatal(err)
	}
	var p bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&p, 1); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*outdir, "pprof-debug1.txt"), p.Bytes(), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for { // a sleeping main keeps the runtime from calling the parked goroutines a deadlock
		time.Sleep(time.Hour)
	}
}
