#!/usr/bin/env node
// The suite's one shared set-up: a throwaway Ceph cluster and a Temporal dev server, up once per
// test run and down at the end even when tests fail. Unit tests need neither.
//   node scripts/test-run.mjs                 all tests under dist/test
//   node scripts/test-run.mjs FILE...         just these compiled test files
import { spawnSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runDir = resolve(process.env.RBD_TEST_RUN_DIR ?? join(repo, '.run', 'test'));
const cephDir = join(runDir, 'ceph');
const temporalDir = join(runDir, 'temporal');
mkdirSync(runDir, { recursive: true });

// Two suites on one run dir would wipe each other's cluster: refuse a second one.
const lock = join(runDir, 'suite.pid');
try {
  const pid = Number(readFileSync(lock, 'utf8'));
  process.kill(pid, 0);
  console.error(`test-run: another suite (pid ${pid}) is using ${runDir}; set RBD_TEST_RUN_DIR and other ports to run beside it`);
  process.exit(2);
} catch {
  // no lock, or its owner is gone
}
writeFileSync(lock, String(process.pid));

const env = {
  ...process.env,
  CEPH_DEV_MON_V2_PORT: process.env.CEPH_DEV_MON_V2_PORT ?? '13300',
  CEPH_DEV_MON_V1_PORT: process.env.CEPH_DEV_MON_V1_PORT ?? '16789',
  TEMPORAL_DEV_PORT: process.env.TEMPORAL_DEV_PORT ?? '17233',
  TEMPORAL_DEV_UI_PORT: process.env.TEMPORAL_DEV_UI_PORT ?? '18233',
};

function up(script, dir) {
  const t0 = Date.now();
  const r = spawnSync(join(repo, 'scripts', script), ['up', dir], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`scripts/${script} up failed (exit ${r.status})`);
  console.error(`# ${script} up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return JSON.parse(r.stdout);
}
function down(script, dir) {
  spawnSync(join(repo, 'scripts', script), ['down', dir, '--wipe'], { env, stdio: 'inherit' });
}

function testFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

let code = 1;
const files = process.argv.slice(2).length ? process.argv.slice(2) : testFiles(join(repo, 'dist', 'test'));
try {
  // A stale cluster from an interrupted run is wiped: every suite starts from empty pools.
  down('ceph-dev', cephDir);
  down('temporal-dev', temporalDir);
  const [ceph, temporal] = [up('ceph-dev', cephDir), up('temporal-dev', temporalDir)];
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    stdio: 'inherit',
    env: { ...env, RBD_TEST_CEPH: JSON.stringify(ceph), RBD_TEST_TEMPORAL: JSON.stringify(temporal), RBD_TEST_RUN_DIR: runDir },
  });
  code = await new Promise((res) => child.on('exit', (c, sig) => res(c ?? (sig ? 1 : 0))));
} catch (e) {
  console.error(`test-run: ${e.message}`);
} finally {
  if (!process.env.RBD_TEST_KEEP) {
    down('temporal-dev', temporalDir);
    down('ceph-dev', cephDir);
  }
}
rmSync(lock, { force: true });
process.exit(code);
