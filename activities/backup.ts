/**
 * Side effects of the backup run, one exported function per step. Every step is idempotent: the
 * workflow may run any of them again after a crash or a timeout.
 */
import { Context, CancelledFailure } from '@temporalio/activity';
import { readFile, rm, rename, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { Logger } from 'pino';
import { destinationPath, policyOf, type Config } from '../src/config/config.js';
import { catalogFor as catalogForConfig, checkDestination } from './access.js';
import { loadImageList } from '../src/config/image-list.js';
import { isOurSnapshot } from '../src/names/names.js';
import { Catalog, diffFileName, fullFileName, newestPoint, type Point } from '../src/catalog/catalog.js';
import { Rbd, RbdError, EEXIST, ENOENT } from '../src/rbd/rbd.js';
import { checkName, imageKey, type ImageRef } from '../src/names/names.js';
import { snapshotsToDelete, circlesToPrune } from '../src/plan/retention.js';
import { sha256File } from '../src/fs/checksum.js';
import { fsyncDir, fsyncFile, within } from '../src/fs/atomic.js';
import {
  INPUT_ERROR,
  type BackupReport,
  type ExportResult,
  type FailureDetail,
  type ImageFacts,
  type ImagePlan,
  type ImageSelection,
  type PlanResult,
  type ResolvedRun,
} from '../src/contract/backup.js';
import { guard, refuse, withHeartbeat, HEARTBEAT_MS } from './errors.js';

export interface BackupDeps {
  rbd: Rbd;
  /**
   * The worker's own config: the cluster it serves, its destinations, the keyring and the policy
   * defaults. Workflow inputs may only pick among what it allows.
   */
  config: Config;
  logger: Logger;
}

export interface PlanInput {
  cluster: string;
  /** Destination key. */
  destination: string;
  images: ImageSelection[];
  backupName: string;
  /** This run's snapshot: the same name with the same snapshot is this run again, not a clash. */
  snapshot: string;
  workflowId: string;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the input order in the output. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function createBackupActivities(deps: BackupDeps) {
  const { rbd, config } = deps;
  const served = config.cluster.name;

  const catalogFor = (cluster: string, destination: string): Catalog => catalogForConfig(config, cluster, destination);

  /** The run's policy and images, from this worker's config and list file, read now. */
  async function resolveRun(input: { cluster: string; destination?: string; images?: ImageSelection[] }): Promise<ResolvedRun> {
    return guard(async () => {
      const key = input.destination ?? 'default';
      catalogFor(input.cluster, key);
      let images = input.images;
      if (!images) {
        if (!config.backup.list_file) throw refuse(INPUT_ERROR, 'no images: the run names none and this worker has no backup.list_file');
        images = loadImageList(config.backup.list_file, served);
        if (images.length === 0) throw refuse(INPUT_ERROR, `${config.backup.list_file}: the image list is empty`);
      }
      return { policy: policyOf(config, key), images };
    });
  }
  /** Every line carries the run (backup name), the workflow, the image and the phase. */
  const log = (ref: Partial<ImageRef>, phase: string, run?: string) => {
    let workflowId: string | undefined;
    try {
      workflowId = Context.current().info.workflowExecution?.workflowId;
    } catch {
      workflowId = undefined;
    }
    return deps.logger.child({ run, workflowId, image: ref.pool ? imageKey(ref as ImageRef) : undefined, phase });
  };

  /** Read-only: planning writes nothing, so a refused run leaves the destination as it was. */
  async function checkIdentity(catalog: Catalog): Promise<string> {
    const fsid = await rbd.fsid();
    const recorded = await catalog.readIdentity();
    if (recorded && (recorded.name !== catalog.cluster || recorded.fsid !== fsid)) {
      throw refuse(INPUT_ERROR, 
        `${catalog.root}/cluster.json records cluster ${recorded.name} (fsid ${recorded.fsid}), but the live cluster is ${catalog.cluster} (fsid ${fsid}): refusing to mix backups`,
      );
    }
    return fsid;
  }

  /** First run: records the cluster's identity and copies ceph.conf (and the keyring if asked). */
  async function recordCluster(input: { cluster: string; destination: string; fsid: string }): Promise<void> {
    return guard(async () => {
      const catalog = catalogFor(input.cluster, input.destination);
      if (await catalog.readIdentity()) return;
      await writeIdentity(catalog, input.fsid);
    });
  }

  async function writeIdentity(catalog: Catalog, fsid: string): Promise<void> {
    // The cluster directory is created 0700 by the catalog: backups hold disk contents.
    await catalog.writeClusterFile('ceph.conf', await readFile(config.cluster.conf), 0o644);
    // Only the worker's own config can ask for the keyring: it is a secret, never a run's choice.
    if (config.backup.copy_keyring) await catalog.writeClusterFile('keyring', await readFile(config.cluster.keyring), 0o600);
    await catalog.writeIdentity({ format: 'rbd-backup/cluster@1', name: catalog.cluster, fsid, createdAt: new Date().toISOString() });
  }

  async function planRun(input: PlanInput): Promise<PlanResult> {
    return guard(async () => {
      const catalog = catalogFor(input.cluster, input.destination);
      await checkDestination(destinationPath(config, input.destination));
      checkName('backup', input.backupName);
      // Name conflicts before anything is written: a name taken by another run is bad input.
      for (const sel of input.images) {
        // An unreadable catalog is reported for its image by imageFacts below.
        const c = await catalog.load(sel).catch(() => undefined);
        for (const p of c?.circles.flatMap((x) => x.points) ?? []) {
          if (p.backupName === input.backupName && p.snapshot !== input.snapshot) {
            throw refuse(INPUT_ERROR, `backup name ${input.backupName} already exists for ${imageKey(sel)} (run ${p.workflowId})`);
          }
          // Same instant, other name: the snapshot would be shared and the point not this run's.
          if (p.snapshot === input.snapshot && p.backupName !== input.backupName) {
            throw refuse(INPUT_ERROR, `snapshot ${p.snapshot} of ${imageKey(sel)} belongs to backup ${p.backupName}; choose another --as-of`);
          }
        }
      }
      const fsid = await checkIdentity(catalog);
      const fsStat = await statfs(await nearestExisting(catalog.root));
      const freeBytes = Number(fsStat.bavail) * Number(fsStat.bsize);
      const pools = new Set(await rbd.pools());
      const missing: PlanResult['missing'] = [];
      const present = input.images.filter((s) => {
        if (pools.has(s.pool)) return true;
        missing.push({ pool: s.pool, image: s.image, reason: `pool ${s.pool} not found` });
        return false;
      });
      let done = 0;
      const facts = await withHeartbeat(() => ({ planned: done }), () => mapLimit(present, 8, async (sel): Promise<ImageFacts | undefined> => {
        done++;
        try {
          return await imageFacts(catalog, sel);
        } catch (e) {
          // One image's trouble (not found, rbd error, corrupt catalog) is reported for that image.
          const reason = e instanceof RbdError && e.errno === ENOENT ? `image ${imageKey(sel)} not found` : `cannot plan ${imageKey(sel)}: ${(e as Error).message}`;
          missing.push({ pool: sel.pool, image: sel.image, reason });
          return undefined;
        }
      }));
      log({}, 'plan', input.backupName).info({ images: present.length, missing: missing.length, freeBytes }, 'planned');
      return { clusterDir: catalog.root, fsid, freeBytes, facts: facts.filter((f): f is ImageFacts => !!f), missing };
    });
  }

  async function imageFacts(catalog: Catalog, sel: ImageRef): Promise<ImageFacts> {
    const size = (await rbd.info(sel)).size;
    const [usage, snaps, cat] = await Promise.all([rbd.usage(sel), rbd.snapshotNames(sel), catalog.load(sel)]);
    const f: ImageFacts = {
      pool: sel.pool,
      image: sel.image,
      sizeBytes: size,
      usedBytes: usage.totalUsed,
      changedBytes: usage.headUsed,
      ourSnapshots: snaps.filter(isOurSnapshot),
    };
    const newest = newestPoint(cat);
    if (newest) {
      f.newest = {
        circle: newest.circle.name,
        snapshot: newest.point.snapshot,
        backupName: newest.point.backupName,
        circleDirExists: await exists(catalog.circleDir(sel, newest.circle.name)),
        diffsInCircle: newest.circle.points.filter((p) => p.type === 'incr').length,
        filesIntact: await filesIntact(catalog, sel, newest.circle.points),
      };
    }
    return f;
  }

  /** Each file of the chain present with its recorded size: cheap, and enough to never extend a broken chain. */
  async function filesIntact(catalog: Catalog, ref: ImageRef, points: Point[]): Promise<boolean> {
    for (const p of points) {
      const st = await stat(catalog.pointPath(ref, p)).catch(() => undefined);
      if (!st || st.size !== p.bytes) return false;
    }
    return true;
  }

  async function createSnapshot(p: Pick<ImagePlan, 'pool' | 'image' | 'snapshot'> & { backupName?: string }): Promise<void> {
    return guard(async () => {
      try {
        await rbd.snapCreate(p, p.snapshot);
      } catch (e) {
        // The name is derived from the run, so an existing one is this run's earlier attempt.
        if (!(e instanceof RbdError && e.errno === EEXIST)) throw e;
      }
      log(p, 'snapshot', p.backupName).info({ snapshot: p.snapshot }, 'snapshot taken');
    });
  }

  async function exportPoint(p: ImagePlan & { workflowId: string }): Promise<ExportResult> {
    return guard(async () => {
      const catalog = catalogFor(p.cluster, p.destination);
      const ctx = Context.current();
      const l = log(p, 'export', p.backupName);
      const current = await catalog.load(p);
      const existing = current.circles.flatMap((c) => c.points).find((x) => x.snapshot === p.snapshot);
      if (existing) {
        return { file: existing.file, bytes: existing.bytes, sha256: existing.sha256, startedAt: existing.exportedAt, finishedAt: existing.exportedAt };
      }
      // The plan was made before this image's mutex was held: re-check it against the catalog now.
      const stale = staleness(current.circles.find((c) => c.name === p.circle), p);
      if (stale) throw refuse('StalePlan', `plan for ${imageKey(p)} is stale: ${stale}; run again`);
      // Created and checked: no directory on the way may be a link out of the destination.
      const dir = await catalog.checkedCircleDir(p, p.circle, { create: true });
      const name = p.type === 'full' ? fullFileName(p.snapshot) : diffFileName(p.snapshot, p.fromSnapshot!);
      const final = within(dir, name);
      // Per attempt: an earlier attempt's rbd may still be running after a heartbeat timeout.
      const tmp = within(dir, `.${name}.partial-${ctx.info.attempt}`);
      // rbd opens its output with O_EXCL: this attempt's own leftover must go first. The final
      // file is never removed here: an earlier attempt may be cataloguing it right now.
      await rm(tmp, { force: true });
      const startedAt = new Date().toISOString();
      let phase = 'export';
      let hashed = 0;
      let written = 0;
      const sizer = setInterval(() => void stat(tmp).then((st) => (written = st.size), () => undefined), HEARTBEAT_MS);
      try {
        return await withHeartbeat(() => ({ phase, written, hashed }), () => exportSteps());
      } catch (e) {
        await rm(tmp, { force: true });
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('export cancelled; partial file removed');
        l.error({ err: e instanceof RbdError ? { command: e.command, exitCode: e.exitCode, stderr: e.stderr } : String(e) }, 'export failed');
        throw e;
      } finally {
        clearInterval(sizer);
      }

      /** Cancellation arrives with a heartbeat; each irreversible step checks it first. */
      function stillWanted(step: string): void {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`export cancelled before ${step}`);
      }

      async function exportSteps(): Promise<ExportResult> {
        l.info({ type: p.type, snapshot: p.snapshot, from: p.fromSnapshot, file: final }, 'export started');
        if (p.type === 'full') await rbd.exportFull(p, p.snapshot, tmp, ctx.cancellationSignal);
        else await rbd.exportDiff(p, p.fromSnapshot!, p.snapshot, tmp, ctx.cancellationSignal);
        await fsyncFile(tmp);
        phase = 'checksum';
        const sum = await sha256File(tmp, (b) => (hashed = b), ctx.cancellationSignal);
        stillWanted('rename');
        // Another attempt of this very export may have finished first: its point stands, and ours
        // (the same snapshot, the same bytes) is dropped rather than renamed over a recorded file.
        const done = (await catalog.load(p)).circles.flatMap((c) => c.points).find((x) => x.snapshot === p.snapshot);
        if (done) {
          await rm(tmp, { force: true });
          return { file: done.file, bytes: done.bytes, sha256: done.sha256, startedAt: done.exportedAt, finishedAt: done.exportedAt };
        }
        await rename(tmp, final);
        await fsyncDir(dir);
        if (ctx.cancellationSignal.aborted) {
          // Renamed by this attempt and recorded nowhere: ours to take back.
          await rm(final, { force: true });
          stillWanted('catalog write');
        }
        const finishedAt = new Date().toISOString();
        const point: Point = {
          backupName: p.backupName,
          type: p.type,
          snapshot: p.snapshot,
          fromSnapshot: p.fromSnapshot ?? null,
          file: `${p.circle}/${name}`,
          bytes: sum.bytes,
          sha256: sum.sha256,
          runTime: p.runTime,
          exportedAt: finishedAt,
          workflowId: p.parentWorkflowId,
        };
        await catalog.addPoint(p, p.circle, point);
        l.info({ bytes: sum.bytes, sha256: sum.sha256 }, 'export done');
        return { file: point.file, bytes: sum.bytes, sha256: sum.sha256, startedAt, finishedAt };
      }
    });
  }

  interface RetentionInput extends ImageRef {
    cluster: string;
    /** Destination key. */
    destination: string;
    retain: number;
    failed?: string;
    /** The backup name, for the logs. */
    run?: string;
  }

  /** One snapshot at a time: the deletion queue has one slot per worker, so trims never pile up. */
  async function pruneSnapshots(r: RetentionInput): Promise<{ deleted: string[]; errors: FailureDetail[] }> {
    return guard(async () => {
      const catalog = catalogFor(r.cluster, r.destination);
      const cat = await catalog.load(r);
      const retired = cat.retiredSnapshots ?? [];
      const cataloged = [...cat.circles.flatMap((c) => c.points.map((p) => p.snapshot)), ...retired];
      const base = newestPoint(cat)?.point.snapshot;
      const onCluster = await rbd.snapshotNames(r);
      const doomed = snapshotsToDelete({ clusterSnapshots: onCluster, cataloged, base, retain: r.retain, ...(r.failed ? { failed: r.failed } : {}) });
      const deleted: string[] = [];
      const errors: FailureDetail[] = [];
      for (const s of doomed) {
        Context.current().heartbeat({ snapshot: s });
        try {
          await rbd.snapRemove(r, s);
          deleted.push(s);
        } catch (e) {
          if (e instanceof RbdError && e.errno === ENOENT) deleted.push(s);
          else if (e instanceof RbdError) errors.push({ message: e.message, command: e.command, exitCode: e.exitCode ?? -1, stderr: e.stderr });
          else throw e;
        }
      }
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
    return guard(async () => {
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

  async function writeReport(input: { destination: string; report: BackupReport }): Promise<string> {
    return guard(async () => {
      const catalog = catalogFor(input.report.cluster, input.destination);
      const file = catalog.reportPath(input.report.backupName);
      return catalog.writeReport(input.report.backupName, JSON.stringify({ ...input.report, reportFile: file }, null, 2) + '\n');
    });
  }

  return { resolveRun, planRun, recordCluster, createSnapshot, exportPoint, pruneSnapshots, pruneCircles, writeReport };
}

/** Why a planned export no longer fits the catalog, or undefined when it does. */
function staleness(circle: { points: Point[] } | undefined, p: ImagePlan): string | undefined {
  if (p.type === 'full') return circle && circle.points.length ? `circle ${p.circle} already exists` : undefined;
  const last = circle?.points.at(-1);
  if (!last) return `circle ${p.circle} is gone`;
  if (last.snapshot !== p.fromSnapshot) return `circle ${p.circle} now ends at ${last.snapshot}, not ${p.fromSnapshot}`;
  return undefined;
}

/** The destination may not exist yet (it is created after the checks pass): measure its parent. */
async function nearestExisting(p: string): Promise<string> {
  for (let d = p; ; d = dirname(d)) {
    if (await exists(d)) return d;
    if (dirname(d) === d) return d;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
