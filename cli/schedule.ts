import { Client } from '@temporalio/client';
import { InputError, type Config } from '../src/config/config.js';
import { imagesFromArgs } from '../src/config/image-list.js';
import { connect } from '../src/client/connection.js';
import {
  backfillRange,
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  listSchedules,
  pauseSchedule,
  scheduleId,
  scheduleOptions,
  triggerSchedule,
  unpauseSchedule,
  updateSchedule,
  type ScheduleView,
} from '../src/client/schedule.js';
import { checkName } from '../src/names/names.js';
import { EXIT_OK, configFrom, destinationKey, printJson } from './common.js';

interface Common {
  config?: string;
  json?: boolean;
}
interface TimingOptions {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
  overlap?: string;
  catchupWindow?: string;
  note?: string;
}
export interface CreateOptions extends Common, TimingOptions {
  paused?: boolean;
  destination?: string;
}

/** Schedules need no worker to exist; only the server. Input is checked before connecting. */
async function withClient<T>(cfg: Config, work: (c: Client) => Promise<T>): Promise<T> {
  const connection = await connect(cfg.temporal.address);
  try {
    return await work(new Client({ connection, namespace: cfg.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

function done(o: Common, doc: Record<string, unknown>, line: string): number {
  if (o.json) printJson(doc);
  else process.stdout.write(line + '\n');
  return EXIT_OK;
}

const timing = (o: TimingOptions) => ({
  ...(o.cron !== undefined ? { cron: o.cron } : {}),
  ...(o.every !== undefined ? { every: o.every } : {}),
  ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
  ...(o.jitter !== undefined ? { jitter: o.jitter } : {}),
  ...(o.overlap !== undefined ? { overlap: o.overlap } : {}),
  ...(o.catchupWindow !== undefined ? { catchupWindow: o.catchupWindow } : {}),
  ...(o.note !== undefined ? { note: o.note } : {}),
});

export async function scheduleCreateCommand(name: string, images: string[], o: CreateOptions): Promise<number> {
  const cfg = configFrom(o);
  const request = {
    name,
    cluster: cfg.cluster.name,
    taskQueue: cfg.temporal.task_queue,
    defaultTimezone: cfg.backup.timezone,
    ...(images.length ? { images: imagesFromArgs(images) } : {}),
    ...destinationKey(o.destination),
    ...timing(o),
    paused: !!o.paused,
  };
  scheduleOptions(request);
  const id = await withClient(cfg, (c) => createSchedule(c, request));
  return done(o, { scheduleId: id, name, paused: !!o.paused }, `created schedule ${id}${o.paused ? ' (paused)' : ''}`);
}

export async function scheduleUpdateCommand(name: string, o: Common & TimingOptions): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  await withClient(cfg, (c) => updateSchedule(c, cfg.cluster.name, name, cfg.backup.timezone, timing(o)));
  return done(o, { scheduleId: id, name }, `updated schedule ${id}`);
}

export async function scheduleDescribeCommand(name: string, o: Common): Promise<number> {
  const cfg = configFrom(o);
  scheduleId(cfg.cluster.name, name);
  const v = await withClient(cfg, (c) => describeSchedule(c, cfg.cluster.name, name));
  if (o.json) printJson(v);
  else process.stdout.write(describeText(v));
  return EXIT_OK;
}

function describeText(v: ScheduleView): string {
  const out = [
    `schedule ${v.scheduleId}: ${v.paused ? 'paused' : 'active'}${v.note ? ` (${v.note})` : ''}`,
    `  spec: ${[...(v.cron ?? []).map((c) => `cron '${c}'`), ...(v.every ?? []).map((e) => `every ${e}`)].join(', ')} in ${v.timezone ?? 'UTC'}`,
    `  overlap: ${v.overlap}, catch-up window: ${(v.catchupWindowMs ?? 0) / 1000}s`,
    `  input: ${JSON.stringify(v.input)}`,
    `  next runs: ${v.nextRuns.length ? v.nextRuns.join(', ') : '-'}`,
    `  recent runs:${v.recentRuns.length ? '' : ' -'}`,
    ...v.recentRuns.map((r) => `    ${r.nominalTime} ${r.status} ${r.workflowId}`),
  ];
  return out.join('\n') + '\n';
}

export async function scheduleListCommand(o: Common): Promise<number> {
  const cfg = configFrom(o);
  const all = await withClient(cfg, (c) => listSchedules(c, cfg.cluster.name));
  if (o.json) printJson(all);
  else if (!all.length) process.stdout.write(`no schedules for cluster ${cfg.cluster.name}\n`);
  else {
    const lines = all.map(
      (s) =>
        `${s.name}\t${s.paused ? 'paused' : 'active'}\t${[...(s.cron ?? []).map((c) => `cron '${c}'`), ...(s.every ?? []).map((e) => `every ${e}`)].join(', ')}\tnext ${s.nextRun ?? '-'}\tlast ${s.lastRun ?? '-'}`,
    );
    process.stdout.write(lines.join('\n') + '\n');
  }
  return EXIT_OK;
}

export async function schedulePauseCommand(name: string, o: Common & { note?: string }): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  await withClient(cfg, (c) => pauseSchedule(c, cfg.cluster.name, name, o.note));
  return done(o, { scheduleId: id, paused: true }, `paused schedule ${id}`);
}

export async function scheduleUnpauseCommand(name: string, o: Common & { note?: string }): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  await withClient(cfg, (c) => unpauseSchedule(c, cfg.cluster.name, name, o.note));
  return done(o, { scheduleId: id, paused: false }, `unpaused schedule ${id}`);
}

export async function scheduleTriggerCommand(name: string, o: Common): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  await withClient(cfg, (c) => triggerSchedule(c, cfg.cluster.name, name));
  return done(o, { scheduleId: id, triggered: true }, `triggered schedule ${id} (its overlap policy decides whether a run starts)`);
}

export async function scheduleBackfillCommand(name: string, o: Common & { from?: string; to?: string }): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  checkName('schedule', name);
  if (o.from === undefined || o.to === undefined) throw new InputError('backfill needs --from ISO and --to ISO');
  const { start, end } = backfillRange(o.from, o.to);
  await withClient(cfg, (c) => backfillSchedule(c, cfg.cluster.name, name, start, end));
  return done(o, { scheduleId: id, from: start.toISOString(), to: end.toISOString() }, `backfilling schedule ${id} from ${start.toISOString()} to ${end.toISOString()}`);
}

export async function scheduleDeleteCommand(name: string, o: Common): Promise<number> {
  const cfg = configFrom(o);
  const id = scheduleId(cfg.cluster.name, name);
  await withClient(cfg, (c) => deleteSchedule(c, cfg.cluster.name, name));
  return done(o, { scheduleId: id, deleted: true }, `deleted schedule ${id}`);
}
