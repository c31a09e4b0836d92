/**
 * Names that reach `rbd` argv or the backup directory. We accept a conservative subset of what Ceph
 * allows, so a name can never be read as an option, a path component that climbs, or a snapshot
 * separator — and the error names the culprit.
 */
const SAFE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

export class NameError extends Error {
  override name = 'NameError';
}

export function checkName(kind: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new NameError(`${kind} name is empty`);
  if (value === '.' || value === '..' || value.includes('..')) {
    throw new NameError(`${kind} name ${JSON.stringify(value)} must not contain '..'`);
  }
  if (value.length > 255) throw new NameError(`${kind} name ${JSON.stringify(value)} is longer than 255 characters`);
  if (!SAFE.test(value)) {
    throw new NameError(
      `${kind} name ${JSON.stringify(value)} may only use letters, digits, '_', '.', '-' and must not start with '-' or '.'`,
    );
  }
  return value;
}

export interface ImageRef {
  pool: string;
  image: string;
}

export function parseImageSpec(spec: string): ImageRef {
  const parts = spec.split('/');
  if (parts.length !== 2) throw new NameError(`image ${JSON.stringify(spec)} is not POOL/IMAGE`);
  return { pool: checkName('pool', parts[0]!), image: checkName('image', parts[1]!) };
}

export const imageKey = (r: ImageRef): string => `${r.pool}/${r.image}`;

/** Our snapshots carry this prefix; nothing without it is ever deleted by this tool. */
export const SNAPSHOT_PREFIX = 'rbdbackup-';

/** 2026-11-26T14:38:51.123Z -> 20261126T143851Z: sortable, UTC, no DST collisions. */
export function compactUtc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export const snapshotNameFor = (runTime: Date): string => SNAPSHOT_PREFIX + compactUtc(runTime);

export const isOurSnapshot = (name: string): boolean =>
  name.startsWith(SNAPSHOT_PREFIX) && /^\d{8}T\d{6}Z$/.test(name.slice(SNAPSHOT_PREFIX.length));
