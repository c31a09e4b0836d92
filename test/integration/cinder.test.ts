/**
 * The Cinder image source through the CLI, on the real cluster and dev server, with OpenStack
 * played by the local double (test/harness/openstack-double.ts): a run that names no images backs
 * up the configured Cinder volumes as `volumes/volume-<id>`; Keystone's 401, Cinder's 500 (then
 * success), a slow Keystone, and names that are missing, ambiguous or not on RBD each end as
 * documented; a schedule-like second worker follows a volume created between two runs; no
 * password or token reaches a workflow history, a report or the worker's log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { cli, cliPath, createImage, rbd, snapshotSha256, temporal, writeConfig, type TestConfig } from '../harness/env.js';
import { OpenStackDouble, type DoubleVolume } from '../harness/openstack-double.js';
import type { BackupReport, ImageResult } from '../../src/contract/backup.js';

/** 2033-03-06 is a Sunday (a full); the days after take incrementals. No other test file uses March 2033. */
const day = (d: number, h = 1) => `2033-03-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00.000Z`;
const snap = (iso: string) => `rbdbackup-${iso.replace(/[-:]/g, '').replace('.000', '')}`;

interface Worker {
  stop(): Promise<void>;
  log(): string;
}

/** `rbd-backup worker`, keeping its log: the test reads it for secrets. */
async function startWorker(configFile: string): Promise<Worker> {
  const child: ResultPromise = execa(process.execPath, [cliPath, 'worker', '--config', configFile], { reject: false, stdin: 'ignore', all: true, buffer: false });
  let log = '';
  child.all!.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((res, rej) => {
    const t = setInterval(() => {
      if (log.includes('"worker started"')) {
        clearInterval(t);
        res();
      }
    }, 100);
    void child.then((r) => {
      clearInterval(t);
      rej(new Error(`worker exited early (${r.exitCode}):\n${log}`));
    });
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
    log: () => log,
  };
}

async function runAt(cfg: TestConfig, asOf: string): Promise<{ code: number; stderr: string; report?: BackupReport }> {
  const r = await cli('run', '--config', cfg.file, '--as-of', asOf, '--json');
  return { code: r.code, stderr: r.stderr, ...(r.stdout.trim().startsWith('{') ? { report: JSON.parse(r.stdout) as BackupReport } : {}) };
}

async function snaps(spec: string): Promise<string[]> {
  return (JSON.parse(await rbd('snap', 'ls', spec, '--format', 'json')) as { name: string }[]).map((s) => s.name);
}

async function historyText(workflowId: string): Promise<string> {
  const connection = await Connection.connect({ address: temporal.address });
  try {
    const h = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    return JSON.stringify(h);
  } finally {
    await connection.close();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const byImage = (r: BackupReport, image: string): ImageResult | undefined => r.images.find((i) => i.pool === 'volumes' && i.image === image);

describe('Cinder volumes as the image source (through the OpenStack double)', () => {
  const os = new OpenStackDouble();
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const appSecret = `ac-${randomBytes(12).toString('hex')}`;
  const vol: Record<string, DoubleVolume> = {};
  let cfg: TestConfig;
  let worker: Worker;

  before(async () => {
    await os.start();
    os.projects.push({ id: 'p-ops', name: 'ops', domainId: 'default' }, { id: 'p-t2', name: 'tenant2', domainId: 'default' });
    os.users.push({ id: 'u-backup', name: 'backup', domainId: 'default', password, projects: ['p-ops'], admin: true });
    os.users.push({ id: 'u-t2', name: 't2', domainId: 'default', password: 'unused', projects: ['p-t2'] });
    os.appCredentials.push({ id: 'ac-t2', secret: appSecret, userId: 'u-t2', projectId: 'p-t2' });
    for (const name of ['web', 'db', 'app', 'ok']) vol[name] = os.addVolume({ name, projectId: 'p-ops', host: 'ctl@ceph#ceph', volumeType: 'ceph' });
    // Volumes nobody named, so the listing takes several pages (page_size 2).
    for (let i = 0; i < 3; i++) os.addVolume({ name: `other-${i}`, projectId: 'p-ops', host: 'ctl@ceph#ceph' });
    vol.scratch = os.addVolume({ name: 'scratch', projectId: 'p-ops', host: 'ctl@lvm#lvm', volumeType: 'lvmdriver-1' });
    await Promise.all(['web', 'db', 'app', 'ok'].map((n) => createImage('volumes', `volume-${vol[n]!.id}`, 4, 1)));

    cfg = writeConfig('cinder', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6], max_incremental: 6 });
    const pwFile = join(cfg.dir, 'os-password');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    const text = readFileSync(cfg.file, 'utf8');
    writeFileSync(
      cfg.file,
      `${text}openstack:\n  auth_url: ${os.authUrl}\n  username: backup\n  password_file: ${pwFile}\n  project_name: ops\n  region_name: RegionOne\n` +
        `  volume_names: [web, db, app, ok]\n  rbd_backends: [ceph]\n  page_size: 2\n  timeout_seconds: 2\n  retries: 2\n`,
    );
    worker = await startWorker(cfg.file);
  });
  after(async () => {
    await worker?.stop();
    await os.stop();
  });

  test('a run that names no images backs up the named volumes as volumes/volume-<id>, bit-exact', async () => {
    os.calls = [];
    const asOf = day(6);
    const r = await runAt(cfg, asOf);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report!.status, 'ok');
    assert.equal(r.report!.images.length, 4);
    for (const n of ['web', 'db', 'app', 'ok']) {
      const image = `volume-${vol[n]!.id}`;
      const i = byImage(r.report!, image);
      assert.equal(i?.status, 'ok', `${n}: ${JSON.stringify(i)}`);
      assert.equal(i!.type, 'full');
      assert.equal(i!.sha256, await snapshotSha256(`volumes/${image}@${snap(asOf)}`), `${n}: the backup holds the image's data`);
    }
    assert.equal(os.callsTo('token').length, 1);
    // 8 volumes in pages of 2: the run read every page.
    assert.equal(os.callsTo('volumes').length, 5);
  });

  test("Cinder's 500, then success: retried, and the run goes on (incrementals)", async () => {
    os.calls = [];
    os.fail({ on: 'volumes', status: 500, times: 1 });
    const r = await runAt(cfg, day(7));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.report!.images.map((i) => `${i.status} ${i.type}`), Array(4).fill('ok incr'));
    const first = os.callsTo('volumes').filter((c) => !c.includes('marker='));
    assert.equal(first.length, 2, 'the first page was asked twice');
  });

  test("Keystone's 401: exit 2, one line saying what to check, no retry, no snapshot", async () => {
    os.calls = [];
    const before = await snaps(`volumes/volume-${vol.web!.id}`);
    os.fail({ on: 'token', status: 401, times: 5 });
    try {
      const r = await runAt(cfg, day(8));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^rbd-backup: openstack: Keystone at http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens refused the credentials \(401 Unauthorized: .*\): check openstack\.username, the password and the project\n?$/);
      assert.equal(os.callsTo('token').length, 1, 'a refusal is not retried, by us or by Temporal');
      assert.deepEqual(await snaps(`volumes/volume-${vol.web!.id}`), before);
    } finally {
      os.clearFaults();
    }
  });

  test('a Keystone that does not answer in time: exit 2, one line naming the timeout', async () => {
    os.calls = [];
    os.fail({ on: 'token', delayMs: 30_000, times: 3 });
    try {
      const r = await runAt(cfg, day(9));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^rbd-backup: openstack: no answer from Keystone at http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens within 2 s \(3 attempt\(s\)\): .*openstack\.timeout_seconds\n?$/);
      assert.equal(os.callsTo('token').length, 3);
    } finally {
      os.clearFaults();
    }
  });

  test('missing, ambiguous and not-RBD names are skipped with their reason; the others are backed up', async () => {
    const app = vol.app!;
    os.volumes = os.volumes.filter((v) => v !== app);
    const twin = os.addVolume({ name: 'db', projectId: 'p-ops', host: 'ctl@ceph#ceph' });
    vol.web!.host = 'ctl@lvm#lvm';
    try {
      const r = await runAt(cfg, day(10));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.report!.status, 'partial');
      assert.match(r.stderr, /^rbd-backup: backup \S+ partial: 3 image\(s\) not backed up/);
      const rep = r.report!;
      assert.equal(byImage(rep, `volume-${vol.ok!.id}`)?.status, 'ok');
      assert.match(byImage(rep, 'app')?.reason ?? '', /^no Cinder volume named "app"$/);
      assert.match(byImage(rep, 'db')?.reason ?? '', new RegExp(`"db" is ambiguous: volumes (${vol.db!.id}, ${twin.id}|${twin.id}, ${vol.db!.id})`));
      assert.match(byImage(rep, `volume-${vol.web!.id}`)?.reason ?? '', /is on backend lvm, not an RBD backend \(rbd_backends: ceph\)/);
      for (const n of ['app', 'db', `volume-${vol.web!.id}`]) assert.equal(byImage(rep, n)?.status, 'skipped', n);
      assert.equal(rep.images.length, 4);
      // The skipped volumes were not touched: no snapshot of this run on them.
      assert.ok(!(await snaps(`volumes/volume-${vol.db!.id}`)).includes(snap(day(10))));
    } finally {
      os.volumes = os.volumes.filter((v) => v !== twin);
      os.volumes.push(app);
      vol.web!.host = 'ctl@ceph#ceph';
    }
  });

  test('every name missing: the run fails (exit 1) with each name in its report, and touches no image', async () => {
    const kept = os.volumes;
    os.volumes = kept.filter((v) => v.projectId !== 'p-ops');
    const before = await snaps(`volumes/volume-${vol.ok!.id}`);
    try {
      const r = await runAt(cfg, day(11));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.report!.status, 'failed');
      assert.deepEqual(r.report!.images.map((i) => `${i.image} ${i.status} ${i.reason}`).sort(), ['app', 'db', 'ok', 'web'].map((n) => `${n} skipped no Cinder volume named "${n}"`));
      assert.deepEqual(await snaps(`volumes/volume-${vol.ok!.id}`), before);
    } finally {
      os.volumes = kept;
    }
  });

  test('no password or token in workflow histories, report files or the worker log', async () => {
    assert.ok(os.issued.length >= 3);
    const secrets = [password, ...os.issued];
    const texts: [string, string][] = [['worker log', worker.log()]];
    for (const d of [6, 7, 10]) texts.push([`history ${d}`, await historyText(`rbd-backup-run/ceph/${snap(day(d)).replace('rbdbackup-', '')}`)]);
    for (const f of filesUnder(cfg.destination)) if (/\.json$/.test(f)) texts.push([f, readFileSync(f, 'utf8')]);
    assert.ok(texts.some(([, t]) => t.includes(`volume-${vol.ok!.id}`)), 'the texts searched are the right ones');
    for (const [where, t] of texts) for (const s of secrets) assert.ok(!t.includes(s), `a secret in ${where}`);
    assert.match(worker.log(), /"cinder volumes listed"/);
  });
});

