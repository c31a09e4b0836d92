/**
 * Exit codes and the one-line error every command ends with. Errors are matched by name, not by
 * class: this module is loaded before any command, and must not pull in the Temporal client or
 * the config schema just to print `--help`.
 */
import { INPUT_ERROR } from '../src/contract/backup.js';

/** Bad input, bad config, unreachable services: the request or the set-up (exit 2). */
const BAD_INPUT_ERRORS = new Set(['InputError', 'NameError', 'UnreachableError']);

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
/** `run --timeout` expired: the run was not judged and goes on in Temporal. */
export const EXIT_STILL_RUNNING = 3;

/**
 * Errors of the backup data rather than of the request: an unreadable catalog or a path that is
 * not what the catalog says. Matched by name, as activities do, because they may arrive from
 * modules this file does not import.
 */
const DATA_ERRORS = new Set(['CatalogUnreadableError', 'UnsafePathError', 'IdentityUnreadableError']);

/** One line, whatever the message holds: a second line would be read as another error. */
export function errorLine(msg: string): void {
  process.stderr.write(`rbd-backup: ${msg.trim().replace(/\s*\n\s*/g, ' ')}\n`);
}

/** Every command ends here on error: one line on stderr naming the culprit, and the right exit code. */
export function exitOnError(e: unknown): never {
  const name = e instanceof Error ? e.name : '';
  if (BAD_INPUT_ERRORS.has(name)) {
    errorLine((e as Error).message);
    process.exit(EXIT_BAD_INPUT);
  }
  if (name === 'BusyError') {
    errorLine((e as Error).message);
    process.exit(EXIT_FAILED);
  }
  if (DATA_ERRORS.has(name)) {
    errorLine((e as Error).message);
    process.exit(EXIT_FAILED);
  }
  if (name === 'WorkflowExecutionAlreadyStartedError') {
    errorLine(`a run with workflow ID ${(e as { workflowId?: string }).workflowId} already exists: choose another --backup-name`);
    process.exit(EXIT_BAD_INPUT);
  }
  if (name === 'WorkflowFailedError') {
    const root = rootCause(e as Error);
    errorLine(root.message);
    process.exit(root.name === 'ApplicationFailure' && (root as { type?: string }).type === INPUT_ERROR ? EXIT_BAD_INPUT : EXIT_FAILED);
  }
  // A plain Error's message says it all; another type (TypeError, …) is a bug and keeps its name.
  errorLine(e instanceof Error ? (e.name === 'Error' ? e.message : `${e.name}: ${e.message}`) : String(e));
  process.exit(EXIT_FAILED);
}

/** The innermost failure: an activity's own error rather than "Activity task failed". */
function rootCause(e: Error): Error {
  let c: Error = e;
  while (c.cause instanceof Error) c = c.cause;
  return c;
}

