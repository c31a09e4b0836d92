/**
 * The workflow contract: inputs and results of the backup workflows. Other services import these
 * types through the client API; they cross the Temporal boundary as JSON, so they hold no class
 * instances and nothing dangerous: no paths, no keyring, no policy. Whoever can reach the Temporal
 * port can send any input, so the worker owns destinations, credentials and the policy defaults,
 * and an input may only name images, per-image overrides, a run name, an as-of instant and a
 * destination *key* of the worker's config. Schemas that enforce this: ./schema.ts.
 */
import type { ImageRef } from '../names/names.js';

export type BackupType = 'full' | 'incr';

export interface ImageSelection extends ImageRef {
  backupType?: BackupType;
  maxIncremental?: number;
  circleRetainCount?: number;
  snapshotRetainCount?: number;
}

/** The worker's policy for one run, resolved from its own config (never from the input). */
export interface BackupPolicy {
  /** The destination key the run writes to (a key of the worker's backup.destinations). */
  destination: string;
  concurrency: number;
  snapshotRetainCount: number;
  circleRetainCount: number;
  maxIncremental: number;
  fullWeekdays: number[];
  incrementalWeekdays: number[];
  timezone: string;
  spaceMargin: number;
  /** The slowest export rate that is still progress: the export timeout is size / this + 10 min. */
  exportMinBytesPerSecond: number;
}

export interface BackupRunInput {
  /** The cluster name the worker serves; another cluster's worker refuses the run. */
  cluster: string;
  /** Absent: the worker's list file (backup.list_file), read at run time. */
  images?: ImageSelection[];
  /** A key of the worker's configured destinations; absent: `default` (backup.destination). */
  destination?: string;
  backupName?: string;
  /** ISO 8601; the run acts as if it started then (tests, catch-up). */
  asOf?: string;
}

/** What the worker resolved for a run: its policy and the images (from the input or its list). */
export interface ResolvedRun {
  policy: BackupPolicy;
  images: ImageSelection[];
  /** Names the worker's image source could not map to an image (Cinder: missing, ambiguous, not RBD). */
  skipped?: { pool: string; image: string; reason: string }[];
}

/** The default destination key: backup.destination in the worker's config. */
export const DEFAULT_DESTINATION = 'default';

/** What the plan activity learns about one image; the workflow decides from it. */
export interface ImageFacts extends ImageRef {
  sizeBytes: number;
  usedBytes: number;
  /** Bytes written since the newest snapshot (`rbd du` of the head): the incremental's estimate. */
  changedBytes: number;
  /** Our (prefixed) snapshots on the image; foreign ones never leave the worker. */
  ourSnapshots: string[];
  newest?: { circle: string; snapshot: string; backupName: string; circleDirExists: boolean; diffsInCircle: number; filesIntact?: boolean };
}

export interface PlanResult {
  clusterDir: string;
  fsid: string;
  freeBytes: number;
  facts: ImageFacts[];
  /** Images the run cannot back up (not found, unreadable catalog, rbd error), each with why. */
  skipped: { pool: string; image: string; reason: string }[];
}

export interface ImagePlan extends ImageRef {
  cluster: string;
  /** Destination key; the worker resolves it to its own path. */
  destination: string;
  backupName: string;
  runTime: string;
  type: BackupType;
  reason: string;
  snapshot: string;
  fromSnapshot?: string;
  circle: string;
  estimatedBytes: number;
  /** Provisioned size: bounds the export's start-to-close timeout. */
  sizeBytes: number;
  snapshotRetainCount: number;
  circleRetainCount: number;
  exportMinBytesPerSecond: number;
  parentWorkflowId: string;
}

export interface FailureDetail {
  message: string;
  command?: string;
  exitCode?: number;
  stderr?: string;
}

export interface ExportResult {
  file: string;
  bytes: number;
  sha256: string;
  startedAt: string;
  finishedAt: string;
}

export interface ImageResult extends ImageRef {
  /**
   * not-scheduled: the weekday rule had nothing for it; it does not count against the run.
   * cancelled: the run was cancelled before the image's point was recorded (its snapshot removed).
   */
  status: 'ok' | 'failed' | 'busy' | 'skipped' | 'not-scheduled' | 'cancelled';
  type?: BackupType;
  reason?: string;
  snapshot?: string;
  fromSnapshot?: string;
  circle?: string;
  file?: string;
  bytes?: number;
  sha256?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: FailureDetail;
  deletedSnapshots?: string[];
  prunedCircles?: string[];
  /** Entries in the image's directory that no record claims: left in place for a person to look at. */
  unclaimed?: string[];
  cleanupErrors?: FailureDetail[];
}

export interface BackupReport {
  backupName: string;
  cluster: string;
  runTime: string;
  workflowId: string;
  /** cancelled: only in the report file of a cancelled run; the run itself ends cancelled. */
  status: 'ok' | 'partial' | 'failed' | 'nothing-scheduled' | 'cancelled';
  reportFile?: string;
  startedAt: string;
  finishedAt: string;
  images: ImageResult[];
}

/** Failure types the CLI maps to exit 2 (bad input or wrong cluster), never retried. */
export const INPUT_ERROR = 'InputError';

/** One workflow ID per image across every kind of run: Temporal's ID uniqueness is the mutex. */
export const imageWorkflowId = (cluster: string, r: ImageRef): string => `rbd-backup-image/${cluster}/${r.pool}/${r.image}`;
export const runWorkflowId = (cluster: string, backupName: string): string => `rbd-backup-run/${cluster}/${backupName}`;

export const exportQueue = (taskQueue: string): string => `${taskQueue}-export`;
export const snapDeleteQueue = (taskQueue: string): string => `${taskQueue}-snapdelete`;
export const snapshotQueue = (taskQueue: string): string => `${taskQueue}-snapshot`;
