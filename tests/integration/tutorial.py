#!/usr/bin/env python3
"""Run docs/tutorial.md as a test (tests/integration/tutorial.sh).

Every ```console block is read: a line "$ CMD" is a command, the lines after it (up to the next
"$ ") what the text says it prints. The commands run verbatim, in order, in one bash session
started in the repository root (the tutorial itself moves to a scratch directory). A command
whose shown output has "tlinspect core> LINE" prompts (the shell) gets those LINEs on stdin;
every other command gets /dev/null.

Comparison, line by line, blank lines ignored: the shown lines must appear in the real output in
order and consecutively; a line that is only "…" allows skipping any number of lines (at the
start, in between, at the end: without a final "…" the output must end there). Within a line,
runs of blanks are equal to one (or none) and numbers are wildcards: 0x-hex, decimal, and bare
hex words with a digit (build-ids); everything else (names, wait reasons, headers, column titles,
words) must be equal. The repository's path in the real output is shown as "…".

Bindings: when a shown line matches, each of its hex numbers and each decimal of 4 or more digits
(pids, sizes) is bound to the real token at the same place (the first binding wins); later
commands, and lines fed to the shell, have the bound tokens replaced, so "chan 0xc000080060" or
"--pid 12637" run with this run's values. Decimals of 2 or 3 digits are bound too but replaced in
`$ ` command lines only (goroutine ids: `goroutine 37` runs as this run's id shown at the same
place of the groups table; the shown ids must have 2 digits or more: after a refresh from a run
whose ids were 5, 6, 7 put the text's back to 37 38 39).

Prints "ok"/"FAIL" lines and "N passed, M failed". Exit 1 on any failure.

Refreshing the text (a maintainer's tool, not the test): TLI_TUTORIAL_REFRESH=NEW.md writes the
tutorial with every matching shown line replaced by the real line it matched (cuts kept) and the
bound numbers replaced everywhere, prose included, so that the text tells one run consistently.
"""
import os
import re
import select
import subprocess
import sys
import time

NUM = re.compile(r"(?<![0-9A-Za-z_])(0x[0-9a-fA-F]+|[0-9a-f]*[0-9][0-9a-f]*)(?![0-9A-Za-z_])")
PROMPT = "tlinspect core> "
ELLIPSIS = "…"


def blocks(text):
    out, cur, inside = [], None, False
    for line in text.splitlines():
        if line.startswith("```console"):
            inside, cur = True, []
            continue
        if inside and line.startswith("```"):
            inside = False
            out.append(cur)
            continue
        if inside:
            cur.append(line)
    return out


def steps(block):
    """[(command, [shown lines])] of one block; lines before the first command are dropped."""
    res = []
    for line in block:
        if line.startswith("$ "):
            res.append([line[2:], []])
        elif res:
            res[-1][1].append(line)
    return res


def split(line):
    """Literal parts and number tokens: [lit, num, lit, num, ..., lit]."""
    line = " ".join(line.split())
    return NUM.split(line)


def match_line(exp, act):
    e, a = split(exp), split(act)
    if len(e) != len(a):
        return None
    pairs = []
    for i in range(len(e)):
        if i % 2 == 0:
            if e[i].strip() != a[i].strip():
                return None
        else:
            pairs.append((e[i], a[i]))
    return pairs


def match_block(shown, actual, lines=None):
    """Returns (ok, pairs, why); `lines`, if a dict, gets shown index -> matched real line."""
    idx = [i for i, l in enumerate(shown) if l.strip()]
    shown = [l for l in shown if l.strip()]
    actual = [l for l in actual if l.strip()]
    segs, cur, lead, trail = [], [], False, False
    for i, l in enumerate(shown):
        if l.strip() == ELLIPSIS:
            if i == 0:
                lead = True
            if cur:
                segs.append(cur)
                cur = []
            trail = True
        else:
            cur.append(l)
            trail = False
    if cur:
        segs.append(cur)
    pos, pairs, seg_pos = 0, [], []
    for si, seg in enumerate(segs):
        found = None
        starts = [pos] if (si == 0 and not lead) else range(pos, len(actual) - len(seg) + 1)
        for st in starts:
            got = []
            for k, l in enumerate(seg):
                p = match_line(l, actual[st + k]) if st + k < len(actual) else None
                if p is None:
                    break
                got += p
            else:
                found = (st, got, [(si, k, st + k) for k in range(len(seg))])
                break
        if not found:
            # the first shown line of the segment that does not match at the best place
            st = starts[0] if starts else pos
            for k, l in enumerate(seg):
                if st + k >= len(actual) or match_line(l, actual[st + k]) is None:
                    have = actual[st + k] if st + k < len(actual) else "(end of output)"
                    return False, [], "shown  %r\n     real   %r" % (l, have)
            return False, [], "segment %d not found" % si
        pos = found[0] + len(seg)
        pairs += found[1]
        seg_pos.append(found[2])
    if segs and not trail and pos != len(actual):
        return False, [], "more output than shown (no final …): %r" % actual[pos]
    if lines is not None:  # map back: the k-th non-ellipsis shown line of segment si
        flat = [a for sp in seg_pos for (_, _, a) in sp]
        nonell = [i for i, l in enumerate(shown) if l.strip() != ELLIPSIS]
        for i, a in zip(nonell, flat):
            lines[idx[i]] = actual[a]
    return True, pairs, ""


