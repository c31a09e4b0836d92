/**
 * The workflow contract against hostile and careless callers, straight through the client API as
 * any service reaching the Temporal port could send it, and the resume/attach rules of `run`.
 * Real cluster, real dev server, real worker process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { cli, createImage, isEmptyDir, rbd, startWorker, tempDir, temporal, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import type { BackupReport } from '../../src/contract/backup.js';
import { pauseOsd, resumeOsd } from '../harness/faults.js';

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WorkflowFailedError, `not a workflow failure: ${String(e)}`);
    let c: unknown = e;
    while (c instanceof Error && c.cause) c = c.cause;
    assert.ok(c instanceof ApplicationFailure, `root cause is not an ApplicationFailure: ${String(c)}`);
    return c;
  }
  assert.fail('the workflow did not fail');
}

describe('hostile inputs through the client API are refused at once, nothing written', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const elsewhere = tempDir('elsewhere');
  before(async () => {
    cfg = writeConfig('hostile', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    await createImage('rbd', 'hostile-a', 8, 1);
    worker = await startWorker(cfg.file);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
  });
  after(async () => {
    await worker?.stop();
    await connection?.close();
  });

  const image = [{ pool: 'rbd', image: 'hostile-a' }];
  const cases: { name: string; workflow: string; input: unknown; message: RegExp }[] = [
    { name: 'another destination and copyKeyring in a policy', workflow: 'backupRun', input: { cluster: 'ceph', images: image, policy: { destination: elsewhere, copyKeyring: true } }, message: /unknown field\(s\) "policy"/ },
    { name: 'copyKeyring at the top', workflow: 'backupRun', input: { cluster: 'ceph', images: image, copyKeyring: true }, message: /unknown field\(s\) "copyKeyring"/ },
    { name: 'a destination path', workflow: 'backupRun', input: { cluster: 'ceph', images: image, destination: elsewhere }, message: /^backupRun input destination: must be a plain key/ },
    { name: 'a destination key the worker does not have', workflow: 'backupRun', input: { cluster: 'ceph', images: image, destination: 'offsite' }, message: /destination "offsite" is not configured on this worker \(configured: default\)/ },
    { name: 'a bad time zone', workflow: 'backupRun', input: { cluster: 'ceph', images: image, timezone: 'Mars/Olympus' }, message: /unknown field\(s\) "timezone"/ },
    { name: 'a missing field', workflow: 'backupRun', input: { images: image }, message: /^backupRun input cluster:/ },
    { name: 'no input at all', workflow: 'backupRun', input: undefined, message: /^backupRun input \(input\):/ },
    { name: 'another cluster', workflow: 'backupRun', input: { cluster: 'other', images: image }, message: /request is for cluster other but this worker serves cluster ceph/ },
    { name: 'an impossible as-of', workflow: 'backupRun', input: { cluster: 'ceph', images: image, asOf: '2026-02-30T01:00:00Z' }, message: /not a calendar date/ },
    {
      name: 'an image child with a foreign snapshot and a path',
      workflow: 'imageBackup',
      input: { pool: 'rbd', image: 'hostile-a', cluster: 'ceph', destination: elsewhere, backupName: 'x', runTime: '2026-11-29T01:00:00Z', type: 'full', reason: 'r', snapshot: 'important', circle: 'important', estimatedBytes: 0, sizeBytes: 0, snapshotRetainCount: 1, circleRetainCount: 1, exportMinBytesPerSecond: 1, parentWorkflowId: 'p' },
      message: /^imageBackup input destination:/,
    },
    { name: 'a restore over its own source with force', workflow: 'restoreImage', input: { cluster: 'ceph', source: image[0], target: image[0], at: '2026-11-29T01:00:00Z', force: true, keepSnapshots: false }, message: /target: the restore target must not be the source/ },
    { name: 'a delete of a circle that climbs', workflow: 'deleteBackup', input: { cluster: 'ceph', image: image[0], circle: '../../etc' }, message: /^deleteBackup input circle:/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const t0 = Date.now();
      const h = await client.workflow.start(c.workflow, { taskQueue: cfg.taskQueue, workflowId: `hostile-${c.name.replace(/\W+/g, '-')}-${Date.now()}`, args: [c.input] });
      const f = await failureOf(h.result());
      assert.match(f.message, c.message);
      assert.equal(f.nonRetryable, true);
      assert.ok(Date.now() - t0 < 15_000, `refused in ${Date.now() - t0} ms`);
      // Failed as a run, not as a workflow task that Temporal would retry forever.
      const events = (await h.fetchHistory()).events ?? [];
      assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0, 'no workflow task failure');
      assert.ok(isEmptyDir(cfg.destination), 'nothing written to the destination');
      assert.deepEqual(readdirSync(elsewhere), [], 'nothing written elsewhere');
      assert.deepEqual(JSON.parse(await rbd('snap', 'ls', 'rbd/hostile-a', '--format', 'json')), [], 'no snapshot taken');
    });
  }
});

describe('run: attach, refuse and resume by backup name', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  const dest = () => cfg.destination;
  before(async () => {
    cfg = writeConfig('resume', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    await createImage('rbd', 'resume-a', 8, 2);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('a failed run resumes under its name without --as-of; another request under that name is refused in every state', async () => {
    // The destination is missing (an unmounted disk): the run fails as a whole, before any snapshot.
    rmSync(dest(), { recursive: true });
    const first = await cli('run', 'rbd/resume-a', '--config', cfg.file, '--backup-name', 'resume-1', '--as-of', '2033-01-02T03:00:00Z');
    assert.equal(first.code, 2, first.stderr);
    assert.match(first.stderr, /backup destination .* does not exist: create it or mount the backup disk/);
    assert.equal(existsSync(dest()), false, 'the destination is never created');

    const other = await cli('run', 'rbd/resume-a', '--config', cfg.file, '--backup-name', 'resume-1', '--as-of', '2033-01-02T04:00:00Z');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /backup name resume-1 is already used by another request .*failed/);

    mkdirSync(dest());
    const again = await cli('run', 'rbd/resume-a', '--config', cfg.file, '--backup-name', 'resume-1', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resuming failed run resume-1/);
    const report = JSON.parse(again.stdout) as BackupReport;
    assert.equal(report.runTime, '2033-01-02T03:00:00.000Z', 'the first submission\'s as-of');
    assert.equal(report.images[0]!.snapshot, 'rbdbackup-20330102T030000Z');

    const attach = await cli('run', 'rbd/resume-a', '--config', cfg.file, '--backup-name', 'resume-1', '--json');
    assert.equal(attach.code, 0, attach.stderr);
    assert.deepEqual(JSON.parse(attach.stdout), report, 'the same request attaches to the same run');
    const completedOther = await cli('run', 'rbd/resume-a', 'rbd/resume-b', '--config', cfg.file, '--backup-name', 'resume-1');
    assert.equal(completedOther.code, 2);
    assert.match(completedOther.stderr, /already used by another request .*completed/);
  });

  test('a backdated run is refused for the image, not pruned by itself', async () => {
    const r = await cli('run', 'rbd/resume-a', '--config', cfg.file, '--as-of', '2033-01-01T03:00:00Z', '--json');
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as BackupReport;
    assert.equal(report.images[0]!.status, 'skipped');
    assert.match(report.images[0]!.reason ?? '', /older than the newest point rbdbackup-20330102T030000Z/);
    const snaps = (JSON.parse(await rbd('snap', 'ls', 'rbd/resume-a', '--format', 'json')) as { name: string }[]).map((s) => s.name);
    assert.deepEqual(snaps, ['rbdbackup-20330102T030000Z'], 'no snapshot taken for the backdated run');
  });

  test('--timeout bounds the wait (exit 3) and the run goes on', async () => {
    await createImage('rbd', 'resume-slow', 16, 4);
    // The OSD paused, the run cannot finish however fast this machine is: the bound must end the wait.
    pauseOsd();
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli('run', 'rbd/resume-slow', '--config', cfg.file, '--as-of', '2033-01-03T03:00:00Z', '--timeout', '2s');
    } finally {
      resumeOsd();
    }
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /still running after 2s; it goes on/);
    const done = await cli('run', 'rbd/resume-slow', '--config', cfg.file, '--as-of', '2033-01-03T03:00:00Z', '--json');
    assert.equal(done.code, 0, done.stderr);
    assert.equal((JSON.parse(done.stdout) as BackupReport).status, 'ok');
  });
});

describe('the keyring never travels unless the worker\'s own config asks', () => {
  test('copy_keyring: false in the worker config keeps it out of the destination', async () => {
    const cfg = writeConfig('nokey', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [], copy_keyring: false });
    await createImage('rbd', 'nokey-a', 8, 1);
    const worker = await startWorker(cfg.file);
    try {
      const r = await cli('run', 'rbd/nokey-a', '--config', cfg.file, '--as-of', '2033-02-01T01:00:00Z');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(join(cfg.destination, 'ceph', 'keyring')), false);
      assert.ok(existsSync(join(cfg.destination, 'ceph', 'cluster.json')));
    } finally {
      await worker.stop();
    }
  });
});



describe('a schedule created once follows later edits of the worker\'s list file', () => {
  test('the second scheduled run backs up the image added to the list after the schedule was made', { timeout: 300_000 }, async () => {
    const cfg = writeConfig('sched', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    const list = join(cfg.dir, 'list.yaml');
    writeFileSync(list, 'ceph:\n  - rbd:\n      - name: sched-a\n');
    writeFileSync(cfg.file, readFileSync(cfg.file, 'utf8').replace('backup:\n', `backup:\n  list_file: ${list}\n`));
    await Promise.all([createImage('rbd', 'sched-a', 8, 1), createImage('rbd', 'sched-b', 8, 1)]);
    const worker = await startWorker(cfg.file);
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    const scheduleId = `rbd-backup-test-${Date.now()}`;
    // The input names only the cluster, as the README's recipe does: images and policy are the worker's.
    const schedule = await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '365d' }] },
      action: { type: 'startWorkflow', workflowType: 'backupRun', taskQueue: cfg.taskQueue, workflowId: `rbd-backup-scheduled-${scheduleId}`, args: [{ cluster: 'ceph' }] },
      state: { paused: true },
    });
    const runOnce = async (seen: number): Promise<BackupReport> => {
      await schedule.trigger();
      let id: string | undefined;
      for (let i = 0; i < 300 && !id; i++) {
        const actions = (await schedule.describe()).info.recentActions;
        if (actions.length > seen) id = actions.at(-1)!.action.workflow.workflowId;
        else await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(id, 'the schedule started a run');
      return (await client.workflow.getHandle(id).result()) as BackupReport;
    };
    try {
      const first = await runOnce(0);
      assert.deepEqual(first.images.map((i) => `${i.pool}/${i.image}:${i.status}`), ['rbd/sched-a:ok']);
      writeFileSync(list, 'ceph:\n  - rbd:\n      - name: sched-a\n      - name: sched-b\n');
      // Scheduled runs are named by their nominal second: the next one must fall in another second.
      await new Promise((r) => setTimeout(r, 1100));
      const second = await runOnce(1);
      assert.deepEqual(second.images.map((i) => `${i.pool}/${i.image}:${i.status}`).sort(), ['rbd/sched-a:ok', 'rbd/sched-b:ok']);
    } finally {
      await schedule.delete();
      await connection.close();
      await worker.stop();
    }
  });
});
