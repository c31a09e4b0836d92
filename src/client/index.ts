/**
 * `rbd-backup/client`: what another service needs to trigger, watch, cancel and look up backup
 * runs, and to schedule them. Everything else under src/ is internal and may change.
 */
export { InputError } from '../config/config.js';
export { connect, openClient, UnreachableError, type OpenClientOptions } from './connection.js';
export { startBackupRun, checkRunInput, type StartedRun } from './backup-run.js';
export { getProgress, findRun, runStatus, totalsOf, type RunStatus, type ImageStatus, type Totals } from './progress.js';
export { cancelRun, RunNotRunningError, type CancelOutcome } from './cancel.js';
export { listHistory, historyQuery, HISTORY_STATUSES, type HistoryFilter, type HistoryRow } from './history.js';
export {
  createSchedule,
  updateSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  unpauseSchedule,
  triggerSchedule,
  backfillSchedule,
  deleteSchedule,
  scheduleOptions,
  type ScheduleRequest,
  type ScheduleChange,
  type ScheduleTiming,
  type ScheduleView,
  type ScheduleListItem,
  type RunStatus as ScheduledRunStatus,
} from './schedule.js';
export { checkWorkerPolls, ensureSearchAttributes } from './admin.js';
