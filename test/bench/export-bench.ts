/**
 * Export/restore benchmark: the project's export step (the real `exportPoint` activity, run in a
 * mock activity context without a Temporal server: temp file, rbd export, fsync, sha256, rename,
 * manifest and catalog writes) against the raw `rbd` + `sha256sum` an operator would script, on a throwaway cluster,
 * in the same invocation. Prints ratios ours/raw (medians over alternating rounds), never asserts
 * on time.
 *
 *   npm run bench -- [--mib 1024] [--rounds 3] [--ceph DIR] [--keep] [--json]
 */
import { execa, execaSync } from 'execa';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rbd } from '../../src/rbd/rbd.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { configSchema } from '../../src/config/config.js';
import { createExportActivities } from '../../activities/export.js';
import type { ExportResult, ImagePlan } from "../../src/contract/backup.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { values: opt } = parseArgs({
  options: {
    ceph: { type: 'string', default: join(repo, '.run', 'bench', 'ceph') },
    mib: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const MIB = Number(opt.mib);
const ROUNDS = Number(opt.rounds);
const cephDir = resolve(opt.ceph);
const say = (m: string) => process.stderr.write(`bench: ${m}\n`);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const KiB = 1024;
const MiB = 1024 * 1024;
/** Two snapshots named as a backup run names its own, so the catalog accepts them. */
const S1 = 'rbdbackup-20000101T000000Z';
const S2 = 'rbdbackup-20000102T000000Z';

/** Peak VmHWM (KiB) of our direct children, polled from /proc while the returned stop() is pending. */
function watchChildren(): () => number {
  let peak = 0;
  const poll = () => {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      let kids: string[] = [];
      try { kids = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean); } catch { /* gone */ }
      for (const pid of kids) {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]));
        } catch { /* exited */ }
      }
    }
  };
  const t = setInterval(poll, 20);
  return () => (clearInterval(t), poll(), peak);
}

/** A raw command: its stdout and peak RSS in KiB (from /usr/bin/time, else /proc polling). */
async function raw(cmd: string, args: string[]): Promise<{ out: string; rss: number }> {
  if (!TIME) {
    const stop = watchChildren();
    const r = await execa(cmd, args, { stdin: 'ignore' }).finally(stop);
    return { out: r.stdout, rss: stop() };
  }
  const r = await execa(TIME, ['-f', '%M', cmd, ...args], { stdin: 'ignore' });
  return { out: r.stdout, rss: Number(r.stderr.trim().split('\n').at(-1)) };
}

