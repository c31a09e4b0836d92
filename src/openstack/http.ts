/**
 * The few HTTP calls to Keystone and Cinder. Built on node:http(s) rather than fetch: Node 20's
 * fetch cannot take a CA file or `verify: false` without the undici package, and private clouds
 * mostly run on a private CA. Bodies are small JSON documents, so each answer is read whole.
 *
 * Retries: a 5xx, a 429, a network error or a timeout is tried again with backoff, a bounded
 * number of times; anything else is the answer. Errors name the service and the URL, never a
 * header or a request body (they carry the password and the token).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpOptions {
  timeoutMs: number;
  /** Further attempts after a retryable failure. */
  retries: number;
  /** PEM text of the CA to trust instead of the system's. */
  ca?: string | undefined;
  verify: boolean;
  /** First backoff; doubled per attempt (tests shorten it). */
  backoffMs?: number;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Network trouble or silence after every attempt: the service, not the request, is the problem. */
export class ServiceUnreachable extends Error {
  override name = 'ServiceUnreachable';
}

const MAX_BODY = 64 * 1024 * 1024;

function once(url: URL, method: string, headers: Record<string, string>, body: string | undefined, o: HttpOptions): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
        ...(url.protocol === 'https:' ? { rejectUnauthorized: o.verify, ...(o.ca ? { ca: o.ca } : {}) } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`answer larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // A deadline for the whole exchange: a server that trickles its answer is as stuck as a silent one.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), o.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * One call with retries. `service` names the other side in errors ("Keystone", "Cinder").
 * Returns the last answer, whatever its status, once it is not retryable or attempts run out.
 */
export async function call(service: string, method: string, url: URL, headers: Record<string, string>, body: string | undefined, o: HttpOptions): Promise<HttpAnswer> {
  const attempts = o.retries + 1;
  let lastError: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(Math.min(8000, (o.backoffMs ?? 500) * 2 ** (i - 1)));
    let answer: HttpAnswer;
    try {
      answer = await once(url, method, headers, body, o);
    } catch (e) {
      lastError = e as Error;
      continue;
    }
    if (!retryable(answer.status) || i === attempts - 1) return answer;
  }
  const err = lastError as NodeJS.ErrnoException;
  const where = `${service} at ${url.origin}${url.pathname}`;
  if (err.code === 'ETIMEDOUT') {
    throw new ServiceUnreachable(`no answer from ${where} within ${o.timeoutMs / 1000} s (${attempts} attempt(s)): check the address and the network, or raise openstack.timeout_seconds`);
  }
  throw new ServiceUnreachable(`cannot reach ${where}: ${err.code ?? err.message} (${attempts} attempt(s))`);
}

/** The error message of an OpenStack error body, whatever its wrapper (`error`, `forbidden`, …). */
export function errorMessage(body: string): string | undefined {
  try {
    const doc = JSON.parse(body) as Record<string, unknown>;
    for (const v of Object.values(doc)) {
      const m = (v as { message?: unknown } | null)?.message;
      if (typeof m === 'string') return m.replace(/\s+/g, ' ').slice(0, 300);
    }
  } catch {
    // Not JSON: an HTML page of a proxy, say. Its text is noise in a one-line error.
  }
  return undefined;
}
