/** The thinnest slice through everything real: CLI → Temporal dev server → worker → rbd → file. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { ceph, temporal, cli, createImage, rbd, snapshotSha256, startWorker, writeConfig, type RunningWorker } from '../harness/env.js';
import { sha256File } from '../../src/fs/checksum.js';
import type { BackupReport } from '../../src/contract/backup.js';
import { Client, Connection } from '@temporalio/client';

const cfg = writeConfig('slice', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
let worker: RunningWorker;

before(async () => {
  await createImage('rbd', 'slice-a', 64, 8);
  worker = await startWorker(cfg.file);
});
after(async () => worker?.stop());

test('a full export equals rbd export of the same snapshot, and the same input twice is one run', async () => {
  const args = ['run', 'rbd/slice-a', '--config', cfg.file, '--as-of', '2026-11-29T12:15:00Z', '--json'];
  const first = await cli(...args);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as BackupReport;
  assert.equal(report.status, 'ok');
  const img = report.images[0]!;
  assert.equal(img.type, 'full');
  assert.equal(img.snapshot, 'rbdbackup-20261129T121500Z');

  const file = join(cfg.destination, 'ceph', 'rbd', 'slice-a', img.file!);
  const onDisk = await sha256File(file);
  const truth = await snapshotSha256(`rbd/slice-a@${img.snapshot}`);
  assert.equal(onDisk.sha256, truth, 'exported bytes differ from rbd export of the snapshot');
  assert.equal(img.sha256, truth, 'the report carries the checksum of the bytes');
  assert.equal(onDisk.bytes, 64 * 1024 * 1024);

  // Holes stay holes: 64 MiB image with 8 MiB written.
  const st = statSync(file);
  assert.ok(st.blocks * 512 < 32 * 1024 * 1024, `full export is not sparse: ${st.blocks * 512} bytes allocated`);
  // First run records the cluster and copies ceph.conf, but not the keyring unless asked.
  const clusterDir = join(cfg.destination, 'ceph');
  assert.equal(JSON.parse(readFileSync(join(clusterDir, 'cluster.json'), 'utf8')).fsid, ceph.fsid);
  assert.equal(readFileSync(join(clusterDir, 'ceph.conf'), 'utf8'), readFileSync(ceph.conf, 'utf8'));
  assert.equal(existsSync(join(clusterDir, 'keyring')), false);

  const catalog = JSON.parse(readFileSync(join(cfg.destination, 'ceph', 'rbd', 'slice-a', 'catalog.json'), 'utf8'));
  assert.equal(catalog.circles[0].points[0].sha256, truth);

  const second = await cli(...args);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(JSON.parse(second.stdout), report, 'the same input attaches to the same run');
  const snaps = JSON.parse(await rbd('snap', 'ls', 'rbd/slice-a', '--format', 'json')) as { name: string }[];
  assert.deepEqual(snaps.map((s) => s.name), ['rbdbackup-20261129T121500Z']);
});

test('--no-wait returns the workflow ID at once; copy_keyring copies the keyring with mode 0600', async () => {
  const keep = writeConfig('slice-keyring', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [], copy_keyring: true });
  const w = await startWorker(keep.file);
  try {
    const r = await cli('run', 'rbd/slice-a', '--config', keep.file, '--as-of', '2026-11-29T12:45:00Z', '--backup-name', 'slice-nowait', '--no-wait', '--json');
    assert.equal(r.code, 0, r.stderr);
    const started = JSON.parse(r.stdout) as { workflowId: string };
    assert.equal(started.workflowId, 'rbd-backup-run/ceph/slice-nowait');
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const report = (await new Client({ connection }).workflow.getHandle(started.workflowId).result()) as BackupReport;
      assert.equal(report.status, 'ok');
    } finally {
      await connection.close();
    }
    const key = join(keep.destination, 'ceph', 'keyring');
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(readFileSync(key, 'utf8'), readFileSync(ceph.keyring, 'utf8'));
  } finally {
    await w.stop();
  }
});
