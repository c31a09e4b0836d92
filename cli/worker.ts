import '../worker/heap.js';
import { EXIT_OK, configFrom } from './common.js';

export async function workerCommand(o: { config?: string }): Promise<number> {
  // Loaded only now: the heap flags above must be set before the worker's modules fill the heap.
  const { runWorker } = await import('../worker/run.js');
  await runWorker(configFrom(o));
  return EXIT_OK;
}
