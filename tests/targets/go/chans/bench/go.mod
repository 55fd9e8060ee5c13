module tlinspect.test/chansbench

go 1.19
