/**
 * Results of the read-only workflows: a backup run's plan (`run --dry-run`, `show images`) and
 * what the worker sees of its cluster (`show cluster`). Their inputs are BackupRunInput and
 * ClusterInput, checked by the schemas in ./schema.ts like every other workflow's.
 */
import type { ImageRef } from '../names/names.js';
import type { BackupType } from './backup.js';

/** What a run would do with one image today. */
export interface ImagePreview extends ImageRef {
  /** skip: the run would not touch it (not found, unreadable catalog, backdated); it counts as a failure. */
  action: BackupType | 'not-scheduled' | 'skip';
  reason: string;
  fromSnapshot?: string;
  circle?: string;
  /** Bytes the space check counts for it: used size for a full, bytes changed for an incremental. */
  estimatedBytes?: number;
  sizeBytes?: number;
}

export interface BackupPlan {
  cluster: string;
  destination: string;
  backupName: string;
  runTime: string;
  /** 1 = Monday … 7 = Sunday, in the policy's time zone. */
  weekday: number;
  timezone: string;
  snapshot: string;
  /** Exports in the order the run would start them (largest first), then the rest. */
  images: ImagePreview[];
  /** Absent when the day is in neither weekday list and no image is forced: the run stops before planning. */
  space?: { neededBytes: number; freeBytes: number; margin: number; problem?: string };
  /** What the run would end with before any export: a refusal (exit 2), or nothing to do. */
  outcome: 'would-run' | 'nothing-scheduled' | 'refused';
  refusal?: string;
}

export interface ClusterInput {
  cluster: string;
  destination?: string;
}

export interface ClusterFacts {
  name: string;
  fsid: string;
  monitors: { name: string; addrs: string[] }[];
  pools: string[];
  destination: string;
  /** `<destination>/<cluster>/cluster.json`. */
  identityFile: string;
  /** Its content, absent before the first run. */
  identity?: { name: string; fsid: string; createdAt?: string; format?: string };
  /** Whether the recorded identity is this cluster's; a mismatch refuses every backup run. */
  identityMatches?: boolean;
}
