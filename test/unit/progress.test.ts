/** The arithmetic and the wording of `status`: run totals, rate and ETA, and the phases shown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportBytesExpected, phaseOfResult } from '../../src/contract/progress.js';
import { totalsOf, type ImageStatus, type RunStatus } from '../../src/client/progress.js';
import { formatEta, formatStatus } from '../../cli/status.js';

const MiB = 1024 * 1024;
const img = (image: string, s: Omit<ImageStatus, 'pool' | 'image'>): ImageStatus => ({ pool: 'rbd', image, ...s });

test('a full export is expected to write the provisioned size, a diff its estimate', () => {
  assert.equal(exportBytesExpected({ type: 'full', sizeBytes: 10 * MiB, estimatedBytes: 3 * MiB }), 10 * MiB);
  assert.equal(exportBytesExpected({ type: 'incr', sizeBytes: 10 * MiB, estimatedBytes: 3 * MiB }), 3 * MiB);
});

test('a result maps to the phase status shows', () => {
  const cases: [Parameters<typeof phaseOfResult>[0]['status'], string][] = [
    ['ok', 'done'],
    ['failed', 'failed'],
    ['busy', 'busy'],
    ['cancelled', 'cancelled'],
    ['skipped', 'skipped'],
    ['not-scheduled', 'not-scheduled'],
  ];
  for (const [status, phase] of cases) assert.equal(phaseOfResult({ pool: 'rbd', image: 'a', status }), phase, status);
});

test('totals count images by phase and leave out the bytes that will never come', () => {
  const t = totalsOf([
    img('a', { phase: 'done', bytesDone: 100, bytesExpected: 100 }),
    img('b', { phase: 'exporting', bytesDone: 50, bytesExpected: 200, rate: 10 }),
    img('c', { phase: 'exporting', bytesDone: 10, bytesExpected: 100, rate: 5 }),
    img('d', { phase: 'failed', bytesDone: 0, bytesExpected: 1000 }),
    img('e', { phase: 'cancelled', bytesDone: 0, bytesExpected: 1000 }),
    img('f', { phase: 'planned', bytesDone: 0, bytesExpected: 300 }),
    img('g', { phase: 'not-scheduled' }),
  ]);
  assert.deepEqual(t.byPhase, { done: 1, exporting: 2, failed: 1, cancelled: 1, planned: 1, 'not-scheduled': 1 });
  assert.equal(t.images, 7);
  assert.equal(t.bytesDone, 160);
  assert.equal(t.bytesExpected, 700);
  assert.equal(t.rate, 15, 'the running exports together');
  assert.equal(t.etaSeconds, Math.ceil(540 / 15));
});

test('a rate measured by the caller wins; no running export means no rate and no ETA', () => {
  const images = [img('a', { phase: 'exporting', bytesDone: 50, bytesExpected: 150, rate: 10 })];
  assert.equal(totalsOf(images, 20).etaSeconds, 5);
  const idle = totalsOf([img('a', { phase: 'queued for export', bytesDone: 0, bytesExpected: 150 })]);
  assert.equal(idle.rate, undefined);
  assert.equal(idle.etaSeconds, undefined);
  const closed = totalsOf(images, 0);
  assert.equal(closed.rate, undefined, 'a closed run has no rate');
});

test('ETA reads in the largest sensible units', () => {
  assert.equal(formatEta(0), '0s');
  assert.equal(formatEta(59), '59s');
  assert.equal(formatEta(61), '1m01s');
  assert.equal(formatEta(3600 + 5 * 60 + 7), '1h05m');
});

test('status prints one line per image and a total line', () => {
  const images = [
    img('vm-1', { phase: 'exporting', type: 'full', bytesDone: 50 * MiB, bytesExpected: 200 * MiB, rate: MiB }),
    img('vm-22', { phase: 'cancelled', type: 'full', bytesDone: 0, bytesExpected: 10 * MiB, reason: 'run cancelled' }),
  ];
  const s: RunStatus = {
    workflowId: 'rbd-backup-run/ceph/n',
    runId: 'r',
    status: 'RUNNING',
    startTime: '2026-11-29T01:00:00.000Z',
    progress: { workflowId: 'rbd-backup-run/ceph/n', backupName: 'n', cluster: 'ceph', runTime: '2026-11-29T01:00:00.000Z', phase: 'backing up', images },
    images,
    totals: totalsOf(images),
  };
  const lines = formatStatus(s);
  assert.equal(lines[0], 'backup n of cluster ceph as of 2026-11-29T01:00:00.000Z: running (backing up)');
  assert.match(lines[1]!, /^ {2}rbd\/vm-1 {3}exporting +50\.0 MiB \/ 200\.0 MiB 25%$/);
  assert.match(lines[2]!, /^ {2}rbd\/vm-22 {2}cancelled +0 B \/ 10\.0 MiB 0% {2}run cancelled$/);
  assert.equal(lines[3], 'total: 2 image(s) (1 exporting, 1 cancelled); 50.0 MiB / 200.0 MiB 25%; 1.0 MiB/s; ETA 2m30s');
  assert.equal(lines.length, 4);
});
