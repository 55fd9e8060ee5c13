# secrets_found.py JSON PLANTED: each line a target planted ("REGION KIND ADDRESS TOKEN") has a
# finding of `secrets --json` at that address, of that kind, in that region; exit 1 if one has not.
# Used by secrets.sh (x86-64) and arm64.sh (arm64 cores).
import json, sys
d = json.load(open(sys.argv[1]))
found = {(f["address"], f["kind"]): f for f in d["secrets"]["findings"]}
bad = 0
for line in open(sys.argv[2]):
    region, kind, addr, tok = line.rstrip("\n").split(" ", 3)
    f = found.get((hex(int(addr, 16)), kind))
    if not f:
        print(f"not found: {region} {kind} at {addr}"); bad += 1
    elif f["region"] != region:
        print(f"{kind} at {addr}: region {f['region']} (owner {f['owner']}), planted in {region}"); bad += 1
    else:
        print(f"found {kind} at {addr} in {region} ({f['owner']})")
sys.exit(1 if bad else 0)