describe('all volumes of a project, with an application credential: a new volume is backed up by the next run', () => {
  const os = new OpenStackDouble();
  let cfg: TestConfig;
  let worker: Worker;
  const secret = `ac-${randomBytes(12).toString('hex')}`;

  before(async () => {
    await os.start();
    os.projects.push({ id: 'p-t2', name: 'tenant2', domainId: 'default' });
    os.users.push({ id: 'u-t2', name: 't2', domainId: 'default', password: 'unused', projects: ['p-t2'] });
    os.appCredentials.push({ id: 'ac-t2', secret, userId: 'u-t2', projectId: 'p-t2' });
    cfg = writeConfig('cinder-all', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6] });
    const text = readFileSync(cfg.file, 'utf8');
    writeFileSync(
      cfg.file,
      `${text}openstack:\n  auth_url: ${os.url}/identity\n  application_credential_id: ac-t2\n  application_credential_secret_env: RBD_TEST_OS_SECRET\n` +
        `  all_volumes_in_project: true\n  rbd_volume_types: [ceph]\n`,
    );
    process.env.RBD_TEST_OS_SECRET = secret;
    worker = await startWorker(cfg.file);
  });
  after(async () => {
    await worker?.stop();
    await os.stop();
    delete process.env.RBD_TEST_OS_SECRET;
  });

  test('run 1 backs up the one RBD volume (the LVM one is not ours); run 2 also the volume created since', async () => {
    const first = os.addVolume({ name: 'first', projectId: 'p-t2', volumeType: 'ceph' });
    os.addVolume({ name: 'lvm', projectId: 'p-t2', volumeType: 'lvmdriver-1' });
    await createImage('volumes', `volume-${first.id}`, 4, 1);
    const r1 = await runAt(cfg, day(6, 3));
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(r1.report!.images.map((i) => `${i.image} ${i.status} ${i.type}`), [`volume-${first.id} ok full`]);

    const second = os.addVolume({ name: 'second', projectId: 'p-t2', volumeType: 'ceph' });
    await createImage('volumes', `volume-${second.id}`, 4, 1);
    const r2 = await runAt(cfg, day(7, 3));
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(r2.report!.images.map((i) => `${i.image} ${i.status} ${i.type}`).sort(), [`volume-${first.id} ok incr`, `volume-${second.id} ok full`].sort());
    assert.equal(byImage(r2.report!, `volume-${second.id}`)!.sha256, await snapshotSha256(`volumes/volume-${second.id}@${snap(day(7, 3))}`));
    assert.ok(!worker.log().includes(secret));
  });
});

