/**
 * Starting a worker process: the checks that make a bad config fail within seconds (cluster files,
 * the cluster itself, the namespace), then the worker set until SIGINT/SIGTERM. Used by the CLI's
 * `worker` command and by the container entry point (./main.ts).
 */
import { NativeConnection } from '@temporalio/worker';
import { checkClusterFiles, InputError, type Config } from '../src/config/config.js';
import { Rbd, RbdError } from '../src/rbd/rbd.js';
import { connect, UnreachableError } from '../src/client/connection.js';
import { ensureSearchAttributes } from '../src/client/admin.js';
import { createLogger } from '../src/log/logger.js';
import { createWorkerSet } from './worker.js';
import { installRuntime, seedLastSuccess } from './metrics.js';
import { resolveCredentials } from '../src/openstack/credentials.js';

export async function runWorker(cfg: Config): Promise<void> {
  checkClusterFiles(cfg);
  // A missing secret or clouds.yaml entry is said at start, not at the first scheduled run.
  if (cfg.openstack) resolveCredentials(cfg.openstack);
  await probeCluster(cfg);
  const logger = createLogger(cfg.log.level);
  installRuntime(logger, cfg);
  const client = await connect(cfg.temporal.address);
  try {
    await ensureSearchAttributes(client, cfg.temporal.namespace);
  } catch (e) {
    // The first call that names the namespace: a typo there is a config error, said now.
    const msg = (e as Error).message ?? String(e);
    if (/namespace/i.test(msg) && /not found/i.test(msg)) {
      throw new InputError(`temporal.namespace: namespace ${cfg.temporal.namespace} does not exist on ${cfg.temporal.address}`);
    }
    throw e;
  } finally {
    await client.close();
  }
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: cfg.temporal.address });
  } catch (e) {
    throw new UnreachableError(`Temporal server at ${cfg.temporal.address} is unreachable: ${(e as Error).message}`);
  }
  if (cfg.metrics.listen) {
    const seeded = await seedLastSuccess(cfg, logger);
    logger.info(seeded, 'last-success gauge seeded from the catalogs');
  }
  const set = await createWorkerSet({ config: cfg, logger, connection });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => set.shutdown());
  logger.info({ address: cfg.temporal.address, taskQueue: cfg.temporal.task_queue, cluster: cfg.cluster.name }, 'worker started');
  await set.run();
  await connection.close();
  logger.info('worker stopped');
}

/**
 * A worker that cannot reach its cluster would only fail every run later: a wrong mon address or
 * a refused cephx user is a config error, said within seconds. (A cluster that goes away after
 * start-up is a different matter: runs retry against it.)
 */
async function probeCluster(cfg: Config): Promise<void> {
  const probe = new Rbd({ conf: cfg.cluster.conf, keyring: cfg.cluster.keyring, user: cfg.cluster.user, opTimeoutSeconds: Math.min(10, cfg.cluster.op_timeout_seconds) });
  try {
    await probe.fsid();
  } catch (e) {
    if (!(e instanceof RbdError)) throw e;
    const why = e.stderr.trim().split('\n').filter(Boolean).at(-1) ?? e.message;
    throw new InputError(`cluster ${cfg.cluster.name}: cannot reach it as client.${cfg.cluster.user} with ${cfg.cluster.conf}: ${why}`);
  }
}
