import { imageKey, parseImageSpec } from '../src/names/names.js';
import { InputError } from '../src/config/config.js';
import type { DeleteResult } from '../src/contract/restore.js';
import { deleteSummary } from '../src/contract/summary.js';
import { EXIT_OK, configFrom, destinationKey, printJson } from './common.js';
import { underImageMutex } from './image-mutex.js';

export async function deleteCommand(image: string, o: { config?: string; destination?: string; circle?: string; point?: string; json?: boolean }): Promise<number> {
  const cfg = configFrom(o);
  const ref = parseImageSpec(image);
  if ((o.circle === undefined) === (o.point === undefined)) {
    throw new InputError(`give exactly one of --circle NAME or --point NAME (${o.circle === undefined ? 'neither was given' : 'both were given'})`);
  }
  const r = await underImageMutex<DeleteResult>(cfg, ref, 'delete', 'deleteBackup', {
    cluster: cfg.cluster.name,
    ...destinationKey(o.destination),
    image: ref,
    ...(o.circle !== undefined ? { circle: o.circle } : { point: o.point }),
  }, deleteSummary(ref, o.circle, o.point));
  if (o.json) printJson(r);
  else process.stdout.write(`deleted from ${imageKey(ref)} circle ${r.removed.circle}: ${r.removed.files.join(', ') || 'nothing'}\n`);
  return EXIT_OK;
}

