/** The plain lines `run` prints off a terminal: one per image phase change, from successive snapshots. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLines, type LineState } from '../../cli/progress-lines.js';
import type { ImageStatus } from '../../src/client/progress.js';
import type { RunProgress } from '../../src/contract/progress.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const img = (image: string, s: Omit<ImageStatus, 'pool' | 'image'>): ImageStatus => ({ pool: 'rbd', image, ...s });

type Snapshot = { at: number; phase?: RunProgress['phase']; images: ImageStatus[] };

/** Feeds the snapshots in order; returns every line printed, in order. */
function replay(snapshots: Snapshot[]): string[] {
  let state: LineState | undefined;
  const out: string[] = [];
  for (const s of snapshots) {
    const r = progressLines(state, { progress: { backupName: 'day-03', phase: s.phase ?? 'backing up' }, images: s.images }, s.at);
    state = r.state;
    out.push(...r.lines);
  }
  return out;
}

const cases: { name: string; snapshots: Snapshot[]; lines: string[] }[] = [
  {
    name: 'every phase of a full, once each; the duration is the workflow\'s own',
    snapshots: [
      { at: 0, phase: 'planning', images: [] },
      { at: 1000, images: [img('vm-1', { phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: 20 * GiB })] },
      { at: 2000, images: [img('vm-1', { phase: 'snapshot', type: 'full', bytesDone: 0, bytesExpected: 20 * GiB })] },
      { at: 3000, images: [img('vm-1', { phase: 'queued for export', type: 'full', bytesDone: 0, bytesExpected: 20 * GiB })] },
      { at: 4000, images: [img('vm-1', { phase: 'exporting', type: 'full', bytesDone: 0, bytesExpected: 20 * GiB })] },
      { at: 5000, images: [img('vm-1', { phase: 'exporting', type: 'full', bytesDone: 5 * GiB, bytesExpected: 20 * GiB, rate: 5 * GiB })] },
      { at: 70_000, images: [img('vm-1', { phase: 'deleting snapshots', type: 'full', bytesDone: 20 * GiB, bytesExpected: 20 * GiB })] },
      { at: 71_000, images: [img('vm-1', { phase: 'pruning', type: 'full', bytesDone: 20 * GiB, bytesExpected: 20 * GiB })] },
      { at: 72_000, images: [img('vm-1', { phase: 'done', type: 'full', bytesDone: 20 * GiB, bytesExpected: 20 * GiB, durationMs: 72_400 })] },
      { at: 73_000, phase: 'done', images: [img('vm-1', { phase: 'done', type: 'full', bytesDone: 20 * GiB, bytesExpected: 20 * GiB, durationMs: 72_400 })] },
    ],
    lines: ['rbd/vm-1: snapshot', 'rbd/vm-1: queued for export', 'rbd/vm-1: exporting full 20.0 GiB', 'rbd/vm-1: deleting snapshots', 'rbd/vm-1: pruning', 'rbd/vm-1: done 20.0 GiB in 1m13s'],
  },
  {
    name: 'an incremental says its size is an estimate; a run without durations is timed from the first phase seen',
    snapshots: [
      { at: 10_000, images: [img('vm-2', { phase: 'exporting', type: 'incr', bytesDone: MiB, bytesExpected: 3 * MiB })] },
      { at: 55_000, images: [img('vm-2', { phase: 'done', type: 'incr', bytesDone: 4 * MiB, bytesExpected: 4 * MiB })] },
    ],
    lines: ['rbd/vm-2: exporting incr about 3.0 MiB', 'rbd/vm-2: done 4.0 MiB in 45s'],
  },
  {
    name: 'an image that finished between two looks gets its done line, without a duration it cannot know',
    snapshots: [
      { at: 0, images: [img('a', { phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: 4 * MiB })] },
      { at: 1000, images: [img('a', { phase: 'done', type: 'full', bytesDone: 4 * MiB, bytesExpected: 4 * MiB })] },
    ],
    lines: ['rbd/a: done 4.0 MiB'],
  },
  {
    name: 'a child that did not answer once (planned again) is no phase change',
    snapshots: [
      { at: 0, images: [img('a', { phase: 'exporting', type: 'full', bytesDone: 0, bytesExpected: 4 * MiB })] },
      { at: 1000, images: [img('a', { phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: 4 * MiB })] },
      { at: 2000, images: [img('a', { phase: 'exporting', type: 'full', bytesDone: MiB, bytesExpected: 4 * MiB })] },
    ],
    lines: ['rbd/a: exporting full 4.0 MiB'],
  },
  {
    name: 'images interleave in plan order; failures, busy and skipped images say why',
    snapshots: [
      {
        at: 0,
        images: [
          img('skip', { phase: 'skipped', reason: 'image not found' }),
          img('a', { phase: 'snapshot', type: 'full', bytesDone: 0, bytesExpected: MiB }),
          img('b', { phase: 'snapshot', type: 'full', bytesDone: 0, bytesExpected: MiB }),
        ],
      },
      {
        at: 1000,
        images: [
          img('skip', { phase: 'skipped', reason: 'image not found' }),
          img('a', { phase: 'failed', type: 'full', bytesDone: 0, bytesExpected: MiB, reason: 'rbd export exited 1' }),
          img('b', { phase: 'busy', type: 'full', bytesDone: 0, bytesExpected: MiB, reason: 'a restore holds the image' }),
        ],
      },
    ],
    lines: ['rbd/skip: skipped: image not found', 'rbd/a: snapshot', 'rbd/b: snapshot', 'rbd/a: failed: rbd export exited 1', 'rbd/b: busy: a restore holds the image'],
  },
  {
    name: 'a cancel is said once for the run, then each image\'s end',
    snapshots: [
      { at: 0, images: [img('a', { phase: 'exporting', type: 'full', bytesDone: 0, bytesExpected: MiB })] },
      { at: 1000, phase: 'cancelling', images: [img('a', { phase: 'exporting', type: 'full', bytesDone: 0, bytesExpected: MiB })] },
      { at: 2000, phase: 'cancelling', images: [img('a', { phase: 'deleting snapshots', type: 'full', bytesDone: 0, bytesExpected: MiB })] },
      { at: 3000, phase: 'writing report', images: [img('a', { phase: 'cancelled', type: 'full', bytesDone: 0, bytesExpected: MiB, reason: 'run cancelled' })] },
    ],
    lines: ['rbd/a: exporting full 1.0 MiB', 'backup day-03: cancelling', 'rbd/a: deleting snapshots', 'rbd/a: cancelled: run cancelled'],
  },
  {
    name: 'nothing changes, nothing is printed',
    snapshots: [
      { at: 0, images: [img('a', { phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: MiB })] },
      { at: 1000, images: [img('a', { phase: 'planned', type: 'full', bytesDone: 0, bytesExpected: MiB })] },
    ],
    lines: [],
  },
  {
    name: 'a sub-second image counts a whole second, never "in 0s"',
    snapshots: [{ at: 0, images: [img('a', { phase: 'done', type: 'full', bytesDone: MiB, bytesExpected: MiB, durationMs: 180 })] }],
    lines: ['rbd/a: done 1.0 MiB in 1s'],
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(replay(c.snapshots), c.lines);
  });
}

test('the lines carry no escape codes', () => {
  for (const c of cases) for (const l of replay(c.snapshots)) assert.doesNotMatch(l, /\x1b/);
});
