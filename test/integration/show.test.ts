/**
 * `show cluster|config|images`, `run --dry-run` and config.ini, through the CLI on the real
 * cluster and dev server: the dry run takes no snapshot and writes nothing (rbd snap ls and the
 * destination tree compared before and after), and plans what the real run then does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { ceph, cli, createImage, randomWrites, rbd, startWorker, writeConfig, type RunningWorker } from '../harness/env.js';
import type { BackupPlan, ClusterFacts } from '../../src/contract/plan.js';
import type { BackupReport } from '../../src/contract/backup.js';
import type { EffectiveKey } from '../../src/config/effective.js';
import { listing } from '../harness/tree.js';

/** A Sunday (full day) and the Monday after it (incremental day), far from other files' dates. */
const SUN = '2033-11-27T09:00:00Z';
const MON = '2033-11-28T09:00:00Z';
const snapOf = (iso: string) => `rbdbackup-${iso.replace(/[-:]/g, '')}`;

const cfg = writeConfig('show', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 2 });
const images = ['rbd/show-a', 'rbd/show-b'];
let worker: RunningWorker;


async function snaps(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const spec of images) out[spec] = (JSON.parse(await rbd('snap', 'ls', spec, '--format', 'json')) as { name: string }[]).map((s) => s.name);
  return out;
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The dry run with `args`: its plan, and proof that it changed nothing. */
async function dryRun(...args: string[]): Promise<BackupPlan> {
  const before = { tree: listing(cfg.destination), snaps: await snaps() };
  const plan = await json<BackupPlan>(...args, '--config', cfg.file, '--json');
  assert.deepEqual(listing(cfg.destination), before.tree, 'the dry run wrote nothing in the destination');
  assert.deepEqual(await snaps(), before.snaps, 'the dry run took no snapshot');
  return plan;
}

const actions = (p: BackupPlan) => Object.fromEntries(p.images.map((i) => [`${i.pool}/${i.image}`, i.action]));

