import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePoint, chainProblems, unrestorablePoints, type Resolution } from '../../src/plan/chain.js';
import { CATALOG_FORMAT, type Circle, type ImageCatalog, type Point } from '../../src/catalog/catalog.js';

// --- hand-built fixtures -------------------------------------------------------------------------

/** Day of November 2026 → compact UTC stamp, e.g. 3 → 20261103T010000Z. */
const stamp = (day: number): string => `202611${String(day).padStart(2, '0')}T010000Z`;
const snap = (day: number): string => `rbdbackup-${stamp(day)}`;
const iso = (day: number): string => `2026-11-${String(day).padStart(2, '0')}T01:00:00.000Z`;

/** A point of the run on `day`; a diff when `fromDay` is given. */
function pt(circle: string, day: number, fromDay?: number, over: Partial<Point> = {}): Point {
  const snapshot = snap(day);
  const from = fromDay === undefined ? null : snap(fromDay);
  return {
    backupName: stamp(day),
    type: from ? 'incr' : 'full',
    snapshot,
    fromSnapshot: from,
    file: from ? `${circle}/${snapshot}_from_${from}.diff` : `${circle}/${snapshot}.full`,
    bytes: 1000 + day,
    sha256: String(day % 10).repeat(64),
    runTime: iso(day),
    exportedAt: `2026-11-${String(day).padStart(2, '0')}T01:05:00.000Z`,
    workflowId: `rbd-backup-run/ceph/${stamp(day)}`,
    ...over,
  };
}

/** A well-formed circle: a full on days[0], then a diff for each later day from the previous one. */
function circleOf(days: number[]): Circle {
  const name = snap(days[0]!);
  return { name, points: days.map((d, i) => (i === 0 ? pt(name, d) : pt(name, d, days[i - 1]!))) };
}

function catalogOf(circles: Circle[]): ImageCatalog {
  return { format: CATALOG_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circles };
}

// Circle A: full 11-01, diffs 11-02, 11-03.  Circle B: full 11-04, diff 11-05.
const A = circleOf([1, 2, 3]);
const B = circleOf([4, 5]);
const CAT = catalogOf([A, B]);

function assertResolved(r: Resolution, circle: Circle, index: number): void {
  assert.ok(!('error' in r), `expected a resolution, got error: ${'error' in r ? r.error : ''}`);
  assert.equal(r.circle, circle, `circle ${r.circle.name}, want ${circle.name}`);
  assert.equal(r.index, index);
}

function assertError(r: Resolution, re: RegExp): void {
  assert.ok('error' in r, `expected an error, got ${'circle' in r ? `${r.circle.name}[${r.index}]` : ''}`);
  assert.match(r.error, re);
}

// --- resolvePoint --------------------------------------------------------------------------------

