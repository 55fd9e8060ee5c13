#!/usr/bin/env python3
"""Self-test of compare.py (no tlinspect needed).

1. Parses a hand-written dump in the newer formats (go1.21+ "in goroutine N",
   crash-level "gp=.. m=.." headers and "fp= sp= pc=" suffixes, minutes,
   elided frames) and checks the parsed fields.
2. Builds and runs tests/targets/go/goroutines with an installed Go toolchain
   (or uses --dir DIR holding stack.txt, pprof-debug2.txt, facts.json), then:
   - checks the parse against facts.json, which the target wrote
     independently (role goids, creator of the spawned goroutine, inlined
     chain, generic name, locked thread, the dumper);
   - synthesizes a tlinspect/1 JSON document FROM THAT DUMP, checks that
     compare() accepts it, then applies one deliberate mutation at a time and
     checks that each one is caught by the expected check;
   - checks that the runtime.Stack dump and the pprof debug=2 dump agree.

Usage: test_compare.py [--dir DIR] [--go /usr/lib/go-1.NN/bin/go]
Prints "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import copy
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare  # noqa: E402

SAMPLE = """\
goroutine 1 gp=0xc000002380 m=0 mp=0x5a6f40 [running, locked to thread]:
runtime/debug.Stack()
\t/usr/lib/go-1.24/src/runtime/debug/stack.go:26 +0x5e fp=0xc000067f30 sp=0xc000067f18 pc=0x4b2a7e
main.main()
\t/src/main.go:10 +0x1d fp=0xc000067f50 sp=0xc000067f30 pc=0x4b2b1d

goroutine 18 [chan send, 3 minutes]:
main.leak.inner(...)
\t/src/main.go:42
main.leak({0xc000012345, 0x3}, 0x0?)
\t/src/main.go:50 +0x1d
main.(*Server).run-fm()
\t/src/server.go:7 +0x25
created by main.main.gowrap1 in goroutine 7
\t/src/main.go:30 +0x5e

goroutine 19 [sync.Mutex.Lock, 1 minutes]:
internal/sync.runtime_SemacquireMutex(0xc000010000?, 0x0?, 0x1?)
\t/usr/lib/go-1.24/src/runtime/sema.go:95 +0x25
main.deep[...](...)
\t/src/main.go:60
...12 frames elided...
main.deep[...](0x5)
\t/src/main.go:61 +0x30
created by main.start
\t/src/main.go:70 +0x2

