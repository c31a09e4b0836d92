/**
 * Workflow tests without Ceph: the real workflows, bundled once, on a Temporal dev server of their
 * own, with fake activities. Unlike ./env.ts this needs nothing from scripts/test-run.mjs, so
 * `node --test dist/test/workflow/*.test.js` runs on its own.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import { pino } from 'pino';
import { configSchema, type Config } from '../../src/config/config.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes.js';
import type { Activities } from '../../activities/index.js';
import { createWorkerSet, workflowsPath } from '../../worker/worker.js';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The CLI scripts/temporal-dev installs: createLocal would otherwise download one. */
export const temporalCli = join(repo, '.tools', 'bin', 'temporal');

/**
 * Warnings the tests provoke on purpose and assert on (failed workflows and activities), and the
 * export and snapshot-deletion workers noting that they poll for activities only. Every other
 * warning still prints.
 */
const EXPECTED_WARNINGS = new Set(['Workflow failed', 'Activity failed', 'No workflows registered, not polling for workflow tasks']);

let runtimeReady = false;
/** The SDK's INFO lines (worker state changes, one per test) would bury the test output. */
export function quietRuntime(): void {
  if (runtimeReady) return;
  runtimeReady = true;
  const sink = new DefaultLogger('WARN');
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (!EXPECTED_WARNINGS.has(entry.message)) sink.log(entry.level, entry.message, entry.meta);
    }),
  });
}

export async function localEnv(): Promise<TestWorkflowEnvironment> {
  if (!existsSync(temporalCli)) throw new Error(`${temporalCli} is missing: run scripts/temporal-dev install (or scripts/setup)`);
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli },
      // The workflows upsert and set these; an unregistered attribute fails the workflow task.
      searchAttributes: CUSTOM_SEARCH_ATTRIBUTES,
      // Its errors here are routine (a startup health probe, writes cut short when a test's worker
      // stops) and would read as failures in a passing suite; the tests judge by the histories.
      log: { format: 'pretty', level: 'never' },
    },
  });
}

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundling takes seconds of CPU: once per process, shared by every worker and replay. */
export function workflowBundle(): Promise<WorkflowBundle> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  return bundle;
}

/** A worker config for fakes: every weekday a full day, so any as-of instant plans work. */
export function fakeConfig(taskQueue: string): Config {
  return configSchema.parse({
    cluster: { name: 'ceph' },
    backup: { destination: 'fake-destination', concurrency: 4, full_weekdays: [1, 2, 3, 4, 5, 6, 7], incremental_weekdays: [] },
    temporal: { task_queue: taskQueue },
  });
}

/**
 * The worker set as production wires it (three task queues), on the given fakes, for the length of
 * `body`. The config only supplies the task queue and policy: the fakes never read paths.
 */
export async function withWorkers<T>(env: TestWorkflowEnvironment, config: Config, activities: Activities, body: () => Promise<T>): Promise<T> {
  const workers = await createWorkerSet({
    config,
    logger: pino({ level: 'silent' }),
    connection: env.nativeConnection,
    activities,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '2s',
  });
  const running = workers.run();
  try {
    return await body();
  } finally {
    workers.shutdown();
    await running;
  }
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** A history paged small: one page of a run with hundreds of children can pass gRPC's 4 MiB limit. */
export async function historyOf(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
      maximumPageSize: 200,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

/** Activities in the order the workflow scheduled them, with their task queue and first argument. */
export function scheduledActivities(events: HistoryEvent[]): { type: string; taskQueue: string; input: unknown }[] {
  return events.flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a) return [];
    const payload = a.input?.payloads?.[0];
    return [{ type: a.activityType?.name ?? '', taskQueue: a.taskQueue?.name ?? '', input: payload ? defaultPayloadConverter.fromPayload(payload) : undefined }];
  });
}

/** The name of each event's type, e.g. ACTIVITY_TASK_CANCEL_REQUESTED, for order assertions. */
export function eventTypes(events: HistoryEvent[]): string[] {
  return events.map((e) => eventTypeName(e.eventType));
}

function eventTypeName(t: HistoryEvent['eventType']): string {
  const name = typeof t === 'number' ? proto.temporal.api.enums.v1.EventType[t] : String(t);
  return (name ?? String(t)).replace(/^EVENT_TYPE_/, '');
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
