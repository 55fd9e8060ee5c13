#!/usr/bin/env python3
"""Compare tlinspect's goroutine listing with the Go runtime's own dump.

The oracle is the text that runtime.Stack(buf, true) (or the pprof goroutine
profile at debug=2, same format) printed inside the target.  The candidate is
`tlinspect --json goroutines --stacks` output (schema tlinspect/1).

Usage:
  compare.py --dump stack.txt --json tli.json [--facts facts.json]
             [--label NAME] [--volatile ID,ID] [--no-offsets] [--now UNIX]
  compare.py --parse stack.txt            # print the parsed dump as JSON

Checks (each reported as "<check>: N passed, M failed"):
  presence   every dump goroutine (except the dumper) is listed by tlinspect
  status     bracket text: wait_reason if waiting with a reason, else status
  minutes    ", N minutes" (null when Go printed none); slack only if the dump
             is older than a minute
  locked     ", locked to thread"
  frames     frame-for-frame function name and file:line (+ inlined flag)
  offsets    "+0x.." of each non-inlined frame (disable with --no-offsets)
  args       each frame's argument words as Go prints them ("0xc0001, {0x2, 0x3?}",
             "..." inlined or unreadable), compared with the offsets
  created    created_by function, file, line and "in goroutine N"
  system     every non-system goroutine tlinspect lists is in the dump, and
             no goroutine tlinspect marks system is in the dump
  facts      (with --facts) role goids present, main's state at inspection,
             non-system count == runtime.NumGoroutine() after the dump

Volatile goroutines (busy loops, the select-with-default loop, main; or any
[running]/[runnable] entry when no facts are given) are compared by id and
created_by only.  Exit status: 0 when every check passed, 1 otherwise,
2 on unusable input.

Python 3 standard library only.
"""

import argparse
import json
import math
import os
import re
import sys
import time

# ---------------------------------------------------------------------------
# Parsing Go tracebacks

_HEADER_RE = re.compile(r'^goroutine (\d+)((?: [^\[\]]*)?) \[(.*)\]:$')
_FILE_RE = re.compile(r'^\t(.*):(\d+)(?: \+0x([0-9a-fA-F]+))?(?: .*)?$')
_CREATED_RE = re.compile(r'^created by (.+?)(?: in goroutine (\d+))?$')
_MINUTES_RE = re.compile(r'^(\d+) minutes?$')
_ELIDED_RE = re.compile(r'^\.\.\.(?:additional frames elided|(\d+) frames elided)\.\.\.$')


class ParseError(Exception):
    pass


def split_call(line):
    """'main.(*T).run(0xc0, {0x1, 0x2})' -> ('main.(*T).run', '0xc0, {0x1, 0x2}').

    Go prints arguments as hex words, '{...}' groups, '...' and '?' marks,
    never parentheses, so the last '(' opens the argument list."""
    if not line.endswith(')'):
        raise ParseError('frame line does not end with an argument list: %r' % line)
    i = line.rfind('(')
    if i <= 0:
        raise ParseError('frame line without function name: %r' % line)
    return line[:i], line[i + 1:-1]


def parse_location(line, what):
    m = _FILE_RE.match(line)
    if not m:
        raise ParseError('%s: expected "\\tFILE:LINE [+0xOFF]", got %r' % (what, line))
    off = int(m.group(3), 16) if m.group(3) is not None else None
    return m.group(1), int(m.group(2)), off


def parse_header(line):
    m = _HEADER_RE.match(line)
    if not m:
        return None
    gid = int(m.group(1))
    parts = m.group(3).split(', ')
    g = {
        'id': gid,
        'status_text': parts[0],
        'minutes': None,
        'locked': False,
        'header_extra': [],
        'header_tokens': m.group(2).strip(),   # "gp=0x.. m=.." on crash levels
        'frames': [],
        'created_by': None,
        'elided': False,
    }
    for p in parts[1:]:
        mm = _MINUTES_RE.match(p)
        if mm:
            g['minutes'] = int(mm.group(1))
        elif p == 'locked to thread':
            g['locked'] = True
        else:
            g['header_extra'].append(p)
    return g


