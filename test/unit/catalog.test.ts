import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync, statSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { within, writeFileAtomic } from '../../src/fs/atomic.js';
import { sha256File } from '../../src/fs/checksum.js';
import { Catalog, CatalogUnreadableError, newestPoint, CATALOG_FORMAT, fullFileName, diffFileName, type ImageCatalog } from '../../src/catalog/catalog.js';
import { NameError } from '../../src/names/names.js';
import { IMG, allFiles, freshDir, point, snap, withPoints } from './catalog-fixtures.js';

describe('within', () => {
  const root = '/srv/backup';
  const ok: { parts: string[]; want: string }[] = [
    { parts: [], want: '/srv/backup' },
    { parts: ['ceph'], want: '/srv/backup/ceph' },
    { parts: ['ceph', 'rbd', 'img'], want: '/srv/backup/ceph/rbd/img' },
    { parts: ['ceph/rbd/img'], want: '/srv/backup/ceph/rbd/img' },
    { parts: ['a', '..', 'b'], want: '/srv/backup/b' },
    { parts: ['.', 'x'], want: '/srv/backup/x' },
    { parts: ['.hidden.partial'], want: '/srv/backup/.hidden.partial' },
    { parts: ['..', 'backup', 'x'], want: '/srv/backup/x' },
  ];
  for (const c of ok) {
    test(`accepts ${JSON.stringify(c.parts)}`, () => assert.equal(within(root, ...c.parts), c.want));
  }
  const bad: string[][] = [['..'], ['../etc'], ['a', '../../etc'], ['/etc/passwd'], ['ceph', '/etc'], ['a/../../b'], ['..', 'backup-evil'], ['../backup-evil'], ['../backupx/y']];
  for (const parts of bad) {
    test(`refuses ${JSON.stringify(parts)}`, () => assert.throws(() => within(root, ...parts), /escapes \/srv\/backup/));
  }
  test('a relative root is resolved first', () => {
    assert.equal(within('rel', 'x'), resolve('rel', 'x'));
  });
});

describe('writeFileAtomic', () => {
  test('writes, overwrites, creates parent directories and leaves no temp files', async () => {
    const d = freshDir();
    const f = join(d, 'a', 'b', 'catalog.json');
    await writeFileAtomic(f, 'one');
    assert.equal(readFileSync(f, 'utf8'), 'one');
    await writeFileAtomic(f, new Uint8Array([116, 119, 111]));
    assert.equal(readFileSync(f, 'utf8'), 'two');
    assert.deepEqual(readdirSync(join(d, 'a', 'b')), ['catalog.json']);
  });

  test('honours the mode', async () => {
    const f = join(freshDir(), 'secret');
    await writeFileAtomic(f, 'x', 0o600);
    assert.equal(statSync(f).mode & 0o777, 0o600);
  });

  test(
    'concurrent writes to one file from one process all succeed',
    async () => {
      const f = join(freshDir(), 'cluster.json');
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => writeFileAtomic(f, `v${i}`.repeat(10000))));
      assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
      assert.match(readFileSync(f, 'utf8'), /^(v\d)\1*$/);
    },
  );
});

