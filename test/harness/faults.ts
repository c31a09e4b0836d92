/**
 * Fault injection for integration tests: kill a worker together with the rbd processes it started,
 * freeze it at an observed moment, pause or stop the OSD, stop and restart the Temporal dev server,
 * and read from the server what a workflow is doing and what it did.
 *
 * Every fault has an undo that is safe to call when the fault never happened (`restoreServices`),
 * so a failing case cannot leave a paused OSD or a stopped server to the cases after it.
 */
import { execa, type ResultPromise } from 'execa';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal as proto } from '@temporalio/proto';
import { ceph, cliPath, repo, sleep, temporal, type RunningWorker } from './env.js';

// ---------------------------------------------------------------- polling

/**
 * Polls `probe` until it returns something other than undefined/false. On timeout the error names
 * what was awaited and the last thing the probe said, so a hung case explains itself.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** `promise`, or a clear failure once `ms` have passed (the promise itself keeps running). */
export async function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not finish within ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- processes

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself hold spaces or parentheses.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

export function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  const st = procStat(pid);
  return !!st && st.state !== 'Z';
}

/** Every live process below `root`, children before grandchildren. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (!st || st.state === 'Z') continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(e));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface Frozen {
  /** The worker and every process it had started, all stopped. */
  pids: number[];
  /** argv of each frozen process below the worker, to show what was in flight. */
  children: { pid: number; argv: string[] }[];
}

/**
 * SIGSTOPs the worker first (so it starts nothing new), then everything below it: the moment just
 * observed stays the moment that is then killed, however fast the step would otherwise finish.
 */
export function freeze(worker: RunningWorker): Frozen {
  const root = worker.child.pid!;
  signal(root, 'SIGSTOP');
  const below = descendants(root);
  for (const p of below) signal(p, 'SIGSTOP');
  return { pids: [root, ...below], children: below.map((pid) => ({ pid, argv: argvOf(pid) })) };
}

export function thaw(f: Frozen): void {
  for (const p of [...f.pids].reverse()) signal(p, 'SIGCONT');
}

/**
 * A host crash as far as this worker is concerned: the worker and the rbd processes it started die
 * at once, without a chance to report anything to the server.
 */
export async function crash(worker: RunningWorker, frozen?: Frozen): Promise<void> {
  const root = worker.child.pid!;
  const pids = new Set([root, ...descendants(root), ...(frozen?.pids ?? [])]);
  for (const p of pids) signal(p, 'SIGKILL');
  await worker.child;
  await waitFor('the killed worker and its children to be gone', () => [...pids].every((p) => !alive(p)), 10_000, 20);
}

export interface Caught {
  pid: number;
  argv: string[];
  /** `output`: bytes in the child's output file when it was caught. */
  size?: number;
  /** `input`: how far the child had read its input file, and that file's size. */
  offset?: number;
  total?: number;
  /** What was stopped (SIGSTOP) at that moment. */
  stopped: number[];
}

export interface Catcher {
  /** Resolves once the moment came and the stop was made; rejects on timeout. */
  caught: Promise<Caught>;
  /** Undoes the stop (SIGCONT, or the OSD's pause); idempotent. */
  release(): void;
  /** Disarms the watcher and undoes any stop it made. */
  cancel(): Promise<void>;
}

const catcherPath = fileURLToPath(new URL('./catch-child.js', import.meta.url));

/**
 * Arms test/harness/catch-child.ts (a process of its own, so a busy test process cannot make it
 * late) on a child of `worker`: when its argv holds `words` (and ends in `last`) and the moment
 * `when` has come, it stops the OSD, the worker's whole tree, or just that child.
 */
