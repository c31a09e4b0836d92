/**
 * `run`'s progress where no terminal is watching (a pipe, a log file, cron's mail): one line each
 * time an image changes phase, worked out from two successive `status` snapshots. Pure, so the
 * wording and the rules are table-tested; the terminal display logs the same lines above its bars.
 */
import type { ImagePhase, RunProgress } from '../src/contract/progress.js';
import type { ImageStatus } from '../src/client/progress.js';
import { humanBytes } from './common.js';
import { formatEta } from './status.js';

export interface LineState {
  /** Each image's last phase shown, and when it was first seen past `planned`. */
  images: ReadonlyMap<string, { phase: ImagePhase; since?: number }>;
  runPhase?: RunProgress['phase'];
}

export const FINISHED: ReadonlySet<ImagePhase> = new Set(['done', 'failed', 'busy', 'cancelled', 'skipped', 'not-scheduled']);

export const imageLabel = (i: { pool: string; image: string }): string => `${i.pool}/${i.image}`;

/** A duration as `status` writes an ETA: 45s, 1m12s, 2h05m; a part of a second counts as one. */
export const formatDuration = (ms: number): string => formatEta(Math.max(1, Math.ceil(ms / 1000)));

function lineOf(i: ImageStatus, since: number | undefined, at: number): string {
  const label = imageLabel(i);
  switch (i.phase) {
    case 'exporting': {
      // A full writes the provisioned size; an incremental's size is an estimate until it ends.
      const size = i.type === 'incr' ? `about ${humanBytes(i.bytesExpected ?? 0)}` : humanBytes(i.bytesExpected ?? 0);
      return `${label}: exporting ${i.type ? `${i.type} ` : ''}${size}`;
    }
    case 'done': {
      const took = i.durationMs ?? (since !== undefined ? at - since : undefined);
      return `${label}: done ${humanBytes(i.bytesDone ?? 0)}${took !== undefined ? ` in ${formatDuration(took)}` : ''}`;
    }
    default:
      return `${label}: ${i.phase}${i.reason ? `: ${i.reason}` : ''}`;
  }
}

/**
 * The lines that a new snapshot adds to what `state` has shown, and the state after them. An image
 * seen `planned` again (its child did not answer this time) keeps its last phase: a flicker is no
 * change. `at` is when the snapshot was taken, for the duration of a run without durations.
 */
export function progressLines(state: LineState | undefined, s: { progress: Pick<RunProgress, 'backupName' | 'phase'>; images: ImageStatus[] }, at: number): { lines: string[]; state: LineState } {
  const images = new Map(state?.images ?? []);
  const lines: string[] = [];
  if (s.progress.phase === 'cancelling' && state?.runPhase !== 'cancelling') lines.push(`backup ${s.progress.backupName}: cancelling`);
  for (const i of s.images) {
    const key = imageLabel(i);
    const seen = images.get(key);
    if (i.phase === 'planned' || seen?.phase === i.phase) continue;
    const since = seen?.since ?? (FINISHED.has(i.phase) ? undefined : at);
    lines.push(lineOf(i, since, at));
    images.set(key, since !== undefined ? { phase: i.phase, since } : { phase: i.phase });
  }
  return { lines, state: { images, runPhase: s.progress.phase } };
}
