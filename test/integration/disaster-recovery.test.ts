/**
 * Disaster recovery across clusters, through the CLI on two real clusters: site A (the suite's
 * cluster) is backed up, its images are deleted, and a worker of site B (a second throwaway
 * cluster, another name and fsid) restores every point of each image from A's backups bit-exact.
 * Then the same name on a rebuilt cluster: the restore works, a backup into the old directory is
 * still refused by the identity check. Bad input: the culprit named, exit 2, nothing written.
 *
 * The second cluster takes the suite's mon ports + 100, or RBD_TEST_CEPH2_MON_V2_PORT /
 * RBD_TEST_CEPH2_MON_V1_PORT; it is brought up once and wiped in `after`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { ceph, cli, createImage, randomWrites, rbd, repo, startWorker, tempDir, temporal, type RunningWorker } from '../harness/env.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { RestoreResult } from '../../src/contract/restore.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';
import { listing } from '../harness/tree.js';

// Days no other test file uses: a run's name derives from --as-of, and the suite shares one server.
const DAYS = ['2033-01-02T07:15:00Z', '2033-01-03T07:15:00Z', '2033-01-04T07:15:00Z'];
const compact = (iso: string) => iso.replace(/[-:]/g, '');
const snapOf = (iso: string) => `rbdbackup-${compact(iso)}`;
const IMAGES = ['dr-a', 'dr-b'];

interface Cluster {
  conf: string;
  keyring: string;
  fsid: string;
  dir: string;
}

const suitePorts = JSON.parse(process.env.RBD_TEST_CEPH!) as { mon_v2_port: number; mon_v1_port: number };
const portsB = {
  CEPH_DEV_MON_V2_PORT: process.env.RBD_TEST_CEPH2_MON_V2_PORT ?? String(suitePorts.mon_v2_port + 100),
  CEPH_DEV_MON_V1_PORT: process.env.RBD_TEST_CEPH2_MON_V1_PORT ?? String(suitePorts.mon_v1_port + 100),
  CEPH_DEV_OSD_BYTES: String(1024 ** 3),
};

function rbdArgs(c: Cluster): string[] {
  return ['--conf', c.conf, '--keyring', c.keyring, '--id', 'admin'];
}
async function rbdB(c: Cluster, ...args: string[]): Promise<string> {
  return (await execa('rbd', [...rbdArgs(c), ...args])).stdout;
}
/** sha256 of `rbd export SPEC -` on the given cluster. */
async function exportSha256(c: Cluster, spec: string): Promise<string> {
  const child = execa('rbd', [...rbdArgs(c), 'export', '--no-progress', spec, '-'], { buffer: false });
  const h = createHash('sha256');
  for await (const chunk of child.stdout!) h.update(chunk as Buffer);
  await child;
  return h.digest('hex');
}
async function imagesOn(c: Cluster): Promise<unknown> {
  return JSON.parse(await rbdB(c, 'ls', '-l', 'rbd', '--format', 'json'));
}


function config(dir: string, file: string, name: string, c: Cluster, backup: Record<string, unknown>): { file: string; taskQueue: string } {
  const taskQueue = `test-dr-${file}-${Date.now().toString(36)}`;
  file = join(dir, `${file}.yaml`);
  const doc = {
    cluster: { name, conf: c.conf, keyring: c.keyring, user: 'admin', op_timeout_seconds: 30 },
    backup: { concurrency: 2, full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], snapshot_retain_count: 1, ...backup },
    temporal: { address: temporal.address, namespace: 'default', task_queue: taskQueue },
    log: { level: 'info' },
  };
  writeFileSync(file, stringify(doc));
  return { file, taskQueue };
}

/**
 * Mon ports above 32767 lie in Linux's ephemeral range, where a client connection of this very
 * test can hold the port the instant the mon binds: then the cluster is wiped and made again.
 */
async function upCluster(dir: string): Promise<Cluster> {
  const script = join(repo, 'scripts', 'ceph-dev');
  const env = { ...process.env, ...portsB };
  for (let attempt = 1; ; attempt++) {
    const r = await execa(script, ['up', dir], { env, reject: false });
    if (r.exitCode === 0) return JSON.parse(r.stdout) as Cluster;
    if (attempt === 3 || !/Address already in use/.test(r.stderr)) assert.fail(`second cluster: ${r.stderr.slice(-2000)}`);
    await execa(script, ['down', dir, '--wipe'], { env, reject: false });
  }
}

