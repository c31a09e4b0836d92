/**
 * Side effects of restore, verify and delete. Nothing touches the cluster until the whole chain has
 * been checked against the catalog, the diff headers and every file's sha256. Each step can run
 * again after a crash: a half-done import is removed or rolled back and redone, never half-applied.
 */
import { Context } from '@temporalio/activity';
import { readdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Catalog, MANIFEST_FILE, type Point } from '../src/catalog/catalog.js';
import { Rbd, RbdError, EEXIST, ENOENT } from '../src/rbd/rbd.js';
import { checkName, compactUtc, imageKey, type ImageRef } from '../src/names/names.js';
import { chainProblems, resolvePoint, unrestorablePoints } from '../src/plan/chain.js';
import { readDiffHeader } from '../src/rbd/diff-format.js';
import { sha256File } from '../src/fs/checksum.js';
import { INPUT_ERROR } from '../src/contract/backup.js';
import {
  REFUSED,
  TARGET_EXISTS,
  type ChainLink,
  type DeleteInput,
  type DeleteResult,
  type FileCheck,
  type ImageVerification,
  type RestoreInput,
  type RestorePlan,
} from '../src/contract/restore.js';
import { guard, refuse, withHeartbeat } from './errors.js';

export interface RestoreDeps {
  rbd: Rbd;
  cluster: string;
  logger: Logger;
}

