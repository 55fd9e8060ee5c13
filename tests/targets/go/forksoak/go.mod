module tlinspect.test/forksoak

go 1.19
