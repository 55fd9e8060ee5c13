#!/usr/bin/env python3
"""labels_check.py: tlinspect's goroutine labels against the labels target's own record.

  labels_check.py json  RECORD.json PPROF1.txt TLI.json      every goroutine: labels as recorded
                                                             (none for the rest); the multiset of
                                                             label sets = pprof debug=1's groups
  labels_check.py ids   RECORD.json TLI.json KEY=VALUE...    the --label filter: exactly the
                                                             recorded goroutines holding them all
  labels_check.py text  RECORD.json TLI.txt                  one "labels: {...}" line per labelled one
Prints one line; exit 1 on a mismatch.
"""
import collections
import json
import re
import sys

PAIR = re.compile(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"')


def load(p):
    with open(p) as f:
        return json.load(f)


def key(labels):
    return tuple(sorted(labels.items()))


def check_json(rec, pprof1, tli):
    gs = tli["go"]["goroutines"]
    bad = []
    seen = 0
    for g in gs:
        gid = str(g.get("id"))
        want = rec.get(gid, {})
        got = g.get("labels", {})
        if "labels_unreadable" in g:
            bad.append("%s unreadable: %s" % (gid, g["labels_unreadable"]))
        elif got != want:
            bad.append("%s: %s != %s" % (gid, got, want))
        if gid in rec:
            seen += 1
    if seen != len(rec):
        bad.append("%d of %d recorded goroutines listed" % (seen, len(rec)))
    # the runtime's own view: "N @ pcs" then "# labels: {...}" per group
    prof = collections.Counter()
    count = 0
    with open(pprof1) as f:
        for line in f:
            m = re.match(r"^(\d+) @", line)
            if m:
                count = int(m.group(1))
            elif line.startswith("# labels: "):
                prof[key(dict((a, b) for a, b in PAIR.findall(line)))] += count
    ours = collections.Counter(key(g["labels"]) for g in gs if g.get("labels"))
    if prof != ours:
        bad.append("label sets differ from pprof debug=1: %s vs %s" % (dict(prof), dict(ours)))
    labelled = sum(1 for g in gs if g.get("labels"))
    if bad:
        print("MISMATCH " + "; ".join(bad[:5]))
        return 1
    print("%d goroutines, %d labelled, %d label sets as pprof debug=1" % (len(gs), labelled, len(prof)))
    return 0


def check_ids(rec, tli, pairs):
    want = sorted(int(i) for i, labels in rec.items()
                  if all(p.partition("=")[0] in labels and labels[p.partition("=")[0]] == p.partition("=")[2]
                         for p in pairs))
    got = sorted(g["id"] for g in tli["go"]["goroutines"])
    if got != want or not want:
        print("MISMATCH %s: %s != %s" % (" ".join(pairs), got, want))
        return 1
    print("%s: ids %s" % (" ".join(pairs), got))
    return 0


def check_text(rec, txt):
    with open(txt) as f:
        n = sum(1 for line in f if line.startswith("labels: {"))
    want = sum(1 for labels in rec.values() if labels)
    if n != want:
        print("MISMATCH %d labels lines, %d labelled goroutines" % (n, want))
        return 1
    print("%d labels lines" % n)
    return 0


def main():
    mode = sys.argv[1]
    if mode == "json":
        return check_json(load(sys.argv[2]), sys.argv[3], load(sys.argv[4]))
    if mode == "ids":
        return check_ids(load(sys.argv[2]), load(sys.argv[3]), sys.argv[4:])
    if mode == "text":
        return check_text(load(sys.argv[2]), sys.argv[3])
    print("usage: labels_check.py json|ids|text ...")
    return 2


if __name__ == "__main__":
    sys.exit(main())
