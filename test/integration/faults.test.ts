/**
 * Faults in the middle of real runs, on the real cluster and dev server: a worker SIGKILLed during
 * each step (snapshot, full export, diff export, snapshot deletion, circle pruning, a restore's
 * import-diff), the Temporal server restarted, the OSD stopped, the destination filling up, and two
 * overlapping runs served by two workers. Each fault is injected at an observed moment (a pending
 * activity on the server, a growing partial file, an rbd child of the worker, its read offset),
 * the history must show the interrupted step ran again, and every case ends with the same
 * invariants (test/harness/invariants.ts).
 */
import { test, describe, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, openSync, writeSync, closeSync, rmSync, existsSync, readdirSync, statfsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cli, createImage, randomWrites, snapshotSha256, startWorker, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { assertInvariants, catalogOf, recordTruth, removeImage, snapshotsOf, tracked, type TrackedImage } from '../harness/invariants.js';
import {
  activityHistory,
  alive,
  assertRetried,
  crash,
  describeWorkflow,
  catchChild,
  freeze,
  frozenBy,
  restoreServices,
  sizeOf,
  soonestRetryMs,
  spawnCli,
  startCluster,
  startServer,
  stopOsd,
  stopServer,
  terminateIfRunning,
  waitFor,
  waitForPending,
  withClient,
  within,
  type Catcher,
  type CliRun,
  type PendingActivity,
} from '../harness/faults.js';
import { diffFileName, fullFileName } from '../../src/catalog/catalog.js';
import { imageWorkflowId, runWorkflowId, type BackupReport, type ImageResult } from '../../src/contract/backup.js';
import type { RestoreResult } from '../../src/contract/restore.js';

// Run names derive from --as-of and the suite shares one server: 2031 is this file's year, and each
// case has its own hour. 2031-01-05 and 2031-01-12 are Sundays (full days in WEEK).
const SUN = '2031-01-05';
const MON = '2031-01-06';
const TUE = '2031-01-07';
const SUN2 = '2031-01-12';
const at = (day: string, hhmm: string) => `${day}T${hhmm}:00.000Z`;
const nameOf = (iso: string) => iso.replace(/[-:]/g, '').replace('.000', '');
const snapOf = (iso: string) => `rbdbackup-${nameOf(iso)}`;
const WEEK = { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6] };

/**
 * From the kill to the finished run. A dead worker is noticed by the server through a timeout,
 * so this is the bound on that detection (plus the rest of the run): two and a half minutes.
 */
const RECOVERY_MS = 150_000;
const CASE_TIMEOUT = 420_000;

interface RunOutcome {
  code: number;
  report: BackupReport;
  stderr: string;
}

