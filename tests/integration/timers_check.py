#!/usr/bin/env python3
"""timers_check.py ORACLE TLI_JSON: `timers --json` against the target's own record.

tests/targets/go/pools arms 4 time.AfterFunc timers calling one closure (whose name the
runtime itself gives: runtime.FuncForPC) and one more reset from an hour to 30 minutes, 3 tickers of an hour each with a goroutine
receiving, and 2 goroutines in time.Sleep(time.Hour). One line per disagreement; exit 1 if any."""
import json
import sys

want = json.load(open(sys.argv[1]))["timers"]
doc = json.load(open(sys.argv[2]))
t = (doc.get("go") or {}).get("timers")
bad = []
if not isinstance(t, dict):
    print("no go.timers")
    sys.exit(1)
groups = t.get("groups") or []


def find(kind, function=None, period=None):
    return [g for g in groups if g.get("kind") == kind and (function is None or g.get("function") == function)
            and (period is None or g.get("period_seconds") == period)]


af = find("after_func", want["after_func"])
if len(af) != 1 or af[0].get("count") != want["after_func_count"]:
    bad.append("AfterFunc %s: %r, want one group of %d" % (want["after_func"], af, want["after_func_count"]))
elif af[0].get("callback") != "time.goFunc":
    bad.append("AfterFunc callback %r" % af[0].get("callback"))
rs = find("after_func", want["reset"])
if len(rs) != 1 or rs[0].get("count") != 1:
    bad.append("reset AfterFunc %s: %r, want one" % (want["reset"], rs))
elif rs[0].get("next_in_seconds") is not None and not 1500 < rs[0]["next_in_seconds"] <= want["reset_seconds"]:
    bad.append("reset AfterFunc fires in %r s, Reset said %d" % (rs[0]["next_in_seconds"], want["reset_seconds"]))
tk = find("ticker", "time.sendTime", float(want["ticker_period_seconds"]))
if len(tk) != 1 or tk[0].get("count") != want["tickers"]:
    bad.append("tickers: %r, want %d of period %ds" % (tk, want["tickers"], want["ticker_period_seconds"]))
sl = find("sleep", "runtime.goroutineReady")
if len(sl) != 1 or sl[0].get("count", 0) < want["sleeps"]:
    bad.append("sleeps: %r, want >= %d" % (sl, want["sleeps"]))
# all an hour away, armed moments before the oracle was written
for g in af + tk + sl:
    nx = g.get("next_in_seconds")
    if doc.get("target", {}).get("kind") == "live" or nx is not None:
        if not isinstance(nx, (int, float)) or not 3000 < nx <= 3600:
            bad.append("%s next_in_seconds %r, want within the hour" % (g.get("function"), nx))
if t.get("count") != sum(g.get("count", 0) for g in groups):
    bad.append("count %r != sum of the groups" % t.get("count"))
if t.get("problems"):
    bad.append("problems: %r" % t["problems"])
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
