/**
 * Where a backup run stands, for `status` and `cancel`, read without adding a single event to any
 * history: the run's `progress` query (plans and results), each running image's own `progress`
 * query (its step), and for an export in flight its activity's latest heartbeat details, which a
 * workflow never sees and describe() does.
 */
import { Client, WorkflowNotFoundError, type WorkflowClient, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { InputError } from '../config/config.js';
import { imageWorkflowId, runWorkflowId } from '../contract/backup.js';
import { PROGRESS_QUERY, type ImageBackupProgress, type ImagePhase, type ImageProgress, type RunProgress } from '../contract/progress.js';
import { RBD_BACKUP_KIND } from '../contract/search-attributes.js';

/** An image as `status` shows it: the run's view refined by the child's and the export's. */
export interface ImageStatus extends ImageProgress {
  /** The export's own step while it runs (`export`, then `fsync`). */
  exportStep?: string;
  /** Bytes per second of this export since its attempt started, when known. */
  rate?: number;
}

export interface RunStatus {
  workflowId: string;
  runId: string;
  /** Temporal's: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, … */
  status: string;
  startTime: string;
  closeTime?: string;
  progress: RunProgress;
  images: ImageStatus[];
  totals: Totals;
}

export interface Totals {
  images: number;
  byPhase: Partial<Record<ImagePhase, number>>;
  bytesDone: number;
  bytesExpected: number;
  /** Bytes per second, when some export is running and has written anything. */
  rate?: number;
  /** Seconds left at `rate`. */
  etaSeconds?: number;
}

const NOT_COUNTED: ReadonlySet<ImagePhase> = new Set(['failed', 'busy', 'cancelled', 'skipped', 'not-scheduled']);

/** Run totals; `rate` is given by the caller when it knows better (two samples) than the exports. */
export function totalsOf(images: ImageStatus[], rate?: number): Totals {
  const byPhase: Totals['byPhase'] = {};
  let bytesDone = 0;
  let bytesExpected = 0;
  let exportRate = 0;
  for (const i of images) {
    byPhase[i.phase] = (byPhase[i.phase] ?? 0) + 1;
    // A failed or cancelled image's bytes will never come: counting them would stall the ETA.
    if (NOT_COUNTED.has(i.phase)) continue;
    bytesDone += i.bytesDone ?? 0;
    bytesExpected += i.bytesExpected ?? 0;
    exportRate += i.rate ?? 0;
  }
  const t: Totals = { images: images.length, byPhase, bytesDone, bytesExpected };
  const r = rate ?? (exportRate > 0 ? exportRate : undefined);
  if (r !== undefined && r > 0) {
    t.rate = r;
    t.etaSeconds = Math.max(0, Math.ceil((bytesExpected - bytesDone) / r));
  }
  return t;
}

/**
 * RUN is a workflow ID (it holds a `/`) or a backup name of this cluster; none means the newest
 * backup run of this cluster. An unknown one is the request's fault (exit 2).
 */
export async function findRun(client: Client, cluster: string, run: string | undefined): Promise<WorkflowHandle> {
  if (run === undefined) {
    const prefix = runWorkflowId(cluster, '');
    let newest: { workflowId: string; runId: string; start: number } | undefined;
    // Visibility orders open runs first, then by close time: the newest start is picked here.
    for await (const w of client.workflow.list({ query: `${RBD_BACKUP_KIND.name} = 'backup-run'` })) {
      if (!w.workflowId.startsWith(prefix)) continue;
      const start = w.startTime.getTime();
      if (!newest || start > newest.start) newest = { workflowId: w.workflowId, runId: w.runId, start };
    }
    if (!newest) throw new InputError(`no backup run of cluster ${cluster} found`);
    return client.workflow.getHandle(newest.workflowId, newest.runId);
  }
  const workflowId = run.includes('/') ? run : runWorkflowId(cluster, run);
  const handle = client.workflow.getHandle(workflowId);
  try {
    const d = await handle.describe();
    if (d.type !== 'backupRun') throw new InputError(`${run}: workflow ${workflowId} is a ${d.type}, not a backup run`);
    return client.workflow.getHandle(workflowId, d.runId);
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) throw new InputError(`${run}: no backup run ${workflowId}`);
    throw e;
  }
}