export function catchChild(
  worker: RunningWorker,
  o: { words: string[]; last?: string; when: 'exec' | 'output' | 'input'; stop: 'osd' | 'tree' | 'child'; timeoutMs: number },
): Catcher {
  const spec = { root: worker.child.pid!, ...o, ...(o.stop === 'osd' ? { osd: osdPid() } : {}) };
  const child = execa(process.execPath, [catcherPath, JSON.stringify(spec)], { reject: false, stdin: 'ignore' });
  let got: Caught | undefined;
  let released = false;
  const caught = child.then((r) => {
    if (r.exitCode !== 0) throw new Error(`catching ${o.words.join(' ')} (${o.when}): ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
    got = JSON.parse(String(r.stdout)) as Caught;
    if (o.stop === 'osd') adoptOsdPause(got.stopped[0]!);
    return got;
  });
  const release = () => {
    if (!got || released) return;
    released = true;
    if (o.stop === 'osd') resumeOsd();
    else for (const p of [...got.stopped].reverse()) signal(p, 'SIGCONT');
  };
  return {
    caught,
    release,
    cancel: async () => {
      child.kill('SIGKILL');
      await caught.catch(() => undefined);
      release();
    },
  };
}

/** The frozen tree a `stop: 'tree'` catch made, for crash() and thaw(). */
export function frozenBy(c: Caught): Frozen {
  return { pids: c.stopped, children: c.stopped.slice(1).map((pid) => ({ pid, argv: argvOf(pid) })) };
}

// ---------------------------------------------------------------- the OSD

const osdPidFile = join(ceph.dir, 'run', 'osd.0.pid');
// Cases running side by side may pause the OSD at overlapping times: it runs again after the last resume.
let osdPauses = 0;
let osdPaused: number | undefined;

export function osdPid(): number {
  const pid = Number(readFileSync(osdPidFile, 'utf8').trim());
  if (!pid || !alive(pid)) throw new Error(`no live OSD (pid file ${osdPidFile})`);
  return pid;
}

/** SIGSTOP: every OSD operation of every client blocks until the matching `resumeOsd`. */
export function pauseOsd(): void {
  if (osdPauses++ === 0) {
    osdPaused = osdPid();
    signal(osdPaused, 'SIGSTOP');
  }
}

export function resumeOsd(): void {
  if (osdPauses === 0) return;
  if (--osdPauses === 0 && osdPaused !== undefined) {
    signal(osdPaused, 'SIGCONT');
    osdPaused = undefined;
  }
}

/** A pause made by another process (catch-child) now counts like one made here. */
function adoptOsdPause(pid: number): void {
  osdPauses++;
  osdPaused = pid;
  signal(pid, 'SIGSTOP');
}

/** Lets the OSD run whatever pauses are outstanding: the last resort of a failed case. */
export function forceResumeOsd(): void {
  osdPauses = 0;
  if (osdPaused !== undefined) signal(osdPaused, 'SIGCONT');
  osdPaused = undefined;
}

/**
 * An orderly OSD stop. Never SIGKILL: the memstore OSD saves its data only on a clean exit, and
 * `ceph-dev up` recreates an empty cluster after an unclean one.
 */
export async function stopOsd(): Promise<void> {
  const pid = osdPid();
  signal(pid, 'SIGTERM');
  await waitFor(`the OSD (pid ${pid}) to save its data and exit`, () => !alive(pid), 120_000, 100);
  if (existsSync(osdPidFile)) throw new Error(`the OSD left ${osdPidFile} behind: it did not stop cleanly`);
}

function serviceEnv(): NodeJS.ProcessEnv {
  // test-run.mjs passes the ports it brought the services up with; `up` refuses others.
  return { ...process.env };
}

/** Starts whatever of the cluster is not running, on its saved data, and waits until PGs are clean. */
export async function startCluster(): Promise<void> {
  await execa(join(repo, 'scripts', 'ceph-dev'), ['up', ceph.dir], { env: serviceEnv(), stdin: 'ignore', timeout: 180_000 });
}

// ---------------------------------------------------------------- the Temporal server

const temporalDir = dirname((JSON.parse(process.env.RBD_TEST_TEMPORAL ?? '{}') as { db?: string }).db ?? join(ceph.dir, '..', 'temporal', 'temporal.db'));

/** `temporal-dev down` without --wipe: the SQLite file keeps every workflow's state. */
export async function stopServer(): Promise<void> {
  await execa(join(repo, 'scripts', 'temporal-dev'), ['down', temporalDir], { env: serviceEnv(), stdin: 'ignore', timeout: 60_000 });
}

/** Same file, same port; `up` on a running server only re-checks it. */
export async function startServer(): Promise<void> {
  const r = await execa(join(repo, 'scripts', 'temporal-dev'), ['up', temporalDir], { env: serviceEnv(), stdin: 'ignore', timeout: 120_000 });
  const up = JSON.parse(r.stdout) as { address: string };
  if (up.address !== temporal.address) throw new Error(`server came back on ${up.address}, not ${temporal.address}`);
}

/** Undo every service-wide fault; cheap when nothing is wrong. */
export async function restoreServices(): Promise<void> {
  forceResumeOsd();
  let osdUp = false;
  try {
    osdPid();
    osdUp = true;
  } catch {
    osdUp = false;
  }
  if (!osdUp) await startCluster();
  await startServer();
}

// ---------------------------------------------------------------- the CLI as a child we can kill

export interface CliRun {
  child: ResultPromise<{ reject: false; stdin: 'ignore' }>;
  result: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Like env.ts's cli(), but the caller keeps the child, to abandon it when a case fails. */
export function spawnCli(...args: string[]): CliRun {
  const child = execa(process.execPath, [cliPath, ...args], { reject: false, stdin: 'ignore' });
  const result = child.then((r) => ({ code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) }));
  return { child, result };
}

// ---------------------------------------------------------------- the server's view

/** A fresh connection per call: it survives a server restart between calls. */
export async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: temporal.address, connectTimeout: 5000 });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

type Ts = { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined;
function tsMs(t: Ts): number | undefined {
  if (!t) return undefined;
  const s = typeof t.seconds === 'number' ? t.seconds : t.seconds ? t.seconds.toNumber() : 0;
  return s * 1000 + Math.round((t.nanos ?? 0) / 1e6);
}

export interface PendingActivity {
  activityId: string;
  type: string;
  /** SCHEDULED, STARTED, CANCEL_REQUESTED. */
  state: string;
  attempt: number;
  /** The last heartbeat's first argument, decoded. */
  details: unknown;
  lastStartedMs?: number;
  lastHeartbeatMs?: number;
}

const STATES: Record<number, string> = { 1: 'SCHEDULED', 2: 'STARTED', 3: 'CANCEL_REQUESTED' };

export async function describeWorkflow(workflowId: string, runId?: string) {
  return withClient(async (c) => {
    const d = await c.workflow.getHandle(workflowId, runId).describe();
    const pending: PendingActivity[] = (d.raw.pendingActivities ?? []).map((a: proto.api.workflow.v1.IPendingActivityInfo) => {
      const payload = a.heartbeatDetails?.payloads?.[0];
      const p: PendingActivity = {
        activityId: a.activityId ?? '',
        type: a.activityType?.name ?? '',
        state: STATES[a.state ?? 0] ?? String(a.state),
        attempt: a.attempt ?? 0,
        details: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      };
      const started = tsMs(a.lastStartedTime as Ts);
      const beat = tsMs(a.lastHeartbeatTime as Ts);
      if (started) p.lastStartedMs = started;
      if (beat) p.lastHeartbeatMs = beat;
      return p;
    });
    return { status: d.status.name, runId: d.runId, type: d.type, pending };
  });
}

/** Waits until `workflowId` has a started `type` activity that satisfies `ok`, and returns it. */
export async function waitForPending(workflowId: string, type: string, timeoutMs: number, ok: (a: PendingActivity) => boolean = () => true) {
  let seen = '';
  try {
    return await waitFor(
      `${type} to be in progress in ${workflowId}`,
      async () => {
        const d = await describeWorkflow(workflowId);
        seen = JSON.stringify(d.pending);
        const a = d.pending.find((x) => x.type === type && x.state === 'STARTED' && ok(x));
        return a ? { ...d, activity: a } : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; pending activities last seen: ${seen || 'none'}`);
  }
}

export interface ActivityRecord {
  type: string;
  activityId: string;
  /** Attempt of the ActivityTaskStarted event (the server writes it for the final attempt). */
  attempt?: number;
  completed: boolean;
  heartbeatTimeoutMs: number;
  startToCloseTimeoutMs: number;
  /** Identity of the worker that ran the recorded attempt. */
  identity?: string;
}

/** Every activity of one workflow run, in schedule order, from its history. */
export async function activityHistory(workflowId: string, runId?: string): Promise<ActivityRecord[]> {
  const history = await withClient((c) => c.workflow.getHandle(workflowId, runId).fetchHistory());
  const byScheduled = new Map<string, ActivityRecord>();
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      byScheduled.set(id, {
        type: s.activityType?.name ?? '',
        activityId: s.activityId ?? '',
        completed: false,
        heartbeatTimeoutMs: tsMs(s.heartbeatTimeout as Ts) ?? 0,
        startToCloseTimeoutMs: tsMs(s.startToCloseTimeout as Ts) ?? 0,
      });
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const r = byScheduled.get(String(st.scheduledEventId));
      if (r) {
        r.attempt = st.attempt ?? 1;
        if (st.identity) r.identity = st.identity;
      }
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const r = byScheduled.get(String(done.scheduledEventId));
      if (r) r.completed = true;
    }
  }
  return [...byScheduled.values()];
}