describe('resolvePoint', () => {
  const found: { name: string; at: string; circle: Circle; index: number }[] = [
    { name: 'backup name of a full', at: stamp(1), circle: A, index: 0 },
    { name: 'backup name of a middle diff', at: stamp(2), circle: A, index: 1 },
    { name: 'backup name of the last diff of a circle', at: stamp(3), circle: A, index: 2 },
    { name: 'backup name of the full of a later circle', at: stamp(4), circle: B, index: 0 },
    { name: 'backup name in a later circle', at: stamp(5), circle: B, index: 1 },
    { name: 'snapshot name of a full', at: snap(1), circle: A, index: 0 },
    { name: 'snapshot name of a diff', at: snap(2), circle: A, index: 1 },
    { name: 'snapshot name in a later circle', at: snap(5), circle: B, index: 1 },
    { name: 'instant equal to a runTime', at: iso(3), circle: A, index: 2 },
    { name: 'instant equal to the first runTime', at: iso(1), circle: A, index: 0 },
    { name: 'instant between two diffs', at: '2026-11-02T13:00:00Z', circle: A, index: 1 },
    { name: 'instant between circles picks the end of the older circle', at: '2026-11-04T00:59:59.999Z', circle: A, index: 2 },
    { name: 'instant just after the full of the newer circle', at: '2026-11-04T01:00:00.001Z', circle: B, index: 0 },
    { name: 'instant far in the future picks the newest point', at: '2099-01-01T00:00:00Z', circle: B, index: 1 },
    { name: 'instant without seconds', at: '2026-11-02T01:00Z', circle: A, index: 1 },
    { name: 'instant with a positive offset (= 01:00Z on 11-04)', at: '2026-11-04T02:00:00+01:00', circle: B, index: 0 },
    { name: 'instant with a positive offset (= 00:59:59Z on 11-04)', at: '2026-11-04T01:59:59+01:00', circle: A, index: 2 },
    { name: 'instant with a negative offset (= 01:00Z on 11-05)', at: '2026-11-04T20:00:00-05:00', circle: B, index: 1 },
  ];
  for (const c of found) {
    test(`resolves ${c.name}: ${c.at}`, () => assertResolved(resolvePoint(CAT, c.at), c.circle, c.index));
  }

  test('an instant finds the newest point across circles even when circles are not in order', () => {
    const cat = catalogOf([B, A]);
    assertResolved(resolvePoint(cat, '2026-11-03T12:00:00Z'), A, 2);
    assertResolved(resolvePoint(cat, '2026-11-05T12:00:00Z'), B, 1);
    assertResolved(resolvePoint(cat, '2026-11-01T12:00:00Z'), A, 0);
  });

  test('an instant compares runTime, not position, within a circle', () => {
    // A circle whose points carry runTimes out of order: the newest runTime ≤ instant wins.
    const odd: Circle = { name: snap(10), points: [pt(snap(10), 10), pt(snap(10), 12, 10), pt(snap(10), 11, 12)] };
    assertResolved(resolvePoint(catalogOf([odd]), '2026-11-11T12:00:00Z'), odd, 2);
  });

  const missing: { name: string; at: string; re: RegExp }[] = [
    { name: 'instant 1 ms before every point', at: '2026-11-01T00:59:59.999Z', re: /^no point of rbd\/vm-1 at or before 2026-11-01T00:59:59\.999Z$/ },
    { name: 'instant long before every point', at: '1970-01-01T00:00:00Z', re: /no point of rbd\/vm-1 at or before/ },
    { name: 'unknown word', at: 'nope', re: /^no point named nope for rbd\/vm-1 \(give a backup name, a snapshot name or an ISO 8601 instant\)$/ },
    { name: 'empty string', at: '', re: /^no point named  for rbd\/vm-1/ },
    { name: 'backup name of no run', at: stamp(9), re: /no point named 20261109T010000Z for rbd\/vm-1/ },
    { name: 'snapshot name of no run', at: snap(9), re: /no point named rbdbackup-20261109T010000Z/ },
    { name: 'a prefix of a snapshot name', at: 'rbdbackup-2026110', re: /no point named/ },
    { name: 'date without a time', at: '2026-11-03', re: /no point named 2026-11-03 / },
    { name: 'month 13', at: '2026-13-01T00:00:00Z', re: /2026-13-01T00:00:00Z is not a calendar date/ },
    { name: 'hour 25', at: '2026-11-03T25:00:00Z', re: /2026-11-03T25:00:00Z is not a time of day/ },
    { name: 'hour 24 is not rolled over into the next day', at: '2026-11-03T24:00:00Z', re: /2026-11-03T24:00:00Z is not a time of day/ },
    { name: 'garbage after the T', at: '2026-11-03Tlater', re: /"2026-11-03Tlater" is not an ISO 8601 instant with a zone/ },
    { name: 'backup name differing in case', at: stamp(2).toLowerCase(), re: /no point named/ },
  ];
  for (const c of missing) {
    test(`error for ${c.name}: ${JSON.stringify(c.at)}`, () => assertError(resolvePoint(CAT, c.at), c.re));
  }

  test('an empty catalog resolves nothing, by name or by instant', () => {
    const empty = catalogOf([]);
    assertError(resolvePoint(empty, stamp(1)), /no point named/);
    assertError(resolvePoint(empty, '2099-01-01T00:00:00Z'), /no point of rbd\/vm-1 at or before 2099-01-01T00:00:00Z/);
  });

  test('an instant without a time zone is refused rather than read in the worker\'s local time', () => {
    const late: Circle = { name: snap(1), points: [pt(snap(1), 1, undefined, { runTime: '2026-03-01T12:00:00.000Z' })] };
    assertError(resolvePoint(catalogOf([late]), '2026-03-02T00:00:00'), /is not an ISO 8601 instant with a zone/);
    assert.ok(!('error' in resolvePoint(catalogOf([late]), '2026-03-02T00:00:00+01:00')));
  });

  test(
    'an impossible calendar date (30 February) is rejected, not rolled over into March',
    () => {
      const late: Circle = { name: snap(1), points: [pt(snap(1), 1, undefined, { runTime: '2026-03-01T12:00:00.000Z' })] };
      const r = resolvePoint(catalogOf([late]), '2026-02-30T00:00:00Z');
      assertError(r, /2026-02-30/);
    },
  );

  describe('ambiguous and overlapping names', () => {
    test('a name that is one point\'s backup name and another\'s snapshot is ambiguous', () => {
      const c: Circle = { name: snap(1), points: [pt(snap(1), 1), pt(snap(1), 2, 1, { backupName: snap(1) })] };
      assertError(resolvePoint(catalogOf([c]), snap(1)), /^point rbdbackup-20261101T010000Z is ambiguous \(2 matches\)$/);
    });

    test('the same backup name in two circles is ambiguous', () => {
      const c1 = circleOf([1, 2]);
      const c2: Circle = { name: snap(3), points: [pt(snap(3), 3, undefined, { backupName: 'nightly' }), pt(snap(3), 4, 3, { backupName: 'nightly' })] };
      const c1b: Circle = { ...c1, points: [c1.points[0]!, { ...c1.points[1]!, backupName: 'nightly' }] };
      assertError(resolvePoint(catalogOf([c1b, c2]), 'nightly'), /point nightly is ambiguous \(3 matches\)/);
    });

    test('one point matching by both backup name and snapshot counts once', () => {
      const c: Circle = { name: snap(1), points: [pt(snap(1), 1, undefined, { backupName: snap(1) }), pt(snap(1), 2, 1)] };
      assertResolved(resolvePoint(catalogOf([c]), snap(1)), c, 0);
    });

    test('an exact name that looks like an instant wins over the instant reading', () => {
      const name = '2026-11-01T12:00:00Z';
      const c: Circle = { name: snap(1), points: [pt(snap(1), 1, undefined, { backupName: name }), pt(snap(1), 2, 1), pt(snap(1), 3, 2)] };
      // As an instant it would not be ≤ any runTime except the first; here the name matches point 0 exactly.
      assertResolved(resolvePoint(catalogOf([c]), name), c, 0);
      const c2: Circle = { name: snap(1), points: [pt(snap(1), 1), pt(snap(1), 2, 1), pt(snap(1), 3, 2, { backupName: '2026-11-01T12:00:00Z' })] };
      // The instant reading would give point 0; the exact backup name gives point 2.
      assertResolved(resolvePoint(catalogOf([c2]), name), c2, 2);
    });
  });
});

