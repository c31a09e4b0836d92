/**
 * The original tool's config.ini keys and what each becomes in the YAML config, so its users can
 * point `--config` at their old file or convert it once (`rbd-backup config convert`). Its quirks
 * are fixed, not copied: numbers must be integers, booleans are read as ConfigParser's
 * getboolean reads them (not only the exact word `True`), `False`/`0` for the incremental limit
 * means unlimited as its documentation said, weekday lists may hold spaces and line breaks, and an
 * unknown key is an error naming its line instead of an attribute nobody reads.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { Document, isNode, type Node } from 'yaml';
import { configSchema, InputError } from './config.js';
import { IniError, parseIni, sectionValues, type IniFile } from './ini.js';
import { cinderMode, type Source } from './openstack-yaml.js';

/** The section the original read unless told otherwise (its --config-section). */
export const INI_SECTION = 'default';

/** `path`: a file or directory, relative to the config file when not absolute. */
type Kind = 'text' | 'path' | 'count' | 'weekdays' | 'max-incremental';

interface MappedKey {
  ini: string;
  /** Key path in the YAML config. */
  to: readonly [string, string];
  kind: Kind;
}

interface DroppedKey {
  ini: string;
  /** Why the key no longer applies; undefined for a value that asks for what rbd-backup always does. */
  why: (value: string, all: Map<string, string>) => string | undefined;
}

const MAPPED: MappedKey[] = [
  { ini: 'ceph_cluster_name', to: ['cluster', 'name'], kind: 'text' },
  { ini: 'ceph_conf_file', to: ['cluster', 'conf'], kind: 'path' },
  { ini: 'ceph_keyring_file', to: ['cluster', 'keyring'], kind: 'path' },
  { ini: 'backup_destination_path', to: ['backup', 'destination'], kind: 'path' },
  { ini: 'backup_concurrent_worker_count', to: ['backup', 'concurrency'], kind: 'count' },
  { ini: 'backup_snapshot_retain_count', to: ['backup', 'snapshot_retain_count'], kind: 'count' },
  { ini: 'backup_circle_retain_count', to: ['backup', 'circle_retain_count'], kind: 'count' },
  { ini: 'backup_max_incremental', to: ['backup', 'max_incremental'], kind: 'max-incremental' },
  { ini: 'weekly_full_backup', to: ['backup', 'full_weekdays'], kind: 'weekdays' },
  { ini: 'weekly_incr_backup', to: ['backup', 'incremental_weekdays'], kind: 'weekdays' },
  { ini: 'backup_list_file_path', to: ['backup', 'list_file'], kind: 'path' },
];

const LOGS = 'logs are JSON lines on stderr, their level is the YAML key log.level';
const openstackOff = (_v: string, all: Map<string, string>) =>
  bool(all.get('backup_list_from_openstack_yaml_file') ?? 'False') ? undefined : `unused while backup_list_from_openstack_yaml_file is False`;

const DROPPED: DroppedKey[] = [
  ...['log_file_path', 'log_level', 'log_max_bytes', 'log_backup_count', 'log_delay', 'log_module_name'].map((ini) => ({ ini, why: () => LOGS })),
  { ini: 'openstack_distribution', why: () => 'it only chose where the Python OpenStack client was installed' },
  { ini: 'openstack_api_version', why: () => 'Cinder is reached through Keystone v3 and the Block Storage v3 API' },
  { ini: 'backup_small_first', why: () => 'runs always export the largest image first' },
  { ini: 'backup_read_options', why: (v) => (bool(v) ? undefined : 'the per-image options of the list file always apply') },
  { ini: 'backup_list_from_openstack_yaml_file', why: () => undefined },
  { ini: 'openstack_yaml_file_path', why: openstackOff },
  { ini: 'openstack_yaml_section', why: openstackOff },
  { ini: 'openstack_ceph_pool', why: openstackOff },
];

/** Every key of the original's config.ini that this file knows. */
export const INI_KEYS: readonly string[] = [...MAPPED.map((k) => k.ini), ...DROPPED.map((k) => k.ini)];

export interface IniWarning {
  line: number;
  key: string;
  value: string;
  why: string;
}

export interface IniConfig {
  /** The YAML config's shape, before defaults and validation. */
  raw: { cluster?: Record<string, unknown>; backup?: Record<string, unknown>; openstack?: Record<string, unknown> };
  /** YAML key path (`backup.concurrency`) → the ini key and line it came from (or openstack.yaml's). */
  sources: Map<string, Source>;
  warnings: IniWarning[];
  /** What the conversion decided for the user (a rewritten URL, a default): `FILE:LINE: text`. */
  notes: { line: number; text: string }[];
  section: string;
}

/** ConfigParser's getboolean: 1/yes/true/on and 0/no/false/off, any case. */
function bool(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  return undefined;
}

