/**
 * Catalog maintenance on the worker, which alone owns the destination: rebuilding an image's
 * catalog.json from its circle directories, and finding the images that need it.
 */
import type { Logger } from 'pino';
import type { Config } from '../src/config/config.js';
import { rebuildCatalog, rebuildableImages, type RebuildSummary } from '../src/catalog/rebuild.js';
import { imageKey, type ImageRef } from '../src/names/names.js';
import { catalogFor } from './access.js';
import { runActivity, withHeartbeat } from './errors.js';

export interface CatalogDeps {
  config: Config;
  logger: Logger;
}

export interface RebuildInput {
  cluster: string;
  destination?: string;
  image: ImageRef;
  replace: boolean;
}

export function createCatalogActivities(deps: CatalogDeps) {
  async function rebuildImageCatalog(input: RebuildInput): Promise<RebuildSummary> {
    return runActivity(async () => {
      const catalog = catalogFor(deps.config, input.cluster, input.destination);
      let hashing = { file: '', bytes: 0 };
      // Hashing a lost circle's files can take as long as an export: beat while it runs.
      const summary = await withHeartbeat(
        () => hashing,
        (signal) => rebuildCatalog(catalog, input.image, { replace: input.replace, progress: (p) => (hashing = p), signal }),
      );
      deps.logger.info({ image: imageKey(input.image), phase: 'catalog-rebuild', before: summary.before, points: summary.points, problems: summary.problems }, 'catalog rebuilt');
      return summary;
    });
  }

  async function listRebuildable(input: { cluster: string; destination?: string }): Promise<(ImageRef & { problem: string })[]> {
    return runActivity(async () => rebuildableImages(catalogFor(deps.config, input.cluster, input.destination)));
  }

  return { rebuildImageCatalog, listRebuildable };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
