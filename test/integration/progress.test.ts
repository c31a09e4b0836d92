/**
 * Watching and cancelling a real run through the CLI, with a worker process, on the real cluster
 * and dev server: `status` during a long export shows its bytes growing, and `cancel` mid-export
 * (observed from the export's heartbeat details, never after a sleep) ends the run cancelled with
 * no partial file, no snapshot of that run, the finished image's point kept, and a next run that
 * continues from the last good point.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, createImage, rbd, startWorker, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { catalogOf, removeImage, snapshotsOf } from '../harness/invariants.js';
import { describeWorkflow, terminateIfRunning, waitFor, waitForPending } from '../harness/faults.js';
import { imageWorkflowId, runWorkflowId, type BackupReport } from '../../src/contract/backup.js';
import type { RunStatus } from '../../src/client/progress.js';

// Run names derive from --as-of and the suite shares one server: 2032 is this file's year.
// 2032-01-04 and 2032-01-11 are Sundays (full days), 2032-01-12 a Monday.
const SUN = '2032-01-04T01:00:00.000Z';
const SUN2 = '2032-01-11T01:00:00.000Z';
const MON2 = '2032-01-12T01:00:00.000Z';
const nameOf = (iso: string) => iso.replace(/[-:]/g, '').replace('.000', '');
const snapOf = (iso: string) => `rbdbackup-${nameOf(iso)}`;
const WEEK = { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6] };

const BIG = 'rbd/progress-big';
const SMALL = 'rbd/progress-small';
/** Bytes per second librbd lets the big image's export read: its export lasts about 16 s. */
const QOS = 16 * 1024 * 1024;

let cfg: TestConfig;
let worker: RunningWorker | undefined;
const runs: string[] = [];

