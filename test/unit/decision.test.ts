import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { weekdayOf, decideType, estimateBytes, checkSpace, largestFirst, type TypeRule } from '../../src/plan/decision.js';
import { chunk } from '../../src/plan/batch.js';
import type { ImageFacts, ImageSelection } from '../../src/contract/backup.js';

describe('weekdayOf', () => {
  const cases: { name: string; at: string; tz: string; want: number }[] = [
    { name: 'Monday in UTC', at: '2026-11-23T12:00:00Z', tz: 'UTC', want: 1 },
    { name: 'Saturday in UTC', at: '2026-11-28T12:00:00Z', tz: 'UTC', want: 6 },
    { name: 'Sunday is 7, not 0', at: '2026-11-29T12:00:00Z', tz: 'UTC', want: 7 },
    { name: 'Sunday in UTC is Monday in Asia/Tokyo', at: '2026-11-29T20:00:00Z', tz: 'Asia/Tokyo', want: 1 },
    { name: 'the same instant is Sunday in UTC', at: '2026-11-29T20:00:00Z', tz: 'UTC', want: 7 },
    { name: 'Monday in UTC is still Sunday in America/Los_Angeles', at: '2026-11-30T03:00:00Z', tz: 'America/Los_Angeles', want: 7 },
    // DST starts 2026-03-08 in New York: 04:30Z on the 9th is 00:30 EDT Monday (EST would say Sunday 23:30).
    { name: 'day after spring-forward uses EDT (-4)', at: '2026-03-09T04:30:00Z', tz: 'America/New_York', want: 1 },
    // DST ends 2026-11-01: 04:30Z on the 2nd is 23:30 EST Sunday (EDT would say Monday 00:30).
    { name: 'day after fall-back uses EST (-5)', at: '2026-11-02T04:30:00Z', tz: 'America/New_York', want: 7 },
    { name: 'inside the spring-forward night, before the jump', at: '2026-03-08T06:59:59Z', tz: 'America/New_York', want: 7 },
    { name: 'inside the spring-forward night, after the jump', at: '2026-03-08T07:00:00Z', tz: 'America/New_York', want: 7 },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(weekdayOf(new Date(c.at), c.tz), c.want));
  }

  test('unknown time zone throws', () => {
    assert.throws(() => weekdayOf(new Date('2026-11-23T12:00:00Z'), 'Mars/Olympus_Mons'), RangeError);
  });
});

