import { imageKey, parseImageSpec } from '../src/names/names.js';
import { InputError } from '../src/config/config.js';
import { restoreMutexImage, type RestoreInput, type RestoreResult } from '../src/contract/restore.js';
import { restoreSummary } from '../src/contract/summary.js';
import { EXIT_OK, configFrom, printJson } from './common.js';
import { underImageMutex } from './image-mutex.js';
import { checkAt, imageOption } from './options.js';
import { fromClusterOption, fromOption } from './source.js';

export interface RestoreOptions {
  config?: string;
  destination?: string;
  /** A destination key, or a configured destination's directory. */
  from?: string;
  /** The cluster name the backups are filed under (disaster recovery). */
  fromCluster?: string;
  at?: string;
  to?: string;
  force?: boolean;
  keepSnapshots?: boolean;
  checkImage?: boolean;
  json?: boolean;
}

export async function restoreCommand(image: string, o: RestoreOptions): Promise<number> {
  const cfg = configFrom(o);
  const source = parseImageSpec(image);
  if (!o.at) throw new InputError('--at POINT is required (a backup name, a snapshot name or an ISO 8601 instant)');
  checkAt(o.at);
  const input: RestoreInput = {
    cluster: cfg.cluster.name,
    ...fromOption(cfg, o),
    ...fromClusterOption(o.fromCluster),
    source,
    at: o.at,
    force: !!o.force,
    keepSnapshots: !!o.keepSnapshots,
    // Only when asked: a worker from before the option accepts the request unchanged.
    ...(o.checkImage ? { checkImage: true } : {}),
  };
  // An empty --to is a mistake, not "the default target".
  if (o.to !== undefined) {
    input.target = imageOption('--to', o.to);
    // From another cluster's backups the source is not here: its own name is the usual target,
    // and the worker refuses it if the backups turn out to be of this very cluster (by fsid).
    if (imageKey(input.target) === imageKey(source) && input.fromCluster === undefined) {
      throw new InputError(`--to ${o.to} is the source image itself${o.force ? ', even with --force' : ''}: restore beside it, check, then rename`);
    }
  }
  const r = await underImageMutex<RestoreResult>(cfg, restoreMutexImage(input), 'restore', 'restoreImage', input, restoreSummary(source, o.at, input.target, input.fromCluster));
  if (o.json) printJson(r);
  else
    process.stdout.write(
      `restored ${r.fromCluster ? `${r.fromCluster}:` : ''}${imageKey(r.source)} at ${r.point.backupName} (${r.point.snapshot}) to ${imageKey(r.target)}\n` +
        `  applied: ${r.applied.join(', ')}\n  sha256 of restored image: ${imageSum(r)}\n`,
    );
  return EXIT_OK;
}

function imageSum(r: RestoreResult): string {
  if (!r.sha256) return "not computed (every file's sha256 was checked; --check-image reads the image back)";
  return `${r.sha256} (${r.sha256From === 'file' ? "the full's, checked while imported" : 'read back from the image'})`;
}
