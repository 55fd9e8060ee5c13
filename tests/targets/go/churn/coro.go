//go:build go1.23

package main

import "iter"

// A coroutine (iter.Pull) left parked after one step: coroswitch resumes such a
// goroutine without execute(), so tlinspect must never take its stack from
// before the stop (tests/integration/precopy.sh counts it among the refused).
func init() {
	startCoroutine = func() int {
		seq := func(yield func(int) bool) {
			for i := 0; ; i++ {
				if !yield(i) {
					return
				}
			}
		}
		next, _ := iter.Pull(seq)
		next()
		coroKeep = next
		return 1
	}
}
