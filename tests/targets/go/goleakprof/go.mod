module goleakprof

go 1.26
