module leaktimers

go 1.19
