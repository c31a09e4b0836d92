/**
 * Restore, verify and delete through the CLI on the real cluster: every point comes back bit-exact,
 * damage is found before it matters, and a worker killed mid-restore does not break the result.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, copyFileSync, rmSync, openSync, readSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { imageWorkflowId } from '../../src/contract/backup.js';
import { temporal, cli, createImage, rbd, randomWrites, snapshotSha256, startWorker, writeConfig, sleep, type RunningWorker, type TestConfig } from '../harness/env.js';
import { catchChild } from '../harness/faults.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { RestoreResult, VerifyReport } from '../../src/contract/restore.js';
import type { ImageCatalog } from '../../src/catalog/catalog.js';
import { listing } from '../harness/tree.js';

// Hours no other test file uses: a run's name derives from --as-of, and the suite shares one server.
const days = ['2026-11-29T11:30:00.000Z', '2026-11-30T11:30:00.000Z', '2026-12-01T11:30:00.000Z', '2026-12-02T11:30:00.000Z'];
const snapOf = (iso: string) => `rbdbackup-${iso.replace(/[-:]/g, '').replace('.000', '')}`;

async function images(pool: string): Promise<string[]> {
  return JSON.parse(await rbd('ls', pool, '--format', 'json')) as string[];
}
async function snapsOf(spec: string): Promise<string[]> {
  return (JSON.parse(await rbd('snap', 'ls', spec, '--format', 'json')) as { name: string }[]).map((s) => s.name);
}
async function removeImage(spec: string): Promise<void> {
  await rbd('snap', 'purge', '--no-progress', spec);
  await rbd('rm', '--no-progress', spec);
}
function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0xff;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

describe('restore and verify', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  const truth: string[] = [];
  let catalog: ImageCatalog;
  const fileOf = (i: number) => join(cfg.destination, 'ceph', 'rbd', 'rest-a', catalog.circles[0]!.points[i]!.file);

  before(async () => {
    cfg = writeConfig('restore', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], snapshot_retain_count: 4 });
    await createImage('rbd', 'rest-a', 64, 16);
    worker = await startWorker(cfg.file);
    // One full and three incrementals, random writes in between; the truth at each point is
    // `rbd export rbd/rest-a@SNAP -` taken by the test itself.
    for (const [i, day] of days.entries()) {
      if (i > 0) await randomWrites('rbd/rest-a', 1024);
      const r = await cli('run', 'rbd/rest-a', '--config', cfg.file, '--as-of', day, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as BackupReport).images[0]!.type, i === 0 ? 'full' : 'incr');
      truth.push(await snapshotSha256(`rbd/rest-a@${snapOf(day)}`));
    }
    assert.equal(new Set(truth).size, 4, 'every point differs');
    catalog = JSON.parse(readFileSync(join(cfg.destination, 'ceph', 'rbd', 'rest-a', 'catalog.json'), 'utf8')) as ImageCatalog;
  });
  after(async () => worker?.stop());

  test('every point restores bit-exact to a new image, addressed by backup name, snapshot or instant', async () => {
    const addresses = [days[0]!.replace('.000', '').replace(/[-:]/g, ''), snapOf(days[1]!), '2026-12-01T12:00:00Z', days[3]!.replace('.000', '').replace(/[-:]/g, '')];
    for (const [i, at] of addresses.entries()) {
      const r = await cli('restore', 'rbd/rest-a', '--at', at, '--config', cfg.file, '--json');
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as RestoreResult;
      assert.equal(res.point.snapshot, snapOf(days[i]!));
      assert.equal(res.target.pool, 'rbd');
      assert.notEqual(res.target.image, 'rest-a');
      const spec = `rbd/${res.target.image}`;
      assert.equal(await snapshotSha256(spec), truth[i], `point ${i} restored bit-exact`);
      // Without --check-image nothing is read back: a full alone reports its own file's sha256
      // (the image byte for byte), a chain with diffs has no stored checksum to report.
      if (i === 0) assert.deepEqual([res.sha256, res.sha256From], [truth[0], 'file']);
      else assert.deepEqual([res.sha256, res.sha256From], [undefined, undefined]);
      assert.deepEqual(await snapsOf(spec), [], 'no intermediate snapshots left');
      await removeImage(spec);
    }
  });

  test('--check-image reads the restored image back: a full alone is compared with its file, a chain with diffs reported', async () => {
    for (const i of [0, 3]) {
      const r = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[i]!), '--to', 'rbd/rest-checked', '--check-image', '--config', cfg.file, '--json');
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as RestoreResult;
      assert.deepEqual([res.sha256, res.sha256From], [truth[i], 'image']);
      assert.equal(await snapshotSha256('rbd/rest-checked'), truth[i]);
      await removeImage('rbd/rest-checked');
    }
    const human = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[1]!), '--to', 'rbd/rest-checked', '--config', cfg.file);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /sha256 of restored image: not computed .*--check-image/);
    await removeImage('rbd/rest-checked');
  });

  test('--check-image: an image that reads back other than its full refuses the rename and leaves nothing', async () => {
    // Every file checked fine; the image is changed behind the restore's back while its
    // read-back is held, as a cluster that stored other bytes than it was given would be.
    const before = await images('rbd');
    const catcher = catchChild(worker, { words: ['export'], last: '-', when: 'exec', stop: 'child', timeoutMs: 120_000 });
    try {
      const restore = cli('restore', 'rbd/rest-a', '--at', snapOf(days[0]!), '--to', 'rbd/rest-bad', '--check-image', '--config', cfg.file);
      const caught = await catcher.caught;
      const stage = caught.argv.at(-2)!;
      assert.match(stage, /^rbd\/rest-bad-rbdbackup-restoring-/, 'held while reading back the staging image');
      await randomWrites(stage, 64);
      catcher.release();
      const r = await restore;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`restored image ${stage} reads back with sha256 [0-9a-f]{64}, but ${catalog.circles[0]!.points[0]!.file}, which it was imported from, has ${truth[0]}`));
      assert.deepEqual(await images('rbd'), before, 'no staging image left, no target created');
    } finally {
      await catcher.cancel();
    }
  });

  test('an existing target is refused without --force and replaced with it', async () => {
    await createImage('rbd', 'rest-existing', 8, 1);
    const before = await snapshotSha256('rbd/rest-existing');
    const no = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[2]!), '--to', 'rbd/rest-existing', '--config', cfg.file);
    assert.equal(no.code, 2);
    assert.match(no.stderr, /target image rbd\/rest-existing exists; add --force/);
    assert.equal(await snapshotSha256('rbd/rest-existing'), before, 'untouched');
    await rbd('snap', 'create', 'rbd/rest-existing@users-own');
    const yes = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[2]!), '--to', 'rbd/rest-existing', '--force', '--keep-snapshots', '--config', cfg.file, '--json');
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(await snapshotSha256('rbd/rest-existing'), truth[2]);
    assert.deepEqual(await snapsOf('rbd/rest-existing'), days.slice(0, 3).map(snapOf), '--keep-snapshots keeps the chain, and the old image with its snapshots is gone');
    await removeImage('rbd/rest-existing');
  });

  test('one flipped byte in a diff: verify names the file and the points it breaks, restore refuses and creates nothing', async () => {
    const file = fileOf(2);
    flipByte(file, 4096);
    try {
      const v = await cli('verify', 'rbd/rest-a', '--config', cfg.file, '--json');
      assert.equal(v.code, 1);
      const report = JSON.parse(v.stdout) as VerifyReport;
      const img = report.images[0]!;
      assert.deepEqual(img.files.filter((f) => f.status !== 'ok').map((f) => [f.file, f.status]), [[catalog.circles[0]!.points[2]!.file, 'corrupt']]);
      assert.deepEqual(img.unrestorable.map((p) => p.snapshot), [snapOf(days[2]!), snapOf(days[3]!)]);
      const human = await cli('verify', 'rbd/rest-a', '--config', cfg.file);
      assert.match(human.stdout, /corrupt: .*_from_/);

      const before = await images('rbd');
      const r = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[3]!), '--config', cfg.file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refusing to restore rbd\/rest-a .*is corrupt \(sha256/);
      assert.deepEqual(await images('rbd'), before, 'no image left behind');
      const older = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[1]!), '--to', 'rbd/rest-older', '--config', cfg.file);
      assert.equal(older.code, 0, 'points before the damage still restore');
      assert.equal(await snapshotSha256('rbd/rest-older'), truth[1]);
      await removeImage('rbd/rest-older');
    } finally {
      flipByte(file, 4096);
    }
  });

  test('a flipped byte found only while its file streams into rbd: the target is neither created nor changed, even with --force', async () => {
    // The plan checks presence, sizes and headers; the sha256 is taken while rbd imports the file
    // into the staging image. A byte in the data of a record passes every header check and lets
    // rbd succeed: only the checksum can stop it.
    await createImage('rbd', 'rest-victim', 8, 1);
    const victim = await snapshotSha256('rbd/rest-victim');
    for (const [i, at, to] of [[2, days[3]!, 'rbd/rest-victim'], [0, days[1]!, 'rbd/rest-never']] as const) {
      const file = fileOf(i);
      flipByte(file, 4096 + 100);
      try {
        const before = await images('rbd');
        const r = await cli('restore', 'rbd/rest-a', '--at', snapOf(at), '--to', to, '--force', '--config', cfg.file);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`refusing to restore rbd/rest-a to ${to}: ${catalog.circles[0]!.points[i]!.file} is corrupt \\(sha256`));
        assert.deepEqual(await images('rbd'), before, 'no staging image left, nothing created');
      } finally {
        flipByte(file, 4096 + 100);
      }
    }
    assert.equal(await snapshotSha256('rbd/rest-victim'), victim, 'the existing target is untouched');
    assert.deepEqual(await snapsOf('rbd/rest-victim'), []);
    await removeImage('rbd/rest-victim');
  });

  test('a deleted diff file: verify reports it missing, restore refuses', async () => {
    const file = fileOf(3);
    copyFileSync(file, `${file}.saved`);
    rmSync(file);
    try {
      const v = await cli('verify', '--config', cfg.file, '--json');
      assert.equal(v.code, 1);
      const img = (JSON.parse(v.stdout) as VerifyReport).images.find((i) => i.image === 'rest-a')!;
      assert.deepEqual(img.files.filter((f) => f.status === 'missing').map((f) => f.file), [catalog.circles[0]!.points[3]!.file]);
      assert.deepEqual(img.files.filter((f) => f.status === 'extra').map((f) => f.file), [`${catalog.circles[0]!.name}/${catalog.circles[0]!.points[3]!.file.split('/')[1]}.saved`]);
      assert.deepEqual(img.unrestorable.map((p) => p.snapshot), [snapOf(days[3]!)]);
      const before = await images('rbd');
      const r = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[3]!), '--config', cfg.file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is missing/);
      assert.deepEqual(await images('rbd'), before);
    } finally {
      copyFileSync(`${file}.saved`, file);
      rmSync(`${file}.saved`);
    }
  });

  test("verify --from-cluster checks another cluster's backups read-only and finds a flipped byte there", async () => {
    // A worker of another cluster name whose config names this disk as `dr`, as a recovering site
    // would: verify reads no image, so it may share the suite's Ceph cluster.
    const other = writeConfig('restore-site-b');
    const doc = parse(readFileSync(other.file, 'utf8')) as { cluster: { name: string }; backup: Record<string, unknown> };
    doc.cluster.name = 'site-b';
    doc.backup.destinations = { dr: cfg.destination };
    writeFileSync(other.file, stringify(doc));
    const siteB = await startWorker(other.file);
    const file = fileOf(1);
    try {
      for (const from of ['dr', cfg.destination]) {
        const v = await cli('verify', '--from-cluster', 'ceph', '--from', from, '--config', other.file, '--json');
        assert.equal(v.code, 0, v.stdout + v.stderr);
        const report = JSON.parse(v.stdout) as VerifyReport;
        assert.deepEqual([report.checked, report.clean, report.images.length], [1, 1, 0]);
      }
      flipByte(file, 4096);
      const disk = listing(cfg.destination);
      const v = await cli('verify', 'rbd/rest-a', '--from-cluster', 'ceph', '--from', 'dr', '--config', other.file, '--json');
      assert.equal(v.code, 1, v.stdout + v.stderr);
      const img = (JSON.parse(v.stdout) as VerifyReport).images[0]!;
      assert.deepEqual(img.files.filter((f) => f.status !== 'ok').map((f) => [f.file, f.status]), [[catalog.circles[0]!.points[1]!.file, 'corrupt']]);
      assert.deepEqual(img.unrestorable.map((p) => p.snapshot), days.slice(1).map(snapOf));
      const lines = v.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, v.stderr);
      assert.match(lines[0]!, /^rbd-backup: verify found problems in 1 of 1 image\(s\); first: rbd\/rest-a: corrupt: /);

      // Refused before anything is read: a misspelt cluster (named images or not), and --deep.
      const misspelt = await cli('verify', 'rbd/rest-a', '--from-cluster', 'site-x', '--from', 'dr', '--config', other.file);
      assert.equal(misspelt.code, 2, misspelt.stderr);
      assert.match(misspelt.stderr, /^rbd-backup: .*no backups of cluster site-x in destination dr: .*site-x does not exist \(clusters there: ceph\)$/);
      const deep = await cli('verify', '--deep', '--from-cluster', 'ceph', '--from', 'dr', '--config', other.file);
      assert.equal(deep.code, 2, deep.stderr);
      assert.match(deep.stderr, /^rbd-backup: --deep with --from-cluster ceph: .*verify without --deep/);
      assert.deepEqual(listing(cfg.destination), disk, 'the other cluster\'s directory is only read');
      assert.deepEqual(listing(other.destination), [], "site B's own destination is untouched");
    } finally {
      flipByte(file, 4096);
      await siteB.stop();
    }
  });

  test('verify --deep restores the newest point to a scratch image and compares it with the snapshot', async () => {
    const v = await cli('verify', 'rbd/rest-a', '--deep', '--config', cfg.file, '--json');
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as VerifyReport;
    assert.deepEqual([report.checked, report.clean, report.images.length], [1, 1, 0], 'a clean image is a count, not a listing');
    assert.equal(report.deep?.[0]?.match, true);
    assert.equal(report.deep?.[0]?.point, catalog.circles[0]!.points[3]!.backupName);
    assert.equal((await images('rbd')).some((i) => i.includes('-verify-')), false, 'scratch image removed');
  });

  test('restore and delete are refused while another run holds the image', async () => {
    const connection = await Connection.connect({ address: temporal.address });
    const holder = await new Client({ connection }).workflow.start('imageBackup', {
      taskQueue: `${cfg.taskQueue}-nobody`,
      workflowId: imageWorkflowId('ceph', { pool: 'rbd', image: 'rest-a' }),
      args: [],
    });
    try {
      const before = await images('rbd');
      const r = await cli('restore', 'rbd/rest-a', '--at', snapOf(days[0]!), '--config', cfg.file);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /rbd\/rest-a is busy/);
      const d = await cli('delete', 'rbd/rest-a', '--point', snapOf(days[3]!), '--config', cfg.file);
      assert.equal(d.code, 1);
      assert.match(d.stderr, /busy/);
      assert.deepEqual(await images('rbd'), before);
    } finally {
      await holder.terminate('test over');
      await connection.close();
    }
  });

  // A point in the middle of a chain is refused: see bad-input.test.ts.
  test('delete removes the newest point and whole circles', async () => {
    const last = await cli('delete', 'rbd/rest-a', '--point', snapOf(days[3]!), '--config', cfg.file, '--json');
    assert.equal(last.code, 0, last.stderr);
    const cat = JSON.parse(readFileSync(join(cfg.destination, 'ceph', 'rbd', 'rest-a', 'catalog.json'), 'utf8')) as ImageCatalog;
    assert.equal(cat.circles[0]!.points.length, 3);
    const v = await cli('verify', 'rbd/rest-a', '--config', cfg.file, '--json');
    assert.equal(v.code, 0, 'no file left behind and none missing');
    const circle = await cli('delete', 'rbd/rest-a', '--circle', cat.circles[0]!.name, '--config', cfg.file);
    assert.equal(circle.code, 0, circle.stderr);
    const after = JSON.parse(readFileSync(join(cfg.destination, 'ceph', 'rbd', 'rest-a', 'catalog.json'), 'utf8')) as ImageCatalog;
    assert.deepEqual(after.circles, []);
  });
});

describe('a worker killed in the middle of a restore', () => {
  let cfg: TestConfig;
  let worker: RunningWorker;
  after(async () => worker?.stop());

  test('the restore completes on a new worker and is still bit-exact', { timeout: 300_000 }, async () => {
    cfg = writeConfig('crash', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6] });
    await createImage('rbd', 'crash-a', 1024, 512);
    worker = await startWorker(cfg.file);
    // Other hours than the suite's other runs: a backup name (derived from --as-of) is one run.
    const [d0, d1] = ['2026-11-29T10:30:00.000Z', '2026-11-30T10:30:00.000Z'];
    for (const d of [d0, d1]) {
      if (d === d1) await randomWrites('rbd/crash-a', 4096);
      const r = await cli('run', 'rbd/crash-a', '--config', cfg.file, '--as-of', d);
      assert.equal(r.code, 0, r.stderr);
    }
    const truth = await snapshotSha256(`rbd/crash-a@${snapOf(d1)}`);

    const restore = cli('restore', 'rbd/crash-a', '--at', snapOf(d1), '--to', 'rbd/crash-r', '--config', cfg.file, '--json');
    // Kill as soon as the import has created the staging image: mid-transfer, like a host crash
    // (the worker and its rbd children die together).
    let seen = false;
    for (let i = 0; i < 600 && !seen; i++) {
      seen = (await images('rbd')).some((n) => n.startsWith('crash-r-rbdbackup-restoring-'));
      if (!seen) await sleep(50);
    }
    assert.ok(seen, 'the import into the staging image was observed');
    const { stdout } = await execa('pgrep', ['-P', String(worker.child.pid)], { reject: false });
    await worker.kill();
    for (const pid of stdout.split('\n').filter(Boolean)) await execa('kill', ['-9', pid], { reject: false });
    worker = await startWorker(cfg.file);
    const r = await restore;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await snapshotSha256('rbd/crash-r'), truth);
    assert.deepEqual((await images('rbd')).filter((n) => n.includes('rbdbackup-restoring')), [], 'no staging image left');
    // The history proves the kill landed mid-import: that activity needed a second attempt.
    const connection = await Connection.connect({ address: temporal.address });
    try {
      const history = await new Client({ connection }).workflow.getHandle(imageWorkflowId('ceph', { pool: 'rbd', image: 'crash-a' })).fetchHistory();
      const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      assert.ok(started.some((e) => (e.activityTaskStartedEventAttributes!.attempt ?? 1) > 1), 'an activity was retried after the kill');
    } finally {
      await connection.close();
    }
    await removeImage('rbd/crash-r');
  });

  test("a target that appears while the restore runs is somebody else's: left alone, only the staging image goes", { timeout: 300_000 }, async () => {
    const restore = cli('restore', 'rbd/crash-a', '--at', '2026-11-30T10:30:00Z', '--to', 'rbd/crash-late', '--config', cfg.file);
    let seen = false;
    for (let i = 0; i < 600 && !seen; i++) {
      seen = (await images('rbd')).some((n) => n.startsWith('crash-late-rbdbackup-restoring-'));
      if (!seen) await sleep(50);
    }
    assert.ok(seen, 'the import into the staging image was observed');
    // Somebody creates the target name meanwhile (512 MiB of import are still ahead of the restore).
    await rbd('create', '--size', '1M', 'rbd/crash-late');
    const r = await restore;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /target image rbd\/crash-late appeared while the restore ran; not touching it/);
    const info = JSON.parse(await rbd('info', 'rbd/crash-late', '--format', 'json')) as { size: number };
    assert.equal(info.size, 1024 * 1024, "the other image is untouched");
    assert.deepEqual((await images('rbd')).filter((n) => n.includes('rbdbackup-restoring')), [], 'the staging image was removed');
    await removeImage('rbd/crash-late');
  });
});
