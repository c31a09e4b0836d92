/**
 * The only code that reads or writes backup metadata. Format: docs/format.md.
 *
 *   <destination>/<cluster>/cluster.json                       identity of the backed-up cluster
 *   <destination>/<cluster>/<pool>/<image>/catalog.json        index of the image's circles
 *   <destination>/<cluster>/<pool>/<image>/<circle>/manifest.json   the circle's own points
 *   <destination>/<cluster>/<pool>/<image>/<circle>/<files>    the exports
 *   <destination>/<cluster>/.reports/<backup name>.json        one report per run
 *
 * One catalog file per image, written only by the workflow that holds that image's mutex, so
 * writers never race; every write is atomic. The catalog is an index: each circle's manifest
 * describes it too, and `rebuildCatalog` recreates catalog.json from them. Records never claim a
 * file that is gone, at any crash point:
 *   adding a point:    export file renamed into place (caller) → manifest → catalog.json;
 *   removing a point:  catalog.json → manifest → file;
 *   removing a circle: catalog.json without it and with a tombstone → directory → tombstone dropped.
 * So a manifest's points include the catalog's, and files include the manifest's. A missing or
 * damaged catalog is an error, never an empty catalog, and a sweep deletes only what is provably
 * ours to delete: leftovers of our own writes and tombstoned circles.
 *
 * Nothing below the destination may be a symbolic link: every method that writes, deletes, or
 * reads to decide a write checks the path first (src/fs/safe-path.ts).
 */
import { lstat, readdir, rmdir, rm } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { dirname } from 'node:path';
import { checkName, isOurSnapshot, type ImageRef } from '../names/names.js';
import { writeFileAtomic, within, fsyncDir } from '../fs/atomic.js';
import { LINK, UnsafePathError, assertNoSymlinks, assertRemovableTree, ensureDir, readTextNoFollow, removeFile, removeTree } from '../fs/safe-path.js';
import {
  CATALOG_FORMAT,
  CatalogUnreadableError,
  assertCatalogShape,
  assertManifestShape,
  isValidName,
  parseCatalog,
  parseManifest,
  type Circle,
  type CircleManifest,
  type ClusterIdentity,
  type ImageCatalog,
  type Parsed,
  type Point,
} from './schema.js';
import { CATALOG_FILE, MANIFEST_FILE, isExportFileName, isLeftoverName, manifestOf } from './manifest.js';

export { CATALOG_FORMAT, CATALOG_FORMAT_V1, CLUSTER_FORMAT, MANIFEST_FORMAT, CatalogUnreadableError, rebuildCommand } from './schema.js';
export type { Circle, CircleManifest, ClusterIdentity, ImageCatalog, Parsed, Point } from './schema.js';
export { CATALOG_FILE, MANIFEST_FILE, fullFileName, diffFileName } from './manifest.js';
export { UnsafePathError } from '../fs/safe-path.js';

/** What a sweep did, and what it found but may not touch. Paths are relative to the image directory. */
export interface SweepResult {
  removed: string[];
  /** Entries no record claims and that are not provably ours: for a person to look at. */
  unclaimed: string[];
}

/** cluster.json cannot be read: no retry heals it, and no run may guess which cluster this is. */
export class IdentityUnreadableError extends Error {
  override name = 'IdentityUnreadableError';
}

export class Catalog {
  readonly root: string;
  constructor(
    readonly destination: string,
    readonly cluster: string,
  ) {
    checkName('cluster', cluster);
    this.root = within(destination, cluster);
  }

  imageDir(r: ImageRef): string {
    return within(this.root, checkName('pool', r.pool), checkName('image', r.image));
  }

  circleDir(r: ImageRef, circle: string): string {
    return within(this.imageDir(r), checkName('circle', circle));
  }

  pointPath(r: ImageRef, p: Pick<Point, 'file'>): string {
    return within(this.imageDir(r), p.file);
  }

