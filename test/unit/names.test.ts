import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkName,
  NameError,
  parseImageSpec,
  imageKey,
  compactUtc,
  snapshotNameFor,
  isOurSnapshot,
  SNAPSHOT_PREFIX,
} from '../../src/names/names.js';

describe('checkName', () => {
  const accepted = ['rbd', 'vm-101-disk-0', 'a', 'A_b.c-d', '_hidden_ok', '0', 'img.v2', 'x'.repeat(255), 'a-', 'a.'];
  for (const v of accepted) {
    test(`accepts ${JSON.stringify(v.length > 20 ? `${v.slice(0, 8)}…(${v.length})` : v)}`, () => {
      assert.equal(checkName('image', v), v);
    });
  }

  const rejected: { name: string; value: string; msg: RegExp }[] = [
    { name: 'empty', value: '', msg: /image name is empty/ },
    { name: 'space inside', value: 'my image', msg: /may only use/ },
    { name: 'leading space', value: ' img', msg: /may only use/ },
    { name: 'trailing newline', value: 'img\n', msg: /may only use/ },
    { name: 'tab', value: 'a\tb', msg: /may only use/ },
    { name: "'..' alone", value: '..', msg: /must not contain '\.\.'/ },
    { name: "'.' alone", value: '.', msg: /must not contain '\.\.'|must not start with/ },
    { name: "'..' inside", value: 'a..b', msg: /must not contain '\.\.'/ },
    { name: "'..' at the end", value: 'img..', msg: /must not contain '\.\.'/ },
    { name: 'leading dash (option injection)', value: '-rf', msg: /must not start with '-'/ },
    { name: 'leading double dash', value: '--pool=x', msg: /may only use/ },
    { name: 'leading dot', value: '.hidden', msg: /must not start with/ },
    { name: 'slash', value: 'a/b', msg: /may only use/ },
    { name: 'absolute path', value: '/etc', msg: /may only use/ },
    { name: 'backslash', value: 'a\\b', msg: /may only use/ },
    { name: 'at sign (snapshot separator)', value: 'img@snap', msg: /may only use/ },
    { name: 'colon', value: 'a:b', msg: /may only use/ },
    { name: 'non-ASCII letter', value: 'imagé', msg: /may only use/ },
    { name: 'NUL byte', value: 'a\0b', msg: /may only use/ },
    { name: '256 characters', value: 'x'.repeat(256), msg: /is longer than 255 characters/ },
    ...[';', '|', '&', '$', '`', "'", '"', '<', '>', '*', '?', '(', ')', '{', '}', '!', '#', '~', '%'].map((ch) => ({
      name: `shell metacharacter ${ch}`,
      value: `img${ch}x`,
      msg: /may only use/,
    })),
  ];
  for (const c of rejected) {
    test(`rejects ${c.name}`, () => {
      assert.throws(
        () => checkName('image', c.value),
        (e: unknown) => {
          assert.ok(e instanceof NameError, 'a NameError');
          assert.ok(e instanceof Error);
          assert.equal((e as Error).name, 'NameError');
          assert.match((e as Error).message, c.msg);
          assert.match((e as Error).message, /^image name/, 'the message names the kind');
          return true;
        },
      );
    });
  }

  test('the message quotes the culprit', () => {
    assert.throws(() => checkName('pool', 'bad;pool'), /pool name "bad;pool"/);
  });

  test('a non-string is rejected as empty', () => {
    assert.throws(() => checkName('image', undefined as unknown as string), NameError);
  });
});

describe('parseImageSpec', () => {
  const good: { spec: string; pool: string; image: string }[] = [
    { spec: 'rbd/vm-1', pool: 'rbd', image: 'vm-1' },
    { spec: 'pool_2/img.v2', pool: 'pool_2', image: 'img.v2' },
  ];
  for (const c of good) {
    test(`parses ${c.spec}`, () => {
      const r = parseImageSpec(c.spec);
      assert.deepEqual(r, { pool: c.pool, image: c.image });
      assert.equal(imageKey(r), c.spec, 'imageKey round-trips');
    });
  }

  const bad: { spec: string; msg: RegExp }[] = [
    { spec: 'justimage', msg: /is not POOL\/IMAGE/ },
    { spec: 'a/b/c', msg: /is not POOL\/IMAGE/ },
    { spec: 'rbd/ns/img', msg: /is not POOL\/IMAGE/ },
    { spec: '', msg: /is not POOL\/IMAGE/ },
    { spec: '/img', msg: /pool name is empty/ },
    { spec: 'rbd/', msg: /image name is empty/ },
    { spec: 'rbd/img@snap', msg: /image name "img@snap"/ },
    { spec: '../img', msg: /pool name "\.\." must not contain/ },
    { spec: 'rbd/-x', msg: /image name "-x"/ },
    { spec: 'rb d/img', msg: /pool name "rb d"/ },
  ];
  for (const c of bad) {
    test(`rejects ${JSON.stringify(c.spec)}`, () => {
      assert.throws(() => parseImageSpec(c.spec), (e: unknown) => e instanceof NameError && c.msg.test((e as Error).message));
    });
  }
});

describe('compactUtc and snapshotNameFor', () => {
  const cases: { at: Date; want: string }[] = [
    { at: new Date('2026-11-26T14:38:51.123Z'), want: '20261126T143851Z' },
    { at: new Date('2026-11-26T14:38:51Z'), want: '20261126T143851Z' },
    { at: new Date('2026-01-02T03:04:05.999Z'), want: '20260102T030405Z' },
    // The same instant written with an offset gives the UTC name.
    { at: new Date('2026-03-08T03:30:00-04:00'), want: '20260308T073000Z' },
    { at: new Date('1999-12-31T23:59:59Z'), want: '19991231T235959Z' },
  ];
  for (const c of cases) {
    test(`${c.at.toISOString()} -> ${c.want}`, () => {
      assert.equal(compactUtc(c.at), c.want);
      const snap = snapshotNameFor(c.at);
      assert.equal(snap, SNAPSHOT_PREFIX + c.want);
      assert.ok(isOurSnapshot(snap), 'a generated name is recognised as ours');
    });
  }

  test('names sort in time order', () => {
    const times = ['2026-11-26T09:00:00Z', '2026-11-26T10:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'];
    const names = times.map((t) => snapshotNameFor(new Date(t)));
    assert.deepEqual([...names].reverse().sort(), names);
  });
});

describe('isOurSnapshot', () => {
  const cases: { name: string; want: boolean }[] = [
    { name: 'rbdbackup-20261126T143851Z', want: true },
    { name: 'rbdbackup-20261126T143851', want: false },
    { name: 'rbdbackup-20261126143851Z', want: false },
    { name: 'rbdbackup-2026112T143851Z', want: false },
    { name: 'rbdbackup-20261126T143851Z-extra', want: false },
    { name: 'rbdbackup-20261126T143851Zx', want: false },
    { name: 'rbdbackup-', want: false },
    { name: 'rbdbackup', want: false },
    { name: 'xrbdbackup-20261126T143851Z', want: false },
    { name: 'RBDBACKUP-20261126T143851Z', want: false },
    { name: 'rbdbackup_20261126T143851Z', want: false },
    { name: 'rbdbackup-20261126t143851z', want: false },
    { name: 'manual-snap', want: false },
    { name: '', want: false },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.name)} -> ${c.want}`, () => assert.equal(isOurSnapshot(c.name), c.want));
  }
});
