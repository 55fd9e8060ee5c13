module tlinspect.test/gotarget

go 1.19
