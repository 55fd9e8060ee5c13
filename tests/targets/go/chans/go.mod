module tlinspect.test/chans

go 1.19