// --- chainProblems -------------------------------------------------------------------------------

describe('chainProblems', () => {
  const name = snap(1);
  const full = pt(name, 1);
  const d2 = pt(name, 2, 1);
  const d3 = pt(name, 3, 2);
  const d4 = pt(name, 4, 3);

  const cases: { name: string; circle: Circle; index?: number; want: string[] }[] = [
    { name: 'a good chain', circle: { name, points: [full, d2, d3, d4] }, want: [] },
    { name: 'a lone full', circle: { name, points: [full] }, want: [] },
    { name: 'a good chain checked up to a middle point', circle: { name, points: [full, d2, d3, d4] }, index: 1, want: [] },
    { name: 'an empty circle', circle: { name, points: [] }, want: [`circle ${name} does not start with a full export`] },
    {
      name: 'a circle starting with a diff',
      circle: { name, points: [d2, d3] },
      want: [`circle ${name} does not start with a full export`],
    },
    {
      name: 'a full whose snapshot is not the circle name',
      circle: { name: snap(9), points: [full, d2] },
      want: [`circle ${snap(9)} starts with ${snap(1)}`],
    },
    {
      name: 'a diff from a snapshot other than the previous point',
      circle: { name, points: [full, d2, pt(name, 4, 2), pt(name, 5, 3)] },
      want: [`${name}/${snap(5)}_from_${snap(3)}.diff: starts at ${snap(3)}, but the previous point is ${snap(4)}`],
    },
    {
      name: 'a diff skipping a point (from the full instead of the previous diff)',
      circle: { name, points: [full, d2, pt(name, 3, 1)] },
      want: [`${name}/${snap(3)}_from_${snap(1)}.diff: starts at ${snap(1)}, but the previous point is ${snap(2)}`],
    },
    {
      name: 'a diff with no fromSnapshot',
      circle: { name, points: [full, { ...d2, fromSnapshot: null }] },
      want: [`${d2.file}: starts at null, but the previous point is ${snap(1)}`],
    },
    {
      name: 'a full in the middle (the diff after it, from it, is fine)',
      circle: { name, points: [full, d2, pt(name, 3), pt(name, 4, 3)] },
      want: [`${name}/${snap(3)}.full: a full export in the middle of circle ${name}`],
    },
    {
      name: 'several problems, in chain order',
      circle: { name: snap(8), points: [full, pt(name, 2), pt(name, 3, 1)] },
      want: [
        `circle ${snap(8)} starts with ${snap(1)}`,
        `${name}/${snap(2)}.full: a full export in the middle of circle ${snap(8)}`,
        `${name}/${snap(3)}_from_${snap(1)}.diff: starts at ${snap(1)}, but the previous point is ${snap(2)}`,
      ],
    },
    {
      name: 'a bad link after index is not checked',
      circle: { name, points: [full, d2, d3, pt(name, 5, 2)] },
      index: 2,
      want: [],
    },
    {
      name: 'a bad link exactly at index is checked',
      circle: { name, points: [full, d2, pt(name, 4, 2), pt(name, 5, 3)] },
      index: 3,
      want: [`${name}/${snap(5)}_from_${snap(3)}.diff: starts at ${snap(3)}, but the previous point is ${snap(4)}`],
    },
    {
      name: 'a full in the middle after index is not checked',
      circle: { name, points: [full, d2, pt(name, 3)] },
      index: 1,
      want: [],
    },
    {
      name: 'index 0 checks only the start of the circle',
      circle: { name: snap(9), points: [full, pt(name, 3, 2)] },
      index: 0,
      want: [`circle ${snap(9)} starts with ${snap(1)}`],
    },
    {
      name: 'a bad start is reported whatever the index',
      circle: { name, points: [d2, d3, d4] },
      index: 0,
      want: [`circle ${name} does not start with a full export`],
    },
  ];
  for (const c of cases) {
    test(`${c.name}${c.index === undefined ? '' : ` (index ${c.index})`}`, () => {
      const got = c.index === undefined ? chainProblems(c.circle) : chainProblems(c.circle, c.index);
      assert.deepEqual(got, c.want);
    });
  }

  test('the default index is the last point', () => {
    const circle: Circle = { name, points: [full, d2, d3, pt(name, 5, 2)] };
    assert.deepEqual(chainProblems(circle), chainProblems(circle, 3));
    assert.equal(chainProblems(circle).length, 1);
  });

  test('does not modify the circle', () => {
    const circle: Circle = { name, points: [full, d2, pt(name, 3), pt(name, 4, 2)] };
    const before = structuredClone(circle);
    chainProblems(circle, 2);
    chainProblems(circle);
    assert.deepEqual(circle, before);
  });
});

