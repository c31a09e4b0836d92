/**
 * Pure retention decisions. The invariant that defect #1 of the original tool broke: the snapshot
 * of the newest point the catalog holds (an export that succeeded and was checksummed) is the base
 * of the next incremental and is never deleted, whatever the counts say.
 */
import { isOurSnapshot } from '../names/names.js';

export interface SnapshotRetention {
  /** Every snapshot on the image, any owner. */
  clusterSnapshots: string[];
  /** Snapshots that are points in the catalog (exports that succeeded). */
  cataloged: string[];
  /** Snapshot of the newest cataloged point. */
  base?: string;
  /** This run's snapshot when its export failed: ours for certain, and never a base. */
  failedSnapshot?: string;
  retain: number;
}

/**
 * Oldest first. Only snapshots this destination's catalog records, plus this run's failed one,
 * are candidates: a prefixed snapshot the catalog does not know may belong to another destination
 * (or to the real catalog behind an unmounted backup disk) and is left alone.
 */
export function snapshotsToDelete(r: SnapshotRetention): string[] {
  const ours = r.clusterSnapshots.filter(isOurSnapshot).sort();
  const good = ours.filter((s) => r.cataloged.includes(s));
  const keep = new Set(good.slice(Math.max(0, good.length - r.retain)));
  if (r.base) keep.add(r.base);
  return ours.filter((s) => !keep.has(s) && (r.cataloged.includes(s) || s === r.failedSnapshot));
}

/** Circles oldest first by name (names are snapshot names, so they sort by time). */
export function circlesToPrune(circles: string[], retain: number): string[] {
  const sorted = [...circles].sort();
  return sorted.slice(0, Math.max(0, sorted.length - Math.max(1, retain)));
}