describe('the list file and Cinder: Keystone refusing does not stop the list file\'s backups', () => {
  const os = new OpenStackDouble();
  let cfg: TestConfig;
  let worker: Worker;
  let db: DoubleVolume;
  const listed = `cinder-listed-${randomBytes(3).toString('hex')}`;

  before(async () => {
    await os.start();
    os.projects.push({ id: 'p-ops', name: 'ops', domainId: 'default' });
    os.users.push({ id: 'u-backup', name: 'backup', domainId: 'default', password: 'pw-list', projects: ['p-ops'] });
    db = os.addVolume({ name: 'db', projectId: 'p-ops', volumeType: 'ceph' });
    await Promise.all([createImage('rbd', listed, 4, 1), createImage('volumes', `volume-${db.id}`, 4, 1)]);
    cfg = writeConfig('cinder-list', { full_weekdays: [7], incremental_weekdays: [1, 2, 3, 4, 5, 6] });
    const list = join(cfg.dir, 'list.yaml');
    writeFileSync(list, `ceph:\n  - rbd:\n      - name: ${listed}\n`);
    const text = readFileSync(cfg.file, 'utf8').replace(/^backup:\n/m, `backup:\n  list_file: ${list}\n`);
    writeFileSync(
      cfg.file,
      `${text}openstack:\n  auth_url: ${os.authUrl}\n  username: backup\n  password_env: RBD_TEST_OS_LIST_PW\n  project_name: ops\n  volume_names: [db]\n  rbd_volume_types: [ceph]\n  timeout_seconds: 2\n  retries: 2\n`,
    );
    process.env.RBD_TEST_OS_LIST_PW = 'pw-list';
    worker = await startWorker(cfg.file);
  });
  after(async () => {
    await worker?.stop();
    await os.stop();
    delete process.env.RBD_TEST_OS_LIST_PW;
  });

  test('Keystone 401: the list-file image is backed up, the Cinder name skipped with the reason, the run partial (exit 1)', async () => {
    os.calls = [];
    os.fail({ on: 'token', status: 401, times: 5 });
    try {
      const asOf = day(13);
      const r = await runAt(cfg, asOf);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.report!.status, 'partial');
      const ok = r.report!.images.find((i) => i.pool === 'rbd' && i.image === listed);
      assert.equal(ok?.status, 'ok', JSON.stringify(r.report!.images));
      assert.equal(ok!.sha256, await snapshotSha256(`rbd/${listed}@${snap(asOf)}`));
      const skipped = byImage(r.report!, 'db');
      assert.equal(skipped?.status, 'skipped');
      assert.match(skipped!.reason ?? '', /^not backed up, Cinder could not be read: openstack: Keystone at http:\/\/127\.0\.0\.1:\d+\/identity\/v3\/auth\/tokens refused the credentials \(401 /);
      assert.equal(r.report!.images.length, 2);
      assert.match(r.stderr, /^rbd-backup: backup \S+ partial: 1 image\(s\) not backed up, 0 with cleanup errors; first: volumes\/db skipped: not backed up, Cinder could not be read: openstack: Keystone .*\n?$/);
      assert.equal(os.callsTo('token').length, 1);
      assert.deepEqual(await snaps(`volumes/volume-${db.id}`), [], 'the Cinder volume was not touched');
      assert.match(worker.log(), /"cinder not read: backing up the list file only"/);
    } finally {
      os.clearFaults();
    }
  });
});
