/**
 * The only way from a workflow input to the backup disk. An input names a cluster and a
 * destination *key*; this worker's own config says which cluster it serves and what each key
 * means. Anything else is refused without retry: whoever reaches the Temporal port must not be
 * able to point the worker at another path or another cluster.
 */
import { access, constants, stat } from 'node:fs/promises';
import { Catalog } from '../src/catalog/catalog.js';
import { destinationPath, InputError, type Config } from '../src/config/config.js';
import { INPUT_ERROR } from '../src/contract/backup.js';
import { refuse } from './errors.js';

export function checkCluster(config: Config, cluster: string): void {
  if (cluster !== config.cluster.name) throw refuse(INPUT_ERROR, `request is for cluster ${cluster} but this worker serves cluster ${config.cluster.name}`);
}

export function catalogFor(config: Config, cluster: string, destination = 'default'): Catalog {
  checkCluster(config, cluster);
  try {
    return new Catalog(destinationPath(config, destination), cluster);
  } catch (e) {
    if (e instanceof InputError) throw refuse(INPUT_ERROR, e.message);
    throw e;
  }
}

/**
 * The destination must already be a writable directory. It is never created: a backup disk that
 * is not mounted must make runs fail loudly, not fill the root file system.
 */
export async function checkDestination(path: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw refuse(INPUT_ERROR, `backup destination ${path} does not exist: create it or mount the backup disk there (rbd-backup never creates it)`);
    throw e;
  });
  if (!st.isDirectory()) throw refuse(INPUT_ERROR, `backup destination ${path} is not a directory`);
  try {
    await access(path, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw refuse(INPUT_ERROR, `backup destination ${path} is read-only (EROFS): check how it is mounted`);
    if (code === 'EACCES' || code === 'EPERM') throw refuse(INPUT_ERROR, `backup destination ${path} is not writable by the worker (${code})`);
    throw e;
  }
}
