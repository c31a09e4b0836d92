import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, InputError } from '../../src/config/config.js';
import { loadImageList, imagesFromArgs } from '../../src/config/image-list.js';

const tmp = mkdtempSync(join(tmpdir(), 'rbd-backup-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes `text` to a fresh file (in a fresh sub-directory) and returns its path. */
function file(text: string, name = 'file.yaml'): string {
  const dir = join(tmp, `case-${++n}`);
  mkdirSync(dir);
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Asserts fn throws an InputError whose message starts with the file and contains every fragment. */
function assertInputError(fn: () => unknown, f: string, ...fragments: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal((e as Error).name, 'InputError');
    const msg = (e as Error).message;
    assert.ok(msg.startsWith(`${f}: `), `message names the file: ${msg}`);
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    for (const fr of fragments) {
      if (typeof fr === 'string') assert.ok(msg.includes(fr), `message ${JSON.stringify(msg)} lacks ${JSON.stringify(fr)}`);
      else assert.match(msg, fr);
    }
    return true;
  });
}

const MIN = 'cluster: {}\nbackup:\n  destination: /srv/backup\n';

describe('loadConfig: defaults and paths', () => {
  test('defaults applied to a minimal file', () => {
    const cfg = loadConfig(file(MIN));
    assert.deepEqual(cfg, {
      cluster: {
        name: 'ceph',
        conf: '/etc/ceph/ceph.conf',
        keyring: '/etc/ceph/ceph.client.admin.keyring',
        user: 'admin',
        op_timeout_seconds: 60,
      },
      backup: {
        destination: '/srv/backup',
        concurrency: 4,
        snapshot_retain_count: 1,
        circle_retain_count: 4,
        max_incremental: 6,
        full_weekdays: [7],
        incremental_weekdays: [1, 2, 3, 4, 5, 6],
        timezone: 'UTC',
        copy_keyring: false,
        space_margin: 0.99,
        destinations: {},
        export_min_mib_per_second: 4,
      },
      temporal: { address: '127.0.0.1:7233', namespace: 'default', task_queue: 'rbd-backup' },
      log: { level: 'info' },
      metrics: {},
    });
  });

  test('inner defaults applied to a partly given section', () => {
    const cfg = loadConfig(file(`${MIN}temporal:\n  namespace: prod\nlog: {}\n`));
    assert.deepEqual(cfg.temporal, { address: '127.0.0.1:7233', namespace: 'prod', task_queue: 'rbd-backup' });
    assert.deepEqual(cfg.log, { level: 'info' });
  });

  test(
    'the cluster section is optional like temporal and log (every key in it has a default)',
    () => {
      const cfg = loadConfig(file('backup:\n  destination: /srv/backup\n'));
      assert.equal(cfg.cluster.name, 'ceph');
    },
  );

  test('given values win over defaults', () => {
    const f = file(
      [
        'cluster: { name: prod-1, user: backup, op_timeout_seconds: 5 }',
        'backup:',
        '  destination: /b',
        '  concurrency: 1',
        '  max_incremental: 0',
        '  full_weekdays: [1]',
        '  incremental_weekdays: []',
        '  timezone: Asia/Tokyo',
        '  copy_keyring: true',
        '  space_margin: 1',
        'log: { level: debug }',
      ].join('\n'),
    );
    const cfg = loadConfig(f);
    assert.equal(cfg.cluster.name, 'prod-1');
    assert.equal(cfg.cluster.user, 'backup');
    assert.equal(cfg.cluster.op_timeout_seconds, 5);
    assert.equal(cfg.backup.concurrency, 1);
    assert.equal(cfg.backup.max_incremental, 0);
    assert.deepEqual(cfg.backup.full_weekdays, [1]);
    assert.deepEqual(cfg.backup.incremental_weekdays, []);
    assert.equal(cfg.backup.timezone, 'Asia/Tokyo');
    assert.equal(cfg.backup.copy_keyring, true);
    assert.equal(cfg.backup.space_margin, 1);
    assert.equal(cfg.log.level, 'debug');
  });

  test('relative paths are resolved against the file directory, absolute ones kept', () => {
    const f = file('cluster:\n  conf: ceph/ceph.conf\n  keyring: /abs/keyring\nbackup:\n  destination: ../out\n  list_file: ./images.yaml\n');
    const dir = join(f, '..');
    const cfg = loadConfig(f);
    assert.equal(cfg.cluster.conf, join(dir, 'ceph', 'ceph.conf'));
    assert.equal(cfg.cluster.keyring, '/abs/keyring');
    assert.equal(cfg.backup.destination, join(dir, '..', 'out'));
    assert.equal(cfg.backup.list_file, join(dir, 'images.yaml'));
  });

  test('relative paths do not depend on the working directory', () => {
    const f = file('cluster: {}\nbackup:\n  destination: dest\n');
    const cwd = process.cwd();
    try {
      process.chdir(tmpdir());
      assert.equal(loadConfig(f).backup.destination, join(f, '..', 'dest'));
    } finally {
      process.chdir(cwd);
    }
  });

  test('list_file stays absent when not given', () => {
    assert.equal(loadConfig(file(MIN)).backup.list_file, undefined);
  });
});

describe('loadConfig: errors name the file and the key path', () => {
  const cases: { name: string; text: string; want: (string | RegExp)[] }[] = [
    { name: 'malformed YAML', text: 'cluster: {\nbackup: [\n', want: ['malformed YAML'] },
    { name: 'duplicate key', text: `${MIN}backup:\n  destination: /x\n`, want: [': backup: duplicate key (line 4)'] },
    { name: 'empty file', text: '', want: [/: (cluster|backup): /] },
    { name: 'missing destination', text: 'cluster: {}\nbackup: {}\n', want: [': backup.destination: '] },
    { name: 'empty destination', text: 'cluster: {}\nbackup:\n  destination: ""\n', want: [': backup.destination: '] },
    { name: 'missing backup section', text: 'cluster: {}\n', want: [': backup: '] },
    { name: 'top level is a list', text: '- a\n- b\n', want: ['(top level)'] },
    { name: 'unknown top-level key', text: `${MIN}extra: 1\n`, want: ['(top level)', 'unknown key(s) "extra"'] },
    { name: 'unknown key in cluster', text: 'cluster: { nme: x }\nbackup: { destination: /b }\n', want: [': cluster: ', 'unknown key(s) "nme"'] },
    { name: 'unknown key in backup', text: `${MIN}  retain: 3\n`, want: [': backup: ', 'unknown key(s) "retain"'] },
    { name: 'unknown key in temporal', text: `${MIN}temporal: { host: x }\n`, want: [': temporal: ', 'unknown key(s) "host"'] },
    { name: 'unknown key in log', text: `${MIN}log: { lvl: info }\n`, want: [': log: ', 'unknown key(s) "lvl"'] },
    { name: 'weekday 0', text: `${MIN}  full_weekdays: [0]\n  incremental_weekdays: [1]\n`, want: [': backup.full_weekdays[0]: '] },
    { name: 'weekday 8', text: `${MIN}  incremental_weekdays: [1, 8]\n`, want: [': backup.incremental_weekdays[1]: '] },
    { name: 'weekday not an integer', text: `${MIN}  full_weekdays: [1.5]\n  incremental_weekdays: []\n`, want: [': backup.full_weekdays[0]: '] },
    { name: 'weekday as a name', text: `${MIN}  full_weekdays: [Sun]\n`, want: [': backup.full_weekdays[0]: '] },
    { name: 'weekdays not a list', text: `${MIN}  full_weekdays: 7\n`, want: [': backup.full_weekdays: '] },
    { name: 'negative max_incremental', text: `${MIN}  max_incremental: -1\n`, want: [': backup.max_incremental: '] },
    { name: 'snapshot_retain_count 0', text: `${MIN}  snapshot_retain_count: 0\n`, want: [': backup.snapshot_retain_count: '] },
    { name: 'negative circle_retain_count', text: `${MIN}  circle_retain_count: -2\n`, want: [': backup.circle_retain_count: '] },
    { name: 'concurrency 0', text: `${MIN}  concurrency: 0\n`, want: [': backup.concurrency: '] },
    { name: 'concurrency as a string', text: `${MIN}  concurrency: "4"\n`, want: [': backup.concurrency: '] },
    { name: 'op_timeout_seconds 0', text: 'cluster: { op_timeout_seconds: 0 }\nbackup: { destination: /b }\n', want: [': cluster.op_timeout_seconds: '] },
    { name: 'bad timezone', text: `${MIN}  timezone: Mars/Olympus_Mons\n`, want: [': backup.timezone: ', '"Mars/Olympus_Mons" is not a known IANA time zone'] },
    { name: 'space_margin 0', text: `${MIN}  space_margin: 0\n`, want: [': backup.space_margin: '] },
    { name: 'space_margin above 1', text: `${MIN}  space_margin: 1.5\n`, want: [': backup.space_margin: '] },
    { name: 'copy_keyring not a boolean', text: `${MIN}  copy_keyring: "yes"\n`, want: [': backup.copy_keyring: '] },
    { name: 'destination a number', text: 'cluster: {}\nbackup:\n  destination: 5\n', want: [': backup.destination: '] },
    { name: 'cluster name with a slash', text: 'cluster: { name: a/b }\nbackup: { destination: /b }\n', want: [': cluster.name: ', 'plain name'] },
    { name: 'cluster name with ..', text: 'cluster: { name: .. }\nbackup: { destination: /b }\n', want: [': cluster.name: '] },
    { name: 'cephx user with a space', text: 'cluster: { user: "a b" }\nbackup: { destination: /b }\n', want: [': cluster.user: '] },
    { name: 'bad task queue', text: `${MIN}temporal: { task_queue: "a b" }\n`, want: [': temporal.task_queue: '] },
    { name: 'bad log level', text: `${MIN}log: { level: loud }\n`, want: [': log.level: '] },
    {
      name: 'a day in both full and incremental lists',
      text: `${MIN}  full_weekdays: [6, 7]\n  incremental_weekdays: [1, 6, 7]\n`,
      want: [': backup.full_weekdays: ', 'day(s) 6, 7 also listed in backup.incremental_weekdays'],
    },
    {
      name: 'default incremental days collide with a given full day',
      text: `${MIN}  full_weekdays: [3]\n`,
      want: [': backup.full_weekdays: ', 'day(s) 3'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = file(c.text);
      assertInputError(() => loadConfig(f), f, ...c.want);
    });
  }

  test('missing file', () => {
    const f = join(tmp, 'does-not-exist.yaml');
    assertInputError(() => loadConfig(f), f, 'cannot read', 'ENOENT');
  });
});

describe('loadImageList', () => {
  test("the original tool's format maps to ImageSelection fields", () => {
    const f = file(
      [
        'ceph:',
        '  - rbd:',
        '      - name: vm-1',
        '      - name: vm-2',
        '        backup_type: full',
        '        max_incremental_backup_count: 3',
        '        max_backup_circle_count: 2',
        '        backup_snapshot_retain_count: 5',
        '  - ssd:',
        '      - name: db',
        '        backup_type: incr',
        '        max_incremental_backup_count: 0',
        'other-cluster:',
        '  - rbd:',
        '      - name: not-mine',
      ].join('\n'),
    );
    assert.deepEqual(loadImageList(f, 'ceph'), [
      { pool: 'rbd', image: 'vm-1' },
      { pool: 'rbd', image: 'vm-2', backupType: 'full', maxIncremental: 3, circleRetainCount: 2, snapshotRetainCount: 5 },
      { pool: 'ssd', image: 'db', backupType: 'incr', maxIncremental: 0 },
    ]);
    assert.deepEqual(loadImageList(f, 'other-cluster'), [{ pool: 'rbd', image: 'not-mine' }]);
  });

  test('several pools in one list item', () => {
    const f = file('ceph:\n  - rbd:\n      - name: a\n    ssd:\n      - name: b\n');
    assert.deepEqual(loadImageList(f, 'ceph'), [
      { pool: 'rbd', image: 'a' },
      { pool: 'ssd', image: 'b' },
    ]);
  });

  test('absent optional fields are absent, not undefined-valued', () => {
    const f = file('ceph:\n  - rbd:\n      - name: a\n');
    assert.deepEqual(Object.keys(loadImageList(f, 'ceph')[0]!).sort(), ['image', 'pool']);
  });

  const errors: { name: string; text: string; cluster?: string; want: (string | RegExp)[] }[] = [
    { name: 'wrong cluster key', text: 'prod:\n  - rbd:\n      - name: a\n', want: ['no top-level key "ceph"'] },
    { name: 'malformed YAML', text: 'ceph:\n  - rbd: [\n', want: ['malformed YAML'] },
    { name: 'empty file', text: '', want: ['(top level)'] },
    { name: 'top level is a list', text: '- rbd\n', want: ['(top level)'] },
    { name: 'cluster value not a list', text: 'ceph:\n  rbd:\n    - name: a\n', want: [': ceph: '] },
    { name: 'pool value not a list', text: 'ceph:\n  - rbd:\n      name: a\n', want: [': ceph[0].rbd: '] },
    { name: 'unknown key in an entry', text: 'ceph:\n  - rbd:\n      - name: a\n        retention: 3\n', want: [': ceph[0].rbd[0]: ', 'unknown key(s) "retention"'] },
    { name: 'missing name', text: 'ceph:\n  - rbd:\n      - backup_type: full\n', want: [': ceph[0].rbd[0].name: '] },
    { name: 'bad backup_type', text: 'ceph:\n  - rbd:\n      - name: a\n        backup_type: diff\n', want: [': ceph[0].rbd[0].backup_type: '] },
    { name: 'negative max_incremental_backup_count', text: 'ceph:\n  - rbd:\n      - name: a\n        max_incremental_backup_count: -1\n', want: [': ceph[0].rbd[0].max_incremental_backup_count: '] },
    { name: 'max_backup_circle_count 0', text: 'ceph:\n  - rbd:\n      - name: a\n        max_backup_circle_count: 0\n', want: [': ceph[0].rbd[0].max_backup_circle_count: '] },
    { name: 'backup_snapshot_retain_count 0', text: 'ceph:\n  - rbd:\n      - name: a\n        backup_snapshot_retain_count: 0\n', want: [': ceph[0].rbd[0].backup_snapshot_retain_count: '] },
    { name: 'second entry path is indexed', text: 'ceph:\n  - rbd:\n      - name: a\n      - name: b\n        x: 1\n', want: [': ceph[0].rbd[1]: ', 'unknown key(s) "x"'] },
    { name: 'image name with a space', text: 'ceph:\n  - rbd:\n      - name: "my img"\n', want: [': ceph[0].rbd[0].name: ', 'image name "my img"'] },
    { name: 'image name with ..', text: 'ceph:\n  - rbd:\n      - name: "a..b"\n', want: [': ceph[0].rbd[0].name: ', "must not contain '..'"] },
    { name: 'image name with a leading dash', text: 'ceph:\n  - rbd:\n      - name: "-x"\n', want: [': ceph[0].rbd[0].name: ', 'image name "-x"'] },
    { name: 'image name with @', text: 'ceph:\n  - rbd:\n      - name: "a@b"\n', want: [': ceph[0].rbd[0].name: '] },
    { name: 'image name with ;', text: 'ceph:\n  - rbd:\n      - name: "a;rm"\n', want: [': ceph[0].rbd[0].name: '] },
    { name: 'empty image name', text: 'ceph:\n  - rbd:\n      - name: ""\n', want: [': ceph[0].rbd[0].name: ', 'image name is empty'] },
    { name: 'bad pool name', text: 'ceph:\n  - "my pool":\n      - name: a\n', want: ['pool name "my pool"'] },
    { name: 'pool name with a slash', text: 'ceph:\n  - "a/b":\n      - name: a\n', want: ['pool name "a/b"'] },
    { name: 'duplicate image in one pool', text: 'ceph:\n  - rbd:\n      - name: a\n      - name: a\n', want: ['image rbd/a is listed twice'] },
    { name: 'duplicate image across list items', text: 'ceph:\n  - rbd:\n      - name: a\n  - rbd:\n      - name: a\n', want: ['image rbd/a is listed twice'] },
    { name: 'duplicate pool key', text: 'ceph:\n  - rbd:\n      - name: a\n    rbd:\n      - name: b\n', want: [': ceph[0].rbd: duplicate key (line 4)'] },
  ];
  for (const c of errors) {
    test(`error: ${c.name}`, () => {
      const f = file(c.text);
      assertInputError(() => loadImageList(f, c.cluster ?? 'ceph'), f, ...c.want);
    });
  }

  test('same image name in different pools is not a duplicate', () => {
    const f = file('ceph:\n  - rbd:\n      - name: a\n  - ssd:\n      - name: a\n');
    assert.equal(loadImageList(f, 'ceph').length, 2);
  });

  test('a cluster with an empty list selects nothing', () => {
    assert.deepEqual(loadImageList(file('ceph: []\n'), 'ceph'), []);
  });
});

describe('imagesFromArgs', () => {
  test('parses POOL/IMAGE specs in order', () => {
    assert.deepEqual(imagesFromArgs(['rbd/a', 'ssd/b', 'rbd/c']), [
      { pool: 'rbd', image: 'a' },
      { pool: 'ssd', image: 'b' },
      { pool: 'rbd', image: 'c' },
    ]);
  });
  test('no specs, no images', () => assert.deepEqual(imagesFromArgs([]), []));

  const bad: { specs: string[]; want: RegExp }[] = [
    { specs: ['noslash'], want: /image "noslash" is not POOL\/IMAGE/ },
    { specs: ['rbd/a', 'rbd/b@snap'], want: /image name "b@snap"/ },
    { specs: ['rbd/../x'], want: /not POOL\/IMAGE/ },
    { specs: ['rbd/-x'], want: /image name "-x"/ },
    { specs: ['rbd/a', 'ssd/b', 'rbd/a'], want: /^command line: image rbd\/a is listed twice$/ },
  ];
  for (const c of bad) {
    test(`rejects ${JSON.stringify(c.specs)} with an InputError`, () => {
      assert.throws(() => imagesFromArgs(c.specs), (e: unknown) => e instanceof InputError && c.want.test((e as Error).message));
    });
  }
});
