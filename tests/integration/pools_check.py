#!/usr/bin/env python3
"""pools_check.py ORACLE TLI_JSON [stripped]: `pools --json` against the target's own record.

The oracle (tests/targets/go/pools) holds db.Stats() of both pools, PostgreSQL's count of
backends per application_name, and the goroutine ids of the holders and waiters. One line per
disagreement on stdout; exit 1 if any."""
import json
import sys

want = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
stripped = len(sys.argv) > 3 and sys.argv[3] == "stripped"
bad = []
pools = (doc.get("go") or {}).get("pools") or {}
dbs = pools.get("sql_dbs")
if not isinstance(dbs, list):
    print("no sql_dbs: %s" % (pools.get("sql_unreadable") or pools.get("unreadable")))
    sys.exit(1)
if len(dbs) != 2:
    bad.append("%d DBs found, want 2" % len(dbs))
# db has max_open 5, db2 no limit (0)
by = {("db" if d.get("max_open") == 5 else "db2"): d for d in dbs}
for key, pg in (("db", "pg_backends_a"), ("db2", "pg_backends_b")):
    d, s = by.get(key), want[key]
    if d is None:
        bad.append("%s not found" % key)
        continue
    for f in ("max_open", "open", "in_use", "idle", "wait_count", "max_idle_closed", "max_idle_time_closed",
              "max_lifetime_closed"):
        if d.get(f) != s[f]:
            bad.append("%s.%s: %r, db.Stats() %r" % (key, f, d.get(f), s[f]))
    wd = d.get("wait_duration_seconds")
    if wd is None or abs(wd * 1e9 - s["wait_duration_ns"]) > 1:
        bad.append("%s.wait_duration_seconds: %r, db.Stats() %d ns" % (key, wd, s["wait_duration_ns"]))
    if d.get("open") != want[pg]:
        bad.append("%s.open %r, pg_stat_activity counts %d backends" % (key, d.get("open"), want[pg]))
    if d.get("connections_found") != s["open"] or d.get("in_use_found") != s["in_use"]:
        bad.append("%s: %r connections (%r in use) found, db.Stats() %d (%d)" % (
            key, d.get("connections_found"), d.get("in_use_found"), s["open"], s["in_use"]))
    if d.get("problems"):
        bad.append("%s problems: %s" % (key, d["problems"]))
    name = d.get("name")
    if not stripped and name != "main." + key:
        bad.append("%s.name %r" % (key, name))
    if not stripped and d.get("found_by") != "type":
        bad.append("%s.found_by %r" % (key, d.get("found_by")))
    exp = {"db": (2, sorted(want["holders"]), sorted(want["waiters"])), "db2": (0, [], [])}[key]
    if d.get("leaked") != exp[0] or len(d.get("leaked_connections") or []) != exp[0]:
        bad.append("%s.leaked %r (%r), want %d (Rows dropped without Close)" % (
            key, d.get("leaked"), d.get("leaked_connections"), exp[0]))
    if d.get("held_by") != exp[1]:
        bad.append("%s.held_by %r, holders %r" % (key, d.get("held_by"), exp[1]))
    if d.get("held_by_globals") != 0:
        bad.append("%s.held_by_globals %r" % (key, d.get("held_by_globals")))
    if d.get("pending_requests") != len(exp[2]):
        bad.append("%s.pending_requests %r, want %d" % (key, d.get("pending_requests"), len(exp[2])))
    if d.get("waiters") != exp[2]:
        bad.append("%s.waiters %r, want %r" % (key, d.get("waiters"), exp[2]))
    # each holder holds exactly one connection; leaked ones nobody
    for c in d.get("connections") or []:
        if c.get("in_use") and not c.get("leaked") and len(c.get("held_by") or []) != 1:
            bad.append("%s connection %s held_by %r" % (key, c.get("address"), c.get("held_by")))
# Go maps: the cache that held cache_peak entries keeps its capacity (maps never shrink)
maps = pools.get("maps")
if not isinstance(maps, list):
    bad.append("no maps: %s" % pools.get("maps_unreadable"))
