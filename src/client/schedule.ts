/**
 * The typed client API for Temporal schedules of backup runs. Every option is checked here, before
 * the server is asked, so bad input creates nothing and names its culprit.
 */
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
  type ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import { InputError } from '../config/config.js';
import type { BackupRunInput } from '../contract/backup.js';
import { instantProblem } from '../contract/schema.js';
import { RBD_BACKUP_KIND } from '../contract/search-attributes.js';
import { checkName } from '../names/names.js';
import { checkRunInput } from './backup-run.js';
import { scheduledRunSummary } from '../contract/summary.js';

export const OVERLAP_POLICIES: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
};

export const DEFAULT_CATCHUP_WINDOW = '6h';

export const scheduleId = (cluster: string, name: string): string => `rbd-backup/${cluster}/${checkName('schedule', name)}`;
export const scheduledWorkflowId = (cluster: string, name: string): string => `rbd-backup-run/${cluster}/scheduled-${name}`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `10m`, `2h`, `1d` → milliseconds; `option` names the culprit. */
export function parseScheduleDuration(option: string, s: string, allowZero = false): number {
  const m = /^(\d{1,9})(s|m|h|d)$/.exec(s);
  if (!m || (!allowZero && Number(m[1]) === 0)) throw new InputError(`${option} ${JSON.stringify(s)} is not a duration such as 90s, 10m, 2h or 1d`);
  return Number(m[1]) * UNITS[m[2]!]! * 1000;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const CRON_FIELDS: { name: string; min: number; max: number; names?: string[]; namesFrom?: number }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];
const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * The server accepts more than five fields (seconds, years) and reads a bad one in ways that are
 * hard to see from its error; we accept the five classic fields and the macros, checked one by
 * one so the error names the field.
 */
export function checkCron(expr: string): string {
  const e = expr.trim();
  if (CRON_MACROS.has(e.toLowerCase())) return e;
  const fields = e.split(/\s+/);
  const bad = (why: string): never => {
    throw new InputError(`--cron ${JSON.stringify(expr)}: ${why} (five fields: minute hour day-of-month month day-of-week, e.g. '0 1 * * *')`);
  };
  if (fields.length !== 5) bad(`has ${fields.length} field(s)`);
  fields.forEach((f, i) => {
    const spec = CRON_FIELDS[i]!;
    const value = (v: string): number => {
      const byName = spec.names?.indexOf(v.toLowerCase()) ?? -1;
      const n = byName >= 0 ? byName + spec.namesFrom! : /^\d{1,2}$/.test(v) ? Number(v) : NaN;
      if (!(n >= spec.min && n <= spec.max)) bad(`${spec.name} ${JSON.stringify(v)} is not in ${spec.min}-${spec.max}`);
      return n;
    };
    for (const part of f.split(',')) {
      const [range, step, extra] = part.split('/');
      if (extra !== undefined || range === undefined || range === '') bad(`${spec.name} ${JSON.stringify(part)} is not a value, range or step`);
      if (step !== undefined && !/^[1-9]\d{0,1}$/.test(step)) bad(`${spec.name} step ${JSON.stringify(step)} is not a positive number`);
      if (range === '*') continue;
      const [a, b, more] = range!.split('-');
      if (more !== undefined) bad(`${spec.name} ${JSON.stringify(range)} is not a range`);
      const lo = value(a!);
      if (b !== undefined && value(b) < lo) bad(`${spec.name} range ${JSON.stringify(range)} runs backwards`);
    }
  });
  return fields.join(' ');
}

export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new InputError(`--timezone ${JSON.stringify(tz)} is not a known IANA time zone (e.g. UTC, Europe/Berlin)`);
  }
}

export interface ScheduleTiming {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
}

