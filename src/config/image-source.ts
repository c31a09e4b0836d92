/**
 * Where a run's images come from when it names none: the worker's list file (backup.list_file),
 * the Cinder volumes of its `openstack:` section, or both (an image in both keeps the list file's
 * per-image settings). Read when the run starts, so a schedule follows edits and new volumes.
 */
import type { ImageSelection } from '../contract/backup.js';
import { imageKey } from '../names/names.js';
import { cinderImages, type SourceOptions } from '../openstack/cinder-source.js';
import type { Skipped } from '../openstack/volume-selection.js';
import { InputError, type Config } from './config.js';
import { loadImageList } from './image-list.js';

export interface WorkerImages {
  images: ImageSelection[];
  /** Names the source gave that are no image to back up (missing, ambiguous, not RBD), with why. */
  skipped: Skipped[];
  /** Volumes Cinder listed, when Cinder was asked. */
  listed?: number;
}

export async function workerImages(cfg: Config, cluster: string, so: SourceOptions = {}): Promise<WorkerImages> {
  const file = cfg.backup.list_file;
  if (!file && !cfg.openstack) throw new InputError('no images: the run names none and this worker has no backup.list_file and no openstack: section');
  const listed = file ? loadImageList(file, cluster) : [];
  if (!cfg.openstack) {
    if (listed.length === 0) throw new InputError(`${file}: the image list is empty`);
    return { images: listed, skipped: [] };
  }
  const cinder = await cinderImages(cfg.openstack, so);
  const keys = new Set(listed.map(imageKey));
  const images = [...listed, ...cinder.images.filter((s) => !keys.has(imageKey(s)))];
  const skipped = cinder.skipped.filter((s) => !keys.has(imageKey(s)));
  if (images.length === 0 && skipped.length === 0) {
    throw new InputError(`openstack: no Cinder volumes to back up (Cinder listed ${cinder.listed} volume(s) to these credentials${file ? `, and ${file} is empty` : ''})`);
  }
  return { images, skipped, listed: cinder.listed };
}