/**
 * Proof from the server that `type` ran again after the crash: its started event carries an
 * attempt above 1, or the workflow scheduled it a second time.
 */
export async function assertRetried(workflowId: string, runId: string, type: string): Promise<ActivityRecord[]> {
  const acts = (await activityHistory(workflowId, runId)).filter((a) => a.type === type);
  const retried = acts.some((a) => (a.attempt ?? 1) > 1) || acts.length > 1;
  if (!retried) throw new Error(`${workflowId}: ${type} was not retried after the crash: ${JSON.stringify(acts)}`);
  if (!acts.some((a) => a.completed)) throw new Error(`${workflowId}: ${type} never completed: ${JSON.stringify(acts)}`);
  return acts;
}

/**
 * The soonest the server can hand a step whose worker died to another worker: its heartbeat
 * timeout after the last heartbeat (or start), else its start-to-close timeout after the start.
 * Used to fail at once, with the reason, when no recovery within the bound is possible at all.
 */
export async function soonestRetryMs(workflowId: string, runId: string, pending: PendingActivity): Promise<{ at: number; why: string }> {
  const rec = (await activityHistory(workflowId, runId)).filter((a) => a.activityId === pending.activityId).at(-1);
  if (!rec) throw new Error(`no ActivityTaskScheduled event for ${pending.type} (${pending.activityId}) in ${workflowId}`);
  const started = pending.lastStartedMs ?? Date.now();
  const candidates: { at: number; why: string }[] = [];
  if (rec.heartbeatTimeoutMs > 0) {
    candidates.push({ at: (pending.lastHeartbeatMs ?? started) + rec.heartbeatTimeoutMs, why: `heartbeatTimeout ${rec.heartbeatTimeoutMs / 1000} s` });
  }
  if (rec.startToCloseTimeoutMs > 0) {
    const hb = rec.heartbeatTimeoutMs > 0 ? '' : ' (no heartbeatTimeout)';
    candidates.push({ at: started + rec.startToCloseTimeoutMs, why: `startToCloseTimeout ${rec.startToCloseTimeoutMs / 1000} s${hb}` });
  }
  if (!candidates.length) return { at: Number.POSITIVE_INFINITY, why: 'no timeout at all' };
  return candidates.sort((a, b) => a.at - b.at)[0]!;
}

/** Ends a workflow a failed case left running, so it cannot act later; quiet when it is not running. */
export async function terminateIfRunning(workflowId: string, reason = 'test case over'): Promise<void> {
  try {
    await withClient(async (c) => {
      const h = c.workflow.getHandle(workflowId);
      const d = await h.describe();
      if (d.status.name === 'RUNNING') await h.terminate(reason);
    });
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  }
}

// ---------------------------------------------------------------- files

/** Size of `file`, or undefined while it does not exist. */
export function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}
