# goheap_compare.py ORACLE TLI_JSON [LATER_TLI_JSON]: the Go section of `heap` (TLI_JSON) against
# the target's own runtime.ReadMemStats (ORACLE, written by tests/targets/go/memstats); one line per
# disagreement, exit 1 if any. Used by goheap.sh (x86-64, live and gcore) and arm64.sh (arm64 cores).
import json, sys
EXACT = {"mallocs", "frees", "heap_objects", "alloc", "heap_alloc", "total_alloc", "num_gc",
         "num_forced_gc", "last_gc", "pause_total_ns"}
want = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
go = doc.get("go") or {}
got = go.get("memstats") or {}
bad = []
for u in go.get("memstats_unreadable") or []:
    bad.append("unreadable %s: %s" % (u.get("field"), u.get("reason")))
# persistentalloc retags bytes from other_sys to gc_sys when it serves a GC structure; on go1.22
# the target's own ReadMemStats path does so (seen: 70-130 KiB; the runtime is stable before it),
# so those two are compared by their sum when apart, and the move is printed
moved = None
if "gc_sys" in got and "other_sys" in got:
    dg, do = got["gc_sys"] - want["gc_sys"], got["other_sys"] - want["other_sys"]
    if dg and abs(dg + do) <= 0.001 * (want["gc_sys"] + want["other_sys"]):
        moved = dg
        want = dict(want, gc_sys=got["gc_sys"], other_sys=got["other_sys"])
# The oracle is written after our look (SIGUSR1, then ReadMemStats). Delivering that signal can make
# the runtime map OS memory (seen: 256 KiB more other_sys and sys, now and then, on a loaded machine).
# A *_sys figure that moved is judged by our look after the oracle (argv[3]): if that one agrees with
# the oracle, our method read right and the runtime moved in between; noted, not hidden.
later = (json.load(open(sys.argv[3])).get("go") or {}).get("memstats") or {} if len(sys.argv) > 3 else {}
notes = []
for k, w in want.items():
    if k not in got:
        bad.append("%s missing" % k)
        continue
    g = got[k]
    if k.endswith("_sys") or k == "sys":
        if abs(g - w) > 0.01 * max(abs(w), 1) and k in later and abs(later[k] - w) <= 0.001 * max(abs(w), 1):
            notes.append("%s moved in the runtime after our look: ours %d then %d, runtime %d" % (k, g, later[k], w))
            continue
    if k in EXACT:
        if g != w:
            bad.append("%s: %d, runtime %d" % (k, g, w))
    elif abs(g - w) > 0.01 * max(abs(w), 1):
        bad.append("%s: %d, runtime %d (%.2f%%)" % (k, g, w, 100.0 * (g - w) / max(w, 1)))
if got.get("gogc") != 150:
    bad.append("gogc %r, want 150" % got.get("gogc"))
if got.get("memory_limit") != 1 << 40:
    bad.append("memory_limit %r, want %d" % (got.get("memory_limit"), 1 << 40))
sp = go.get("spans") or {}
if sp.get("objects") != want["heap_objects"] or sp.get("bytes_inuse") != want["heap_alloc"]:
    bad.append("spans: %r objects, %r bytes in use; runtime %d, %d" % (sp.get("objects"), sp.get("bytes_inuse"),
               want["heap_objects"], want["heap_alloc"]))
sc = go.get("size_classes") or []
if sum(c["objects"] for c in sc) != sp.get("objects") or not any(c["class"] == 0 for c in sc):
    bad.append("size_classes do not add up to spans (or no large objects)")
if "glibc" in doc:
    bad.append("a glibc section on a static Go binary")
for b in bad:
    print(b)
if moved and not bad:
    print("note: %d bytes between gc_sys and other_sys (their sum agrees)" % -moved)
if notes and not bad:
    print("note: " + "; ".join(notes))
sys.exit(1 if bad else 0)