describe('decideType', () => {
  const rule = (weekday: number, maxIncremental = 6): TypeRule => ({
    weekday,
    fullWeekdays: [7],
    incrementalWeekdays: [1, 2, 3, 4, 5],
    maxIncremental,
  });
  const SNAP = 'rbdbackup-20261123T010000Z';
  const CIRCLE = 'rbdbackup-20261122T010000Z';
  type Facts = Pick<ImageFacts, 'ourSnapshots' | 'newest'>;
  const healthy = (diffs = 1): Facts => ({
    ourSnapshots: ['rbdbackup-20261122T010000Z', SNAP],
    newest: { circle: CIRCLE, snapshot: SNAP, backupName: 'b1', circleDirExists: true, diffsInCircle: diffs },
  });
  const noBase: Facts = { ourSnapshots: [SNAP] };
  const baseGone: Facts = { ...healthy(), ourSnapshots: ['rbdbackup-20261122T010000Z'] };
  const circleGone: Facts = { ...healthy(), newest: { ...healthy().newest!, circleDirExists: false } };
  const filesBroken: Facts = { ...healthy(), newest: { ...healthy().newest!, filesIntact: false } };
  const filesOk: Facts = { ...healthy(), newest: { ...healthy().newest!, filesIntact: true } };

  type Sel = Pick<ImageSelection, 'backupType' | 'maxIncremental'>;
  const cases: { name: string; rule: TypeRule; sel: Sel; facts: Facts; want: 'full' | 'incr' | 'none'; reason: RegExp }[] = [
    { name: 'full weekday', rule: rule(7), sel: {}, facts: healthy(), want: 'full', reason: /weekday 7 is a full day/ },
    { name: 'incremental weekday with a good base', rule: rule(1), sel: {}, facts: healthy(), want: 'incr', reason: /weekday 1 is an incremental day/ },
    { name: 'weekday in neither list', rule: rule(6), sel: {}, facts: healthy(), want: 'none', reason: /nothing scheduled on weekday 6/ },
    { name: 'forced full on an incremental day', rule: rule(2), sel: { backupType: 'full' }, facts: healthy(), want: 'full', reason: /forced full/ },
    { name: 'forced full on a day in neither list', rule: rule(6), sel: { backupType: 'full' }, facts: healthy(), want: 'full', reason: /forced full/ },
    { name: 'forced incr on a full day', rule: rule(7), sel: { backupType: 'incr' }, facts: healthy(), want: 'incr', reason: /forced incr/ },
    { name: 'forced incr on a day in neither list', rule: rule(6), sel: { backupType: 'incr' }, facts: healthy(), want: 'incr', reason: /forced incr/ },
    { name: 'forced incr without a base falls back to full', rule: rule(7), sel: { backupType: 'incr' }, facts: noBase, want: 'full', reason: /no recorded base/ },
    { name: 'no recorded base: full', rule: rule(1), sel: {}, facts: noBase, want: 'full', reason: /no recorded base/ },
    { name: 'no recorded base and no snapshots at all: full', rule: rule(1), sel: {}, facts: { ourSnapshots: [] }, want: 'full', reason: /no recorded base/ },
    { name: 'base snapshot gone from the cluster: full', rule: rule(1), sel: {}, facts: baseGone, want: 'full', reason: new RegExp(`${SNAP} is gone from the cluster`) },
    { name: 'circle directory gone: full', rule: rule(1), sel: {}, facts: circleGone, want: 'full', reason: new RegExp(`circle directory ${CIRCLE} is gone`) },
    { name: 'a chain file missing or truncated: full', rule: rule(1), sel: {}, facts: filesBroken, want: 'full', reason: /missing or has the wrong size/ },
    { name: 'chain files intact: incremental', rule: rule(1), sel: {}, facts: filesOk, want: 'incr', reason: /incremental day/ },
    { name: 'circle one below the max: incr', rule: rule(1, 6), sel: {}, facts: healthy(5), want: 'incr', reason: /incremental day/ },
    { name: 'circle exactly at the max: full', rule: rule(1, 6), sel: {}, facts: healthy(6), want: 'full', reason: /already holds 6 of 6/ },
    { name: 'circle above the max: full', rule: rule(1, 6), sel: {}, facts: healthy(9), want: 'full', reason: /already holds 9 of 6/ },
    { name: 'max_incremental 0 is unlimited', rule: rule(1, 0), sel: {}, facts: healthy(1000), want: 'incr', reason: /incremental day/ },
    { name: 'fresh circle (0 diffs) with max 1: incr', rule: rule(1, 1), sel: {}, facts: healthy(0), want: 'incr', reason: /incremental day/ },
    { name: 'per-image max lower than the rule: full', rule: rule(1, 6), sel: { maxIncremental: 2 }, facts: healthy(2), want: 'full', reason: /already holds 2 of 2/ },
    { name: 'per-image max higher than the rule: incr', rule: rule(1, 2), sel: { maxIncremental: 10 }, facts: healthy(5), want: 'incr', reason: /incremental day/ },
    { name: 'per-image max 0 overrides the rule to unlimited', rule: rule(1, 2), sel: { maxIncremental: 0 }, facts: healthy(50), want: 'incr', reason: /incremental day/ },
    { name: 'forced incr still honours the circle limit', rule: rule(7, 3), sel: { backupType: 'incr' }, facts: healthy(3), want: 'full', reason: /already holds 3 of 3/ },
    { name: 'forced incr still needs the base snapshot', rule: rule(1), sel: { backupType: 'incr' }, facts: baseGone, want: 'full', reason: /gone from the cluster/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = decideType(c.rule, c.sel, c.facts);
      assert.equal(d.type, c.want);
      assert.match(d.reason, c.reason);
      if (d.type === 'incr') {
        assert.equal(d.fromSnapshot, SNAP, 'an incremental is taken from the newest cataloged snapshot');
        assert.equal(d.circle, CIRCLE, 'an incremental extends the newest circle');
      } else if (d.type === 'full') {
        assert.equal(d.fromSnapshot, undefined, 'a full has no base');
        assert.equal(d.circle, undefined, 'a full starts its own circle');
      }
    });
  }

  test('a day in both lists is a full day (full wins)', () => {
    const d = decideType({ weekday: 3, fullWeekdays: [3], incrementalWeekdays: [3], maxIncremental: 6 }, {}, healthy());
    assert.equal(d.type, 'full');
  });

  test('decisions are deterministic and do not mutate their input', () => {
    const facts = healthy(2);
    const snapshot = JSON.stringify(facts);
    const a = decideType(rule(1), {}, facts);
    const b = decideType(rule(1), {}, facts);
    assert.deepEqual(a, b);
    assert.equal(JSON.stringify(facts), snapshot);
  });
});

describe('estimateBytes', () => {
  const facts = { usedBytes: 1000, changedBytes: 7 };
  test('full: used (not provisioned) bytes', () => assert.equal(estimateBytes('full', facts), 1000));
  test('incr: bytes changed since the base', () => assert.equal(estimateBytes('incr', facts), 7));
});

describe('checkSpace', () => {
  const cases: { name: string; need: number; free: number; margin: number; ok: boolean }[] = [
    { name: 'exactly at the limit fits', need: 99, free: 100, margin: 0.99, ok: true },
    { name: 'one byte above the limit refused', need: 100, free: 100, margin: 0.99, ok: false },
    { name: 'well below fits', need: 1, free: 100, margin: 0.5, ok: true },
    { name: 'margin 1: all free space usable', need: 100, free: 100, margin: 1, ok: true },
    { name: 'margin 1: one byte over refused', need: 101, free: 100, margin: 1, ok: false },
    { name: 'zero needed with zero free fits', need: 0, free: 0, margin: 0.99, ok: true },
    { name: 'limit is floored: 0.5 of 101 is 50', need: 51, free: 101, margin: 0.5, ok: false },
    { name: 'large sizes (TiB) at the limit', need: 2 ** 39, free: 2 ** 40, margin: 0.5, ok: true },
    { name: 'large sizes (TiB) one byte over', need: 2 ** 39 + 1, free: 2 ** 40, margin: 0.5, ok: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = checkSpace(c.need, c.free, c.margin);
      if (c.ok) assert.equal(r, undefined);
      else {
        assert.equal(typeof r, 'string');
        assert.match(r!, new RegExp(`needs about ${c.need} bytes but only ${c.free} are free`));
      }
    });
  }

  test(
    'margin 0.57 of 100 bytes allows 57 bytes',
    () => assert.equal(checkSpace(57, 100, 0.57), undefined),
  );
});

