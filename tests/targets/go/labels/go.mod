module tlinspect.test/labels

go 1.19
