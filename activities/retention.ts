/**
 * Retention: surplus snapshots deleted one at a time (only ones this destination's catalog
 * records, never the newest good base), then surplus circles pruned and provable garbage swept.
 */
import { newestPoint, type Catalog } from '../src/catalog/catalog.js';
import { RbdError, ENOENT } from '../src/rbd/rbd.js';
import type { ImageRef } from '../src/names/names.js';
import { snapshotsToDelete, circlesToPrune } from '../src/plan/retention.js';
import { oneAtATime } from '../src/plan/map-limit.js';
import type { FailureDetail } from '../src/contract/backup.js';
import { catalogFor as catalogForConfig } from './access.js';
import { runActivity, withHeartbeat } from './errors.js';
import { stepLogger } from './log.js';
import type { BackupDeps } from './backup.js';

export interface RetentionInput extends ImageRef {
  cluster: string;
  /** Destination key. */
  destination: string;
  retain: number;
  /** This run's snapshot whose export failed: ours for certain, and never a base. */
  failedSnapshot?: string;
  /** The backup name, for the logs. */
  run?: string;
}

export function createRetentionActivities(deps: BackupDeps) {
  const { rbd, config } = deps;
  const log = stepLogger(deps.logger);
  const catalogFor = (cluster: string, destination: string): Catalog => catalogForConfig(config, cluster, destination);

  /**
   * One `rbd snap rm` at a time per worker, whatever the deletion queue's slots: each starts the
   * OSDs' trimming of a snapshot, and trims must not pile up on the cluster. The rest of a step
   * (the catalog, `snap ls`, an image with nothing to delete) runs beside other images' steps.
   */
  const removal = oneAtATime();

  async function pruneSnapshots(r: RetentionInput): Promise<{ deleted: string[]; errors: FailureDetail[] }> {
    return runActivity(async () => {
      const catalog = catalogFor(r.cluster, r.destination);
      const cat = await catalog.load(r);
      const retired = cat.retiredSnapshots ?? [];
      const cataloged = [...cat.circles.flatMap((c) => c.points.map((p) => p.snapshot)), ...retired];
      const base = newestPoint(cat)?.point.snapshot;
      // Inputs scheduled by runs started before the rename say `failed`.
      const failedSnapshot = r.failedSnapshot ?? (r as { failed?: string }).failed;
      const rule = { cataloged, base, retain: r.retain, ...(failedSnapshot ? { failedSnapshot } : {}) };
      // Only recorded (or this run's failed) snapshots can ever be deleted, so if none would be
      // even if all of them were still on the image, asking the cluster (an rbd process) cannot
      // change the answer.
      const possible = [...cataloged, ...(failedSnapshot ? [failedSnapshot] : [])];
      const askCluster = retired.length > 0 || snapshotsToDelete({ ...rule, clusterSnapshots: possible }).length > 0;
      const onCluster = askCluster ? await rbd.snapshotNames(r) : [];
      const doomed = askCluster ? snapshotsToDelete({ ...rule, clusterSnapshots: onCluster }) : [];
      const deleted: string[] = [];
      const errors: FailureDetail[] = [];
      let deleting = '';
      await withHeartbeat(() => ({ snapshot: deleting, deleted: deleted.length, of: doomed.length }), async () => {
        for (const s of doomed) {
          deleting = s;
          try {
            await removal(() => rbd.snapRemove(r, s));
            deleted.push(s);
          } catch (e) {
            if (e instanceof RbdError && e.errno === ENOENT) deleted.push(s);
            else if (e instanceof RbdError) errors.push({ message: e.message, command: e.command, exitCode: e.exitCode ?? -1, stderr: e.stderr });
            else throw e;
          }
        }
      });
      // Retired snapshots leave the record once they are gone from the cluster.
      const stillRetired = retired.filter((x) => onCluster.includes(x) && !deleted.includes(x));
      if (stillRetired.length !== retired.length) {
        const fresh = await catalog.load(r);
        fresh.retiredSnapshots = stillRetired;
        await catalog.save(fresh);
      }
      if (deleted.length) log(r, 'snapshot-delete', r.run).info({ deleted, kept: base }, 'snapshots deleted');
      return { deleted, errors };
    });
  }

  async function pruneCircles(r: RetentionInput): Promise<{ pruned: string[]; swept: string[]; unclaimed: string[] }> {
    return runActivity(async () => {
      const catalog = catalogFor(r.cluster, r.destination);
      const cat = await catalog.load(r);
      const pruned = circlesToPrune(cat.circles.map((c) => c.name), r.retain);
      for (const c of pruned) await catalog.removeCircle(r, c);
      const { removed: swept, unclaimed } = await catalog.sweep(r);
      if (pruned.length || swept.length) log(r, 'prune', r.run).info({ pruned, swept }, 'circles pruned');
      // Never removed: a person decides what an entry no record claims is.
      if (unclaimed.length) log(r, 'prune', r.run).warn({ unclaimed }, 'entries in the image directory that no record claims were left in place');
      return { pruned, swept, unclaimed };
    });
  }

  return { pruneSnapshots, pruneCircles };
}
