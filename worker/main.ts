/**
 * Container entry point: `node dist/worker/main.js CONFIG` (or RBD_BACKUP_CONFIG) runs the worker.
 * Errors end the process with one line and the CLI's exit codes: 2 for a bad config, else 1.
 */
import './heap.js';
import { readConfigFile } from '../src/config/config-file.js';

const BAD_CONFIG = new Set(['InputError', 'NameError', 'UnreachableError']);
const config = process.argv[2] ?? process.env.RBD_BACKUP_CONFIG ?? '/etc/rbd-backup/config.yaml';
const load = () => {
  const file = readConfigFile(config);
  for (const w of file.warnings) process.stderr.write(`rbd-backup worker: warning: ${w}\n`);
  return file.config;
};
// run.js only now: see ./heap.ts.
import('./run.js').then(({ runWorker }) => runWorker(load())).then(
  () => process.exit(0),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`rbd-backup worker: ${err.message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(BAD_CONFIG.has(err.name) ? 2 : 1);
  },
);