elif not stripped:   # stripped: globals are untyped, so are the maps they hold
    named = {m.get("name"): m for m in maps}
    m = named.get("main.cache")
    if m is None:
        bad.append("main.cache not among the largest maps: %s" % [x.get("name") for x in maps])
    else:
        if m.get("len") != want["cache_len"]:
            bad.append("main.cache len %r, len(cache) %d" % (m.get("len"), want["cache_len"]))
        cap = m.get("capacity_slots") or 0
        if cap < want["cache_peak"] or cap > 4 * want["cache_peak"]:
            bad.append("main.cache capacity_slots %r for a peak of %d entries" % (cap, want["cache_peak"]))
        if (m.get("bytes") or 0) < 16 * cap:
            bad.append("main.cache bytes %r < 16 x %d slots" % (m.get("bytes"), cap))
        if m.get("type") != "map[int]int" or m.get("oversized") is not True:
            bad.append("main.cache type %r oversized %r" % (m.get("type"), m.get("oversized")))
        if maps[0].get("name") != "main.cache":
            bad.append("largest map is %r, not main.cache" % maps[0].get("name"))
    s = named.get("main.small")
    if s is not None and (s.get("len") != want["small_len"] or s.get("oversized")):
        bad.append("main.small %r" % s)
# sync.Map: sessions (a global value) and registry (behind a global pointer)
sms = pools.get("sync_maps")
if not isinstance(sms, list):
    bad.append("no sync_maps: %s" % pools.get("sync_maps_unreadable"))
elif stripped and any(m.get("representation") == "hash_trie" for m in sms):
    # go1.24+: found by the trie's function words, unnamed: the same figures
    ents = sorted(m.get("entries") for m in sms if not m.get("unreadable"))
    for n in (want["sessions_present"], want["registry_range"]):
        if n not in ents:
            bad.append("stripped: no sync.Map of %d entries among %r" % (n, ents))
    if not any(m.get("unreadable") for m in sms):
        bad.append("stripped: main.hostile (%s) not unreadable" % want["hostile"])
elif stripped:   # globals untyped: what is not found must be said
    if len(sms) < 2 and not pools.get("sync_maps_note"):
        bad.append("stripped: %d sync.Maps found and no sync_maps_note" % len(sms))
else:
    named = {m.get("name"): m for m in sms}
    for key, n in (("main.sessions", want["sessions_present"]), ("main.registry", want["registry_range"])):
        m = named.get(key)
        if m is None:
            bad.append("%s not among sync_maps %r" % (key, list(named)))
        elif m.get("unreadable") or m.get("entries") != n:
            bad.append("%s entries %r (%s), Load/Range count %d" % (key, m.get("entries"), m.get("unreadable"), n))
        elif m.get("representation") == "hash_trie":
            # 16 children per level: n entries need at least one level below the root, at most 16
            if not (isinstance(m.get("depth"), int) and (1 if n > 16 else 0) <= m["depth"] <= 16):
                bad.append("%s depth %r for %d entries" % (key, m.get("depth"), n))
    # hostile memory: a per-item reason, the rest listed
    h = named.get("main.hostile")
    if h is None or not h.get("unreadable"):
        bad.append("main.hostile (%s) not unreadable: %r" % (want["hostile"], h))
    # read/dirty (<= go1.23): the construction (tests/targets/go/pools, fillSyncMaps) per sync/map.go
    m = named.get("main.sessions") or {}
    if m.get("representation") == "read_dirty":
        exp = {"read_size": 100, "dirty_size": 71, "misses": 5, "amended": True, "expunged": 30, "deleted": 1}
        got = {k: m.get(k) for k in exp}
        if got != exp:
            bad.append("main.sessions %r, by construction %r" % (got, exp))
        r = named.get("main.registry") or {}
        exp = {"read_size": 50, "dirty_size": 0, "amended": False, "expunged": 0, "deleted": 0}
        if {k: r.get(k) for k in exp} != exp:   # Range promoted its dirty map
            bad.append("main.registry %r, after Range %r" % ({k: r.get(k) for k in exp}, exp))
