//go:build cgo && memstats_cgo

// With -tags memstats_cgo the target links libc and calls malloc once: `heap` then
// shows the glibc section next to the Go one (tests/integration/goheap.sh).
package main

// #include <stdlib.h>
import "C"

func init() {
	C.free(C.malloc(64))
}
