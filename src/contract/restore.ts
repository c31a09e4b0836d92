/** Workflow contract of restore, verify and delete (see src/contract/backup.ts for the rules). */
import type { ImageRef } from '../names/names.js';
import type { BackupType } from './backup.js';

export interface RestoreInput {
  cluster: string;
  /** Destination key of the worker's config; absent: `default`. */
  destination?: string;
  source: ImageRef;
  /** Backup name, snapshot name or ISO 8601 instant. */
  at: string;
  /** Defaults to the source pool and a new name that cannot collide. */
  target?: ImageRef;
  force: boolean;
  keepSnapshots: boolean;
  /**
   * Disaster recovery: the cluster name the backups are filed under (`<destination>/<fromCluster>/`),
   * when it is not `cluster`, or is `cluster`'s name on a rebuilt cluster. The image is still
   * restored into `cluster`, the one the worker serves. Absent: `cluster`.
   */
  fromCluster?: string;
  /**
   * Read the restored image back and checksum it before it becomes the target (absent: false).
   * A point that is a full alone is compared with that full's sha256; a mismatch refuses the
   * restore. Costs one more pass over the whole image.
   */
  checkImage?: boolean;
}

/**
 * The image whose workflow ID a restore runs under. A restore from this cluster's own backups
 * holds its source image, as it always has (backups of it write the catalog being read); one
 * from another cluster's backups reads nothing a run here writes, so it holds the image it
 * writes: the target, or, without one, the source's name beside which the new image is made.
 */
export function restoreMutexImage(input: Pick<RestoreInput, 'cluster' | 'source' | 'target' | 'fromCluster'>): ImageRef {
  if (input.fromCluster === undefined || input.fromCluster === input.cluster) return input.source;
  return input.target ?? input.source;
}

export interface ChainLink {
  type: BackupType;
  snapshot: string;
  fromSnapshot: string | null;
  /** Relative to the image's directory; the worker resolves it inside its own destination. */
  file: string;
  bytes: number;
  sha256: string;
}

export interface RestorePlan {
  cluster: string;
  destination?: string;
  /** As in RestoreInput: where the chain's files are read. */
  fromCluster?: string;
  source: ImageRef;
  target: ImageRef;
  targetExists: boolean;
  circle: string;
  point: { backupName: string; snapshot: string; runTime: string };
  chain: ChainLink[];
}

export interface RestoreResult {
  source: ImageRef;
  /** The cluster whose backups were read, when not the worker's own. */
  fromCluster?: string;
  target: ImageRef;
  point: RestorePlan['point'];
  applied: string[];
  keptSnapshots: boolean;
  /**
   * sha256 of the restored image's content (what `rbd export` of its head gives). `sha256From`
   * says where it comes from: `image`, read back from the restored image (`checkImage`); `file`,
   * a point that is a full alone, whose file is the image byte for byte and whose sha256 was
   * checked while it was imported. Absent for a chain with diffs restored without `checkImage`:
   * no stored checksum describes that image, only its files.
   */
  sha256?: string;
  sha256From?: 'image' | 'file';
  durationMs: number;
}

export interface FileCheck {
  file: string;
  status: 'ok' | 'missing' | 'corrupt' | 'extra';
  detail?: string;
}

export interface ImageVerification extends ImageRef {
  ok: boolean;
  files: FileCheck[];
  unrestorable: { backupName: string; snapshot: string; file: string }[];
  chainProblems: string[];
  deep?: { point: string; snapshot: string; restoredSha256?: string; sourceSha256?: string; match?: boolean; note?: string; error?: string };
  error?: string;
}

export interface VerifyInput {
  cluster: string;
  destination?: string;
  /** Check the backups filed under this cluster name (another cluster's, read-only); not with `deep`. */
  fromCluster?: string;
  images?: ImageRef[];
  deep: boolean;
}

/**
 * Problems in full, the rest as counts: a clean image's 28 file checks would otherwise make a
 * 2,000-image report larger than a Temporal payload may be.
 */
export interface VerifyReport {
  cluster: string;
  ok: boolean;
  /** Images checked. */
  checked: number;
  /** Images without a problem. */
  clean: number;
  /** Only images with a problem, and in them only the files that are not ok. */
  images: ImageVerification[];
  /** With --deep: the comparison of each clean image (one short line each). */
  deep?: { pool: string; image: string; point: string; match?: boolean; note?: string }[];
}

export interface DeleteInput {
  cluster: string;
  destination?: string;
  image: ImageRef;
  circle?: string;
  point?: string;
}

export interface DeleteResult extends ImageRef {
  removed: { circle: string; files: string[]; points: string[] };
}

/** A restore or delete that would be unsafe: exit 1 with the reason, nothing changed. */
export const REFUSED = 'Refused';

/** The restore target is somebody else's image: refused, and never cleaned up by the restore. */
export const TARGET_EXISTS = 'TargetExists';

/**
 * A restore builds the image under a staging name that only this execution can have, and renames
 * it to the target at the end: an existing target is untouched until the new image is complete,
 * and cleanup can only ever remove what this restore made.
 */
export const RESTORE_MARKER_KEY = 'rbd-backup.restored-by';