  catalogPath(r: ImageRef): string {
    return within(this.imageDir(r), CATALOG_FILE);
  }

  manifestPath(r: ImageRef, circle: string): string {
    return within(this.circleDir(r, circle), MANIFEST_FILE);
  }

  /** Beside the pools but never mistaken for one: a pool name cannot start with '.'. */
  reportPath(backupName: string): string {
    return within(this.root, '.reports', `${checkName('backup', backupName)}.json`);
  }

  /** Refuses a path below the destination that runs through a symbolic link. */
  private check(path: string): Promise<void> {
    return assertNoSymlinks(this.destination, path);
  }

  /** Creates the directories down to `dir`; the cluster directory is 0700: exports hold disk contents. */
  private async ensure(dir: string): Promise<void> {
    await ensureDir(this.destination, this.root, 0o700);
    await ensureDir(this.root, dir);
  }

  /** The image directory, checked; with `create`, created (as are the cluster and pool directories). */
  async checkedImageDir(r: ImageRef, opts: { create?: boolean } = {}): Promise<string> {
    const dir = this.imageDir(r);
    await (opts.create ? this.ensure(dir) : this.check(dir));
    return dir;
  }

  /** For exports, which write into the circle directory: checked, and created with `create`. */
  async checkedCircleDir(r: ImageRef, circle: string, opts: { create?: boolean } = {}): Promise<string> {
    const dir = this.circleDir(r, circle);
    await (opts.create ? this.ensure(dir) : this.check(dir));
    return dir;
  }

  async checkedPointPath(r: ImageRef, p: Pick<Point, 'file'>): Promise<string> {
    const path = this.pointPath(r, p);
    await this.check(path);
    return path;
  }

  /** The report's path with `.reports` created and nothing on the way a link. */
  async checkedReportPath(backupName: string): Promise<string> {
    const path = this.reportPath(backupName);
    await this.ensure(dirname(path));
    await this.check(path);
    return path;
  }

  async writeReport(backupName: string, text: string): Promise<string> {
    const path = await this.checkedReportPath(backupName);
    await writeFileAtomic(path, text);
    return path;
  }

  /** Writes a file beside cluster.json (the cluster's ceph.conf, the keyring when asked). */
  async writeClusterFile(name: 'ceph.conf' | 'keyring', data: Uint8Array, mode: number): Promise<string> {
    const file = within(this.root, name);
    await this.ensure(this.root);
    await this.check(file);
    await writeFileAtomic(file, data, mode);
    return file;
  }

  async readIdentity(): Promise<ClusterIdentity | undefined> {
    const file = within(this.root, 'cluster.json');
    await this.check(file);
    const text = await readTextNoFollow(file);
    if (text === undefined) return undefined;
    let id: Partial<ClusterIdentity> | null;
    try {
      id = JSON.parse(text) as Partial<ClusterIdentity> | null;
    } catch (e) {
      throw new IdentityUnreadableError(`${file}: corrupt JSON (${(e as Error).message}); restore it from a copy, or move it away to record the cluster afresh`);
    }
    if (!id || typeof id !== 'object' || typeof id.name !== 'string' || typeof id.fsid !== 'string') {
      throw new IdentityUnreadableError(`${file}: not a cluster identity (needs "name" and "fsid"); restore it from a copy, or move it away to record the cluster afresh`);
    }
    return id as ClusterIdentity;
  }

  async writeIdentity(id: ClusterIdentity): Promise<void> {
    const file = within(this.root, 'cluster.json');
    await this.ensure(this.root);
    await this.check(file);
    await writeFileAtomic(file, JSON.stringify(id, null, 2) + '\n');
  }

  /**
   * The image's catalog; empty only when the image directory holds no backup data. Throws
   * CatalogUnreadableError when catalog.json is missing although circles exist, is not JSON, has
   * a foreign format or the wrong shape (including a point whose file is outside its circle).
   */
  async load(r: ImageRef): Promise<ImageCatalog> {
    return this.loadExcept(r);
  }

