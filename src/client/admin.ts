/**
 * Checks and set-up against the Temporal server itself: our search attributes, and whether any
 * worker polls a task queue.
 */
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { InputError } from '../config/config.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';

const { temporal } = proto;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
const KEYWORD_LIST = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST;

/** Registers our search attributes when missing, so a plain server (compose, prod) works too. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const have = await connection.operatorService.listSearchAttributes({ namespace });
  const missing: Record<string, IndexedValueType> = {};
  for (const k of CUSTOM_SEARCH_ATTRIBUTES) {
    if (!have.customAttributes?.[k.name]) missing[k.name] = k.type === 'KEYWORD_LIST' ? KEYWORD_LIST : KEYWORD;
  }
  if (Object.keys(missing).length) await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
}

/**
 * A run nobody works on waits forever: say so at once instead. Also turns an unknown namespace
 * into a config error.
 */
export async function checkWorkerPolls(client: Client, namespace: string, taskQueue: string, address: string): Promise<void> {
  let pollers: unknown[] | null | undefined;
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    pollers = r.pollers;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/namespace/i.test(msg) && /not found/i.test(msg)) throw new InputError(`temporal.namespace: namespace ${namespace} does not exist on ${address}`);
    throw e;
  }
  if (!pollers?.length) {
    throw new InputError(`no worker polls task queue ${taskQueue} on ${address} (namespace ${namespace}): start one with \`rbd-backup worker --config FILE\``);
  }
}

