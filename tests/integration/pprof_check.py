#!/usr/bin/env python3
"""tests/integration/pprof_check.py - the oracle side of tests/integration/pprof.sh.

  pprof_check.py gen OUT.json            a profile description (render/pprof.h): retention paths
                                         of a made-up heap (roots, fields, map values, slice
                                         elements down to a type) and goroutine stacks with files,
                                         lines and labels; fixed seed, so every run is the same
  pprof_check.py raw IN.json RAW.txt     `go tool pprof -raw FILE` printed exactly IN.json's
                                         samples: values, frames (name, file, line), labels,
                                         sample types, default type, comments, time
  pprof_check.py top IN.json INDEX TOP.txt
                                         `go tool pprof -top -sample_index=INDEX -unit=B` gave each
                                         function the flat and cumulative totals IN.json implies

Prints one line per problem and exits 1 if there was any; prints a summary line otherwise.
"""
import json
import random
import re
import sys
from collections import defaultdict

TYPES = [("main.User", 48), ("main.Session", 64), ("[]uint8", 4096), ("main.Conn", 112),
         ("map.bucket[string]*main.User", 272)]
ROOTS = ["root: global main.users", "root: global main.cache", "root: goroutine 7 main.worker.conns",
         "root: finalizer", "root: global main.users"]   # repeated on purpose: shared Locations
STEPS = [".field users", ".field next", "map value", "slice element", ".field sessions", "*main.Conn"]


def gen(out):
    rnd = random.Random(20240611)
    samples = []
    for _ in range(40):
        typ, size = rnd.choice(TYPES)
        path = [typ] + rnd.sample(STEPS, rnd.randint(0, 3)) + [rnd.choice(ROOTS)]
        n = rnd.randint(1, 5000)
        samples.append({"stack": path, "values": [n, n * size]})
    # goroutine-like stacks: frames with a file and line, labels (string and integer)
    for i in range(6):
        stack = [{"function": "main.handle", "file": "/src/app/handler.go", "line": 40 + i % 3},
                 {"function": "main.serve", "file": "/src/app/server.go", "line": 88},
                 {"function": "runtime.goexit", "file": "/usr/lib/go/src/runtime/asm_amd64.s", "line": 1700}]
        samples.append({"stack": stack, "values": [i + 1, 0],
                        "labels": {"handler": "/api/v%d" % (i % 2), "worker": i + 1,
                                   "buffered": {"num": i % 2, "unit": "bytes"}}})
    desc = {
        "sample_types": [{"type": "inuse_objects", "unit": "count"}, {"type": "inuse_space", "unit": "bytes"}],
        "default_sample_type": "inuse_space",
        "period_type": {"type": "space", "unit": "bytes"},
        "period": 1,
        "time_nanos": 1717000000000000000,
        "comments": ["tlinspect pprof suite", "retention paths of a made-up heap"],
        "samples": samples,
    }
    with open(out, "w") as f:
        json.dump(desc, f, indent=1)


def frame_of(fr):
    if isinstance(fr, str):
        return (fr, "", 0)
    return (fr["function"], fr.get("file", ""), fr.get("line", 0))


def label_text(v):
    """a label as -raw prints it: a string, a number, or "N unit" """
    return "%d %s" % (v["num"], v["unit"]) if isinstance(v, dict) else v


def merged(samples):
    """[(values, frames, {label: text})] -> {(frames, labels): values summed}. Some pprof
    versions (Go 1.19's) merge samples with the same stack and labels as they read, others
    list them as written: both sides are compared merged."""
    out = {}
    for values, frames, labels in samples:
        key = (tuple(frames), tuple(sorted(labels.items())))
        old = out.get(key, [0] * len(values))
        out[key] = [a + b for a, b in zip(old, values)]
    return out


