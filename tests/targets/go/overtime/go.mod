module overtime

go 1.19
