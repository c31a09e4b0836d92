export { backupRun, imageBatch } from './backup-run.js';
export { imageBackup } from './image-backup.js';
export { restoreImage, verifyImage, verifyRun, deleteBackup } from './restore.js';
