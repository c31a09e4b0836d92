/**
 * A TEST DOUBLE of OpenStack, not OpenStack: a small local HTTP server that answers exactly the
 * two calls rbd-backup makes, shaped after the public API references:
 *
 *   - Identity v3  POST /identity/v3/auth/tokens  (password and application_credential methods,
 *     project scope by id or by name + domain): 201 with the token in X-Subject-Token and
 *     `{token: {methods, user, project, roles, catalog, expires_at, issued_at}}`; 401 with
 *     `{error: {code, title, message}}` and WWW-Authenticate for bad credentials; 400 for a
 *     malformed request.
 *   - Block Storage v3  GET /volume/v3/{project_id}/volumes/detail  (limit, marker, all_tenants):
 *     newest first; `volumes_links` with rel=next while a page is full; the admin-only attributes
 *     (os-vol-host-attr:host, os-vol-mig-status-attr:name_id, os-vol-tenant-attr:tenant_id) only
 *     for an admin token; all_tenants ignored for others, as Cinder does; 401 without a valid
 *     token; 400 for an unknown marker.
 *
 * It can also be told to misbehave on its next calls: answer a status (401, 500, …) or answer
 * late. It records the calls it got (paths and queries only), so tests can see retries.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface DoubleProject {
  id: string;
  name: string;
  domainId: string;
}

export interface DoubleUser {
  id: string;
  name: string;
  domainId: string;
  password: string;
  /** Projects the user has a role on; the first is the default scope of nothing (scope is required). */
  projects: string[];
  admin?: boolean;
}

export interface DoubleAppCredential {
  id: string;
  secret: string;
  userId: string;
  projectId: string;
}

export interface DoubleVolume {
  id: string;
  name: string | null;
  projectId: string;
  status?: string;
  size?: number;
  volumeType?: string | null;
  host?: string | null;
  nameId?: string | null;
  createdAt?: string;
}

export type Target = 'token' | 'volumes';

export interface Fault {
  on: Target;
  /** Answer this status (with the service's error body) instead of the real answer. */
  status?: number;
  /** Hold the answer this long first (a slow service). */
  delayMs?: number;
  /** How many calls it applies to. */
  times: number;
}

const DOMAINS: Record<string, string> = { default: 'Default' };

export class OpenStackDouble {
  projects: DoubleProject[] = [];
  users: DoubleUser[] = [];
  appCredentials: DoubleAppCredential[] = [];
  volumes: DoubleVolume[] = [];
  region = 'RegionOne';
  /** Base of the next-page links; Cinder uses its osapi_volume_base_URL, or the request's host. */
  linkBase?: string;
  /** Calls received, e.g. `POST /identity/v3/auth/tokens`, `GET /volume/v3/p/volumes/detail?limit=2`. */
  calls: string[] = [];
  /** Every token issued: tests check none of them leaks into histories or reports. */
  issued: string[] = [];
  private faults: Fault[] = [];
  private tokens = new Map<string, { userId: string; projectId: string; admin: boolean }>();
  private server?: Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get authUrl(): string {
    return `${this.url}/identity/v3`;
  }

  fail(f: Fault): void {
    this.faults.push({ ...f });
  }

  clearFaults(): void {
    this.faults = [];
  }

  callsTo(t: Target): string[] {
    return this.calls.filter((c) => (t === 'token' ? c.startsWith('POST /identity/v3/auth/tokens') : c.includes('/volumes/detail')));
  }

