/**
 * Which Cinder volumes a run backs up, and why the others are left out. Pure: the unit tests run
 * it on volume lists as Cinder returns them.
 *
 * Cinder's RBD driver stores volume X as image `volume-X` in its pool (X is the volume's
 * `os-vol-mig-status-attr:name_id` when a migration left one, else its id). Whether a volume is on
 * that backend at all cannot be read from the volume as every user sees it, so the rule is the
 * operator's, and checkable:
 *   - rbd_backends: the backend part of `os-vol-host-attr:host` (`host@BACKEND#pool`) must be one of
 *     them (that attribute is shown to admins only; without it the volume is skipped, saying so);
 *   - rbd_volume_types: the volume's type must be one of them;
 *   - neither: every volume is taken to be in the pool, and a volume that is not shows up as
 *     "image not found" when the run looks at the cluster.
 */
import type { ImageSelection } from '../contract/backup.js';
import { checkName } from '../names/names.js';
import type { Volume } from './cinder.js';

export interface SelectionRule {
  pool: string;
  volumeNames: string[];
  allVolumes: boolean;
  rbdBackends?: string[] | undefined;
  rbdVolumeTypes?: string[] | undefined;
}

export interface Skipped {
  pool: string;
  image: string;
  reason: string;
}

/** Statuses in which a volume's image may be missing or half-written. */
const UNSETTLED = /^(creating|downloading|deleting|error.*)$/;

export function imageOf(v: Volume): string {
  return `volume-${v['os-vol-mig-status-attr:name_id'] || v.id}`;
}

/** The backend of `host@backend#pool`; undefined for a host without one. */
export function backendOf(host: string): string | undefined {
  const at = host.split('#')[0]!.split('@');
  return at.length > 1 && at[1] ? at[1] : undefined;
}

/** Why this volume is not a backup-able RBD image in the pool, or undefined if it is. */
function problem(v: Volume, r: SelectionRule): string | undefined {
  if (UNSETTLED.test(v.status)) return `is ${v.status}`;
  if (r.rbdBackends) {
    const host = v['os-vol-host-attr:host'];
    if (!host) return 'has no os-vol-host-attr:host (shown to admins only), so its backend is unknown: use an admin user, or rbd_volume_types instead of rbd_backends';
    const b = backendOf(host);
    if (b === undefined || !r.rbdBackends.includes(b)) return `is on backend ${b ?? host}, not an RBD backend (rbd_backends: ${r.rbdBackends.join(', ')})`;
  }
  if (r.rbdVolumeTypes && !r.rbdVolumeTypes.includes(v.volume_type ?? '')) {
    return `has volume type ${v.volume_type ?? '(none)'}, not an RBD type (rbd_volume_types: ${r.rbdVolumeTypes.join(', ')})`;
  }
  return undefined;
}

const label = (v: Volume) => (v.name ? `Cinder volume ${JSON.stringify(v.name)} (${v.id})` : `Cinder volume ${v.id}`);

export function selectVolumes(volumes: Volume[], r: SelectionRule): { images: ImageSelection[]; skipped: Skipped[] } {
  const images: ImageSelection[] = [];
  const skipped: Skipped[] = [];
  const taken = new Set<string>();
  const take = (v: Volume) => {
    if (taken.has(v.id)) return;
    taken.add(v.id);
    // The name reaches rbd's argv: an ID that is not a plain name is refused like any other name.
    try {
      checkName('image', imageOf(v));
    } catch (e) {
      skipped.push({ pool: r.pool, image: String(v.id), reason: `${label(v)}: ${(e as Error).message}` });
      return;
    }
    const why = problem(v, r);
    if (why) skipped.push({ pool: r.pool, image: imageOf(v), reason: `${label(v)} ${why}` });
    else images.push({ pool: r.pool, image: imageOf(v) });
  };
  for (const name of r.volumeNames) {
    const found = volumes.filter((v) => v.name === name);
    // The name is not an image name: the report shows it where the image would be, and says so.
    if (found.length === 0) skipped.push({ pool: r.pool, image: name, reason: `no Cinder volume named ${JSON.stringify(name)}` });
    // With all_volumes_in_project every one of them is taken anyway; the name picks nothing more.
    else if (found.length > 1 && r.allVolumes) continue;
    else if (found.length > 1) {
      skipped.push({ pool: r.pool, image: name, reason: `Cinder volume name ${JSON.stringify(name)} is ambiguous: volumes ${found.map((v) => v.id).join(', ')}; back them up by ID-named image (POOL/volume-ID) or rename one` });
    } else take(found[0]!);
  }
  if (r.allVolumes) for (const v of volumes) take(v);
  return { images, skipped };
}
