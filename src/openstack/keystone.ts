/**
 * Keystone v3: one call, POST /v3/auth/tokens (password or application_credential method). The
 * token comes back in the X-Subject-Token header, the project and the service catalog in the
 * body; the catalog gives Cinder's endpoint for the region and interface.
 */
import { InputError } from '../config/config.js';
import type { Credentials } from './credentials.js';
import { call, errorMessage, type HttpOptions } from './http.js';

export interface CatalogEndpoint {
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export interface Token {
  /** Secret: only ever sent back in X-Auth-Token, never logged or returned to a workflow. */
  value: string;
  projectId: string;
  catalog: CatalogService[];
}

/** The request body for POST /v3/auth/tokens (Identity API v3, "Password authentication with scoped authorization"). */
export function tokenRequestBody(c: Credentials): unknown {
  if (c.auth.method === 'application_credential') {
    // An application credential carries its own project: a scope in the request is an error.
    return { auth: { identity: { methods: ['application_credential'], application_credential: { id: c.auth.id, secret: c.auth.secret } } } };
  }
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { ...c.auth.user, password: c.auth.password } } },
      scope: { project: c.auth.project },
    },
  };
}

export async function issueToken(c: Credentials, http: HttpOptions): Promise<Token> {
  const url = new URL(`${c.authUrl}/auth/tokens`);
  const a = await call('Keystone', 'POST', url, {}, JSON.stringify(tokenRequestBody(c)), http);
  if (a.status === 401 || a.status === 403) {
    const how = c.auth.method === 'password' ? 'check openstack.username, the password and the project' : 'check openstack.application_credential_id and its secret (expired or deleted?)';
    throw new InputError(`openstack: Keystone at ${url.origin}${url.pathname} refused the credentials (${a.status} ${a.statusText}${detail(a.body)}): ${how}`);
  }
  if (a.status !== 201 && a.status !== 200) throw new InputError(`openstack: Keystone at ${url.origin}${url.pathname} answered ${a.status} ${a.statusText}${detail(a.body)}`);
  const value = a.headers['x-subject-token'];
  if (typeof value !== 'string' || !value) throw new InputError(`openstack: Keystone at ${url.origin}${url.pathname} answered without an X-Subject-Token header`);
  let body: { token?: { project?: { id?: string }; catalog?: CatalogService[] } };
  try {
    body = JSON.parse(a.body) as typeof body;
  } catch {
    throw new InputError(`openstack: Keystone at ${url.origin}${url.pathname} answered ${a.status} with a body that is not JSON`);
  }
  const projectId = body.token?.project?.id;
  if (!projectId) throw new InputError('openstack: the token is not scoped to a project: set openstack.project_name or project_id');
  return { value, projectId, catalog: body.token?.catalog ?? [] };
}

function detail(body: string): string {
  const m = errorMessage(body);
  return m ? `: ${m}` : '';
}

/** Service types of the Block Storage v3 API in catalogs, newest name first. */
const BLOCK_STORAGE_TYPES = ['block-storage', 'volumev3'];

/**
 * Cinder's v3 project URL (…/v3/{project_id}) from the catalog. Pure. Catalog URLs come with the
 * project already substituted (…/v3/abc), or as the bare v3 root (…/v3), or unversioned.
 */
export function blockStorageUrl(catalog: CatalogService[], projectId: string, iface: string, region: string | undefined): string {
  const services = BLOCK_STORAGE_TYPES.flatMap((t) => catalog.filter((s) => s.type === t));
  if (services.length === 0) {
    throw new InputError(`openstack: the service catalog has no Block Storage v3 service (types ${BLOCK_STORAGE_TYPES.join(', ')}; found ${catalog.map((s) => s.type).join(', ') || 'none'})`);
  }
  const endpoints = services[0]!.endpoints.filter((e) => e.interface === iface);
  const regionOf = (e: CatalogEndpoint) => e.region_id ?? e.region ?? undefined;
  const inRegion = region === undefined ? endpoints : endpoints.filter((e) => regionOf(e) === region);
  if (inRegion.length === 0) {
    const have = services[0]!.endpoints.map((e) => `${e.interface}@${regionOf(e) ?? '?'}`).join(', ');
    throw new InputError(`openstack: no ${iface} Block Storage endpoint${region ? ` in region ${region}` : ''} (the catalog has ${have || 'none'}): set openstack.interface or region_name`);
  }
  const regions = new Set(inRegion.map(regionOf));
  if (regions.size > 1) throw new InputError(`openstack.region_name: is required: Block Storage has endpoints in regions ${[...regions].join(', ')}`);
  const base = inRegion[0]!.url.replace(/\/+$/, '');
  if (/\/v3$/.test(base)) return `${base}/${projectId}`;
  if (/\/v3\/[^/]+$/.test(base)) return base;
  return `${base}/v3/${projectId}`;
}