def parse_dump(text):
    """Parse runtime.Stack(all) / pprof debug=2 text into a list of goroutines.

    Each goroutine: id, status_text, minutes (int|None), locked (bool),
    frames [{function, args, file, line, offset, inlined}], created_by
    {function, file, line, offset, goid}|None, elided (bool)."""
    lines = text.split('\n')
    out = []
    cur = None
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        i += 1
        if line == '':
            cur = None
            continue
        h = parse_header(line)
        if h is not None:
            cur = h
            out.append(cur)
            continue
        if cur is None:
            # text outside a goroutine block (e.g. a panic message); ignore
            continue
        if line.startswith('[originating from goroutine'):
            cur = None   # tracebackancestors section: not part of this g
            continue
        if _ELIDED_RE.match(line):
            cur['elided'] = True
            continue
        if line.startswith('created by '):
            m = _CREATED_RE.match(line)
            if i >= n:
                raise ParseError('goroutine %d: "created by" without location' % cur['id'])
            f, ln, off = parse_location(lines[i], 'goroutine %d created by' % cur['id'])
            i += 1
            cur['created_by'] = {
                'function': m.group(1), 'file': f, 'line': ln, 'offset': off,
                'goid': int(m.group(2)) if m.group(2) is not None else None,
            }
            continue
        if line.startswith('\t'):
            raise ParseError('goroutine %d: location line without frame: %r' % (cur['id'], line))
        fn, args = split_call(line)
        if i >= n:
            raise ParseError('goroutine %d: frame %s without location' % (cur['id'], fn))
        f, ln, off = parse_location(lines[i], 'goroutine %d frame %s' % (cur['id'], fn))
        i += 1
        cur['frames'].append({
            'function': fn, 'args': args, 'file': f, 'line': ln, 'offset': off,
            'inlined': args == '...' and off is None,
        })
    seen = set()
    for g in out:
        if g['id'] in seen:
            raise ParseError('goroutine %d appears twice in the dump' % g['id'])
        seen.add(g['id'])
    return out


def parse_dump_file(path):
    with open(path, 'r', encoding='utf-8', errors='replace') as fh:
        return parse_dump(fh.read())


# ---------------------------------------------------------------------------
# tlinspect JSON


def bracket_text(g):
    """What Go's traceback would print first inside the brackets."""
    if g.get('status') == 'waiting' and g.get('wait_reason'):
        return g['wait_reason']
    return g.get('status')


def load_tli(path):
    with open(path, 'r', encoding='utf-8') as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise ParseError('%s: top level is not an object' % path)
    if 'error' in doc:
        e = doc['error']
        raise ParseError('%s: tlinspect reported an error: %s' % (path, json.dumps(e)))
    if doc.get('schema') != 'tlinspect/1':
        raise ParseError('%s: schema is %r, expected "tlinspect/1"' % (path, doc.get('schema')))
    gs = (doc.get('go') or {}).get('goroutines')
    if not isinstance(gs, list):
        raise ParseError('%s: .go.goroutines missing or not a list' % path)
    return doc, gs


GO_STATUSES = {'idle', 'runnable', 'running', 'syscall', 'waiting', 'dead',
               'copystack', 'preempted', 'moribund_unused', 'enqueue_unused'}


def doc_from_dump(dump, kind='text'):
    """A tlinspect/1-shaped document from a parsed traceback text.

    Used for tlinspect's own text rendering (--text), which prints goroutines
    in Go's traceback format, and by the self-test.  Everything the text shows
    is carried over; what it cannot show (system goroutines) is absent."""
    gs = []
    for d in dump:
        st = d['status_text']
        status, reason = (st, None) if st in GO_STATUSES else ('waiting', st)
        frames = [{'function': f['function'], 'file': f['file'], 'line': f['line'],
                   'offset': f['offset'], 'inlined': f['inlined']} for f in d['frames']]
        for f, df in zip(frames, d['frames']):
            if df['args'] != '...':
                f['args'] = df['args']
        cb = None
        if d['created_by']:
            c = d['created_by']
            cb = {'function': c['function'], 'file': c['file'], 'line': c['line'], 'goid': c['goid']}
        gs.append({'id': d['id'], 'status': status, 'wait_reason': reason,
                   'wait_minutes': d['minutes'], 'system': False, 'locked_to_thread': d['locked'],
                   'current': frames[0] if frames else None, 'created_by': cb,
                   'stack': frames, 'stack_truncated': d['elided']})
    return {'schema': 'tlinspect/1', '_from_text': True, 'target': {'kind': kind},
            'go': {'goroutine_count': len(gs), 'goroutines': gs}}