describe('show and run --dry-run', () => {
  before(async () => {
    await createImage('rbd', 'show-a', 16, 4);
    await createImage('rbd', 'show-b', 8, 2);
    worker = await startWorker(cfg.file);
  });
  after(async () => worker?.stop());

  test('show cluster: name, fsid, monitors, pools, then cluster.json once a run wrote it', async () => {
    const first = await json<ClusterFacts>('show', 'cluster', '--config', cfg.file, '--json');
    assert.equal(first.name, 'ceph');
    assert.equal(first.fsid, ceph.fsid);
    assert.ok(first.monitors.length >= 1 && first.monitors.every((m) => m.name && m.addrs.length > 0), JSON.stringify(first.monitors));
    assert.ok(first.pools.includes('rbd'), first.pools.join(','));
    assert.equal(first.identity, undefined, 'no cluster.json before the first run');
    assert.equal(first.identityFile, join(cfg.destination, 'ceph', 'cluster.json'));
    const human = await cli('show', 'cluster', '--config', cfg.file);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^cluster ceph: fsid ${ceph.fsid}$`, 'm'));
    assert.match(human.stdout, /not there yet/);
  });

  test('the dry run plans what the run then does, and touches nothing', async () => {
    const sunday = await dryRun('run', ...images, 'rbd/show-missing', '--dry-run', '--as-of', SUN);
    assert.equal(sunday.outcome, 'would-run');
    assert.equal(sunday.weekday, 7);
    assert.deepEqual(actions(sunday), { 'rbd/show-a': 'full', 'rbd/show-b': 'full', 'rbd/show-missing': 'skip' });
    assert.deepEqual(sunday.images.map((i) => i.image), ['show-a', 'show-b', 'show-missing'], 'largest first, then the skipped');
    assert.match(sunday.images[2]!.reason, /image rbd\/show-missing not found/);

    const run = await json<BackupReport>('run', ...images, '--as-of', SUN, '--config', cfg.file, '--json');
    assert.deepEqual(Object.fromEntries(run.images.map((i) => [`${i.pool}/${i.image}`, i.type])), { 'rbd/show-a': 'full', 'rbd/show-b': 'full' });

    await randomWrites('rbd/show-a');
    const monday = await dryRun('show', 'images', ...images, '--as-of', MON);
    assert.deepEqual(actions(monday), { 'rbd/show-a': 'incr', 'rbd/show-b': 'incr' });
    const a = monday.images.find((i) => i.image === 'show-a')!;
    assert.equal(a.fromSnapshot, snapOf(SUN));
    assert.equal(a.circle, snapOf(SUN));
    assert.match(a.reason, /weekday 1 is an incremental day/);
    assert.ok(a.estimatedBytes! > 0, 'the random writes are counted');
    // The same plan through run --dry-run, in words this time.
    const words = await cli('run', ...images, '--dry-run', '--as-of', MON, '--config', cfg.file);
    assert.equal(words.code, 0, words.stderr);
    assert.match(words.stdout, new RegExp(`rbd/show-a: incr from ${snapOf(SUN)} in circle ${snapOf(SUN)} .*: weekday 1 is an incremental day`));
    assert.match(words.stdout, /nothing was done: no snapshot taken, no file written/);

    const real = await json<BackupReport>('run', ...images, '--as-of', MON, '--config', cfg.file, '--json');
    assert.deepEqual(
      Object.fromEntries(real.images.map((i) => [`${i.pool}/${i.image}`, [i.type, i.fromSnapshot]])),
      Object.fromEntries(monday.images.map((i) => [`${i.pool}/${i.image}`, [i.action, i.fromSnapshot]])),
      'the run did what the dry run said',
    );

    const cluster = await json<ClusterFacts>('show', 'cluster', '--config', cfg.file, '--json');
    assert.deepEqual([cluster.identity?.name, cluster.identity?.fsid, cluster.identityMatches], ['ceph', ceph.fsid, true]);
  });

  test('a dry run the run would refuse for space exits 2 with the plan on stdout, and writes nothing', async () => {
    // The worker's policy decides, so this one has its own worker with a margin no image fits.
    const tight = writeConfig('show-tight', { space_margin: 0.000001 });
    const before = { tree: listing(tight.destination), snaps: await snaps() };
    const w = await startWorker(tight.file);
    try {
      const r = await cli('run', 'rbd/show-a', '--dry-run', '--as-of', '2033-12-04T09:00:00Z', '--config', tight.file, '--json');
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^rbd-backup: the run would be refused: .*backup needs about \d+ bytes but only \d+ are free/);
      const plan = JSON.parse(r.stdout) as BackupPlan;
      assert.equal(plan.outcome, 'refused');
      assert.deepEqual(actions(plan), { 'rbd/show-a': 'full' });
    } finally {
      await w.stop();
    }
    assert.deepEqual(listing(tight.destination), before.tree);
    assert.deepEqual(await snaps(), before.snaps);
  });

  test('config.ini: the same effective config as its YAML, shown key by key with its source; convert round-trips', async () => {
    const ini = join(cfg.dir, 'config.ini');
    writeFileSync(
      ini,
      [
        '[default]',
        'ceph_cluster_name = ceph',
        `ceph_conf_file = ${ceph.conf}`,
        `ceph_keyring_file = ${ceph.keyring}`,
        'log_level = DEBUG',
        `backup_destination_path = ${cfg.destination}`,
        'backup_concurrent_worker_count = 2',
        'backup_max_incremental = 2',
        'weekly_full_backup = 7',
        'weekly_incr_backup = 1, 2, 3,',
        '    4, 5, 6',
        'openstack_distribution = helion',
        '',
      ].join('\n'),
    );
    const yamlKeys = await json<{ keys: EffectiveKey[] }>('show', 'config', '--config', cfg.file, '--json');
    const r = await cli('show', 'config', '--config', ini, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stderr.split('\n').filter(Boolean), [
      `rbd-backup: warning: ${ini}:5: log_level no longer applies: logs are JSON lines on stderr, their level is the YAML key log.level; ignored`,
      `rbd-backup: warning: ${ini}:12: openstack_distribution no longer applies: it only chose where the Python OpenStack client was installed; ignored`,
    ]);
    const iniKeys = JSON.parse(r.stdout) as { format: string; keys: EffectiveKey[] };
    assert.equal(iniKeys.format, 'ini');
    const values = (ks: EffectiveKey[]) => Object.fromEntries(ks.filter((k) => !k.key.startsWith('temporal.') && k.key !== 'log.level' && k.key !== 'cluster.op_timeout_seconds').map((k) => [k.key, k.value]));
    assert.deepEqual(values(iniKeys.keys), values(yamlKeys.keys));
    const src = Object.fromEntries(iniKeys.keys.map((k) => [k.key, k.source]));
    assert.equal(src['backup.incremental_weekdays'], `${ini}:10`);
    assert.equal(src['backup.timezone'], 'default');

    const conv = await cli('config', 'convert', ini);
    assert.equal(conv.code, 0, conv.stderr);
    assert.equal(conv.stderr.split('\n').filter(Boolean).length, 2, 'the two warnings, on stderr too');
    const yamlFile = join(cfg.dir, 'converted.yaml');
    writeFileSync(yamlFile, conv.stdout);
    const roundTrip = await json<{ keys: EffectiveKey[] }>('show', 'config', '--config', yamlFile, '--json');
    assert.deepEqual(roundTrip.keys.map((k) => [k.key, k.value]), iniKeys.keys.map((k) => [k.key, k.value]), 'convert round-trips');
    assert.match(conv.stdout, /incremental_weekdays: \[ 1, 2, 3, 4, 5, 6 \] # weekly_incr_backup \(line 10\)/);
  });
});
