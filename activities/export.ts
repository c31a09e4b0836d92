/**
 * The export step: `rbd export` / `rbd export-diff` of the run's snapshot into the circle
 * directory, checksummed, renamed into place and recorded. Every attempt writes its own partial
 * file; a retry never removes a file the catalog records.
 */
import { Context, CancelledFailure } from '@temporalio/activity';
import { rm, rename } from 'node:fs/promises';
import { diffFileName, fullFileName, type Catalog, type Point } from '../src/catalog/catalog.js';
import { RbdError } from '../src/rbd/rbd.js';
import { imageKey } from '../src/names/names.js';
import { sha256GrowingFile } from '../src/fs/growing-file.js';
import { fsyncDir, fsyncFile, within } from '../src/fs/atomic.js';
import type { ExportResult, ImagePlan } from '../src/contract/backup.js';
import { exportBeat } from '../src/contract/heartbeat.js';
import { catalogFor as catalogForConfig } from './access.js';
import { runActivity, refuse, withHeartbeat } from './errors.js';
import { stepLogger } from './log.js';
import type { BackupDeps } from './backup.js';

export function createExportActivities(deps: BackupDeps) {
  const { rbd, config } = deps;
  const log = stepLogger(deps.logger);
  const catalogFor = (cluster: string, destination: string): Catalog => catalogForConfig(config, cluster, destination);

  async function exportPoint(p: ImagePlan & { workflowId: string }): Promise<ExportResult> {
    return runActivity(async () => {
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
      try {
        const expected = { bytes: p.type === 'full' ? p.sizeBytes : p.estimatedBytes, estimate: p.type !== 'full' };
        return await withHeartbeat(() => exportBeat(phase, written, hashed, expected), () => exportSteps());
      } catch (e) {
        await rm(tmp, { force: true });
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('export cancelled; partial file removed');
        l.error({ err: e instanceof RbdError ? { command: e.command, exitCode: e.exitCode, stderr: e.stderr } : String(e) }, 'export failed');
        throw e;
      }

      /** Cancellation arrives with a heartbeat; each irreversible step checks it first. */
      function stillWanted(step: string): void {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`export cancelled before ${step}`);
      }

      async function exportSteps(): Promise<ExportResult> {
        l.info({ type: p.type, snapshot: p.snapshot, from: p.fromSnapshot, file: final }, 'export started');
        // rbd writes the file in order, so it is hashed from the page cache as it grows (and
        // flushed behind the writer): no second pass over the data, and little left for fsync.
        const sum = await hashWhileWriting(
          (signal) => (p.type === 'full' ? rbd.exportFull(p, p.snapshot, tmp, signal) : rbd.exportDiff(p, p.fromSnapshot!, p.snapshot, tmp, signal)),
          tmp,
          ctx.cancellationSignal,
          (h, seen) => ((hashed = h), (written = seen)),
        );
        phase = 'fsync';
        await fsyncFile(tmp);
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

  return { exportPoint };
}

/** Dirty data a running export may leave in the page cache before it is pushed to disk. */
export const FLUSH_BEHIND_BYTES = 64 * 1024 * 1024;

/**
 * Runs `write` (an rbd export into `file`) and hashes the file as it grows. Both have stopped
 * when this returns, so the caller may remove the file at once; a failed export's own error (with
 * rbd's stderr) is what the caller sees.
 */
export async function hashWhileWriting(
  write: (signal: AbortSignal) => Promise<unknown>,
  file: string,
  signal: AbortSignal,
  progress?: (hashed: number, seen: number) => void,
): Promise<{ sha256: string; bytes: number }> {
  // Either side failing stops the other: a dead export leaves nothing worth hashing, and a failed
  // read (the file gone, the disk broken) leaves an export nobody will keep.
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const writing = write(both);
  const hashing = sha256GrowingFile(file, writing, { signal: both, progress, flushEvery: FLUSH_BEHIND_BYTES });
  try {
    const [, sum] = await Promise.all([writing, hashing]);
    return sum;
  } finally {
    stop.abort();
    await Promise.allSettled([writing, hashing]);
  }
}

/** Why a planned export no longer fits the catalog, or undefined when it does. */
function staleness(circle: { points: Point[] } | undefined, p: ImagePlan): string | undefined {
  if (p.type === 'full') return circle && circle.points.length ? `circle ${p.circle} already exists` : undefined;
  const last = circle?.points.at(-1);
  if (!last) return `circle ${p.circle} is gone`;
  if (last.snapshot !== p.fromSnapshot) return `circle ${p.circle} now ends at ${last.snapshot}, not ${p.fromSnapshot}`;
  return undefined;
}
