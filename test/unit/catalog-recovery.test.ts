/**
 * "Never lose a backup": a lost or damaged catalog.json stops every change to the image and says
 * how to rebuild it; the rebuild recovers the catalog from the circle directories; a sweep deletes
 * only what is provably ours to delete.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, existsSync, rmSync, unlinkSync, appendFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  Catalog,
  CATALOG_FORMAT,
  CATALOG_FORMAT_V1,
  MANIFEST_FORMAT,
  CatalogUnreadableError,
  UnsafePathError,
  diffFileName,
  fullFileName,
  type ImageCatalog,
  type Point,
} from '../../src/catalog/catalog.js';
import { RebuildRefusedError, rebuildCatalog, rebuildableImages, runTimeOf } from '../../src/catalog/rebuild.js';
import { IMG, diffBytes, freshDir, point, realPoint, snap, snapshotOf } from './catalog-fixtures.js';

/** An image with two circles of real files: full + 2 diffs, and a lone full. */
async function realImage(cat: Catalog): Promise<Point[]> {
  return [
    await realPoint(cat, snap(1), snap(1), null),
    await realPoint(cat, snap(1), snap(2), snap(1)),
    await realPoint(cat, snap(1), snap(3), snap(2)),
    await realPoint(cat, snap(8), snap(8), null),
  ];
}

const catalogJson = (cat: Catalog): ImageCatalog => JSON.parse(readFileSync(cat.catalogPath(IMG), 'utf8')) as ImageCatalog;

function assertUnreadable(e: unknown, cat: Catalog, problem: RegExp): true {
  assert.ok(e instanceof CatalogUnreadableError, `expected CatalogUnreadableError, got ${String(e)}`);
  assert.equal(e.file, cat.catalogPath(IMG));
  assert.match(e.message, problem);
  assert.ok(e.message.startsWith(cat.catalogPath(IMG)), 'the message names the file first');
  assert.match(e.message, /run `rbd-backup catalog rebuild rbd\/vm-1`/);
  assert.doesNotMatch(e.message, /\n/);
  return true;
}