# ---------------------------------------------------------------------------
# Comparison


class Checks:
    ORDER = ['presence', 'status', 'minutes', 'locked', 'frames', 'offsets', 'args',
             'created', 'system', 'facts']

    def __init__(self, label):
        self.label = label
        self.counts = {}
        self.failures = []

    def ok(self, check):
        self.counts.setdefault(check, [0, 0])[0] += 1

    def fail(self, check, msg):
        self.counts.setdefault(check, [0, 0])[1] += 1
        self.failures.append('FAIL [%s] %s: %s' % (self.label, check, msg))

    def check(self, check, cond, msg):
        if cond:
            self.ok(check)
        else:
            self.fail(check, msg)
        return cond

    def total(self):
        p = sum(v[0] for v in self.counts.values())
        f = sum(v[1] for v in self.counts.values())
        return p, f


def fmt_frame(fr):
    if fr is None:
        return '<none>'
    s = '%s %s:%s' % (fr.get('function'), fr.get('file'), fr.get('line'))
    if fr.get('inlined'):
        s += ' (inlined)'
    return s


def compare_frames(ck, gid, dframes, tframes, elided, truncated, do_offsets):
    """Frame-for-frame comparison; one 'frames' result per goroutine."""
    if tframes is None:
        ck.fail('frames', 'goroutine %d: tlinspect gave no "stack" (run with --stacks)' % gid)
        return
    problems = []
    if elided:
        # Go printed only part of the stack: compare the prefix it printed.
        if len(tframes) < len(dframes):
            problems.append('dump elided frames; tlinspect has only %d frames, dump prints %d'
                            % (len(tframes), len(dframes)))
    elif len(tframes) != len(dframes):
        problems.append('frame count: dump %d, tlinspect %d%s'
                        % (len(dframes), len(tframes), ' (stack_truncated)' if truncated else ''))
    offs = []
    args = []
    for k, (df, tf) in enumerate(zip(dframes, tframes)):
        if do_offsets and tf.get('args', '...') != df['args']:
            args.append('frame %d %s: dump (%s), tlinspect (%s)'
                        % (k, df['function'], df['args'], tf.get('args', '...')))
        diffs = []
        if tf.get('function') != df['function']:
            diffs.append('function %r != %r' % (df['function'], tf.get('function')))
        if tf.get('file') != df['file']:
            diffs.append('file %r != %r' % (df['file'], tf.get('file')))
        if tf.get('line') != df['line']:
            diffs.append('line %r != %r' % (df['line'], tf.get('line')))
        if bool(tf.get('inlined')) != df['inlined']:
            diffs.append('inlined %s != %s' % (df['inlined'], bool(tf.get('inlined'))))
        if diffs:
            problems.append('frame %d: %s' % (k, '; '.join(diffs)))
        if do_offsets and df['offset'] is not None:
            toff = tf.get('offset')
            if toff != df['offset']:
                offs.append('frame %d %s: dump +0x%x, tlinspect %s'
                            % (k, df['function'], df['offset'],
                               '+0x%x' % toff if isinstance(toff, int) else repr(toff)))
    if problems:
        lines = ['goroutine %d: %s' % (gid, problems[0])] + ['    ' + p for p in problems[1:]]
        lines.append('    dump stack:')
        lines += ['      %d %s' % (k, fmt_frame(f)) for k, f in enumerate(dframes)]
        lines.append('    tlinspect stack:')
        lines += ['      %d %s' % (k, fmt_frame(f)) for k, f in enumerate(tframes)]
        ck.fail('frames', '\n'.join(lines))
    else:
        ck.ok('frames')
    if do_offsets and not problems:  # arguments only where the frames themselves agree
        if offs:
            ck.fail('offsets', 'goroutine %d: %s' % (gid, '; '.join(offs)))
        else:
            ck.ok('offsets')
        if args:
            ck.fail('args', 'goroutine %d: %s' % (gid, '; '.join(args)))
        else:
            ck.ok('args')


