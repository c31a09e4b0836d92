import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr, so stdout stays free for `--json` documents. */
export function createLogger(level = process.env.RBD_BACKUP_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'rbd-backup' } }, pino.destination(2));
}
