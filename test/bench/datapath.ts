/**
 * Data-path benchmark: the export and restore activities (run in-process in a mock activity
 * context, no Temporal server: exactly the code a worker runs for one step) beside the raw rbd
 * commands they wrap, in the same invocation, on a throwaway cluster and an image of random data.
 * Prints ours/raw ratios of medians over alternating rounds; never asserts on time.
 *
 *   node dist/test/bench/datapath.js [--mib 1024] [--rounds 3] [--ops export,restore] [--ceph DIR] [--keep] [--json]
 *
 * raw full export  = `rbd export SNAP FILE` + fsync(FILE)       ours = exportPoint (full)
 * raw diff export  = `rbd export-diff` + fsync                  ours = exportPoint (incr)
 * raw restore full = `rbd import FILE IMG`                      ours = planRestore + importFull + finishRestore
 * raw restore f+d  = `rbd import` + `rbd snap create` + `rbd import-diff`   ours = … + applyDiff + …
 * Our steps' own times are printed too, so a ratio can be read as where the time goes.
 */
import { execa, execaSync } from 'execa';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { Rbd } from '../../src/rbd/rbd.js';
import { configSchema } from '../../src/config/config.js';
import { createExportActivities } from '../../activities/export.js';
import { createRestoreActivities } from '../../activities/restore.js';
import type { ExportResult, ImagePlan } from '../../src/contract/backup.js';
import type { RestorePlan } from '../../src/contract/restore.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { values: opt } = parseArgs({
  options: {
    ceph: { type: 'string', default: join(repo, '.run', 'datapath', 'ceph') },
    mib: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    ops: { type: 'string', default: 'export,restore' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const MIB = Number(opt.mib);
const ROUNDS = Number(opt.rounds);
const OPS = new Set(opt.ops.split(','));
const MiB = 1024 * 1024;
const say = (m: string) => process.stderr.write(`datapath: ${m}\n`);
const S1 = 'rbdbackup-20000101T000000Z';
const S2 = 'rbdbackup-20000102T000000Z';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const seconds = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};
async function fsync(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** One comparison: a raw and an our side, each returning the sha256 it produced (or '' when none). */
interface Op {
  name: string;
  bytes: () => number;
  raw: () => Promise<string>;
  ours: (steps: Record<string, number>) => Promise<string>;
  expect: () => string | undefined;
  after?: () => Promise<unknown>;
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CEPH_DEV_OSD_BYTES: String(Math.max(4096, MIB * 4 + 1024) * MiB),
  };
  const ceph = join(repo, 'scripts', 'ceph-dev');
  await mkdir(join(repo, '.run', 'datapath'), { recursive: true });
  const tmp = await mkdtemp(join(repo, '.run', 'datapath', 'tmp-'));
  say(`cluster in ${opt.ceph} (mon ports ${env.CEPH_DEV_MON_V2_PORT ?? 3300}/${env.CEPH_DEV_MON_V1_PORT ?? 6789})`);
  const c = JSON.parse((await execa(ceph, ['up', opt.ceph], { env, stderr: 'inherit' })).stdout) as { conf: string; keyring: string; user: string };
  const down = () => {
    rmSync(tmp, { recursive: true, force: true });
    if (!opt.keep) execaSync(ceph, ['down', opt.ceph, '--wipe'], { env, stdout: 'ignore', stderr: 'inherit' });
  };
  const conn = ['--conf', c.conf, '--keyring', c.keyring, '--id', c.user];
  const rbdRaw = (...a: string[]) => execa('rbd', [...conn, ...a], { stdin: 'ignore' });
  const rbd = new Rbd({ conf: c.conf, keyring: c.keyring, user: c.user, opTimeoutSeconds: 120 });
  const ref = { pool: 'rbd', image: `datapath-${randomBytes(3).toString('hex')}` };
  const spec = `${ref.pool}/${ref.image}`;
  const target = { pool: 'rbd', image: `${ref.image}-restored` };
  const targetSpec = `${target.pool}/${target.image}`;
  const purge = async (r: { pool: string; image: string }) => {
    await rbd.snapPurge(r).catch(() => undefined);
    await rbd.remove(r).catch(() => undefined);
  };
  try {
    // An image of random data (never `rbd bench` data), S1, 2% of its 4 KiB blocks rewritten, S2.
    say(`creating a ${MIB} MiB image of random data`);
    const source = join(tmp, 'source.img');
    const h = createHash('sha256');
    const fh = await open(source, 'w');
    for (let off = 0; off < MIB * MiB; off += 4 * MiB) {
      const chunk = randomBytes(Math.min(4 * MiB, MIB * MiB - off));
      h.update(chunk);
      await fh.write(chunk);
    }
    await fh.close();
    const sourceSha = h.digest('hex');
    await rbdRaw('import', '--no-progress', source, spec);
    await rm(source);
    await rbd.snapCreate(ref, S1);
    const blocks = (MIB * MiB) / 4096;
    const picked = new Set<number>();
    while (picked.size < Math.round(blocks * 0.02)) picked.add(randomInt(0, blocks));
    const writes = join(tmp, 'writes.diff');
    const wf = await open(writes, 'w');
    await wf.write(Buffer.from('rbd diff v1\n', 'latin1'));
    for (const b of picked) {
      const rec = Buffer.alloc(17 + 4096);
      rec.write('w', 0, 'latin1');
      rec.writeBigUInt64LE(BigInt(b * 4096), 1);
      rec.writeBigUInt64LE(4096n, 9);
      randomBytes(4096).copy(rec, 17);
      await wf.write(rec);
    }
    await wf.write(Buffer.from('e', 'latin1'));
    await wf.close();
    await rbdRaw('import-diff', '--no-progress', writes, spec);
    await rm(writes);
    await rbd.snapCreate(ref, S2);
    const s2Sha = await rbd.sha256(ref, S2);

    // Each round exports into a fresh destination (a recorded point would be returned as done);
    // the restores read the newest one.
    let round = 0;
    const destOf = (n: number) => join(tmp, `dest-${n}`);
    const config = configSchema.parse({ cluster: { name: 'ceph', conf: c.conf, keyring: c.keyring, user: c.user }, backup: { destination: destOf(0) } });
    const logger = pino({ level: 'warn' });
    const { exportPoint } = createExportActivities({ rbd, config, logger });
    const restoreActs = createRestoreActivities({ rbd, config, logger });
    const plan = (diff: boolean): ImagePlan & { workflowId: string } => ({
      ...ref, cluster: 'ceph', destination: 'default', backupName: diff ? 'b2' : 'b1', runTime: new Date().toISOString(), type: diff ? 'incr' : 'full',
      reason: 'bench', snapshot: diff ? S2 : S1, ...(diff ? { fromSnapshot: S1 } : {}), circle: S1, estimatedBytes: 0, sizeBytes: MIB * MiB,
      snapshotRetainCount: 1, circleRetainCount: 1, exportMinBytesPerSecond: MiB, parentWorkflowId: 'bench', workflowId: 'bench',
    });
    const exported = async (diff: boolean, steps: Record<string, number>): Promise<string> => {
      await mkdir(config.backup.destination, { recursive: true });
      let sha = '';
      steps.exportPoint = await seconds(async () => (sha = ((await new MockActivityEnvironment().run(exportPoint, plan(diff))) as ExportResult).sha256));
      return sha;
    };
    const rawFile = join(tmp, 'raw.out');
    const rawExport = async (args: string[]): Promise<string> => {
      await rbdRaw(...args, rawFile);
      await fsync(rawFile);
      return '';
    };
    /** The restore workflow's activities, in its order, for one execution (its own staging name). */
    const restored = async (at: string, steps: Record<string, number>): Promise<string> => {
      const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'bench-restore', runId: randomBytes(8).toString('hex') } });
      let p!: RestorePlan;
      steps.planRestore = await seconds(async () => (p = (await env.run(restoreActs.planRestore, { cluster: 'ceph', source: ref, at, target, force: false, keepSnapshots: false })) as RestorePlan));
      const step = (link: RestorePlan['chain'][number]) => ({ cluster: 'ceph', source: ref, target, link });
      steps.importFull = await seconds(() => env.run(restoreActs.importFull, step(p.chain[0]!)));
      steps.applyDiff = 0;
      for (const link of p.chain.slice(1)) steps.applyDiff += await seconds(() => env.run(restoreActs.applyDiff, step(link)));
      // As `rbd-backup restore` without --check-image: the image is not read back (see below).
      steps.finishRestore = await seconds(() => env.run(restoreActs.finishRestore, { target, keepSnapshots: false, snapshots: p.chain.map((l) => l.snapshot), force: false }));
      return '';
    };
    const fileOf = (name: string) => join(config.backup.destination, 'ceph', ref.pool, ref.image, S1, name);
    const fullFile = () => fileOf(`${S1}.full`);
    let diffBytes = 0;
    const ops: Op[] = [];
    if (OPS.has('export')) {
      ops.push(
        { name: 'full export', bytes: () => MIB * MiB, raw: () => rawExport(['export', '--no-progress', `${spec}@${S1}`]), ours: (s) => exported(false, s), expect: () => sourceSha, after: () => rm(rawFile, { force: true }) },
        {
          name: 'diff export', bytes: () => diffBytes, raw: () => rawExport(['export-diff', '--no-progress', '--from-snap', S1, `${spec}@${S2}`]), ours: (s) => exported(true, s), expect: () => undefined,
          after: async () => {
            diffBytes = (await stat(rawFile)).size;
            await rm(rawFile, { force: true });
          },
        },
      );
    }
    if (OPS.has('restore')) {
      const rawRestore = async (diff: boolean): Promise<string> => {
        const names = await readdir(join(config.backup.destination, 'ceph', ref.pool, ref.image, S1));
        await rbdRaw('import', '--no-progress', fullFile(), targetSpec);
        if (diff) {
          await rbdRaw('snap', 'create', '--no-progress', `${targetSpec}@${S1}`);
          await rbdRaw('import-diff', '--no-progress', fileOf(names.find((n) => n.endsWith('.diff'))!), targetSpec);
        }
        return '';
      };
      ops.push(
        { name: 'restore full', bytes: () => MIB * MiB, raw: () => rawRestore(false), ours: (s) => restored(S1, s), expect: () => sourceSha, after: () => purge(target) },
        { name: 'restore full+diff', bytes: () => MIB * MiB + diffBytes, raw: () => rawRestore(true), ours: (s) => restored(S2, s), expect: () => s2Sha, after: () => purge(target) },
      );
    }
    // The restores need a backup to read: one export round first when only restores are asked for.
    if (!OPS.has('export')) {
      await exported(false, {});
      await exported(true, {});
    }
    const samples = ops.map(() => ({ raw: [] as number[], ours: [] as number[], steps: [] as Record<string, number>[] }));
    for (round = 0; round < ROUNDS; round++) {
      for (const [i, op] of ops.entries()) {
        const order = round % 2 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const);
        for (const who of order) {
          const steps: Record<string, number> = {};
          let sha = '';
          const s = await seconds(async () => (sha = who === 'raw' ? await op.raw() : await op.ours(steps)));
          if (who === 'raw') await op.after?.();
          else {
            // The restored image read back, untimed: the bench checks what the restore does not.
            if (op.name.startsWith('restore')) sha = await rbd.sha256(target, '');
            const want = op.expect();
            if (want && sha !== want) throw new Error(`${op.name}: sha256 ${sha}, expected ${want}`);
            if (op.name.startsWith('restore')) await purge(target);
          }
          samples[i]![who].push(s);
          if (who === 'ours') samples[i]!.steps.push(steps);
          say(`round ${round + 1}/${ROUNDS} ${op.name} ${who}: ${s.toFixed(2)} s ${who === 'ours' ? JSON.stringify(Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, +v.toFixed(2)]))) : ''}`);
        }
      }
      // A fresh destination for the next round's exports; the restores read this round's.
      if (OPS.has('export') && round < ROUNDS - 1) {
        await rm(config.backup.destination, { recursive: true, force: true });
        config.backup.destination = destOf(round + 1);
      }
    }
    const results = ops.map((op, i) => {
      const { raw, ours, steps } = samples[i]!;
      const rawS = median(raw);
      const oursS = median(ours);
      const mib = op.bytes() / MiB;
      const stepNames = Object.keys(steps[0] ?? {});
      return {
        op: op.name, mib: +mib.toFixed(1), rawS: +rawS.toFixed(3), oursS: +oursS.toFixed(3),
        throughputRatio: +(rawS / oursS).toFixed(3), rawMiBps: +(mib / rawS).toFixed(0), oursMiBps: +(mib / oursS).toFixed(0),
        steps: Object.fromEntries(stepNames.map((n) => [n, +median(steps.map((s) => s[n] ?? 0)).toFixed(3)])),
      };
    });
    if (!opt.json) {
      const head = ['operation', 'MiB', 'raw s', 'ours s', 'throughput ours/raw', 'raw MiB/s', 'ours MiB/s', 'our steps (median s)'];
      const rows = results.map((r) => [r.op, String(r.mib), r.rawS.toFixed(2), r.oursS.toFixed(2), r.throughputRatio.toFixed(2), String(r.rawMiBps), String(r.oursMiBps), Object.entries(r.steps).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')]);
      const w = head.map((x, i) => Math.max(x.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) console.log(r.map((x, i) => (i ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join('  '));
      console.log(`medians of ${ROUNDS} alternating rounds, ${MIB} MiB random image, ${picked.size} random 4 KiB blocks changed between the snapshots; ratio ≥ 1 means ours is as fast as raw`);
    }
    console.log(JSON.stringify({ mib: MIB, rounds: ROUNDS, results }));
  } finally {
    await purge(target);
    await purge(ref);
    down();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
