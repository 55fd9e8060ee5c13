module tlinspect/probe

go 1.19
