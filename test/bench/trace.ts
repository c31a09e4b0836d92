/**
 * Where a run's time goes, read from the workflow histories (the run and every child it started):
 * each activity's dispatch (scheduled → started) and its own time (started → closed), each
 * child's start, each workflow task, placed on one time line that starts when the CLI was launched.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export interface Step {
  /** Which workflow: `run`, or the child's type. */
  workflow: string;
  what: string;
  /** ms since the CLI was launched. */
  start: number;
  end: number;
}

const ms = (e: Event): number => {
  const t = e.eventTime!;
  const s = typeof t.seconds === 'number' ? t.seconds : Number(t.seconds?.toString() ?? 0);
  return s * 1000 + (t.nanos ?? 0) / 1e6;
};
const id = (n: unknown): string => String(n ?? '');

/** Steps of one workflow execution and, recursively, of the children it started. */
export async function traceWorkflow(client: Client, workflowId: string, runId: string | undefined, t0: number, label = 'run'): Promise<Step[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const events = history.events ?? [];
  const steps: Step[] = [];
  const byId = new Map<string, Event>();
  let wftScheduled: number | undefined;
  let wftStarted: number | undefined;
  let wftCount = 0;
  let wftTotal = 0;
  let wftQueued = 0;
  const children: Promise<Step[]>[] = [];
  for (const e of events) {
    byId.set(id(e.eventId), e);
    const t = ms(e) - t0;
    if (e.workflowExecutionStartedEventAttributes) steps.push({ workflow: label, what: 'workflow started', start: t, end: t });
    else if (e.workflowTaskScheduledEventAttributes) wftScheduled = t;
    else if (e.workflowTaskStartedEventAttributes) wftStarted = t;
    else if (e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) {
      wftCount++;
      if (wftScheduled !== undefined) wftTotal += t - wftScheduled;
      if (wftScheduled !== undefined && wftStarted !== undefined) wftQueued += wftStarted - wftScheduled;
      wftScheduled = wftStarted = undefined;
    } else if (e.activityTaskStartedEventAttributes) {
      const sched = byId.get(id(e.activityTaskStartedEventAttributes.scheduledEventId));
      const name = sched?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      if (sched) steps.push({ workflow: label, what: `${name} dispatch`, start: ms(sched) - t0, end: t });
    } else if (e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes!;
      const started = byId.get(id(a.startedEventId));
      const sched = byId.get(id(a.scheduledEventId));
      const name = sched?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      const failed = e.activityTaskCompletedEventAttributes ? '' : ' (failed)';
      if (started) steps.push({ workflow: label, what: `${name}${failed}`, start: ms(started) - t0, end: t });
    } else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      steps.push({ workflow: label, what: 'local activity recorded', start: t, end: t });
    } else if (e.childWorkflowExecutionStartedEventAttributes) {
      const a = e.childWorkflowExecutionStartedEventAttributes;
      const init = byId.get(id(a.initiatedEventId));
      const type = a.workflowType?.name ?? 'child';
      if (init) steps.push({ workflow: label, what: `${type} child start`, start: ms(init) - t0, end: t });
      children.push(traceWorkflow(client, a.workflowExecution!.workflowId!, a.workflowExecution!.runId ?? undefined, t0, type));
    } else if (e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes) {
      const a = e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes!;
      const init = byId.get(id(a.initiatedEventId));
      const type = a.workflowType?.name ?? 'child';
      if (init) steps.push({ workflow: label, what: `${type} child (whole)`, start: ms(init) - t0, end: t });
    } else if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) {
      const first = ms(events[0]!) - t0;
      steps.push({ workflow: label, what: 'workflow (whole)', start: first, end: t });
      steps.push({ workflow: label, what: `workflow tasks: ${wftCount}, queued ${wftQueued.toFixed(0)} ms`, start: first, end: first + wftTotal });
    }
  }
  for (const c of await Promise.all(children)) steps.push(...c);
  return steps.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** One line per step: offset from the CLI's launch, duration, workflow and step. */
export function formatTrace(steps: Step[], cliExit: number): string {
  const lines = steps.map((s) => `  +${(s.start / 1000).toFixed(3).padStart(7)} s  ${((s.end - s.start) / 1000).toFixed(3).padStart(7)} s  ${s.workflow.padEnd(12)} ${s.what}`);
  const started = steps.find((s) => s.what === 'workflow started' && s.workflow === 'run');
  const whole = steps.find((s) => s.what === 'workflow (whole)' && s.workflow === 'run');
  if (started) lines.unshift(`  +  0.000 s  ${(started.start / 1000).toFixed(3).padStart(7)} s  cli          launch → run workflow started (node start, config, connect, worker check, describe, start)`);
  if (whole) lines.push(`  +${(whole.end / 1000).toFixed(3).padStart(7)} s  ${((cliExit - whole.end) / 1000).toFixed(3).padStart(7)} s  cli          run closed → CLI exited (result, print, exit)`);
  return lines.join('\n');
}