goroutine 20 [select (no cases)]:
main.nocase()
\t/src/main.go:80 +0x10
"""


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print('FAIL: %s' % what)
        return cond


def test_sample(r):
    gs = compare.parse_dump(SAMPLE)
    r.check([g['id'] for g in gs] == [1, 18, 19, 20], 'sample: ids %r' % [g['id'] for g in gs])
    g1, g18, g19, g20 = gs
    r.check(g1['status_text'] == 'running' and g1['locked'] and g1['minutes'] is None,
            'sample g1 header: %r' % g1)
    r.check(g1['header_tokens'].startswith('gp=0xc000002380'), 'sample g1 gp= tokens: %r' % g1['header_tokens'])
    r.check(g1['frames'][0] == {'function': 'runtime/debug.Stack', 'args': '', 'file':
                                '/usr/lib/go-1.24/src/runtime/debug/stack.go', 'line': 26,
                                'offset': 0x5e, 'inlined': False},
            'sample g1 frame 0 with fp/sp/pc suffix: %r' % g1['frames'][0])
    r.check(g1['created_by'] is None, 'sample g1 has no creator')
    r.check(g18['status_text'] == 'chan send' and g18['minutes'] == 3, 'sample g18 header: %r' % g18)
    r.check([f['function'] for f in g18['frames']] ==
            ['main.leak.inner', 'main.leak', 'main.(*Server).run-fm'],
            'sample g18 functions: %r' % [f['function'] for f in g18['frames']])
    r.check(g18['frames'][0]['inlined'] and not g18['frames'][1]['inlined'],
            'sample g18 inlined flags')
    r.check(g18['frames'][1]['args'] == '{0xc000012345, 0x3}, 0x0?', 'sample g18 args')
    r.check(g18['created_by'] == {'function': 'main.main.gowrap1', 'file': '/src/main.go',
                                  'line': 30, 'offset': 0x5e, 'goid': 7},
            'sample g18 created by: %r' % g18['created_by'])
    r.check(g19['status_text'] == 'sync.Mutex.Lock' and g19['minutes'] == 1 and g19['elided'],
            'sample g19 header/elided: %r' % g19)
    r.check([f['function'] for f in g19['frames']] ==
            ['internal/sync.runtime_SemacquireMutex', 'main.deep[...]', 'main.deep[...]'],
            'sample g19 generic names: %r' % [f['function'] for f in g19['frames']])
    r.check(g19['created_by']['goid'] is None and g19['created_by']['function'] == 'main.start',
            'sample g19 created by without goid')
    r.check(g20['status_text'] == 'select (no cases)' and g20['created_by'] is None, 'sample g20')
    try:
        compare.parse_dump('goroutine 5 [chan send]:\nmain.f(\n\t/x.go:1 +0x1\n')
        r.check(False, 'malformed frame line accepted')
    except compare.ParseError:
        r.check(True, '')


# ---------------------------------------------------------------------------


def find_go():
    cands = sorted(glob.glob('/usr/lib/go-1.*/bin/go'),
                   key=lambda p: [int(x) for x in p.split('/go-')[1].split('/')[0].split('.')])
    return cands[0] if cands else None


def run_target(go, outdir):
    cache = os.environ.get('GOCACHE')
    if not cache:
        home = os.environ.get('HOME')
        if home and os.path.isdir(home) and os.access(home, os.W_OK):
            cache = os.path.join(home, '.cache', 'go-build')   # same choice as lib.sh
        else:
            cache = os.path.join(ROOT, 'tests/out/gocache')
    env = dict(os.environ, GOTOOLCHAIN='local', GOFLAGS='-mod=mod', GOPROXY='off', GOWORK='off',
               GOCACHE=cache)
    exe = os.path.join(outdir, 'goroutines')
    subprocess.run([go, 'build', '-o', exe, '.'], check=True, env=env,
                   cwd=os.path.join(ROOT, 'tests/targets/go/goroutines'))
    p = subprocess.Popen([exe, '-out', outdir, '-n', '25'], stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        if not line.startswith('ready '):
            raise RuntimeError('target did not print ready: %r' % line)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()


def synth_json(dump, facts):
    """A tlinspect/1 document built from the dump, as if tlinspect were perfect."""
    dump = [dict(d) for d in dump if d['id'] != facts['dumper_goid']]
    for d in dump:
        if d['id'] == facts['main']['goid']:
            d['status_text'] = facts['main']['state_at_inspection']
    doc = compare.doc_from_dump(dump)
    del doc['_from_text']
    gs = doc['go']['goroutines']
    # plus two system goroutines the dump hides
    for k, reason in ((2, 'force gc (idle)'), (3, 'GC sweep wait')):
        if not any(g['id'] == k for g in gs):
            gs.append({'id': k, 'status': 'waiting', 'wait_reason': reason, 'system': True,
                       'wait_minutes': None, 'locked_to_thread': False, 'created_by': None,
                       'stack': []})
    gs.sort(key=lambda g: g['id'])
    doc['target'] = {'kind': 'live', 'pid': facts['pid'], 'go_version': facts['go_version']}
    doc['go']['goroutine_count'] = len(gs)
    return doc


def render_text(doc):
    """Render a document the way tlinspect's text mode prints goroutines."""
    out = ['pid 1 (/x): go1.x, %d goroutines, target paused 1.0 ms' % doc['go']['goroutine_count'],
           'waiting: 3   running: 2', '']
    for g in doc['go']['goroutines']:
        if g.get('system'):
            continue
        br = compare.bracket_text(g)
        if g.get('wait_minutes'):
            br += ', %d minutes' % g['wait_minutes']
        if g.get('locked_to_thread'):
            br += ', locked to thread'
        out.append('goroutine %d [%s]:' % (g['id'], br))
        for f in g.get('stack') or []:
            out.append('%s(%s)' % (f['function'], f.get('args', '...')))
            out.append('\t%s:%d%s' % (f['file'], f['line'],
                                       ' +0x%x' % f['offset'] if f.get('offset') is not None else ''))
        cb = g.get('created_by')
        if cb:
            out.append('created by %s%s' % (cb['function'],
                                             ' in goroutine %d' % cb['goid'] if cb.get('goid') else ''))
            out.append('\t%s:%d +0x1' % (cb['file'], cb['line']))
        out.append('')
    return '\n'.join(out)


