/**
 * `rbd-backup/contract`: the workflow types' inputs and results, the schemas every workflow checks
 * its input against, the progress query, workflow IDs (a restore's: restoreMutexImage) and search
 * attributes, and the read-only workflows' results (planBackup, describeCluster) — what a client that
 * talks to the workflows directly (or through the Temporal CLI or Web UI) relies on.
 */
export type { ImageRef } from '../names/names.js';
export {
  DEFAULT_DESTINATION,
  INPUT_ERROR,
  imageWorkflowId,
  runWorkflowId,
  type BackupType,
  type ImageSelection,
  type BackupPolicy,
  type BackupRunInput,
  type FailureDetail,
  type ExportResult,
  type ImageResult,
  type BackupReport,
} from './backup.js';
export {
  REFUSED,
  TARGET_EXISTS,
  restoreMutexImage,
  type RestoreInput,
  type RestoreResult,
  type ChainLink,
  type FileCheck,
  type ImageVerification,
  type VerifyInput,
  type VerifyReport,
  type DeleteInput,
  type DeleteResult,
} from './restore.js';
export type { BackupPlan, ImagePreview, ClusterInput, ClusterFacts } from './plan.js';
export { PROGRESS_QUERY, type ImagePhase, type ImageProgress, type RunProgress, type ImageStep, type ImageBackupProgress } from './progress.js';
export {
  check,
  imageRefSchema,
  imageSelectionSchema,
  backupRunInputSchema,
  restoreInputSchema,
  verifyInputSchema,
  deleteInputSchema,
  clusterInputSchema,
} from './schema.js';
export { RBD_BACKUP_KIND, RBD_BACKUP_NAME, RBD_BACKUP_IMAGES, CUSTOM_SEARCH_ATTRIBUTES } from './search-attributes.js';
