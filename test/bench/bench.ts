/**
 * The end-to-end benchmark: rbd-backup as a user runs it (the CLI, a Temporal dev server, a real
 * worker process, rbd) beside the raw `rbd` commands an operator would script, in one invocation,
 * on its own throwaway cluster. Prints medians, ratios and each goal met or missed; never asserts
 * on time (the machine may be shared: the ratios within one invocation are what count).
 *
 *   npm run bench -- [--quick] [--rounds N] [--rows full,incr,restore,full-large,fleet,fleet-large]
 *                    [--trace] [--peers] [--json] [--reuse] [--run-dir DIR]
 */
import { execa } from 'execa';
import { mkdirSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { mapLimit } from '../../src/plan/map-limit.js';
import { imageWorkflowId, runWorkflowId, type BackupReport } from '../../src/contract/backup.js';
import { bringUp, say, startWorker, type BenchWorker } from './services.js';
import { randomFile, randomWritesFile } from './data.js';
import { formatTrace, traceWorkflow, type Step } from './trace.js';
import { benjiRounds } from './benji.js';
import { median, printTable, type Row } from './table.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const ALL_ROWS = ['full', 'incr', 'restore', 'full-large', 'fleet', 'fleet-large'] as const;
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    rows: { type: 'string', default: ALL_ROWS.join(',') },
    trace: { type: 'boolean', default: false },
    peers: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
    'run-dir': { type: 'string', default: join(repo, '.run', 'bench') },
  },
});
const rows = new Set(opt.rows.split(',').map((s) => s.trim()).filter(Boolean));
for (const r of rows) if (!(ALL_ROWS as readonly string[]).includes(r)) throw new Error(`--rows: unknown row ${r} (rows: ${ALL_ROWS.join(', ')})`);
const ROUNDS = Number(opt.rounds ?? (opt.quick ? 1 : 3));
const sizes = opt.quick
  ? { full: 64, large: 128, fleet: 8, fleetMiB: 16, many: 30, manyMiB: 4 }
  : { full: 1024, large: 4096, fleet: 100, fleetMiB: 16, many: 1000, manyMiB: 4 };
const MiB = 1024 * 1024;
const POOL = 'rbd';
const BASE = 'bench-base';