type Ts = { seconds?: number | { toNumber(): number } | null; nanos?: number | null } | null | undefined;
function tsMs(t: Ts): number | undefined {
  if (!t) return undefined;
  const s = typeof t.seconds === 'number' ? t.seconds : t.seconds ? t.seconds.toNumber() : 0;
  return s * 1000 + Math.round((t.nanos ?? 0) / 1e6);
}

/** Pending activity state 1 is SCHEDULED: no worker slot has taken the export yet. */
const SCHEDULED = 1;

/** A planned image refined by its own child, if that child is working for this run. */
async function imageStatus(client: WorkflowClient, cluster: string, runWorkflowId: string, i: ImageProgress, now: number): Promise<ImageStatus> {
  const child = client.getHandle(imageWorkflowId(cluster, i));
  let p: ImageBackupProgress;
  try {
    p = await child.query<ImageBackupProgress>(PROGRESS_QUERY);
  } catch {
    // Not started yet, or the image's ID is held by something without this query: still planned.
    return i;
  }
  // The image's workflow ID is shared by every run, restore and delete of the image.
  if (p.parentWorkflowId !== runWorkflowId) return i;
  if (p.step !== 'export') {
    const phase: ImagePhase = p.step === 'done' ? 'pruning' : p.step === 'failed' || p.step === 'cancelled' ? 'deleting snapshots' : p.step;
    // Past the export its file is written; the run records the bytes once the child returns.
    return { ...i, phase, ...(phase !== 'snapshot' && p.step !== 'failed' && p.step !== 'cancelled' ? { bytesDone: i.bytesExpected } : {}) };
  }
  const d = await child.describe();
  const a = (d.raw.pendingActivities ?? []).find((x) => x.activityType?.name === 'exportPoint');
  if (!a || a.state === SCHEDULED) return { ...i, phase: 'queued for export' };
  const payload = a.heartbeatDetails?.payloads?.[0];
  const beat = (payload ? defaultPayloadConverter.fromPayload(payload) : undefined) as { phase?: string; written?: number; hashed?: number } | undefined;
  const written = beat?.written ?? 0;
  const s: ImageStatus = { ...i, phase: 'exporting', bytesDone: written };
  if (beat?.phase) s.exportStep = beat.phase;
  // A full's file ends at the provisioned size; a diff's real size is only known at its end.
  if (s.bytesExpected !== undefined && written > s.bytesExpected) s.bytesExpected = written;
  const started = tsMs(a.lastStartedTime as Ts);
  if (started !== undefined && now > started && written > 0 && beat?.phase === 'export') s.rate = (written * 1000) / (now - started);
  return s;
}

/** Bounded fan-out: a run of 2,000 images must not open 2,000 queries at once. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        out[k] = await fn(items[k]!);
      }
    }),
  );
  return out;
}

export async function runStatus(handle: WorkflowHandle, rate?: number): Promise<RunStatus> {
  const d = await handle.describe();
  let progress: RunProgress;
  try {
    progress = await handle.query<RunProgress>(PROGRESS_QUERY);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`run ${handle.workflowId} does not answer the progress query (started by an older version?): ${why}`);
  }
  const now = Date.now();
  const open = d.status.name === 'RUNNING';
  const client = handle.client;
  const images = await mapLimit(progress.images, 16, (i) => (open && i.phase === 'planned' ? imageStatus(client, progress.cluster, handle.workflowId, i, now) : Promise.resolve(i as ImageStatus)));
  const s: RunStatus = {
    workflowId: handle.workflowId,
    runId: d.runId,
    status: d.status.name,
    startTime: d.startTime.toISOString(),
    progress,
    images,
    totals: totalsOf(images, open ? rate : 0),
  };
  if (d.closeTime) s.closeTime = d.closeTime.toISOString();
  return s;
}

/** Where a run stands, by backup name or workflow ID; none means the cluster's newest backup run. */
export async function getProgress(client: Client, cluster: string, run?: string): Promise<RunStatus> {
  return runStatus(await findRun(client, cluster, run));
}
