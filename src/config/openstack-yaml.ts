/**
 * The original tool's Cinder mode (`backup_list_from_openstack_yaml_file = True`) as the YAML
 * config's `openstack:` section: its openstack.yaml held Keystone v2 credentials and the volume
 * names, in a section of their own. Keystone v2 is gone, so its URL is rewritten to v3 (said in a
 * warning, since only the operator can tell whether the new URL answers); the rest maps key by
 * key. Every problem names the openstack.yaml (and its line), or the ini line that named it.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { InputError } from './config.js';

export const OPENSTACK_YAML = '/etc/rbd_backup_restore/openstack.yaml';
export const OPENSTACK_SECTION = 'default';

/** The original's openstack.yaml keys → the `openstack:` section's (clouds.yaml words). */
const KEYS: Record<string, string> = {
  auth_url: 'auth_url',
  tenant_name: 'project_name',
  user_name: 'username',
  password: 'password',
  cacert_path: 'cacert',
  volume_names: 'volume_names',
};

export interface Source {
  key: string;
  line: number;
  /** The file the key is in, when not the ini itself. */
  file?: string;
}

export interface CinderMode {
  /** The `openstack:` section, before defaults and validation. */
  openstack: Record<string, unknown>;
  /** `openstack.username` → where it came from. */
  sources: Map<string, Source>;
  /** One line each, said after `INI:LINE: `. */
  notes: { line: number; text: string }[];
}

interface IniValue {
  value: string;
  line: number;
}

/**
 * Reads the openstack.yaml the ini names (relative to the ini's directory) and maps its section.
 * `line` is the ini line of `backup_list_from_openstack_yaml_file = True`.
 */