  addVolume(v: Omit<DoubleVolume, 'id'> & { id?: string }): DoubleVolume {
    const vol: DoubleVolume = { status: 'available', size: 1, volumeType: '__DEFAULT__', createdAt: new Date(Date.now() + this.volumes.length).toISOString(), ...v, id: v.id ?? randomUUID() };
    this.volumes.push(vol);
    return vol;
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((e: Error) => send(res, 500, { computeFault: { code: 500, message: e.message } })));
    await new Promise<void>((res) => this.server!.listen(port, '127.0.0.1', res));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((res) => this.server!.close(res));
  }

  private takeFault(t: Target): Fault | undefined {
    const f = this.faults.find((x) => x.on === t && x.times > 0);
    if (f) f.times--;
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    this.calls.push(`${req.method} ${url.pathname}${url.search}`);
    const body = await readBody(req);
    if (req.method === 'POST' && url.pathname === '/identity/v3/auth/tokens') {
      const fault = this.takeFault('token');
      if (fault?.delayMs) await sleep(fault.delayMs, res);
      if (fault?.status) return send(res, fault.status, keystoneError(fault.status));
      return this.token(body, res);
    }
    const m = /^\/(volume|volume-internal)\/v3\/([^/]+)\/volumes\/detail$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const fault = this.takeFault('volumes');
      if (fault?.delayMs) await sleep(fault.delayMs, res);
      if (fault?.status) return send(res, fault.status, cinderError(fault.status));
      return this.listVolumes(m[1]!, m[2]!, url, req, res);
    }
    send(res, 404, { error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } });
  }

  private token(raw: string, res: ServerResponse): void {
    let doc: any;
    try {
      doc = JSON.parse(raw);
    } catch {
      return send(res, 400, { error: { code: 400, title: 'Bad Request', message: 'Expecting to find valid JSON in request body.' } });
    }
    const identity = doc?.auth?.identity;
    const methods: unknown = identity?.methods;
    if (!Array.isArray(methods) || methods.length !== 1) return send(res, 400, { error: { code: 400, title: 'Bad Request', message: "Invalid input for field 'identity/methods'." } });
    let user: DoubleUser | undefined;
    let project: DoubleProject | undefined;
    if (methods[0] === 'password') {
      const u = identity.password?.user;
      user = u?.id ? this.users.find((x) => x.id === u.id) : this.users.find((x) => x.name === u?.name && this.domainMatches(x.domainId, u?.domain));
      if (!user || u.password !== user.password) return this.unauthorized(res);
      const p = doc.auth.scope?.project;
      if (!p) return send(res, 400, { error: { code: 400, title: 'Bad Request', message: 'this double only issues project-scoped tokens' } });
      project = p.id ? this.projects.find((x) => x.id === p.id) : this.projects.find((x) => x.name === p.name && this.domainMatches(x.domainId, p.domain));
      if (!project || !user.projects.includes(project.id)) return this.unauthorized(res);
    } else if (methods[0] === 'application_credential') {
      const a = identity.application_credential;
      const cred = this.appCredentials.find((x) => x.id === a?.id);
      if (!cred || a.secret !== cred.secret) return this.unauthorized(res);
      if (doc.auth.scope) return send(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'Application credentials cannot request a scope.' } });
      user = this.users.find((x) => x.id === cred.userId);
      project = this.projects.find((x) => x.id === cred.projectId);
      if (!user || !project) return this.unauthorized(res);
    } else {
      return this.unauthorized(res);
    }
    const value = `gAAAAA${randomBytes(48).toString('base64url')}`;
    this.issued.push(value);
    this.tokens.set(value, { userId: user.id, projectId: project.id, admin: !!user.admin });
    const now = new Date();
    // Catalogs carry Cinder's URL with the project substituted, as Keystone renders $(project_id)s.
    const volumeUrl = (iface: string) => `${this.url}/${iface === 'internal' ? 'volume-internal' : 'volume'}/v3/${project!.id}`;
    const body = {
      token: {
        methods,
        user: { id: user.id, name: user.name, domain: { id: user.domainId, name: DOMAINS[user.domainId] ?? user.domainId }, password_expires_at: null },
        project: { id: project.id, name: project.name, domain: { id: project.domainId, name: DOMAINS[project.domainId] ?? project.domainId } },
        roles: user.admin ? [{ id: 'r1', name: 'admin' }, { id: 'r2', name: 'member' }] : [{ id: 'r2', name: 'member' }],
        is_domain: false,
        expires_at: new Date(now.getTime() + 3600_000).toISOString(),
        issued_at: now.toISOString(),
        audit_ids: [randomBytes(16).toString('base64url')],
        catalog: [
          {
            type: 'identity',
            name: 'keystone',
            id: 'svc-identity',
            endpoints: [{ id: 'e1', interface: 'public', region: this.region, region_id: this.region, url: `${this.url}/identity` }],
          },
          {
            type: 'block-storage',
            name: 'cinder',
            id: 'svc-block-storage',
            endpoints: ['public', 'internal'].map((iface, i) => ({ id: `e2${i}`, interface: iface, region: this.region, region_id: this.region, url: volumeUrl(iface) })),
          },
          {
            type: 'volumev3',
            name: 'cinderv3',
            id: 'svc-volumev3',
            endpoints: ['public', 'internal'].map((iface, i) => ({ id: `e3${i}`, interface: iface, region: this.region, region_id: this.region, url: volumeUrl(iface) })),
          },
        ],
      },
    };
    res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': value, vary: 'X-Auth-Token' });
    res.end(JSON.stringify(body));
  }

  private domainMatches(domainId: string, d: { id?: string; name?: string } | undefined): boolean {
    if (!d) return false;
    return d.id !== undefined ? d.id === domainId : DOMAINS[domainId] === d.name;
  }

  private unauthorized(res: ServerResponse): void {
    res.setHeader('www-authenticate', `Keystone uri="${this.url}/identity"`);
    send(res, 401, keystoneError(401));
  }

  private listVolumes(prefix: string, projectId: string, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const t = this.tokens.get(String(req.headers['x-auth-token'] ?? ''));
    if (!t) {
      res.setHeader('www-authenticate', `Keystone uri="${this.url}/identity"`);
      return send(res, 401, { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } });
    }
    if (t.projectId !== projectId) return send(res, 400, { badRequest: { code: 400, message: 'Malformed request url' } });
    const allTenants = t.admin && ['1', 'true', 'True'].includes(url.searchParams.get('all_tenants') ?? '');
    const limitParam = url.searchParams.get('limit');
    const limit = limitParam === null ? 1000 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 0) return send(res, 400, { badRequest: { code: 400, message: 'limit param must be an integer' } });
    // Cinder's default order: created_at desc, id desc.
    const visible = this.volumes
      .filter((v) => allTenants || v.projectId === projectId)
      .sort((a, b) => (a.createdAt! < b.createdAt! ? 1 : a.createdAt! > b.createdAt! ? -1 : a.id < b.id ? 1 : -1));
    const marker = url.searchParams.get('marker');
    let start = 0;
    if (marker !== null) {
      const i = visible.findIndex((v) => v.id === marker);
      if (i < 0) return send(res, 400, { badRequest: { code: 400, message: `Marker ${marker} could not be found.` } });
      start = i + 1;
    }
    const page = visible.slice(start, start + Math.min(limit, 1000));
    const base = `${this.linkBase ?? this.url}/${prefix}/v3/${projectId}`;
    const body: Record<string, unknown> = { volumes: page.map((v) => this.detail(v, base, t.admin)) };
    // Like Cinder, a full page gets a next link, even when it happens to be the last one.
    if (page.length > 0 && page.length === limit) {
      const q = new URLSearchParams(url.searchParams);
      q.set('marker', page.at(-1)!.id);
      body.volumes_links = [{ href: `${base}/volumes/detail?${q.toString()}`, rel: 'next' }];
    }
    send(res, 200, body);
  }

  private detail(v: DoubleVolume, base: string, admin: boolean): Record<string, unknown> {
    const d: Record<string, unknown> = {
      id: v.id,
      name: v.name,
      status: v.status,
      size: v.size,
      availability_zone: 'nova',
      created_at: v.createdAt,
      updated_at: v.createdAt,
      attachments: [],
      bootable: 'false',
      encrypted: false,
      multiattach: false,
      description: null,
      metadata: {},
      snapshot_id: null,
      source_volid: null,
      consistencygroup_id: null,
      replication_status: null,
      user_id: 'u',
      volume_type: v.volumeType ?? null,
      links: [
        { href: `${base}/volumes/${v.id}`, rel: 'self' },
        { href: `${base.replace('/v3/', '/')}/volumes/${v.id}`, rel: 'bookmark' },
      ],
      'os-vol-mig-status-attr:migstat': null,
    };
    if (admin) {
      d['os-vol-host-attr:host'] = v.host ?? null;
      d['os-vol-mig-status-attr:name_id'] = v.nameId ?? null;
      d['os-vol-tenant-attr:tenant_id'] = v.projectId;
    }
    return d;
  }
}

function keystoneError(status: number): unknown {
  const title: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  const message: Record<number, string> = {
    401: 'The request you have made requires authentication.',
    403: 'You are not authorized to perform the requested action.',
    500: 'An unexpected error prevented the server from fulfilling your request.',
  };
  return { error: { code: status, title: title[status] ?? 'Error', message: message[status] ?? 'Error' } };
}

function cinderError(status: number): unknown {
  if (status === 401) return { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } };
  if (status === 403) return { forbidden: { code: 403, message: 'Policy does not allow volume:get_all to be performed.' } };
  return { computeFault: { code: status, message: 'The server has either erred or is incapable of performing the requested operation.' } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Waits, but not for a client that has gone away. */
function sleep(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    res.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
