/**
 * The published client API, as another service uses it: every example under examples/ is run as
 * a separate process that imports `rbd-backup/client` by its package name, against the real dev
 * server and cluster with a worker running, and what it prints is checked against the backups
 * and the schedules themselves. Also: the package exposes its two entry points and nothing else,
 * and their types reach a TypeScript consumer.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { cli, createImage, rbd, repo, startWorker, tempDir, temporal, writeConfig, type RunningWorker, type TestConfig } from '../harness/env.js';
import { removeImage, snapshotsOf } from '../harness/invariants.js';
import { terminateIfRunning, waitFor, waitForPending } from '../harness/faults.js';
import { imageWorkflowId, runWorkflowId } from '../../src/contract/backup.js';
import type { ScheduleView } from '../../src/client/schedule.js';
import type { ImageCatalog } from '../../src/catalog/schema.js';

const tag = randomBytes(3).toString('hex');
const SMALL = `rbd/api-small-${tag}`;
const BIG = `rbd/api-big-${tag}`;
const BIG_BYTES = 64 * 1024 * 1024;
/** Bytes per second librbd lets the big image's export read: it lasts about 8 s, long enough to cancel. */
const QOS = 8 * 1024 * 1024;
const nameA = `api-a-${tag}`;
const nameB = `api-b-${tag}`;
const scheduleName = `api-s-${tag}`;