/** `--cron` or `--every` (exactly one), the zone and the jitter → the SDK's spec. */
export function buildScheduleSpec(t: ScheduleTiming, defaultTimezone: string): ScheduleSpec {
  if ((t.cron === undefined) === (t.every === undefined)) throw new InputError('give exactly one of --cron EXPR and --every DURATION');
  const spec: ScheduleSpec = { timezone: checkTimeZone(t.timezone ?? defaultTimezone) };
  if (t.cron !== undefined) spec.cronExpressions = [checkCron(t.cron)];
  else spec.intervals = [{ every: parseScheduleDuration('--every', t.every!) }];
  if (t.jitter !== undefined) spec.jitter = parseScheduleDuration('--jitter', t.jitter, true);
  return spec;
}

export function overlapPolicy(s: string | undefined): ScheduleOverlapPolicy {
  if (s === undefined) return 'SKIP';
  const p = OVERLAP_POLICIES[s];
  if (!p) throw new InputError(`--overlap ${JSON.stringify(s)} is not one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  return p;
}

/** The CLI's word for a policy, so `describe` reads back what `create` was given. */
export function overlapWord(p: ScheduleOverlapPolicy | undefined): string {
  return Object.keys(OVERLAP_POLICIES).find((k) => OVERLAP_POLICIES[k] === p) ?? String(p).toLowerCase().replace(/_/g, '-');
}

/** `--from`/`--to` of a backfill: real instants, in order. */
export function backfillRange(from: string, to: string): { start: Date; end: Date } {
  for (const [opt, v] of [['--from', from], ['--to', to]] as const) {
    const problem = instantProblem(v);
    if (problem) throw new InputError(`${opt} ${problem}`);
  }
  const start = new Date(from);
  const end = new Date(to);
  if (start.getTime() >= end.getTime()) throw new InputError(`--from ${from} is not before --to ${to}`);
  return { start, end };
}

export interface ScheduleRequest extends ScheduleTiming {
  name: string;
  cluster: string;
  taskQueue: string;
  /** The config's backup.timezone: a schedule's days are the policy's days unless told otherwise. */
  defaultTimezone: string;
  images?: BackupRunInput['images'];
  destination?: string;
  overlap?: string;
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

/** Everything checked, nothing sent: the options the SDK's create takes. */
export function scheduleOptions(r: ScheduleRequest): ScheduleOptions {
  const id = scheduleId(r.cluster, r.name);
  const spec = buildScheduleSpec(r, r.defaultTimezone);
  const overlap = overlapPolicy(r.overlap);
  const catchupWindow = parseScheduleDuration('--catchup-window', r.catchupWindow ?? DEFAULT_CATCHUP_WINDOW);
  // Only the cluster (and what was asked): the worker reads its list file and policy at run time.
  const input = checkRunInput({ cluster: r.cluster, ...(r.images?.length ? { images: r.images } : {}), ...(r.destination ? { destination: r.destination } : {}) });
  return {
    scheduleId: id,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'backupRun',
      taskQueue: r.taskQueue,
      workflowId: scheduledWorkflowId(r.cluster, r.name),
      args: [input],
      typedSearchAttributes: [{ key: RBD_BACKUP_KIND, value: 'backup-run' }],
      staticSummary: scheduledRunSummary(r.name, input.images),
    },
    policies: { overlap, catchupWindow },
    state: { paused: !!r.paused, ...(r.note !== undefined ? { note: r.note } : {}) },
  };
}

/** Turns the SDK's "not found" into bad input naming the schedule. */
async function known<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) throw new InputError(`schedule ${JSON.stringify(name)} does not exist`);
    throw e;
  }
}

export async function createSchedule(client: Client, r: ScheduleRequest): Promise<string> {
  const options = scheduleOptions(r);
  try {
    await client.schedule.create(options);
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) throw new InputError(`schedule ${JSON.stringify(r.name)} already exists (use \`schedule update\`)`);
    throw e;
  }
  return options.scheduleId;
}

export interface ScheduleChange extends ScheduleTiming {
  overlap?: string;
  catchupWindow?: string;
  note?: string;
}

