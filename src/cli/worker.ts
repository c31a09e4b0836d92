import { NativeConnection } from '@temporalio/worker';
import { checkClusterFiles } from '../config/config.js';
import { connect, ensureSearchAttributes, UnreachableError } from '../client/connection.js';
import { createLogger } from '../log/logger.js';
import { createWorkerSet, installRuntimeLogger } from '../../worker/worker.js';
import { EXIT_OK, configFrom } from './common.js';

export async function workerCommand(o: { config?: string }): Promise<number> {
  const cfg = configFrom(o);
  checkClusterFiles(cfg);
  const logger = createLogger(cfg.log.level);
  installRuntimeLogger(logger);
  const client = await connect(cfg.temporal.address);
  await ensureSearchAttributes(client, cfg.temporal.namespace);
  await client.close();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: cfg.temporal.address });
  } catch (e) {
    throw new UnreachableError(`Temporal server at ${cfg.temporal.address} is unreachable: ${(e as Error).message}`);
  }
  const set = await createWorkerSet({ config: cfg, logger, connection });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => set.shutdown());
  logger.info({ address: cfg.temporal.address, taskQueue: cfg.temporal.task_queue, cluster: cfg.cluster.name }, 'worker started');
  await set.run();
  await connection.close();
  logger.info('worker stopped');
  return EXIT_OK;
}
