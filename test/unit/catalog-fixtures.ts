/** Real backup directories for the catalog tests: temp roots, points, and real export files. */
import { after } from 'node:test';
import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync, mkdirSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DIFF_V1 } from '../../src/rbd/diff-format.js';
import { Catalog, fullFileName, diffFileName, type Point } from '../../src/catalog/catalog.js';

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-catalog-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
export const freshDir = (): string => {
  const d = join(tmp, `case-${++n}`);
  mkdirSync(d);
  return d;
};

export const IMG = { pool: 'rbd', image: 'vm-1' };
export const snap = (day: number): string => `rbdbackup-202611${String(day).padStart(2, '0')}T010000Z`;

export function point(circle: string, snapshot: string, from: string | null = null): Point {
  const file = from ? diffFileName(snapshot, from) : fullFileName(snapshot);
  return {
    backupName: `b-${snapshot}`,
    type: from ? 'incr' : 'full',
    snapshot,
    fromSnapshot: from,
    file: `${circle}/${file}`,
    bytes: 1,
    sha256: '0'.repeat(64),
    runTime: '2026-11-01T01:00:00.000Z',
    exportedAt: '2026-11-01T01:05:00.000Z',
    workflowId: 'wf',
  };
}

/** Adds the points and creates their files first, as the export activity does. */
export async function withPoints(cat: Catalog, pts: [string, Point][], ref = IMG): Promise<void> {
  for (const [circle, p] of pts) {
    const f = cat.pointPath(ref, p);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, p.snapshot);
    await cat.addPoint(ref, circle, p);
  }
}

/** Every file below `dir` with its contents: equal before and after means nothing there changed. */
export function snapshotOf(dir: string): [string, string][] {
  return allFiles(dir).map((f) => {
    const p = join(dir, f);
    return [f, lstatSync(p).isSymbolicLink() ? `link to ${readlinkSync(p)}` : readFileSync(p, 'latin1')];
  });
}

/** An `rbd diff v1` file as `rbd export-diff` writes it: header, one data record, end. */
export function diffBytes(from: string | null, to: string | null, data: Buffer): Buffer {
  const name = (tag: string, s: string) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(Buffer.byteLength(s));
    return Buffer.concat([Buffer.from(tag), len, Buffer.from(s)]);
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return b;
  };
  return Buffer.concat([
    Buffer.from(DIFF_V1, 'latin1'),
    ...(from ? [name('f', from)] : []),
    ...(to ? [name('t', to)] : []),
    Buffer.from('s'),
    u64(1 << 20),
    Buffer.from('w'),
    u64(0),
    u64(data.length),
    data,
    Buffer.from('e'),
  ]);
}

/**
 * A point whose file really exists with real contents (a full's bytes, or a real diff), with the
 * recorded size and sha256 of those contents, added through the catalog as an export would be.
 */
export async function realPoint(cat: Catalog, circle: string, snapshot: string, from: string | null, ref = IMG): Promise<Point> {
  const p = point(circle, snapshot, from);
  const bytes = from ? diffBytes(from, snapshot, Buffer.from(`changes up to ${snapshot}`)) : Buffer.from(`image at ${snapshot}`.repeat(100));
  const f = cat.pointPath(ref, p);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, bytes);
  // What a real run records: the compact time as backup name, and the time that named the snapshot.
  const t = snapshot.slice('rbdbackup-'.length);
  const runTime = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}.000Z`;
  const real = { ...p, backupName: t, runTime, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  await cat.addPoint(ref, circle, real);
  return real;
}

export function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}
