/**
 * Who the worker is to Keystone, from the `openstack:` section and, when it names one, a clouds.yaml
 * entry read the way the OpenStack SDKs read it: the `clouds:` map, its `auth:` block, `auth_type`,
 * `region_name` (or the first of `regions`), `interface`, `cacert` and `verify`. Keys in the
 * section override the entry's. Secrets come from the config, a file or an environment variable,
 * and are read here, at run time, so rotating one needs no restart.
 *
 * Errors name the key or the file, never a secret's value.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../config/config.js';
import type { OpenStackSettings } from './settings.js';

export interface Scope {
  id?: string;
  name?: string;
  domain?: { id: string } | { name: string };
}

export type AuthMethod =
  | { method: 'password'; user: Scope; password: string; project: Scope }
  | { method: 'application_credential'; id: string; secret: string };

export interface Credentials {
  /** Keystone's v3 root, e.g. https://keystone:5000/v3 (no trailing slash). */
  authUrl: string;
  auth: AuthMethod;
  regionName?: string;
  interface: 'public' | 'internal' | 'admin';
  /** PEM text, read from cacert. */
  ca?: string;
  verify: boolean;
}

/** Where the SDKs look for clouds.yaml when no file is named. */
export function cloudsYamlCandidates(env: NodeJS.ProcessEnv, cwd = process.cwd(), home = homedir()): string[] {
  if (env.OS_CLIENT_CONFIG_FILE) return [env.OS_CLIENT_CONFIG_FILE];
  return [join(cwd, 'clouds.yaml'), join(home, '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml'];
}

type Flat = Record<string, unknown>;

/**
 * One entry of a parsed clouds.yaml, flattened to the section's key names: the `auth:` block's
 * keys beside region_name, interface, cacert, verify and auth_type. Pure, for the unit tests.
 */
export function cloudEntry(doc: unknown, cloud: string, file: string): Flat {
  const clouds = (doc as { clouds?: unknown } | null)?.clouds;
  if (!clouds || typeof clouds !== 'object' || Array.isArray(clouds)) throw new InputError(`${file}: no clouds: map`);
  const entry = (clouds as Record<string, unknown>)[cloud];
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new InputError(`${file}: clouds.${cloud}: no such cloud (clouds: ${Object.keys(clouds).join(', ') || 'none'})`);
  }
  const e = entry as Record<string, unknown>;
  const out: Flat = {};
  const auth = e.auth;
  if (auth !== undefined && (typeof auth !== 'object' || auth === null || Array.isArray(auth))) throw new InputError(`${file}: clouds.${cloud}.auth: must be a map`);
  for (const [k, v] of Object.entries((auth as Flat | undefined) ?? {})) if (v !== null && v !== undefined) out[k] = v;
  for (const k of ['region_name', 'interface', 'cacert', 'verify', 'auth_type']) if (e[k] !== undefined && e[k] !== null) out[k] = e[k];
  // The SDKs take the first of `regions` when region_name is not given.
  if (out.region_name === undefined && Array.isArray(e.regions) && e.regions.length > 0) {
    const r = e.regions[0] as unknown;
    out.region_name = typeof r === 'string' ? r : (r as { name?: unknown } | null)?.name;
  }
  // `endpoint_type` is the older spelling of interface; `publicURL` the still older value.
  if (out.interface === undefined && typeof e.endpoint_type === 'string') out.interface = e.endpoint_type;
  if (typeof out.interface === 'string') out.interface = out.interface.replace(/URL$/, '');
  // A relative cacert in clouds.yaml is relative to that file.
  if (typeof out.cacert === 'string' && !isAbsolute(out.cacert)) out.cacert = resolve(dirname(file), out.cacert);
  return out;
}

function readCloudsYaml(o: OpenStackSettings, env: NodeJS.ProcessEnv): Flat {
  if (o.cloud === undefined) return {};
  const candidates = o.clouds_yaml ? [o.clouds_yaml] : cloudsYamlCandidates(env);
  for (const file of candidates) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !o.clouds_yaml) continue;
      throw new InputError(`openstack.clouds_yaml: cannot read ${file}: ${code ?? String(e)}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      throw new InputError(`${file}: malformed YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    return cloudEntry(doc, o.cloud, file);
  }
  throw new InputError(`openstack.cloud: no clouds.yaml found for cloud ${o.cloud} (looked in ${candidates.join(', ')}); set openstack.clouds_yaml`);
}

/** A secret given inline, in a file (its first line) or in an environment variable. */
function secret(o: OpenStackSettings, key: 'password' | 'application_credential_secret', fromCloud: unknown, env: NodeJS.ProcessEnv): string | undefined {
  const file = o[`${key}_file`];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`openstack.${key}_file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const first = text.split(/\r?\n/)[0] ?? '';
    if (!first) throw new InputError(`openstack.${key}_file: ${file} is empty`);
    return first;
  }
  const name = o[`${key}_env`];
  if (name !== undefined) {
    const v = env[name];
    if (!v) throw new InputError(`openstack.${key}_env: environment variable ${name} is not set in the worker's environment`);
    return v;
  }
  if (o[key] !== undefined) return o[key];
  return typeof fromCloud === 'string' && fromCloud ? fromCloud : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Keystone v3's root from an auth_url as users write it: with /v3, or bare (the SDKs discover it). */
