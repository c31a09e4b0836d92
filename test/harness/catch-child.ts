/**
 * Catches a short-lived child of a worker at an exact moment and stops something right then. It
 * runs as a process of its own, polling /proc every millisecond, so a test process busy with other
 * cases (one event loop for all of them) can never make it late. Started by faults.ts catchChild().
 *
 *   node catch-child.js '{"root":PID,"words":["snap","create"],"last":"rbd/x@s","when":"exec","stop":"osd","osd":PID,"timeoutMs":60000}'
 *
 * when: exec    as soon as a child of ROOT has exec'd with argv holding every word (and its last argument starting with `last`)
 *       output  … and the file named by its last argument has grown past 0 bytes (an export under way)
 *       input   … and it has read part, not all, of the file named by its second-to-last argument
 * stop: osd     SIGSTOP the OSD      tree   SIGSTOP ROOT, then everything below it      child   SIGSTOP the child
 * Prints one JSON line {pid, argv, size?, offset?, total?, stopped} and exits 0; exits 3 on timeout.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';

interface Spec {
  root: number;
  words: string[];
  last?: string;
  when: 'exec' | 'output' | 'input';
  stop: 'osd' | 'tree' | 'child';
  osd?: number;
  timeoutMs: number;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const deadline = Date.now() + spec.timeoutMs;

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}
const alive = (pid: number) => {
  const s = stat(pid);
  return !!s && s.state !== 'Z';
};
function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
function readOffset(pid: number, file: string): number {
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 0;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== file) continue;
      const m = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return 0;
}
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (!st || st.state === 'Z') continue;
    children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(e)]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) for (const c of children.get(queue.shift()!) ?? []) out.push(c), queue.push(c);
  return out;
}

/** What the moment looks like when it has come, or undefined while it has not. */
function moment(pid: number, argv: string[]): Record<string, number> | undefined {
  if (spec.when === 'exec') return {};
  if (spec.when === 'output') {
    const size = sizeOf(argv.at(-1)!);
    return size > 0 ? { size } : undefined;
  }
  let file: string;
  try {
    file = realpathSync(argv.at(-2)!);
  } catch {
    return undefined;
  }
  const total = sizeOf(file);
  const offset = readOffset(pid, file);
  return offset > 0 && offset < total ? { offset, total } : undefined;
}

const rootArgv = argvOf(spec.root).join('\0');
const settled = new Set<number>();
const candidates = new Map<number, string[]>();
const tick = new Int32Array(new SharedArrayBuffer(4));

for (;;) {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (settled.has(pid) || candidates.has(pid)) continue;
    const st = stat(pid);
    if (!st) continue;
    if (st.ppid !== spec.root) {
      settled.add(pid);
      continue;
    }
    const argv = argvOf(pid);
    // Forked but not yet exec'd: it still shows the worker's own command line.
    if (argv.join('\0') === rootArgv || argv.length === 0) continue;
    const match = spec.words.every((w) => argv.includes(w)) && (spec.last === undefined || (argv.at(-1) ?? '').startsWith(spec.last));
    if (match) candidates.set(pid, argv);
    else settled.add(pid);
  }
  for (const [pid, argv] of candidates) {
    if (!alive(pid)) {
      candidates.delete(pid);
      settled.add(pid);
      continue;
    }
    const m = moment(pid, argv);
    if (!m) continue;
    let stopped: number[];
    if (spec.stop === 'osd') stopped = [spec.osd!];
    else if (spec.stop === 'child') stopped = [pid];
    else {
      process.kill(spec.root, 'SIGSTOP');
      stopped = [spec.root, ...descendants(spec.root)];
    }
    for (const p of stopped) {
      try {
        process.kill(p, 'SIGSTOP');
      } catch {
        // gone
      }
    }
    process.stdout.write(JSON.stringify({ pid, argv, ...m, stopped }) + '\n');
    process.exit(0);
  }
  if (Date.now() > deadline) {
    process.stderr.write(`no child of ${spec.root} with ${spec.words.join(' ')}${spec.last ? ` … ${spec.last}` : ''} reached "${spec.when}" within ${spec.timeoutMs} ms\n`);
    process.exit(3);
  }
  Atomics.wait(tick, 0, 0, 1);
}
