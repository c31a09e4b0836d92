export { backupRun, imageBatch } from './backup-run.js';
export { imageBackup } from './image-backup.js';
export { restoreImage } from './restore.js';
export { deleteBackup } from './delete.js';
export { verifyRun, verifyBatch, verifyImage } from './verify.js';
export { rebuildCatalog, rebuildCatalogs } from './catalog.js';
export { planBackup } from './plan.js';
export { describeCluster } from './cluster.js';