// --- unrestorablePoints --------------------------------------------------------------------------

describe('unrestorablePoints', () => {
  const C = circleOf([1, 2, 3, 4]);
  const [p0, p1, p2, p3] = C.points as [Point, Point, Point, Point];

  const cases: { name: string; circle: Circle; broken: string[]; want: Point[] }[] = [
    { name: 'none broken', circle: C, broken: [], want: [] },
    { name: 'broken full → every point', circle: C, broken: [p0.file], want: [p0, p1, p2, p3] },
    { name: 'broken first diff → it and all later', circle: C, broken: [p1.file], want: [p1, p2, p3] },
    { name: 'broken middle diff → it and all later', circle: C, broken: [p2.file], want: [p2, p3] },
    { name: 'broken last → just it', circle: C, broken: [p3.file], want: [p3] },
    { name: 'several broken → from the earliest on', circle: C, broken: [p3.file, p1.file], want: [p1, p2, p3] },
    { name: 'broken full and last → every point once', circle: C, broken: [p0.file, p3.file], want: [p0, p1, p2, p3] },
    { name: 'broken files of another circle only', circle: C, broken: [`${snap(9)}/${snap(9)}.full`, 'other/x.diff'], want: [] },
    { name: 'a broken name matching no file exactly (basename only)', circle: C, broken: [p2.file.split('/')[1]!], want: [] },
    { name: 'an empty circle', circle: { name: snap(1), points: [] }, broken: [p0.file], want: [] },
    { name: 'a lone full, broken', circle: circleOf([7]), broken: [`${snap(7)}/${snap(7)}.full`], want: circleOf([7]).points },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = unrestorablePoints(c.circle, new Set(c.broken));
      assert.deepEqual(got, c.want);
    });
  }

  test('returns the circle\'s own point objects and leaves the circle intact', () => {
    const got = unrestorablePoints(C, new Set([p2.file]));
    assert.equal(got[0], p2);
    assert.equal(got[1], p3);
    assert.equal(C.points.length, 4);
    got.pop();
    assert.equal(C.points.length, 4, 'the result is a copy, not the circle\'s array');
  });
});