# "1: 0x0 M=1 NAME FILE:LINE[:COL] s=START[(SYSTEM NAME)]": pprof shows the system name in
# parentheses when its reader simplified the display name (it does so to some Go map type names)
LOC_RE = re.compile(r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (.*) (\S*?):(\d+)(?::\d+)? s=\d+(?:\((.*)\))?$")
SAMPLE_RE = re.compile(r"^\s*((?:-?\d+\s+)+)?(-?\d+): ((?:\d+ )*)$")
LABEL_RE = re.compile(r"(\S+?):\[(.*?)\]")   # "k:[str]" lines; numeric ones share a line: "n:[5] z:[0 bytes]"


def parse_raw(path):
    """-raw output -> header dict, [(values, [location ids], {label: value})], {id: frame}"""
    head, samples, locs, section = {}, [], {}, None
    for line in open(path).read().splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if section is None:
            k, _, v = line.partition(": ")
            head.setdefault(k, []).append(v)
        elif section == "Samples:":
            m, labels = SAMPLE_RE.match(line), LABEL_RE.findall(line)
            if "types" not in head:
                head["types"] = line.strip()
            elif m:
                vals = [int(x) for x in (m.group(1) or "").split()] + [int(m.group(2))]
                samples.append((vals, [int(x) for x in m.group(3).split()], {}))
            elif labels and samples:
                for k, v in labels:
                    samples[-1][2][k] = int(v) if re.fullmatch(r"-?\d+", v) else v
            elif line.strip():
                raise ValueError("unexpected sample line: %r" % line)
        elif section == "Locations":
            m = LOC_RE.match(line)
            if not m:
                raise ValueError("unexpected location line: %r" % line)
            locs[int(m.group(1))] = (m.group(5) or m.group(2), m.group(3), int(m.group(4)))
    return head, samples, locs


def check_raw(desc_path, raw_path):
    desc = json.load(open(desc_path))
    head, samples, locs = parse_raw(raw_path)
    bad = []
    want_types = " ".join("%s/%s%s" % (t["type"], t["unit"], "[dflt]" if t["type"] == desc.get("default_sample_type") else "")
                          for t in desc["sample_types"])
    if head.get("types") != want_types:
        bad.append("sample types: %r, want %r" % (head.get("types"), want_types))
    if head.get("Comment") != desc["comments"]:
        bad.append("comments: %r, want %r" % (head.get("Comment"), desc["comments"]))
    pt = desc.get("period_type")
    want_pt = ["%s %s" % (pt["type"], pt["unit"])] if pt else [" "]
    if [x.strip() or " " for x in head.get("PeriodType", [])] != want_pt or head.get("Period") != [str(desc.get("period", 0))]:
        bad.append("period: %r %r" % (head.get("PeriodType"), head.get("Period")))
    if "time_nanos" in desc:
        import datetime
        want = datetime.datetime.fromtimestamp(desc["time_nanos"] // 10**9, datetime.timezone.utc)
        want_s = want.strftime("%Y-%m-%d %H:%M:%S")
        if not head.get("Time") or not head["Time"][0].startswith(want_s):
            bad.append("time: %r, want %s UTC" % (head.get("Time"), want_s))
    want = merged([(s["values"], [frame_of(f) for f in s["stack"]],
                    {k: label_text(v) for k, v in s.get("labels", {}).items()}) for s in desc["samples"]])
    got = merged([(v, [locs.get(i, ("?", "?", -1)) for i in ids], lab) for v, ids, lab in samples])
    if len(samples) < len(want) or len(samples) > len(desc["samples"]):
        bad.append("%d samples listed, want %d to %d" % (len(samples), len(want), len(desc["samples"])))
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            bad.append("stack %r labels %r: values %r, want %r" % (k[0], k[1], got.get(k), want.get(k)))
    distinct = {frame_of(f) for s in desc["samples"] for f in s["stack"]}
    if sorted(locs.values()) != sorted(distinct):
        bad.append("locations: %d, want one per distinct frame (%d)" % (len(locs), len(distinct)))
    for b in bad:
        print(b)
    if not bad:
        print("raw: %d samples (%d distinct stack+labels), %d locations, every value, frame and label as written"
              % (len(samples), len(want), len(locs)))
    return not bad


TOP_RE = re.compile(r"^\s*(-?\d+)B?\s+\S+%\s+\S+%\s+(-?\d+)B?\s+\S+%\s+(.*)$")


def check_top(desc_path, index, top_path):
    desc = json.load(open(desc_path))
    col = [t["type"] for t in desc["sample_types"]].index(index)
    flat, cum = defaultdict(int), defaultdict(int)
    for s in desc["samples"]:
        v = s["values"][col]
        names = [frame_of(f)[0] for f in s["stack"]]
        flat[names[0]] += v
        for n in set(names):   # a function counts once per sample, however often it appears
            cum[n] += v
    want = {n: (flat[n], cum[n]) for n in cum if cum[n] or flat[n]}
    got = {}
    for line in open(top_path).read().splitlines():
        m = TOP_RE.match(line)
        if m:
            got[m.group(3)] = (int(m.group(1)), int(m.group(2)))
    bad = []
    for n in sorted(set(want) | set(got)):
        if want.get(n) != got.get(n):
            bad.append("%s %s: pprof says flat,cum %s, want %s" % (index, n, got.get(n), want.get(n)))
    total = sum(s["values"][col] for s in desc["samples"])
    if not re.search(r"of %dB? total" % total, open(top_path).read()):
        bad.append("%s: total is not %d" % (index, total))
    for b in bad:
        print(b)
    if not bad:
        print("top %s: %d functions, flat and cum as written, total %d" % (index, len(got), total))
    return not bad


def main():
    a = sys.argv[1:]
    if len(a) == 2 and a[0] == "gen":
        gen(a[1])
        return 0
    if len(a) == 3 and a[0] == "raw":
        return 0 if check_raw(a[1], a[2]) else 1
    if len(a) == 4 and a[0] == "top":
        return 0 if check_top(a[1], a[2], a[3]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
