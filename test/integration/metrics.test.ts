/**
 * The worker's Prometheus endpoint, scraped over HTTP after real runs: a worker with
 * `metrics.listen` set backs up a small random image three times (full, incr, a new full that
 * prunes the first circle), fails a run on a missing image, restores and verifies, and after each
 * step the endpoint must say exactly what the destination and the reports say.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { cli, createImage, randomWrites, rbd, startWorker, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { parseMetrics, sumOf, type Sample } from '../harness/prometheus.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';

/** 2035-07-01 is a Sunday: full, incr, then a new full (max_incremental 1). */
const SUN = '2035-07-01T09:00:00Z';
const MON = '2035-07-02T09:00:00Z';
const TUE = '2035-07-03T09:00:00Z';
const WED = '2035-07-04T09:00:00Z';
const THU = '2035-07-05T09:00:00Z';
const IMAGE = 'metrics-a';

async function freePort(): Promise<number> {
  const fixed = process.env.RBD_TEST_METRICS_PORT;
  if (fixed) return Number(fixed);
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

let cfg: TestConfig;
let worker: RunningWorker;
let url: string;

async function scrape(): Promise<Sample[]> {
  const r = await fetch(url);
  assert.equal(r.status, 200, `GET ${url}`);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return parseMetrics(await r.text());
}

/**
 * Workflows record metrics through a sink that runs as their last task completes, which may be
 * just after the client has seen the result: wait (bounded) for the value to arrive.
 */
async function scrapeUntil(what: string, ok: (s: Sample[]) => boolean): Promise<Sample[]> {
  let last: Sample[] = [];
  for (let i = 0; i < 50; i++) {
    last = await scrape();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: not seen on the endpoint; rbd_backup_ samples: ${JSON.stringify(last.filter((s) => s.name.startsWith('rbd_backup_')))}`);
}

const img = { pool: 'rbd', image: IMAGE };
const catalogOf = (): ImageCatalog => JSON.parse(readFileSync(join(cfg.destination, 'ceph', 'rbd', IMAGE, 'catalog.json'), 'utf8')) as ImageCatalog;
const fileSize = (rel: string) => statSync(join(cfg.destination, 'ceph', 'rbd', IMAGE, rel)).size;

async function run(asOf: string, ...images: string[]): Promise<{ code: number; report: BackupReport; started: number; ended: number }> {
  const started = Date.now() / 1000;
  const r = await cli('run', ...images, '--config', cfg.file, '--as-of', asOf, '--json');
  const ended = Date.now() / 1000;
  return { code: r.code, report: JSON.parse(r.stdout) as BackupReport, started, ended };
}

describe('metrics endpoint', () => {
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    cfg = writeConfig(
      'metrics',
      { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 1, circle_retain_count: 1, snapshot_retain_count: 1 },
      { metrics: { listen: `127.0.0.1:${port}` } },
    );
    await createImage('rbd', IMAGE, 8, 2);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('before any run: the SDK runtime metrics are served, none of ours for the image', async () => {
    const s = await scrape();
    assert.ok(s.some((x) => x.name.startsWith('temporal_')), 'temporal_ metrics present');
    assert.equal(sumOf(s, 'rbd_backup_exported_bytes_total', img), undefined);
  });

  test('a full backup: bytes equal the stored file, one ok image and run, last success at the export', async () => {
    const r = await run(SUN, `rbd/${IMAGE}`);
    assert.equal(r.code, 0, JSON.stringify(r.report));
    const res = r.report.images[0]!;
    assert.equal(res.type, 'full');
    const s = await scrapeUntil('the run counted', (x) => sumOf(x, 'rbd_backup_runs_total', { status: 'ok' }) === 1);
    const point = catalogOf().circles[0]!.points[0]!;
    assert.equal(point.bytes, fileSize(point.file));
    assert.equal(sumOf(s, 'rbd_backup_exported_bytes_total', { ...img, type: 'full' }), fileSize(point.file));
    assert.equal(sumOf(s, 'rbd_backup_exported_bytes_total', { ...img, type: 'incr' }), undefined);
    assert.equal(sumOf(s, 'rbd_backup_images_total', { ...img, outcome: 'ok' }), 1);
    assert.equal(sumOf(s, 'rbd_backup_export_duration_seconds_count', { pool: 'rbd', type: 'full' }), 1);
    const duration = sumOf(s, 'rbd_backup_export_duration_seconds_sum', { pool: 'rbd', type: 'full' })!;
    assert.ok(duration > 0 && duration <= r.ended - r.started, `export duration ${duration} s within the run's ${r.ended - r.started} s`);
    const last = sumOf(s, 'rbd_backup_last_success_timestamp_seconds', img)!;
    assert.ok(last >= r.started && last <= r.ended, `last success ${last} within the run [${r.started}, ${r.ended}]`);
    assert.ok(Math.abs(last - Date.parse(point.exportedAt) / 1000) < 0.01, `last success ${last} is the point's exportedAt ${point.exportedAt}`);
    // The SDK's own worker metrics, for this worker's task queues.
    const completed = s.filter((x) => x.name === 'temporal_workflow_completed');
    assert.ok((sumOf(s, 'temporal_workflow_completed', { task_queue: cfg.taskQueue }) ?? 0) >= 1, `temporal_workflow_completed for the run: ${JSON.stringify(completed)}`);
    assert.ok(
      s.some((x) => x.name.startsWith('temporal_activity_execution_latency') && x.labels.activity_type === 'exportPoint'),
      'temporal_activity_execution_latency for exportPoint',
    );
  });

  test('incr then a new full: bytes by type, snapshots deleted, the first circle pruned', async () => {
    await randomWrites(`rbd/${IMAGE}`, 256);
    const mon = await run(MON, `rbd/${IMAGE}`);
    assert.equal(mon.code, 0, JSON.stringify(mon.report));
    assert.equal(mon.report.images[0]!.type, 'incr');
    const diff = catalogOf().circles[0]!.points[1]!;
    const diffBytes = fileSize(diff.file);
    const firstFull = catalogOf().circles[0]!.points[0]!.bytes;

    await randomWrites(`rbd/${IMAGE}`, 256);
    const tue = await run(TUE, `rbd/${IMAGE}`);
    assert.equal(tue.code, 0, JSON.stringify(tue.report));
    assert.equal(tue.report.images[0]!.type, 'full');
    assert.deepEqual(tue.report.images[0]!.prunedCircles?.length, 1);
    const s = await scrapeUntil('three runs counted', (x) => sumOf(x, 'rbd_backup_runs_total', { status: 'ok' }) === 3);
    const cat = catalogOf();
    assert.equal(cat.circles.length, 1, 'circle_retain_count 1 keeps one circle');
    const secondFull = cat.circles[0]!.points[0]!;
    assert.equal(sumOf(s, 'rbd_backup_exported_bytes_total', { ...img, type: 'incr' }), diffBytes);
    assert.equal(sumOf(s, 'rbd_backup_exported_bytes_total', { ...img, type: 'full' }), firstFull + fileSize(secondFull.file));
    assert.equal(sumOf(s, 'rbd_backup_images_total', { ...img, outcome: 'ok' }), 3);
    const deleted = [mon, tue].reduce((n, r) => n + (r.report.images[0]!.deletedSnapshots?.length ?? 0), 0);
    assert.equal(deleted, 2, 'each run deleted the snapshot before it');
    assert.equal(sumOf(s, 'rbd_backup_snapshots_deleted_total', img), deleted);
    assert.equal(sumOf(s, 'rbd_backup_circles_pruned_total', img), 1);
    assert.equal(sumOf(s, 'rbd_backup_export_duration_seconds_count', { pool: 'rbd' }), 3);
    const last = sumOf(s, 'rbd_backup_last_success_timestamp_seconds', img)!;
    assert.ok(Math.abs(last - Date.parse(secondFull.exportedAt) / 1000) < 0.01, 'the newest export sets the gauge');
  });

  test('a failed run: counted as failed, its image by outcome', async () => {
    const r = await run(WED, 'rbd/metrics-missing');
    assert.equal(r.code, 1);
    assert.equal(r.report.status, 'failed');
    const s = await scrapeUntil('the failed run counted', (x) => sumOf(x, 'rbd_backup_runs_total', { status: 'failed' }) === 1);
    assert.equal(sumOf(s, 'rbd_backup_images_total', { pool: 'rbd', image: 'metrics-missing', outcome: r.report.images[0]!.status }), 1);
    assert.equal(sumOf(s, 'rbd_backup_runs_total', { status: 'ok' }), 3, 'the ok count is unchanged');
  });

  test('restore and verify: a restore duration, clean then problem images', async () => {
    const rs = await cli('restore', `rbd/${IMAGE}`, '--at', TUE, '--to', `rbd/${IMAGE}-restored`, '--config', cfg.file);
    assert.equal(rs.code, 0, rs.stderr);
    let s = await scrapeUntil('the restore counted', (x) => sumOf(x, 'rbd_backup_restores_total', { pool: 'rbd', outcome: 'ok' }) === 1);
    assert.equal(sumOf(s, 'rbd_backup_restore_duration_seconds_count', { pool: 'rbd' }), 1);
    await rbd('rm', '--no-progress', `rbd/${IMAGE}-restored`);

    const clean = await cli('verify', `rbd/${IMAGE}`, '--config', cfg.file);
    assert.equal(clean.code, 0, clean.stderr);
    s = await scrapeUntil('the clean verify counted', (x) => sumOf(x, 'rbd_backup_verified_images_total', { outcome: 'clean' }) === 1);
    assert.equal(sumOf(s, 'rbd_backup_verify_problems_total', img), undefined);

    // One flipped byte in the stored full: one corrupt file.
    const full = join(cfg.destination, 'ceph', 'rbd', IMAGE, catalogOf().circles[0]!.points[0]!.file);
    const bytes = readFileSync(full);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(full, bytes);
    const bad = await cli('verify', `rbd/${IMAGE}`, '--config', cfg.file);
    assert.equal(bad.code, 1, bad.stdout);
    s = await scrapeUntil('the problem counted', (x) => sumOf(x, 'rbd_backup_verified_images_total', { outcome: 'problem' }) === 1);
    assert.equal(sumOf(s, 'rbd_backup_verify_problems_total', img), 1);
  });

  test('after a worker restart the last-success gauge is seeded from the catalog, and the next backup updates that same series', async () => {
    await worker.stop();
    worker = await startWorker(cfg.file);
    const newest = () => Math.max(...catalogOf().circles.flatMap((c) => c.points.map((p) => Date.parse(p.exportedAt) / 1000)));
    const gauge = (s: Sample[]) => s.filter((x) => x.name === 'rbd_backup_last_success_timestamp_seconds' && x.labels.pool === 'rbd' && x.labels.image === IMAGE);
    let s = await scrapeUntil('the seeded gauge', (x) => gauge(x).length > 0);
    assert.equal(sumOf(s, 'rbd_backup_runs_total'), undefined, 'a new process: no run has been counted, the value comes from the catalog');
    assert.equal(gauge(s).length, 1, JSON.stringify(gauge(s)));
    const seeded = gauge(s)[0]!;
    assert.ok(Math.abs(seeded.value - newest()) < 0.01, `seeded ${seeded.value} is the newest point's exportedAt ${newest()}`);
    assert.deepEqual([seeded.labels.taskQueue, seeded.labels.workflowType], [cfg.taskQueue, 'imageBackup']);

    await randomWrites(`rbd/${IMAGE}`, 64);
    const thu = await run(THU, `rbd/${IMAGE}`);
    assert.equal(thu.code, 0, JSON.stringify(thu.report));
    s = await scrapeUntil('the new run counted', (x) => sumOf(x, 'rbd_backup_runs_total', { status: 'ok' }) === 1);
    assert.equal(gauge(s).length, 1, `one series per image: ${JSON.stringify(gauge(s))}`);
    assert.ok(gauge(s)[0]!.value > seeded.value);
    assert.ok(Math.abs(gauge(s)[0]!.value - newest()) < 0.01, 'the new export set it');
  });
});