async function main(): Promise<void> {
  const runDir = resolve(opt['run-dir']);
  mkdirSync(runDir, { recursive: true });
  // Live data at once: the small and the large image, two restore targets, the fleet.
  const osdBytes = Math.max(4, Math.ceil(((sizes.full * 3 + sizes.large + sizes.fleet * sizes.fleetMiB + sizes.many) * 1.3) / 1024)) * 1024 * MiB;
  const svc = await bringUp(repo, runDir, opt.reuse, osdBytes);
  const tmp = await mkdtemp(join(runDir, 'tmp-'));
  const dest = join(tmp, 'backup');
  mkdirSync(dest);
  const cfgFile = join(tmp, 'config.yaml');
  writeFileSync(
    cfgFile,
    stringify({
      cluster: { name: 'ceph', conf: svc.ceph.conf, keyring: svc.ceph.keyring, user: svc.ceph.user, op_timeout_seconds: 60 },
      // Every day an incremental day: the first run of an image is a full, the next ones diffs.
      backup: { destination: dest, concurrency: 2, full_weekdays: [], incremental_weekdays: [1, 2, 3, 4, 5, 6, 7], max_incremental: 0 },
      temporal: { address: svc.temporal.address, namespace: 'default', task_queue: 'bench' },
      log: { level: 'info' },
    }),
  );
  const conn = ['--conf', svc.ceph.conf, '--keyring', svc.ceph.keyring, '--id', svc.ceph.user];
  const rbd = async (...args: string[]) => (await execa('rbd', [...conn, ...args], { stdin: 'ignore' })).stdout;
  const timed = async (f: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await f();
    return (performance.now() - t0) / 1000;
  };
  let worker: BenchWorker | undefined;
  const connection = await Connection.connect({ address: svc.temporal.address });
  const client = new Client({ connection, namespace: 'default' });
  const results: Row[] = [];
  const traces: { label: string; text: string; steps: Step[] }[] = [];
  const workerAfter: Record<string, number> = {};

  // Each run acts as of its own minute: distinct snapshot names, always newer than the last.
  let clock = Math.floor(Date.now() / 60_000) * 60_000;
  let names = 0;
  const nextRun = () => ({ name: `bench-${process.pid}-${++names}`, asOf: new Date((clock += 60_000)).toISOString().replace('.000Z', 'Z') });

  /** The CLI as a user runs it; returns the wall time and the parsed --json output. */
  async function cliJson<T>(args: string[]): Promise<{ s: number; out: T; launched: number; exited: number }> {
    const launched = Date.now();
    const t0 = performance.now();
    const r = await execa(process.execPath, [cli, ...args, '--config', cfgFile, '--json'], { reject: false, stdin: 'ignore' });
    const s = (performance.now() - t0) / 1000;
    if (r.exitCode !== 0) throw new Error(`rbd-backup ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.split('\n').slice(-3).join(' ')}`);
    return { s, out: JSON.parse(r.stdout) as T, launched, exited: Date.now() };
  }
  async function backup(images: string[], want: 'full' | 'incr') {
    const run = nextRun();
    const r = await cliJson<BackupReport>(['run', ...images, '--backup-name', run.name, '--as-of', run.asOf]);
    const bad = r.out.images.filter((i) => i.status !== 'ok' || i.type !== want);
    if (r.out.status !== 'ok' || bad.length) throw new Error(`run ${run.name}: ${r.out.status}; ${bad.length} image(s) not ${want} ok: ${JSON.stringify(bad[0])}`);
    return { ...r, name: run.name };
  }
  /** A new circle each round: the destination emptied and our snapshots removed (untimed). */
  async function forget(images: string[]) {
    for (const e of readdirSync(dest)) await rm(join(dest, e), { recursive: true, force: true });
    await mapLimit(images, 4, async (spec) => {
      const snaps = JSON.parse(await rbd('snap', 'ls', '--format', 'json', spec)) as { name: string }[];
      for (const s of snaps) if (s.name.startsWith('rbdbackup-')) await rbd('snap', 'rm', '--no-progress', `${spec}@${s.name}`);
    });
  }
  async function removeImage(spec: string) {
    await rbd('snap', 'purge', '--no-progress', spec).catch(() => undefined);
    await rbd('rm', '--no-progress', spec).catch(() => undefined);
  }
  async function createImage(spec: string, mib: number, dataMib = mib) {
    const file = join(tmp, `src-${spec.replace('/', '_')}`);
    await randomFile(file, mib, dataMib);
    await rbd('import', '--no-progress', file, spec);
    await rm(file);
  }
  /** The catalog's file for a point, found under the destination by its relative name. */
  function locate(rel: string): string {
    const walk = (d: string): string | undefined => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) {
          const f = walk(p);
          if (f) return f;
        } else if (p.endsWith(`/${rel}`)) return p;
      }
      return undefined;
    };
    const f = walk(dest);
    if (!f) throw new Error(`point file ${rel} not found under ${dest}`);
    return f;
  }
  const rawFile = join(tmp, 'raw.out');
  /** Alternating order per round, so neither side always runs on a warmer cache. */
  async function rounds(sides: Record<string, () => Promise<number>>, between?: (round: number) => Promise<void>): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
    for (let round = 0; round < ROUNDS; round++) {
      if (between) await between(round);
      const order = Object.keys(sides);
      if (round % 2) order.reverse();
      for (const k of order) {
        const s = await sides[k]!();
        out[k]!.push(s);
        say(`  round ${round + 1}/${ROUNDS} ${k}: ${s.toFixed(2)} s`);
      }
    }
    return out;
  }
  const markWorker = (row: string) => (workerAfter[row] = worker!.peakKiB());

  const main = `${POOL}/bench-main`;
  let mainFull: { name: string; file: string; snapshot: string } | undefined;
  const mainIncr: { name: string; file: string; snapshot: string }[] = [];

  async function fullRow(label: string, spec: string, mib: number): Promise<{ name: string; file: string; snapshot: string; oursS: number }> {
    say(`${label}: ${mib} MiB random image ${spec}`);
    await createImage(spec, mib);
    await rbd('snap', 'create', '--no-progress', `${spec}@${BASE}`);
    let last: { name: string; file: string; snapshot: string } | undefined;
    const t = await rounds({
      'rbd export + sync': async () => {
        await rm(rawFile, { force: true });
        const s = await timed(async () => {
          await rbd('export', '--no-progress', `${spec}@${BASE}`, rawFile);
          await execa('sync', [rawFile]);
        });
        await rm(rawFile, { force: true });
        return s;
      },
      'rbd export': async () => {
        const s = await timed(() => rbd('export', '--no-progress', `${spec}@${BASE}`, rawFile));
        await rm(rawFile, { force: true });
        return s;
      },
      'rbd-backup run': async () => {
        await forget([spec]);
        const r = await backup([spec], 'full');
        const i = r.out.images[0]!;
        last = { name: r.name, file: i.file!, snapshot: i.snapshot! };
        return r.s;
      },
    });
    const ours = median(t['rbd-backup run']!);
    const raw = median(t['rbd export + sync']!);
    results.push({
      row: `full backup ${mib} MiB`,
      ours,
      raw,
      rawLabel: 'rbd export + sync',
      measure: `${(raw / ours).toFixed(2)}× raw throughput (${(mib / ours).toFixed(0)} vs ${(mib / raw).toFixed(0)} MiB/s; plain rbd export ${median(t['rbd export']!).toFixed(2)} s)`,
      goal: '≥ 0.90× throughput',
      pass: raw / ours >= 0.9,
    });
    markWorker(label);
    return { ...last!, oursS: ours };
  }

  const peers: Record<string, number> = {};
  let worker0 = 0;
  try {
    worker = await startWorker(cli, cfgFile, join(tmp, 'worker.log'));
    worker0 = worker.peakKiB();
    say(`worker pid ${worker.pid} polling (RSS ${(worker0 / 1024).toFixed(0)} MiB at start)`);

    const needMain = rows.has('full') || rows.has('incr') || rows.has('restore') || opt.peers;
    if (needMain) {
      if (rows.has('full')) {
        const f = await fullRow('full', main, sizes.full);
        mainFull = f;
        peers.oursFull = f.oursS;
      } else {
        await createImage(main, sizes.full);
        await rbd('snap', 'create', '--no-progress', `${main}@${BASE}`);
        const r = await backup([main], 'full');
        mainFull = { name: r.name, file: r.out.images[0]!.file!, snapshot: r.out.images[0]!.snapshot! };
      }
    }

    if (rows.has('incr')) {
      say(`incr: 2% of the 4 KiB blocks of ${main} rewritten with random data per round`);
      const writes = join(tmp, 'writes.diff');
      let rawPrev = 'bench-raw-0';
      let rawN = 0;
      await rbd('snap', 'create', '--no-progress', `${main}@${rawPrev}`);
      const runs: { s: number; launched: number; exited: number; workflowId: string; runId: string }[] = [];
      const t = await rounds(
        {
          'rbd snap create + export-diff': async () => {
            const next = `bench-raw-${++rawN}`;
            const s = await timed(async () => {
              await rbd('snap', 'create', '--no-progress', `${main}@${next}`);
              await rbd('export-diff', '--no-progress', '--from-snap', rawPrev, `${main}@${next}`, rawFile);
            });
            await rm(rawFile, { force: true });
            await rbd('snap', 'rm', '--no-progress', `${main}@${rawPrev}`);
            rawPrev = next;
            return s;
          },
          'rbd-backup run': async () => {
            const r = await backup([main], 'incr');
            const i = r.out.images[0]!;
            mainIncr.push({ name: r.name, file: i.file!, snapshot: i.snapshot! });
            runs.push({ s: r.s, launched: r.launched, exited: r.exited, workflowId: r.out.workflowId, runId: '' });
            return r.s;
          },
        },
        async () => {
          const n = await randomWritesFile(writes, sizes.full * MiB, 0.02);
          await rbd('import-diff', '--no-progress', writes, main);
          await rm(writes);
          say(`  ${n} random 4 KiB blocks written`);
        },
      );
      const ours = median(t['rbd-backup run']!);
      const raw = median(t['rbd snap create + export-diff']!);
      results.push({ row: 'incremental 2% of 4 KiB blocks', ours, raw, rawLabel: 'rbd snap create + export-diff', measure: `+${(ours - raw).toFixed(2)} s over raw`, goal: '≤ raw + 0.50 s', pass: ours <= raw + 0.5 });
      markWorker('incr');
      // The run whose time is the median: where its time went, step by step.
      const mid = [...runs].sort((a, b) => a.s - b.s)[runs.length >> 1]!;
      const steps = await traceWorkflow(client, mid.workflowId, undefined, mid.launched);
      traces.push({ label: `incremental run ${mid.workflowId} (${mid.s.toFixed(2)} s)`, text: formatTrace(steps, mid.exited - mid.launched), steps });
    }

    if (rows.has('restore')) {
      const target = `${POOL}/bench-restored`;
      const rawTarget = `${POOL}/bench-raw-restored`;
      const restoreRow = async (label: string, at: string, chain: { file: string; snapshot: string }[]) => {
        say(`${label}: restore of ${at} (${chain.length} file(s))`);
        const files = chain.map((c) => locate(c.file));
        const t = await rounds({
          [chain.length > 1 ? 'rbd import + import-diff' : 'rbd import']: async () => {
            const s = await timed(async () => {
              await rbd('import', '--no-progress', files[0]!, rawTarget);
              if (files.length > 1) await rbd('snap', 'create', '--no-progress', `${rawTarget}@${chain[0]!.snapshot}`);
              for (const f of files.slice(1)) await rbd('import-diff', '--no-progress', f, rawTarget);
            });
            await removeImage(rawTarget);
            return s;
          },
          'rbd-backup restore': async () => {
            const r = await cliJson(['restore', main, '--at', at, '--to', target]);
            await removeImage(target);
            return r.s;
          },
        });
        const [rawKey, oursKey] = Object.keys(t) as [string, string];
        const ours = median(t[oursKey]!);
        const raw = median(t[rawKey]!);
        results.push({ row: label, ours, raw, rawLabel: rawKey, measure: `${(raw / ours).toFixed(2)}× raw throughput`, goal: '≥ 0.90× throughput', pass: raw / ours >= 0.9 });
        return ours;
      };
      peers.oursRestore = await restoreRow(`restore full ${sizes.full} MiB`, mainFull!.name, [mainFull!]);
      if (mainIncr.length) await restoreRow(`restore full + ${mainIncr.length} diff(s)`, mainIncr.at(-1)!.name, [mainFull!, ...mainIncr]);
      markWorker('restore');
    }

    if (opt.peers) {
      say(`peers: Benji 0.17 on ${main}@${BASE}`);
      const b = await benjiRounds({ repo, tmp, ceph: svc.ceph, pool: POOL, image: 'bench-main', snapshot: BASE, rounds: ROUNDS, rbd });
      if ('error' in b) results.push({ row: 'Benji 0.17 side by side', measure: b.error, goal: '≥ 5× Benji', pass: undefined });
      else {
        const oursFull = peers.oursFull ?? (await timed(async () => (await forget([main]), await backup([main], 'full'))));
        results.push({ row: `vs Benji: full backup ${sizes.full} MiB`, ours: oursFull, raw: b.backup, rawLabel: 'benji backup', measure: `${(b.backup / oursFull).toFixed(2)}× Benji's throughput`, goal: '≥ 5× Benji', pass: b.backup / oursFull >= 5 });
        if (peers.oursRestore !== undefined) {
          results.push({ row: `vs Benji: restore ${sizes.full} MiB`, ours: peers.oursRestore, raw: b.restore, rawLabel: 'benji restore --sparse', measure: `${(b.restore / peers.oursRestore).toFixed(2)}× Benji's throughput`, goal: '≥ 5× Benji', pass: b.restore / peers.oursRestore >= 5 });
        }
      }
    }
    if (needMain) await removeImage(main);

    if (rows.has('full-large')) {
      const large = `${POOL}/bench-large`;
      await fullRow('full-large', large, sizes.large);
      await removeImage(large);
    }

    if (rows.has('fleet')) {
      const images = Array.from({ length: sizes.fleet }, (_, i) => `${POOL}/bench-fleet-${String(i).padStart(3, '0')}`);
      say(`fleet: ${images.length} images × ${sizes.fleetMiB} MiB of random data, concurrency 2`);
      await mapLimit(images, 4, (s) => createImage(s, sizes.fleetMiB));
      const dir = join(tmp, 'raw-fleet');
      const t = await rounds({
        'sequential rbd snap create + export': async () => {
          mkdirSync(dir, { recursive: true });
          const s = await timed(async () => {
            for (const spec of images) {
              await rbd('snap', 'create', '--no-progress', `${spec}@bench-raw`);
              await rbd('export', '--no-progress', `${spec}@bench-raw`, join(dir, spec.replace('/', '_')));
            }
          });
          await rm(dir, { recursive: true, force: true });
          await mapLimit(images, 4, (spec) => rbd('snap', 'rm', '--no-progress', `${spec}@bench-raw`));
          return s;
        },
        'rbd-backup run': async () => {
          await forget(images);
          return (await backup(images, 'full')).s;
        },
      });
      const ours = median(t['rbd-backup run']!);
      const raw = median(t['sequential rbd snap create + export']!);
      results.push({ row: `fleet ${images.length} × ${sizes.fleetMiB} MiB`, ours, raw, rawLabel: 'sequential snap create + export', measure: `${(ours / raw).toFixed(2)}× raw time`, goal: '≤ 0.50× raw time', pass: ours <= 0.5 * raw });
      markWorker('fleet');
      await mapLimit(images, 4, removeImage);
    }

    if (rows.has('fleet-large')) {
      const images = Array.from({ length: sizes.many }, (_, i) => `${POOL}/bench-many-${String(i).padStart(4, '0')}`);
      // 1 MiB of random data in each 4 MiB image keeps the memstore OSD's RAM within reason.
      say(`fleet-large: ${images.length} images × ${sizes.manyMiB} MiB (1 MiB random data each), one run`);
      await mapLimit(images, 4, (s) => createImage(s, sizes.manyMiB, 1));
      const r = await backup(images, 'full');
      // Every workflow of the run: the run, its batches (if any), and each image's child.
      const batches = Math.ceil(images.length / 500);
      const ids = [runWorkflowId('ceph', r.name), ...(images.length > 500 ? Array.from({ length: batches }, (_, i) => `${runWorkflowId('ceph', r.name)}/batch-${i}`) : []), ...images.map((s) => imageWorkflowId('ceph', { pool: POOL, image: s.split('/')[1]! }))];
      const lengths = await mapLimit(ids, 8, async (id) => ({ id, n: (await client.workflow.getHandle(id).describe()).historyLength }));
      const largest = lengths.reduce((a, b) => (b.n > a.n ? b : a));
      results.push({ row: `fleet ${images.length} × ${sizes.manyMiB} MiB`, ours: r.s, measure: `largest history ${largest.n} events (${largest.id})`, goal: 'completes', pass: true });
      markWorker('fleet-large');
      if (opt.reuse) await mapLimit(images, 4, removeImage);
    }

    const peak = worker.peakKiB();
    results.push({ row: 'worker peak RSS (VmHWM)', measure: `${(peak / 1024).toFixed(0)} MiB (at start ${(worker0 / 1024).toFixed(0)} MiB); rbd children peak ${(worker.childPeakKiB() / 1024).toFixed(0)} MiB`, goal: '≤ 200 MiB', pass: peak <= 200 * 1024 });
  } finally {
    await worker?.stop().catch(() => undefined);
    await connection.close();
    if (!opt.reuse) await rm(tmp, { recursive: true, force: true });
    svc.down();
  }

  const summary = { date: new Date().toISOString(), rounds: ROUNDS, quick: opt.quick, sizes, results, workerPeakKiBAfterRow: workerAfter, ...(opt.trace ? { traces } : {}) };
  if (opt.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  printTable(results, ROUNDS);
  console.log(`worker VmHWM after each row: ${Object.entries(workerAfter).map(([k, v]) => `${k} ${(v / 1024).toFixed(0)} MiB`).join(', ')}`);
  if (opt.trace) for (const t of traces) console.log(`\nwhere the time of the ${t.label} went (offset from CLI launch, duration):\n${t.text}`);
}

if (!existsSync(cli)) throw new Error(`${cli} is missing: npm run build first`);
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
