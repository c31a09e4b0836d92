/**
 * The shapes of catalog.json and manifest.json (docs/format.md) and their validation. Whatever is
 * read from disk is checked here before any code uses it, so a damaged or hand-edited file is a
 * one-line error naming the file, never a crash deep inside a backup or a delete, and a point can
 * never name a file outside its own circle directory.
 */
import { z } from 'zod';
import { checkName, type ImageRef } from '../names/names.js';

export const CATALOG_FORMAT = 'rbd-backup/image-catalog@2';
/** Still read: the same shape without tombstones; circles of such a catalog have no manifest yet. */
export const CATALOG_FORMAT_V1 = 'rbd-backup/image-catalog@1';
export const MANIFEST_FORMAT = 'rbd-backup/circle-manifest@1';
export const CLUSTER_FORMAT = 'rbd-backup/cluster@1';

export interface Point {
  backupName: string;
  type: 'full' | 'incr';
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
  /** Empty when the point was rebuilt from its file alone. */
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
  /**
   * Circles whose entry was removed and whose directory is being (or was) removed: the only
   * directories a sweep may delete. A name leaves the list once its directory is gone.
   */
  retiredCircles?: string[];
}

/** `<circle>/manifest.json`: the circle described by its own directory. */
export interface CircleManifest {
  format: typeof MANIFEST_FORMAT;
  cluster: string;
  pool: string;
  image: string;
  circle: string;
  points: Point[];
}

export interface ClusterIdentity {
  format: typeof CLUSTER_FORMAT;
  name: string;
  fsid: string;
  createdAt: string;
}

/** checkName as a predicate: for data read from disk, where a bad name is a finding, not a throw. */
export function isValidName(kind: string, value: string): boolean {
  try {
    checkName(kind, value);
    return true;
  } catch {
    return false;
  }
}

const safe = (kind: string) => z.string().refine((s) => isValidName(kind, s), { message: `is not a valid ${kind} name` });

const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'is not a date' });

const pointSchema = z.object({
  backupName: safe('backup'),
  type: z.enum(['full', 'incr']),
  snapshot: safe('snapshot'),
  fromSnapshot: safe('snapshot').nullable(),
  file: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'is not a sha256 in hex' }),
  runTime: instant,
  exportedAt: instant,
  workflowId: z.string(),
});

/** A point's file must be `<circle>/<plain name>`: nothing that climbs, nests or names another circle. */
function pointsInCircle(circle: string, points: { file: string }[], ctx: z.RefinementCtx, at: (string | number)[]): void {
  for (const [i, p] of points.entries()) {
    const parts = p.file.split('/');
    if (parts.length !== 2 || parts[0] !== circle || !isValidName('file', parts[1]!)) ctx.addIssue({ code: 'custom', path: [...at, i, 'file'], message: `${JSON.stringify(p.file)} is not a file of circle ${circle}` });
  }
}

const circleSchema = z
  .object({ name: safe('circle'), points: z.array(pointSchema) })
  .superRefine((c, ctx) => pointsInCircle(c.name, c.points, ctx, ['points']));

const catalogSchema = z
  .object({
    format: z.enum([CATALOG_FORMAT, CATALOG_FORMAT_V1]),
    cluster: safe('cluster'),
    pool: safe('pool'),
    image: safe('image'),
    circles: z.array(circleSchema),
    retiredSnapshots: z.array(safe('snapshot')).optional(),
    retiredCircles: z.array(safe('circle')).optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const [i, circle] of c.circles.entries()) {
      if (seen.has(circle.name)) ctx.addIssue({ code: 'custom', path: ['circles', i, 'name'], message: `circle ${circle.name} appears twice` });
      seen.add(circle.name);
    }
  });

const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    cluster: safe('cluster'),
    pool: safe('pool'),
    image: safe('image'),
    circle: safe('circle'),
    points: z.array(pointSchema),
  })
  .superRefine((m, ctx) => pointsInCircle(m.circle, m.points, ctx, ['points']));

/** Why a file cannot be trusted, in a few words for a one-line message. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function describe(error: z.ZodError): string {
  const issues = error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  return issues.slice(0, 3).join('; ') + (issues.length > 3 ? `; and ${issues.length - 3} more` : '');
}

function parse<T>(text: string, kinds: readonly string[], schema: z.ZodType): Parsed<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `is not valid JSON (${(e as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, problem: 'is not a JSON object' };
  const format = (json as { format?: unknown }).format;
  if (!kinds.includes(format as string)) return { ok: false, problem: `has unknown format ${JSON.stringify(format)} (expected ${kinds.join(' or ')})` };
  const r = schema.safeParse(json);
  return r.success ? { ok: true, value: r.data as T } : { ok: false, problem: `has the wrong shape: ${describe(r.error)}` };
}

/** A catalog of either format, as the current one: an @1 catalog is @2 without tombstones. */
export function parseCatalog(text: string): Parsed<ImageCatalog> {
  const r = parse<ImageCatalog>(text, [CATALOG_FORMAT, CATALOG_FORMAT_V1], catalogSchema);
  if (r.ok) r.value.format = CATALOG_FORMAT;
  return r;
}

export function parseManifest(text: string): Parsed<CircleManifest> {
  return parse<CircleManifest>(text, [MANIFEST_FORMAT], manifestSchema);
}

/** For writers: what is about to be written must be readable again, or it is not written. */
export function assertCatalogShape(c: ImageCatalog): void {
  const r = catalogSchema.safeParse(c);
  if (!r.success) throw new Error(`refusing to write a catalog of ${c.pool}/${c.image} that would not read back: ${describe(r.error)}`);
}

export function assertManifestShape(m: CircleManifest): void {
  const r = manifestSchema.safeParse(m);
  if (!r.success) throw new Error(`refusing to write a manifest of circle ${m.circle} that would not read back: ${describe(r.error)}`);
}

export const rebuildCommand = (r: ImageRef): string => `rbd-backup catalog rebuild ${r.pool}/${r.image}`;

/**
 * The image's catalog.json cannot be trusted, or is missing while backups exist. Nothing that
 * depends on the catalog (backup, prune, sweep, restore) may proceed, because acting on an empty
 * or partial catalog would forget, or delete, backups that are still on disk.
 */
export class CatalogUnreadableError extends Error {
  override name = 'CatalogUnreadableError';
  constructor(
    readonly file: string,
    readonly ref: ImageRef,
    readonly problem: string,
  ) {
    super(`${file} ${problem.replace(/\s*\n\s*/g, ' ')}; run \`${rebuildCommand(ref)}\` to rebuild it from the circle directories`);
  }
}
