/**
 * The only code that reads or writes backup metadata. Format: docs/format.md.
 *
 *   <destination>/<cluster>/cluster.json                       identity of the backed-up cluster
 *   <destination>/<cluster>/<pool>/<image>/catalog.json        circles and points of one image
 *   <destination>/<cluster>/<pool>/<image>/<circle>/<files>    the exports
 *   <destination>/<cluster>/reports/<backup name>.json         one report per run
 *
 * One catalog file per image, written only by the workflow that holds that image's mutex, so
 * writers never race; every write is atomic. A point is added only after its file is renamed into
 * place; a circle's entry is removed before its files, so a crash leaves at worst unclaimed files,
 * which `sweepOrphans` removes — never a point whose file is gone.
 */
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { checkName, type ImageRef } from '../names/names.js';
import { writeFileAtomic, within, fsyncDir } from '../fs/atomic.js';
import type { BackupType } from '../contract/backup.js';

export const CATALOG_FORMAT = 'rbd-backup/image-catalog@1';
export const CLUSTER_FORMAT = 'rbd-backup/cluster@1';

export interface Point {
  backupName: string;
  type: BackupType;
  snapshot: string;
  fromSnapshot: string | null;
  /** Relative to the image directory: `<circle>/<file>`. */
  file: string;
  bytes: number;
  sha256: string;
  /** The run's time (as-of), which names the snapshot. */
  runTime: string;
  /** When the export finished. */
  exportedAt: string;
  workflowId: string;
}

export interface Circle {
  name: string;
  points: Point[];
}

export interface ImageCatalog {
  format: typeof CATALOG_FORMAT;
  cluster: string;
  pool: string;
  image: string;
  circles: Circle[];
  /**
   * Snapshots of points this destination removed (pruned circles, deleted points) that may still
   * be on the cluster: still ours to delete under retention, though no longer points.
   */
  retiredSnapshots?: string[];
}

export interface ClusterIdentity {
  format: typeof CLUSTER_FORMAT;
  name: string;
  fsid: string;
  createdAt: string;
}

export const fullFileName = (snapshot: string): string => `${snapshot}.full`;
export const diffFileName = (snapshot: string, from: string): string => `${snapshot}_from_${from}.diff`;

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

  reportPath(backupName: string): string {
    return within(this.root, 'reports', `${checkName('backup', backupName)}.json`);
  }

  async readIdentity(): Promise<ClusterIdentity | undefined> {
    return readJson<ClusterIdentity>(within(this.root, 'cluster.json'));
  }

  async writeIdentity(id: ClusterIdentity): Promise<void> {
    await writeFileAtomic(within(this.root, 'cluster.json'), JSON.stringify(id, null, 2) + '\n');
  }

  async load(r: ImageRef): Promise<ImageCatalog> {
    const c = await readJson<ImageCatalog>(within(this.imageDir(r), 'catalog.json'));
    if (!c) return { format: CATALOG_FORMAT, cluster: this.cluster, pool: r.pool, image: r.image, circles: [] };
    if (c.format !== CATALOG_FORMAT) throw new Error(`${within(this.imageDir(r), 'catalog.json')}: unknown format ${c.format}`);
    return c;
  }

  async save(c: ImageCatalog): Promise<void> {
    c.circles.sort((a, b) => a.name.localeCompare(b.name));
    await writeFileAtomic(within(this.imageDir(c), 'catalog.json'), JSON.stringify(c, null, 2) + '\n');
  }

  /** Idempotent: adding the same point twice is a no-op. */
  async addPoint(r: ImageRef, circle: string, point: Point): Promise<void> {
    const c = await this.load(r);
    let circ = c.circles.find((x) => x.name === circle);
    if (!circ) {
      circ = { name: circle, points: [] };
      c.circles.push(circ);
    }
    if (circ.points.some((p) => p.snapshot === point.snapshot)) return;
    circ.points.push(point);
    await this.save(c);
  }

  /** Catalog entry first, files second: see the module comment. */
  async removeCircle(r: ImageRef, circle: string): Promise<void> {
    const c = await this.load(r);
    const gone = c.circles.find((x) => x.name === circle);
    if (gone) {
      c.circles = c.circles.filter((x) => x !== gone);
      retire(c, gone.points);
      await this.save(c);
    }
    await rm(this.circleDir(r, circle), { recursive: true, force: true });
    await fsyncDir(this.imageDir(r));
  }

  /** Removes the newest point of a circle (its file after its entry). */
  async removeNewestPoint(r: ImageRef, circle: string): Promise<Point | undefined> {
    const c = await this.load(r);
    const circ = c.circles.find((x) => x.name === circle);
    const last = circ?.points.at(-1);
    if (!circ || !last) return undefined;
    circ.points.pop();
    retire(c, [last]);
    if (circ.points.length === 0) c.circles = c.circles.filter((x) => x !== circ);
    await this.save(c);
    await rm(this.pointPath(r, last), { force: true });
    if (circ.points.length === 0) await rm(this.circleDir(r, circle), { recursive: true, force: true });
    return last;
  }

  /**
   * Removes what the catalog does not claim inside an image directory: circle directories of a
   * crashed prune, partial exports, empty directories of failed fulls. Only called while holding
   * the image's mutex, so nothing in flight is touched.
   */
  async sweepOrphans(r: ImageRef): Promise<string[]> {
    const dir = this.imageDir(r);
    const c = await this.load(r);
    const claimed = new Map(c.circles.map((x) => [x.name, new Set(x.points.map((p) => p.file.split('/')[1]))]));
    const removed: string[] = [];
    for (const entry of await readdirSafe(dir)) {
      if (entry === 'catalog.json') continue;
      const files = claimed.get(entry);
      if (!files) {
        await rm(within(dir, entry), { recursive: true, force: true });
        removed.push(entry);
        continue;
      }
      for (const f of await readdirSafe(within(dir, entry))) {
        if (!files.has(f)) {
          await rm(within(dir, entry, f), { recursive: true, force: true });
          removed.push(`${entry}/${f}`);
        }
      }
    }
    if (removed.length) await fsyncDir(dir);
    return removed;
  }

  /** Every image that has a catalog, for `list` and `verify` without arguments. */
  async images(): Promise<ImageRef[]> {
    const out: ImageRef[] = [];
    for (const pool of await readdirSafe(this.root)) {
      if (pool === 'reports' || pool.startsWith('.') || !(await isDir(within(this.root, pool)))) continue;
      for (const image of await readdirSafe(within(this.root, pool))) {
        try {
          await stat(within(this.root, pool, image, 'catalog.json'));
          out.push({ pool, image });
        } catch {
          // not an image directory
        }
      }
    }
    return out.sort((a, b) => `${a.pool}/${a.image}`.localeCompare(`${b.pool}/${b.image}`));
  }
}

function retire(c: ImageCatalog, points: Point[]): void {
  c.retiredSnapshots = [...new Set([...(c.retiredSnapshots ?? []), ...points.map((p) => p.snapshot)])].sort();
}

export function newestPoint(c: ImageCatalog): { circle: Circle; point: Point } | undefined {
  const circle = [...c.circles].sort((a, b) => a.name.localeCompare(b.name)).at(-1);
  const point = circle?.points.at(-1);
  return circle && point ? { circle, point } : undefined;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: corrupt JSON: ${(e as Error).message}`);
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
