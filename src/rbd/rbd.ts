/**
 * The only code that runs `rbd` and `ceph`. Argument arrays only (never a shell), the cluster's
 * conf/keyring/id passed explicitly on every call, JSON output parsed into types, and failures
 * raised as RbdError carrying the command, exit code and stderr so reports can say why.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { sha256Stream } from '../fs/checksum.js';
import { checkName, type ImageRef } from '../names/names.js';

export interface ClusterAccess {
  conf: string;
  keyring: string;
  user: string;
  /** Bounds every mon/osd operation so a dead cluster fails instead of hanging. */
  opTimeoutSeconds: number;
}

export class RbdError extends Error {
  override name = 'RbdError';
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    public stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}): ${lastLine(stderr) || 'no stderr'}`);
    // Bounded: 2,000 images' failures must still fit a Temporal payload (2 MiB).
    if (stderr.length > STDERR_KEEP) this.stderr = '…' + stderr.slice(-STDERR_KEEP);
  }
  /** errno names from rbd's messages: "(2) No such file or directory" → 2. */
  get errno(): number | undefined {
    const m = /\((\d+)\) [A-Z]/.exec(this.stderr);
    return m ? Number(m[1]) : this.exitCode;
  }
}

const STDERR_KEEP = 4096;
export const ENOENT = 2;
export const EEXIST = 17;

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).at(-1) ?? '';
}

export interface ImageInfo {
  name: string;
  size: number;
  object_size: number;
  snapshot_count: number;
  features: string[];
}
export interface SnapInfo {
  id: number;
  name: string;
  size: number;
  protected: string;
  timestamp: string;
}
interface DuEntry {
  name: string;
  snapshot?: string;
  provisioned_size: number;
  used_size: number;
}

/** Debian and RHEL install the librados bindings for the system interpreter, which `ceph` runs on. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const NO_BINDINGS = 3;
/** argv: conf, keyring, user, timeout seconds. Errors: librados's message on stderr. */
const CLUSTER_FACTS_PY = `
import json, sys
try:
    import rados
except ImportError:
    sys.exit(${NO_BINDINGS})
conf, keyring, user, t = sys.argv[1:5]
c = rados.Rados(conffile=conf, rados_id=user, conf={'keyring': keyring, 'rados_mon_op_timeout': t, 'rados_osd_op_timeout': t, 'client_mount_timeout': t})
try:
    c.connect(timeout=int(t))
    print(json.dumps({'fsid': c.get_fsid(), 'pools': c.list_pools()}))
except rados.Error as e:
    sys.stderr.write('%s\\n' % e)
    sys.exit(1)
finally:
    c.shutdown()
