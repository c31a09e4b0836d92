/**
 * Pure decisions of the backup run: full or incremental, and the run's names. No I/O: the workflow
 * calls these during replay, so they must give the same answer every time.
 */
import type { BackupType, ImageFacts, ImageSelection } from '../contract/backup.js';

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** 1 = Monday … 7 = Sunday, in the given IANA time zone. */
export function weekdayOf(instant: Date, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' }).format(instant);
  const day = WEEKDAYS[name];
  if (!day) throw new Error(`cannot tell the weekday of ${instant.toISOString()} in ${timeZone}`);
  return day;
}

export interface TypeRule {
  weekday: number;
  fullWeekdays: number[];
  incrementalWeekdays: number[];
  maxIncremental: number;
}

export type TypeDecision =
  | { type: BackupType; reason: string; fromSnapshot?: string; circle?: string }
  /** `refused`: the run must not touch this image (reported as skipped, and it counts). */
  | { type: 'none'; reason: string; refused?: boolean };

/**
 * The original tool's rule, with its fall-backs to full. `circle` is set for incrementals: the
 * circle the diff extends.
 */
export function decideType(
  rule: TypeRule,
  sel: Pick<ImageSelection, 'backupType' | 'maxIncremental'>,
  facts: Pick<ImageFacts, 'ourSnapshots' | 'newest'>,
  snapshot?: string,
): TypeDecision {
  // A point older than the newest one would sort before it: a full would start a circle that
  // pruning removes at once, an incremental would chain backwards. Equal is this run resuming.
  if (snapshot !== undefined && facts.newest && snapshot < facts.newest.snapshot) {
    return { type: 'none', refused: true, reason: `as-of ${snapshot} is older than the newest point ${facts.newest.snapshot}: backdated runs are refused` };
  }
  let wanted: BackupType;
  let why: string;
  if (sel.backupType) {
    wanted = sel.backupType;
    why = `forced ${sel.backupType} by the image list`;
  } else if (rule.fullWeekdays.includes(rule.weekday)) {
    wanted = 'full';
    why = `weekday ${rule.weekday} is a full day`;
  } else if (rule.incrementalWeekdays.includes(rule.weekday)) {
    wanted = 'incr';
    why = `weekday ${rule.weekday} is an incremental day`;
  } else {
    return { type: 'none', reason: `nothing scheduled on weekday ${rule.weekday}` };
  }
  if (wanted === 'full') return { type: 'full', reason: why };

  const newest = facts.newest;
  if (!newest) return { type: 'full', reason: 'no recorded base snapshot: full' };
  if (!facts.ourSnapshots.includes(newest.snapshot)) {
    return { type: 'full', reason: `base snapshot ${newest.snapshot} is gone from the cluster: full` };
  }
  if (!newest.circleDirExists) return { type: 'full', reason: `circle directory ${newest.circle} is gone: full` };
  if (newest.filesIntact === false) return { type: 'full', reason: `a file of circle ${newest.circle} is missing or has the wrong size: full` };
  const max = sel.maxIncremental ?? rule.maxIncremental;
  if (max > 0 && newest.diffsInCircle >= max) {
    return { type: 'full', reason: `circle ${newest.circle} already holds ${newest.diffsInCircle} of ${max} incrementals: full` };
  }
  return { type: 'incr', reason: why, fromSnapshot: newest.snapshot, circle: newest.circle };
}

/** Space needed by a run: fulls by used (not provisioned) size, incrementals by bytes changed. */
export function estimateBytes(type: BackupType, facts: Pick<ImageFacts, 'usedBytes' | 'changedBytes'>): number {
  return type === 'full' ? facts.usedBytes : facts.changedBytes;
}

export function checkSpace(neededBytes: number, freeBytes: number, margin: number): string | undefined {
  // Rounded so 0.57 of 100 allows 57, not 56 through float error.
  const allowed = Math.floor(Math.round(freeBytes * margin * 1e6) / 1e6);
  if (neededBytes > allowed) {
    return `backup needs about ${neededBytes} bytes but only ${freeBytes} are free (limit ${Math.round(margin * 100)}% = ${allowed})`;
  }
  return undefined;
}

/** Largest first, so the longest export starts first; ties by name for a stable order. */
export function largestFirst<T extends { estimatedBytes: number; pool: string; image: string }>(plans: T[]): T[] {
  return [...plans].sort(
    (a, b) => b.estimatedBytes - a.estimatedBytes || byName(`${a.pool}/${a.image}`, `${b.pool}/${b.image}`),
  );
}

/** Code-point order: unlike localeCompare it cannot change with the Node version's ICU data during replay. */
export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
