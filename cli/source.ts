/**
 * `--from` and `--from-cluster`: where restore and list read backups that another cluster made
 * (disaster recovery). What goes on the wire is a destination *key* of the config and a plain
 * cluster name, never a path: the worker resolves both inside its own configured destinations.
 */
import { realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { destinations, InputError, type Config } from '../src/config/config.js';
import { checkName, NameError } from '../src/names/names.js';
import { destinationKey } from './common.js';

export interface SourceOptions {
  from?: string;
  fromCluster?: string;
  destination?: string;
}

/** `--from-cluster NAME`: one directory level below a destination, named like any cluster. */
export function fromClusterOption(name: string | undefined): { fromCluster?: string } {
  if (name === undefined) return {};
  try {
    return { fromCluster: checkName('cluster', name) };
  } catch (e) {
    if (e instanceof NameError) throw new InputError(`--from-cluster ${e.message}`);
    throw e;
  }
}

/** Symlinks and `..` aside, so /mnt/backup and /mnt/./backup/ are one directory. */
function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * `--from KEY` or `--from DIR`, mapped to the key of the configured destination that is DIR. A
 * directory the config does not name is refused here (exit 2): the worker reads only its own
 * destinations, so an operator adds the disk to backup.destinations first.
 */
export function fromOption(cfg: Config, o: SourceOptions): { destination?: string } {
  if (o.from === undefined) return destinationKey(o.destination);
  if (o.destination !== undefined) throw new InputError('--from and --destination both say where to read: give one of them');
  if (o.from === '') throw new InputError('--from "" is neither a destination key nor a directory');
  const all = destinations(cfg);
  const asKey = (key: string) => (key === 'default' ? {} : { destination: key });
  if (Object.prototype.hasOwnProperty.call(all, o.from)) return asKey(o.from);
  const dir = canonical(o.from);
  const match = Object.entries(all).find(([, p]) => canonical(p) === dir);
  if (match) return asKey(match[0]);
  // The original tool took the cluster's own directory; say which words mean that here.
  const parent = Object.entries(all).find(([, p]) => canonical(p) === dirname(dir));
  if (parent) {
    throw new InputError(`--from ${o.from} is the directory of cluster ${dir.slice(dirname(dir).length + 1)} in destination ${parent[0]}: use --from ${parent[0]} --from-cluster ${dir.slice(dirname(dir).length + 1)}`);
  }
  const known = Object.entries(all)
    .map(([k, p]) => `${k}=${p}`)
    .join(', ');
  throw new InputError(`--from ${o.from} is not a destination of this config (${known}): add it to backup.destinations, restart the worker, then name its key`);
}