function parseRun(r: { code: number; stdout: string; stderr: string }): RunOutcome {
  assert.ok(r.stdout.trim().startsWith('{'), `run printed no JSON report (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as BackupReport, stderr: r.stderr };
}

const resultOf = (report: BackupReport, img: TrackedImage): ImageResult | undefined => report.images.find((i) => i.pool === img.pool && i.image === img.image);

/** One case's config, workers, images, CLI children and workflows, all undone by close(). */
class Scene {
  readonly cfg: TestConfig;
  readonly workers: RunningWorker[] = [];
  private readonly specs: string[] = [];
  private readonly clis: CliRun[] = [];
  private readonly workflows = new Set<string>();
  private readonly undo: (() => Promise<void>)[] = [];
  private readonly catchers: Catcher[] = [];

  private readonly t0 = Date.now();

  constructor(
    private readonly t: TestContext,
    name: string,
    backup: Record<string, unknown> = {},
  ) {
    this.cfg = writeConfig(name, { ...WEEK, ...backup });
  }

  /** A line in the test's output, stamped with the seconds since the case began. */
  note(msg: string): void {
    this.t.diagnostic(`+${((Date.now() - this.t0) / 1000).toFixed(1)} s ${msg}`);
  }

  async worker(): Promise<RunningWorker> {
    const w = await startWorker(this.cfg.file);
    this.workers.push(w);
    return w;
  }

  async image(name: string, mib: number, dataMib: number, pool = 'rbd'): Promise<TrackedImage> {
    await createImage(pool, name, mib, dataMib);
    this.specs.push(`${pool}/${name}`);
    return tracked(pool, name);
  }

  /** Removed at the end too (restore targets). */
  own(spec: string): void {
    this.specs.push(spec);
  }

  /** Armed before the step starts; disarmed (and its stop undone) by close() at the latest. */
  catch(w: RunningWorker, o: Parameters<typeof catchChild>[1]): Catcher {
    const c = catchChild(w, o);
    this.catchers.push(c);
    return c;
  }

  onClose(fn: () => Promise<void>): void {
    this.undo.push(fn);
  }

  start(asOf: string, ...images: TrackedImage[]): CliRun {
    return this.startWith([], asOf, ...images);
  }

  startWith(flags: string[], asOf: string, ...images: TrackedImage[]): CliRun {
    const run = spawnCli('run', ...images.map((i) => `${i.pool}/${i.image}`), '--config', this.cfg.file, '--as-of', asOf, '--json', ...flags);
    this.clis.push(run);
    this.workflows.add(runWorkflowId('ceph', nameOf(asOf)));
    for (const i of images) this.workflows.add(imageWorkflowId('ceph', i));
    return run;
  }

  restore(img: TrackedImage, point: string, to: string): CliRun {
    const r = spawnCli('restore', `${img.pool}/${img.image}`, '--at', point, '--to', to, '--config', this.cfg.file, '--json');
    this.clis.push(r);
    this.workflows.add(imageWorkflowId('ceph', img));
    this.own(to);
    return r;
  }

  /** A run that must succeed; the truth of every image it backed up is recorded right after. */
  async runOk(asOf: string, ...images: TrackedImage[]): Promise<BackupReport> {
    const { code, report, stderr } = parseRun(await this.start(asOf, ...images).result);
    assert.equal(code, 0, `run as of ${asOf}: ${stderr}\n${JSON.stringify(report.images, null, 1)}`);
    for (const i of images) await recordTruth(i, snapOf(asOf));
    return report;
  }

  async close(): Promise<void> {
    for (const c of this.catchers) await c.cancel();
    for (const c of this.clis) c.child.kill('SIGKILL');
    for (const id of this.workflows) await terminateIfRunning(id).catch(() => undefined);
    for (const w of this.workers) {
      if (!alive(w.child.pid!)) continue;
      try {
        await within('worker shutdown', w.stop(), 45_000);
      } catch {
        await crash(w);
      }
    }
    for (const fn of this.undo.reverse()) await fn().catch((e: Error) => console.error(`cleanup: ${e.message}`));
    for (const spec of this.specs) await removeImage(spec).catch(() => undefined);
    // Exports of hundreds of MiB per case: keep them only when asked to keep the test run.
    if (!process.env.RBD_TEST_KEEP) {
      try {
        rmSync(this.cfg.dir, { recursive: true, force: true });
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

/** Path of an export's partial file for attempt `attempt`. */
function partialOf(cfg: TestConfig, img: TrackedImage, circle: string, file: string, attempt = 1): string {
  return join(cfg.destination, 'ceph', img.pool, img.image, circle, `.${file}.partial-${attempt}`);
}

/**
 * Waits for the kill to become recoverable and for the run to finish. Fails at once, naming the
 * timeout, when the server's own timeouts make a retry within the bound impossible.
 */
async function recovered(what: CliRun, workflowId: string, runId: string, pending: PendingActivity, killedAt: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const soonest = await soonestRetryMs(workflowId, runId, pending);
  assert.ok(
    soonest.at <= killedAt + RECOVERY_MS,
    `${pending.type} of the killed worker can be handed to another worker only ${((soonest.at - killedAt) / 1000).toFixed(0)} s after the kill (${soonest.why}): beyond the ${RECOVERY_MS / 1000} s recovery bound`,
  );
  return within(`the ${pending.type} retry and the rest of ${workflowId}`, what.result, killedAt + RECOVERY_MS - Date.now());
}

/**
 * The catcher has paused the OSD under the step's rbd child, so the step cannot finish: once the
 * server shows it in progress, the worker dies there. The OSD runs again afterwards in any case.
 */
async function killWhileOsdPaused(catcher: Catcher, w: RunningWorker, workflowId: string, type: string) {
  try {
    await catcher.caught;
    const pending = await waitForPending(workflowId, type, 20_000, (a) => a.attempt === 1);
    await crash(w);
    return { pending, killedAt: Date.now() };
  } finally {
    catcher.release();
  }
}

/** Kill the worker while `rbd snap create` of the run's snapshot is blocked on a paused OSD. */
async function killDuringSnapshot(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-snap');
  try {
    const img = await s.image('fault-snap', 32, 8);
    let w = await s.worker();
    const [t0, t1] = [at(SUN, '01:00'), at(MON, '01:00')];
    await s.runOk(t0, img);
    await randomWrites('rbd/fault-snap', 1024);

    // The OSD is stopped (SIGSTOP) the moment `rbd snap create` has exec'd, so the step cannot
    // finish before the kill; the server then shows createSnapshot in progress.
    const catcher = s.catch(w, { words: ['snap', 'create'], last: `rbd/fault-snap@${snapOf(t1)}`, when: 'exec', stop: 'osd', timeoutMs: 60_000 });
    const run = s.start(t1, img);
    const wf = imageWorkflowId('ceph', img);
    const { pending, killedAt } = await killWhileOsdPaused(catcher, w, wf, 'createSnapshot');
    s.note(`killed during createSnapshot attempt ${pending.activity.attempt}`);
    w = await s.worker();
    const out = parseRun(await recovered(run, wf, pending.runId, pending.activity, killedAt));
    s.note('run finished');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(resultOf(out.report, img)?.type, 'incr');
    await assertRetried(wf, pending.runId, 'createSnapshot');
    await recordTruth(img, snapOf(t1));
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Kill the worker while `rbd export` is writing the partial file of a full. */
async function killDuringFullExport(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-full');
  try {
    const img = await s.image('fault-full', 256, 160);
    const w = await s.worker();
    const t0 = at(SUN, '02:00');
    const snap = snapOf(t0);
    const partial = partialOf(s.cfg, img, snap, fullFileName(snap));
    // The worker and its rbd are frozen the moment the partial file has grown, then killed.
    const catcher = s.catch(w, { words: ['export'], last: partial, when: 'output', stop: 'tree', timeoutMs: 90_000 });
    const run = s.start(t0, img);
    const caught = await catcher.caught;
    const frozen = frozenBy(caught);
    assert.ok(alive(caught.pid) && sizeOf(partial)! < 256 * 1024 * 1024, `frozen mid-stream (partial holds ${sizeOf(partial)} bytes)`);
    const wf = imageWorkflowId('ceph', img);
    const pending = await waitForPending(wf, 'exportPoint', 20_000, (a) => a.attempt === 1);
    const details = pending.activity.details as { phase?: string } | undefined;
    if (details) assert.equal(details.phase, 'export', 'the heartbeat says the export phase');
    await crash(w, frozen);
    const killedAt = Date.now();
    s.note(`killed during exportPoint attempt 1 with ${caught.size} bytes in the partial file; heartbeat ${JSON.stringify(details)}`);
    await s.worker();
    const out = parseRun(await recovered(run, wf, pending.runId, pending.activity, killedAt));
    s.note('run finished');
    assert.equal(out.code, 0, out.stderr);
    assert.equal(resultOf(out.report, img)?.type, 'full');
    await assertRetried(wf, pending.runId, 'exportPoint');
    await recordTruth(img, snap);
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Kill the worker while `rbd export-diff` is writing the partial file of an incremental. */
async function killDuringDiffExport(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-diff');
  try {
    const img = await s.image('fault-diff', 128, 64);
    let w = await s.worker();
    const [t0, t1] = [at(SUN, '03:00'), at(MON, '03:00')];
    await s.runOk(t0, img);
    await randomWrites('rbd/fault-diff', 8192);
    const partial = partialOf(s.cfg, img, snapOf(t0), diffFileName(snapOf(t1), snapOf(t0)));
    const catcher = s.catch(w, { words: ['export-diff'], last: partial, when: 'output', stop: 'tree', timeoutMs: 90_000 });
    const run = s.start(t1, img);
    const caught = await catcher.caught;
    const frozen = frozenBy(caught);
    assert.ok(alive(caught.pid) && sizeOf(partial) !== undefined, 'frozen with rbd export-diff still writing the partial diff');
    const wf = imageWorkflowId('ceph', img);
    const pending = await waitForPending(wf, 'exportPoint', 20_000, (a) => a.attempt === 1);
    const details = pending.activity.details as { phase?: string } | undefined;
    if (details) assert.equal(details.phase, 'export', 'the heartbeat says the export phase');
    await crash(w, frozen);
    const killedAt = Date.now();
    s.note(`killed during exportPoint attempt 1 with ${caught.size} bytes in the partial diff`);
    w = await s.worker();
    const out = parseRun(await recovered(run, wf, pending.runId, pending.activity, killedAt));
    s.note('run finished');
    assert.equal(out.code, 0, out.stderr);
    const r = resultOf(out.report, img);
    assert.equal(r?.type, 'incr');
    assert.equal(r?.fromSnapshot, snapOf(t0));
    await assertRetried(wf, pending.runId, 'exportPoint');
    await recordTruth(img, snapOf(t1));
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Kill the worker while retention's `rbd snap rm` of the previous snapshot is blocked on a paused OSD. */
async function killDuringSnapshotDeletion(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-snaprm', { snapshot_retain_count: 1 });
  try {
    const img = await s.image('fault-snaprm', 32, 8);
    let w = await s.worker();
    const [t0, t1] = [at(SUN, '04:00'), at(MON, '04:00')];
    await s.runOk(t0, img);
    await randomWrites('rbd/fault-snaprm', 1024);
    const catcher = s.catch(w, { words: ['snap', 'rm'], last: `rbd/fault-snaprm@${snapOf(t0)}`, when: 'exec', stop: 'osd', timeoutMs: 60_000 });
    const run = s.start(t1, img);
    const wf = imageWorkflowId('ceph', img);
    const { pending, killedAt } = await killWhileOsdPaused(catcher, w, wf, 'pruneSnapshots');
    s.note(`killed during pruneSnapshots attempt 1; heartbeat ${JSON.stringify(pending.activity.details)}`);
    // t1's export is catalogued by now and retention keeps the base: its truth can be read.
    await recordTruth(img, snapOf(t1));
    w = await s.worker();
    const out = parseRun(await recovered(run, wf, pending.runId, pending.activity, killedAt));
    s.note('run finished');
    assert.equal(out.code, 0, `${out.stderr}\n${JSON.stringify(out.report.images)}`);
    assert.deepEqual(resultOf(out.report, img)?.cleanupErrors ?? [], []);
    await assertRetried(wf, pending.runId, 'pruneSnapshots');
    assert.deepEqual(await snapshotsOf('rbd/fault-snaprm'), [snapOf(t1)], 'the retried retention removed the old snapshot and kept the base');
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Kill the worker after pruning removed an old circle's catalog entry, before its files are gone. */
async function killDuringCirclePruning(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-prune', { snapshot_retain_count: 1, circle_retain_count: 1 });
  try {
    const img = await s.image('fault-prune', 16, 4);
    let w = await s.worker();
    const [t0, t1] = [at(SUN, '05:00'), at(SUN2, '05:00')];
    await s.runOk(t0, img);
    await randomWrites('rbd/fault-prune', 512);
    // A real circle's files take a while to delete; on a fast disk many files make that window
    // observable. The catalog entry goes first, so the kill lands between entry and files.
    const oldCircle = join(s.cfg.destination, 'ceph', 'rbd', 'fault-prune', snapOf(t0));
    // Written asynchronously: cases run side by side on one event loop.
    for (let i = 0; i < 20_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => writeFile(join(oldCircle, `bulk-${i + k}`), '')));
    }
    const run = s.start(t1, img);
    await waitFor(
      'the old circle to leave the catalog while its directory is still being removed',
      () => {
        try {
          return !catalogOf(s.cfg, 'rbd', 'fault-prune').circles.some((c) => c.name === snapOf(t0)) && existsSync(oldCircle);
        } catch {
          return false; // no catalog yet
        }
      },
      120_000,
      5,
    );
    const frozen = freeze(w);
    const left = existsSync(oldCircle) ? readdirSync(oldCircle).length : 0;
    assert.ok(left > 0, 'frozen with the old circle half removed');
    const wf = imageWorkflowId('ceph', img);
    const pending = await waitForPending(wf, 'pruneCircles', 20_000, (a) => a.attempt === 1);
    await crash(w, frozen);
    const killedAt = Date.now();
    s.note(`killed during pruneCircles attempt 1 with ${left} files of the pruned circle left`);
    await recordTruth(img, snapOf(t1));
    w = await s.worker();
    const out = parseRun(await recovered(run, wf, pending.runId, pending.activity, killedAt));
    s.note('run finished');
    assert.equal(out.code, 0, out.stderr);
    await assertRetried(wf, pending.runId, 'pruneCircles');
    assert.deepEqual(catalogOf(s.cfg, 'rbd', 'fault-prune').circles.map((c) => c.name), [snapOf(t1)]);
    assert.equal(existsSync(oldCircle), false, 'the retry removed what the killed prune left');
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Kill the worker once `rbd import-diff` of a restore has read part of its diff file. */
async function killDuringImportDiff(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-importdiff', { snapshot_retain_count: 1 });
  try {
    const img = await s.image('fault-importdiff', 64, 16);
    let w = await s.worker();
    const days = [at(SUN, '06:00'), at(MON, '06:00'), at(TUE, '06:00')];
    for (const [i, d] of days.entries()) {
      if (i > 0) await randomWrites('rbd/fault-importdiff', 4096);
      await s.runOk(d, img);
    }
    const target = 'rbd/fault-importdiff-restored';
    // Once rbd has read part of a diff, the image is half-way between two snapshots. A restore
    // builds it under a staging name that starts with the target's, renamed at the end.
    const catcher = s.catch(w, { words: ['import-diff'], last: target, when: 'input', stop: 'tree', timeoutMs: 120_000 });
    const restore = s.restore(img, snapOf(days[2]!), target);
    const caught = await catcher.caught;
    const frozen = frozenBy(caught);
    assert.ok(alive(caught.pid), 'frozen with rbd import-diff part-way through its diff');
    const wf = imageWorkflowId('ceph', img);
    const pending = await waitForPending(wf, 'applyDiff', 20_000, (a) => a.attempt === 1);
    const details = pending.activity.details as { step?: string } | undefined;
    if (details) assert.equal(details.step, 'import-diff', 'the heartbeat says import-diff');
    await crash(w, frozen);
    const killedAt = Date.now();
    s.note(`killed during applyDiff attempt 1 at offset ${caught.offset} of ${caught.total} in ${caught.argv.at(-2)!.split('/').at(-1)}`);
    w = await s.worker();
    const r = await recovered(restore, wf, pending.runId, pending.activity, killedAt);
    s.note('restore finished');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as RestoreResult).target.image, 'fault-importdiff-restored');
    assert.equal(await snapshotSha256(target), img.truth.get(snapOf(days[2]!)), 'the restore is bit-exact after the crash');
    assert.deepEqual(await snapshotsOf(target), [], 'no intermediate snapshot left on the target');
    await assertRetried(wf, pending.runId, 'applyDiff');
    await removeImage(target);
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Stop and restart the dev server (same SQLite file, same port) while the export runs. */
async function serverRestart(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-server');
  try {
    const img = await s.image('fault-server', 256, 160);
    const w = await s.worker();
    const t0 = at(SUN, '07:00');
    const snap = snapOf(t0);
    const partial = partialOf(s.cfg, img, snap, fullFileName(snap));
    // --no-wait: the CLI's connection would not survive the restart; the workflow must. rbd is held
    // while the server goes down, so the export is surely mid-stream then; it finishes while the
    // server is away, and its completion must still reach the workflow.
    const catcher = s.catch(w, { words: ['export'], last: partial, when: 'output', stop: 'child', timeoutMs: 90_000 });
    const started = await s.startWith(['--no-wait'], t0, img).result;
    assert.equal(started.code, 0, started.stderr);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    assert.equal(workflowId, runWorkflowId('ceph', nameOf(t0)));
    await catcher.caught;
    const final = join(s.cfg.destination, 'ceph', 'rbd', 'fault-server', snap, fullFileName(snap));
    try {
      try {
        await stopServer();
      } finally {
        catcher.release();
      }
      s.note(`server stopped with ${sizeOf(partial) ?? 'no'} bytes in the partial file`);
      await waitFor('the export to finish while the server is down', () => existsSync(final), 90_000, 20);
      s.note('export finished with the server down');
    } finally {
      await startServer();
    }
    s.note('server restarted');
    const status = await waitFor(
      `${workflowId} to close after the restart`,
      async () => {
        const d = await describeWorkflow(workflowId);
        return d.status === 'RUNNING' ? undefined : d.status;
      },
      RECOVERY_MS,
      1000,
    );
    s.note(`run ${status}`);
    assert.equal(status, 'COMPLETED');
    const report = (await withClient((c) => c.workflow.getHandle(workflowId).result())) as BackupReport;
    assert.equal(report.status, 'ok', JSON.stringify(report.images));
    assert.ok(alive(w.child.pid!), 'the worker rode out the restart');
    const exports = (await activityHistory(imageWorkflowId('ceph', img))).filter((a) => a.type === 'exportPoint');
    assert.ok(exports.some((a) => a.completed), `the export completed: ${JSON.stringify(exports)}`);
    s.note(`exportPoint attempts: ${exports.map((a) => a.attempt).join(', ')}`);
    await recordTruth(img, snap);
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Stop the OSD (cleanly: memstore) while the export runs, then start it again. */
async function osdRestart(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-osd');
  try {
    const img = await s.image('fault-osd', 256, 160);
    const w = await s.worker();
    const t0 = at(SUN, '08:00');
    const snap = snapOf(t0);
    const partial = partialOf(s.cfg, img, snap, fullFileName(snap));
    // rbd is held while the OSD stops, so the export is surely mid-stream when the OSD goes away.
    const catcher = s.catch(w, { words: ['export'], last: partial, when: 'output', stop: 'child', timeoutMs: 90_000 });
    const run = s.start(t0, img);
    await catcher.caught;
    const stoppedAt = Date.now();
    try {
      try {
        await stopOsd();
      } finally {
        catcher.release();
      }
      s.note(`OSD stopped with ${sizeOf(partial) ?? 'no'} bytes in the partial file`);
    } finally {
      await startCluster();
    }
    s.note('OSD started again');
    // Each rbd call waits for the OSD at most cluster.op_timeout_seconds; after that the export
    // fails and is retried, so either way the run completes.
    const out = parseRun(await within('the run after the OSD came back', run.result, stoppedAt + RECOVERY_MS - Date.now()));
    s.note('run finished');
    assert.equal(out.code, 0, `${out.stderr}\n${JSON.stringify(out.report.images)}`);
    assert.equal(resultOf(out.report, img)?.type, 'full');
    const exports = (await activityHistory(imageWorkflowId('ceph', img))).filter((a) => a.type === 'exportPoint');
    s.note(`exportPoint attempts: ${exports.map((a) => a.attempt).join(', ')}`);
    await recordTruth(img, snap);
    await assertInvariants(s.cfg, [img]);
  } finally {
    await s.close();
  }
}

/** Fill a small tmpfs destination while a diff is being exported, then free it and go on. */
async function destinationFull(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-enospc', { snapshot_retain_count: 1 });
  mkdirSync(s.cfg.destination, { recursive: true });
  await execa('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', s.cfg.destination]);
  s.onClose(async () => {
    const r = await execa('umount', [s.cfg.destination], { reject: false });
    if (r.exitCode !== 0) await execa('umount', ['-l', s.cfg.destination]);
  });
  const filler = join(s.cfg.destination, 'filler');
  try {
    const img = await s.image('fault-enospc', 64, 24);
    const w = await s.worker();
    const [t0, t1, t2] = [at(SUN, '09:00'), at(MON, '09:00'), at(TUE, '09:00')];
    await s.runOk(t0, img);
    await randomWrites('rbd/fault-enospc', 16384);

    const partial = partialOf(s.cfg, img, snapOf(t0), diffFileName(snapOf(t1), snapOf(t0)));
    // Frozen while the disk is filled, so the export is surely still writing when space runs out;
    // a little room stays for the catalog and the report.
    const catcher = s.catch(w, { words: ['export-diff'], last: partial, when: 'output', stop: 'tree', timeoutMs: 90_000 });
    const run = s.start(t1, img);
    const size = (await catcher.caught).size;
    try {
      const st = statfsSync(s.cfg.destination);
      let left = Number(st.bavail) * Number(st.bsize) - 256 * 1024;
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(1024 * 1024);
      while (left > 0) left -= writeSync(fd, chunk, 0, Math.min(chunk.length, left));
      closeSync(fd);
    } finally {
      catcher.release();
    }
    s.note(`destination filled with ${size} bytes in the partial diff`);
    const failed = parseRun(await within('the run on a full disk', run.result, 120_000));
    s.note('run finished');
    assert.equal(failed.code, 1, 'a failed image makes the run exit 1');
    const r = resultOf(failed.report, img)!;
    assert.equal(r.status, 'failed');
    assert.match(`${r.error?.message}\n${r.error?.stderr}`, /No space left|ENOSPC/, 'the report names the full disk');
    assert.deepEqual(catalogOf(s.cfg, 'rbd', 'fault-enospc').circles.flatMap((c) => c.points.map((p) => p.snapshot)), [snapOf(t0)], 'no point for the failed export');
    assert.deepEqual(await snapshotsOf('rbd/fault-enospc'), [snapOf(t0)], 'the failed snapshot is gone, the base stays');
    const leftovers = readdirSync(join(s.cfg.destination, 'ceph', 'rbd', 'fault-enospc', snapOf(t0))).filter((f) => f.startsWith('.'));
    assert.deepEqual(leftovers, [], 'nothing half-written remains');
    const v = await cli('verify', 'rbd/fault-enospc', '--config', s.cfg.file);
    assert.equal(v.code, 0, `the previous chain is intact on the full disk: ${v.stdout}${v.stderr}`);

    rmSync(filler);
    const next = await s.runOk(t2, img);
    assert.equal(resultOf(next, img)?.type, 'incr');
    assert.equal(resultOf(next, img)?.fromSnapshot, snapOf(t0), 'the chain continues from the last good point');
    await assertInvariants(s.cfg, [img]);
  } finally {
    rmSync(filler, { force: true });
    await s.close();
  }
}

/** Two runs sharing an image, started together, served by two workers polling one task queue. */
async function overlappingRuns(t: TestContext): Promise<void> {
  const s = new Scene(t, 'fault-overlap', { snapshot_retain_count: 1 });
  try {
    const [a, b, c] = await Promise.all([s.image('fault-overlap-a', 16, 4), s.image('fault-overlap-b', 16, 4), s.image('fault-overlap-c', 16, 4)]);
    await Promise.all([s.worker(), s.worker()]);
    const identities = new Set<string>();
    for (const [round, day] of [SUN, MON].entries()) {
      if (round > 0) await Promise.all([a, b, c].map((i) => randomWrites(`${i.pool}/${i.image}`, 512)));
      // Nothing writes the images during the round: every point it makes holds today's head.
      const head = new Map<TrackedImage, string>();
      for (const i of [a, b, c]) head.set(i, await snapshotSha256(`${i.pool}/${i.image}`));
      const runs = [
        { asOf: at(day, '10:00'), images: [a, b] },
        { asOf: at(day, '10:30'), images: [b, c] },
      ];
      const outs = (await Promise.all(runs.map((r) => s.start(r.asOf, ...r.images).result))).map(parseRun);
      for (const [k, r] of runs.entries()) {
        const { code, report } = outs[k]!;
        const name = nameOf(r.asOf);
        for (const i of r.images) {
          const res = resultOf(report, i)!;
          const points = catalogOf(s.cfg, i.pool, i.image).circles.flatMap((x) => x.points).filter((p) => p.backupName === name);
          // The image's mutex lets one run at a time work on it; the other is refused (busy) or,
          // if its plan went stale meanwhile, fails that image rather than extend the wrong chain.
          if (res.status === 'ok') {
            assert.equal(points.length, 1, `${i.image} backed up once by run ${name}`);
            i.truth.set(res.snapshot!, head.get(i)!);
          } else {
            assert.ok(res.status === 'busy' || (res.status === 'failed' && /stale/.test(res.error?.message ?? '')), `${i.image} in run ${name}: ${JSON.stringify(res)}`);
            assert.equal(points.length, 0, `${i.image}: no point for run ${name}, which did not back it up`);
            assert.ok(!(await snapshotsOf(`${i.pool}/${i.image}`)).includes(snapOf(r.asOf)), `${i.image}: no snapshot left by run ${name}`);
          }
        }
        assert.equal(code, report.images.every((x) => x.status === 'ok') ? 0 : 1, `exit code of run ${name}`);
        for (const act of await activityHistory(runWorkflowId('ceph', name))) if (act.identity) identities.add(act.identity);
      }
      assert.equal(resultOf(outs[0]!.report, a)?.status, 'ok', 'an image in one run only is backed up');
      assert.equal(resultOf(outs[1]!.report, c)?.status, 'ok', 'an image in one run only is backed up');
      const shared = outs.map((o) => resultOf(o.report, b)!);
      assert.ok(shared.some((x) => x.status === 'ok'), 'the shared image is backed up by at least one of the runs');
      s.note(`round ${round}: shared image ${shared.map((x) => `${x.status}${x.type ? ` ${x.type}` : ''}`).join(' / ')}`);
    }
    s.note(`run activities ran on ${identities.size} worker(s)`);
    await assertInvariants(s.cfg, [a, b, c]);
  } finally {
    await s.close();
  }
}

after(async () => {
  // Whatever a failed case left behind, the next test file gets a running OSD and server.
  await restoreServices();
});

// Each case has its own worker, task queue, images and destination, so these run side by side: most
// of their time is the server waiting out a dead worker's heartbeat timeout. (1 and 4 pause the
// shared OSD, but only for the instant between catching rbd and the kill.) The longest goes first.
describe('a worker killed in the middle of each step; a full disk; overlapping runs', { concurrency: 4 }, () => {
  test('4. worker SIGKILLed while a snapshot is being deleted', { timeout: CASE_TIMEOUT }, killDuringSnapshotDeletion);
  test('6. worker SIGKILLed during a restore\'s import-diff', { timeout: CASE_TIMEOUT }, killDuringImportDiff);
  test('3. worker SIGKILLed in the middle of a diff export', { timeout: CASE_TIMEOUT }, killDuringDiffExport);
  test('2. worker SIGKILLed in the middle of a full export', { timeout: CASE_TIMEOUT }, killDuringFullExport);
  test('10. two overlapping runs at once, two workers on one task queue', { timeout: CASE_TIMEOUT }, overlappingRuns);
  test('9. the destination fills up in the middle of a diff export', { timeout: CASE_TIMEOUT }, destinationFull);
  test('1. worker SIGKILLed while the snapshot is being taken', { timeout: CASE_TIMEOUT }, killDuringSnapshot);
  test('5. worker SIGKILLed while an old circle is being pruned', { timeout: CASE_TIMEOUT }, killDuringCirclePruning);
});

// The server and the OSD are shared by everything: these run alone.
describe('the Temporal server or the OSD goes away in the middle of a run', () => {
  test('7. the Temporal server stopped and restarted in the middle of a run', { timeout: CASE_TIMEOUT }, serverRestart);
  test('8. the OSD stopped in the middle of an export and started again', { timeout: CASE_TIMEOUT }, osdRestart);
});
