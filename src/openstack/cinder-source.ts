/**
 * The Cinder image source: token from Keystone, volume list from Cinder, names mapped to
 * `volume-<id>` images in the configured pool. Read by the worker when a run starts, so a schedule
 * follows volumes as they are created, renamed and deleted.
 */
import type { ImageSelection } from '../contract/backup.js';
import { InputError } from '../config/config.js';
import { resolveCredentials } from './credentials.js';
import { ServiceUnreachable, type HttpOptions } from './http.js';
import { blockStorageUrl, issueToken } from './keystone.js';
import { listVolumes } from './cinder.js';
import { selectVolumes, type Skipped } from './volume-selection.js';
import type { OpenStackSettings } from './settings.js';

export interface CinderImages {
  images: ImageSelection[];
  skipped: Skipped[];
  /** How many volumes Cinder listed: for the log line, which carries no names or secrets. */
  listed: number;
}

export interface SourceOptions {
  env?: NodeJS.ProcessEnv;
  /** First retry's backoff in ms (tests shorten it). */
  backoffMs?: number;
}

export async function cinderImages(o: OpenStackSettings, so: SourceOptions = {}): Promise<CinderImages> {
  const creds = resolveCredentials(o, so.env ?? process.env);
  const http: HttpOptions = {
    timeoutMs: o.timeout_seconds * 1000,
    retries: o.retries,
    verify: creds.verify,
    ...(creds.ca ? { ca: creds.ca } : {}),
    ...(so.backoffMs !== undefined ? { backoffMs: so.backoffMs } : {}),
  };
  try {
    const token = await issueToken(creds, http);
    const url = blockStorageUrl(token.catalog, token.projectId, creds.interface, creds.regionName);
    const volumes = await listVolumes(url, token, { allTenants: o.all_tenants, pageSize: o.page_size }, http);
    const chosen = selectVolumes(volumes, {
      pool: o.pool,
      volumeNames: o.volume_names ?? [],
      allVolumes: o.all_volumes_in_project,
      rbdBackends: o.rbd_backends,
      rbdVolumeTypes: o.rbd_volume_types,
    });
    return { ...chosen, listed: volumes.length };
  } catch (e) {
    // An unreachable or silent service is the set-up's problem (exit 2), like an unreachable Temporal.
    if (e instanceof ServiceUnreachable) throw new InputError(`openstack: ${e.message}`);
    throw e;
  }
}
