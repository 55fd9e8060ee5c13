# tests/house/funclen.awk - print "LINES FILE:LINE NAME" for every top-level C function definition
# (a line starting at column 0 with an identifier and "(" that is not a declaration, up to the next
# line that is exactly "}"). Good enough for this code base's style (kernel-like, braces alone).
FNR == 1 { start = 0 }
/^[A-Za-z_][A-Za-z0-9_ \t\*]*\(/ && !/;[ \t]*$/ && start == 0 {
	start = FNR; name = $0; sub(/\(.*/, "", name); n = split(name, p, /[ \t\*]+/); name = p[n]; next
}
start && /^}/ { printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, start, name; start = 0 }
