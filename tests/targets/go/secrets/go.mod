module tlinspect.test/secrets

go 1.19
