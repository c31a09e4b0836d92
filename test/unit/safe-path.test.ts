/**
 * Nothing below the destination may be a symbolic link: a planted link must never redirect a write,
 * a read that decides a write, or a delete to somewhere outside the backup directory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync, existsSync, symlinkSync, renameSync, statSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, atomicTempName } from '../../src/fs/atomic.js';
import { UnsafePathError, assertNoSymlinks, ensureDir, removeTree, removeFile, readTextNoFollow } from '../../src/fs/safe-path.js';
import { Catalog, fullFileName } from '../../src/catalog/catalog.js';
import { rebuildCatalog } from '../../src/catalog/rebuild.js';
import { IMG, freshDir, point, realPoint, snap, snapshotOf } from './catalog-fixtures.js';

const refused = (path: string) => (e: unknown) => e instanceof UnsafePathError && e.path === path && e.message.startsWith(path) && /refused/.test(e.message);

describe('writeFileAtomic', () => {
  // First in this file, so the temp names it will try are the first ones of this process.
  test('never writes through a link planted at its temp name: it takes the next free name', async () => {
    const d = freshDir();
    const outside = freshDir();
    for (let i = 1; i <= 50; i++) {
      writeFileSync(join(outside, `victim-${i}`), 'untouched');
      symlinkSync(join(outside, `victim-${i}`), join(d, atomicTempName('catalog.json', process.pid, i)));
    }
    await writeFileAtomic(join(d, 'catalog.json'), 'new');
    assert.equal(readFileSync(join(d, 'catalog.json'), 'utf8'), 'new');
    for (let i = 1; i <= 50; i++) assert.equal(readFileSync(join(outside, `victim-${i}`), 'utf8'), 'untouched');
  });

  test('replaces a link at the target name instead of writing through it', async () => {
    const d = freshDir();
    const outside = freshDir();
    writeFileSync(join(outside, 'victim'), 'untouched');
    symlinkSync(join(outside, 'victim'), join(d, 'catalog.json'));
    await writeFileAtomic(join(d, 'catalog.json'), 'new');
    assert.equal(lstatSync(join(d, 'catalog.json')).isSymbolicLink(), false);
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'untouched');
  });
});

describe('assertNoSymlinks', () => {
  const cases: { name: string; plant: (root: string, outside: string) => void; path: string; bad?: string }[] = [
    { name: 'a plain existing path', plant: (r) => mkdirSync(join(r, 'a', 'b'), { recursive: true }), path: 'a/b/c' },
    { name: 'a path that does not exist yet', plant: () => undefined, path: 'a/b/c' },
    { name: 'a linked first component', plant: (r, o) => symlinkSync(o, join(r, 'a')), path: 'a/b/c', bad: 'a' },
    {
      name: 'a linked middle component',
      plant: (r, o) => {
        mkdirSync(join(r, 'a'));
        mkdirSync(join(o, 'b'));
        symlinkSync(join(o, 'b'), join(r, 'a', 'b'));
      },
      path: 'a/b/c',
      bad: 'a/b',
    },
    {
      name: 'a linked last component',
      plant: (r, o) => {
        mkdirSync(join(r, 'a', 'b'), { recursive: true });
        writeFileSync(join(o, 'f'), 'x');
        symlinkSync(join(o, 'f'), join(r, 'a', 'b', 'c'));
      },
      path: 'a/b/c',
      bad: 'a/b/c',
    },
    { name: 'a dangling link', plant: (r) => symlinkSync('nowhere', join(r, 'a')), path: 'a', bad: 'a' },
    {
      name: 'a file where a directory must be',
      plant: (r) => writeFileSync(join(r, 'a'), 'x'),
      path: 'a/b',
      bad: 'a',
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.bad ? 'refused' : 'accepted'}`, async () => {
      const root = freshDir();
      c.plant(root, freshDir());
      const p = assertNoSymlinks(root, join(root, c.path));
      if (c.bad) await assert.rejects(p, refused(join(root, c.bad)));
      else await p;
    });
  }

  test('the root itself may be a link: it is the operator\'s choice', async () => {
    const real = freshDir();
    const link = join(freshDir(), 'dest');
    symlinkSync(real, link);
    await assertNoSymlinks(link, join(link, 'x'));
    await ensureDir(link, join(link, 'ceph', 'rbd'));
    assert.ok(statSync(join(real, 'ceph', 'rbd')).isDirectory());
  });

  test('a path outside the root is refused outright', async () => {
    const root = freshDir();
    await assert.rejects(assertNoSymlinks(root, join(root, '..', 'x')), /escapes/);
  });
});

describe('ensureDir', () => {
  test('creates the missing directories with the mode, and accepts existing ones', async () => {
    const root = join(freshDir(), 'not-yet');
    await ensureDir(root, join(root, 'ceph'), 0o700);
    await ensureDir(root, join(root, 'ceph', 'rbd', 'vm-1'));
    await ensureDir(root, join(root, 'ceph', 'rbd', 'vm-1'));
    assert.equal(statSync(join(root, 'ceph')).mode & 0o777, 0o700);
    assert.ok(statSync(join(root, 'ceph', 'rbd', 'vm-1')).isDirectory());
  });

  test('refuses a link on the way and creates nothing through it', async () => {
    const root = freshDir();
    const outside = freshDir();
    symlinkSync(outside, join(root, 'ceph'));
    await assert.rejects(ensureDir(root, join(root, 'ceph', 'rbd')), refused(join(root, 'ceph')));
    assert.equal(existsSync(join(outside, 'rbd')), false);
  });
});

describe('removeTree and removeFile', () => {
  test('remove a plain tree and a plain file; missing ones are already removed', async () => {
    const root = freshDir();
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    writeFileSync(join(root, 'a', 'b', 'f'), 'x');
    writeFileSync(join(root, 'g'), 'x');
    assert.equal(await removeTree(root, join(root, 'a')), true);
    assert.equal(await removeFile(root, join(root, 'g')), true);
    assert.equal(existsSync(join(root, 'a')), false);
    assert.equal(existsSync(join(root, 'g')), false);
    assert.equal(await removeTree(root, join(root, 'a')), false);
    assert.equal(await removeFile(root, join(root, 'g')), false);
  });

  test('refuse a tree holding a link, before removing anything of it', async () => {
    const root = freshDir();
    const outside = freshDir();
    writeFileSync(join(outside, 'precious'), 'data');
    mkdirSync(join(root, 'circle', 'deep'), { recursive: true });
    writeFileSync(join(root, 'circle', 'a.full'), 'x');
    symlinkSync(outside, join(root, 'circle', 'deep', 'planted'));
    await assert.rejects(removeTree(root, join(root, 'circle')), refused(join(root, 'circle', 'deep', 'planted')));
    assert.equal(readFileSync(join(root, 'circle', 'a.full'), 'utf8'), 'x');
    assert.equal(readFileSync(join(outside, 'precious'), 'utf8'), 'data');
  });

  test('refuse a link as the file to remove', async () => {
    const root = freshDir();
    const outside = freshDir();
    writeFileSync(join(outside, 'precious'), 'data');
    symlinkSync(join(outside, 'precious'), join(root, 'f'));
    await assert.rejects(removeFile(root, join(root, 'f')), refused(join(root, 'f')));
    assert.ok(lstatSync(join(root, 'f')).isSymbolicLink());
  });

  test('readTextNoFollow refuses a link and reads a file', async () => {
    const root = freshDir();
    writeFileSync(join(root, 'f'), 'text');
    symlinkSync(join(root, 'f'), join(root, 'l'));
    assert.equal(await readTextNoFollow(join(root, 'f')), 'text');
    assert.equal(await readTextNoFollow(join(root, 'missing')), undefined);
    await assert.rejects(readTextNoFollow(join(root, 'l')), UnsafePathError);
  });
});

describe('Catalog refuses links planted below the destination', () => {
  interface Planted {
    dest: string;
    outside: string;
    cat: Catalog;
  }
  /** Moves a real part of the backup directory outside and links it back, as an attacker would. */
  const relocate = (rel: (cat: Catalog) => string) => (p: Planted) => {
    const inside = rel(p.cat);
    const moved = join(p.outside, 'moved');
    renameSync(inside, moved);
    symlinkSync(moved, inside);
    return inside;
  };
  type Op = [string, (cat: Catalog) => Promise<unknown>];
  const writeOps: Op[] = [
    ['load', (c) => c.load(IMG)],
    ['addPoint', (c) => c.addPoint(IMG, snap(1), point(snap(1), snap(2), snap(1)))],
    ['addPoint of a new circle', (c) => c.addPoint(IMG, snap(5), point(snap(5), snap(5)))],
    ['removeCircle', (c) => c.removeCircle(IMG, snap(1))],
    ['removeNewestPoint', (c) => c.removeNewestPoint(IMG, snap(1))],
    ['sweep', (c) => c.sweep(IMG)],
    ['rebuild', (c) => rebuildCatalog(c, IMG, { replace: true })],
    ['checkedCircleDir', (c) => c.checkedCircleDir(IMG, snap(1), { create: true })],
  ];
  const circleOps = writeOps.filter(([n]) => !['load', 'addPoint of a new circle'].includes(n));
  const cases: { name: string; plant: (p: Planted) => string; ops: Op[] }[] = [
    { name: 'cluster directory', plant: relocate((c) => c.root), ops: [...writeOps, ['images', (c) => c.images()], ['writeReport', (c) => c.writeReport('r', '{}')], ['readIdentity', (c) => c.readIdentity()]] },
    { name: 'pool directory', plant: relocate((c) => join(c.root, 'rbd')), ops: [...writeOps, ['images', (c) => c.images()]] },
    { name: 'image directory', plant: relocate((c) => c.imageDir(IMG)), ops: [...writeOps, ['images', (c) => c.images()]] },
    { name: 'circle directory', plant: relocate((c) => c.circleDir(IMG, snap(1))), ops: circleOps },
    { name: 'catalog.json', plant: relocate((c) => c.catalogPath(IMG)), ops: writeOps.filter(([n]) => n !== 'checkedCircleDir') },
    {
      name: 'manifest.json',
      plant: relocate((c) => c.manifestPath(IMG, snap(1))),
      ops: [
        ['addPoint', (c) => c.addPoint(IMG, snap(1), point(snap(1), snap(2), snap(1)))],
        ['readManifest', (c) => c.readManifest(IMG, snap(1))],
        ['removeCircle', (c) => c.removeCircle(IMG, snap(1))],
      ],
    },
    {
      name: 'export file',
      plant: relocate((c) => join(c.circleDir(IMG, snap(1)), fullFileName(snap(1)))),
      ops: [
        ['removeCircle', (c) => c.removeCircle(IMG, snap(1))],
        ['removeNewestPoint', (c) => c.removeNewestPoint(IMG, snap(1))],
        ['checkedPointPath', (c) => c.checkedPointPath(IMG, { file: `${snap(1)}/${fullFileName(snap(1))}` })],
      ],
    },
    {
      name: 'reports directory',
      plant: (p) => {
        mkdirSync(join(p.outside, 'reports'));
        symlinkSync(join(p.outside, 'reports'), join(p.cat.root, '.reports'));
        return join(p.cat.root, '.reports');
      },
      ops: [
        ['writeReport', (c) => c.writeReport('run-1', '{}')],
        ['checkedReportPath', (c) => c.checkedReportPath('run-1')],
      ],
    },
    {
      name: 'cluster.json',
      plant: relocate((c) => join(c.root, 'cluster.json')),
      ops: [
        ['readIdentity', (c) => c.readIdentity()],
        ['writeIdentity', (c) => c.writeIdentity({ format: 'rbd-backup/cluster@1', name: 'ceph', fsid: 'x', createdAt: 'now' })],
      ],
    },
  ];
  for (const c of cases) {
    for (const [opName, op] of c.ops) {
      test(`${c.name} as a link: ${opName} is refused and nothing outside changes`, async () => {
        const dest = freshDir();
        const cat = new Catalog(dest, 'ceph');
        await cat.writeIdentity({ format: 'rbd-backup/cluster@1', name: 'ceph', fsid: 'f', createdAt: 'now' });
        await realPoint(cat, snap(1), snap(1), null);
        const p: Planted = { dest, outside: freshDir(), cat };
        const link = c.plant(p);
        const before = snapshotOf(p.outside);
        await assert.rejects(op(cat), refused(link));
        assert.deepEqual(snapshotOf(p.outside), before);
      });
    }
  }
});
