/**
 * Side effects of restore, verify and delete. Nothing touches the cluster until the whole chain has
 * been checked against the catalog and the diff headers; each file's sha256 is checked while rbd
 * imports it into the staging image, which becomes the target only if every file matched. Each step can run
 * again after a crash: a half-done import is removed or rolled back and redone, never half-applied.
 */
import { Context } from '@temporalio/activity';
import { lstat, readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { MANIFEST_FILE, UnsafePathError, type Catalog, type Point } from '../src/catalog/catalog.js';
import type { Config } from '../src/config/config.js';
import { catalogFor, openRestoreSource, openSourceCatalog, restoreCatalogFor } from './access.js';
import { stepLogger } from './log.js';
import { Rbd, RbdError, EEXIST, ENOENT } from '../src/rbd/rbd.js';
import { checkName, compactUtc, imageKey, type ImageRef } from '../src/names/names.js';
import { chainProblems, resolvePoint, unrestorablePoints } from '../src/plan/chain.js';
import { readDiffHeader } from '../src/rbd/diff-format.js';
import { sha256File } from '../src/fs/checksum.js';
import { INPUT_ERROR } from '../src/contract/backup.js';
import {
  REFUSED,
  RESTORE_MARKER_KEY,
  TARGET_EXISTS,
  type ChainLink,
  type DeleteInput,
  type DeleteResult,
  type FileCheck,
  type ImageVerification,
  type RestoreInput,
  type RestorePlan,
} from '../src/contract/restore.js';
import { runActivity, refuse, withHeartbeat } from './errors.js';

export interface RestoreDeps {
  rbd: Rbd;
  config: Config;
  logger: Logger;
}

/** Names the staging image of one restore execution: nobody else can hold that name. */
export function stagingFor(target: ImageRef, runId: string): ImageRef {
  const tag = createHash('sha256').update(runId).digest('hex').slice(0, 12);
  return { pool: target.pool, image: `${target.image.slice(0, 200)}-rbdbackup-restoring-${tag}` };
}

function execution(): { workflowId: string; runId: string } {
  const e = Context.current().info.workflowExecution;
  if (!e) throw new Error('restore activities run only inside a workflow');
  return e;
}

/** What a restore writes into the images it creates, and checks before it removes one. */
function markerOf(): string {
  const { workflowId, runId } = execution();
  return `${workflowId} ${runId}`;
}

export interface FinishInput {
  target: ImageRef;
  keepSnapshots: boolean;
  snapshots: string[];
  force: boolean;
  /** Read the finished image back and return its sha256 (absent: false). */
  checkImage?: boolean;
  /** What the image read back must give: a full's file, when the point is that full alone. */
  reference?: { file: string; sha256: string };
}

export interface ChainStep {
  cluster: string;
  destination?: string;
  fromCluster?: string;
  source: ImageRef;
  target: ImageRef;
  link: ChainLink;
}

export function createRestoreActivities(deps: RestoreDeps) {
  const { rbd, config } = deps;
  const step = stepLogger(deps.logger);
  const log = (phase: string, image: ImageRef) => step(image, phase);
  const catalogOf = (input: { cluster: string; destination?: string | undefined }) => catalogFor(config, input.cluster, input.destination);
  const staging = (target: ImageRef) => stagingFor(target, execution().runId);

  /**
   * Every file of a chain: present, the recorded size, diff headers that link up, and (with `hash`)
   * the recorded sha256. A restore leaves the sha256 to the import, which hashes each file while
   * rbd reads it (see importChecked).
   */
  async function checkLinks(catalog: Catalog, ref: ImageRef, points: Point[], hash = true): Promise<{ links: ChainLink[]; problems: FileCheck[] }> {
    const links: ChainLink[] = [];
    const problems: FileCheck[] = [];
    for (const p of points) {
      links.push({ type: p.type, snapshot: p.snapshot, fromSnapshot: p.fromSnapshot, file: p.file, bytes: p.bytes, sha256: p.sha256 });
      let path: string;
      try {
        path = await catalog.checkedPointPath(ref, p);
      } catch (e) {
        // A link planted in the backup directory is never read through: it is damage to report.
        if (!(e instanceof UnsafePathError)) throw e;
        problems.push({ file: p.file, status: 'corrupt', detail: e.message });
        continue;
      }
      const s = await lstat(path).catch(() => undefined);
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
      if (!hash) continue;
      const ctx = Context.current();
      const sum = await sha256File(path, (b) => ctx.heartbeat({ file: p.file, hashed: b }), ctx.cancellationSignal);
      if (sum.sha256 !== p.sha256) problems.push({ file: p.file, status: 'corrupt', detail: `sha256 ${sum.sha256}, catalog says ${p.sha256}` });
    }
    return { links, problems };
  }

  async function planRestore(input: RestoreInput): Promise<RestorePlan> {
    return runActivity(async () => {
      const catalog = await openRestoreSource(config, input, () => rbd.fsid());
      const c = await catalog.load(input.source);
      if (c.circles.length === 0) throw refuse(INPUT_ERROR, `no backups of ${imageKey(input.source)} under ${catalog.root}`);
      const r = resolvePoint(c, input.at);
      if ('error' in r) throw refuse(INPUT_ERROR, r.error);
      const broken = chainProblems(r.circle, r.index);
      if (broken.length) throw refuse(REFUSED, `catalog chain of ${imageKey(input.source)} is broken: ${broken.join('; ')}`);
      const points = r.circle.points.slice(0, r.index + 1);
      const { links, problems } = await checkLinks(catalog, input.source, points, false);
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
        // Beside the source, in its pool, which a recovering cluster may not have.
        if (!pools.includes(input.source.pool)) {
          throw refuse(INPUT_ERROR, `target pool ${input.source.pool} not found: without --to the restore goes to the source's pool; create it or name another with --to POOL/IMAGE`);
        }
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
        ...(input.destination ? { destination: input.destination } : {}),
        ...(input.fromCluster ? { fromCluster: input.fromCluster } : {}),
        source: input.source,
        target,
        targetExists,
        circle: r.circle.name,
        point: { backupName: point.backupName, snapshot: point.snapshot, runTime: point.runTime },
        chain: links,
      };
    });
  }

  /** snap purge + rm; false when the image was not there. */
  async function removeImage(target: ImageRef, signal: AbortSignal): Promise<boolean> {
    if (!(await rbd.exists(target))) return false;
    await rbd.snapPurge(target, signal);
    try {
      await rbd.remove(target, signal);
    } catch (e) {
      if (!(e instanceof RbdError && e.errno === ENOENT)) throw e;
    }
    return true;
  }

  /** A point's file, resolved inside this worker's destination (never a path from the input). */
  function fileOf(input: ChainStep): Promise<string> {
    return restoreCatalogFor(config, input).checkedPointPath(input.source, input.link);
  }

  /**
   * Runs `load` (rbd reading `file` into the staging image) while the same file is hashed beside
   * it, from the same page cache: one pass over the disk instead of two. The staging image is
   * nobody's until finishRestore renames it, and a file whose sha256 differs from the catalog's
   * fails this step for good (rbd is stopped if still running), so the workflow discards the staging
   * image and nothing unchecked ever reaches the target.
   */
  async function importChecked(input: ChainStep, file: string, signal: AbortSignal, progress: (bytes: number) => void, load: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const checked = sha256File(file, progress, both).then((sum) => {
      if (sum.sha256 === input.link.sha256) return;
      stop.abort();
      throw refuse(REFUSED, `refusing to restore ${imageKey(input.source)} to ${imageKey(input.target)}: ${input.link.file} is corrupt (sha256 ${sum.sha256}, catalog says ${input.link.sha256})`);
    });
    // Both are awaited: rbd may fail on the very bytes that are corrupt, and then the mismatch,
    // not rbd's parse error, is what to report (and it is final, where rbd's error is retried).
    const [check, loaded] = await Promise.allSettled([checked, load(both)]);
    if (check.status === 'rejected' && !signal.aborted) throw check.reason;
    if (loaded.status === 'rejected') throw loaded.reason;
    if (check.status === 'rejected') throw check.reason;
  }

  /**
   * From scratch into this execution's staging image: a leftover of an earlier attempt carries a
   * name only this execution has, so it is ours and goes first.
   */
  async function importFull(input: ChainStep & { noSnapshot?: boolean }): Promise<void> {
    return runActivity(async () => {
      const stage = staging(input.target);
      const file = await fileOf(input);
      let hashed = 0;
      await withHeartbeat(() => ({ step: 'import', file: input.link.file, hashed }), async (signal) => {
        // A first attempt cannot find one (and `rbd import` refuses to overwrite: the retry would).
        if (Context.current().info.attempt > 1) await removeImage(stage, signal);
        try {
          await importChecked(input, file, signal, (b) => (hashed = b), (s) => rbd.importFull(file, stage, s));
        } catch (e) {
          // rbd stopped while still creating the image (a small corrupt file is hashed before rbd
          // is past that) leaves a name that `rbd ls` lists but `rbd info` cannot open: the discard
          // would not see it, `rbd rm` removes it.
          await rbd.remove(stage).catch(() => undefined);
          throw e;
        }
      });
      await rbd.metaSet(stage, RESTORE_MARKER_KEY, markerOf());
      // The snapshot is where the first diff starts, or kept on request: otherwise nobody needs it.
      if (!input.noSnapshot) {
        try {
          await rbd.snapCreate(stage, input.link.snapshot);
        } catch (e) {
          if (!(e instanceof RbdError && e.errno === EEXIST)) throw e;
        }
      }
      log('restore-import', stage).info({ file: input.link.file }, 'full imported');
    });
  }

  /** Done when the diff's end snapshot exists; an interrupted attempt is rolled back to its start. */
  async function applyDiff(input: ChainStep): Promise<'applied' | 'already'> {
    return runActivity(async () => {
      const stage = staging(input.target);
      const snaps = await rbd.snapshotNames(stage);
      if (snaps.includes(input.link.snapshot)) return 'already';
      if (!input.link.fromSnapshot || !snaps.includes(input.link.fromSnapshot)) {
        throw refuse(REFUSED, `${imageKey(stage)} lacks ${input.link.fromSnapshot}, the start of ${input.link.file}`);
      }
      const file = await fileOf(input);
      if (Context.current().info.attempt > 1) {
        await withHeartbeat(() => ({ step: 'rollback' }), (signal) => rbd.snapRollback(stage, input.link.fromSnapshot!, signal));
      }
      let hashed = 0;
      await withHeartbeat(
        () => ({ step: 'import-diff', file: input.link.file, hashed }),
        (signal) => importChecked(input, file, signal, (b) => (hashed = b), (s) => rbd.importDiff(file, stage, s)),
      );
      log('restore-diff', stage).info({ file: input.link.file }, 'diff applied');
      return 'applied';
    });
  }

  /**
   * Drops the chain's snapshots (unless kept), then renames the staging image to the target. The
   * old target is removed only now, only with `force`, and only once the new image is complete.
   * With `checkImage` the image is read back first and its sha256 returned ('' without): against
   * `reference` (a full alone: its file is the image byte for byte) a mismatch refuses the rename.
   */
  async function finishRestore(input: FinishInput): Promise<string> {
    return runActivity(async () => {
      const stage = staging(input.target);
      const mine = markerOf();
      let sha256 = '';
      if (await rbd.exists(stage)) {
        if (!input.keepSnapshots) {
          const present = await rbd.snapshotNames(stage);
          for (const s of input.snapshots.filter((x) => present.includes(x))) await rbd.snapRemove(stage, s);
        }
        if (input.checkImage) sha256 = await checkedImageSha256(stage, input.reference);
        if (await rbd.exists(input.target)) {
          if (!input.force) throw refuse(TARGET_EXISTS, `target image ${imageKey(input.target)} appeared while the restore ran; not touching it (the restored image is discarded)`);
          await withHeartbeat(() => ({ step: 'replace', image: imageKey(input.target) }), (signal) => removeImage(input.target, signal));
        }
        await rbd.rename(stage, input.target);
      } else if ((await rbd.exists(input.target).then((x) => (x ? rbd.metaGet(input.target, RESTORE_MARKER_KEY) : undefined))) !== mine) {
        throw refuse(REFUSED, `staging image ${imageKey(stage)} is gone and ${imageKey(input.target)} is not this restore's`);
      } else if (input.checkImage) {
        // Renamed by an earlier attempt of this very step: the discard after a mismatch removes it.
        sha256 = await checkedImageSha256(input.target, input.reference);
      }
      log('restore-finish', input.target).info({ staging: imageKey(stage), ...(sha256 ? { sha256 } : {}) }, 'restored image in place');
      return sha256;
    });
  }

  async function checkedImageSha256(image: ImageRef, reference: FinishInput['reference']): Promise<string> {
    const sha256 = await imageSha256(image);
    if (reference && sha256 !== reference.sha256) {
      throw refuse(REFUSED, `restored image ${imageKey(image)} reads back with sha256 ${sha256}, but ${reference.file}, which it was imported from, has ${reference.sha256}`);
    }
    return sha256;
  }

  /**
   * After a failure or cancellation, and for deep verify's scratch image: removes this execution's
   * staging image, and the target only when this execution made it (its marker says so).
   */
  async function discardRestore(input: { target: ImageRef }): Promise<string[]> {
    return runActivity(() =>
      withHeartbeat(() => ({ step: 'discard', image: imageKey(input.target) }), async (signal) => {
        const removed: string[] = [];
        const stage = staging(input.target);
        if (await removeImage(stage, signal)) removed.push(imageKey(stage));
        if ((await rbd.exists(input.target)) && (await rbd.metaGet(input.target, RESTORE_MARKER_KEY)) === markerOf()) {
          if (await removeImage(input.target, signal)) removed.push(imageKey(input.target));
        }
        return removed;
      }),
    );
  }

  /** sha256 of `rbd export SPEC -`: what the image or snapshot holds, byte for byte. */
  function imageSha256(ref: ImageRef, snapshot?: string): Promise<string> {
    return withHeartbeat(() => ({ step: 'checksum', image: imageKey(ref) }), (signal) => rbd.sha256(ref, snapshot ?? '', signal));
  }

  /** null when the snapshot (or the image) is gone; any other failure is an error, not "gone". */
  async function snapshotSha256(input: { image: ImageRef; snapshot: string }): Promise<string | null> {
    return runActivity(async () => {
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

  /** With `fromCluster`: another cluster's backups, read only (verify). */
  async function listCataloged(input: { cluster: string; destination?: string; fromCluster?: string }): Promise<ImageRef[]> {
    return runActivity(async () => (await openSourceCatalog(config, input)).images());
  }

  /** `explicit`: the operator named this image, so "no backups" is a finding, not an empty catalog. */
  async function verifyFiles(input: { cluster: string; destination?: string; fromCluster?: string; image: ImageRef; explicit: boolean }): Promise<ImageVerification> {
    return runActivity(async () => {
      const catalog = await openSourceCatalog(config, input);
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
    return runActivity(async () => {
      const catalog = catalogOf(input);
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

  return { planRestore, importFull, applyDiff, finishRestore, discardRestore, snapshotSha256, listCataloged, verifyFiles, deletePoints };
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