`;

const spec = (r: ImageRef, snap?: string): string =>
  `${checkName('pool', r.pool)}/${checkName('image', r.image)}${snap ? '@' + checkName('snapshot', snap) : ''}`;

export class Rbd {
  constructor(private readonly access: ClusterAccess) {}

  private common(): string[] {
    const t = String(this.access.opTimeoutSeconds);
    return [
      '--conf', this.access.conf,
      '--keyring', this.access.keyring,
      '--id', this.access.user,
      '--rados-mon-op-timeout', t,
      '--rados-osd-op-timeout', t,
      '--client-mount-timeout', t,
    ];
  }

  /** What we print: the program and its own arguments, without the connection flags. */
  private describe(bin: string, args: string[]): string {
    return [bin, ...args].join(' ');
  }

  async run(bin: 'rbd' | 'ceph', args: string[], signal?: AbortSignal): Promise<string> {
    const r = await execa(bin, [...this.common(), ...args], {
      reject: false,
      stdin: 'ignore',
      cancelSignal: signal,
      forceKillAfterDelay: 5000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.failed) {
      // execa's own message holds the full argv (conf/keyring paths): never pass it on.
      const stderr = r.stderr || (r.isCanceled ? 'cancelled' : r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : 'failed without stderr');
      throw new RbdError(this.describe(bin, args), r.exitCode, String(stderr));
    }
    return String(r.stdout);
  }

  private async json<T>(bin: 'rbd' | 'ceph', args: string[]): Promise<T> {
    const out = await this.run(bin, [...args, '--format', 'json']);
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new RbdError(this.describe(bin, args), 0, `unparseable JSON output: ${out.slice(0, 200)}`);
    }
  }

  fsid(): Promise<string> {
    return this.json<{ fsid: string }>('ceph', ['fsid']).then((j) => j.fsid);
  }
  pools(): Promise<string[]> {
    return this.json<string[]>('ceph', ['osd', 'pool', 'ls']);
  }
  /** The monitor map's monitors: name and addresses (v2 and v1), as `ceph mon dump` reports them. */
  async monitors(): Promise<{ name: string; addrs: string[] }[]> {
    type Mon = { name: string; addr?: string; public_addrs?: { addrvec?: { type: string; addr: string }[] } };
    const j = await this.json<{ mons?: Mon[] }>('ceph', ['mon', 'dump']);
    return (j.mons ?? []).map((m) => ({
      name: m.name,
      addrs: m.public_addrs?.addrvec?.map((a) => `${a.type}:${a.addr}`) ?? (m.addr ? [m.addr] : []),
    }));
  }
  /**
   * The cluster's fsid and pool names from one short-lived librados client. The `ceph` CLI costs
   * 0.5–0.8 s per call here (Python start-up and its command tables), and a plan needed two; the
   * bindings it runs on answer both in ~0.3 s. Where they cannot be imported, the two `ceph` calls.
   */
  async clusterFacts(): Promise<{ fsid: string; pools: string[] }> {
    const t = String(this.access.opTimeoutSeconds);
    const what = 'librados fsid + pool list';
    const r = await execa(PYTHON, ['-c', CLUSTER_FACTS_PY, this.access.conf, this.access.keyring, this.access.user, t], {
      reject: false,
      stdin: 'ignore',
      forceKillAfterDelay: 5000,
      timeout: (this.access.opTimeoutSeconds + 10) * 1000,
    });
    if (r.exitCode === NO_BINDINGS || (r.failed && r.exitCode === undefined && r.code === 'ENOENT')) {
      const [fsid, pools] = await Promise.all([this.fsid(), this.pools()]);
      return { fsid, pools };
    }
    if (r.failed) throw new RbdError(what, r.exitCode, String(r.stderr || (r.timedOut ? 'timed out' : 'failed without stderr')));
    try {
      const j = JSON.parse(String(r.stdout)) as { fsid: string; pools: string[] };
      if (typeof j.fsid === 'string' && Array.isArray(j.pools)) return j;
    } catch {
      /* below */
    }
    throw new RbdError(what, 0, `unparseable output: ${String(r.stdout).slice(0, 200)}`);
  }
  info(r: ImageRef): Promise<ImageInfo> {
    return this.json<ImageInfo>('rbd', ['info', spec(r)]);
  }
  snapshots(r: ImageRef): Promise<SnapInfo[]> {
    return this.json<SnapInfo[]>('rbd', ['snap', 'ls', spec(r)]);
  }
  async snapshotNames(r: ImageRef): Promise<string[]> {
    return (await this.snapshots(r)).map((s) => s.name);
  }
  async exists(r: ImageRef): Promise<boolean> {
    try {
      await this.info(r);
      return true;
    } catch (e) {
      if (e instanceof RbdError && e.errno === ENOENT) return false;
      throw e;
    }
  }
  /** Used bytes of the head (changed since the newest snapshot) and of the whole image. */
  /**
   * One `rbd du` answers what a plan needs of an image: its size (the head's provisioned size),
   * bytes used in all, bytes written since the newest snapshot, and the snapshots' names — one
   * process instead of `info` + `du` + `snap ls`.
   */
  async usage(r: ImageRef): Promise<{ headUsed: number; totalUsed: number; provisioned: number; snapshots: string[] }> {
    const j = await this.json<{ images: DuEntry[] }>('rbd', ['du', spec(r)]);
    const head = j.images.find((i) => !i.snapshot);
    return {
      headUsed: head?.used_size ?? 0,
      totalUsed: j.images.reduce((s, i) => s + i.used_size, 0),
      provisioned: head?.provisioned_size ?? 0,
      snapshots: j.images.flatMap((i) => (i.snapshot ? [i.snapshot] : [])),
    };
  }
  snapCreate(r: ImageRef, snap: string): Promise<string> {
    return this.run('rbd', ['snap', 'create', '--no-progress', spec(r, snap)]);
  }
  snapRemove(r: ImageRef, snap: string): Promise<string> {
    return this.run('rbd', ['snap', 'rm', '--no-progress', spec(r, snap)]);
  }
  snapPurge(r: ImageRef, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['snap', 'purge', '--no-progress', spec(r)], signal);
  }
  remove(r: ImageRef, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['rm', '--no-progress', spec(r)], signal);
  }

  rename(from: ImageRef, to: ImageRef): Promise<string> {
    if (from.pool !== to.pool) throw new Error(`rbd rename cannot move ${spec(from)} to another pool (${to.pool})`);
    return this.run('rbd', ['rename', spec(from), spec(to)]);
  }
  metaSet(r: ImageRef, key: string, value: string): Promise<string> {
    return this.run('rbd', ['image-meta', 'set', spec(r), key, value]);
  }
  /** undefined when the key is not set. */
  async metaGet(r: ImageRef, key: string): Promise<string | undefined> {
    // An image without metadata prints nothing at all, not `{}`.
    const out = (await this.run('rbd', ['image-meta', 'list', spec(r), '--format', 'json'])).trim();
    let all: Record<string, string>;
    try {
      all = out ? (JSON.parse(out) as Record<string, string>) : {};
    } catch {
      throw new RbdError(this.describe('rbd', ['image-meta', 'list', spec(r)]), 0, `unparseable JSON output: ${out.slice(0, 200)}`);
    }
    return Object.prototype.hasOwnProperty.call(all, key) ? all[key] : undefined;
  }

  /** Transfers take the activity's signal: cancelling it kills rbd. */
  exportFull(r: ImageRef, snap: string, file: string, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['export', '--no-progress', spec(r, snap), file], signal);
  }
  exportDiff(r: ImageRef, from: string, snap: string, file: string, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['export-diff', '--no-progress', '--from-snap', checkName('snapshot', from), spec(r, snap), file], signal);
  }
  importFull(file: string, r: ImageRef, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['import', '--no-progress', file, spec(r)], signal);
  }
  importDiff(file: string, r: ImageRef, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['import-diff', '--no-progress', file, spec(r)], signal);
  }
  snapRollback(r: ImageRef, snap: string, signal?: AbortSignal): Promise<string> {
    return this.run('rbd', ['snap', 'rollback', '--no-progress', spec(r, snap)], signal);
  }

  /** sha256 of `rbd export SPEC -` (a snapshot, or the head when `snap` is empty), streamed. */
  async sha256(r: ImageRef, snap: string, signal?: AbortSignal, progress?: (bytes: number) => void): Promise<string> {
    const args = ['export', '--no-progress', spec(r, snap), '-'];
    const child = execa('rbd', [...this.common(), ...args], { buffer: { stdout: false, stderr: true }, cancelSignal: signal, reject: false, stdin: 'ignore' });
    const [sum, res] = await Promise.all([sha256Stream(child.stdout, progress), child]);
    if (res.failed) throw new RbdError(this.describe('rbd', args), res.exitCode, String(res.stderr || 'failed without stderr'));
    return sum.sha256;
  }
}
