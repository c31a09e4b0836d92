import { Client } from '@temporalio/client';
import { InputError, type Config } from '../src/config/config.js';
import { readConfigFile } from '../src/config/config-file.js';
import { connectChecked } from '../src/client/connection.js';
import { checkWorkerPolls } from '../src/client/admin.js';

export { EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STILL_RUNNING, errorLine, exitOnError } from './exit.js';

/** The image's mutex is held by another run: not bad input, but nothing was done (exit 1). */
export class BusyError extends Error {
  override name = 'BusyError';
}

/** Where an operator expects it: --config, else $RBD_BACKUP_CONFIG, else the system path. */
export const DEFAULT_CONFIG = '/etc/rbd-backup/config.yaml';

export function configFrom(opts: { config?: string }): Config {
  const file = opts.config ?? process.env.RBD_BACKUP_CONFIG ?? DEFAULT_CONFIG;
  if (!file) throw new InputError('--config FILE is empty');
  const { config, warnings } = readConfigFile(file);
  // A config.ini's keys that no longer apply: said once, when the file is read, then ignored.
  for (const w of warnings) process.stderr.write(`rbd-backup: warning: ${w}\n`);
  return config;
}

/** A destination key as the worker's config spells them; a path or an empty key is refused here. */
export function destinationKey(key: string | undefined): { destination?: string } {
  if (key === undefined) return {};
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(key)) {
    throw new InputError(`--destination ${JSON.stringify(key)} is not a destination key (a key of the worker's backup.destinations, never a path)`);
  }
  return { destination: key };
}

/**
 * A connection for a command that waits on a workflow: an unknown namespace or a queue nobody
 * polls is said at once (exit 2) rather than waited on forever.
 */
export async function workflowClient(cfg: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  const { namespace, task_queue: queue, address } = cfg.temporal;
  // The worker check is the connection's first request: no separate round trip to connect.
  const connection = await connectChecked(address, (c) => checkWorkerPolls(new Client({ connection: c, namespace }), namespace, queue, address));
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
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
