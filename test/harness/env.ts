/**
 * Shared helpers for integration tests: the real cluster and dev server brought up by
 * scripts/test-run.mjs, raw `rbd` for independent checks, and the CLI as a user runs it.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, writeFileSync, mkdirSync, truncateSync, rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { stringify } from 'yaml';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repo, 'dist', 'cli', 'main.js');

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through \`npm test\` (scripts/test-run.mjs)`);
  return v;
}

export const ceph = JSON.parse(need('RBD_TEST_CEPH')) as { conf: string; keyring: string; fsid: string; user: string; cluster: string; dir: string };
export const temporal = JSON.parse(need('RBD_TEST_TEMPORAL')) as { address: string; ui: string };
export const runDir = need('RBD_TEST_RUN_DIR');

export function tempDir(prefix: string): string {
  mkdirSync(join(runDir, 'tmp'), { recursive: true });
  return mkdtempSync(join(runDir, 'tmp', `${prefix}-`));
}

export interface TestConfig {
  dir: string;
  file: string;
  destination: string;
  taskQueue: string;
}

/** A config file for one test: its own destination and task queue, the shared cluster and server. */
export function writeConfig(name: string, backup: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): TestConfig {
  const dir = tempDir(name);
  const destination = join(dir, 'backup');
  const taskQueue = `test-${name}-${randomBytes(3).toString('hex')}`;
  const doc = {
    cluster: { name: 'ceph', conf: ceph.conf, keyring: ceph.keyring, user: 'admin', op_timeout_seconds: 30 },
    backup: { destination, concurrency: 2, ...backup },
    temporal: { address: temporal.address, namespace: 'default', task_queue: taskQueue },
    log: { level: 'info' },
    ...extra,
  };
  const file = join(dir, 'config.yaml');
  writeFileSync(file, stringify(doc));
  // The destination must exist (an unmounted backup disk is refused, never created).
  mkdirSync(destination, { recursive: true });
  return { dir, file, destination, taskQueue };
}

export async function rbd(...args: string[]): Promise<string> {
  const r = await execa('rbd', ['--conf', ceph.conf, '--keyring', ceph.keyring, '--id', 'admin', ...args]);
  return r.stdout;
}

/** sha256 of `rbd export POOL/IMAGE@SNAP -`: the independent truth a restore must match. */
export async function snapshotSha256(spec: string): Promise<string> {
  const child = execa('rbd', ['--conf', ceph.conf, '--keyring', ceph.keyring, '--id', 'admin', 'export', '--no-progress', spec, '-'], {
    buffer: false,
  });
  const h = createHash('sha256');
  for await (const chunk of child.stdout!) h.update(chunk as Buffer);
  await child;
  return h.digest('hex');
}

/** An image of `mib` MiB whose first `dataMib` hold random bytes; the rest stays sparse. */
export async function createImage(pool: string, image: string, mib: number, dataMib = Math.min(mib, 8)): Promise<void> {
  const file = join(tempDir('img'), 'data');
  writeFileSync(file, randomBytes(dataMib * 1024 * 1024));
  truncateSync(file, mib * 1024 * 1024);
  await rbd('import', '--no-progress', file, `${pool}/${image}`);
  rmSync(file);
}

/**
 * Random 4 KiB writes of random bytes at random offsets, so every incremental carries new data.
 * Written as an `rbd diff v1` stream without snapshot records: import-diff then just writes.
 */
export async function randomWrites(spec: string, totalKib = 512): Promise<void> {
  const size = (JSON.parse(await rbd('info', spec, '--format', 'json')) as { size: number }).size;
  const parts: Buffer[] = [Buffer.from('rbd diff v1\n', 'latin1')];
  for (let i = 0; i < totalKib / 4; i++) {
    const rec = Buffer.alloc(17);
    rec.write('w', 0, 'latin1');
    rec.writeBigUInt64LE(BigInt(randomInt(0, size / 4096) * 4096), 1);
    rec.writeBigUInt64LE(4096n, 9);
    parts.push(rec, randomBytes(4096));
  }
  parts.push(Buffer.from('e', 'latin1'));
  const file = join(tempDir('writes'), 'w.diff');
  writeFileSync(file, Buffer.concat(parts));
  await rbd('import-diff', '--no-progress', file, spec);
  rmSync(file);
}


export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(...args: string[]): Promise<CliResult> {
  const r = await execa(process.execPath, [cliPath, ...args], { reject: false, stdin: 'ignore', timeout: 600_000 });
  return { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export interface RunningWorker {
  child: ResultPromise;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** `rbd-backup worker` as a separate process, as operators run it; resolves once it polls. */
export async function startWorker(configFile: string): Promise<RunningWorker> {
  const child = execa(process.execPath, [cliPath, 'worker', '--config', configFile], { reject: false, stdin: 'ignore', all: true, buffer: false });
  let log = '';
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`worker did not start within 60 s:\n${log}`)), 60_000);
    child.all!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('"worker started"')) {
        clearTimeout(t);
        res();
      }
    });
    void child.then((r) => {
      clearTimeout(t);
      rej(new Error(`worker exited early (${r.exitCode}):\n${log}`));
    });
  });
  child.all!.resume();
  return {
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await child;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nothing was written: the destination is still an empty directory. */
export function isEmptyDir(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length === 0;
}
