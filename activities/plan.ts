/**
 * The plan step of a backup run: what the worker's config says (policy, list file), what the
 * cluster and the catalog say about each image. Planning writes nothing, so a refused run leaves
 * the destination as it was; the first run's identity record comes after the checks pass.
 */
import { readFile, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { destinationPath, policyOf } from '../src/config/config.js';
import { workerImages } from '../src/config/image-source.js';
import { newestPoint, type Catalog, type Point } from '../src/catalog/catalog.js';
import { RbdError, ENOENT } from '../src/rbd/rbd.js';
import { checkName, imageKey, isOurSnapshot, type ImageRef } from '../src/names/names.js';
import { mapLimit } from '../src/plan/map-limit.js';
import { pathExists } from '../src/fs/exists.js';
import { INPUT_ERROR, type ImageFacts, type ImageSelection, type PlanResult, type ResolvedRun } from '../src/contract/backup.js';
import { catalogFor as catalogForConfig, checkDestination } from './access.js';
import { runActivity, refuse, withHeartbeat } from './errors.js';
import { stepLogger } from './log.js';
import type { BackupDeps } from './backup.js';

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

export function createPlanActivities(deps: BackupDeps) {
  const { rbd, config } = deps;
  const served = config.cluster.name;
  const log = stepLogger(deps.logger);
  const catalogFor = (cluster: string, destination: string): Catalog => catalogForConfig(config, cluster, destination);

  /** The run's policy and images, from this worker's config and list file, read now. */
  async function resolveRun(input: { cluster: string; destination?: string; images?: ImageSelection[] }): Promise<ResolvedRun> {
    return runActivity(async () => {
      const key = input.destination ?? 'default';
      catalogFor(input.cluster, key);
      if (input.images) return { policy: policyOf(config, key), images: input.images };
      // The list file and/or Cinder; names Cinder cannot map are reported as skipped images.
      const found = await workerImages(config, served);
      if (found.listed !== undefined) log({}, 'resolve').info({ volumes: found.listed, images: found.images.length, skipped: found.skipped.length }, 'cinder volumes listed');
      if (found.cinderError !== undefined) log({}, 'resolve').warn({ images: found.images.length, reason: found.cinderError }, 'cinder not read: backing up the list file only');
      return { policy: policyOf(config, key), images: found.images, ...(found.skipped.length ? { skipped: found.skipped } : {}) };
    });
  }

  /** Read-only: planning writes nothing, so a refused run leaves the destination as it was. */
  async function checkIdentity(catalog: Catalog, fsid: string): Promise<string> {
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
    return runActivity(async () => {
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
    return runActivity(async () => {
      const catalog = catalogFor(input.cluster, input.destination);
      await checkDestination(destinationPath(config, input.destination));
      checkName('backup', input.backupName);
      let done = 0;
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
      // Independent questions, asked together: every answer is a process start (0.1–0.3 s), and
      // one after another they were most of a run's fixed cost. An image's facts are gathered
      // before its pool is known to exist; a missing pool's image is then reported as such.
      const [cluster, fsStat, gathered] = await Promise.all([
        rbd.clusterFacts(),
        nearestExisting(catalog.root).then((d) => statfs(d)),
        withHeartbeat(() => ({ planned: done }), () => mapLimit(input.images, 8, async (sel): Promise<ImageFacts | Error> => {
          try {
            return await imageFacts(catalog, sel);
          } catch (e) {
            return e as Error;
          } finally {
            done++;
          }
        })),
      ]);
      const fsid = await checkIdentity(catalog, cluster.fsid);
      const freeBytes = Number(fsStat.bavail) * Number(fsStat.bsize);
      const pools = new Set(cluster.pools);
      const skipped: PlanResult['skipped'] = [];
      const facts: ImageFacts[] = [];
      input.images.forEach((sel, i) => {
        const got = gathered[i]!;
        if (!pools.has(sel.pool)) skipped.push({ pool: sel.pool, image: sel.image, reason: `pool ${sel.pool} not found` });
        else if (!(got instanceof Error)) facts.push(got);
        else {
          // One image's trouble (not found, rbd error, corrupt catalog) is reported for that image.
          const reason = got instanceof RbdError && got.errno === ENOENT ? `image ${imageKey(sel)} not found` : `cannot plan ${imageKey(sel)}: ${got.message}`;
          skipped.push({ pool: sel.pool, image: sel.image, reason });
        }
      });
      const present = input.images.filter((s) => pools.has(s.pool));
      log({}, 'plan', input.backupName).info({ images: present.length, skipped: skipped.length, freeBytes }, 'planned');
      return { clusterDir: catalog.root, fsid, freeBytes, facts, skipped };
    });
  }

  async function imageFacts(catalog: Catalog, sel: ImageRef): Promise<ImageFacts> {
    const [usage, cat] = await Promise.all([rbd.usage(sel), catalog.load(sel)]);
    const size = usage.provisioned;
    const snaps = usage.snapshots;
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
        circleDirExists: await pathExists(catalog.circleDir(sel, newest.circle.name)),
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

  return { resolveRun, planRun, recordCluster };
}

/** The cluster directory may not exist yet (it is created after the checks pass): measure its parent. */
async function nearestExisting(p: string): Promise<string> {
  for (let d = p; ; d = dirname(d)) {
    if (await pathExists(d)) return d;
    if (dirname(d) === d) return d;
  }
}

