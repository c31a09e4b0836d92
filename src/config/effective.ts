/**
 * The effective config as a list of keys, each with its value and where it came from (a file and
 * line, or "default"), with secrets masked: `show config` prints this, so it may end up in a
 * ticket or a chat. Paths (a keyring's included) are not secrets; passwords, secrets and tokens are.
 * Masked by exact key name (SECRET_KEYS): `password_file` and `password_env` say where a secret
 * is, which is what a reader of `show config` needs to see.
 */
import { SECRET_KEYS } from '../openstack/settings.js';
import type { Config } from './config.js';

export interface EffectiveKey {
  key: string;
  value: unknown;
  source: string;
}

export const MASK = '********';

export function effectiveKeys(config: Config, sources: Map<string, string>): EffectiveKey[] {
  const out: EffectiveKey[] = [];
  const walk = (v: unknown, path: string[]) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, inner] of Object.entries(v)) walk(inner, [...path, k]);
      return;
    }
    const key = path.join('.');
    const source = sources.get(key) ?? 'default';
    const secret = SECRET_KEYS.includes(path.at(-1) ?? '') && v !== undefined && v !== '';
    out.push({ key, value: secret ? MASK : v, source });
  };
  walk(config, []);
  return out;
}