/** Changes timing, overlap, catch-up window or note; the action (cluster, images) stays. */
export async function updateSchedule(client: Client, cluster: string, name: string, defaultTimezone: string, c: ScheduleChange): Promise<void> {
  const timing = c.cron !== undefined || c.every !== undefined;
  const spec = timing ? buildScheduleSpec(c, defaultTimezone) : undefined;
  if (!timing && (c.timezone !== undefined || c.jitter !== undefined)) throw new InputError('--timezone and --jitter need --cron or --every');
  const overlap = c.overlap !== undefined ? overlapPolicy(c.overlap) : undefined;
  const catchupWindow = c.catchupWindow !== undefined ? parseScheduleDuration('--catchup-window', c.catchupWindow) : undefined;
  if (!spec && !overlap && catchupWindow === undefined && c.note === undefined) throw new InputError('nothing to update: give --cron/--every, --overlap, --catchup-window or --note');
  const handle = client.schedule.getHandle(scheduleId(cluster, name));
  await known(name, () =>
    handle.update((prev) => ({
      ...prev,
      ...(spec ? { spec } : {}),
      policies: { ...prev.policies, ...(overlap ? { overlap } : {}), ...(catchupWindow !== undefined ? { catchupWindow } : {}) },
      state: { ...prev.state, ...(c.note !== undefined ? { note: c.note } : {}) },
    })),
  );
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out' | 'continued-as-new' | 'unknown';

/** Temporal's ExecutionStatus names, as the CLI spells them. */
export const STATUS_NAMES: Record<string, RunStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed-out',
  CONTINUED_AS_NEW: 'continued-as-new',
};

export interface ScheduleView {
  name: string;
  scheduleId: string;
  cron?: string[];
  every?: string[];
  timezone?: string;
  paused: boolean;
  note?: string;
  overlap?: string;
  catchupWindowMs?: number;
  input?: unknown;
  nextRuns: string[];
  recentRuns: { nominalTime: string; takenAt: string; workflowId: string; runId: string; status: RunStatus }[];
  runsTaken?: number;
}

const nameOf = (cluster: string, id: string): string => id.slice(`rbd-backup/${cluster}/`.length);

function everyText(ms: number): string {
  for (const [u, s] of [['d', 86400], ['h', 3600], ['m', 60]] as const) if (ms % (s * 1000) === 0) return `${ms / 1000 / s}${u}`;
  return `${ms / 1000}s`;
}

type Ranges = { start: unknown; end: unknown; step: number }[];

/**
 * The server keeps a cron expression only as a structured calendar; this writes it back in cron's
 * field order (minute hour day-of-month month day-of-week), the original text when the server
 * kept it as the calendar's comment.
 */
export function calendarText(c: { comment?: string; minute: Ranges; hour: Ranges; dayOfMonth: Ranges; month: Ranges; dayOfWeek: Ranges }): string {
  if (c.comment) return c.comment;
  const field = (rs: Ranges, all: [unknown, unknown]): string =>
    rs.length === 1 && rs[0]!.start === all[0] && rs[0]!.end === all[1] && rs[0]!.step === 1
      ? '*'
      : rs.map((r) => `${String(r.start).slice(0, 3).toLowerCase()}${r.end !== r.start ? `-${String(r.end).slice(0, 3).toLowerCase()}` : ''}${r.step > 1 ? `/${r.step}` : ''}`).join(',');
  return [
    field(c.minute, [0, 59]),
    field(c.hour, [0, 23]),
    field(c.dayOfMonth, [1, 31]),
    field(c.month, ['JANUARY', 'DECEMBER']),
    field(c.dayOfWeek, ['SUNDAY', 'SATURDAY']),
  ].join(' ');
}

