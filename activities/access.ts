/**
 * The only way from a workflow input to the backup disk. An input names a cluster and a
 * destination *key*; this worker's own config says which cluster it serves and what each key
 * means. Anything else is refused without retry: whoever reaches the Temporal port must not be
 * able to point the worker at another path or another cluster.
 */
import { access, constants, lstat, stat } from 'node:fs/promises';
import { Catalog, UnsafePathError } from '../src/catalog/catalog.js';
import { clustersIn } from '../src/catalog/clusters.js';
import { destinationPath, InputError, type Config } from '../src/config/config.js';
import { INPUT_ERROR } from '../src/contract/backup.js';
import { REFUSED, type RestoreInput } from '../src/contract/restore.js';
import { LINK } from '../src/fs/safe-path.js';
import { imageKey } from '../src/names/names.js';
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

type RestoreSource = Pick<RestoreInput, 'cluster' | 'destination' | 'fromCluster'>;

/**
 * Where a restore reads its chain: this cluster's directory of the destination, or with
 * `fromCluster` the directory another cluster's backups are filed under (disaster recovery). The
 * request must still be for the cluster this worker serves, the one written into; the destination
 * is still a key of this worker's config, and the other cluster a plain name (one directory level,
 * no path). Only restore and verify read another cluster's backups: nothing writes or deletes there.
 */
export function restoreCatalogFor(config: Config, input: RestoreSource): Catalog {
  checkCluster(config, input.cluster);
  try {
    return new Catalog(destinationPath(config, input.destination), input.fromCluster ?? input.cluster);
  } catch (e) {
    if (e instanceof InputError || (e instanceof Error && e.name === 'NameError')) throw refuse(INPUT_ERROR, e.message);
    throw e;
  }
}

/**
 * `openSourceCatalog`, checked before anything is read: an image restored under its own name must
 * come from backups of another cluster, proven by the fsid in their cluster.json, since on the
 * cluster that made them the source image is the live one.
 */
export async function openRestoreSource(
  config: Config,
  input: RestoreSource & Pick<RestoreInput, 'source' | 'target'>,
  liveFsid: () => Promise<string>,
): Promise<Catalog> {
  const catalog = await openSourceCatalog(config, input);
  if (input.fromCluster === undefined) return catalog;
  const t = input.target;
  if (t && t.pool === input.source.pool && t.image === input.source.image) {
    const recorded = await catalog.readIdentity();
    const fsid = await liveFsid();
    if (!recorded) throw refuse(REFUSED, `${catalog.root}/cluster.json is missing, so nothing proves these backups are of another cluster: restore ${imageKey(t)} beside it (--to another name), check, then rename`);
    if (recorded.fsid === fsid) {
      throw refuse(REFUSED, `${catalog.root}/cluster.json records this very cluster (fsid ${fsid}): --to ${imageKey(t)} is the source image itself; restore beside it, check, then rename`);
    }
  }
  return catalog;
}

/**
 * `restoreCatalogFor`, and another cluster's directory must be a real directory: a misspelt name
 * is said with the names that are there (restore, and verify of another cluster's backups).
 */
export async function openSourceCatalog(config: Config, input: RestoreSource): Promise<Catalog> {
  const catalog = restoreCatalogFor(config, input);
  if (input.fromCluster === undefined) return catalog;
  const key = input.destination ?? 'default';
  const st = await lstat(catalog.root).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
    return undefined;
  });
  if (!st) {
    const there = await clustersIn(catalog.destination);
    throw refuse(
      INPUT_ERROR,
      `no backups of cluster ${input.fromCluster} in destination ${key}: ${catalog.root} does not exist (${there.length ? `clusters there: ${there.join(', ')}` : 'no cluster directory there'})`,
    );
  }
  if (st.isSymbolicLink()) throw new UnsafePathError(catalog.root, LINK);
  if (!st.isDirectory()) throw refuse(INPUT_ERROR, `${catalog.root} is not a directory`);
  return catalog;
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
