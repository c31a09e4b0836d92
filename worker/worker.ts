/**
 * Worker wiring: one process polls four task queues on one connection —
 *   <queue>            workflows and the short activities
 *   <queue>-export     exports, `backup.concurrency` at a time (the run's export fan-out bound)
 *   <queue>-snapshot   snapshot creation, a few at a time (see snapshotSlots)
 *   <queue>-snapdelete snapshot retention, a few at a time, and within it the deletions themselves
 *                      one at a time (activities/retention.ts: trims never pile up on the cluster)
 */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleOption, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../src/config/config.js';
import { Rbd } from '../src/rbd/rbd.js';
import { exportQueue, snapDeleteQueue, snapshotQueue } from '../src/contract/backup.js';
import { createActivities, type Activities } from '../activities/index.js';
import { HEARTBEAT_MS } from '../activities/errors.js';

export { workflowsPath } from './workflows-path.js';

/**
 * Open runs kept in memory between their tasks (see Worker.create below). Each holds its own
 * instance of the workflow modules, about 1 MiB of the workflow thread's heap (measured with 30
 * image children open): 250 would let a fleet run alone take the worker past 300 MiB. An evicted
 * run is replayed from its short history when it next has work.
 */
const WORKFLOW_CACHE = 32;

/**
 * The workflow bundle, made by a child process (./bundle.ts): bundling in the worker itself left
 * webpack's peak (~200 MiB) as the worker's high-water mark for its whole life.
 */
async function bundleInChild(): Promise<WorkflowBundleOption> {
  const r = await execa(process.execPath, [fileURLToPath(new URL('./bundle.js', import.meta.url))], {
    stdin: 'ignore',
    stderr: 'inherit',
    maxBuffer: 256 * 1024 * 1024,
    stripFinalNewline: false,
  });
  return { code: r.stdout };
}

/**
 * `rbd snap create` and retention's reads at once, per worker: as many as exports run (at least
 * two), so snapshots keep ahead of the exports that wait for them without a fleet's hundred
 * children each starting an rbd process together on a small host.
 */
export const snapshotSlots = (cfg: Config): number => Math.max(2, cfg.backup.concurrency);

let runtimeInstalled = false;
/**
 * Routes the Temporal runtime's own logs into our pino logger (once per process), with the
 * telemetry (the metrics endpoint, worker/metrics.ts) if any: only the first call can set it.
 */
export function installRuntimeLogger(logger: Logger, level: LogLevel = 'WARN', telemetryOptions?: TelemetryOptions): void {
  if (runtimeInstalled) {
    if (telemetryOptions) throw new Error('the Temporal runtime of this process is already installed: metrics must be set up before it');
    return;
  }
  Runtime.install({
    ...(telemetryOptions ? { telemetryOptions } : {}),
    logger: new DefaultLogger(level, (entry) => {
      const lvl = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
      logger[lvl]({ ...entry.meta, source: 'temporal' }, entry.message);
    }),
  });
  // Set after the install, which throws on a metrics address it cannot bind.
  runtimeInstalled = true;
}

export interface WorkerSetOptions {
  config: Config;
  logger: Logger;
  connection?: NativeConnection;
  /** Replaces the real activities: only for scale simulations with fakes, named as such. */
  activities?: Activities;
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: string;
}

export interface WorkerSet {
  run(): Promise<void>;
  shutdown(): void;
  connection: NativeConnection;
}

export async function createWorkerSet(o: WorkerSetOptions): Promise<WorkerSet> {
  const cfg = o.config;
  const connection = o.connection ?? (await NativeConnection.connect({ address: cfg.temporal.address }));
  const activities =
    o.activities ??
    createActivities({
      rbd: new Rbd({ conf: cfg.cluster.conf, keyring: cfg.cluster.keyring, user: cfg.cluster.user, opTimeoutSeconds: cfg.cluster.op_timeout_seconds }),
      config: cfg,
      logger: o.logger,
    });
  const common = {
    connection,
    namespace: cfg.temporal.namespace,
    activities,
    shutdownGraceTime: o.shutdownGraceTime ?? '30s',
  };
  const tq = cfg.temporal.task_queue;
  const workflowSource = { workflowBundle: o.workflowBundle ?? (await bundleInChild()) };
  const workers = await Promise.all([
    Worker.create({
      ...common,
      taskQueue: tq,
      ...workflowSource,
      // The SDK sizes its cache from the heap limit (~2,000 runs on a 24 GiB host), each cached run
      // holding its state in the worker's memory; a fleet run keeps every image child open at once.
      // An evicted run is replayed from its (short) history when it next has work.
      maxCachedWorkflows: WORKFLOW_CACHE,
    }),
    Worker.create({
      ...common,
      taskQueue: exportQueue(tq),
      maxConcurrentActivityTaskExecutions: cfg.backup.concurrency,
      // By default the SDK sends a heartbeat at most every 24 s (80 % of the 30 s heartbeat
      // timeout): `status` would show an export's bytes that old, and a cancel would wait as long
      // to reach rbd. Heartbeats are not history events; one every 2 s per export costs nothing.
      maxHeartbeatThrottleInterval: HEARTBEAT_MS,
    }),
    Worker.create({ ...common, taskQueue: snapshotQueue(tq), maxConcurrentActivityTaskExecutions: snapshotSlots(cfg) }),
    Worker.create({ ...common, taskQueue: snapDeleteQueue(tq), maxConcurrentActivityTaskExecutions: snapshotSlots(cfg) }),
  ]);
  return {
    connection,
    run: async () => {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
  };
}
