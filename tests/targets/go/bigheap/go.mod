module tlinspect.test/bigheap

go 1.19
