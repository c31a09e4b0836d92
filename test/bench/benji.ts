/**
 * Benji 0.17 (PyPI `benji`), the best-known open-source RBD backup tool, run beside rbd-backup on
 * the same image in the same bench invocation (`--peers`). Installed on first use into a venv under
 * .tools/ (never committed). Compression and encryption off, as for rbd-backup; a fresh database and
 * store per round, because Benji only frees blocks an hour after they are removed.
 */
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from './table.js';
import { say, type CephInfo } from './services.js';

export interface BenjiInput {
  repo: string;
  tmp: string;
  ceph: CephInfo;
  pool: string;
  image: string;
  snapshot: string;
  rounds: number;
  rbd: (...args: string[]) => Promise<string>;
}

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).at(-1) ?? '';

/** The benji executable, installed if missing; or why it cannot be. */
async function install(repo: string): Promise<string | { error: string }> {
  const venv = join(repo, '.tools', 'benji');
  const benji = join(venv, 'bin', 'benji');
  if (existsSync(benji)) return benji;
  // Debian's librbd bindings exist for its own interpreter only: the venv must be built on it.
  const py = '/usr/bin/python3';
  const probe = await execa(py, ['-c', 'import rbd, rados'], { reject: false });
  if (probe.exitCode !== 0) return { error: `${py} cannot import rbd/rados (apt-get install python3-rbd python3-rados): ${lastLine(String(probe.stderr))}` };
  say(`installing Benji 0.17 into ${venv}`);
  const steps: [string, string[], Record<string, string>?][] = [
    [py, ['-m', 'venv', '--system-site-packages', venv]],
    // Benji pins ruamel.yaml<0.16, whose C extension does not build on Python 3.11: pure Python.
    [join(venv, 'bin', 'pip'), ['install', '--quiet', 'ruamel.yaml==0.15.100'], { CC: '/bin/false' }],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', 'benji==0.17.0', 'zstandard']],
  ];
  for (const [cmd, args, env] of steps) {
    const r = await execa(cmd, args, { reject: false, env: { ...process.env, ...env }, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      await rm(venv, { recursive: true, force: true });
      return { error: `installing Benji failed at \`${[cmd.split('/').at(-1), ...args].join(' ')}\`: ${lastLine(String(r.stderr))}` };
    }
  }
  return benji;
}

/** Medians of Benji's full backup and its restore to a new RBD image, seconds. */
export async function benjiRounds(o: BenjiInput): Promise<{ backup: number; restore: number } | { error: string }> {
  const benji = await install(o.repo);
  if (typeof benji !== 'string') return benji;
  const backups: number[] = [];
  const restores: number[] = [];
  const target = `${o.pool}/bench-benji-restored`;
  for (let round = 0; round < o.rounds; round++) {
    const dir = await mkdtemp(join(o.tmp, 'benji-'));
    const cfg = join(dir, 'benji.yaml');
    writeFileSync(
      cfg,
      JSON.stringify({
        configurationVersion: '1',
        databaseEngine: `sqlite:///${join(dir, 'benji.sqlite')}`,
        defaultStorage: 'store',
        blockSize: 4194304,
        storages: [{ name: 'store', storageId: 1, module: 'file', configuration: { path: join(dir, 'store'), simultaneousWrites: 3, simultaneousReads: 3 } }],
        ios: [
          { name: 'file', module: 'file' },
          {
            name: 'rbd',
            module: 'rbd',
            configuration: {
              cephConfigFile: o.ceph.conf,
              clientIdentifier: o.ceph.user,
              simultaneousReads: 3,
              simultaneousWrites: 3,
              newImageFeatures: ['RBD_FEATURE_LAYERING', 'RBD_FEATURE_EXCLUSIVE_LOCK'],
            },
          },
        ],
      }),
    );
    const run = async (...args: string[]) => {
      const r = await execa(benji, ['-c', cfg, ...args], { reject: false, stdin: 'ignore' });
      if (r.exitCode !== 0) throw new Error(`benji ${args[0] === '-m' ? args[1] : args[0]} exited ${r.exitCode}: ${lastLine(String(r.stderr))}`);
      return String(r.stdout);
    };
    try {
      await run('database-init');
      const keyring = `keyring=${o.ceph.keyring}`;
      let t0 = performance.now();
      const out = await run('-m', 'backup', '-s', o.snapshot, '-u', `bench-${round}`, `rbd:${o.pool}/${o.image}@${o.snapshot}?${keyring}`, `${o.pool}/${o.image}`);
      backups.push((performance.now() - t0) / 1000);
      const uid = /"uid":\s*"([^"]+)"/.exec(out)?.[1] ?? 'V0000000001';
      t0 = performance.now();
      await run('restore', '--sparse', uid, `rbd:${target}?${keyring}`);
      restores.push((performance.now() - t0) / 1000);
      say(`  round ${round + 1}/${o.rounds} benji backup ${backups.at(-1)!.toFixed(2)} s, restore ${restores.at(-1)!.toFixed(2)} s`);
    } catch (e) {
      return { error: (e as Error).message };
    } finally {
      await o.rbd('rm', '--no-progress', target).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { backup: median(backups), restore: median(restores) };
}
