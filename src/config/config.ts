import { readFileSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { checkName } from '../names/names.js';
import type { BackupPolicy } from '../contract/backup.js';
import { listenProblem } from './listen.js';
import { openstackSchema, withAbsolutePaths } from '../openstack/settings.js';

/** A config or input problem: the CLI prints its message on one line and exits 2. */
export class InputError extends Error {
  override name = 'InputError';
}

const weekday = z.number().int().min(1).max(7);
const count = z.number().int().min(0);
const positive = z.number().int().min(1);

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .object({
    cluster: z
      .object({
        name: z.string().refine((s) => safeName(s), 'must be a plain name (letters, digits, _ . -)').default('ceph'),
        conf: z.string().min(1).default('/etc/ceph/ceph.conf'),
        keyring: z.string().min(1).default('/etc/ceph/ceph.client.admin.keyring'),
        user: z.string().refine((s) => safeName(s), 'must be a plain cephx id').default('admin'),
        op_timeout_seconds: positive.default(60),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        destination: z.string().min(1),
        /** More destinations by key; a run may name one of these keys, never a path. */
        destinations: z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/, 'keys must be plain names'), z.string().min(1)).default({}),
        concurrency: positive.default(4),
        snapshot_retain_count: positive.default(1),
        circle_retain_count: positive.default(4),
        max_incremental: count.default(6),
        full_weekdays: z.array(weekday).default([7]),
        incremental_weekdays: z.array(weekday).default([1, 2, 3, 4, 5, 6]),
        timezone: z
          .string()
          .refine(validTimeZone, { error: (i) => `${JSON.stringify(i.input)} is not a known IANA time zone (e.g. UTC, Europe/Berlin)` })
          .default('UTC'),
        list_file: z.string().min(1).optional(),
        copy_keyring: z.boolean().default(false),
        space_margin: z.number().gt(0).max(1).default(0.99),
        /** An export slower than this is stuck: its timeout is 10 min + image size / this rate. */
        export_min_mib_per_second: positive.default(4),
      })
      .strict(),
    temporal: z
      .object({
        address: z.string().min(1).default('127.0.0.1:7233'),
        namespace: z.string().min(1).default('default'),
        task_queue: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('rbd-backup'),
      })
      .strict()
      .default({ address: '127.0.0.1:7233', namespace: 'default', task_queue: 'rbd-backup' }),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    /** Off unless `listen` is set: the worker then serves Prometheus metrics there. */
    metrics: z
      .object({ listen: z.string().refine((s) => !listenProblem(s), { error: (i) => listenProblem(String(i.input)) }).optional() })
      .strict()
      .default({}),
    /** Cinder as an image source (docs/openstack.md); read by the worker when a run starts. */
    openstack: openstackSchema.optional(),
  })
  .strict();

function safeName(s: string): boolean {
  try {
    checkName('x', s);
    return true;
  } catch {
    return false;
  }
}

export type Config = z.infer<typeof configSchema>;

/** `a.b[2].c: message` — the key path first, so the culprit is the first thing read. */
export function formatIssue(file: string, issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  // zod says "expected object, received undefined" for a key that is simply not there.
  if (issue.code === 'invalid_type' && /received undefined$/.test(msg)) msg = `is required (${issue.expected})`;
  return `${file}: ${path || '(top level)'}: ${msg}`;
}

export function parseYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const line = text.slice(0, err.pos[0]).split('\n').length;
    // A repeated key is easy to miss in a long file, and only one of the two values would count.
    if (err.code === 'DUPLICATE_KEY') throw new InputError(`${file}: ${keyPathAt(doc.contents, err.pos[0]) ?? '(a key)'}: duplicate key (line ${line})`);
    throw new InputError(`${file}: malformed YAML at line ${line}: ${err.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

/** `backup.destinations.x`, `a[2].b`: the path of the key that starts at `pos` in the source. */
function keyPathAt(node: unknown, pos: number, path = ''): string | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const here = path ? `${path}.${name}` : name;
      if (isNode(pair.key) && pair.key.range?.[0] === pos) return here;
      const inner = keyPathAt(pair.value, pos, here);
      if (inner) return inner;
    }
  }
  if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = keyPathAt(item, pos, `${path}[${i}]`);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * Loads and validates; relative paths inside the file are relative to the file. `raw` is the
 * file's content already read (config.ini is read by ./config-file.ts into the same shape).
 */
export function loadConfig(file: string, raw: unknown = parseYamlFile(file)): Config {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new InputError(formatIssue(file, parsed.error.issues[0]!));
  const cfg = parsed.data;
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  cfg.cluster.conf = abs(cfg.cluster.conf);
  cfg.cluster.keyring = abs(cfg.cluster.keyring);
  cfg.backup.destination = abs(cfg.backup.destination);
  if ('default' in cfg.backup.destinations) throw new InputError(`${file}: backup.destinations.default: the key "default" is backup.destination; use another key`);
  for (const k of Object.keys(cfg.backup.destinations)) cfg.backup.destinations[k] = abs(cfg.backup.destinations[k]!);
  if (cfg.backup.list_file) cfg.backup.list_file = abs(cfg.backup.list_file);
  if (cfg.openstack) cfg.openstack = withAbsolutePaths(cfg.openstack, base);
  const both = cfg.backup.full_weekdays.filter((d) => cfg.backup.incremental_weekdays.includes(d));
  if (both.length > 0) {
    throw new InputError(`${file}: backup.full_weekdays: day(s) ${both.join(', ')} also listed in backup.incremental_weekdays`);
  }
  return cfg;
}

/** Destination keys to paths: `default` is backup.destination. Only the worker resolves them. */
export function destinations(cfg: Config): Record<string, string> {
  return { default: cfg.backup.destination, ...cfg.backup.destinations };
}

export function destinationPath(cfg: Config, key = 'default'): string {
  const all = destinations(cfg);
  const p = Object.prototype.hasOwnProperty.call(all, key) ? all[key] : undefined;
  if (p === undefined) throw new InputError(`destination ${JSON.stringify(key)} is not configured on this worker (configured: ${Object.keys(all).join(', ')})`);
  return p;
}

/** The worker's policy for a run that writes to destination `key`. */
export function policyOf(cfg: Config, key = 'default'): BackupPolicy {
  destinationPath(cfg, key);
  const b = cfg.backup;
  return {
    destination: key,
    concurrency: b.concurrency,
    snapshotRetainCount: b.snapshot_retain_count,
    circleRetainCount: b.circle_retain_count,
    maxIncremental: b.max_incremental,
    fullWeekdays: b.full_weekdays,
    incrementalWeekdays: b.incremental_weekdays,
    timezone: b.timezone,
    spaceMargin: b.space_margin,
    exportMinBytesPerSecond: b.export_min_mib_per_second * 1024 * 1024,
  };
}

/** The cluster files must exist before anything talks to Ceph; checked by the commands that need them. */
export function checkClusterFiles(cfg: Config): void {
  for (const [key, p] of [
    ['cluster.conf', cfg.cluster.conf],
    ['cluster.keyring', cfg.cluster.keyring],
  ] as const) {
    try {
      readFileSync(p);
    } catch (e) {
      throw new InputError(`${key}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
}
