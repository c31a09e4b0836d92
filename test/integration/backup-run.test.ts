/**
 * The backup run through the CLI against the real cluster and dev server: a week of runs driven by
 * --as-of, chain safety after a failed export, the export concurrency bound and the image mutex.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { cli, createImage, isEmptyDir, rbd, randomWrites, startWorker, temporal, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { sha256File } from '../../src/fs/checksum.js';
import { imageWorkflowId, type BackupReport, type ImageResult } from '../../src/contract/backup.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';

async function snaps(spec: string): Promise<string[]> {
  return (JSON.parse(await rbd('snap', 'ls', spec, '--format', 'json')) as { name: string }[]).map((s) => s.name);
}
function catalogOf(cfg: TestConfig, pool: string, image: string): ImageCatalog {
  return JSON.parse(readFileSync(join(cfg.destination, 'ceph', pool, image, 'catalog.json'), 'utf8')) as ImageCatalog;
}
async function runAt(cfg: TestConfig, asOf: string, ...images: string[]): Promise<{ code: number; report: BackupReport; stderr: string }> {
  const r = await cli('run', ...images, '--config', cfg.file, '--as-of', asOf, '--json');
  assert.ok(r.stdout.trim().startsWith('{'), `no JSON report (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as BackupReport, stderr: r.stderr };
}
const byImage = (r: BackupReport, key: string): ImageResult => r.images.find((i) => `${i.pool}/${i.image}` === key)!;
const snap = (iso: string) => `rbdbackup-${iso.replace(/[-:]/g, '').replace('.000', '')}`;

describe('a week of runs (full on Sunday, incrementals after, overrides per image)', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  before(async () => {
    cfg = writeConfig('week', {
      full_weekdays: [7],
      incremental_weekdays: [1, 2, 3, 4, 5, 6],
      max_incremental: 2,
      snapshot_retain_count: 1,
      circle_retain_count: 2,
    });
    const list = join(cfg.dir, 'list.yaml');
    writeFileSync(
      list,
      ['ceph:', '  - rbd:', '      - name: week-a', '      - name: week-b', '        max_incremental_backup_count: 1', '        max_backup_circle_count: 1', '        backup_snapshot_retain_count: 2', '  - volumes:', '      - name: week-c', '        backup_type: full', ''].join('\n'),
    );
    const text = readFileSync(cfg.file, 'utf8').replace('backup:\n', `backup:\n  list_file: ${list}\n`);
    writeFileSync(cfg.file, text);
    await Promise.all([createImage('rbd', 'week-a', 32, 4), createImage('rbd', 'week-b', 32, 4), createImage('volumes', 'week-c', 16, 2)]);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  // 2026-11-29 is a Sunday.
  const days = ['2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05'].map((d) => `${d}T01:00:00.000Z`);
  const expectA = ['full', 'incr', 'incr', 'full', 'incr', 'incr', 'full'];
  const expectB = ['full', 'incr', 'full', 'incr', 'full', 'incr', 'full'];

  test('types, circles, snapshot and circle retention follow the rules day by day', async () => {
    for (const [i, day] of days.entries()) {
      const { code, report, stderr } = await runAt(cfg, day);
      assert.equal(code, 0, stderr);
      assert.equal(report.status, 'ok');
      const a = byImage(report, 'rbd/week-a');
      const b = byImage(report, 'rbd/week-b');
      const c = byImage(report, 'volumes/week-c');
      assert.equal(a.type, expectA[i], `week-a on ${day}: ${a.reason}`);
      assert.equal(b.type, expectB[i], `week-b on ${day}: ${b.reason}`);
      assert.equal(c.type, 'full', 'forced full by the list');
      assert.equal(a.snapshot, snap(day));

      // Snapshot retention: week-a keeps 1 (the base), week-b keeps 2 (its override).
      assert.deepEqual(await snaps('rbd/week-a'), [snap(day)]);
      assert.deepEqual(await snaps('rbd/week-b'), days.slice(Math.max(0, i - 1), i + 1).map(snap));

      // Every point's file exists with the recorded checksum.
      for (const [pool, image] of [['rbd', 'week-a'], ['rbd', 'week-b'], ['volumes', 'week-c']] as const) {
        for (const circle of catalogOf(cfg, pool, image).circles) {
          for (const p of circle.points) {
            const f = await sha256File(join(cfg.destination, 'ceph', pool, image, p.file));
            assert.equal(f.sha256, p.sha256, `${pool}/${image} ${p.file}`);
          }
        }
      }
      await Promise.all([randomWrites('rbd/week-a'), randomWrites('rbd/week-b'), randomWrites('volumes/week-c')]);
    }
    // Circles: week-a had fulls on days 0, 3, 6 → keeps the newest 2; week-b keeps 1; week-c keeps 2.
    assert.deepEqual(catalogOf(cfg, 'rbd', 'week-a').circles.map((c) => c.name), [snap(days[3]!), snap(days[6]!)]);
    assert.deepEqual(catalogOf(cfg, 'rbd', 'week-a').circles.map((c) => c.points.length), [3, 1]);
    assert.deepEqual(catalogOf(cfg, 'rbd', 'week-b').circles.map((c) => c.name), [snap(days[6]!)]);
    assert.deepEqual(catalogOf(cfg, 'volumes', 'week-c').circles.map((c) => c.name), [snap(days[5]!), snap(days[6]!)]);
    assert.equal(existsSync(join(cfg.destination, 'ceph', 'rbd', 'week-a', snap(days[0]!))), false, 'pruned circle directory removed');

    const list = await cli('list', 'rbd/week-a', '--config', cfg.file, '--json');
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { images: ImageCatalog[] };
    assert.equal(listed.images[0]!.circles.flatMap((c) => c.points).length, 4);
  });

  test('a day in neither weekday list runs nothing and exits 0', async () => {
    const narrow = writeConfig('narrow', { full_weekdays: [7], incremental_weekdays: [1] });
    const w = await startWorker(narrow.file);
    try {
      const { code, report } = await runAt(narrow, '2026-12-02T01:30:00Z', 'rbd/week-a');
      assert.equal(code, 0);
      assert.equal(report.status, 'nothing-scheduled');
      assert.ok(isEmptyDir(narrow.destination), "nothing written");
    } finally {
      await w.stop();
    }
  });
});

describe('chain safety', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  before(async () => {
    cfg = writeConfig('chain', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], snapshot_retain_count: 1 });
    await Promise.all([createImage('rbd', 'chain-a', 32, 4), createImage('rbd', 'chain-b', 32, 4)]);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('a failed incremental keeps the last good base, records nothing, reports stderr, and the next run diffs from the good point', async () => {
    const [d1, d2, d3, d4] = ['2026-11-29T02:00:00.000Z', '2026-11-30T02:00:00.000Z', '2026-12-01T02:00:00.000Z', '2026-12-02T02:00:00.000Z'];
    assert.equal((await runAt(cfg, d1, 'rbd/chain-a', 'rbd/chain-b')).code, 0);
    await randomWrites('rbd/chain-a');
    assert.equal((await runAt(cfg, d2, 'rbd/chain-a', 'rbd/chain-b')).code, 0);
    await randomWrites('rbd/chain-a');

    // A read-only bind mount stops even root: a deterministic failed export into the circle.
    const circleDir = join(cfg.destination, 'ceph', 'rbd', 'chain-a', snap(d1));
    await execa('mount', ['--bind', circleDir, circleDir]);
    await execa('mount', ['-o', 'remount,ro,bind', circleDir]);
    let failed;
    try {
      failed = await runAt(cfg, d3, 'rbd/chain-a', 'rbd/chain-b');
    } finally {
      await execa('umount', [circleDir]);
    }
    assert.equal(failed.code, 1, 'a run with a failed image exits 1');
    assert.equal(failed.report.status, 'partial');
    const a = byImage(failed.report, 'rbd/chain-a');
    assert.equal(a.status, 'failed');
    assert.match(a.error?.stderr ?? '', /Read-only file system/, 'rbd stderr is in the report');
    assert.match(a.error?.command ?? '', /^rbd export-diff/);
    assert.equal(byImage(failed.report, 'rbd/chain-b').status, 'ok', 'the other image is backed up');
    assert.deepEqual(await snaps('rbd/chain-a'), [snap(d2)], 'the last good base survives; the failed snapshot is gone');
    const points = catalogOf(cfg, 'rbd', 'chain-a').circles.flatMap((c) => c.points);
    assert.deepEqual(points.map((p) => p.snapshot), [snap(d1), snap(d2)], 'no point for the failed export');
    const saved = JSON.parse(readFileSync(failed.report.reportFile!, 'utf8')) as BackupReport;
    assert.match(byImage(saved, 'rbd/chain-a').error?.stderr ?? '', /Read-only file system/, 'the report file keeps stderr');

    const next = await runAt(cfg, d4, 'rbd/chain-a');
    assert.equal(next.code, 0, next.stderr);
    const n = byImage(next.report, 'rbd/chain-a');
    assert.equal(n.type, 'incr');
    assert.equal(n.fromSnapshot, snap(d2), 'the next incremental starts at the last good point');
  });
});

describe('concurrency and the image mutex', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  const images = ['conc-1', 'conc-2', 'conc-3', 'conc-4', 'conc-5'];
  before(async () => {
    cfg = writeConfig('conc', { concurrency: 2, full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    for (const i of images) await createImage('rbd', i, 256, 48);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('never more than `concurrency` exports in flight, and more than one at once', async () => {
    const { code, report } = await runAt(cfg, '2026-11-29T03:00:00Z', ...images.map((i) => `rbd/${i}`));
    assert.equal(code, 0);
    const spans = report.images.map((i) => [Date.parse(i.startedAt!), Date.parse(i.finishedAt!)] as const);
    const events = spans.flatMap(([s, e]) => [[s, 1], [e, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let now = 0;
    let peak = 0;
    for (const [, d] of events) peak = Math.max(peak, (now += d));
    assert.ok(peak <= 2, `peak exports in flight ${peak} > concurrency 2`);
    assert.equal(peak, 2, 'exports ran in parallel');
  });

  test('a second run for an image whose mutex is held is refused for that image only', async () => {
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    // Hold conc-1's mutex with a workflow on a queue nobody polls: it stays running.
    const holder = await client.workflow.start('imageBackup', {
      taskQueue: `${cfg.taskQueue}-nobody`,
      workflowId: imageWorkflowId('ceph', { pool: 'rbd', image: 'conc-1' }),
      args: [],
    });
    try {
      const { code, report } = await runAt(cfg, '2026-11-29T04:00:00Z', 'rbd/conc-1', 'rbd/conc-2');
      assert.equal(code, 1);
      assert.equal(byImage(report, 'rbd/conc-1').status, 'busy');
      assert.equal(byImage(report, 'rbd/conc-2').status, 'ok');
      assert.equal((await snaps('rbd/conc-1')).includes(snap('2026-11-29T04:00:00.000Z')), false, 'no snapshot taken on a busy image');
    } finally {
      await holder.terminate('test over');
      await connection.close();
    }
  });
});

// Bad input (names, dates, config files, Temporal, destinations): see bad-input.test.ts.

describe('refusals that need the cluster', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  before(async () => {
    cfg = writeConfig('refuse', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    await createImage('rbd', 'refuse-a', 16, 2);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('a missing image is skipped and reported; the others are backed up', async () => {
    const { code, report } = await runAt(cfg, '2026-11-29T05:00:00Z', 'rbd/refuse-a', 'rbd/no-such-image', 'nopool/x');
    assert.equal(code, 1);
    assert.equal(byImage(report, 'rbd/refuse-a').status, 'ok');
    assert.match(byImage(report, 'rbd/no-such-image').reason!, /not found/);
    assert.match(byImage(report, 'nopool/x').reason!, /pool nopool not found/);
  });

  test('a backup name used by another run is refused with exit 2', async () => {
    const r = await cli('run', 'rbd/refuse-a', '--config', cfg.file, '--backup-name', 'named-1', '--as-of', '2026-11-29T06:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    const again = await cli('run', 'rbd/refuse-a', '--config', cfg.file, '--backup-name', 'named-1', '--as-of', '2026-11-29T07:00:00Z');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /backup name named-1 is already used/);
  });

  test('a backup directory of another cluster is refused', async () => {
    const other = writeConfig('other', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    mkdirSync(join(other.destination, 'ceph'), { recursive: true });
    writeFileSync(join(other.destination, 'ceph', 'cluster.json'), JSON.stringify({ format: 'rbd-backup/cluster@1', name: 'ceph', fsid: '00000000-0000-0000-0000-000000000000', createdAt: '2026-01-01T00:00:00Z' }));
    const w = await startWorker(other.file);
    try {
      const r = await cli('run', 'rbd/refuse-a', '--config', other.file, '--as-of', '2026-11-29T08:00:00Z');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /fsid 00000000-0000-0000-0000-000000000000.*refusing/);
      assert.equal(existsSync(join(other.destination, 'ceph', 'rbd')), false, 'nothing exported');
    } finally {
      await w.stop();
    }
  });

  test('the space check refuses a run that would not fit', async () => {
    const small = writeConfig('small', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    mkdirSync(small.destination, { recursive: true });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small.destination]);
    const w = await startWorker(small.file);
    try {
      const r = await cli('run', 'rbd/refuse-a', '--config', small.file, '--as-of', '2026-11-29T09:00:00Z');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /backup needs about \d+ bytes but only \d+ are free/);
      assert.deepEqual(await snaps('rbd/refuse-a').then((s) => s.filter((x) => x.includes('T090000Z'))), [], 'no snapshot taken');
    } finally {
      await w.stop();
      await execa('umount', [small.destination]);
    }
  });
});