# net/http.Transport: the construction, the kernel's socket table and runtime.Stack's loops
hw = want.get("http") or {}
trs = pools.get("http_transports")
if trs is None and "listed by `pools` only" in (pools.get("http_transports_note") or ""):
    pass   # the first screen and snapshots: Transports are `pools`' (their host names need its stop)
elif not isinstance(trs, list):
    bad.append("no http_transports: %s" % pools.get("http_unreadable"))
elif hw:
    ports = hw["ports"]
    def sig(hosts):   # {port: (idle, in_use)}
        return sorted((h.get("host", "").rsplit(":", 1)[-1], h.get("idle"), h.get("in_use")) for h in hosts)
    good = {n: v for n, v in hw["transports"].items() if n not in hw["broken"]}
    got_sigs = sorted(sig(t.get("hosts") or []) for t in trs if not t.get("unreadable") and not t.get("problems"))
    # stripped: a Transport is found only through its connections
    want_sigs = sorted(sorted((p, c["idle"], c["in_use"]) for p, c in v.items()) for v in good.values()
                       if v or not stripped)
    if got_sigs != want_sigs:
        bad.append("http: transports (port, idle, in_use) %r, by construction %r" % (got_sigs, want_sigs))
    for t in trs:
        for h in t.get("hosts") or []:
            if h.get("scheme") != "http" or not h.get("host", "").startswith("127.0.0.1:"):
                bad.append("http: host %r scheme %r" % (h.get("host"), h.get("scheme")))
    named = {t.get("name"): t for t in trs}
    if not stripped:
        for n, v in hw["transports"].items():
            t = named.get(n)
            if t is None:
                bad.append("http: %s not among %r" % (n, list(named)))
            elif n not in hw["broken"] and sig(t.get("hosts") or []) != sorted(
                    (p, c["idle"], c["in_use"]) for p, c in v.items()):
                bad.append("http: %s hosts %r, by construction %r" % (n, sig(t.get("hosts") or []), v))
            elif t.get("found_by") != ("type" if n in hw["heap"] else "global" if n in hw.get("value", []) else
                                       "connection"):
                bad.append("http: %s found_by %r" % (n, t.get("found_by")))
    # hostile: the cyclic idle list unreadable, the garbage idleConn count a problem; both listed
    broken = [t for t in trs if t.get("unreadable") or t.get("problems")]
    if not any("cycle" in (t.get("unreadable") or "") for t in broken):
        bad.append("http: no Transport with a cyclic idle list unreadable: %r" % [t.get("unreadable") for t in broken])
    if not any("idleConn" in p for t in broken for p in t.get("problems") or []):
        bad.append("http: no Transport with a garbage idleConn count: %r" % [t.get("problems") for t in broken])
    if len(broken) != len(hw["broken"]):
        bad.append("http: %d Transports with problems, %d broken by construction" % (len(broken), len(hw["broken"])))
    # the kernel: established sockets per server port = connections found to that host
    conns = [(h.get("host", "").rsplit(":", 1)[-1], c) for t in trs for h in t.get("hosts") or []
             for c in h.get("connections") or []]
    for p, n in hw["sockets"].items():
        k = sum(1 for q, _ in conns if q == p)
        if k != n:
            bad.append("http: %d connections to port %s found, the kernel has %d sockets" % (k, p, n))
    # runtime.Stack: the readLoop/writeLoop goroutines, and their connection where it prints the receiver
    got = sorted((c.get(f), l) for _, c in conns for f, l in (("read_loop", "readLoop"), ("write_loop", "writeLoop")))
    exp = sorted((l["goid"], l["loop"]) for l in hw["loops"])
    if got != exp:
        bad.append("http: loop goroutines %r, runtime.Stack %r" % (got, exp))
    by_addr = {int(c["address"], 16): c for _, c in conns}
    for l in hw["loops"]:
        if l.get("pconn"):
            c = by_addr.get(int(l["pconn"], 16)) or {}
            f = "read_loop" if l["loop"] == "readLoop" else "write_loop"
            if c.get(f) != l["goid"]:
                bad.append("http: %s of %s is goroutine %d, tlinspect says %r" % (l["loop"], l["pconn"], l["goid"], c.get(f)))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