export async function describeSchedule(client: Client, cluster: string, name: string, recent = 10): Promise<ScheduleView> {
  const handle = client.schedule.getHandle(scheduleId(cluster, name));
  const d: ScheduleDescription = await known(name, () => handle.describe());
  const runs = d.info.recentActions.slice(-recent).reverse();
  const recentRuns = await Promise.all(
    runs.map(async (a) => {
      const { workflowId, firstExecutionRunId } = a.action.workflow;
      const status = await client.workflow
        .getHandle(workflowId, firstExecutionRunId)
        .describe()
        .then((x) => STATUS_NAMES[x.status.name] ?? 'unknown')
        .catch((e: unknown) => {
          if (e instanceof WorkflowNotFoundError) return 'unknown' as const;
          throw e;
        });
      return { nominalTime: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString(), workflowId, runId: firstExecutionRunId, status };
    }),
  );
  const action = d.action as { args?: unknown[] };
  return {
    name,
    scheduleId: d.scheduleId,
    ...(d.spec.calendars?.length ? { cron: d.spec.calendars.map(calendarText) } : {}),
    ...(d.spec.intervals?.length ? { every: d.spec.intervals.map((i) => everyText(Number(i.every))) } : {}),
    ...(d.spec.timezone ? { timezone: d.spec.timezone } : {}),
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    overlap: overlapWord(d.policies.overlap),
    catchupWindowMs: Number(d.policies.catchupWindow),
    input: action.args?.[0],
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns,
    runsTaken: d.info.numActionsTaken,
  };
}

export interface ScheduleListItem {
  name: string;
  scheduleId: string;
  paused: boolean;
  note?: string;
  cron?: string[];
  every?: string[];
  nextRun?: string;
  lastRun?: string;
}

/** Ours only: the schedules whose ID starts with `rbd-backup/<cluster>/`. */
export async function listSchedules(client: Client, cluster: string): Promise<ScheduleListItem[]> {
  const prefix = `rbd-backup/${cluster}/`;
  const out: ScheduleListItem[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(prefix)) continue;
    const spec = s.spec;
    out.push({
      name: nameOf(cluster, s.scheduleId),
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      ...(s.state.note ? { note: s.state.note } : {}),
      ...(spec?.calendars?.length ? { cron: spec.calendars.map(calendarText) } : {}),
      ...(spec?.intervals?.length ? { every: spec.intervals.map((i) => everyText(Number(i.every))) } : {}),
      ...(s.info.nextActionTimes[0] ? { nextRun: s.info.nextActionTimes[0].toISOString() } : {}),
      ...(s.info.recentActions.at(-1) ? { lastRun: s.info.recentActions.at(-1)!.scheduledAt.toISOString() } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function handleOf(client: Client, cluster: string, name: string): ScheduleHandle {
  return client.schedule.getHandle(scheduleId(cluster, name));
}

export const pauseSchedule = (client: Client, cluster: string, name: string, note?: string): Promise<void> =>
  known(name, () => handleOf(client, cluster, name).pause(note ?? 'paused by rbd-backup'));
export const unpauseSchedule = (client: Client, cluster: string, name: string, note?: string): Promise<void> =>
  known(name, () => handleOf(client, cluster, name).unpause(note ?? 'unpaused by rbd-backup'));
/** A run now, under the schedule's own overlap policy (Skip drops it while a run is in flight). */
export const triggerSchedule = async (client: Client, cluster: string, name: string): Promise<void> => {
  const handle = handleOf(client, cluster, name);
  const d = await known(name, () => handle.describe());
  await handle.trigger(d.policies.overlap);
};
/** Every slot of the spec in the range, each acting as of its nominal time; all of them are kept. */
export const backfillSchedule = (client: Client, cluster: string, name: string, start: Date, end: Date): Promise<void> =>
  known(name, () => handleOf(client, cluster, name).backfill({ start, end, overlap: 'BUFFER_ALL' }));
export const deleteSchedule = (client: Client, cluster: string, name: string): Promise<void> => known(name, () => handleOf(client, cluster, name).delete());
