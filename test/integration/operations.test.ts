/**
 * Operations through the CLI against the real cluster and dev server: schedules (create,
 * describe, trigger, backfill, pause, overlap, delete, a schedule running on its own and then
 * paused) and history from visibility.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { cli, createImage, sleep, startWorker, temporal, writeConfig, type CliResult, type RunningWorker, type TestConfig } from '../harness/env.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { ScheduleView } from '../../src/client/schedule.js';
import type { HistoryRow } from '../../src/client/history.js';

const tag = randomBytes(3).toString('hex');

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** One line on stderr, `rbd-backup: …`, naming the culprit, and exit 2. */
function badInput(r: CliResult, culprit: string | RegExp): void {
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^rbd-backup: /);
  if (typeof culprit === 'string') assert.ok(lines[0]!.includes(culprit), lines[0]);
  else assert.match(lines[0]!, culprit);
}

describe('schedules and history through the CLI', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const live = `live-${tag}`;
  const fill = `fill-${tag}`;
  const minute = `minute-${tag}`;
  const imgA = `ops-a-${tag}`;
  const imgB = `ops-b-${tag}`;
  const imgC = `ops-c-${tag}`;
  const describeIt = async (name: string) => json<ScheduleView>(await cli('schedule', 'describe', name, '--config', cfg.file, '--json'));
  /** Polls describe until `done` holds of it (runs are started by the scheduler workflow, a moment later). */
  async function until(name: string, done: (v: ScheduleView) => boolean, ms: number): Promise<ScheduleView> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await describeIt(name);
      if (done(v)) return v;
      if (Date.now() > end) assert.fail(`schedule ${name} did not reach the expected state: ${JSON.stringify(v.recentRuns)}`);
      await sleep(300);
    }
  }

  before(async () => {
    // Monday full, other days incremental: the backfilled Mon/Tue/Wed give full, incr, incr.
    cfg = writeConfig('ops', { full_weekdays: [1], incremental_weekdays: [2, 3, 4, 5, 6, 7], timezone: 'UTC' });
    // imgA is large enough that a run is still in flight when the second trigger comes.
    await Promise.all([createImage('rbd', imgA, 512, 256), createImage('rbd', imgB, 8, 1), createImage('rbd', imgC, 4, 1)]);
    worker = await startWorker(cfg.file);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
  });
  after(async () => {
    await connection?.close();
    await worker?.stop();
  });

  test('bad input exits 2 with one line and creates nothing', async () => {
    const c = ['--config', cfg.file];
    badInput(await cli('schedule', 'create', `bad1-${tag}`, '--cron', '61 1 * * *', ...c), '--cron "61 1 * * *"');
    badInput(await cli('schedule', 'create', `bad2-${tag}`, '--every', '5x', ...c), '--every "5x"');
    badInput(await cli('schedule', 'create', `bad3-${tag}`, '--every', '1d', '--overlap', 'sometimes', ...c), '--overlap');
    badInput(await cli('schedule', 'create', '../x', '--every', '1d', ...c), 'schedule name');
    badInput(await cli('schedule', 'describe', `nosuch-${tag}`, ...c), `nosuch-${tag}`);
    badInput(await cli('schedule', 'trigger', `nosuch-${tag}`, ...c), `nosuch-${tag}`);
    badInput(await cli('schedule', 'backfill', `nosuch-${tag}`, '--from', '2026-02-30T00:00:00Z', '--to', '2026-03-02T00:00:00Z', ...c), '--from 2026-02-30');
    badInput(await cli('history', '--status', 'ok', ...c), '--status "ok"');
    badInput(await cli('history', '--since', '2026-02-30T00:00:00Z', ...c), '--since');
    const names = json<{ name: string }[]>(await cli('schedule', 'list', ...c, '--json')).map((s) => s.name);
    assert.deepEqual(names.filter((n) => n.startsWith('bad') || n.startsWith('nosuch')), []);
  });

  test('create paused, describe, trigger: the run is in history with its image; overlap Skip drops a trigger in flight', { timeout: 120_000 }, async () => {
    const c = ['--config', cfg.file];
    json(await cli('schedule', 'create', live, `rbd/${imgA}`, '--every', '365d', '--paused', '--note', 'made by a test', ...c, '--json'));
    const v = await describeIt(live);
    assert.equal(v.paused, true);
    assert.equal(v.note, 'made by a test');
    assert.deepEqual(v.every, ['365d']);
    assert.equal(v.overlap, 'skip');
    assert.equal(v.catchupWindowMs, 6 * 3600_000);
    assert.deepEqual(v.input, { cluster: 'ceph', images: [{ pool: 'rbd', image: imgA }] });
    assert.ok(json<{ name: string }[]>(await cli('schedule', 'list', ...c, '--json')).some((s) => s.name === live));
    const text = await cli('schedule', 'describe', live, ...c);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^schedule rbd-backup/ceph/${live}: paused \\(made by a test\\)\n  spec: every 365d in UTC\n`));

    assert.equal((await cli('schedule', 'trigger', live, ...c)).code, 0);
    // Observed through the SDK: a CLI process per poll is slower than a small run.
    const schedule = client.schedule.getHandle(`rbd-backup/ceph/${live}`);
    let first: string | undefined;
    for (let i = 0; i < 300 && !first; i++) {
      first = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!first) await sleep(50);
    }
    assert.ok(first, 'the trigger started a run');
    assert.equal((await client.workflow.getHandle(first).describe()).status.name, 'RUNNING', 'the run is still in flight when the second trigger comes');
    assert.equal((await cli('schedule', 'trigger', live, ...c)).code, 0);
    const report = (await client.workflow.getHandle(first).result()) as BackupReport;
    assert.equal(report.status, 'ok');
    const after = await describeIt(live);
    assert.equal(after.recentRuns.length, 1, 'Skip dropped the trigger that came while a run was in flight');
    assert.equal(after.recentRuns[0]!.status, 'completed');
    assert.ok(after.recentRuns[0]!.workflowId.startsWith(`rbd-backup-run/ceph/scheduled-${live}-`), after.recentRuns[0]!.workflowId);

    const runs = json<HistoryRow[]>(await cli('history', ...c, '--since', '1h', '--json'));
    const run = runs.find((r) => r.workflowId === after.recentRuns[0]!.workflowId);
    assert.ok(run, JSON.stringify(runs));
    assert.equal(run.status, 'completed');
    assert.equal(run.backupName, report.backupName);
    const perImage = json<HistoryRow[]>(await cli('history', `rbd/${imgA}`, ...c, '--json'));
    assert.ok(perImage.some((r) => r.kind === 'image-backup' && r.status === 'completed' && r.backupName === report.backupName), JSON.stringify(perImage));
    assert.deepEqual(json<HistoryRow[]>(await cli('history', `rbd/${imgA}`, ...c, '--status', 'failed', '--json')), []);
    const lines = await cli('history', `rbd/${imgA}`, ...c, '--limit', '1');
    assert.equal(lines.code, 0, lines.stderr);
    assert.match(lines.stdout, new RegExp(`^image-backup\t${report.backupName}\t\\S+\t\\S+\tcompleted\trbd-backup-image/ceph/rbd/${imgA}$`));

    json(await cli('schedule', 'unpause', live, ...c, '--json'));
    assert.equal((await describeIt(live)).paused, false);
    json(await cli('schedule', 'pause', live, '--note', 'again', ...c, '--json'));
    const paused = await describeIt(live);
    assert.equal(paused.paused, true);
    assert.equal(paused.note, 'again');
    json(await cli('schedule', 'update', live, '--cron', '0 3 * * *', '--overlap', 'buffer-one', ...c, '--json'));
    const updated = await describeIt(live);
    assert.deepEqual(updated.cron, ['0 3 * * *']);
    assert.match((await cli('schedule', 'describe', live, ...c)).stdout, /spec: cron '0 3 \* \* \*' in UTC/);
    assert.equal(updated.overlap, 'buffer-one');
    assert.ok(updated.nextRuns.every((t) => t.endsWith('T03:00:00.000Z')), JSON.stringify(updated.nextRuns));

    assert.equal((await cli('schedule', 'delete', live, ...c)).code, 0);
    badInput(await cli('schedule', 'describe', live, ...c), live);
  });

  test('backfill over three past days runs each slot as of its nominal time, oldest first', { timeout: 180_000 }, async () => {
    const c = ['--config', cfg.file];
    json(await cli('schedule', 'create', fill, `rbd/${imgB}`, '--every', '1d', '--paused', ...c, '--json'));
    // 2026-11-23 was a Monday: slots at 00:00 UTC on Mon, Tue, Wed.
    json(await cli('schedule', 'backfill', fill, '--from', '2026-11-22T12:00:00Z', '--to', '2026-11-25T12:00:00Z', ...c, '--json'));
    const v = await until(fill, (x) => x.recentRuns.length === 3 && x.recentRuns.every((r) => r.status !== 'running'), 150_000);
    const reports = await Promise.all(v.recentRuns.map((r) => client.workflow.getHandle(r.workflowId).result() as Promise<BackupReport>));
    const got = reports.map((r) => [r.backupName, r.status, r.images[0]?.type]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(got, [
      ['20261123T000000Z', 'ok', 'full'],
      ['20261124T000000Z', 'ok', 'incr'],
      ['20261125T000000Z', 'ok', 'incr'],
    ]);
    assert.equal((await cli('schedule', 'delete', fill, ...c)).code, 0);
  });

  test('a schedule every 1m runs once on its own, its run is found by history; paused, it starts nothing at its next slot', { timeout: 240_000 }, async () => {
    const c = ['--config', cfg.file];
    json(await cli('schedule', 'create', minute, `rbd/${imgC}`, '--every', '1m', ...c, '--json'));
    const schedule = client.schedule.getHandle(`rbd-backup/ceph/${minute}`);
    // Nobody triggers it: the first run is the scheduler's own, at the next minute (within 60 s).
    let first: { scheduledAt: Date; takenAt: Date; action: { workflow: { workflowId: string; firstExecutionRunId: string } } } | undefined;
    for (let i = 0; i < 100 && !first; i++) {
      first = (await schedule.describe()).info.recentActions[0];
      if (!first) await sleep(1000);
    }
    assert.ok(first, 'the schedule started a run on its own within its first minute');
    json(await cli('schedule', 'pause', minute, '--note', 'stopped by a test', ...c, '--json'));
    const pausedAt = Date.now();
    const taken = (await schedule.describe()).info.numActionsTaken;
    assert.equal(first.scheduledAt.getTime() % 60_000, 0, `a 1m interval runs on the minute: ${first.scheduledAt.toISOString()}`);
    // The first slot after the pause, and room for how late this scheduler starts a run.
    const slot = Math.floor(pausedAt / 60_000) * 60_000 + 60_000;
    const margin = Math.max(10_000, 3 * (first.takenAt.getTime() - first.scheduledAt.getTime()));

    const runId = first.action.workflow.workflowId;
    assert.ok(runId.startsWith(`rbd-backup-run/ceph/scheduled-${minute}-`), runId);
    const report = (await client.workflow.getHandle(runId, first.action.workflow.firstExecutionRunId).result()) as BackupReport;
    assert.equal(report.status, 'ok');
    assert.equal(report.runTime, first.scheduledAt.toISOString(), 'the run is as of its nominal time');
    assert.deepEqual(report.images.map((i) => [i.image, i.status, i.type]), [[imgC, 'ok', 'full']]);

    const runs = json<HistoryRow[]>(await cli('history', ...c, '--since', '10m', '--json'));
    const row = runs.find((r) => r.workflowId === runId);
    assert.ok(row, JSON.stringify(runs));
    assert.equal(row.status, 'completed');
    assert.equal(row.backupName, report.backupName);
    const perImage = json<HistoryRow[]>(await cli('history', `rbd/${imgC}`, ...c, '--json'));
    assert.deepEqual(perImage.map((r) => [r.kind, r.backupName, r.status]), [['image-backup', report.backupName, 'completed']]);

    // A paused schedule's scheduler sleeps: nothing shows that a slot went by, so the proof is
    // that the slot's time has passed (with room for the lateness seen above) and no run came.
    await sleep(Math.max(0, slot + margin - Date.now()));
    const v = await describeIt(minute);
    assert.equal(v.paused, true);
    assert.equal(v.note, 'stopped by a test');
    assert.equal(v.runsTaken, taken, `no run after the pause: ${JSON.stringify(v.recentRuns)}`);
    assert.equal(v.recentRuns.length, taken);
    assert.ok(v.recentRuns.every((r) => Date.parse(r.takenAt) < pausedAt), JSON.stringify(v.recentRuns));
    const later = json<HistoryRow[]>(await cli('history', ...c, '--since', '10m', '--json'));
    assert.equal(later.filter((r) => r.workflowId.startsWith(`rbd-backup-run/ceph/scheduled-${minute}-`)).length, taken);
    assert.equal((await cli('schedule', 'delete', minute, ...c)).code, 0);
  });
});
