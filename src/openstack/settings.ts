/**
 * The `openstack:` section of the worker's config: where Keystone is, who we are, which Cinder
 * volumes to back up. Key names follow clouds.yaml (`auth_url`, `username`, `region_name`,
 * `cacert`, …) so a user can copy them from there, or name a clouds.yaml entry with `cloud`.
 *
 * This module only describes and checks the shape; secrets and clouds.yaml are read at run time
 * (./credentials.ts), so a rotated password or a new clouds.yaml needs no worker restart, and a
 * command that never talks to OpenStack (list, restore) is not held up by it.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

const text = z.string().min(1);
/** A secret's environment variable: a plain name, so it can never be a value pasted by mistake. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const openstackSchema = z
  .object({
    /** A clouds.yaml file and the entry to use; keys given here override the entry's. */
    clouds_yaml: text.optional(),
    cloud: text.optional(),
    auth_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    region_name: text.optional(),
    /** Which catalog endpoint of Cinder to call. */
    interface: z.enum(['public', 'internal', 'admin']).optional(),
    username: text.optional(),
    user_id: text.optional(),
    user_domain_name: text.optional(),
    user_domain_id: text.optional(),
    project_name: text.optional(),
    project_id: text.optional(),
    project_domain_name: text.optional(),
    project_domain_id: text.optional(),
    password: text.optional(),
    password_file: text.optional(),
    password_env: envName.optional(),
    application_credential_id: text.optional(),
    application_credential_secret: text.optional(),
    application_credential_secret_file: text.optional(),
    application_credential_secret_env: envName.optional(),
    /** PEM file of the CA that signed Keystone's and Cinder's certificates. */
    cacert: text.optional(),
    verify: z.boolean().optional(),
    /** Cinder volume names to back up. */
    volume_names: z.array(z.string().min(1)).optional(),
    /** Every volume the credentials can see (with all_tenants: every project's, for an admin). */
    all_volumes_in_project: z.boolean().default(false),
    all_tenants: z.boolean().default(false),
    /** The Ceph pool of Cinder's RBD backend (its `rbd_pool`): volume X is image `volume-X` there. */
    pool: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/, 'must be a plain pool name').default('volumes'),
    /** Backends (`host@BACKEND#pool` of os-vol-host-attr:host) that are this pool's RBD backend. */
    rbd_backends: z.array(text).min(1).optional(),
    /** Volume types whose volumes live in this pool. */
    rbd_volume_types: z.array(text).min(1).optional(),
    timeout_seconds: z.number().gt(0).max(600).default(30),
    /** Further attempts after a 5xx, a network error or a timeout (with backoff). */
    retries: z.number().int().min(0).max(10).default(3),
    page_size: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict()
  .superRefine((o, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!o.all_volumes_in_project && !o.volume_names?.length) {
      issue('volume_names', 'name the volumes to back up, or set all_volumes_in_project: true');
    }
    if (o.cloud === undefined && o.clouds_yaml !== undefined) issue('cloud', 'is required with clouds_yaml (the entry of its clouds: map to use)');
    const count = (...keys: (keyof typeof o)[]) => keys.filter((k) => o[k] !== undefined).length;
    if (count('password', 'password_file', 'password_env') > 1) issue('password', 'give one of password, password_file, password_env');
    if (count('application_credential_secret', 'application_credential_secret_file', 'application_credential_secret_env') > 1) {
      issue('application_credential_secret', 'give one of application_credential_secret, _file, _env');
    }
    const dup = o.volume_names?.find((n, i) => o.volume_names!.indexOf(n) !== i);
    if (dup !== undefined) issue('volume_names', `${JSON.stringify(dup)} is listed twice`);
  });

export type OpenStackSettings = z.infer<typeof openstackSchema>;

/** Paths in the section are relative to the config file, as every other path of the config is. */
export function withAbsolutePaths(o: OpenStackSettings, base: string): OpenStackSettings {
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  const out = { ...o };
  for (const k of ['clouds_yaml', 'cacert', 'password_file', 'application_credential_secret_file'] as const) {
    const p = abs(out[k]);
    if (p !== undefined) out[k] = p;
  }
  return out;
}

/**
 * Keys whose values are secrets, by exact name: masked wherever the config is shown
 * (src/config/effective.ts). Their `_file` and `_env` forms name where a secret is, not the
 * secret, and are shown. No key holds a token today; `token` and `auth_token` (clouds.yaml's
 * words for one) are listed so that a key added for one is masked from the start.
 */
export const SECRET_KEYS: readonly string[] = ['password', 'application_credential_secret', 'token', 'auth_token'];
