// Package work is a non-standard-library package whose import path starts with a domain
// ("example.com/..."), as most real code's does: a goroutine blocked here must be reported
// with this function as its user location, on -trimpath builds too.
package work

// Block waits on c forever (nobody sends).
func Block(c chan int) {
	<-c
}

// Wait waits on c inside a method of a type, one call deeper.
type Pool struct{ c chan int }

// New makes a pool whose workers wait forever.
func New() *Pool { return &Pool{c: make(chan int)} }

// Worker blocks in a method: user location "example.com/demo/work.(*Pool).Worker".
func (p *Pool) Worker() {
	Block(p.c)
}
