/**
 * Schemas of every workflow input, shared by the CLI, the client API and the workflows themselves:
 * a schedule or another service can send anything, so each workflow checks its input at entry and
 * fails with a non-retryable error naming the field (see workflows/contract.ts). Objects are
 * strict: a field the contract does not have (a path, a keyring flag, a policy) is refused, not
 * ignored.
 */
import { z } from 'zod';
import { checkName } from '../names/names.js';

function named(kind: string) {
  return z.string().superRefine((s, ctx) => {
    try {
      checkName(kind, s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });
}

/** Keys of the worker's destinations and config-level names: plain identifiers. */
const key = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/, 'must be a plain key (letters, digits, _ . -)');

/** An ISO 8601 instant with a zone and a real calendar date (2026-02-30 is refused, not rolled over). */
export const instant = z.string().superRefine((s, ctx) => {
  const problem = instantProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export function instantProblem(s: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return `${JSON.stringify(s)} is not an ISO 8601 instant with a zone, e.g. 2026-11-29T01:00:00Z`;
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (mo < 1 || mo > 12 || day.getUTCDate() !== d || day.getUTCMonth() !== mo - 1) return `${s} is not a calendar date`;
  if (h > 23 || mi > 59 || sec > 59) return `${s} is not a time of day`;
  if (Number.isNaN(Date.parse(s))) return `${s} is not a valid instant`;
  return undefined;
}

export const imageRefSchema = z.object({ pool: named('pool'), image: named('image') }).strict();

export const imageSelectionSchema = imageRefSchema
  .extend({
    backupType: z.enum(['full', 'incr']).optional(),
    maxIncremental: z.number().int().min(0).optional(),
    circleRetainCount: z.number().int().min(1).optional(),
    snapshotRetainCount: z.number().int().min(1).optional(),
  })
  .strict();

export const backupRunInputSchema = z
  .object({
    cluster: named('cluster'),
    images: z.array(imageSelectionSchema).min(1).max(100_000).optional(),
    destination: key.optional(),
    backupName: named('backup').optional(),
    asOf: instant.optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.images?.forEach((s, i) => {
      const k = `${s.pool}/${s.image}`;
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: ['images', i], message: `image ${k} is listed twice` });
      seen.add(k);
    });
  });

const snapshot = named('snapshot').refine((s) => /^rbdbackup-\d{8}T\d{6}Z$/.test(s), 'must be one of our snapshot names (rbdbackup-YYYYMMDDTHHMMSSZ)');

/** The image child's input: built by backupRun, but startable by anyone, so checked the same way. */
export const imagePlanSchema = imageRefSchema
  .extend({
    cluster: named('cluster'),
    destination: key,
    backupName: named('backup'),
    runTime: instant,
    type: z.enum(['full', 'incr']),
    reason: z.string().max(1000),
    snapshot,
    fromSnapshot: snapshot.optional(),
    circle: snapshot,
    estimatedBytes: z.number().int().min(0),
    sizeBytes: z.number().int().min(0),
    snapshotRetainCount: z.number().int().min(1),
    circleRetainCount: z.number().int().min(1),
    exportMinBytesPerSecond: z.number().int().min(1),
    parentWorkflowId: z.string().min(1).max(1000),
  })
  .strict()
  .refine((p) => (p.type === 'incr') === (p.fromSnapshot !== undefined), { message: 'fromSnapshot is required for incr and forbidden for full', path: ['fromSnapshot'] })
  .refine((p) => p.type === 'incr' || p.circle === p.snapshot, { message: "a full's circle is its own snapshot", path: ['circle'] });

export const imageBatchSchema = z.array(imagePlanSchema).max(1000);

const pointName = z.string().min(1).max(300).regex(/^[A-Za-z0-9_.:+-]+$/, 'must be a backup name, a snapshot name or an ISO 8601 instant');

export const restoreInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
    source: imageRefSchema,
    at: pointName,
    target: imageRefSchema.optional(),
    force: z.boolean(),
    keepSnapshots: z.boolean(),
    /** Disaster recovery: read the backups filed under this cluster name instead of `cluster`'s. */
    fromCluster: named('cluster').optional(),
    checkImage: z.boolean().optional(),
  })
  .strict()
  // From another cluster's backups the source image is not in this cluster: restoring under its
  // own name is the point of disaster recovery (the worker still refuses it when the backups turn
  // out to be of this very cluster, by fsid).
  .refine((r) => !r.target || r.fromCluster !== undefined || r.target.pool !== r.source.pool || r.target.image !== r.source.image, {
    message: 'the restore target must not be the source image itself (restore beside it, check, then rename)',
    path: ['target'],
  });

export const verifyInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
    /** Check the backups filed under this cluster name instead of `cluster`'s (read-only). */
    fromCluster: named('cluster').optional(),
    images: z.array(imageRefSchema).min(1).max(100_000).optional(),
    deep: z.boolean(),
  })
  .strict()
  // A deep check compares a restore with the source's snapshots, which are on the other cluster;
  // here a snapshot of the same name would belong to another image.
  .refine((v) => !(v.deep && v.fromCluster !== undefined), {
    message: "deep compares with the source image's snapshots, which are not on this cluster: verify another cluster's backups without deep",
    path: ['deep'],
  });

export const verifyImageInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
    fromCluster: named('cluster').optional(),
    image: imageRefSchema,
    explicit: z.boolean(),
    deep: z.boolean(),
  })
  .strict();

export const deleteInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
    image: imageRefSchema,
    circle: snapshot.optional(),
    point: pointName.optional(),
  })
  .strict()
  .refine((d) => (d.circle === undefined) !== (d.point === undefined), { message: 'give exactly one of circle or point', path: ['circle'] });

/** `images[2].pool: pool name "a b" may only use …` — the field first, so the culprit is read first. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: not part of the contract`;
  return `${path || '(input)'}: ${msg}`;
}

/** Parses or returns the first problem as one line. */
export function check<T>(schema: z.ZodType<T>, value: unknown): { ok: true; value: T } | { ok: false; problem: string } {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, problem: describeIssue(r.error.issues[0]!) };
}

export const rebuildInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
    image: imageRefSchema,
    replace: z.boolean(),
  })
  .strict();

export const rebuildAllInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
  })
  .strict();

/** `show cluster`: which cluster, and whose cluster.json (a destination key). */
export const clusterInputSchema = z
  .object({
    cluster: named('cluster'),
    destination: key.optional(),
  })
  .strict();
