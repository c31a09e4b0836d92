import { ApplicationFailure, Context } from '@temporalio/activity';
import { RbdError, ENOENT } from '../src/rbd/rbd.js';
import { INPUT_ERROR, type FailureDetail } from '../src/contract/backup.js';

/**
 * errno values that no retry can heal: the disk is full or read-only, or we may not write there.
 * Failing at once, with what to do, beats eight retries that end in the same message.
 */
const HOPELESS: Record<string, { errno: number; hint: string }> = {
  ENOSPC: { errno: 28, hint: 'the backup destination is full: free space or grow it, then run again' },
  EDQUOT: { errno: 122, hint: 'the backup destination is over its quota: free space, then run again' },
  EROFS: { errno: 30, hint: 'the backup destination is read-only: check how it is mounted' },
  EACCES: { errno: 13, hint: 'permission denied: the worker may not write there' },
  EPERM: { errno: 1, hint: 'operation not permitted for the worker' },
};

/** Typed errors of our own modules that describe a state, not a hiccup: retrying changes nothing. */
const STATE_ERRORS = new Set(['InputError', 'NameError', 'CatalogUnreadableError', 'UnsafePathError', 'IdentityUnreadableError', 'RebuildRefusedError']);

/**
 * Activity errors as Temporal failures: rbd's command, exit code and stderr travel as details so the
 * workflow can put them in the report; input problems and hopeless I/O are never retried, while
 * timeouts and a cluster that does not answer are (the activity's retry policy bounds them).
 */
export function toFailure(e: unknown): unknown {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof RbdError) {
    const d: FailureDetail = { message: e.message, command: e.command, stderr: e.stderr };
    if (e.exitCode !== undefined) d.exitCode = e.exitCode;
    // Only an export writes a file of ours: there these errnos are about the backup disk. From a
    // command that changes an image, EROFS means its exclusive lock is still held (a client that
    // died holding it is fenced after a while), so those are retried like any cluster hiccup.
    const writesFile = /^rbd export(-diff)? /.test(e.command);
    const hopeless = writesFile ? Object.entries(HOPELESS).find(([, v]) => v.errno === e.errno) : undefined;
    if (hopeless) {
      d.message = `${e.message} (${hopeless[0]}: ${hopeless[1].hint})`;
      return ApplicationFailure.create({ message: d.message, type: hopeless[0], nonRetryable: true, details: [d] });
    }
    // A missing image, snapshot or pool does not come back by waiting.
    if (e.errno === ENOENT) return ApplicationFailure.create({ message: e.message, type: 'NotFound', nonRetryable: true, details: [d] });
    return ApplicationFailure.create({ message: e.message, type: 'RbdError', details: [d] });
  }
  if (e instanceof Error && STATE_ERRORS.has(e.name)) {
    const type = e.name === 'NameError' ? INPUT_ERROR : e.name;
    return ApplicationFailure.create({ message: e.message, type, nonRetryable: true, details: [{ message: e.message }] });
  }
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && HOPELESS[code]) {
    const message = `${(e as Error).message} (${HOPELESS[code]!.hint})`;
    return ApplicationFailure.create({ message, type: code, nonRetryable: true, details: [{ message }] });
  }
  return e;
}

/** What the current step of each running activity reports in its heartbeats. */
const progress = new WeakMap<Context, () => unknown>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Every activity runs its body through runActivity: its errors become Temporal failures (see toFailure), and it
 * heartbeats every 2 s for as long as it runs, so a worker that dies in the middle of even a short
 * step is noticed by the heartbeat timeout (seconds), not by the start-to-close timeout (minutes),
 * and cancellation reaches it.
 */
export async function runActivity<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = currentContext();
  const t = ctx ? setInterval(() => ctx.heartbeat(progress.get(ctx)?.()), HEARTBEAT_MS) : undefined;
  try {
    return await fn();
  } catch (e) {
    throw toFailure(e);
  } finally {
    clearInterval(t);
  }
}

/** A refusal that retrying cannot change (bad input, unsafe request): never retried. */
export function refuse(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [{ message }] });
}

export const HEARTBEAT_MS = 2000;

/**
 * Runs a long part of a step with `details` as what every heartbeat reports meanwhile (read at
 * each beat, so it can show progress), and beats at once so the new details show right away.
 */
export async function withHeartbeat<T>(details: () => unknown, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const outer = progress.get(ctx);
  progress.set(ctx, details);
  // Beats of its own too, for a caller outside runActivity.
  const t = setInterval(() => ctx.heartbeat(details()), HEARTBEAT_MS);
  try {
    ctx.heartbeat(details());
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(t);
    if (outer) progress.set(ctx, outer);
    else progress.delete(ctx);
  }
}
