/**
 * What must hold after any run, however it was disturbed — the same check ends every fault case:
 *   - every catalogued point's file exists with its recorded size and sha256;
 *   - the newest point's snapshot (the next incremental's base) exists on the image;
 *   - `rbd-backup verify` exits 0;
 *   - every retained point restores bit-exact: the restored image equals the snapshot as the test
 *     itself read it with `rbd export` when it took or learned of that point;
 *   - no partial export or temp file anywhere in the destination, and nothing in an image
 *     directory that the catalog does not claim;
 *   - no snapshot with our prefix on the image that the catalog does not record.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cli, rbd, snapshotSha256, type TestConfig } from './env.js';
import { sha256File } from '../../src/fs/checksum.js';
import { SNAPSHOT_PREFIX } from '../../src/names/names.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';

/** Snapshot name → sha256 of `rbd export POOL/IMAGE@SNAP -`, recorded by the test. */
export type Truth = Map<string, string>;

export interface TrackedImage {
  pool: string;
  image: string;
  truth: Truth;
}

export function tracked(pool: string, image: string): TrackedImage {
  return { pool, image, truth: new Map() };
}

/** Reads the snapshot's bytes now, before retention may delete it, as the truth for its point. */
export async function recordTruth(img: TrackedImage, snapshot: string): Promise<string> {
  const sum = await snapshotSha256(`${img.pool}/${img.image}@${snapshot}`);
  img.truth.set(snapshot, sum);
  return sum;
}

export async function snapshotsOf(spec: string): Promise<string[]> {
  return (JSON.parse(await rbd('snap', 'ls', spec, '--format', 'json')) as { name: string }[]).map((s) => s.name);
}

export async function removeImage(spec: string): Promise<void> {
  await rbd('snap', 'purge', '--no-progress', spec);
  await rbd('rm', '--no-progress', spec);
}

export function catalogOf(cfg: TestConfig, pool: string, image: string): ImageCatalog {
  return JSON.parse(readFileSync(join(cfg.destination, 'ceph', pool, image, 'catalog.json'), 'utf8')) as ImageCatalog;
}

/** Partial exports (`.<file>.partial-<attempt>`) and atomic-write temps (`.<file>.tmp-…`). */
const LEFTOVER = /^\..*\.(partial(-\d+)?|tmp-.*)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

export interface InvariantOptions {
  /** Restore every retained point (the expensive part); on by default. */
  restore?: boolean;
}

export async function assertInvariants(cfg: TestConfig, images: TrackedImage[], opts: InvariantOptions = {}): Promise<void> {
  const leftovers = existsSync(cfg.destination) ? walk(cfg.destination).filter((p) => LEFTOVER.test(p.split('/').at(-1)!)) : [];
  assert.deepEqual(leftovers, [], 'no partial export or temp file left in the destination');

  for (const img of images) {
    const key = `${img.pool}/${img.image}`;
    const imageDir = join(cfg.destination, 'ceph', img.pool, img.image);
    const cat = catalogOf(cfg, img.pool, img.image);
    const points = cat.circles.flatMap((c) => c.points);
    assert.ok(points.length > 0, `${key}: the catalog holds at least one point`);

    for (const p of points) {
      const file = join(imageDir, p.file);
      assert.ok(existsSync(file), `${key}: the file of point ${p.backupName} exists (${p.file})`);
      assert.equal(statSync(file).size, p.bytes, `${key}: ${p.file} has its recorded size`);
      assert.equal((await sha256File(file)).sha256, p.sha256, `${key}: ${p.file} has its recorded sha256`);
    }

    // Each circle describes itself: its manifest lists exactly the catalog's points.
    for (const c of cat.circles) {
      const manifest = join(imageDir, c.name, 'manifest.json');
      assert.ok(existsSync(manifest), `${key}: circle ${c.name} has its manifest`);
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as { points: { snapshot: string; file: string; sha256: string }[] };
      const same = (ps: { snapshot: string; file: string; sha256: string }[]) => ps.map((p) => [p.snapshot, p.file, p.sha256]);
      assert.deepEqual(same(m.points), same(c.points), `${key}: the manifest of ${c.name} matches the catalog`);
    }

    // Nothing unclaimed: a crash between a prune's catalog write and its file removal is swept.
    const claimed = new Map(cat.circles.map((c) => [c.name, new Set(['manifest.json', ...c.points.map((p) => p.file.split('/')[1]!)])]));
    const unclaimed: string[] = [];
    for (const e of readdirSync(imageDir)) {
      if (e === 'catalog.json') continue;
      const files = claimed.get(e);
      if (!files) unclaimed.push(e);
      else for (const f of readdirSync(join(imageDir, e))) if (!files.has(f)) unclaimed.push(`${e}/${f}`);
    }
    assert.deepEqual(unclaimed, [], `${key}: nothing in the image directory that the catalog does not claim`);

    const newest = [...cat.circles].sort((a, b) => a.name.localeCompare(b.name)).at(-1)!.points.at(-1)!;
    const snaps = await snapshotsOf(key);
    assert.ok(snaps.includes(newest.snapshot), `${key}: the newest point's snapshot ${newest.snapshot} exists (on the image: ${snaps.join(', ')})`);

    const recorded = new Set([...points.map((p) => p.snapshot), ...(cat.retiredSnapshots ?? [])]);
    const orphans = snaps.filter((s) => s.startsWith(SNAPSHOT_PREFIX) && !recorded.has(s));
    assert.deepEqual(orphans, [], `${key}: no snapshot of ours that the catalog does not record`);

    const v = await cli('verify', key, '--config', cfg.file, '--json');
    assert.equal(v.code, 0, `${key}: verify exits 0:\n${v.stdout}${v.stderr}`);

    if (opts.restore === false) continue;
    for (const p of points) {
      const truth = img.truth.get(p.snapshot);
      assert.ok(truth, `${key}: the test recorded what point ${p.snapshot} must hold (points: ${points.map((x) => x.snapshot).join(', ')})`);
      const target = `${img.pool}/${img.image}-inv-${randomBytes(3).toString('hex')}`;
      try {
        const r = await cli('restore', key, '--at', p.snapshot, '--to', target, '--config', cfg.file, '--json');
        assert.equal(r.code, 0, `${key}: restore of ${p.snapshot} exits 0: ${r.stderr}`);
        assert.equal(await snapshotSha256(target), truth, `${key}: point ${p.snapshot} restores bit-exact`);
      } finally {
        await removeImage(target).catch(() => undefined);
      }
    }
  }
}
