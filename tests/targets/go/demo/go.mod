module tlinspect.test/demo

go 1.19
