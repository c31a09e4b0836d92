/** Container entry point: `node dist/worker/main.js CONFIG` (or RBD_BACKUP_CONFIG) runs the worker. */
import { workerCommand } from '../src/cli/worker.js';
import { exitOnError } from '../src/cli/common.js';

const config = process.argv[2] ?? process.env.RBD_BACKUP_CONFIG ?? '/etc/rbd-backup/config.yaml';
workerCommand({ config }).then((code) => process.exit(code), exitOnError);
