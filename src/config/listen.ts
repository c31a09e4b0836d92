/**
 * `metrics.listen`: the address the worker's metrics endpoint binds, as IP:PORT. The Temporal
 * runtime binds it and takes only a socket address, so a host name is refused here, with the
 * form to use, rather than by a runtime error at start-up.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Why `s` is no IP:PORT, or undefined when it is one. */
export function listenProblem(s: string): string | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(s);
  if (!m) return `${JSON.stringify(s)} is not IP:PORT (e.g. 127.0.0.1:9464 or [::1]:9464)`;
  const [, v6, v4, port] = m;
  if (v6 !== undefined ? !isIPv6(v6) : !isIPv4(v4!)) {
    return `${JSON.stringify(s)}: the host must be an IPv4 address or an IPv6 address in brackets (e.g. 127.0.0.1:9464), not a name`;
  }
  if (!/^\d{1,5}$/.test(port!) || Number(port) < 1 || Number(port) > 65535) return `${JSON.stringify(s)}: the port must be a number from 1 to 65535`;
  return undefined;
}
