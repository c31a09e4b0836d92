import { runWorker } from '../worker/run.js';
import { EXIT_OK, configFrom } from './common.js';

export async function workerCommand(o: { config?: string }): Promise<number> {
  await runWorker(configFrom(o));
  return EXIT_OK;
}
