module tlinspect.test/goroutines

go 1.19