export function keystoneV3Root(authUrl: string, where: string): string {
  let u: URL;
  try {
    u = new URL(authUrl);
  } catch {
    throw new InputError(`${where}: ${JSON.stringify(authUrl)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InputError(`${where}: ${authUrl} is not an http(s) URL`);
  const path = u.pathname.replace(/\/+$/, '');
  if (/\/v2\.0$/.test(path)) throw new InputError(`${where}: ${authUrl} is Keystone v2.0, which is gone: use the v3 URL (…/v3)`);
  u.pathname = /\/v3$/.test(path) ? path : `${path}/v3`;
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

function domainOf(id: string | undefined, name: string | undefined): Scope['domain'] {
  if (id) return { id };
  if (name) return { name };
  // python-openstackclient's --os-default-domain: the domain every deployment has.
  return { id: 'default' };
}

/**
 * Everything needed to ask Keystone for a token. Pure but for reading clouds.yaml, the secret
 * files and the CA file; `env` is the worker's environment.
 */
export function resolveCredentials(o: OpenStackSettings, env: NodeJS.ProcessEnv = process.env): Credentials {
  const cloud = readCloudsYaml(o, env);
  const pick = (k: keyof OpenStackSettings & string): string | undefined => str(o[k]) ?? str(cloud[k]);
  const where = o.auth_url ? 'openstack.auth_url' : `openstack.cloud ${o.cloud}: auth.auth_url`;
  const authUrlRaw = pick('auth_url');
  if (!authUrlRaw) throw new InputError(`openstack.auth_url: is required (or name a clouds.yaml entry with openstack.cloud)`);
  const authUrl = keystoneV3Root(authUrlRaw, where);

  const authType = str(cloud.auth_type);
  const appId = pick('application_credential_id');
  const wantsAppCred = appId !== undefined || (authType !== undefined && /applicationcredential|application_credential/.test(authType));
  if (authType !== undefined && !/^(v3)?(password|applicationcredential|application_credential)$/.test(authType)) {
    throw new InputError(`openstack.cloud ${o.cloud}: auth_type ${authType} is not supported (password or v3applicationcredential)`);
  }

  let auth: AuthMethod;
  if (wantsAppCred) {
    if (!appId) throw new InputError('openstack.application_credential_id: is required for an application credential (by id; names are not supported)');
    const s = secret(o, 'application_credential_secret', cloud.application_credential_secret, env);
    if (!s) throw new InputError('openstack.application_credential_secret: is required (or _file, or _env)');
    auth = { method: 'application_credential', id: appId, secret: s };
  } else {
    const userId = pick('user_id');
    const username = pick('username');
    if (!userId && !username) throw new InputError('openstack.username: is required (or user_id, or application_credential_id)');
    const password = secret(o, 'password', cloud.password, env);
    if (!password) throw new InputError('openstack.password: is required (or password_file, or password_env)');
    // domain_* stands for both user and project domain when they are not given (as the SDKs do).
    const domainId = str(cloud.domain_id);
    const domainName = str(cloud.domain_name);
    const user: Scope = userId ? { id: userId } : { name: username!, domain: domainOf(pick('user_domain_id') ?? domainId, pick('user_domain_name') ?? domainName) };
    const projectId = pick('project_id') ?? str(cloud.tenant_id);
    const projectName = pick('project_name') ?? str(cloud.tenant_name);
    if (!projectId && !projectName) throw new InputError('openstack.project_name: is required (or project_id): volumes are listed in a project');
    const project: Scope = projectId ? { id: projectId } : { name: projectName!, domain: domainOf(pick('project_domain_id') ?? domainId, pick('project_domain_name') ?? domainName) };
    auth = { method: 'password', user, password, project };
  }

  const iface = pick('interface') ?? 'public';
  if (iface !== 'public' && iface !== 'internal' && iface !== 'admin') throw new InputError(`openstack.interface: ${iface} is not public, internal or admin`);
  const cacert = pick('cacert');
  let ca: string | undefined;
  if (cacert) {
    try {
      ca = readFileSync(cacert, 'utf8');
    } catch (e) {
      throw new InputError(`openstack.cacert: cannot read ${cacert}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const verify = o.verify ?? (typeof cloud.verify === 'boolean' ? cloud.verify : true);
  const regionName = pick('region_name');
  return { authUrl, auth, interface: iface, verify, ...(regionName ? { regionName } : {}), ...(ca ? { ca } : {}) };
}
