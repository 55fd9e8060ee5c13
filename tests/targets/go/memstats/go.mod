module tlinspect.test/memstats

go 1.19
