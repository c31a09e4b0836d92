import { WorkflowFailedError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InputError, loadConfig, type Config } from '../config/config.js';
import { UnreachableError } from '../client/connection.js';
import { NameError } from '../names/names.js';
import { INPUT_ERROR } from '../contract/backup.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
/** `run --timeout` expired: the run was not judged and goes on in Temporal. */
export const EXIT_STILL_RUNNING = 3;

/** The image's mutex is held by another run: not bad input, but nothing was done (exit 1). */
export class BusyError extends Error {
  override name = 'BusyError';
}

/** Every command ends here on error: one line on stderr naming the culprit, and the right exit code. */
export function exitOnError(e: unknown): never {
  const line = (msg: string) => process.stderr.write(`rbd-backup: ${msg.split('\n')[0]}\n`);
  if (e instanceof InputError || e instanceof NameError || e instanceof UnreachableError) {
    line(e.message);
    process.exit(EXIT_BAD_INPUT);
  }
  if (e instanceof BusyError) {
    line(e.message);
    process.exit(EXIT_FAILED);
  }
  if (e instanceof WorkflowExecutionAlreadyStartedError) {
    line(`a run with workflow ID ${e.workflowId} already exists: choose another --backup-name`);
    process.exit(EXIT_BAD_INPUT);
  }
  if (e instanceof WorkflowFailedError) {
    const root = rootCause(e);
    line(root.message);
    process.exit(root instanceof ApplicationFailure && BAD_INPUT_FAILURES.has(root.type ?? '') ? EXIT_BAD_INPUT : EXIT_FAILED);
  }
  // The catalog's own errors already name the file and what to do.
  if (e instanceof Error && (e.name === 'CatalogUnreadableError' || e.name === 'IdentityUnreadableError' || e.name === 'UnsafePathError')) {
    line(e.message);
    process.exit(e.name === 'CatalogUnreadableError' ? EXIT_FAILED : EXIT_BAD_INPUT);
  }
  line(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(EXIT_FAILED);
}

/**
 * Failures that mean "the request or the set-up is wrong" (exit 2) rather than "the work failed"
 * (exit 1): bad input, an unreadable cluster.json, a planted symlink in the destination.
 */
const BAD_INPUT_FAILURES = new Set([INPUT_ERROR, 'IdentityUnreadableError', 'UnsafePathError']);

/** The innermost failure: an activity's own error rather than "Activity task failed". */
function rootCause(e: Error): Error {
  let c: Error = e;
  while (c.cause instanceof Error) c = c.cause;
  return c;
}

export function configFrom(opts: { config?: string }): Config {
  if (!opts.config) throw new InputError('--config FILE is required');
  return loadConfig(opts.config);
}

export function printJson(doc: unknown): void {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

export function humanBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `10m`, `2h`, `1d` → milliseconds. */
export function parseDuration(option: string, s: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (!m || Number(m[1]) === 0) throw new InputError(`${option} ${JSON.stringify(s)} is not a duration such as 90s, 10m, 2h or 1d`);
  return Number(m[1]) * UNITS[m[2]!]! * 1000;
}

/** The result, or undefined when `ms` passed first (the work itself is not stopped). */
export async function waitBounded<T>(work: Promise<T>, ms: number | undefined): Promise<T | undefined> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), ms)));
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