describe('largestFirst', () => {
  const p = (pool: string, image: string, estimatedBytes: number) => ({ pool, image, estimatedBytes });
  test('orders by size, largest first', () => {
    const out = largestFirst([p('rbd', 'small', 1), p('rbd', 'big', 100), p('rbd', 'mid', 50)]);
    assert.deepEqual(out.map((x) => x.image), ['big', 'mid', 'small']);
  });
  test('ties ordered by pool/image name, whatever the input order', () => {
    const inputs = [
      [p('rbd', 'b', 5), p('rbd', 'a', 5), p('aaa', 'z', 5), p('rbd', 'c', 9)],
      [p('rbd', 'c', 9), p('aaa', 'z', 5), p('rbd', 'a', 5), p('rbd', 'b', 5)],
      [p('rbd', 'a', 5), p('rbd', 'c', 9), p('rbd', 'b', 5), p('aaa', 'z', 5)],
    ];
    for (const input of inputs) {
      assert.deepEqual(
        largestFirst(input).map((x) => `${x.pool}/${x.image}`),
        ['rbd/c', 'aaa/z', 'rbd/a', 'rbd/b'],
      );
    }
  });
  test('does not mutate its input and keeps extra fields', () => {
    const input = [{ ...p('rbd', 'a', 1), extra: 'x' }, { ...p('rbd', 'b', 2), extra: 'y' }];
    const out = largestFirst(input);
    assert.deepEqual(input.map((x) => x.image), ['a', 'b']);
    assert.notEqual(out, input);
    assert.equal(out[0]!.extra, 'y');
  });
  test('empty list', () => assert.deepEqual(largestFirst([]), []));
});

describe('chunk', () => {
  const cases: { list: number[]; size: number; want: number[][] }[] = [
    { list: [], size: 3, want: [] },
    { list: [1, 2, 3], size: 3, want: [[1, 2, 3]] },
    { list: [1, 2, 3, 4], size: 3, want: [[1, 2, 3], [4]] },
    { list: [1, 2, 3, 4, 5, 6], size: 2, want: [[1, 2], [3, 4], [5, 6]] },
    { list: [1, 2], size: 1, want: [[1], [2]] },
    { list: [1, 2], size: 10, want: [[1, 2]] },
  ];
  for (const c of cases) {
    test(`chunk(${JSON.stringify(c.list)}, ${c.size})`, () => assert.deepEqual(chunk(c.list, c.size), c.want));
  }
});

describe('decideType refuses backdated runs', () => {
  const rule: TypeRule = { weekday: 7, fullWeekdays: [7], incrementalWeekdays: [1, 2, 3, 4, 5, 6], maxIncremental: 6 };
  const NEWEST = 'rbdbackup-20261123T010000Z';
  const facts: Pick<ImageFacts, 'ourSnapshots' | 'newest'> = {
    ourSnapshots: [NEWEST],
    newest: { circle: NEWEST, snapshot: NEWEST, backupName: 'b', circleDirExists: true, diffsInCircle: 0 },
  };
  const cases: { name: string; snapshot: string | undefined; sel: Pick<ImageSelection, 'backupType'>; want: 'full' | 'incr' | 'none'; refused: boolean }[] = [
    { name: 'a full older than the newest point', snapshot: 'rbdbackup-20261122T010000Z', sel: {}, want: 'none', refused: true },
    { name: 'a forced incr older than the newest point', snapshot: 'rbdbackup-20261101T000000Z', sel: { backupType: 'incr' }, want: 'none', refused: true },
    { name: 'the same instant resumes (equal is not older)', snapshot: NEWEST, sel: {}, want: 'full', refused: false },
    { name: 'a later run proceeds', snapshot: 'rbdbackup-20261129T010000Z', sel: {}, want: 'full', refused: false },
    { name: 'no snapshot given keeps the old behaviour', snapshot: undefined, sel: {}, want: 'full', refused: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = decideType(rule, c.sel, facts, c.snapshot);
      assert.equal(d.type, c.want);
      assert.equal(d.type === 'none' && !!d.refused, c.refused);
      if (c.refused) assert.match(d.reason, /older than the newest point rbdbackup-20261123T010000Z/);
    });
  }
  test('an image never backed up is never refused', () => {
    assert.equal(decideType(rule, {}, { ourSnapshots: [] }, 'rbdbackup-19990101T000000Z').type, 'full');
  });
});