function integer(v: string): number | undefined {
  return /^[+-]?\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

/**
 * Reads `section` of an ini text into the YAML config's shape. Every problem is an InputError
 * `FILE:LINE: key: …`; a file the schema would refuse is refused here, naming the ini key.
 */
export function iniToConfig(text: string, file: string, section = INI_SECTION, opts: { otherSections?: 'refuse' | 'ignore' } = {}): IniConfig {
  const at = (line: number, msg: string) => new InputError(`${file}:${line}: ${msg}`);
  let ini: IniFile;
  let values: ReturnType<typeof sectionValues>;
  try {
    ini = parseIni(text);
    values = sectionValues(ini, section);
  } catch (e) {
    if (e instanceof IniError) throw at(e.line, e.message);
    throw e;
  }
  if (!ini.sections.some((s) => s.name === section)) {
    const have = ini.sections.map((s) => `[${s.name}]`).join(', ') || 'none';
    throw new InputError(`${file}: no [${section}] section (sections: ${have})`);
  }
  // The original picked a section per command (--config-section); a config names one, so a file
  // with several is converted section by section rather than half read.
  const other = ini.sections.find((s) => s.name !== section);
  if (other && opts.otherSections !== 'ignore') {
    throw at(other.line, `section [${other.name}]: only [${section}] is read; convert each section with rbd-backup config convert ${file} --section NAME`);
  }
  const all = new Map([...values].map(([k, o]) => [k, o.value]));
  const raw: IniConfig['raw'] = {};
  const sources: IniConfig['sources'] = new Map();
  const warnings: IniWarning[] = [];
  const notes: IniConfig['notes'] = [];
  const cinderLine = values.get('backup_list_from_openstack_yaml_file');
  const cinder = cinderLine !== undefined && bool(cinderLine.value) === true;
  // ConfigParser's idiom: helper keys in [DEFAULT] that other values reference as %(key)s.
  const referenced = new Set([...values.values()].flatMap((o) => [...o.raw.matchAll(/%\(([^)]*)\)s/g)].map((m) => m[1]!.toLowerCase())));
  const fromDefaults = new Set(ini.defaults?.options.filter((d) => !ini.sections.find((s) => s.name === section)?.options.some((o) => o.key === d.key)).map((d) => d.key));
  for (const [key, o] of values) {
    const mapped = MAPPED.find((m) => m.ini === key);
    const dropped = DROPPED.find((d) => d.ini === key);
    if (!mapped && !dropped && fromDefaults.has(key) && referenced.has(key)) continue;
    if (!mapped && !dropped) throw at(o.line, `unknown key ${JSON.stringify(key)}: not a key of the original config.ini (known: ${INI_KEYS.join(', ')})`);
    if (dropped) {
      if (key === 'backup_list_from_openstack_yaml_file' || key === 'backup_read_options') {
        if (bool(o.value) === undefined) throw at(o.line, `${key}: ${JSON.stringify(o.value)} is not a boolean (True or False)`);
      }
      if (key === 'backup_list_from_openstack_yaml_file' && bool(o.value)) {
        const m = cinderMode(file, o.line, values);
        raw.openstack = m.openstack;
        for (const [k, s] of m.sources) sources.set(k, s);
        notes.push(...m.notes);
      }
      const why = dropped.why(o.value, all);
      if (why) warnings.push({ line: o.line, key, value: o.value, why });
      continue;
    }
    const m = mapped!;
    if (cinder && key === 'backup_list_file_path') {
      // The original read one source or the other; rbd-backup would back up both.
      warnings.push({ line: o.line, key, value: o.value, why: 'unused while backup_list_from_openstack_yaml_file is True (the original read Cinder instead of the list file)' });
      continue;
    }
    const value = convert(m, o.value, (msg) => at(o.line, `${key}: ${msg}`));
    const [top, leaf] = m.to;
    (raw[top as 'cluster' | 'backup'] ??= {})[leaf] = value;
    sources.set(`${top}.${leaf}`, { key, line: o.line });
  }
  // The YAML config's order, whatever the ini's: the converted file reads like the README's.
  for (const top of ['cluster', 'backup'] as const) {
    const o = raw[top];
    if (o) raw[top] = Object.fromEntries(MAPPED.filter((m) => m.to[0] === top && m.to[1] in o).map((m) => [m.to[1], o[m.to[1]]]));
  }
  if (!raw.backup || raw.backup.destination === undefined) throw new InputError(`${file}: [${section}]: backup_destination_path is required`);

  const full = raw.backup.full_weekdays as number[] | undefined;
  const incr = raw.backup.incremental_weekdays as number[] | undefined;
  const both = (full ?? [7]).filter((d) => (incr ?? [1, 2, 3, 4, 5, 6]).includes(d));
  if (both.length) {
    const line = sources.get(full ? 'backup.full_weekdays' : 'backup.incremental_weekdays')!.line;
    throw at(line, `day(s) ${both.join(', ')} in both weekly_full_backup and weekly_incr_backup`);
  }
  // What the schema still refuses (a count of 0, a bad cluster name) is said in the ini's words.
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const src = sources.get(issue.path.slice(0, 2).join('.'));
    if (src) throw new InputError(`${src.file ?? file}:${src.line}: ${src.key}: ${issue.message}`);
    throw new InputError(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { raw, sources, warnings, notes, section };
}

function convert(m: MappedKey, v: string, fail: (msg: string) => Error): unknown {
  switch (m.kind) {
    case 'text':
    case 'path':
      if (v.trim() === '') throw fail('is empty');
      if (v.includes('\n')) throw fail('is more than one line');
      return v;
    case 'count': {
      const n = integer(v);
      if (n === undefined) throw fail(`${JSON.stringify(v)} is not an integer`);
      return n;
    }
    case 'max-incremental': {
      // The original documented False (and 0) as "no limit"; 0 is the YAML config's "unlimited".
      if (bool(v) === false) return 0;
      const n = integer(v);
      if (n === undefined) throw fail(`${JSON.stringify(v)} is not an integer (or False/0 for unlimited)`);
      return n;
    }
    case 'weekdays': {
      const parts = v.split(/[\s,]+/).filter(Boolean);
      return parts.map((p) => {
        const n = integer(p);
        if (n === undefined || n < 1 || n > 7) throw fail(`${JSON.stringify(p)} is not a weekday (1 = Monday … 7 = Sunday)`);
        return n;
      });
    }
  }
}

const COMMENTS: Record<string, string> = {
  'backup.max_incremental': '0 = unlimited',
  'backup.full_weekdays': '1 = Monday … 7 = Sunday',
};

/**
 * The equivalent YAML config, with a comment on each key naming the ini key and line it came
 * from, and the keys that were dropped listed at the end with why.
 */
export function renderYaml(ic: IniConfig, file: string): string {
  // The YAML may be written anywhere: a relative path of the ini, relative to the ini's directory,
  // is written resolved, so it means the same file wherever the YAML goes.
  const base = dirname(resolve(file));
  const absolute = (top: 'cluster' | 'backup') => {
    const o = ic.raw[top];
    if (!o) return o;
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, MAPPED.some((m) => m.kind === 'path' && m.to[0] === top && m.to[1] === k) && typeof v === 'string' && !isAbsolute(v) ? resolve(base, v) : v]));
  };
  const doc = new Document({ cluster: absolute('cluster') ?? {}, backup: absolute('backup'), ...(ic.raw.openstack ? { openstack: ic.raw.openstack } : {}) });
  doc.commentBefore = [
    ` Converted by rbd-backup config convert from ${file} [${ic.section}].`,
    ` Paths are absolute (relative ones of the ini resolved against ${base}). Keys not set here take their defaults`,
    ' (rbd-backup show config --config THIS_FILE lists them): among them temporal.address',
    ' 127.0.0.1:7233, temporal.namespace default, temporal.task_queue rbd-backup.',
  ].join('\n');
  if (!ic.raw.cluster) (doc.get('cluster', true) as Node).comment = ' the defaults: name ceph, conf /etc/ceph/ceph.conf, keyring /etc/ceph/ceph.client.admin.keyring';
  for (const [path, src] of ic.sources) {
    const node = doc.getIn(path.split('.'), true);
    if (!isNode(node)) continue;
    const [top, leaf] = path.split('.') as ['cluster' | 'backup' | 'openstack', string];
    if (Array.isArray(ic.raw[top]?.[leaf])) (node as Node & { flow?: boolean }).flow = true;
    const extra = COMMENTS[path] ? `; ${COMMENTS[path]}` : '';
    node.comment = ` ${src.key} (${src.file ? `${src.file} ` : ''}line ${src.line})${extra}`;
  }
  const os = doc.get('openstack', true);
  if (isNode(os)) {
    os.commentBefore = [
      ` The Cinder source, from ${ic.sources.get('openstack.volume_names')?.file ?? 'openstack.yaml'} (backup_list_from_openstack_yaml_file = True).`,
      ...ic.notes.map((n) => ` ${n.text}`),
      ...(ic.raw.openstack?.password !== undefined ? [' Better than an inline password: password_file (a file of mode 0600) or password_env (docs/openstack.md).'] : []),
    ].join('\n');
  }
  if (ic.warnings.length) {
    doc.comment = [' Not converted (no longer apply):', ...ic.warnings.map((w) => `   ${w.key} = ${w.value.replace(/\n/g, ' ')} (line ${w.line}): ${w.why}`)].join('\n');
  }
  return doc.toString({ lineWidth: 0 });
}