export function createRestoreActivities(deps: RestoreDeps) {
  const { rbd } = deps;
  const log = (phase: string, image: ImageRef) => deps.logger.child({ phase, image: imageKey(image) });

  function checkCluster(cluster: string) {
    if (cluster !== deps.cluster) throw refuse(INPUT_ERROR, `request is for cluster ${cluster} but this worker serves ${deps.cluster}`);
  }

  /** Every file of a chain: present, the recorded size and sha256, and diff headers that link up. */
  async function checkLinks(catalog: Catalog, ref: ImageRef, points: Point[]): Promise<{ links: ChainLink[]; problems: FileCheck[] }> {
    const links: ChainLink[] = [];
    const problems: FileCheck[] = [];
    for (const p of points) {
      const path = catalog.pointPath(ref, p);
      links.push({ type: p.type, snapshot: p.snapshot, fromSnapshot: p.fromSnapshot, path, file: p.file, bytes: p.bytes, sha256: p.sha256 });
      const s = await stat(path).catch(() => undefined);
      if (!s) {
        problems.push({ file: p.file, status: 'missing' });
        continue;
      }
      if (p.type === 'incr') {
        try {
          const h = await readDiffHeader(path);
          if (h.fromSnapshot !== p.fromSnapshot || h.toSnapshot !== p.snapshot) {
            problems.push({ file: p.file, status: 'corrupt', detail: `header says ${h.fromSnapshot} → ${h.toSnapshot}, catalog says ${p.fromSnapshot} → ${p.snapshot}` });
            continue;
          }
        } catch (e) {
          problems.push({ file: p.file, status: 'corrupt', detail: (e as Error).message });
          continue;
        }
      }
      if (s.size !== p.bytes) {
        problems.push({ file: p.file, status: 'corrupt', detail: `${s.size} bytes, catalog says ${p.bytes}` });
        continue;
      }
      const ctx = Context.current();
      const sum = await sha256File(path, (b) => ctx.heartbeat({ file: p.file, hashed: b }), ctx.cancellationSignal);
      if (sum.sha256 !== p.sha256) problems.push({ file: p.file, status: 'corrupt', detail: `sha256 ${sum.sha256}, catalog says ${p.sha256}` });
    }
    return { links, problems };
  }

  async function planRestore(input: RestoreInput): Promise<RestorePlan> {
    return guard(async () => {
      checkCluster(input.cluster);
      const catalog = new Catalog(input.destination, input.cluster);
      const c = await catalog.load(input.source);
      if (c.circles.length === 0) throw refuse(INPUT_ERROR, `no backups of ${imageKey(input.source)} under ${catalog.root}`);
      const r = resolvePoint(c, input.at);
      if ('error' in r) throw refuse(INPUT_ERROR, r.error);
      const broken = chainProblems(r.circle, r.index);
      if (broken.length) throw refuse(REFUSED, `catalog chain of ${imageKey(input.source)} is broken: ${broken.join('; ')}`);
      const points = r.circle.points.slice(0, r.index + 1);
      const { links, problems } = await checkLinks(catalog, input.source, points);
      if (problems.length) {
        const first = problems[0]!;
        throw refuse(REFUSED, `refusing to restore ${imageKey(input.source)} at ${input.at}: ${first.file} is ${first.status}${first.detail ? ` (${first.detail})` : ''}`);
      }
      const pools = await rbd.pools();
      const point = points.at(-1)!;
      let target = input.target;
      if (target) {
        if (!pools.includes(target.pool)) throw refuse(INPUT_ERROR, `target pool ${target.pool} not found`);
      } else {
        // A fresh name beside the source; a suffix until it is free, so it can never collide.
        const base = `${input.source.image}-restore-${compactUtc(new Date(point.runTime))}`.slice(0, 240);
        target = { pool: input.source.pool, image: base };
        for (let i = 2; await rbd.exists(target); i++) target = { pool: input.source.pool, image: `${base}-${i}` };
      }
      checkName('image', target.image);
      const targetExists = await rbd.exists(target);
      if (targetExists && !input.force) throw refuse(INPUT_ERROR, `target image ${imageKey(target)} exists; add --force to replace it`);
      log('restore-plan', input.source).info({ target: imageKey(target), point: point.snapshot, links: links.length }, 'chain verified');
      return {
        cluster: input.cluster,
        source: input.source,
        target,
        targetExists,
        circle: r.circle.name,
        point: { backupName: point.backupName, snapshot: point.snapshot, runTime: point.runTime },
        chain: links,
      };
    });
  }

  async function removeImage(target: ImageRef): Promise<boolean> {
    return guard(() =>
      withHeartbeat(() => ({ step: 'remove', image: imageKey(target) }), async (signal) => {
        if (!(await rbd.exists(target))) return false;
        await rbd.run('rbd', ['snap', 'purge', '--no-progress', `${target.pool}/${target.image}`], signal);
        try {
          await rbd.run('rbd', ['rm', '--no-progress', `${target.pool}/${target.image}`], signal);
        } catch (e) {
          if (!(e instanceof RbdError && e.errno === ENOENT)) throw e;
        }
        return true;
      }),
    );
  }

  /**
   * From scratch. On the first attempt the target must not exist (the plan checked, or --force
   * removed it); on a retry an existing target is this restore's half-made image and goes first.
   */
  async function importFull(input: { target: ImageRef; link: ChainLink }): Promise<void> {
    return guard(async () => {
      if (Context.current().info.attempt === 1) {
        if (await rbd.exists(input.target)) throw refuse(TARGET_EXISTS, `target image ${imageKey(input.target)} appeared while the restore was starting; not touching it`);
      } else await removeImage(input.target);
      await withHeartbeat(() => ({ step: 'import', file: input.link.file }), (signal) => rbd.importFull(input.link.path, input.target, signal));
      try {
        await rbd.snapCreate(input.target, input.link.snapshot);
      } catch (e) {
        if (!(e instanceof RbdError && e.errno === EEXIST)) throw e;
      }
      log('restore-import', input.target).info({ file: input.link.file }, 'full imported');
    });
  }

  /** Done when the diff's end snapshot exists; an interrupted attempt is rolled back to its start. */
  async function applyDiff(input: { target: ImageRef; link: ChainLink }): Promise<'applied' | 'already'> {
    return guard(async () => {
      const snaps = await rbd.snapshotNames(input.target);
      if (snaps.includes(input.link.snapshot)) return 'already';
      if (!input.link.fromSnapshot || !snaps.includes(input.link.fromSnapshot)) {
        throw refuse(REFUSED, `${imageKey(input.target)} lacks ${input.link.fromSnapshot}, the start of ${input.link.file}`);
      }
      if (Context.current().info.attempt > 1) {
        await withHeartbeat(() => ({ step: 'rollback' }), (signal) => rbd.snapRollback(input.target, input.link.fromSnapshot!, signal));
      }
      await withHeartbeat(() => ({ step: 'import-diff', file: input.link.file }), (signal) => rbd.importDiff(input.link.path, input.target, signal));
      log('restore-diff', input.target).info({ file: input.link.file }, 'diff applied');
      return 'applied';
    });
  }

  async function finishRestore(input: { target: ImageRef; keepSnapshots: boolean; snapshots: string[] }): Promise<string> {
    return guard(async () => {
      if (!input.keepSnapshots) {
        const present = await rbd.snapshotNames(input.target);
        for (const s of input.snapshots.filter((x) => present.includes(x))) await rbd.snapRemove(input.target, s);
      }
      return imageSha256(input.target);
    });
  }

  /** sha256 of `rbd export SPEC -`: what the image or snapshot holds, byte for byte. */
  function imageSha256(ref: ImageRef, snapshot?: string): Promise<string> {
    return withHeartbeat(() => ({ step: 'checksum', image: imageKey(ref) }), (signal) => rbd.sha256(ref, snapshot ?? '', signal));
  }

  /** null when the snapshot (or the image) is gone; any other failure is an error, not "gone". */
  async function snapshotSha256(input: { image: ImageRef; snapshot: string }): Promise<string | null> {
    return guard(async () => {
      let names: string[];
      try {
        names = await rbd.snapshotNames(input.image);
      } catch (e) {
        if (e instanceof RbdError && e.errno === ENOENT) return null;
        throw e;
      }
      return names.includes(input.snapshot) ? imageSha256(input.image, input.snapshot) : null;
    });
  }

  async function listCataloged(input: { cluster: string; destination: string }): Promise<ImageRef[]> {
    return guard(async () => new Catalog(input.destination, input.cluster).images());
  }

  /** `explicit`: the operator named this image, so "no backups" is a finding, not an empty catalog. */
  async function verifyFiles(input: { cluster: string; destination: string; image: ImageRef; explicit: boolean }): Promise<ImageVerification> {
    return guard(async () => {
      checkCluster(input.cluster);
      const catalog = new Catalog(input.destination, input.cluster);
      const c = await catalog.load(input.image);
      if (c.circles.length === 0 && input.explicit) {
        return { ...input.image, ok: false, files: [], unrestorable: [], chainProblems: [], error: `no backups of ${imageKey(input.image)} under ${catalog.root}` };
      }
      const files: FileCheck[] = [];
      const unrestorable: ImageVerification['unrestorable'] = [];
      const problems: string[] = [];
      for (const circle of c.circles) {
        problems.push(...chainProblems(circle));
        const { problems: bad } = await checkLinks(catalog, input.image, circle.points);
        const broken = new Set(bad.map((b) => b.file));
        for (const p of circle.points) files.push(bad.find((b) => b.file === p.file) ?? { file: p.file, status: 'ok' });
        for (const p of unrestorablePoints(circle, broken)) unrestorable.push({ backupName: p.backupName, snapshot: p.snapshot, file: p.file });
        const claimed = new Set([MANIFEST_FILE, ...circle.points.map((p) => p.file.split('/')[1])]);
        const present = await readdir(catalog.circleDir(input.image, circle.name)).catch(() => [] as string[]);
        for (const f of present.filter((x) => !claimed.has(x))) files.push({ file: `${circle.name}/${f}`, status: 'extra' });
      }
      const ok = files.every((f) => f.status === 'ok') && problems.length === 0;
      return { pool: input.image.pool, image: input.image.image, ok, files, unrestorable, chainProblems: problems };
    });
  }

  async function deletePoints(input: DeleteInput): Promise<DeleteResult> {
    return guard(async () => {
      checkCluster(input.cluster);
      const catalog = new Catalog(input.destination, input.cluster);
      const c = await catalog.load(input.image);
      const result: DeleteResult = { ...input.image, removed: { circle: '', files: [], points: [] } };
      if (input.circle) {
        const circle = c.circles.find((x) => x.name === input.circle);
        if (!circle) throw refuse(INPUT_ERROR, `no circle ${input.circle} for ${imageKey(input.image)}`);
        await catalog.removeCircle(input.image, circle.name);
        result.removed = { circle: circle.name, files: circle.points.map((p) => p.file), points: circle.points.map((p) => p.backupName) };
        return result;
      }
      const at = input.point!;
      // Exact names only: deleting "the newest point before an instant" is too easy to get wrong.
      const named = c.circles.some((x) => x.points.some((p) => p.backupName === at || p.snapshot === at));
      const r = named ? resolvePoint(c, at) : { error: `no point named ${at} for ${imageKey(input.image)}` };
      if ('error' in r) throw refuse(INPUT_ERROR, r.error);
      if (r.index !== r.circle.points.length - 1) {
        const later = r.circle.points.slice(r.index + 1).map((p) => p.backupName);
        throw refuse(REFUSED, `point ${at} is not the newest of circle ${r.circle.name}: deleting it would break ${later.join(', ')}; delete those first or the whole circle`);
      }
      const removed = await catalog.removeNewestPoint(input.image, r.circle.name);
      result.removed = { circle: r.circle.name, files: removed ? [removed.file] : [], points: removed ? [removed.backupName] : [] };
      return result;
    });
  }

  return { planRestore, removeImage, importFull, applyDiff, finishRestore, snapshotSha256, listCataloged, verifyFiles, deletePoints };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