  /** `load`, where `adding` (a point being added, its file already in place) does not count as existing data. */
  private async loadExcept(r: ImageRef, adding?: { circle: string; point: Point }): Promise<ImageCatalog> {
    const file = this.catalogPath(r);
    await this.check(file);
    let text: string | undefined;
    try {
      text = await readTextNoFollow(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new CatalogUnreadableError(file, r, 'is a directory, not a file');
      throw e;
    }
    if (text === undefined) {
      const data = await this.backupDataIn(r, adding);
      if (data) throw new CatalogUnreadableError(file, r, `is missing, but ${data} holds backups`);
      return { format: CATALOG_FORMAT, cluster: this.cluster, pool: r.pool, image: r.image, circles: [] };
    }
    const parsed = parseCatalog(text);
    if (!parsed.ok) throw new CatalogUnreadableError(file, r, parsed.problem);
    return parsed.value;
  }

  async save(c: ImageCatalog): Promise<void> {
    c.format = CATALOG_FORMAT;
    c.circles.sort((a, b) => a.name.localeCompare(b.name));
    assertCatalogShape(c);
    const file = this.catalogPath(c);
    await this.ensure(this.imageDir(c));
    await this.check(file);
    await writeFileAtomic(file, JSON.stringify(c, null, 2) + '\n');
  }

  /** The circle's manifest as read, or undefined when it has none. */
  async readManifest(r: ImageRef, circle: string): Promise<Parsed<CircleManifest> | undefined> {
    const file = this.manifestPath(r, circle);
    await this.check(file);
    let text: string | undefined;
    try {
      text = await readTextNoFollow(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EISDIR') return { ok: false, problem: 'is a directory, not a file' };
      throw e;
    }
    if (text === undefined) return undefined;
    const m = parseManifest(text);
    if (m.ok && m.value.circle !== circle) return { ok: false, problem: `describes circle ${m.value.circle}, not ${circle}` };
    return m;
  }

  /** Writes the circle's manifest (all its points) into its directory, which must exist. */
  async writeManifest(r: ImageRef, circle: Circle): Promise<void> {
    const m = manifestOf({ cluster: this.cluster, pool: r.pool, image: r.image }, circle);
    assertManifestShape(m);
    const file = this.manifestPath(r, circle.name);
    await this.ensure(this.circleDir(r, circle.name));
    await this.check(file);
    await writeFileAtomic(file, JSON.stringify(m, null, 2) + '\n');
  }

  /**
   * Idempotent: adding the same point twice is a no-op. The manifest is written first, for the
   * whole circle, so a circle of an @1 catalog gets its manifest with its next point.
   */
  async addPoint(r: ImageRef, circle: string, point: Point): Promise<void> {
    // The image's first point finds its own file (and, after a crash, its own manifest) in place.
    const c = await this.loadExcept(r, { circle, point });
    let circ = c.circles.find((x) => x.name === circle);
    if (!circ) {
      circ = { name: circle, points: [] };
      c.circles.push(circ);
    }
    if (circ.points.some((p) => p.snapshot === point.snapshot)) return;
    circ.points.push(point);
    // The name is claimed again: a stale tombstone must not let a sweep delete the new circle.
    dropTombstone(c, circle);
    assertCatalogShape(c);
    await this.writeManifest(r, circ);
    await this.save(c);
  }

  /**
   * The entry goes (with a tombstone, in the same write), then the directory, then the tombstone.
   * A circle the catalog neither lists nor tombstones is not ours to remove: a no-op.
   */
  async removeCircle(r: ImageRef, circle: string): Promise<void> {
    const c = await this.load(r);
    const gone = c.circles.find((x) => x.name === circle);
    if (!gone && !c.retiredCircles?.includes(circle)) return;
    // Refused before the catalog changes: a circle whose directory cannot be removed stays listed.
    await assertRemovableTree(this.destination, this.circleDir(r, circle));
    if (gone) {
      c.circles = c.circles.filter((x) => x !== gone);
      retire(c, gone.points);
      c.retiredCircles = [...new Set([...(c.retiredCircles ?? []), circle])].sort();
      await this.save(c);
    }
    await removeTree(this.destination, this.circleDir(r, circle));
    dropTombstone(c, circle);
    await this.save(c);
  }

  /** Removes the newest point of a circle: entry, then manifest, then file; an emptied circle goes entirely. */
  async removeNewestPoint(r: ImageRef, circle: string): Promise<Point | undefined> {
    const c = await this.load(r);
    const circ = c.circles.find((x) => x.name === circle);
    const last = circ?.points.at(-1);
    if (!circ || !last) return undefined;
    if (circ.points.length === 1) {
      await this.removeCircle(r, circle);
      return last;
    }
    await this.checkedPointPath(r, last);
    circ.points.pop();
    retire(c, [last]);
    await this.save(c);
    await this.writeManifest(r, circ);
    await removeFile(this.destination, this.pointPath(r, last));
    return last;
  }

  /** Compatibility form of `sweep`: what was removed. */
  async sweepOrphans(r: ImageRef): Promise<string[]> {
    return (await this.sweep(r)).removed;
  }

  /**
   * Removes only provable garbage in an image directory: leftovers of our own writes (partial
   * exports, atomic-write temps), directories of tombstoned circles, and snapshot-named
   * directories that held nothing but such leftovers (a failed full). Anything else no record
   * claims is returned as unclaimed, untouched. Refuses (CatalogUnreadableError) when the catalog
   * cannot be read: without it nothing is provably garbage. Only called while holding the
   * image's mutex, so nothing in flight is touched.
   */
  async sweep(r: ImageRef): Promise<SweepResult> {
    const c = await this.load(r);
    const dir = this.imageDir(r);
    await this.check(dir);
    const out: SweepResult = { removed: [], unclaimed: [] };
    const entries = (await direntsOf(dir))?.sort(byName);
    if (!entries) return out;
    const claimed = new Map(c.circles.map((x) => [x.name, new Set([MANIFEST_FILE, ...x.points.map((p) => p.file.split('/')[1]!)])]));
    const retired = new Set(c.retiredCircles ?? []);
    for (const e of entries) {
      const name = e.name;
      const files = claimed.get(name);
      if (name === CATALOG_FILE) continue;
      if (e.isFile() && isLeftoverName(name)) {
        await rm(within(dir, name), { force: true });
        out.removed.push(name);
      } else if (files) {
        if (!e.isDirectory()) throw new UnsafePathError(within(dir, name), e.isSymbolicLink() ? LINK : 'is not a directory, though the catalog lists it as a circle');
        await sweepCircle(within(dir, name), name, files, out);
      } else if (retired.has(name)) {
        await removeTree(this.destination, within(dir, name));
        out.removed.push(name);
      } else if (e.isDirectory() && isOurSnapshot(name) && (await onlyLeftovers(within(dir, name)))) {
        await sweepCircle(within(dir, name), name, new Set(), out);
        await rmdir(within(dir, name));
        out.removed.push(name);
      } else {
        out.unclaimed.push(name);
      }
    }
    const present = new Set(entries.map((e) => e.name));
    const stale = [...retired].filter((x) => !present.has(x) || out.removed.includes(x));
    if (stale.length) {
      for (const x of stale) dropTombstone(c, x);
      await this.save(c);
    }
    if (out.removed.length) await fsyncDir(dir);
    return out;
  }

  /**
   * Every image with backup data, for `list` and `verify` without arguments: a `<pool>/<image>`
   * directory holding catalog.json or a circle with a manifest or export files. Found by the data,
   * so an image whose catalog.json was lost is listed (and its load then says how to rebuild it).
   */
  async images(): Promise<ImageRef[]> {
    await this.check(this.root);
    const out: ImageRef[] = [];
    for (const pool of (await direntsOf(this.root)) ?? []) {
      if (pool.name.startsWith('.') || !isValidName('pool', pool.name)) continue;
      if (pool.isSymbolicLink()) throw new UnsafePathError(within(this.root, pool.name), LINK);
      if (!pool.isDirectory()) continue;
      for (const image of (await direntsOf(within(this.root, pool.name))) ?? []) {
        if (!isValidName('image', image.name)) continue;
        if (image.isSymbolicLink()) {
          throw new UnsafePathError(within(this.root, pool.name, image.name), LINK);
        }
        const ref = { pool: pool.name, image: image.name };
        if (image.isDirectory() && (await this.hasCatalogOrData(ref))) out.push(ref);
      }
    }
    return out.sort((a, b) => `${a.pool}/${a.image}`.localeCompare(`${b.pool}/${b.image}`));
  }

  private async hasCatalogOrData(r: ImageRef): Promise<boolean> {
    const st = await lstat(this.catalogPath(r)).catch(() => undefined);
    return !!st || !!(await this.backupDataIn(r));
  }

  /**
   * The first circle directory holding a manifest or an export file, if any: proof that backups
   * exist. With `adding`, that point's own file and a manifest listing only that point do not count.
   */
  async backupDataIn(r: ImageRef, adding?: { circle: string; point: Point }): Promise<string | undefined> {
    const dir = this.imageDir(r);
    for (const e of ((await direntsOf(dir)) ?? []).sort(byName)) {
      if (!e.isDirectory()) continue;
      const own = adding?.circle === e.name ? adding.point : undefined;
      for (const f of (await direntsOf(within(dir, e.name))) ?? []) {
        if (f.name === MANIFEST_FILE && !(own && (await this.manifestListsOnly(r, e.name, own)))) return within(dir, e.name);
        if (f.isFile() && isExportFileName(f.name) && `${e.name}/${f.name}` !== own?.file) return within(dir, e.name);
      }
    }
    return undefined;
  }

  private async manifestListsOnly(r: ImageRef, circle: string, point: Point): Promise<boolean> {
    const m = await this.readManifest(r, circle);
    return !!m?.ok && m.value.points.every((p) => p.snapshot === point.snapshot && p.file === point.file);
  }
}

/** Inside a claimed circle: leftovers go, anything unclaimed is reported. */
async function sweepCircle(dir: string, circle: string, files: Set<string>, out: SweepResult): Promise<void> {
  for (const e of (await direntsOf(dir)) ?? []) {
    if (files.has(e.name)) continue;
    if (e.isFile() && isLeftoverName(e.name)) {
      await rm(within(dir, e.name), { force: true });
      out.removed.push(`${circle}/${e.name}`);
    } else {
      out.unclaimed.push(`${circle}/${e.name}`);
    }
  }
}

async function onlyLeftovers(dir: string): Promise<boolean> {
  return ((await direntsOf(dir)) ?? []).every((e) => e.isFile() && isLeftoverName(e.name));
}

function retire(c: ImageCatalog, points: Point[]): void {
  c.retiredSnapshots = [...new Set([...(c.retiredSnapshots ?? []), ...points.map((p) => p.snapshot)])].sort();
}

function dropTombstone(c: ImageCatalog, circle: string): void {
  if (!c.retiredCircles) return;
  c.retiredCircles = c.retiredCircles.filter((x) => x !== circle);
  if (c.retiredCircles.length === 0) delete c.retiredCircles;
}

export function newestPoint(c: ImageCatalog): { circle: Circle; point: Point } | undefined {
  const circle = [...c.circles].sort((a, b) => a.name.localeCompare(b.name)).at(-1);
  const point = circle?.points.at(-1);
  return circle && point ? { circle, point } : undefined;
}

const byName = (a: Dirent, b: Dirent): number => a.name.localeCompare(b.name);

/** Entries without following links (Dirent types come from lstat), or undefined when `dir` is missing. */
async function direntsOf(dir: string): Promise<Dirent[] | undefined> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}
