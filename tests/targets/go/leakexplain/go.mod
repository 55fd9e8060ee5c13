module leakexplain

go 1.19