def compare_created(ck, gid, dc, tc):
    if dc is None:
        ck.check('created', tc is None,
                 'goroutine %d: dump prints no "created by", tlinspect has %s' % (gid, json.dumps(tc)))
        return
    if not isinstance(tc, dict):
        ck.fail('created', 'goroutine %d: dump "created by %s" (%s:%d), tlinspect has none'
                % (gid, dc['function'], dc['file'], dc['line']))
        return
    diffs = []
    for key in ('function', 'file', 'line', 'goid'):
        if tc.get(key) != dc[key]:
            diffs.append('%s %r != %r' % (key, dc[key], tc.get(key)))
    ck.check('created', not diffs, 'goroutine %d (dump vs tlinspect): %s' % (gid, '; '.join(diffs)))


def compare(dump, tdoc, tgs, facts=None, label='compare', volatile_ids=(), do_offsets=True, now=None):
    ck = Checks(label)
    now = time.time() if now is None else now
    tmap = {}
    for g in tgs:
        if not isinstance(g, dict) or not isinstance(g.get('id'), int):
            ck.fail('presence', 'tlinspect goroutine entry without integer id: %r' % (g,))
            continue
        if g['id'] in tmap:
            ck.fail('presence', 'tlinspect lists goroutine %d twice' % g['id'])
        tmap[g['id']] = g
    dmap = {g['id']: g for g in dump}

    dumper = None
    volatile = set(volatile_ids)
    dump_age = None
    if facts:
        dumper = facts.get('dumper_goid')
        for r in facts.get('volatile', []):
            if r in facts.get('roles', {}):
                volatile.add(facts['roles'][r])
        if isinstance(facts.get('main'), dict) and 'goid' in facts['main']:
            volatile.add(facts['main']['goid'])
        if facts.get('dump_time_unix'):
            dump_age = max(0.0, now - float(facts['dump_time_unix']))
    if dump_age is None:
        dump_age = 0.0
    # How many minutes may have been added between the dump and the inspection.
    minute_slack = int(math.ceil(dump_age / 60.0)) if dump_age >= 60.0 else 0
    if minute_slack:
        minute_slack = max(minute_slack, 1)

    for dg in dump:
        gid = dg['id']
        tg = tmap.get(gid)
        is_dumper = (gid == dumper) if dumper is not None else \
            (dg['status_text'] == 'running' and tg is None)
        if is_dumper:
            ck.check('presence', tg is None,
                     'goroutine %d took the dump and exited, but tlinspect lists it' % gid)
            continue
        if not ck.check('presence', tg is not None,
                        'goroutine %d [%s] (%s) is in the dump but not listed by tlinspect'
                        % (gid, dg['status_text'],
                           dg['frames'][-1]['function'] if dg['frames'] else 'no frames')):
            continue
        if tg.get('system'):
            ck.fail('system', 'goroutine %d is in the dump (so the runtime does not hide it) but '
                    'tlinspect marks it system' % gid)
        compare_created(ck, gid, dg['created_by'], tg.get('created_by'))
        vol = gid in volatile or (not facts and dg['status_text'] in ('running', 'runnable'))
        if vol:
            continue
        tb = bracket_text(tg)
        ck.check('status', tb == dg['status_text'],
                 'goroutine %d: dump [%s], tlinspect status=%r wait_reason=%r'
                 % (gid, dg['status_text'], tg.get('status'), tg.get('wait_reason')))
        dm = dg['minutes'] or 0
        tm = tg.get('wait_minutes')
        tmi = tm if isinstance(tm, int) else 0
        okm = (tm is None or (isinstance(tm, int) and tm >= 1)) and dm <= tmi <= dm + minute_slack
        ck.check('minutes', okm,
                 'goroutine %d: dump %s, tlinspect wait_minutes=%r (dump age %.0f s)'
                 % (gid, '"%d minutes"' % dm if dg['minutes'] is not None else 'prints no minutes',
                    tm, dump_age))
        ck.check('locked', bool(tg.get('locked_to_thread')) == dg['locked'],
                 'goroutine %d: dump locked to thread=%s, tlinspect locked_to_thread=%r'
                 % (gid, dg['locked'], tg.get('locked_to_thread')))
        compare_frames(ck, gid, dg['frames'], tg.get('stack'), dg['elided'],
                       tg.get('stack_truncated'), do_offsets)

    for gid, tg in sorted(tmap.items()):
        if gid in dmap:
            continue
        if tg.get('system'):
            ck.ok('system')
            continue
        ck.fail('system', 'tlinspect lists non-system goroutine %d [%s] that is not in the dump '
                '(current %s)' % (gid, bracket_text(tg), fmt_frame(tg.get('current'))))

    if facts:
        for role, gid in sorted(facts.get('roles', {}).items()):
            ck.check('facts', gid in tmap and not tmap[gid].get('system'),
                     'role %s: goroutine %d missing from tlinspect (or marked system)' % (role, gid))
        mainf = facts.get('main') or {}
        if 'goid' in mainf and 'state_at_inspection' in mainf:
            tg = tmap.get(mainf['goid'])
            ck.check('facts', tg is not None and bracket_text(tg) == mainf['state_at_inspection'],
                     'main goroutine %d: expected [%s] at inspection, tlinspect %s'
                     % (mainf['goid'], mainf['state_at_inspection'],
                        'has no such goroutine' if tg is None else '[%s]' % bracket_text(tg)))
        if isinstance(facts.get('num_goroutine'), int):
            nonsys = sum(1 for g in tmap.values() if not g.get('system'))
            ck.check('facts', nonsys == facts['num_goroutine'],
                     'runtime.NumGoroutine() after the dump = %d, tlinspect lists %d non-system goroutines'
                     % (facts['num_goroutine'], nonsys))
        tver = ((tdoc or {}).get('target') or {}).get('go_version')
        if facts.get('go_version') and not (tdoc or {}).get('_from_text'):
            ck.check('facts', tver == facts['go_version'],
                     'go_version: runtime.Version() %r, tlinspect %r' % (facts['go_version'], tver))
    return ck


