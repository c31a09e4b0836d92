/**
 * What a running backup tells `status`, by query only: a query adds no event to any history, so
 * watching a run of 2,000 images costs the run nothing. The parent knows each image's plan and
 * final result; a running image's step is asked of its own imageBackup child, and the bytes of an
 * export in flight are its activity's latest heartbeat details (read with describe()).
 */
import type { BackupType, ImageResult } from './backup.js';
import type { ImageRef } from '../names/names.js';

export const PROGRESS_QUERY = 'progress';

/** The phases `status` shows; `export` (child) becomes `queued for export` or `exporting`. */
export type ImagePhase =
  | 'planned'
  | 'snapshot'
  | 'queued for export'
  | 'exporting'
  | 'deleting snapshots'
  | 'pruning'
  | 'done'
  | 'failed'
  | 'busy'
  | 'cancelled'
  | 'skipped'
  | 'not-scheduled';

export interface ImageProgress extends ImageRef {
  phase: ImagePhase;
  type?: BackupType;
  bytesDone?: number;
  bytesExpected?: number;
  /** A failed, busy, skipped or cancelled image: why. */
  reason?: string;
  /** A finished image: how long its own workflow took (runs before this field have none). */
  durationMs?: number;
}

export interface RunProgress {
  workflowId: string;
  backupName: string;
  cluster: string;
  runTime: string;
  phase: 'resolving' | 'planning' | 'backing up' | 'cancelling' | 'writing report' | 'done';
  images: ImageProgress[];
  reportFile?: string;
}

/** The step an image child is at; `export` spans queued and running (the workflow cannot tell). */
export type ImageStep = 'snapshot' | 'export' | 'deleting snapshots' | 'pruning' | 'done' | 'failed' | 'cancelled';

export interface ImageBackupProgress {
  /** The run this child works for: the image's workflow ID is reused by every run. */
  parentWorkflowId: string;
  backupName: string;
  step: ImageStep;
}

/** Bytes an export writes: a full's file has the image's provisioned size, a diff about the estimate. */
export function exportBytesExpected(p: { type: BackupType; sizeBytes: number; estimatedBytes: number }): number {
  return p.type === 'full' ? p.sizeBytes : p.estimatedBytes;
}

/** The parent's view of an image once its child has returned. */
export function phaseOfResult(r: ImageResult): ImagePhase {
  switch (r.status) {
    case 'ok':
      return 'done';
    default:
      return r.status;
  }
}