def run_compare(dump, doc, facts):
    """compare() on an in-memory document, round-tripped through JSON text."""
    doc = json.loads(json.dumps(doc))
    ck = compare.compare(dump, doc, doc['go']['goroutines'], facts=facts, label='selftest',
                         now=facts['dump_time_unix'] + 1)
    return ck


def failed_checks(ck):
    return sorted(k for k, v in ck.counts.items() if v[1])


def test_real_dump(r, d):
    with open(os.path.join(d, 'facts.json')) as fh:
        facts = json.load(fh)
    with open(os.path.join(d, 'stack.txt')) as fh:
        text = fh.read()
    dump = compare.parse_dump(text)
    by = {g['id']: g for g in dump}
    roles = facts['roles']
    nhdr = sum(1 for ln in text.split('\n') if ln.startswith('goroutine '))
    r.check(len(dump) == nhdr, 'parsed %d goroutines, dump has %d headers' % (len(dump), nhdr))
    r.check(len(dump) == facts['num_goroutine_at_dump'],
            'dump has %d goroutines, NumGoroutine at dump %d' % (len(dump), facts['num_goroutine_at_dump']))
    r.check(all(gid in by for gid in roles.values()), 'every role goid is in the dump')
    dg = by.get(facts['dumper_goid'])
    r.check(dg is not None and dg['status_text'] == 'running', 'dumper is [running] in the dump')
    sp = by[roles['spawned']]['created_by']
    r.check(sp['function'] == 'main.spawner' and sp['goid'] in (None, roles['spawner']),
            'spawned created by spawner: %r' % sp)
    inl = by[roles['inlined_chain']]['frames']
    r.check([(f['function'], f['inlined']) for f in inl[:4]] ==
            [('main.inlC', True), ('main.inlB', True), ('main.inlA', True), ('main.inlinedRoot', False)],
            'inlined chain: %r' % [(f['function'], f['inlined']) for f in inl])
    r.check(by[roles['generic']]['frames'][-1]['function'] == 'main.genericWait[...]',
            'generic frame name: %r' % by[roles['generic']]['frames'][-1]['function'])
    r.check(by[roles['locked_thread']]['locked'], 'locked_thread goroutine is locked to thread')
    r.check(by[roles['chan_send']]['status_text'] == 'chan send', 'chan_send status')
    r.check(by[roles['nil_recv']]['status_text'] == 'chan receive (nil chan)', 'nil_recv status')
    r.check(by[roles['select_nocases']]['status_text'] == 'select (no cases)', 'select_nocases status')
    r.check(by[roles['pipe_read']]['status_text'] == 'IO wait', 'pipe_read status')
    r.check(by[roles['method_value']]['frames'][-1]['function'] == 'main.(*worker).run',
            'method value frame: %r' % by[roles['method_value']]['frames'][-1]['function'])
    r.check(by[facts['main']['goid']]['created_by'] is None, 'main has no creator')

    base = synth_json(dump, facts)
    ck = run_compare(dump, base, facts)
    p, f = ck.total()
    if not r.check(f == 0 and p > 10 * len(roles) // 2, 'unmutated synthesized JSON passes (%d passed, %d failed)' % (p, f)):
        for ln in ck.failures:
            print('   ', ln)

    def g_of(doc, gid):
        return next(g for g in doc['go']['goroutines'] if g['id'] == gid)

    mutations = []

    def mut(name, expect, fn):
        mutations.append((name, expect, fn))

    mut('frame line +1', ['frames'], lambda doc: g_of(doc, roles['chan_send'])['stack'][0].__setitem__(
        'line', g_of(doc, roles['chan_send'])['stack'][0]['line'] + 1))
    mut('frame function renamed', ['frames'], lambda doc: g_of(doc, roles['mutex_lock'])['stack'][-1].__setitem__(
        'function', 'main.somethingElse'))
    mut('inlined frame dropped', ['frames'], lambda doc: g_of(doc, roles['inlined_chain'])['stack'].pop(0))
    mut('inlined flag flipped', ['frames'], lambda doc: g_of(doc, roles['inlined_chain'])['stack'][1].__setitem__(
        'inlined', False))
    mut('file changed', ['frames'], lambda doc: g_of(doc, roles['sleep'])['stack'][-1].__setitem__(
        'file', '/elsewhere/main.go'))
    mut('offset changed', ['offsets'], lambda doc: g_of(doc, roles['chan_recv'])['stack'][0].__setitem__(
        'offset', (g_of(doc, roles['chan_recv'])['stack'][0]['offset'] or 0) + 1))
    mut('wait reason changed', ['status'], lambda doc: g_of(doc, roles['select2']).__setitem__(
        'wait_reason', 'chan receive'))
    mut('status runnable', ['status'], lambda doc: g_of(doc, roles['waitgroup_wait']).update(
        status='runnable', wait_reason=None))
    mut('minutes invented', ['minutes'], lambda doc: g_of(doc, roles['cond_wait']).__setitem__('wait_minutes', 2))
    mut('minutes zero instead of null', ['minutes'], lambda doc: g_of(doc, roles['cond_wait']).__setitem__(
        'wait_minutes', 0))
    mut('locked flag dropped', ['locked'], lambda doc: g_of(doc, roles['locked_thread']).__setitem__(
        'locked_to_thread', False))
    mut('created_by line', ['created'], lambda doc: g_of(doc, roles['closure'])['created_by'].__setitem__(
        'line', 1))
    mut('created_by goid', ['created'], lambda doc: g_of(doc, roles['spawned'])['created_by'].__setitem__(
        'goid', 99999))
    mut('created_by on busy loop', ['created'], lambda doc: g_of(doc, roles['busy1'])['created_by'].__setitem__(
        'function', 'main.other'))
    mut('goroutine missing', ['facts', 'presence'], lambda doc: doc['go']['goroutines'].remove(
        g_of(doc, roles['generic'])))
    mut('extra non-system goroutine', ['facts', 'system'], lambda doc: doc['go']['goroutines'].append(
        {'id': 424242, 'status': 'waiting', 'wait_reason': 'chan receive', 'system': False}))
    mut('dump goroutine marked system', ['facts', 'system'], lambda doc: g_of(doc, roles['nil_send']).__setitem__(
        'system', True))
    mut('dumper still listed', ['facts', 'presence'], lambda doc: doc['go']['goroutines'].append(
        {'id': facts['dumper_goid'], 'status': 'running', 'system': False}))
    mut('main in wrong state', ['facts'], lambda doc: g_of(doc, facts['main']['goid']).update(
        status='waiting', wait_reason='chan receive'))
    mut('go version', ['facts'], lambda doc: doc['target'].__setitem__('go_version', 'go1.0'))
    mut('busy loop stack differs (volatile: ignored)', [], lambda doc: g_of(doc, roles['busy2'])['stack'].clear())

    for name, expect, fn in mutations:
        doc = copy.deepcopy(base)
        fn(doc)
        ck = run_compare(dump, doc, facts)
        got = failed_checks(ck)
        r.check(got == sorted(expect), 'mutation %r: expected failing checks %r, got %r\n    %s'
                % (name, expect, got, '\n    '.join(ck.failures)))

    # The CLI path: files on disk, exit status and the summary line.
    with tempfile.TemporaryDirectory() as td:
        good = os.path.join(td, 'good.json')
        bad = os.path.join(td, 'bad.json')
        with open(good, 'w') as fh:
            json.dump(base, fh)
        doc = copy.deepcopy(base)
        g_of(doc, roles['chan_send'])['stack'][0]['line'] += 7
        with open(bad, 'w') as fh:
            json.dump(doc, fh)
        for path, rc_want in ((good, 0), (bad, 1)):
            out = subprocess.run([sys.executable, os.path.join(HERE, 'compare.py'), '--dump',
                                  os.path.join(d, 'stack.txt'), '--json', path, '--facts',
                                  os.path.join(d, 'facts.json'), '--label', 'cli',
                                  '--now', str(facts['dump_time_unix'] + 1)],
                                 stdout=subprocess.PIPE, text=True)
            last = out.stdout.strip().split('\n')[-1]
            r.check(out.returncode == rc_want and last.startswith('[cli] ') and 'passed' in last,
                    'compare.py CLI on %s: rc %d (want %d), last line %r'
                    % (os.path.basename(path), out.returncode, rc_want, last))
            if rc_want == 1:
                r.check('frame 0: line' in out.stdout, 'CLI diff names the frame and field:\n%s' % out.stdout)
        for name, docx, rc_want in (('good.txt', base, 0), ('bad.txt', doc, 1)):
            path = os.path.join(td, name)
            with open(path, 'w') as fh:
                fh.write(render_text(docx))
            out = subprocess.run([sys.executable, os.path.join(HERE, 'compare.py'), '--dump',
                                  os.path.join(d, 'stack.txt'), '--text', path, '--facts',
                                  os.path.join(d, 'facts.json'), '--label', 'text',
                                  '--now', str(facts['dump_time_unix'] + 1)],
                                 stdout=subprocess.PIPE, text=True)
            r.check(out.returncode == rc_want, 'compare.py --text on %s: rc %d (want %d)\n%s'
                    % (name, out.returncode, rc_want, out.stdout))
        errdoc = os.path.join(td, 'err.json')
        with open(errdoc, 'w') as fh:
            json.dump({'schema': 'tlinspect/1', 'error': {'code': 5, 'kind': 'not_go', 'message': 'x'}}, fh)
        out = subprocess.run([sys.executable, os.path.join(HERE, 'compare.py'), '--dump',
                              os.path.join(d, 'stack.txt'), '--json', errdoc],
                             stdout=subprocess.PIPE, text=True)
        r.check(out.returncode == 2, 'error document is rejected with rc 2 (got %d)' % out.returncode)

    # The pprof debug=2 dump has the same format and, apart from the dumper's
    # own stack and the volatile goroutines, the same content.
    pp = compare.parse_dump(open(os.path.join(d, 'pprof-debug2.txt')).read())
    r.check(sorted(g['id'] for g in pp) == sorted(by), 'pprof dump lists the same goroutine ids')
    ck = run_compare(pp, base, facts)
    r.check(not ck.failures, 'pprof debug=2 dump agrees with stack.txt:\n    %s' % '\n    '.join(ck.failures))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', help='directory with stack.txt, pprof-debug2.txt, facts.json')
    ap.add_argument('--go', help='go binary used to build the target')
    a = ap.parse_args()
    r = Result()
    test_sample(r)
    d = a.dir
    if d is None:
        go = a.go or find_go()
        if go is None:
            print('SKIP: no Go toolchain in /usr/lib/go-1.*: real-dump tests not run')
        else:
            d = os.path.join(ROOT, 'tests/out/selftest', os.path.basename(os.path.dirname(os.path.dirname(go))))
            os.makedirs(d, exist_ok=True)
            run_target(go, d)
    if d is not None:
        test_real_dump(r, d)
    print('%d passed, %d failed' % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == '__main__':
    sys.exit(main())