def report(ck, out=sys.stdout):
    for line in ck.failures:
        print(line, file=out)
    for name in Checks.ORDER + sorted(set(ck.counts) - set(Checks.ORDER)):
        if name in ck.counts:
            p, f = ck.counts[name]
            print('%s: %d passed, %d failed' % (name, p, f), file=out)
    p, f = ck.total()
    print('[%s] %d passed, %d failed' % (ck.label, p, f), file=out)
    return f == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dump', help='runtime.Stack(all) or pprof debug=2 text')
    ap.add_argument('--json', help='tlinspect --json goroutines --stacks output')
    ap.add_argument('--text', help='tlinspect goroutines --stacks text output (Go traceback format)')
    ap.add_argument('--facts', help='facts.json written by the target')
    ap.add_argument('--label', default='compare')
    ap.add_argument('--volatile', default='', help='comma-separated goids compared by id/created_by only')
    ap.add_argument('--no-offsets', action='store_true', help='do not compare +0x offsets')
    ap.add_argument('--now', type=float, help='inspection time (unix seconds) for the minutes slack')
    ap.add_argument('--parse', metavar='DUMP', help='parse DUMP and print it as JSON')
    a = ap.parse_args(argv)
    try:
        if a.parse:
            print(json.dumps(parse_dump_file(a.parse), indent=1))
            return 0
        if not a.dump or bool(a.json) == bool(a.text):
            ap.error('--dump and one of --json / --text are required')
        dump = parse_dump_file(a.dump)
        if not dump:
            raise ParseError('%s: no goroutines found' % a.dump)
        if a.json:
            tdoc, tgs = load_tli(a.json)
        else:
            tparsed = parse_dump_file(a.text)
            if not tparsed:
                raise ParseError('%s: no goroutine blocks found in tlinspect text output' % a.text)
            tdoc = doc_from_dump(tparsed)
            tgs = tdoc['go']['goroutines']
        facts = None
        if a.facts:
            with open(a.facts, 'r', encoding='utf-8') as fh:
                facts = json.load(fh)
        vol = [int(x) for x in a.volatile.split(',') if x.strip()]
    except (OSError, ValueError, ParseError) as e:
        print('FAIL [%s] input: %s' % (a.label, e))
        print('[%s] 0 passed, 1 failed' % a.label)
        return 2
    do_off = not a.no_offsets and os.environ.get('COMPARE_OFFSETS', '1') != '0'
    ck = compare(dump, tdoc, tgs, facts=facts, label=a.label, volatile_ids=vol,
                 do_offsets=do_off, now=a.now)
    return 0 if report(ck) else 1


if __name__ == '__main__':
    sys.exit(main())
