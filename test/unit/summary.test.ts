/** The lines the Web UI shows for runs, steps and export heartbeats. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backupStepSummary, bytesText, imageBackupSummary, imagesText, restoreSummary, runDetails, runSummary } from '../../src/contract/summary.js';
import { exportBeat } from '../../src/contract/heartbeat.js';
import { fullPlan } from '../harness/fake-activities.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

test('bytes read as the largest unit, one decimal unless whole', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [20 * GiB, '20 GiB'],
    [1.2 * GiB, '1.2 GiB'],
    [300 * MiB, '300 MiB'],
    [5 * 1024 * GiB, '5 TiB'],
  ];
  for (const [n, s] of cases) assert.equal(bytesText(n), s, String(n));
});

test('image lists stay one line: the first three and a count', () => {
  const img = (n: number) => ({ pool: 'rbd', image: `vm-${n}` });
  assert.equal(imagesText(undefined), 'all images of the list');
  assert.equal(imagesText([]), 'no images');
  assert.equal(imagesText([img(1), img(2)]), 'rbd/vm-1, rbd/vm-2');
  assert.equal(imagesText([1, 2, 3, 4, 5].map(img)), 'rbd/vm-1, rbd/vm-2, rbd/vm-3 and 2 more');
  assert.equal(runSummary('day-03', undefined), 'backup run day-03: all images of the list');
});

test("a run's details count its plans by type and its results by status", () => {
  const full = { type: 'full' as const, sizeBytes: 20 * GiB, estimatedBytes: GiB };
  const incr = { type: 'incr' as const, sizeBytes: 20 * GiB, estimatedBytes: 300 * MiB };
  const cases: [Parameters<typeof runDetails>, string][] = [
    [['day-03', [full, full, incr], [], 'backing up'], 'backup run day-03: 3 images, 2 full 1 incr, 40.3 GiB; backing up: 3 to go'],
    [['day-03', [full, full, incr], [{ status: 'ok' }, { status: 'failed' }], 'backing up'], 'backup run day-03: 3 images, 2 full 1 incr, 40.3 GiB; backing up: 1 ok, 1 failed, 1 to go'],
    [['day-03', [full], [{ status: 'ok' }], 'done'], 'backup run day-03: 1 image, 1 full 0 incr, 20 GiB; done: 1 ok'],
  ];
  for (const [args, s] of cases) assert.equal(runDetails(...args), s);
});

test('an image and its steps name the image, the type and the size', () => {
  const p = { ...fullPlan('ceph', { pool: 'rbd', image: 'vm-1' }, '2026-11-29T01:00:00.000Z', 'run'), sizeBytes: 20 * GiB };
  assert.equal(imageBackupSummary(p), 'full rbd/vm-1 20 GiB, run 20261129T010000Z');
  assert.equal(backupStepSummary.export(p), 'export rbd/vm-1 full 20 GiB');
  const i = { ...p, type: 'incr' as const, estimatedBytes: 300 * MiB, fromSnapshot: 'rbdbackup-20261128T010000Z' };
  assert.equal(backupStepSummary.export(i), 'export rbd/vm-1 incr ~300 MiB since rbdbackup-20261128T010000Z');
  assert.equal(backupStepSummary.deleteSnapshots(p, true), 'delete snapshots rbd/vm-1 (keep 1, drop failed rbdbackup-20261129T010000Z)');
});

test('an export heartbeat leads with a line of bytes done, and keeps the fields status reads', () => {
  const full = { bytes: 20 * GiB, estimate: false };
  const cases: [Parameters<typeof exportBeat>, string][] = [
    [['export', 0, 0, full], 'export: 0 B of 20 GiB (0%)'],
    [['export', 5 * GiB, 0, full], 'export: 5 GiB of 20 GiB (25%)'],
    [['checksum', 20 * GiB, 1 * GiB, full], 'checksum: 1 GiB of 20 GiB (5%)'],
    // A diff may outgrow its estimate: no percentage that could pass 100.
    [['export', 400 * MiB, 0, { bytes: 300 * MiB, estimate: true }], 'export: 400 MiB of ~300 MiB estimated'],
  ];
  for (const [args, line] of cases) {
    const beat = exportBeat(...args);
    assert.equal(beat.progress, line);
    assert.deepEqual([beat.phase, beat.written, beat.hashed], args.slice(0, 3));
    assert.equal(Object.keys(beat)[0], 'progress', 'the line comes first in the JSON the UI shows');
  }
});

test("a restore names its source's cluster when it reads another cluster's backups", () => {
  const vm = { pool: 'rbd', image: 'vm-1' };
  const cases: [Parameters<typeof restoreSummary>, string][] = [
    [[vm, '20261123T010000Z', undefined], 'restore rbd/vm-1 at 20261123T010000Z to a new image'],
    [[vm, '20261123T010000Z', { pool: 'rbd', image: 'vm-1-old' }], 'restore rbd/vm-1 at 20261123T010000Z to rbd/vm-1-old'],
    // Disaster recovery onto the same name: not a restore of an image onto itself.
    [[vm, '20261123T010000Z', vm, 'site-a'], 'restore site-a:rbd/vm-1 at 20261123T010000Z to rbd/vm-1'],
  ];
  for (const [args, want] of cases) assert.equal(restoreSummary(...args), want);
});
