/**
 * What the bench runs against: its own throwaway Ceph cluster and Temporal dev server (the same
 * scripts the test suite uses, on the bench's own ports), and a real `rbd-backup worker` process
 * whose peak RSS is read from /proc, with its `rbd` children watched separately.
 */
import { execa, execaSync, type ResultPromise } from 'execa';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface CephInfo {
  conf: string;
  keyring: string;
  user: string;
  cluster: string;
  dir: string;
}
export interface TemporalInfo {
  address: string;
}
export interface Services {
  ceph: CephInfo;
  temporal: TemporalInfo;
  env: NodeJS.ProcessEnv;
  down(): void;
}

export const say = (m: string) => process.stderr.write(`bench: ${m}\n`);

/**
 * Up both services under runDir. With `reuse` a cluster and server already up there are kept (and
 * left up afterwards); otherwise a stale pair is wiped first and everything is wiped at the end.
 */
export async function bringUp(repo: string, runDir: string, reuse: boolean, osdBytes: number): Promise<Services> {
  const env = {
    ...process.env,
    // The bench's own ports by default, so it never meets the test suite's cluster.
    CEPH_DEV_MON_V2_PORT: process.env.CEPH_DEV_MON_V2_PORT ?? '23300',
    CEPH_DEV_MON_V1_PORT: process.env.CEPH_DEV_MON_V1_PORT ?? '26789',
    TEMPORAL_DEV_PORT: process.env.TEMPORAL_DEV_PORT ?? '27233',
    TEMPORAL_DEV_UI_PORT: process.env.TEMPORAL_DEV_UI_PORT ?? '28233',
    CEPH_DEV_OSD_BYTES: String(osdBytes),
  };
  const script = (s: string) => join(repo, 'scripts', s);
  const cephDir = join(runDir, 'ceph');
  const temporalDir = join(runDir, 'temporal');
  const downAll = () => {
    execaSync(script('temporal-dev'), ['down', temporalDir, '--wipe'], { env, stdout: 'ignore', stderr: 'ignore', reject: false });
    execaSync(script('ceph-dev'), ['down', cephDir, '--wipe'], { env, stdout: 'ignore', stderr: 'ignore', reject: false });
  };
  if (!reuse) downAll();
  const t0 = performance.now();
  const [c, t] = await Promise.all([
    execa(script('ceph-dev'), ['up', cephDir], { env, stderr: 'ignore' }),
    execa(script('temporal-dev'), ['up', temporalDir], { env, stderr: 'ignore' }),
  ]);
  say(`cluster and dev server up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${cephDir}, ${temporalDir})`);
  return {
    ceph: JSON.parse(c.stdout) as CephInfo,
    temporal: JSON.parse(t.stdout) as TemporalInfo,
    env,
    down: () => {
      if (!reuse) downAll();
    },
  };
}

const hwm = (pid: number): number | undefined => {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
};

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

export interface BenchWorker {
  pid: number;
  /** The worker process's own peak RSS (VmHWM), KiB: what the ≤ 200 MiB goal is about. */
  peakKiB(): number;
  /** The largest peak RSS of any child (`rbd`) seen so far, KiB. */
  childPeakKiB(): number;
  stop(): Promise<void>;
}

/** `rbd-backup worker` as operators run it; resolves once it polls. Its log goes to logFile. */
export async function startWorker(cli: string, configFile: string, logFile: string): Promise<BenchWorker> {
  const child: ResultPromise = execa(process.execPath, [cli, 'worker', '--config', configFile], { reject: false, stdin: 'ignore', all: true, buffer: false });
  const log = createWriteStream(logFile);
  let seen = '';
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`worker did not start within 60 s; see ${logFile}`)), 60_000);
    child.all!.on('data', (d: Buffer) => {
      log.write(d);
      if (seen.length < 100_000) seen += d.toString();
      if (seen.includes('"worker started"')) {
        clearTimeout(t);
        res();
      }
    });
    void child.then((r) => {
      clearTimeout(t);
      rej(new Error(`worker exited early (${r.exitCode}); see ${logFile}`));
    });
  });
  const pid = child.pid!;
  let childPeak = 0;
  let last = hwm(pid) ?? 0;
  // rbd children live for a fraction of a second to a minute: poll often, cheaply.
  const poll = setInterval(() => {
    last = hwm(pid) ?? last;
    for (const c of childrenOf(pid)) childPeak = Math.max(childPeak, hwm(c) ?? 0);
  }, 50);
  return {
    pid,
    peakKiB: () => (last = hwm(pid) ?? last),
    childPeakKiB: () => childPeak,
    stop: async () => {
      clearInterval(poll);
      child.kill('SIGTERM');
      await child;
      log.end();
    },
  };
}
