import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotsToDelete, circlesToPrune, type SnapshotRetention } from '../../src/plan/retention.js';

const s = (day: number, hh = 1): string => `rbdbackup-202611${String(day).padStart(2, '0')}T${String(hh).padStart(2, '0')}0000Z`;
const S1 = s(1);
const S2 = s(2);
const S3 = s(3);
const S4 = s(4);
const S5 = s(5);

describe('snapshotsToDelete', () => {
  const cases: { name: string; r: SnapshotRetention; want: string[] }[] = [
    { name: 'nothing on the image', r: { clusterSnapshots: [], cataloged: [], retain: 1 }, want: [] },
    {
      name: 'keeps the newest `retain` cataloged, deletes older, oldest first',
      r: { clusterSnapshots: [S4, S1, S3, S2], cataloged: [S1, S2, S3, S4], base: S4, retain: 2 },
      want: [S1, S2],
    },
    {
      name: 'retain 1 keeps only the base',
      r: { clusterSnapshots: [S1, S2, S3], cataloged: [S1, S2, S3], base: S3, retain: 1 },
      want: [S1, S2],
    },
    {
      name: 'retain larger than the count deletes nothing',
      r: { clusterSnapshots: [S1, S2], cataloged: [S1, S2], base: S2, retain: 10 },
      want: [],
    },
    {
      name: 'never touches snapshots without our prefix or format',
      r: {
        clusterSnapshots: ['manual', 'daily-20261101', 'rbdbackup-latest', 'rbdbackup-20261101T010000', 'RBDBACKUP-20261101T010000Z', 'xrbdbackup-20261101T010000Z', S1, S2, S3],
        cataloged: [S1, S2, S3],
        base: S3,
        retain: 1,
      },
      want: [S1, S2],
    },
    {
      name: 'foreign snapshots are kept even when nothing is cataloged',
      r: { clusterSnapshots: ['manual', 'rbdbackup-x'], cataloged: [], retain: 1 },
      want: [],
    },
    {
      name: 'never deletes the base even with retain 0',
      r: { clusterSnapshots: [S1, S2], cataloged: [S1, S2], base: S2, retain: 0 },
      want: [S1],
    },
    {
      name: 'keeps the base when it is older than the retained window',
      r: { clusterSnapshots: [S1, S2, S3], cataloged: [S1, S2, S3], base: S1, retain: 1 },
      want: [S2],
    },
    {
      name: 'chain safety: a newer snapshot whose export failed is deleted, the older base kept',
      r: { clusterSnapshots: [S1, S2, S3], cataloged: [S1, S2], base: S2, failedSnapshot: S3, retain: 1 },
      want: [S1, S3],
    },
    {
      name: 'chain safety with room to spare: the failed newest is still deleted',
      r: { clusterSnapshots: [S1, S2, S3], cataloged: [S1, S2], base: S2, failedSnapshot: S3, retain: 5 },
      want: [S3],
    },
    {
      name: 'a failed export does not count towards retain',
      r: { clusterSnapshots: [S1, S3, S5], cataloged: [S1, S3], base: S3, failedSnapshot: S5, retain: 2 },
      want: [S5],
    },
    {
      name: 'no catalog (new or unmounted destination): prefixed snapshots it does not record stay',
      r: { clusterSnapshots: ['keep-me', S1, S2], cataloged: [], retain: 3 },
      want: [],
    },
    {
      name: 'no catalog and a failed first full: only that run\'s snapshot goes',
      r: { clusterSnapshots: [S1, S2], cataloged: [], failedSnapshot: S2, retain: 1 },
      want: [S2],
    },
    {
      name: 'snapshots of another destination (not in this catalog) are never deleted',
      r: { clusterSnapshots: [S1, S2, S3, S4], cataloged: [S2, S4], base: S4, retain: 1 },
      want: [S2],
    },
    {
      name: 'cataloged snapshots already gone from the cluster are not reported',
      r: { clusterSnapshots: [S3], cataloged: [S1, S2, S3], base: S3, retain: 1 },
      want: [],
    },
    {
      name: 'order is by time within a day too',
      r: { clusterSnapshots: [s(2, 13), s(2, 9), s(2, 20)], cataloged: [s(2, 9), s(2, 13), s(2, 20)], base: s(2, 20), retain: 1 },
      want: [s(2, 9), s(2, 13)],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const before = JSON.stringify(c.r);
      const got = snapshotsToDelete(c.r);
      assert.deepEqual(got, c.want);
      if (c.r.base) assert.ok(!got.includes(c.r.base), 'the base is never deleted');
      for (const d of got) assert.match(d, /^rbdbackup-\d{8}T\d{6}Z$/, 'only our snapshots are deleted');
      assert.equal(JSON.stringify(c.r), before, 'input not mutated');
    });
  }
});

describe('circlesToPrune', () => {
  const cases: { name: string; circles: string[]; retain: number; want: string[] }[] = [
    { name: 'nothing to prune', circles: [], retain: 4, want: [] },
    { name: 'under the limit', circles: [S1, S2], retain: 4, want: [] },
    { name: 'exactly at the limit', circles: [S1, S2, S3, S4], retain: 4, want: [] },
    { name: 'over the limit: oldest go, oldest first', circles: [S3, S1, S5, S2, S4], retain: 2, want: [S1, S2, S3] },
    { name: 'retain 1 keeps the newest', circles: [S2, S1, S3], retain: 1, want: [S1, S2] },
    { name: 'retain 0 still keeps the newest circle', circles: [S1, S2, S3], retain: 0, want: [S1, S2] },
    { name: 'negative retain still keeps the newest circle', circles: [S1, S2], retain: -3, want: [S1] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input = [...c.circles];
      assert.deepEqual(circlesToPrune(c.circles, c.retain), c.want);
      assert.deepEqual(c.circles, input, 'input not mutated');
    });
  }
});