describe('disaster recovery: restore into one cluster from the backups of another', () => {
  const A: Cluster = { conf: ceph.conf, keyring: ceph.keyring, fsid: ceph.fsid, dir: ceph.dir };
  let B: Cluster;
  let dir: string;
  /** The backup disk site A wrote; at site B it is mounted as the destination key `dr`. */
  let disk: string;
  let siteA: { file: string };
  let siteB: { file: string };
  const workers: RunningWorker[] = [];
  /** truth[image][i]: sha256 of the source at point i, taken when it was backed up. */
  const truth: Record<string, string[]> = {};
  const cephB = () => join(dir, 'ceph-b');
  const upB = () => upCluster(cephB());

  let rebuilt: { file: string };

  before(async () => {
    dir = tempDir('dr');
    disk = join(dir, 'disk');
    mkdirSync(disk);
    mkdirSync(join(dir, 'local-b'));
    // Site B comes up while site A backs up: the two only meet at the restores.
    const up = upB();
    up.catch(() => undefined); // awaited below; a failure meanwhile is not an unhandled rejection
    siteA = config(dir, 'a', 'site-a', A, { destination: disk });
    workers.push(await startWorker(siteA.file));

    for (const image of IMAGES) {
      await createImage('rbd', image, 8, 4);
      truth[image] = [];
    }
    // A full and two incrementals of each, random writes in between.
    for (const [i, day] of DAYS.entries()) {
      if (i > 0) for (const image of IMAGES) await randomWrites(`rbd/${image}`, 256);
      const r = await cli('run', ...IMAGES.map((x) => `rbd/${x}`), '--config', siteA.file, '--as-of', day, '--json');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as BackupReport;
      assert.deepEqual(report.images.map((x) => x.type), IMAGES.map(() => (i === 0 ? 'full' : 'incr')));
      for (const image of IMAGES) truth[image]!.push(await exportSha256(A, `rbd/${image}@${snapOf(day)}`));
    }
    for (const image of IMAGES) assert.equal(new Set(truth[image]).size, DAYS.length, `every point of ${image} differs`);
    // The disaster: the source images are gone.
    for (const image of IMAGES) {
      await rbd('snap', 'purge', '--no-progress', `rbd/${image}`);
      await rbd('rm', '--no-progress', `rbd/${image}`);
    }

    B = await up;
    assert.notEqual(B.fsid, A.fsid);
    siteB = config(dir, 'b', 'site-b', B, { destination: join(dir, 'local-b'), destinations: { dr: disk } });
    // Site A rebuilt: the name site-a again, on a cluster with another fsid (here: cluster B).
    rebuilt = config(dir, 'a-rebuilt', 'site-a', B, { destination: disk });
    workers.push(...(await Promise.all([startWorker(siteB.file), startWorker(rebuilt.file)])));
  });

  after(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await execa(join(repo, 'scripts', 'ceph-dev'), ['down', cephB(), '--wipe'], { env: { ...process.env, ...portsB }, reject: false });
  });

  test('list --from-cluster shows the other cluster\'s points, by key or by directory', async () => {
    for (const from of ['dr', disk, `${disk}/`]) {
      const r = await cli('list', '--from-cluster', 'site-a', '--from', from, '--config', siteB.file, '--json');
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as { cluster: string; images: ImageCatalog[] };
      assert.equal(doc.cluster, 'site-a');
      assert.deepEqual(doc.images.map((c) => c.image).sort(), IMAGES);
      for (const c of doc.images) assert.deepEqual(c.circles.flatMap((x) => x.points.map((p) => p.snapshot)), DAYS.map(snapOf));
    }
    const own = await cli('list', '--config', siteB.file, '--json');
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual((JSON.parse(own.stdout) as { images: unknown[] }).images, [], "site B's own destination holds nothing");
  });

  test('every point of every image restores bit-exact into the other cluster', async () => {
    // All at once: each writes its own target, under that target's mutex.
    const points = IMAGES.flatMap((image) => DAYS.map((day, i) => ({ image, day, i })));
    await Promise.all(
      points.map(async ({ image, day, i }) => {
        const target = `rbd/${image}-p${i}`;
        const r = await cli('restore', `rbd/${image}`, '--at', compact(day), '--from-cluster', 'site-a', '--from', 'dr', '--to', target, '--config', siteB.file, '--json');
        assert.equal(r.code, 0, r.stderr);
        const res = JSON.parse(r.stdout) as RestoreResult;
        assert.equal(res.fromCluster, 'site-a');
        assert.equal(res.point.snapshot, snapOf(day));
        assert.equal(await exportSha256(B, target), truth[image]![i], `${image} point ${i} bit-exact on site B`);
        // A full alone reports its file's sha256 (the file is the image); a point with diffs none.
        if (i === 0) assert.deepEqual([res.sha256, res.sha256From], [truth[image]![i], 'file']);
        else assert.deepEqual([res.sha256, res.sha256From], [undefined, undefined]);
      }),
    );
    assert.equal((JSON.parse(await rbd('ls', 'rbd', '--format', 'json')) as string[]).some((x) => x.startsWith('dr-')), false, 'nothing restored into site A');
  });

  test('the newest point comes back under the lost image\'s own name, addressed by an instant, --from a directory', async () => {
    const r = await cli('restore', 'rbd/dr-a', '--at', '2033-01-05T00:00:00Z', '--from-cluster', 'site-a', '--from', disk, '--to', 'rbd/dr-a', '--config', siteB.file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored site-a:rbd\/dr-a at 20330104T071500Z .* to rbd\/dr-a$/m);
    assert.equal(await exportSha256(B, 'rbd/dr-a'), truth['dr-a']![2]);
    // Restoring again onto it needs --force, as any existing target does.
    const again = await cli('restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from-cluster', 'site-a', '--from', 'dr', '--to', 'rbd/dr-a', '--config', siteB.file);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /target image rbd\/dr-a exists; add --force/);
  });

  test('on the cluster the backups are of, restoring onto the source name is still refused (fsid)', async () => {
    await createImage('rbd', 'dr-a', 4, 1);
    try {
      const before = await exportSha256(A, 'rbd/dr-a');
      const r = await cli('restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from-cluster', 'site-a', '--to', 'rbd/dr-a', '--force', '--config', siteA.file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cluster\\.json records this very cluster \\(fsid ${A.fsid}\\): --to rbd/dr-a is the source image itself`));
      assert.equal(await exportSha256(A, 'rbd/dr-a'), before, 'untouched');
    } finally {
      await rbd('rm', '--no-progress', 'rbd/dr-a');
    }
  });

  test('the same name on a rebuilt cluster: restore works, a backup into the old directory is refused', async () => {
    const r = await cli('restore', 'rbd/dr-b', '--at', compact(DAYS[1]!), '--from-cluster', 'site-a', '--to', 'rbd/dr-b', '--config', rebuilt.file, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exportSha256(B, 'rbd/dr-b'), truth['dr-b']![1]);
    // Without --from-cluster too: the worker's own name is where it reads by default.
    const plain = await cli('restore', 'rbd/dr-b', '--at', compact(DAYS[2]!), '--to', 'rbd/dr-b-newest', '--config', rebuilt.file);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(await exportSha256(B, 'rbd/dr-b-newest'), truth['dr-b']![2]);

    const before = listing(disk);
    const backup = await cli('run', 'rbd/dr-b', '--config', rebuilt.file, '--as-of', '2033-01-09T07:15:00Z');
    assert.equal(backup.code, 2);
    assert.match(backup.stderr, new RegExp(`cluster\\.json records cluster site-a \\(fsid ${A.fsid}\\), but the live cluster is site-a \\(fsid ${B.fsid}\\): refusing to mix backups`));
    assert.deepEqual(listing(disk), before, 'nothing written into the old cluster directory');
    assert.equal(JSON.parse(readFileSync(join(disk, 'site-a', 'cluster.json'), 'utf8')).fsid, A.fsid);
  });

  const refusals: { name: string; args: () => string[]; says: RegExp }[] = [
    { name: 'an unknown --from-cluster directory', args: () => ['restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from-cluster', 'site-x', '--from', 'dr'], says: /no backups of cluster site-x in destination dr: .*site-x does not exist \(clusters there: site-a\)/ },
    { name: 'list of an unknown --from-cluster directory', args: () => ['list', '--from-cluster', 'site-x', '--from', 'dr'], says: /--from-cluster site-x: .*site-x does not exist \(clusters there: site-a\)/ },
    { name: '--from a directory the config does not name', args: () => ['restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from-cluster', 'site-a', '--from', dir], says: /--from .* is not a destination of this config \(default=.*, dr=.*\): add it to backup\.destinations/ },
    { name: '--from the cluster directory itself', args: () => ['restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from', join(disk, 'site-a')], says: /--from .*site-a is the directory of cluster site-a in destination dr: use --from dr --from-cluster site-a/ },
    { name: '--from and --destination', args: () => ['restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from', 'dr', '--destination', 'dr'], says: /--from and --destination both say where to read/ },
    { name: '--from-cluster that climbs', args: () => ['restore', 'rbd/dr-a', '--at', compact(DAYS[0]!), '--from-cluster', '../site-a', '--from', 'dr'], says: /--from-cluster cluster name "\.\.\/site-a" must not contain '\.\.'/ },
    { name: '--from-cluster with a space', args: () => ['list', '--from-cluster', 'site a', '--from', 'dr'], says: /--from-cluster cluster name "site a" may only use/ },
    { name: 'an image site A never backed up', args: () => ['restore', 'rbd/dr-never', '--at', compact(DAYS[0]!), '--from-cluster', 'site-a', '--from', 'dr'], says: /no backups of rbd\/dr-never under .*site-a/ },
  ];
  for (const k of refusals) {
    test(`refused: ${k.name}`, async () => {
      const before = { disk: listing(disk), local: listing(join(dir, 'local-b')), images: await imagesOn(B) };
      const r = await cli(...k.args(), '--config', siteB.file);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^rbd-backup: /);
      assert.match(lines[0]!, k.says);
      assert.deepEqual({ disk: listing(disk), local: listing(join(dir, 'local-b')), images: await imagesOn(B) }, before, 'nothing written, no image made');
    });
  }
});