def bind(binds, pairs):
    for e, a in pairs:
        if e.startswith("0x") or (e.isdigit() and len(e) >= 4):
            binds.setdefault(e, a)
        elif e.isdigit() and len(e) >= 2:  # goroutine ids: used in commands only (see subst_cmd)
            binds.setdefault("#" + e, a)


def subst_cmd(binds, s, used=None):
    """A command line: also the 2- and 3-digit numbers (goroutine ids such as `goroutine 37`)."""
    def one(m):
        t = m.group(0)
        if t in binds:
            return binds[t]
        if "#" + t in binds:
            if used is not None:
                used.add(t)
            return binds["#" + t]
        return t
    return NUM.sub(one, s)


def subst(binds, s):
    return NUM.sub(lambda m: binds.get(m.group(0), m.group(0)), s)


class Bash:
    def __init__(self, cwd):
        self.p = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""

    def run(self, cmd, stdin_lines, timeout):
        mark = "__TLI_TUTORIAL_DONE__"
        if stdin_lines is None:
            script = "{ %s\n} </dev/null 2>&1; printf '\\n%s %%d\\n' $?\n" % (cmd, mark)
        else:
            body = "".join(l + "\n" for l in stdin_lines)
            script = "{ %s\n} 2>&1 <<'__TLI_IN__'\n%s__TLI_IN__\nprintf '\\n%s %%d\\n' $?\n" % (cmd, body, mark)
        self.p.stdin.write(script.encode())
        self.p.stdin.flush()
        end = time.time() + timeout
        fd = self.p.stdout.fileno()
        while True:
            m = re.search(rb"(?:^|\n)" + mark.encode() + rb" (\d+)\n", self.buf)
            if m:
                out = self.buf[:m.start()].decode(errors="replace")
                self.buf = self.buf[m.end():]
                return int(m.group(1)), out.splitlines()
            left = end - time.time()
            if left <= 0:
                return None, self.buf.decode(errors="replace").splitlines()
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None, self.buf.decode(errors="replace").splitlines()
                self.buf += chunk

    def close(self):
        try:
            self.p.stdin.write(b"kill $(jobs -p) 2>/dev/null; exit 0\n")
            self.p.stdin.flush()
            self.p.wait(10)
        except Exception:
            self.p.kill()


def write_refresh(doc, path, replaced, binds):
    """The tutorial with matched shown lines replaced by the real ones, bound numbers everywhere."""
    out, bi, si, k, inside = [], -1, -1, 0, False
    for line in open(doc, encoding="utf-8").read().splitlines():
        if line.startswith("```console"):
            inside, bi, si = True, bi + 1, -1
            out.append(line)
            continue
        if inside and line.startswith("```"):
            inside = False
            out.append(line)
            continue
        if inside and line.startswith("$ "):
            si, k = si + 1, 0
            out.append(subst(binds, line))
            continue
        if inside and si >= 0:
            out.append(replaced.get((bi, si, k), subst(binds, line)))
            k += 1
            continue
        out.append(subst(binds, line) if not inside else line)
    open(path, "w", encoding="utf-8").write("\n".join(out) + "\n")


def main():
    doc, root = sys.argv[1], os.path.abspath(sys.argv[2])
    budget = float(os.environ.get("TLI_TUTORIAL_TIMEOUT", "110"))
    t0 = time.time()
    sh = Bash(root)
    binds, npass, nfail = {}, 0, 0
    refresh = os.environ.get("TLI_TUTORIAL_REFRESH")
    replaced = {}  # (block, step, shown index) -> real line
    used_small = set()  # 2-3 digit numbers replaced in commands: also replaced in the prose
    try:
        for bi, b in enumerate(blocks(open(doc, encoding="utf-8").read())):
            for si, (cmd, shown) in enumerate(steps(b)):
                feed = [l[len(PROMPT):] for l in shown if l.startswith(PROMPT)]
                run = subst_cmd(binds, cmd, used_small)
                left = budget - (time.time() - t0)
                rc, out = sh.run(run, [subst(binds, l) for l in feed] if feed else None, max(left, 1))
                out = [l.replace(root, ELLIPSIS) for l in out]
                if feed:  # readline's last prompt, at end of input
                    out = [l for l in out if l.rstrip() != PROMPT.rstrip()]
                if rc is None:
                    print("FAIL $ %s: no end within the time budget (%.0f s)" % (run, budget))
                    return 1
                if rc != 0:
                    nfail += 1
                    print("FAIL $ %s: exit %d\n     %s" % (run, rc, "\n     ".join(out[-5:])))
                    continue
                got = {}
                ok, pairs, why = match_block(shown, out, got)
                for k, v in got.items():
                    replaced[(bi, si, k)] = v
                if ok:
                    bind(binds, pairs)
                    npass += 1
                    print("ok   $ %s  (%d lines shown, %d printed)" % (run, len([l for l in shown if l.strip()]), len(out)))
                else:
                    nfail += 1
                    print("FAIL $ %s\n     %s" % (run, why))
                    if os.environ.get("TLI_TUTORIAL_SHOW"):  # what it printed, to update the text
                        print("\n".join("     | " + l for l in out))
    finally:
        sh.close()
    if refresh:
        prose = {k: v for k, v in binds.items() if not k.startswith("#")}
        prose.update({k: binds["#" + k] for k in used_small})
        write_refresh(doc, refresh, replaced, prose)
    print("tutorial: %d commands in %.1f s" % (npass + nfail, time.time() - t0))
    print("%d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