let cfg: TestConfig;
let worker: RunningWorker | undefined;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function example(file: string, ...args: string[]): Promise<Ran> {
  const r = await execa(process.execPath, [join(repo, 'examples', file), ...args], {
    cwd: repo,
    reject: false,
    stdin: 'ignore',
    timeout: 300_000,
    env: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', RBD_BACKUP_TASK_QUEUE: cfg.taskQueue, RBD_BACKUP_CLUSTER: 'ceph' },
  });
  return { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function ok(r: Ran): string {
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function partials(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => /\.partial(-\d+)?$/.test(e.name))
    .map((e) => e.name);
}

describe('the client API through its examples', () => {
  before(async () => {
    cfg = writeConfig('api');
    await Promise.all([createImage('rbd', SMALL.slice(4), 8, 1), createImage('rbd', BIG.slice(4), 64, 64)]);
    await rbd('config', 'image', 'set', BIG, 'rbd_qos_read_bps_limit', String(QOS));
    worker = await startWorker(cfg.file);
  });
  after(async () => {
    await terminateIfRunning(runWorkflowId('ceph', nameB));
    await cli('schedule', 'delete', scheduleName, '--config', cfg.file);
    await worker?.stop();
    for (const spec of [SMALL, BIG]) await removeImage(spec).catch(() => undefined);
  });

  test('start-backup-run.mjs waits for the report, and what it prints is the point in the catalog', { timeout: 300_000 }, async () => {
    const out = ok(await example('start-backup-run.mjs', '--name', nameA, SMALL));
    assert.match(out, new RegExp(`^started rbd-backup-run/ceph/${nameA} \\(backup ${nameA}\\)$`, 'm'));
    assert.match(out, new RegExp(`^backup ${nameA}: ok$`, 'm'));
    const m = new RegExp(`^${SMALL}: ok full (\\d+) bytes sha256=([0-9a-f]{64})$`, 'm').exec(out);
    assert.ok(m, out);
    const listed = JSON.parse(ok(await cli('list', SMALL, '--json', '--config', cfg.file))) as { images: ImageCatalog[] };
    const point = listed.images[0]?.circles.flatMap((c) => c.points).find((p) => p.backupName === nameA);
    assert.ok(point, JSON.stringify(listed));
    assert.equal(point.bytes, Number(m[1]));
    assert.equal(point.sha256, m[2]);
    // The same request under the same name attaches to the finished run: no second point.
    const again = ok(await example('start-backup-run.mjs', '--name', nameA, SMALL));
    assert.match(again, new RegExp(`^attached to rbd-backup-run/ceph/${nameA} `, 'm'));
    assert.match(again, new RegExp(`^${SMALL}: ok full ${m[1]} bytes sha256=${m[2]}$`, 'm'));
  });

  test('get-progress.mjs shows an export in flight; cancel-run.mjs stops it, leaving no partial file and no snapshot', { timeout: 300_000 }, async () => {
    const started = ok(await example('start-backup-run.mjs', '--detach', '--name', nameB, BIG));
    assert.match(started, new RegExp(`^started rbd-backup-run/ceph/${nameB} `, 'm'));
    assert.doesNotMatch(started, /^backup /m, '--detach does not wait for the report');
    const [pool, image] = BIG.split('/') as [string, string];
    await waitForPending(imageWorkflowId('ceph', { pool, image }), 'exportPoint', 60_000, (a) => ((a.details as { written?: number } | undefined)?.written ?? 0) > 0);

    const progress = ok(await example('get-progress.mjs', nameB));
    assert.match(progress, new RegExp(`^${nameB}: running \\(backing up\\)$`, 'm'));
    const bytes = new RegExp(`^  ${BIG} exporting (\\d+)/${BIG_BYTES} bytes$`, 'm').exec(progress);
    assert.ok(bytes && Number(bytes[1]) > 0, progress);

    const cancelled = ok(await example('cancel-run.mjs', nameB));
    assert.match(cancelled, new RegExp(`^rbd-backup-run/ceph/${nameB}: cancelled$`, 'm'));
    assert.match(cancelled, new RegExp(`^cancelled: ${BIG}$`, 'm'));
    assert.match(cancelled, /^finished: none$/m);
    assert.deepEqual(partials(cfg.destination), [], 'no partial file left');
    assert.deepEqual((await snapshotsOf(BIG)).filter((s) => s.startsWith('rbdbackup-')), [], 'no snapshot of the cancelled run');

    // A second cancel finds nothing to stop; --watch on a closed run prints it once and ends.
    const again = await example('cancel-run.mjs', nameB);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /is not running \(cancelled\): nothing to cancel/);
    const watched = ok(await example('get-progress.mjs', '--watch', nameB));
    assert.match(watched, new RegExp(`^${nameB}: cancelled `, 'm'));
    assert.match(watched, new RegExp(`^  ${BIG} cancelled `, 'm'));
  });

  test('list-history.mjs finds both runs in visibility, by status and by image', { timeout: 120_000 }, async () => {
    // Visibility is updated a moment after a run closes.
    const byStatus = await waitFor(
      'the cancelled run in visibility',
      async () => {
        const out = ok(await example('list-history.mjs', '--status', 'cancelled'));
        return out.includes(` backup-run ${nameB} cancelled rbd-backup-run/ceph/${nameB}`) ? out : undefined;
      },
      60_000,
      500,
    );
    assert.doesNotMatch(byStatus, new RegExp(` ${nameA} `), 'a completed run is not listed under --status cancelled');
    const byImage = ok(await example('list-history.mjs', SMALL));
    assert.match(byImage, new RegExp(`^\\S+ image-backup ${nameA} completed rbd-backup-image/ceph/${SMALL}$`, 'm'));
    assert.doesNotMatch(byImage, new RegExp(nameB), 'the other image’s run is not listed');
    assert.match(ok(await example('list-history.mjs', `rbd/never-${tag}`)), /^no runs$/m);
  });

  test('create-schedule.mjs creates the schedule the CLI then describes', { timeout: 120_000 }, async () => {
    const out = ok(await example('create-schedule.mjs', scheduleName, '--every', '1d', '--paused', SMALL));
    assert.match(out, new RegExp(`^schedule rbd-backup/ceph/${scheduleName}: paused, every 1d UTC$`, 'm'));
    const next = /^next runs: (\S+)/m.exec(out);
    assert.ok(next && !Number.isNaN(Date.parse(next[1]!)), out);
    const v = JSON.parse(ok(await cli('schedule', 'describe', scheduleName, '--json', '--config', cfg.file))) as ScheduleView;
    assert.equal(v.paused, true);
    assert.deepEqual(v.every, ['1d']);
    assert.equal(v.nextRuns[0], next[1]);
    assert.deepEqual(v.input, { cluster: 'ceph', images: [{ pool: 'rbd', image: SMALL.slice(4) }] });
    // A second create under the name is refused: the API throws InputError, the example exits non-zero.
    const dup = await example('create-schedule.mjs', scheduleName, '--every', '1d');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /InputError: schedule "api-s-[0-9a-f]+" already exists/);
  });

  test('the package exports rbd-backup/client and rbd-backup/contract, with types, and no deep path', { timeout: 180_000 }, async () => {
    // A consumer elsewhere with the package in its node_modules, as npm install would leave it.
    const dir = tempDir('consumer');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'rbd-backup'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      join(dir, 'load.mjs'),
      `const c = await import('rbd-backup/client');
const k = await import('rbd-backup/contract');
console.log(['startBackupRun', 'getProgress', 'cancelRun', 'listHistory', 'createSchedule', 'openClient'].map((f) => f + ':' + typeof c[f]).join(' '));
console.log('runWorkflowId:' + k.runWorkflowId('ceph', 'x'));
for (const deep of ['rbd-backup/dist/src/client/backup-run.js', 'rbd-backup/dist/cli/main.js', 'rbd-backup/src/client/index.ts', 'rbd-backup']) {
  await import(deep).then(() => console.log(deep + ': loaded'), (e) => console.log(deep + ': ' + e.code));
}
`,
    );
    const loaded = await execa(process.execPath, ['load.mjs'], { cwd: dir, reject: false });
    assert.equal(loaded.exitCode, 0, String(loaded.stderr));
    assert.match(String(loaded.stdout), /^startBackupRun:function getProgress:function cancelRun:function listHistory:function createSchedule:function openClient:function$/m);
    assert.match(String(loaded.stdout), /^runWorkflowId:rbd-backup-run\/ceph\/x$/m);
    for (const deep of ['rbd-backup/dist/src/client/backup-run.js', 'rbd-backup/dist/cli/main.js', 'rbd-backup/src/client/index.ts', 'rbd-backup']) {
      assert.match(String(loaded.stdout), new RegExp(`^${deep.replace(/[./]/g, '\\$&')}: ERR_PACKAGE_PATH_NOT_EXPORTED$`, 'm'));
    }

    // Types: one compile of a correct consumer and a wrong one; only the wrong one has errors.
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['*.ts'] }),
    );
    writeFileSync(
      join(dir, 'good.ts'),
      `import { startBackupRun, type StartedRun, type RunStatus } from 'rbd-backup/client';
import type { BackupRunInput, BackupReport } from 'rbd-backup/contract';
const input: BackupRunInput = { cluster: 'ceph', images: [{ pool: 'rbd', image: 'vm-1' }] };
export const start = (c: Parameters<typeof startBackupRun>[0]): Promise<StartedRun> => startBackupRun(c, 'rbd-backup', input);
export const done = async (r: StartedRun): Promise<BackupReport['status']> => (await r.result()).status;
export const phase = (s: RunStatus): string => s.progress.phase;
`,
    );
    writeFileSync(
      join(dir, 'bad.ts'),
      `import type { BackupRunInput } from 'rbd-backup/contract';
import { checkRunInput } from 'rbd-backup/dist/src/client/backup-run.js';
export const input: BackupRunInput = { cluster: 'ceph', images: [{ pool: 'rbd' }] };
export { checkRunInput };
`,
    );
    const bad = await execa(process.execPath, [tsc, '-p', dir], { reject: false });
    assert.notEqual(bad.exitCode, 0);
    assert.match(String(bad.stdout), /bad\.ts\(2,\d+\): error TS2307: Cannot find module 'rbd-backup\/dist\/src\/client\/backup-run\.js'/);
    assert.match(String(bad.stdout), /bad\.ts\(3,\d+\): error TS2741: Property 'image' is missing/);
    assert.doesNotMatch(String(bad.stdout), /good\.ts/);

    // The examples themselves type-check against the published declarations.
    const examples = await execa(process.execPath, [tsc, '-p', join(repo, 'examples', 'tsconfig.json')], { reject: false });
    assert.equal(examples.exitCode, 0, String(examples.stdout));
  });
});