describe('a lost or damaged catalog.json', () => {
  const valid = (cat: Catalog) => catalogJson(cat) as unknown as Record<string, unknown>;
  const edit = (cat: Catalog, f: (c: Record<string, unknown>) => unknown) => writeFileSync(cat.catalogPath(IMG), JSON.stringify(f(valid(cat))));
  const circleFile = (file: string) => (cat: Catalog) =>
    edit(cat, (c) => {
      const circles = c.circles as { points: Point[] }[];
      circles[0]!.points[1]!.file = file;
      return c;
    });
  const cases: { name: string; damage: (cat: Catalog) => void; problem: RegExp }[] = [
    { name: 'lost', damage: (cat) => unlinkSync(cat.catalogPath(IMG)), problem: /catalog\.json is missing, but .*rbdbackup-20261101T010000Z holds backups/ },
    {
      name: 'lost, in an image written before manifests existed',
      damage: (cat) => {
        unlinkSync(cat.catalogPath(IMG));
        for (const c of [snap(1), snap(8)]) unlinkSync(cat.manifestPath(IMG, c));
      },
      problem: /is missing, but .* holds backups/,
    },
    {
      name: 'truncated',
      damage: (cat) => writeFileSync(cat.catalogPath(IMG), readFileSync(cat.catalogPath(IMG), 'utf8').slice(0, 300)),
      problem: /is not valid JSON/,
    },
    { name: 'empty', damage: (cat) => writeFileSync(cat.catalogPath(IMG), ''), problem: /is not valid JSON/ },
    { name: 'null', damage: (cat) => writeFileSync(cat.catalogPath(IMG), 'null'), problem: /is not a JSON object/ },
    { name: 'an array', damage: (cat) => writeFileSync(cat.catalogPath(IMG), '[]'), problem: /is not a JSON object/ },
    { name: 'a foreign format', damage: (cat) => edit(cat, (c) => ({ ...c, format: 'other@9' })), problem: /has unknown format "other@9"/ },
    { name: 'no format', damage: (cat) => edit(cat, (c) => ({ ...c, format: undefined })), problem: /has unknown format undefined/ },
    { name: 'circles not an array', damage: (cat) => edit(cat, (c) => ({ ...c, circles: {} })), problem: /has the wrong shape: circles: / },
    {
      name: 'points not an array',
      damage: (cat) =>
        edit(cat, (c) => {
          (c.circles as Record<string, unknown>[])[0]!.points = 'x';
          return c;
        }),
      problem: /has the wrong shape: circles\.0\.points: /,
    },
    { name: 'a file climbing out of its circle', damage: circleFile('../../../../etc/passwd'), problem: /circles\.0\.points\.1\.file: .* is not a file of circle/ },
    { name: 'a file in another circle', damage: circleFile(`${snap(8)}/${fullFileName(snap(8))}`), problem: /is not a file of circle rbdbackup-20261101T010000Z/ },
    { name: 'a file in a subdirectory', damage: circleFile(`${snap(1)}/sub/${fullFileName(snap(2))}`), problem: /is not a file of circle/ },
    { name: 'a file with a doubled slash', damage: circleFile(`${snap(1)}//${fullFileName(snap(2))}`), problem: /is not a file of circle/ },
    { name: 'an absolute file', damage: circleFile('/etc/passwd'), problem: /is not a file of circle/ },
    { name: 'the circle itself as file', damage: circleFile(`${snap(1)}/..`), problem: /is not a file of circle/ },
    {
      name: 'a negative size and a bad checksum',
      damage: (cat) =>
        edit(cat, (c) => {
          const p = (c.circles as { points: Point[] }[])[0]!.points[0]!;
          p.bytes = -1;
          p.sha256 = 'zz';
          return c;
        }),
      problem: /points\.0\.bytes: .*points\.0\.sha256: is not a sha256/,
    },
    {
      name: 'a circle listed twice',
      damage: (cat) => edit(cat, (c) => ({ ...c, circles: [...(c.circles as unknown[]), (c.circles as unknown[])[0]] })),
      problem: /appears twice/,
    },
    {
      name: 'a directory',
      damage: (cat) => {
        unlinkSync(cat.catalogPath(IMG));
        mkdirSync(cat.catalogPath(IMG));
      },
      problem: /is a directory/,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: load throws naming the file and the rebuild; nothing that changes the image proceeds`, async () => {
      const cat = new Catalog(freshDir(), 'ceph');
      await realImage(cat);
      c.damage(cat);
      // Provable garbage too: a refusing sweep must not even remove this.
      writeFileSync(join(cat.circleDir(IMG, snap(1)), `.${diffFileName(snap(4), snap(3))}.partial-1`), 'partial');
      const before = snapshotOf(cat.imageDir(IMG));
      await assert.rejects(cat.load(IMG), (e) => assertUnreadable(e, cat, c.problem));
      await assert.rejects(cat.sweep(IMG), (e) => assertUnreadable(e, cat, c.problem));
      await assert.rejects(cat.sweepOrphans(IMG), CatalogUnreadableError);
      await assert.rejects(cat.removeCircle(IMG, snap(1)), CatalogUnreadableError);
      await assert.rejects(cat.removeNewestPoint(IMG, snap(1)), CatalogUnreadableError);
      await assert.rejects(cat.addPoint(IMG, snap(1), point(snap(1), snap(4), snap(3))), CatalogUnreadableError);
      assert.deepEqual(snapshotOf(cat.imageDir(IMG)), before, 'nothing in the image directory changed');
      assert.deepEqual(await cat.images(), [IMG], 'still listed, so list and verify report it');
      assert.deepEqual(
        (await rebuildableImages(cat)).map((x) => `${x.pool}/${x.image}`),
        ['rbd/vm-1'],
      );
    });
  }

  test('an @1 catalog loads, and the next point writes the whole circle into a manifest', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const [full, d2] = await realImage(cat);
    const v2 = await cat.load(IMG);
    const v1 = { ...catalogJson(cat), format: CATALOG_FORMAT_V1 };
    writeFileSync(cat.catalogPath(IMG), JSON.stringify(v1));
    for (const c of [snap(1), snap(8)]) unlinkSync(cat.manifestPath(IMG, c));
    assert.deepEqual(await cat.load(IMG), v2, 'read as the current format');
    const d9 = await realPoint(cat, snap(8), snap(9), snap(8));
    assert.equal(catalogJson(cat).format, CATALOG_FORMAT);
    const m = JSON.parse(readFileSync(cat.manifestPath(IMG, snap(8)), 'utf8'));
    assert.deepEqual(m.points.map((p: Point) => p.snapshot), [snap(8), snap(9)]);
    assert.deepEqual(m.points[1], d9);
    assert.equal(existsSync(cat.manifestPath(IMG, snap(1))), false, 'an untouched circle keeps no manifest until rebuilt');
    assert.deepEqual((await cat.load(IMG)).circles[0]!.points.slice(0, 2), [full, d2]);
  });

  test('an empty catalog of format @1 with an empty image directory is still readable', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    mkdirSync(cat.imageDir(IMG), { recursive: true });
    writeFileSync(cat.catalogPath(IMG), JSON.stringify({ format: CATALOG_FORMAT_V1, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circles: [] }));
    assert.deepEqual((await cat.load(IMG)).circles, []);
  });
});

describe('circle manifests', () => {
  test('each addPoint writes the circle manifest beside its data, equal to the catalog circle', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    const c = await cat.load(IMG);
    for (const circle of c.circles) {
      const m = JSON.parse(readFileSync(cat.manifestPath(IMG, circle.name), 'utf8'));
      assert.deepEqual(m, { format: MANIFEST_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circle: circle.name, points: circle.points });
      assert.deepEqual(await cat.readManifest(IMG, circle.name), { ok: true, value: m });
    }
  });

  test('the first point of an image survives a crash between its manifest and its catalog', async () => {
    // The export's file and the manifest are in place, catalog.json was never written: the retry
    // must be able to finish, not be told to rebuild.
    const cat = new Catalog(freshDir(), 'ceph');
    const full = await realPoint(cat, snap(1), snap(1), null);
    unlinkSync(cat.catalogPath(IMG));
    await cat.addPoint(IMG, snap(1), full);
    assert.deepEqual((await cat.load(IMG)).circles, [{ name: snap(1), points: [full] }]);
  });

  test('a later point finding the catalog lost is refused, though its own file is in place', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    unlinkSync(cat.catalogPath(IMG));
    await assert.rejects(realPoint(cat, snap(8), snap(9), snap(8)), CatalogUnreadableError);
  });

  const badManifests: { name: string; text: string; problem: RegExp }[] = [
    { name: 'truncated', text: '{"format":', problem: /not valid JSON/ },
    { name: 'foreign format', text: JSON.stringify({ format: 'x@1' }), problem: /unknown format "x@1"/ },
    {
      name: 'points not an array',
      text: JSON.stringify({ format: MANIFEST_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circle: snap(1), points: {} }),
      problem: /wrong shape: points: /,
    },
    {
      name: 'another circle',
      text: JSON.stringify({ format: MANIFEST_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circle: snap(8), points: [] }),
      problem: /describes circle rbdbackup-20261108T010000Z/,
    },
    {
      name: 'a file outside the circle',
      text: JSON.stringify({ format: MANIFEST_FORMAT, cluster: 'ceph', pool: 'rbd', image: 'vm-1', circle: snap(1), points: [{ ...point(snap(1), snap(1)), file: '../x.full' }] }),
      problem: /is not a file of circle/,
    },
  ];
  for (const c of badManifests) {
    test(`readManifest reports a manifest that is ${c.name}`, async () => {
      const cat = new Catalog(freshDir(), 'ceph');
      await realPoint(cat, snap(1), snap(1), null);
      writeFileSync(cat.manifestPath(IMG, snap(1)), c.text);
      const m = await cat.readManifest(IMG, snap(1));
      assert.equal(m?.ok, false);
      assert.match(m!.ok ? '' : m!.problem, c.problem);
    });
  }
});

describe('rebuildCatalog', () => {
  test('from manifests: the same catalog as before it was lost, without hashing', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    const original = readFileSync(cat.catalogPath(IMG), 'utf8');
    unlinkSync(cat.catalogPath(IMG));
    const hashed: string[] = [];
    const s = await rebuildCatalog(cat, IMG, { progress: (p) => hashed.push(p.file) });
    assert.equal(readFileSync(cat.catalogPath(IMG), 'utf8'), original);
    assert.deepEqual(s.circles, [
      { name: snap(1), from: 'manifest', points: 3, problems: [] },
      { name: snap(8), from: 'manifest', points: 1, problems: [] },
    ]);
    assert.equal(s.before, 'missing');
    assert.equal(s.points, 4);
    assert.deepEqual(s.problems, []);
    assert.deepEqual(hashed, []);
  });

  test('by scanning the files: the chain in order with recomputed checksums, manifests written, then idempotent', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const pts = await realImage(cat);
    for (const c of [snap(1), snap(8)]) unlinkSync(cat.manifestPath(IMG, c));
    writeFileSync(cat.catalogPath(IMG), '{"format": "rbd-backup/image-catalog@2", "circ');
    const progress = new Map<string, number>();
    const s = await rebuildCatalog(cat, IMG, { progress: (p) => progress.set(p.file, p.bytes) });
    assert.equal(s.before, 'unreadable');
    assert.deepEqual(s.circles.map((c) => [c.name, c.from, c.points, c.problems]), [
      [snap(1), 'scan', 3, []],
      [snap(8), 'scan', 1, []],
    ]);
    const c = await cat.load(IMG);
    // A scan cannot know which workflow wrote a file nor when it finished.
    const known = (p: Point) => ({ ...p, workflowId: '', exportedAt: '' });
    assert.deepEqual(c.circles.flatMap((x) => x.points).map(known), pts.map(known));
    for (const p of pts) assert.equal(progress.get(p.file), p.bytes, `${p.file} hashed to its end`);
    for (const x of c.circles) assert.deepEqual(JSON.parse(readFileSync(cat.manifestPath(IMG, x.name), 'utf8')).points, x.points);

    const first = readFileSync(cat.catalogPath(IMG), 'utf8');
    const again = await rebuildCatalog(cat, IMG, { replace: true });
    assert.deepEqual(again.circles.map((x) => x.from), ['manifest', 'manifest']);
    assert.equal(readFileSync(cat.catalogPath(IMG), 'utf8'), first);
  });

  test('what a damaged manifest still knows is kept; a file contradicting it ends the chain and stays', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const [full, d2, d3] = await realImage(cat);
    unlinkSync(cat.catalogPath(IMG));
    appendFileSync(cat.pointPath(IMG, d2!), 'rot');
    const before = snapshotOf(cat.circleDir(IMG, snap(1)));
    const s = await rebuildCatalog(cat, IMG);
    const c1 = s.circles.find((c) => c.name === snap(1))!;
    assert.equal(c1.from, 'scan');
    assert.equal(c1.points, 1);
    assert.match(c1.problems.join('\n'), /manifest\.json records \d+ bytes for .*_from_.*, which has \d+: rebuilt from the files/);
    assert.match(c1.problems.join('\n'), new RegExp(`${d2!.file}: differs from its manifest record`));
    assert.match(c1.problems.join('\n'), new RegExp(`${d3!.file}: does not chain; left in place`));
    assert.deepEqual((await cat.load(IMG)).circles[0]!.points, [full], 'the full with the workflow ID and times its manifest knew');
    const after = snapshotOf(cat.circleDir(IMG, snap(1)));
    assert.deepEqual(after.filter(([f]) => f !== 'manifest.json'), before.filter(([f]) => f !== 'manifest.json'), 'no export file touched');
  });

  test('files that do not chain are reported, never deleted', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    const dir = cat.circleDir(IMG, snap(1));
    const strays: [string, Buffer, RegExp][] = [
      [diffFileName(snap(6), snap(5)), diffBytes(snap(5), snap(6), Buffer.from('x')), /does not chain; left in place/],
      [diffFileName(snap(7), snap(3)), diffBytes(snap(3), snap(4), Buffer.from('x')), /its header says .*20261103.* → .*20261104.*, which is not its name/],
      [diffFileName(snap(9), snap(3)), Buffer.from('not a diff at all'), /not an "rbd diff v1" file/],
      [fullFileName(snap(2)), Buffer.from('a second full'), /does not chain; left in place/],
      ['notes.txt', Buffer.from('mine'), /not an export file; left in place/],
    ];
    for (const [name, bytes] of strays) writeFileSync(join(dir, name), bytes);
    unlinkSync(cat.catalogPath(IMG));
    unlinkSync(cat.manifestPath(IMG, snap(1)));
    const before = snapshotOf(dir);
    const s = await rebuildCatalog(cat, IMG);
    const c1 = s.circles.find((c) => c.name === snap(1))!;
    assert.equal(c1.points, 3, 'the real chain is rebuilt around the strays');
    for (const [name, , problem] of strays) {
      const line = c1.problems.find((p) => p.startsWith(`${snap(1)}/${name}:`));
      assert.ok(line, `${name} reported`);
      assert.match(line, problem);
    }
    assert.deepEqual(snapshotOf(dir).filter(([f]) => f !== 'manifest.json'), before, 'every stray still there');
  });

  test('two diffs continuing from the same snapshot: the chain stops before both', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realPoint(cat, snap(1), snap(1), null);
    await realPoint(cat, snap(1), snap(2), snap(1));
    writeFileSync(join(cat.circleDir(IMG, snap(1)), diffFileName(snap(3), snap(1))), diffBytes(snap(1), snap(3), Buffer.from('y')));
    unlinkSync(cat.catalogPath(IMG));
    unlinkSync(cat.manifestPath(IMG, snap(1)));
    const s = await rebuildCatalog(cat, IMG);
    assert.equal(s.circles[0]!.points, 1);
    assert.match(s.circles[0]!.problems.join('\n'), /all continue from rbdbackup-20261101T010000Z: the chain stops before them/);
  });

  test('a circle without its full is reported and left out; the rest is rebuilt', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const pts = await realImage(cat);
    unlinkSync(cat.catalogPath(IMG));
    unlinkSync(cat.pointPath(IMG, pts[0]!));
    const s = await rebuildCatalog(cat, IMG);
    assert.deepEqual(s.circles.map((c) => c.name), [snap(8)]);
    assert.match(s.problems.join('\n'), /rbdbackup-20261101T010000Z: .*no full export rbdbackup-20261101T010000Z\.full/);
    assert.ok(existsSync(cat.pointPath(IMG, pts[1]!)), 'its diffs stay');
  });

  test('refuses to replace a readable catalog unless asked to, keeping what only the catalog knew', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    await cat.removeNewestPoint(IMG, snap(1));
    const text = readFileSync(cat.catalogPath(IMG), 'utf8');
    await assert.rejects(rebuildCatalog(cat, IMG), (e) => e instanceof RebuildRefusedError && /catalog\.json is readable/.test(e.message));
    assert.equal(readFileSync(cat.catalogPath(IMG), 'utf8'), text);
    const s = await rebuildCatalog(cat, IMG, { replace: true });
    assert.equal(s.before, 'readable');
    assert.equal(readFileSync(cat.catalogPath(IMG), 'utf8'), text, 'same circles, same retired snapshots');
  });

  test('points the old catalog had but the files lost become retired snapshots, still ours to delete', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    rmSync(cat.circleDir(IMG, snap(8)), { recursive: true });
    await rebuildCatalog(cat, IMG, { replace: true });
    assert.deepEqual((await cat.load(IMG)).retiredSnapshots, [snap(8)]);
  });

  test('an image directory that does not exist has nothing to rebuild', async () => {
    await assert.rejects(rebuildCatalog(new Catalog(freshDir(), 'ceph'), IMG), /nothing to rebuild/);
  });

  test('refuses a circle directory that is a symbolic link', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realImage(cat);
    unlinkSync(cat.catalogPath(IMG));
    const outside = freshDir();
    symlinkSync(outside, join(cat.imageDir(IMG), snap(20)));
    await assert.rejects(rebuildCatalog(cat, IMG), UnsafePathError);
    assert.equal(existsSync(cat.catalogPath(IMG)), false);
  });

  const runTimes: [string, string | undefined][] = [
    ['rbdbackup-20261129T010203Z', '2026-11-29T01:02:03.000Z'],
    ['rbdbackup-20260230T010203Z', undefined],
    ['rbdbackup-20261129T250000Z', undefined],
    ['other-20261129T010203Z', undefined],
    ['rbdbackup-2026112T010203Z', undefined],
  ];
  for (const [s, want] of runTimes) test(`runTimeOf ${s}`, () => assert.equal(runTimeOf(s), want));
});

describe('sweep removes only provable garbage', () => {
  test('leftovers of our writes, tombstoned circles and emptied failed fulls go; everything else is reported', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    const pts = await realImage(cat);
    await realPoint(cat, snap(4), snap(4), null);
    // A crash after removeCircle's catalog write: the entry is gone, the tombstone and files remain.
    const c = await cat.load(IMG);
    c.circles = c.circles.filter((x) => x.name !== snap(4));
    c.retiredCircles = [snap(4), snap(5)];
    await cat.save(c);
    const dir = cat.imageDir(IMG);
    const garbage = [
      `${snap(1)}/.${diffFileName(snap(4), snap(3))}.partial-2`,
      `${snap(1)}/.${diffFileName(snap(4), snap(3))}.partial`,
      `${snap(1)}/.manifest.json.tmp-99-1`,
      '.catalog.json.tmp-99-2',
      `${snap(6)}/.${fullFileName(snap(6))}.partial-1`,
    ];
    const unknown = [
      `${snap(1)}/${diffFileName(snap(4), snap(3))}`,
      `${snap(1)}/notes.txt`,
      `${snap(1)}/.${diffFileName(snap(4), snap(3))}.partial-x`,
      `${snap(9)}/${fullFileName(snap(9))}`,
      `${snap(10)}/.${fullFileName(snap(10))}.partial-1`,
      'my-stuff/x',
      'README',
      '.catalog.json.tmp-1234',
    ];
    for (const f of [...garbage, ...unknown]) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), 'x');
    }
    writeFileSync(join(dir, snap(10), 'keep.me'), 'x');
    mkdirSync(join(dir, snap(7)));
    mkdirSync(join(dir, 'empty-but-not-ours'));
    const r = await cat.sweep(IMG);
    assert.deepEqual([...r.removed].sort(), [...garbage, snap(4), snap(6), snap(7)].sort());
    assert.deepEqual(
      [...r.unclaimed].sort(),
      [
        `${snap(1)}/${diffFileName(snap(4), snap(3))}`,
        `${snap(1)}/notes.txt`,
        `${snap(1)}/.${diffFileName(snap(4), snap(3))}.partial-x`,
        snap(9),
        snap(10),
        'my-stuff',
        'README',
        '.catalog.json.tmp-1234',
        'empty-but-not-ours',
      ].sort(),
    );
    for (const f of garbage) assert.equal(existsSync(join(dir, f)), false, `${f} removed`);
    for (const f of unknown) assert.equal(existsSync(join(dir, f)), true, `${f} kept`);
    for (const p of pts) assert.equal(existsSync(cat.pointPath(IMG, p)), true, `${p.file} kept`);
    assert.equal(existsSync(join(dir, snap(4))), false);
    assert.equal((await cat.load(IMG)).retiredCircles, undefined, 'tombstones dropped: one removed now, one already gone');
    const again = await cat.sweep(IMG);
    assert.deepEqual(again.removed, [], 'a second sweep finds no garbage');
    assert.deepEqual([...again.unclaimed].sort(), [...r.unclaimed].sort());
    assert.deepEqual(await cat.sweepOrphans(IMG), []);
  });

  test('a circle name claimed again by a new point loses its tombstone, so the sweep keeps it', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realPoint(cat, snap(1), snap(1), null);
    const c = await cat.load(IMG);
    c.circles = [];
    c.retiredCircles = [snap(1)];
    await cat.save(c);
    const again = await realPoint(cat, snap(1), snap(1), null);
    assert.equal((await cat.load(IMG)).retiredCircles, undefined);
    assert.deepEqual(await cat.sweep(IMG), { removed: [], unclaimed: [] });
    assert.ok(existsSync(cat.pointPath(IMG, again)));
  });

  test('a tombstoned circle holding a symbolic link is refused whole, and the link target untouched', async () => {
    const cat = new Catalog(freshDir(), 'ceph');
    await realPoint(cat, snap(1), snap(1), null);
    await realPoint(cat, snap(4), snap(4), null);
    const c = await cat.load(IMG);
    c.circles = c.circles.filter((x) => x.name !== snap(4));
    c.retiredCircles = [snap(4)];
    await cat.save(c);
    const outside = freshDir();
    writeFileSync(join(outside, 'precious'), 'data');
    symlinkSync(outside, join(cat.circleDir(IMG, snap(4)), 'planted'));
    const before = snapshotOf(cat.imageDir(IMG));
    await assert.rejects(cat.sweep(IMG), (e) => e instanceof UnsafePathError && e.message.includes(join(cat.circleDir(IMG, snap(4)), 'planted')) && /refused/.test(e.message));
    assert.equal(readFileSync(join(outside, 'precious'), 'utf8'), 'data');
    assert.deepEqual(snapshotOf(cat.imageDir(IMG)), before);
  });
});
