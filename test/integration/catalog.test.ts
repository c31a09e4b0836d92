/**
 * A lost or damaged catalog never costs a backup: the run refuses the image and deletes nothing,
 * `catalog rebuild` brings the catalog back from the circle directories, and every point restores
 * bit-exact afterwards. And a symlink planted in the destination is refused, never followed.
 * Real cluster, real dev server, real worker, through the CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync } from "node:fs";
import { join } from 'node:path';
import { cli, createImage, randomWrites, rbd, snapshotSha256, startWorker, tempDir, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';

const days = ['2034-03-05T02:00:00.000Z', '2034-03-06T02:00:00.000Z', '2034-03-07T02:00:00.000Z'];
const snapOf = (iso: string) => `rbdbackup-${iso.replace(/[-:]/g, '').replace('.000', '')}`;

/** Every data file under `dir` with its size and mtime: the proof that nothing was deleted or rewritten. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`);
      // The index files are rewritten by a rebuild; the data must not change at all.
      else if (e.name !== 'catalog.json' && e.name !== 'manifest.json') out.push(`${rel}${e.name} ${statSync(p).size} ${statSync(p).mtimeMs}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe('a lost or damaged catalog.json', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  const truth: string[] = [];
  const imageDir = () => join(cfg.destination, 'ceph', 'rbd', 'cat-a');
  const catalogFile = () => join(imageDir(), 'catalog.json');
  let original: ImageCatalog;

  before(async () => {
    cfg = writeConfig('catalog', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 1, circle_retain_count: 4 });
    await createImage('rbd', 'cat-a', 16, 4);
    worker = await startWorker(cfg.file);
    // 2034-03-05 is a Sunday: full, incr, then a new circle (max_incremental 1): two circles, three points.
    for (const d of days) {
      await randomWrites('rbd/cat-a', 256);
      const r = await cli('run', 'rbd/cat-a', '--config', cfg.file, '--as-of', d, '--json');
      assert.equal(r.code, 0, r.stderr);
      truth.push(await snapshotSha256(`rbd/cat-a@${snapOf(d)}`));
    }
    original = JSON.parse(readFileSync(catalogFile(), 'utf8')) as ImageCatalog;
    assert.equal(original.circles.length, 2);
  });
  after(async () => worker?.stop());

  async function refusedThenRebuilt(damage: () => void, asOf: string) {
    const before = listing(imageDir());
    damage();
    assert.deepEqual(listing(imageDir()), before, 'the damage touched only index files');
    const r = await cli('run', 'rbd/cat-a', '--config', cfg.file, '--as-of', asOf, '--json');
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as BackupReport;
    assert.equal(report.images[0]!.status, 'skipped');
    assert.match(report.images[0]!.reason ?? '', /catalog\.json .*rbd-backup catalog rebuild rbd\/cat-a/);
    assert.match(r.stderr, /rbd\/cat-a skipped: .*catalog rebuild rbd\/cat-a/, "said on stderr too");
    assert.deepEqual(listing(imageDir()), before, 'no file deleted or changed');

    const v = await cli('verify', '--config', cfg.file, '--json');
    assert.equal(v.code, 1, 'verify finds the image by its data and reports the catalog');
    assert.match(v.stdout, /cat-a/);

    const rb = await cli('catalog', 'rebuild', 'rbd/cat-a', '--config', cfg.file, '--json');
    assert.equal(rb.code, 0, rb.stderr);
    const rebuilt = JSON.parse(readFileSync(catalogFile(), 'utf8')) as ImageCatalog;
    const strip = (c: ImageCatalog) => c.circles.map((x) => ({ name: x.name, points: x.points.map((p) => [p.snapshot, p.fromSnapshot, p.file, p.bytes, p.sha256]) }));
    assert.deepEqual(strip(rebuilt), strip(original), 'the same circles, points, files and checksums');
    assert.deepEqual(listing(imageDir()), before, 'still nothing deleted');
    const clean = await cli('verify', 'rbd/cat-a', '--config', cfg.file);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  }

  test('deleted: the run refuses the image, deletes nothing; rebuild restores it', async () => {
    await refusedThenRebuilt(() => rmSync(catalogFile()), '2034-03-08T02:00:00Z');
  });

  test('truncated: the same, and the rebuild works from the files alone when manifests are gone too', async () => {
    await refusedThenRebuilt(() => {
      truncateSync(catalogFile(), 100);
      for (const c of original.circles) rmSync(join(imageDir(), c.name, 'manifest.json'));
    }, '2034-03-09T02:00:00Z');
  });

  test('every point restores bit-exact after the rebuild, and the chain goes on', async () => {
    for (const [i, d] of days.entries()) {
      const target = `cat-r${i}`;
      const r = await cli('restore', 'rbd/cat-a', '--at', snapOf(d), '--to', `rbd/${target}`, '--config', cfg.file);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await snapshotSha256(`rbd/${target}`), truth[i], `point ${d}`);
      await rbd('rm', '--no-progress', `rbd/${target}`);
    }
    const next = await cli('run', 'rbd/cat-a', '--config', cfg.file, '--as-of', '2034-03-10T02:00:00Z', '--json');
    assert.equal(next.code, 0, next.stderr);
    const img = (JSON.parse(next.stdout) as BackupReport).images[0]!;
    assert.equal(img.type, 'incr', img.reason);
    assert.equal(img.fromSnapshot, snapOf(days[2]!));
  });
});

describe('a symlink planted in the destination', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  const outside = tempDir('outside');
  before(async () => {
    cfg = writeConfig('planted', { full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] });
    await createImage('rbd', 'planted-a', 8, 1);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('a pool directory that points elsewhere is refused and nothing is written there', async () => {
    mkdirSync(join(cfg.destination, 'ceph'), { recursive: true, mode: 0o700 });
    symlinkSync(outside, join(cfg.destination, 'ceph', 'rbd'));
    const r = await cli('run', 'rbd/planted-a', '--config', cfg.file, '--as-of', '2034-04-01T01:00:00Z', '--json');
    assert.notEqual(r.code, 0);
    const report = JSON.parse(r.stdout) as BackupReport;
    assert.notEqual(report.images[0]!.status, 'ok');
    assert.match(JSON.stringify(report.images[0]), /symbolic link|symlink|link/i);
    assert.deepEqual(readdirSync(outside), [], 'nothing written through the link');
    const snaps = (JSON.parse(await rbd('snap', 'ls', 'rbd/planted-a', '--format', 'json')) as { name: string }[]).map((s) => s.name);
    assert.deepEqual(snaps, [], 'no snapshot left behind');
  });

  test('a reports directory that points elsewhere is refused', async () => {
    rmSync(join(cfg.destination, 'ceph', 'rbd'));
    rmSync(join(cfg.destination, 'ceph', '.reports'), { recursive: true, force: true });
    symlinkSync(outside, join(cfg.destination, 'ceph', '.reports'));
    const r = await cli('run', 'rbd/planted-a', '--config', cfg.file, '--as-of', '2034-04-02T01:00:00Z');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\.reports/);
    assert.deepEqual(readdirSync(outside), [], 'no report written through the link');
    rmSync(join(cfg.destination, 'ceph', '.reports'));
  });
});

