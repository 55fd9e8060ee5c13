module census

go 1.19
