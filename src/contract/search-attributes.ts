import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered by the worker at start-up (and by scripts/temporal-dev); never carry secrets. */
export const RBD_BACKUP_NAME = defineSearchAttributeKey('RbdBackupName', SearchAttributeType.KEYWORD);
export const RBD_BACKUP_IMAGES = defineSearchAttributeKey('RbdBackupImages', SearchAttributeType.KEYWORD_LIST);
export const RBD_BACKUP_KIND = defineSearchAttributeKey('RbdBackupKind', SearchAttributeType.KEYWORD);
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const CUSTOM_SEARCH_ATTRIBUTES = [RBD_BACKUP_NAME, RBD_BACKUP_IMAGES, RBD_BACKUP_KIND];
