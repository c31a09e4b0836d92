/**
 * Cinder (Block Storage v3): GET /v3/{project_id}/volumes/detail, page by page. Cinder adds a
 * `volumes_links` entry with rel=next while a page is full; we take its `marker` and ask our own
 * endpoint again rather than following the link's host, which behind a TLS proxy is often the
 * internal one (and would receive the token).
 */
import { InputError } from '../config/config.js';
import { call, errorMessage, type HttpOptions } from './http.js';
import type { Token } from './keystone.js';

/** The fields of a volume we read (a volume detail has many more). */
export interface Volume {
  id: string;
  name: string | null;
  status: string;
  volume_type?: string | null;
  /** `host@backend#pool`; shown to admins only. */
  'os-vol-host-attr:host'?: string | null;
  /** After a migration the RBD image keeps the old ID: Cinder calls it name_id (admins only). */
  'os-vol-mig-status-attr:name_id'?: string | null;
}

interface Page {
  volumes?: Volume[];
  volumes_links?: { href: string; rel: string }[];
}

/** The marker of the next page from a page's links; undefined on the last page. Pure. */
export function nextMarker(page: Page): string | undefined {
  const next = page.volumes_links?.find((l) => l.rel === 'next');
  if (!next) return undefined;
  try {
    return new URL(next.href, 'http://x').searchParams.get('marker') ?? undefined;
  } catch {
    return undefined;
  }
}

export interface ListOptions {
  allTenants: boolean;
  pageSize: number;
}

export async function listVolumes(projectUrl: string, token: Token, o: ListOptions, http: HttpOptions): Promise<Volume[]> {
  const out: Volume[] = [];
  const seen = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const url = new URL(`${projectUrl}/volumes/detail`);
    url.searchParams.set('limit', String(o.pageSize));
    if (o.allTenants) url.searchParams.set('all_tenants', '1');
    if (marker !== undefined) url.searchParams.set('marker', marker);
    const a = await call('Cinder', 'GET', url, { 'x-auth-token': token.value }, undefined, http);
    const where = `Cinder at ${url.origin}${url.pathname}`;
    const why = errorMessage(a.body);
    if (a.status === 401) throw new InputError(`openstack: ${where} refused the token (401 ${a.statusText}${why ? `: ${why}` : ''}): check the Keystone and Cinder configuration`);
    if (a.status === 403) {
      throw new InputError(`openstack: ${where} refused to list volumes (403 ${a.statusText}${why ? `: ${why}` : ''}): the user needs a role that may list volumes${o.allTenants ? ' (all_tenants needs admin)' : ''}`);
    }
    if (a.status !== 200) throw new InputError(`openstack: ${where} answered ${a.status} ${a.statusText}${why ? `: ${why}` : ''}`);
    let page: Page;
    try {
      page = JSON.parse(a.body) as Page;
    } catch {
      throw new InputError(`openstack: ${where} answered with a body that is not JSON`);
    }
    if (!Array.isArray(page.volumes)) throw new InputError(`openstack: ${where} answered without a volumes list`);
    out.push(...page.volumes);
    marker = nextMarker(page);
    // The last page is the one without a next link, or (Cinder links a full last page) an empty one.
    if (marker === undefined || page.volumes.length === 0) return out;
    if (seen.has(marker)) throw new InputError(`openstack: ${where} sent the same next page (marker ${marker}) twice`);
    seen.add(marker);
  }
}
