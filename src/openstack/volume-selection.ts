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
 * A named volume that fails a rule is reported (skipped, with why). With all_volumes_in_project a
 * volume outside the rules is simply not ours and is left out silently, or a project holding an
 * LVM volume would make every run partial; one that is ours but unsettled (creating, error…) is
 * still reported.
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

/** Why this volume is not an RBD image in the pool (`notOurs`), or not one to back up now. */
function problem(v: Volume, r: SelectionRule): { why: string; notOurs: boolean } | undefined {
  if (r.rbdBackends) {
    const host = v['os-vol-host-attr:host'];
    if (!host) return { why: 'has no os-vol-host-attr:host (shown to admins only), so its backend is unknown: use an admin user, or rbd_volume_types instead of rbd_backends', notOurs: false };
    const b = backendOf(host);
    if (b === undefined || !r.rbdBackends.includes(b)) return { why: `is on backend ${b ?? host}, not an RBD backend (rbd_backends: ${r.rbdBackends.join(', ')})`, notOurs: true };
  }
  if (r.rbdVolumeTypes && !r.rbdVolumeTypes.includes(v.volume_type ?? '')) {
    return { why: `has volume type ${v.volume_type ?? '(none)'}, not an RBD type (rbd_volume_types: ${r.rbdVolumeTypes.join(', ')})`, notOurs: true };
  }
  if (UNSETTLED.test(v.status)) return { why: `is ${v.status}`, notOurs: false };
  return undefined;
}

const label = (v: Volume) => (v.name ? `Cinder volume ${JSON.stringify(v.name)} (${v.id})` : `Cinder volume ${v.id}`);

export function selectVolumes(volumes: Volume[], r: SelectionRule): { images: ImageSelection[]; skipped: Skipped[] } {
  const images: ImageSelection[] = [];
  const skipped: Skipped[] = [];
  const taken = new Set<string>();
  const take = (v: Volume, named: boolean) => {
    if (taken.has(v.id)) return;
    const p = problem(v, r);
    if (p?.notOurs && !named) return;
    taken.add(v.id);
    // The name reaches rbd's argv: an ID that is not a plain name is refused like any other name.
    try {
      checkName('image', imageOf(v));
    } catch (e) {
      skipped.push({ pool: r.pool, image: String(v.id), reason: `${label(v)}: ${(e as Error).message}` });
      return;
    }
    if (p) skipped.push({ pool: r.pool, image: imageOf(v), reason: `${label(v)} ${p.why}` });
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
    } else take(found[0]!, true);
  }
  if (r.allVolumes) for (const v of volumes) take(v, false);
  return { images, skipped };
}
