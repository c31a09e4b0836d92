/**
 * Where a run's images come from when it names none: the worker's list file (backup.list_file),
 * the Cinder volumes of its `openstack:` section, or both (an image in both keeps the list file's
 * per-image settings). Read when the run starts, so a schedule follows edits and new volumes.
 */
import type { ImageSelection } from '../contract/backup.js';
import { imageKey } from '../names/names.js';
import { cinderImages, type SourceOptions } from '../openstack/cinder-source.js';
import type { OpenStackSettings } from '../openstack/settings.js';
import type { Skipped } from '../openstack/volume-selection.js';
import { InputError, type Config } from './config.js';
import { loadImageList } from './image-list.js';

export interface WorkerImages {
  images: ImageSelection[];
  /** Names the source gave that are no image to back up (missing, ambiguous, not RBD), with why. */
  skipped: Skipped[];
  /** Volumes Cinder listed, when Cinder was asked and answered. */
  listed?: number;
  /** Why Cinder could not be read, when the list file's images go ahead without it. */
  cinderError?: string;
}

/** The entry a run reports for the whole Cinder selection when no volume could be named. */
export const ALL_PROJECT_VOLUMES = '(all volumes of the project)';

/**
 * A Cinder that cannot be read (Keystone or Cinder refusing, failing or silent): with images of
 * its own in the list file the run backs those up, and the Cinder selection is reported skipped
 * with the reason, so the run ends partial (exit 1) instead of the list file's images being left
 * without backups; with Cinder as the only source there is nothing to run (undefined: exit 2).
 */
export function cinderFailure(listed: readonly ImageSelection[], o: Pick<OpenStackSettings, 'pool' | 'volume_names' | 'all_volumes_in_project'>, reason: string): Skipped[] | undefined {
  if (listed.length === 0) return undefined;
  const why = `not backed up, Cinder could not be read: ${reason}`;
  const names: string[] = [...(o.volume_names ?? []), ...(o.all_volumes_in_project ? [ALL_PROJECT_VOLUMES] : [])];
  return names.map((image) => ({ pool: o.pool, image, reason: why }));
}

export async function workerImages(cfg: Config, cluster: string, so: SourceOptions = {}): Promise<WorkerImages> {
  const file = cfg.backup.list_file;
  if (!file && !cfg.openstack) throw new InputError('no images: the run names none and this worker has no backup.list_file and no openstack: section');
  const listed = file ? loadImageList(file, cluster) : [];
  if (!cfg.openstack) {
    if (listed.length === 0) throw new InputError(`${file}: the image list is empty`);
    return { images: listed, skipped: [] };
  }
  let cinder;
  try {
    cinder = await cinderImages(cfg.openstack, so);
  } catch (e) {
    // One-line refusals only (InputError); anything else is a fault to retry, not a report line.
    if (!(e instanceof InputError)) throw e;
    const skipped = cinderFailure(listed, cfg.openstack, e.message);
    if (!skipped) throw e;
    return { images: listed, skipped, cinderError: e.message };
  }
  const keys = new Set(listed.map(imageKey));
  const images = [...listed, ...cinder.images.filter((s) => !keys.has(imageKey(s)))];
  const skipped = cinder.skipped.filter((s) => !keys.has(imageKey(s)));
  if (images.length === 0 && skipped.length === 0) {
    throw new InputError(`openstack: no Cinder volumes to back up (Cinder listed ${cinder.listed} volume(s) to these credentials${file ? `, and ${file} is empty` : ''})`);
  }
  return { images, skipped, listed: cinder.listed };
}
