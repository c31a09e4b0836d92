/**
 * The only way from a workflow input to the backup disk. An input names a cluster and a
 * destination *key*; this worker's own config says which cluster it serves and what each key
 * means. Anything else is refused without retry: whoever reaches the Temporal port must not be
 * able to point the worker at another path or another cluster.
 */
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
