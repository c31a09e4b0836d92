/** The dry run's plan: the run's own decisions on the plan step's facts, in the run's order. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupPolicy, ImageFacts } from '../../src/contract/backup.js';
import { previewRun, type PreviewInput } from '../../src/plan/preview.js';

const SNAP = 'rbdbackup-20261129T010000Z';
const OLD = 'rbdbackup-20261128T010000Z';
const policy: BackupPolicy = {
  destination: 'default', concurrency: 2, snapshotRetainCount: 1, circleRetainCount: 4, maxIncremental: 2,
  fullWeekdays: [7], incrementalWeekdays: [1, 2, 3, 4, 5, 6], timezone: 'UTC', spaceMargin: 0.5, exportMinBytesPerSecond: 1,
};
const facts = (image: string, more: Partial<ImageFacts> = {}): ImageFacts => ({ pool: 'rbd', image, sizeBytes: 1000, usedBytes: 100, changedBytes: 10, ourSnapshots: [], ...more });
const newest = (diffs: number) => ({ circle: OLD, snapshot: OLD, backupName: 'b', circleDirExists: true, diffsInCircle: diffs, filesIntact: true });
const base = (weekday: number, f: ImageFacts[], more: Partial<PreviewInput> = {}): PreviewInput => ({
  cluster: 'ceph', backupName: 'n', runTime: '2026-11-29T01:00:00.000Z', snapshot: SNAP, policy,
  rule: { weekday, fullWeekdays: [7], incrementalWeekdays: [1, 2, 3, 4, 5, 6], maxIncremental: 2 },
  images: f.map((x) => ({ pool: x.pool, image: x.image })),
  plan: { facts: f, skipped: [], freeBytes: 10_000, clusterDir: '/d/ceph' },
  ...more,
});

const cases: { name: string; input: PreviewInput; want: [string, string, RegExp][]; outcome: string }[] = [
  { name: 'a full day: every image full, largest first', input: base(7, [facts('small'), facts('big', { usedBytes: 500 })]), want: [['big', 'full', /weekday 7 is a full day/], ['small', 'full', /full day/]], outcome: 'would-run' },
  { name: 'an incremental day with a base: incr', input: base(1, [facts('a', { ourSnapshots: [OLD], newest: newest(0) })]), want: [['a', 'incr', /weekday 1 is an incremental day/]], outcome: 'would-run' },
  { name: 'an incremental day without a base: full, and why', input: base(1, [facts('a')]), want: [['a', 'full', /no recorded base snapshot/]], outcome: 'would-run' },
  { name: 'the base snapshot gone: full', input: base(1, [facts('a', { newest: newest(0) })]), want: [['a', 'full', /base snapshot .* is gone from the cluster/]], outcome: 'would-run' },
  { name: 'the circle full: full', input: base(1, [facts('a', { ourSnapshots: [OLD], newest: newest(2) })]), want: [['a', 'full', /already holds 2 of 2 incrementals/]], outcome: 'would-run' },
  { name: 'a forced type wins', input: { ...base(1, [facts('a', { ourSnapshots: [OLD], newest: newest(0) })]), images: [{ pool: 'rbd', image: 'a', backupType: 'full' }] }, want: [['a', 'full', /forced full by the image list/]], outcome: 'would-run' },
  { name: 'a per-image limit applies', input: { ...base(1, [facts('a', { ourSnapshots: [OLD], newest: newest(1) })]), images: [{ pool: 'rbd', image: 'a', maxIncremental: 1 }] }, want: [['a', 'full', /1 of 1 incrementals/]], outcome: 'would-run' },
  {
    name: 'skipped images come after the exports, with why',
    input: base(7, [facts('a')], { plan: { facts: [facts('a')], skipped: [{ pool: 'rbd', image: 'gone', reason: 'image rbd/gone not found' }], freeBytes: 10_000, clusterDir: '/d/ceph' } }),
    want: [['a', 'full', /full day/], ['gone', 'skip', /not found/]],
    outcome: 'would-run',
  },
  { name: 'a backdated run is skipped', input: base(7, [facts('a', { ourSnapshots: ['rbdbackup-20261130T010000Z'], newest: { ...newest(0), snapshot: 'rbdbackup-20261130T010000Z' } })]), want: [['a', 'skip', /backdated runs are refused/]], outcome: 'would-run' },
  { name: 'not enough space: refused', input: base(7, [facts('a', { usedBytes: 6000 })]), want: [['a', 'full', /full day/]], outcome: 'refused' },
  {
    name: 'names the image source could not map: skip rows after the exports, before the plan step skips',
    input: base(7, [facts('a')], { unresolved: [{ pool: 'volumes', image: 'app', reason: 'no Cinder volume named "app"' }], plan: { facts: [facts('a')], skipped: [{ pool: 'rbd', image: 'gone', reason: 'image rbd/gone not found' }], freeBytes: 10_000, clusterDir: '/d/ceph' } }),
    want: [['a', 'full', /full day/], ['app', 'skip', /^no Cinder volume named "app"$/], ['gone', 'skip', /not found/]],
    outcome: 'would-run',
  },
  {
    name: 'every name unmapped: the run would go on and fail, not "nothing scheduled"',
    input: base(7, [], { unresolved: [{ pool: 'volumes', image: 'app', reason: 'no Cinder volume named "app"' }] }),
    want: [['app', 'skip', /no Cinder volume/]],
    outcome: 'would-run',
  },
  {
    name: 'a day in neither list: unmapped names are still said',
    input: { ...base(7, [facts('a')]), unresolved: [{ pool: 'volumes', image: 'app', reason: 'no Cinder volume named "app"' }], rule: { weekday: 7, fullWeekdays: [1], incrementalWeekdays: [2], maxIncremental: 0 }, plan: undefined },
    want: [['app', 'skip', /no Cinder volume/], ['a', 'not-scheduled', /nothing scheduled on weekday 7/]],
    outcome: 'nothing-scheduled',
  },
  { name: 'a day in neither list, nothing forced: not planned at all', input: { ...base(7, [facts('a')]), rule: { weekday: 7, fullWeekdays: [1], incrementalWeekdays: [2], maxIncremental: 0 }, plan: undefined }, want: [['a', 'not-scheduled', /nothing scheduled on weekday 7/]], outcome: 'nothing-scheduled' },
];

describe('previewRun', () => {
  for (const c of cases) {
    test(c.name, () => {
      const p = previewRun(c.input);
      assert.deepEqual(p.images.map((i) => [i.image, i.action]), c.want.map(([i, a]) => [i, a]));
      c.want.forEach(([, , why], k) => assert.match(p.images[k]!.reason, why));
      assert.equal(p.outcome, c.outcome);
    });
  }
  test('space counts fulls by used bytes and incrementals by changed bytes', () => {
    const p = previewRun(base(1, [facts('a'), facts('b', { ourSnapshots: [OLD], newest: newest(0) })]));
    assert.equal(p.space?.neededBytes, 100 + 10);
    assert.equal(p.images.find((i) => i.image === 'b')?.fromSnapshot, OLD);
  });
  test('a refusal names the cluster directory and the numbers', () => {
    const p = previewRun(base(7, [facts('a', { usedBytes: 6000 })]));
    assert.match(p.refusal ?? '', /^\/d\/ceph: backup needs about 6000 bytes but only 10000 are free \(limit 50% = 5000\)$/);
  });
});