interface Sample { s: number; rss: number; node?: number; sha?: string }
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const env = {
    ...process.env,
    CEPH_DEV_MON_V2_PORT: process.env.CEPH_DEV_MON_V2_PORT ?? '33300',
    CEPH_DEV_MON_V1_PORT: process.env.CEPH_DEV_MON_V1_PORT ?? '36789',
    CEPH_DEV_OSD_BYTES: '6442450944',
  };
  const ceph = join(repo, 'scripts', 'ceph-dev');
  await mkdir(join(repo, '.run', 'bench'), { recursive: true });
  const tmp = await mkdtemp(join(repo, '.run', 'bench', 'tmp-'));
  let up = false;
  const down = () => {
    rmSync(tmp, { recursive: true, force: true });
    if (up && !opt.keep) execaSync(ceph, ['down', cephDir, '--wipe'], { env, stdout: 'ignore', stderr: 'inherit' });
    up = false;
  };
  process.once('SIGINT', () => (down(), process.exit(130)));
  say(`starting cluster in ${cephDir}`);
  up = true;
  const c = JSON.parse((await execa(ceph, ['up', cephDir], { env, stderr: 'inherit' })).stdout) as { conf: string; keyring: string; user: string };
  const conn = ['--conf', c.conf, '--keyring', c.keyring, '--id', c.user];
  const rbd = new Rbd({ conf: c.conf, keyring: c.keyring, user: c.user, opTimeoutSeconds: 60 });
  const ref = { pool: 'rbd', image: `bench-${randomBytes(3).toString('hex')}` };
  const spec = `${ref.pool}/${ref.image}`;
  const restored = { pool: 'rbd', image: `${ref.image}-restore` };
  const rbdRaw = (...a: string[]) => raw('rbd', [...conn, ...a]);
  try {
    // 1. A random image (written in 4 MiB chunks, hashed on the way), S1, ~5% random 4 KiB writes, S2.
    say(`creating ${MIB} MiB random image ${spec}`);
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
    await rbd.snapCreate(ref, S1);
    const blocks = (MIB * MiB) / (4 * KiB);
    const picked = new Set<number>();
    while (picked.size < Math.round(blocks * 0.05)) picked.add(randomInt(0, blocks));
    const writes = join(tmp, 'writes.diff');
    const wf = await open(writes, 'w');
    await wf.write(Buffer.from('rbd diff v1\n', 'latin1'));
    const list = [...picked];
    for (let i = 0; i < list.length; i += 256) {
      const batch = list.slice(i, i + 256);
      const buf = Buffer.alloc(batch.length * (17 + 4 * KiB));
      const data = randomBytes(batch.length * 4 * KiB);
      batch.forEach((b, j) => {
        const at = j * (17 + 4 * KiB);
        buf.write('w', at, 'latin1');
        buf.writeBigUInt64LE(BigInt(b * 4 * KiB), at + 1);
        buf.writeBigUInt64LE(BigInt(4 * KiB), at + 9);
        data.copy(buf, at + 17, j * 4 * KiB, (j + 1) * 4 * KiB);
      });
      await wf.write(buf);
    }
    await wf.write(Buffer.from('e', 'latin1'));
    await wf.close();
    await rbdRaw('import-diff', '--no-progress', writes, spec);
    await rm(writes);
    await rbd.snapCreate(ref, S2);
    say(`wrote ${picked.size} random 4 KiB blocks between s1 and s2`);

    // 2. The operations: each returns a sample; outputs are removed (untimed) afterwards.
    // The real export step. Each round writes into a fresh destination: a recorded point would
    // otherwise be returned as already done.
    const config = configSchema.parse({ cluster: { name: 'ceph', conf: c.conf, keyring: c.keyring, user: c.user }, backup: { destination: join(tmp, 'dest-0') } });
    const dest = () => config.backup.destination;
    const { exportPoint } = createExportActivities({ rbd, config, logger: pino({ level: 'warn' }) });
    const plan = (diff: boolean): ImagePlan & { workflowId: string } => ({
      ...ref, cluster: 'ceph', destination: 'default', backupName: diff ? 'b2' : 'b1', runTime: new Date().toISOString(), type: diff ? 'incr' : 'full',
      reason: 'bench', snapshot: diff ? S2 : S1, ...(diff ? { fromSnapshot: S1 } : {}), circle: S1, estimatedBytes: 0, sizeBytes: MIB * MiB,
      snapshotRetainCount: 1, circleRetainCount: 1, exportMinBytesPerSecond: MiB, parentWorkflowId: 'bench', workflowId: 'bench',
    });
    const ours = async (diff: boolean): Promise<string> => {
      await mkdir(dest(), { recursive: true });
      const r: ExportResult = await new MockActivityEnvironment().run(exportPoint, plan(diff));
      return r.sha256;
    };
    const rawExport = async (diff: boolean): Promise<{ sha: string; rss: number }> => {
      const file = join(tmp, diff ? 'raw.diff' : 'raw.full');
      const a = diff
        ? await rbdRaw('export-diff', '--no-progress', '--from-snap', S1, `${spec}@${S2}`, file)
        : await rbdRaw('export', '--no-progress', `${spec}@${S1}`, file);
      const b = await raw('sha256sum', [file]);
      return { sha: b.out.split(' ')[0]!, rss: Math.max(a.rss, b.rss) };
    };
    const timed = async (f: () => Promise<{ sha?: string; rss?: number }>, child = false): Promise<Sample> => {
      const stop = child ? watchChildren() : undefined;
      const t0 = performance.now();
      const r = await f();
      const s = (performance.now() - t0) / 1000;
      return { s, rss: stop ? stop() : r.rss ?? 0, node: child ? process.resourceUsage().maxRSS : undefined, sha: r.sha };
    };
    let diffBytes = 0;
    let rounds = 0;
    const ops: { name: string; bytes: () => number; raw: () => Promise<Sample>; ours: () => Promise<Sample>; after: () => Promise<unknown> }[] = [
      { name: 'full export+sha256', bytes: () => MIB * MiB, raw: () => timed(() => rawExport(false)), ours: () => timed(async () => ({ sha: await ours(false) }), true),
        after: () => rm(join(tmp, 'raw.full'), { force: true }) },
      { name: 'diff export+sha256', bytes: () => diffBytes, raw: () => timed(() => rawExport(true)), ours: () => timed(async () => ({ sha: await ours(true) }), true),
        after: async () => {
          diffBytes = (await stat(join(tmp, 'raw.diff'))).size;
          await rm(join(tmp, 'raw.diff'), { force: true });
          await rm(dest(), { recursive: true, force: true });
          config.backup.destination = join(tmp, `dest-${++rounds}`);
        } },
      { name: 'restore (rbd import)', bytes: () => MIB * MiB,
        raw: async () => { const s = await timed(() => rbdRaw('import', '--no-progress', source, `${restored.pool}/${restored.image}`)); await rbd.remove(restored); return s; },
        ours: async () => { const s = await timed(() => rbd.importFull(source, restored).then(() => ({})), true); await rbd.remove(restored); return s; },
        after: async () => {} },
    ];
    const nodeBaselineMaxRssKiB = process.resourceUsage().maxRSS; // after setup, before any measured op
    const samples = ops.map(() => ({ raw: [] as Sample[], ours: [] as Sample[] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, op] of ops.entries()) {
        const order = round % 2 ? (['ours', 'raw'] as const) : (['raw', 'ours'] as const);
        for (const who of order) {
          const s = await op[who]();
          samples[i]![who].push(s);
          say(`round ${round + 1}/${ROUNDS} ${op.name} ${who}: ${s.s.toFixed(2)} s, rss ${(s.rss / KiB).toFixed(0)} MiB`);
        }
        const last = samples[i]!;
        const want = op.name.startsWith('full') ? sourceSha : last.raw.at(-1)!.sha;
        if (last.raw.at(-1)!.sha !== want || last.ours.at(-1)!.sha !== want) throw new Error(`${op.name}: checksums differ`);
        await op.after();
      }
    }

    // 3. Report.
    const results = ops.map((op, i) => {
      const { raw: r, ours: o } = samples[i]!;
      const rawS = median(r.map((x) => x.s));
      const oursS = median(o.map((x) => x.s));
      const mibs = op.bytes() / MiB;
      return {
        op: op.name, mib: +mibs.toFixed(1), rawS: +rawS.toFixed(3), oursS: +oursS.toFixed(3), ratio: +(oursS / rawS).toFixed(3),
        rawMiBps: +(mibs / rawS).toFixed(1), oursMiBps: +(mibs / oursS).toFixed(1),
        rawPeakRssKiB: Math.max(...r.map((x) => x.rss)), oursRbdPeakRssKiB: Math.max(...o.map((x) => x.rss)),
        oursNodeMaxRssKiB: Math.max(...o.map((x) => x.node ?? 0)),
      };
    });
    const summary = { mib: MIB, rounds: ROUNDS, changedBlocks4k: picked.size, nodeBaselineMaxRssKiB, rssMethod: TIME ? '/usr/bin/time %M (raw), /proc VmHWM polling (our rbd child)' : '/proc VmHWM polling', results };
    if (!opt.json) {
      const head = ['operation', 'MiB', 'raw s', 'ours s', 'ours/raw', 'raw MiB/s', 'ours MiB/s', 'raw RSS MiB', 'ours rbd RSS MiB', 'ours node maxRSS MiB'];
      const rows = results.map((r) => [r.op, r.mib, r.rawS.toFixed(2), r.oursS.toFixed(2), r.ratio.toFixed(2), r.rawMiBps, r.oursMiBps,
        (r.rawPeakRssKiB / KiB).toFixed(0), (r.oursRbdPeakRssKiB / KiB).toFixed(0), (r.oursNodeMaxRssKiB / KiB).toFixed(0)].map(String));
      const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const r of [head, ...rows]) console.log(r.map((c, i) => (i ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  '));
      console.log(`medians of ${ROUNDS} rounds; raw = rbd CLI + sha256sum, ours = the exportPoint activity (export, fsync, sha256, rename, manifest, catalog); node maxRSS includes the Node baseline (${(nodeBaselineMaxRssKiB / KiB).toFixed(0)} MiB before the first op)`);
    }
    console.log(JSON.stringify(summary));
  } finally {
    for (const r of [restored, ref]) {
      await rbd.snapPurge(r).catch(() => {});
      await rbd.remove(r).catch(() => {});
    }
    down();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