async function status(...args: string[]): Promise<RunStatus> {
  const r = await cli('status', ...args, '--config', cfg.file, '--json');
  assert.equal(r.code, 0, `status exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as RunStatus;
}

const imageIn = (s: RunStatus, spec: string) => s.images.find((i) => `${i.pool}/${i.image}` === spec);

/** The export of `spec` in `backupName`'s run has reported written bytes: it is really running. */
async function exportObserved(spec: string): Promise<number> {
  const [pool, image] = spec.split('/') as [string, string];
  const p = await waitForPending(imageWorkflowId('ceph', { pool, image }), 'exportPoint', 60_000, (a) => ((a.details as { written?: number } | undefined)?.written ?? 0) > 0);
  return (p.activity.details as { written: number }).written;
}

function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (/\.partial(-\d+)?$/.test(e.name)) out.push(p);
    if (e.isDirectory()) out.push(...leftovers(p));
  }
  return out;
}

before(async () => {
  cfg = writeConfig('progress', WEEK);
  await Promise.all([createImage('rbd', 'progress-big', 256, 256), createImage('rbd', 'progress-small', 16, 4)]);
  // Throttled by librbd itself, so the export is long enough to be watched on any machine.
  await rbd('config', 'image', 'set', BIG, 'rbd_qos_read_bps_limit', String(QOS));
  worker = await startWorker(cfg.file);
});

after(async () => {
  for (const r of runs) await terminateIfRunning(r);
  await worker?.stop();
  for (const spec of [BIG, SMALL]) await removeImage(spec).catch(() => undefined);
});

test('status during a long export shows its bytes growing; the run then completes', { timeout: 300_000 }, async () => {
  const name = nameOf(SUN);
  const wf = runWorkflowId('ceph', name);
  runs.push(wf);
  const start = await cli('run', BIG, SMALL, '--as-of', SUN, '--no-wait', '--config', cfg.file);
  assert.equal(start.code, 0, start.stderr);

  const first = await exportObserved(BIG);
  const s1 = await status(name);
  assert.equal(s1.status, 'RUNNING');
  const b1 = imageIn(s1, BIG);
  assert.equal(b1?.phase, 'exporting', JSON.stringify(b1));
  assert.ok((b1?.bytesDone ?? 0) >= first, `status shows at least the observed ${first} bytes: ${JSON.stringify(b1)}`);
  assert.equal(b1?.bytesExpected, 256 * 1024 * 1024);
  // The newest run is the default.
  assert.equal((await status()).workflowId, wf);

  // The next heartbeat (every 2 s) carries more bytes; the export itself lasts about 16 s.
  const s2 = await waitFor(
    'status to show more bytes',
    async () => {
      const s = await status(name);
      const b = imageIn(s, BIG);
      return b?.phase === 'exporting' && (b.bytesDone ?? 0) > (b1?.bytesDone ?? 0) ? s : undefined;
    },
    30_000,
    500,
  );
  assert.ok(s2.totals.bytesDone > s1.totals.bytesDone, 'the run total grows too');
  assert.ok(s2.totals.bytesExpected >= 256 * 1024 * 1024);

  const human = await cli('status', name, '--config', cfg.file);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /progress-big +(exporting|deleting snapshots|pruning|done)/);
  assert.match(human.stdout, /^total: 2 image\(s\)/m);

  // --watch ends by itself when the run closes; off a terminal it appends each refresh.
  const watched = await cli('status', name, '--watch', '--config', cfg.file);
  assert.equal(watched.code, 0, watched.stderr);
  assert.match(watched.stdout, /: completed\n/);

  const report = JSON.parse((await cli('run', BIG, SMALL, '--as-of', SUN, '--json', '--config', cfg.file)).stdout) as BackupReport;
  assert.equal(report.status, 'ok');
  const end = await status(name);
  assert.equal(end.status, 'COMPLETED');
  assert.deepEqual(end.totals.byPhase, { done: 2 });
});

test('cancel mid-export: the run ends cancelled, no partial file, no snapshot of it, the finished image keeps its point, the next run continues', { timeout: 300_000 }, async () => {
  const name = nameOf(SUN2);
  const wf = runWorkflowId('ceph', name);
  runs.push(wf);
  const start = await cli('run', BIG, SMALL, '--as-of', SUN2, '--no-wait', '--config', cfg.file);
  assert.equal(start.code, 0, start.stderr);

  await exportObserved(BIG);
  // The small image finishes while the big one is still being read.
  await waitFor('the small image to be done', async () => (imageIn(await status(name), SMALL)?.phase === 'done' ? true : undefined), 60_000, 500);
  assert.equal(imageIn(await status(name), BIG)?.phase, 'exporting');

  const c = await cli('cancel', name, '--json', '--config', cfg.file);
  assert.equal(c.code, 0, `cancel exit ${c.code}: ${c.stderr}`);
  assert.equal(c.stderr.trim(), '', 'nothing on stderr (logs go to the worker)');
  const out = JSON.parse(c.stdout) as { status: string; cancelled: string[]; finished: string[]; reportFile: string | null };
  assert.equal(out.status, 'cancelled');
  assert.deepEqual(out.cancelled, [BIG]);
  assert.deepEqual(out.finished, [SMALL]);
  assert.ok(out.reportFile && existsSync(out.reportFile), `the report was written: ${out.reportFile}`);
  const report = JSON.parse(readFileSync(out.reportFile, 'utf8')) as BackupReport;
  assert.equal(report.status, 'cancelled');
  assert.equal(report.images.find((i) => i.image === 'progress-big')?.status, 'cancelled');

  assert.equal((await describeWorkflow(wf)).status, 'CANCELLED');
  assert.deepEqual(leftovers(cfg.destination), [], 'no partial file in the destination');
  assert.ok(!(await snapshotsOf(BIG)).includes(snapOf(SUN2)), 'no snapshot of the cancelled run on the image');
  const bigPoints = catalogOf(cfg, 'rbd', 'progress-big').circles.flatMap((x) => x.points);
  assert.deepEqual(bigPoints.map((p) => p.backupName), [nameOf(SUN)], 'the cancelled export recorded nothing');
  const smallPoints = catalogOf(cfg, 'rbd', 'progress-small').circles.flatMap((x) => x.points);
  assert.ok(smallPoints.some((p) => p.backupName === name), 'the finished image keeps its point');

  // Again: the run is over, so a second cancel is refused (1), and an unknown run is the request's fault (2).
  const again = await cli('cancel', name, '--config', cfg.file);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim().split('\n').length, 1);
  const unknown = await cli('cancel', 'no-such-run', '--config', cfg.file);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^rbd-backup: no-such-run: no backup run rbd-backup-run\/ceph\/no-such-run$/);

  // The next run of the big image is an incremental from its last good point.
  await rbd('config', 'image', 'remove', BIG, 'rbd_qos_read_bps_limit');
  const next = await cli('run', BIG, '--as-of', MON2, '--json', '--config', cfg.file);
  runs.push(runWorkflowId('ceph', nameOf(MON2)));
  assert.equal(next.code, 0, next.stderr);
  const r = JSON.parse(next.stdout) as BackupReport;
  assert.equal(r.images[0]?.type, 'incr');
  assert.equal(r.images[0]?.fromSnapshot, snapOf(SUN));
  const v = await cli('verify', BIG, '--config', cfg.file);
  assert.equal(v.code, 0, `verify: ${v.stdout} ${v.stderr}`);
});