describe('sha256File', () => {
  const sizes = [0, 1, 1000, 4 * 1024 * 1024, 4 * 1024 * 1024 + 3, 9 * 1024 * 1024 + 17];
  for (const size of sizes) {
    test(`${size} bytes: equals crypto over the same bytes`, async () => {
      const bytes = randomBytes(size);
      const f = join(freshDir(), 'data');
      writeFileSync(f, bytes);
      const seen: number[] = [];
      const r = await sha256File(f, (b) => seen.push(b));
      assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(r.bytes, size);
      if (size > 0) assert.equal(seen.at(-1), size, 'progress ends at the total');
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, 'progress increases');
    });
  }
  test('known vector', async () => {
    const f = join(freshDir(), 'abc');
    writeFileSync(f, 'abc');
    assert.equal((await sha256File(f)).sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  test('missing file rejects', async () => {
    await assert.rejects(sha256File(join(freshDir(), 'nope')), { code: 'ENOENT' });
  });
});

describe('Catalog paths', () => {
  const cat = new Catalog('/srv/backup', 'ceph');
  test('layout', () => {
    assert.equal(cat.root, '/srv/backup/ceph');
    assert.equal(cat.imageDir(IMG), '/srv/backup/ceph/rbd/vm-1');
    assert.equal(cat.circleDir(IMG, snap(1)), `/srv/backup/ceph/rbd/vm-1/${snap(1)}`);
    assert.equal(cat.reportPath('run-1'), '/srv/backup/ceph/.reports/run-1.json');
    assert.equal(cat.catalogPath(IMG), '/srv/backup/ceph/rbd/vm-1/catalog.json');
    assert.equal(cat.manifestPath(IMG, snap(1)), `/srv/backup/ceph/rbd/vm-1/${snap(1)}/manifest.json`);
    assert.equal(cat.pointPath(IMG, { file: `${snap(1)}/x.full` }), `/srv/backup/ceph/rbd/vm-1/${snap(1)}/x.full`);
  });
  const refusals: { name: string; fn: () => unknown; err: RegExp | typeof NameError }[] = [
    { name: 'cluster ..', fn: () => new Catalog('/srv/backup', '..'), err: NameError },
    { name: 'cluster with slash', fn: () => new Catalog('/srv/backup', 'a/b'), err: NameError },
    { name: 'pool ..', fn: () => cat.imageDir({ pool: '..', image: 'x' }), err: NameError },
    { name: 'image with slash', fn: () => cat.imageDir({ pool: 'rbd', image: '../x' }), err: NameError },
    { name: 'circle ..', fn: () => cat.circleDir(IMG, '..'), err: NameError },
    { name: 'point file climbing out', fn: () => cat.pointPath(IMG, { file: '../../../etc/passwd' }), err: /escapes/ },
    { name: 'absolute point file', fn: () => cat.pointPath(IMG, { file: '/etc/passwd' }), err: /escapes/ },
    { name: 'report name with slash', fn: () => cat.reportPath('../x'), err: NameError },
  ];
  for (const c of refusals) test(`refuses ${c.name}`, () => assert.throws(c.fn, c.err));
});

describe('Catalog on disk', () => {
  test('load of an image never backed up is an empty catalog', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    assert.deepEqual(await cat.load(IMG), { format: CATALOG_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circles: [] });
  });

  test('load of an image directory holding only leftovers of a failed first export is an empty catalog', async () => {
    // A first full that failed leaves its circle directory and maybe a partial: no backup yet.
    const cat = new Catalog(freshDir(), 'ceph');
    mkdirSync(cat.circleDir(IMG, snap(1)), { recursive: true });
    writeFileSync(join(cat.circleDir(IMG, snap(1)), `.${fullFileName(snap(1))}.partial-1`), 'x');
    assert.deepEqual((await cat.load(IMG)).circles, []);
  });

  test('identity round-trips; absent identity is undefined', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    assert.equal(await cat.readIdentity(), undefined);
    const id = { format: 'rbd-backup/cluster@1' as const, name: 'ceph', fsid: 'f-1', createdAt: '2026-11-01T00:00:00.000Z' };
    await cat.writeIdentity(id);
    assert.deepEqual(await cat.readIdentity(), id);
    assert.equal(statSync(cat.root).mode & 0o777, 0o700, 'exports hold disk contents');
  });

  test('addPoint is idempotent and leaves no temp files', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const p = point(snap(1), snap(1));
    await cat.addPoint(IMG, snap(1), p);
    const once = readFileSync(cat.catalogPath(IMG), 'utf8');
    const manifest = readFileSync(cat.manifestPath(IMG, snap(1)), 'utf8');
    await cat.addPoint(IMG, snap(1), p);
    await cat.addPoint(IMG, snap(1), { ...p, bytes: 999 });
    assert.equal(readFileSync(cat.catalogPath(IMG), 'utf8'), once);
    assert.equal(readFileSync(cat.manifestPath(IMG, snap(1)), 'utf8'), manifest);
    const c = await cat.load(IMG);
    assert.equal(c.circles.length, 1);
    assert.deepEqual(c.circles[0]!.points, [p]);
    assert.deepEqual(allFiles(cat.imageDir(IMG)), ['catalog.json', `${snap(1)}/manifest.json`]);
  });

  test('addPoint appends in order and keeps circles sorted by name', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await cat.addPoint(IMG, snap(8), point(snap(8), snap(8)));
    await cat.addPoint(IMG, snap(1), point(snap(1), snap(1)));
    await cat.addPoint(IMG, snap(1), point(snap(1), snap(2), snap(1)));
    const c = await cat.load(IMG);
    assert.deepEqual(c.circles.map((x) => x.name), [snap(1), snap(8)]);
    assert.deepEqual(c.circles[0]!.points.map((p) => p.snapshot), [snap(1), snap(2)]);
  });

  test('addPoint refuses a point whose file is outside its circle before writing anything', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await cat.addPoint(IMG, snap(1), point(snap(1), snap(1)));
    const before = allFiles(cat.imageDir(IMG)).map((f) => [f, readFileSync(join(cat.imageDir(IMG), f), 'utf8')]);
    await assert.rejects(cat.addPoint(IMG, snap(1), { ...point(snap(1), snap(2), snap(1)), file: `${snap(9)}/${diffFileName(snap(2), snap(1))}` }), /not a file of circle/);
    assert.deepEqual(allFiles(cat.imageDir(IMG)).map((f) => [f, readFileSync(join(cat.imageDir(IMG), f), 'utf8')]), before);
  });

  test('removeCircle removes the entry and the files, and nothing else', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await withPoints(cat, [
      [snap(1), point(snap(1), snap(1))],
      [snap(1), point(snap(1), snap(2), snap(1))],
      [snap(3), point(snap(3), snap(3))],
    ]);
    await cat.removeCircle(IMG, snap(1));
    const c = await cat.load(IMG);
    assert.deepEqual(c.circles.map((x) => x.name), [snap(3)]);
    assert.equal(existsSync(cat.circleDir(IMG, snap(1))), false);
    assert.deepEqual(allFiles(cat.imageDir(IMG)), ['catalog.json', `${snap(3)}/manifest.json`, `${snap(3)}/${fullFileName(snap(3))}`]);
    assert.equal(c.retiredCircles, undefined, 'the tombstone goes with the directory');
    await cat.removeCircle(IMG, 'rbdbackup-20000101T000000Z');
    assert.deepEqual((await cat.load(IMG)).circles.map((x) => x.name), [snap(3)], 'removing an unknown circle is a no-op');
    assert.deepEqual((await cat.load(IMG)).retiredSnapshots, [snap(1), snap(2)], 'its snapshots stay ours to delete');
  });

  test('removeCircle leaves alone a directory the catalog neither lists nor tombstones', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await withPoints(cat, [[snap(3), point(snap(3), snap(3))]]);
    mkdirSync(cat.circleDir(IMG, snap(1)));
    writeFileSync(join(cat.circleDir(IMG, snap(1)), fullFileName(snap(1))), 'somebody else');
    await cat.removeCircle(IMG, snap(1));
    assert.equal(readFileSync(join(cat.circleDir(IMG, snap(1)), fullFileName(snap(1))), 'utf8'), 'somebody else');
  });

  test('removeNewestPoint removes the last point, its file and its manifest entry; an emptied circle goes entirely', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const full = point(snap(1), snap(1));
    const diff = point(snap(1), snap(2), snap(1));
    await withPoints(cat, [
      [snap(1), full],
      [snap(1), diff],
    ]);
    assert.deepEqual(await cat.removeNewestPoint(IMG, snap(1)), diff);
    assert.deepEqual((await cat.load(IMG)).circles[0]!.points, [full]);
    assert.deepEqual((await cat.load(IMG)).retiredSnapshots, [snap(2)]);
    assert.deepEqual(JSON.parse(readFileSync(cat.manifestPath(IMG, snap(1)), 'utf8')).points, [full]);
    assert.equal(existsSync(cat.pointPath(IMG, diff)), false);
    assert.equal(existsSync(cat.pointPath(IMG, full)), true);

    assert.deepEqual(await cat.removeNewestPoint(IMG, snap(1)), full);
    assert.deepEqual((await cat.load(IMG)).circles, []);
    assert.equal(existsSync(cat.circleDir(IMG, snap(1))), false);

    assert.equal(await cat.removeNewestPoint(IMG, snap(1)), undefined);
    assert.equal(await cat.removeNewestPoint(IMG, snap(9)), undefined);
  });

  test('sweepOrphans of an image with no directory removes nothing', async () => {
    assert.deepEqual(await new Catalog(freshDir(), 'ceph').sweep(IMG), { removed: [], unclaimed: [] });
  });

  test('sweepOrphans with no catalog refuses and removes nothing: one lost file must not cost the history', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await withPoints(cat, [[snap(1), point(snap(1), snap(1))]]);
    rmSync(cat.catalogPath(IMG));
    await assert.rejects(cat.sweepOrphans(IMG), CatalogUnreadableError);
    assert.deepEqual(allFiles(cat.imageDir(IMG)), [`${snap(1)}/manifest.json`, `${snap(1)}/${fullFileName(snap(1))}`]);
  });

  test('images() lists image directories holding a catalog.json or backup data, sorted', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    for (const r of [{ pool: 'ssd', image: 'b' }, { pool: 'rbd', image: 'z' }, { pool: 'rbd', image: 'a' }]) {
      await cat.addPoint(r, snap(1), point(snap(1), snap(1)));
    }
    mkdirSync(join(cat.root, 'rbd', 'no-data', snap(1)), { recursive: true });
    writeFileSync(join(cat.root, 'rbd', 'no-data', snap(1), `.${fullFileName(snap(1))}.partial-1`), 'x');
    mkdirSync(join(cat.root, 'empty-pool'), { recursive: true });
    mkdirSync(join(cat.root, 'lost+found'), { recursive: true });
    writeFileSync(join(cat.root, 'rbd', 'stray-file'), 'x');
    await cat.writeIdentity({ format: 'rbd-backup/cluster@1', name: 'ceph', fsid: 'f', createdAt: 'now' });
    writeFileSync(join(cat.root, 'ceph.conf'), '[global]\n');
    await cat.writeReport('run-1', '{}');
    mkdirSync(join(cat.root, '.reports', 'x'), { recursive: true });
    writeFileSync(join(cat.root, '.reports', 'x', 'catalog.json'), '{}');
    // Reports of earlier versions: plain files in a directory that looks like a pool.
    mkdirSync(join(cat.root, 'reports'));
    writeFileSync(join(cat.root, 'reports', 'run-0.json'), '{}');
    assert.deepEqual(await cat.images(), [
      { pool: 'rbd', image: 'a' },
      { pool: 'rbd', image: 'z' },
      { pool: 'ssd', image: 'b' },
    ]);
  });

  const byData: { name: string; make: (cat: Catalog) => void; want: { pool: string; image: string }[] }[] = [
    {
      name: 'an export file but no catalog.json',
      make: (cat) => {
        mkdirSync(cat.circleDir(IMG, snap(1)), { recursive: true });
        writeFileSync(join(cat.circleDir(IMG, snap(1)), fullFileName(snap(1))), 'x');
      },
      want: [IMG],
    },
    {
      name: 'a manifest but no catalog.json',
      make: (cat) => {
        mkdirSync(cat.circleDir(IMG, snap(1)), { recursive: true });
        writeFileSync(cat.manifestPath(IMG, snap(1)), '{}');
      },
      want: [IMG],
    },
    {
      name: 'a catalog.json that is damaged',
      make: (cat) => {
        mkdirSync(cat.imageDir(IMG), { recursive: true });
        writeFileSync(cat.catalogPath(IMG), '{');
      },
      want: [IMG],
    },
    {
      name: 'only a partial export',
      make: (cat) => {
        mkdirSync(cat.circleDir(IMG, snap(1)), { recursive: true });
        writeFileSync(join(cat.circleDir(IMG, snap(1)), `.${fullFileName(snap(1))}.partial-1`), 'x');
      },
      want: [],
    },
    {
      name: 'a pool named reports',
      make: (cat) => {
        const r = { pool: 'reports', image: 'vm-2' };
        mkdirSync(cat.circleDir(r, snap(1)), { recursive: true });
        writeFileSync(join(cat.circleDir(r, snap(1)), fullFileName(snap(1))), 'x');
        writeFileSync(join(cat.root, 'reports', 'run-0.json'), '{}');
      },
      want: [{ pool: 'reports', image: 'vm-2' }],
    },
  ];
  for (const c of byData) {
    test(`images() finds images by their data: ${c.name}`, async () => {
      const cat = new Catalog(freshDir(), 'ceph');
      c.make(cat);
      assert.deepEqual(await cat.images(), c.want);
    });
  }

  test('images() of a destination never written is empty', async () => {
    assert.deepEqual(await new Catalog(freshDir(), 'ceph').images(), []);
  });

  test(
    'images() ignores the keyring copied by copy_keyring',
    async () => {
      const cat = new Catalog(freshDir(), 'ceph');
      await cat.addPoint(IMG, snap(1), point(snap(1), snap(1)));
      writeFileSync(join(cat.root, 'ceph.conf'), '[global]\n');
      writeFileSync(join(cat.root, 'keyring'), '[client.admin]\n');
      assert.deepEqual(await cat.images(), [IMG]);
    },
  );

  test('writeReport writes under .reports, never among the pools', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const file = await cat.writeReport('run-1', '{"ok":true}\n');
    assert.equal(file, join(cat.root, '.reports', 'run-1.json'));
    assert.equal(readFileSync(file, 'utf8'), '{"ok":true}\n');
    assert.deepEqual(readdirSync(cat.root), ['.reports']);
  });
});

describe('newestPoint', () => {
  const cat = (circles: ImageCatalog['circles']): ImageCatalog => ({ format: CATALOG_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circles });
  test('no circles: undefined', () => assert.equal(newestPoint(cat([])), undefined));
  test('last point of the newest circle, whatever the circle order', () => {
    const c = cat([
      { name: snap(8), points: [point(snap(8), snap(8)), point(snap(8), snap(9), snap(8))] },
      { name: snap(1), points: [point(snap(1), snap(1)), point(snap(1), snap(2), snap(1))] },
    ]);
    const r = newestPoint(c);
    assert.equal(r?.circle.name, snap(8));
    assert.equal(r?.point.snapshot, snap(9));
    assert.deepEqual(c.circles.map((x) => x.name), [snap(8), snap(1)], 'input order untouched');
  });
  test('single full', () => {
    const r = newestPoint(cat([{ name: snap(1), points: [point(snap(1), snap(1))] }]));
    assert.equal(r?.point.snapshot, snap(1));
    assert.equal(r?.point.fromSnapshot, null);
  });
});
