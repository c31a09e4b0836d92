/**
 * The names of things inside an image directory, and the circle manifest: each circle directory
 * carries `manifest.json` describing its own points, so the directory alone is restorable and
 * verifiable, and catalog.json can always be rebuilt from the circles (src/catalog/rebuild.ts).
 */
import { ATOMIC_TEMP } from '../fs/atomic.js';
import { MANIFEST_FORMAT, type Circle, type CircleManifest, type ImageCatalog } from './schema.js';

export const CATALOG_FILE = 'catalog.json';
export const MANIFEST_FILE = 'manifest.json';

export const fullFileName = (snapshot: string): string => `${snapshot}.full`;
export const diffFileName = (snapshot: string, from: string): string => `${snapshot}_from_${from}.diff`;

/** What an export writes before its rename: `.<file>.partial-<attempt>` (older: `.<file>.partial`). */
const PARTIAL = /^\..+\.(full|diff)\.partial(-\d+)?$/;

/** Our own unfinished writes: an export's partial file or writeFileAtomic's temp, never data. */
export const isLeftoverName = (name: string): boolean => PARTIAL.test(name) || ATOMIC_TEMP.test(name);

/** A finished export's name (`<snapshot>.full`, `<snapshot>_from_<prev>.diff`); leftovers start with '.'. */
export const isExportFileName = (name: string): boolean => !name.startsWith('.') && /\.(full|diff)$/.test(name);

export function manifestOf(c: Pick<ImageCatalog, 'cluster' | 'pool' | 'image'>, circle: Circle): CircleManifest {
  return { format: MANIFEST_FORMAT, cluster: c.cluster, pool: c.pool, image: c.image, circle: circle.name, points: circle.points };
}