export function cinderMode(iniFile: string, line: number, values: Map<string, IniValue>): CinderMode {
  const pathKey = values.get('openstack_yaml_file_path');
  const sectionKey = values.get('openstack_yaml_section');
  const named = pathKey?.value.trim() || OPENSTACK_YAML;
  const yamlFile = isAbsolute(named) ? named : resolve(dirname(resolve(iniFile)), named);
  let text: string;
  try {
    text = readFileSync(yamlFile, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    const by = pathKey ? `openstack_yaml_file_path` : `backup_list_from_openstack_yaml_file = True (the default openstack_yaml_file_path)`;
    throw new InputError(`${iniFile}:${pathKey?.line ?? line}: ${by}: cannot read ${yamlFile}: ${why}`);
  }
  const section = sectionKey?.value.trim() || OPENSTACK_SECTION;
  return mapOpenstackYaml(text, yamlFile, section, { iniFile, line, pool: values.get('openstack_ceph_pool') });
}

/** The pure part: openstack.yaml's text → the `openstack:` section. */
export function mapOpenstackYaml(text: string, yamlFile: string, section: string, ini: { iniFile: string; line: number; pool?: IniValue | undefined }): CinderMode {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: unknown) => {
    const start = (node as Node | null)?.range?.[0];
    return start === undefined ? undefined : lc.linePos(start).line;
  };
  const err = doc.errors[0];
  if (err) throw new InputError(`${yamlFile}:${lc.linePos(err.pos[0]).line}: malformed YAML: ${err.message.split('\n')[0]}`);
  const top = doc.contents;
  const keyName = (p: Pair) => (isScalar(p.key) ? String(p.key.value) : String(p.key));
  if (!isMap(top)) throw new InputError(`${yamlFile}: not a map of sections (the section "${section}" is read)`);
  const pair = top.items.find((p) => keyName(p) === section);
  if (!pair) {
    const have = top.items.map(keyName).join(', ') || 'none';
    throw new InputError(`${yamlFile}: no section "${section}" (sections: ${have}); openstack_yaml_section names it`);
  }
  const at = (node: unknown, key: string | undefined, msg: string) => {
    const l = lineOf(node);
    return new InputError(`${yamlFile}${l === undefined ? '' : `:${l}`}: ${section}${key ? `.${key}` : ''}: ${msg}`);
  };
  if (!isMap(pair.value)) throw at(pair.key, undefined, 'is not a map of keys');
  const openstack: Record<string, unknown> = {};
  const sources = new Map<string, Source>();
  const notes: CinderMode['notes'] = [];
  for (const p of pair.value.items) {
    const key = keyName(p);
    const to = KEYS[key];
    if (!to) throw at(p.key, key, `unknown key (known: ${Object.keys(KEYS).join(', ')})`);
    const line = lineOf(p.key) ?? 0;
    let value: unknown;
    if (key === 'volume_names') {
      if (!isSeq(p.value)) throw at(p.key, key, `must be a list of Cinder volume names ([ name, … ])`);
      value = p.value.items.map((item) => {
        if (!isScalar(item) || typeof item.value !== 'string' || item.value === '') throw at(item, key, `${JSON.stringify(isScalar(item) ? item.value : String(item))} is not a volume name (quote it if it is one)`);
        return item.value;
      });
      if ((value as string[]).length === 0) throw at(p.key, key, `is empty: name the volumes to back up`);
    } else {
      if (!isScalar(p.value) || typeof p.value.value !== 'string' || p.value.value === '') throw at(p.key, key, `must be a non-empty string (quote it)`);
      value = p.value.value;
    }
    if (key === 'cacert_path' && !isAbsolute(value as string)) value = resolve(dirname(yamlFile), value as string);
    if (key === 'auth_url') {
      const v3 = v2ToV3(value as string);
      if (v3 !== value) {
        notes.push({
          line: ini.line,
          text: `openstack.auth_url: ${withoutCredentials(value as string)} (${yamlFile}:${line}) is Keystone v2.0, which is gone: rewritten to ${withoutCredentials(v3)}; check it (port 35357, v2's admin port, became 5000, where Keystone v3 listens by default)`,
        });
        value = v3;
      }
    }
    openstack[to] = value;
    sources.set(`openstack.${to}`, { key, line, file: yamlFile });
  }
  if (!('volume_names' in openstack)) throw at(pair.key, 'volume_names', 'is required (the Cinder volume names to back up)');
  if (ini.pool) {
    openstack.pool = ini.pool.value;
    sources.set('openstack.pool', { key: 'openstack_ceph_pool', line: ini.pool.line });
  }
  if ('username' in openstack || 'project_name' in openstack) {
    // Keystone v2 knew one domain; v3 asks which, and "Default" is the one v2's users and tenants live in.
    openstack.user_domain_name = 'Default';
    openstack.project_domain_name = 'Default';
    sources.set('openstack.user_domain_name', { key: 'backup_list_from_openstack_yaml_file', line: ini.line });
    sources.set('openstack.project_domain_name', { key: 'backup_list_from_openstack_yaml_file', line: ini.line });
    notes.push({ line: ini.line, text: 'openstack.user_domain_name, openstack.project_domain_name: set to Default (Keystone v2 had no domains; its users and tenants are in Default); change them if yours are elsewhere' });
  }
  // The YAML config's order, whatever the file's.
  const order = ['auth_url', 'username', 'user_domain_name', 'project_name', 'project_domain_name', 'password', 'cacert', 'volume_names', 'pool'];
  const sorted = Object.fromEntries(order.filter((k) => k in openstack).map((k) => [k, openstack[k]]));
  return { openstack: sorted, sources, notes };
}

/**
 * `…/v2.0[/]` → `…/v3`, and v2's admin port 35357 → 5000: Keystone dropped its admin endpoint
 * with v2.0, and v3 listens on 5000 unless moved. Any other URL is returned as it is.
 */
export function v2ToV3(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const path = u.pathname.replace(/\/+$/, '');
  if (!/\/v2\.0$/.test(path)) return url;
  u.pathname = path.replace(/\/v2\.0$/, '/v3');
  if (u.port === '35357') u.port = '5000';
  return u.toString();
}

/** A URL as it may be printed: a `user:password@` in it would reach stderr and the worker's log. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}
