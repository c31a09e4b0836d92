/**
 * Connecting to Temporal for the CLI and other services: fails within seconds (not a hang) when
 * the server is unreachable.
 */
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';

/** gRPC status codes (not a dependency of ours: the SDK brings grpc-js) of a server not reached in time. */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

export async function connect(address: string, timeoutMs = 5000): Promise<Connection> {
  try {
    return await Connection.connect({ address, connectTimeout: timeoutMs });
  } catch (e) {
    throw new UnreachableError(`Temporal server at ${address} is unreachable: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * A connection whose first call is the caller's own `check` (a question it must ask anyway, such
 * as whether a worker polls its queue) instead of the GetSystemInfo round trip `connect` makes
 * first: one request fewer before a command's real work. Bounded by the same timeout, and an
 * unreachable server is reported as `connect` reports it.
 */
export async function connectChecked(address: string, check: (connection: Connection) => Promise<void>, timeoutMs = 5000): Promise<Connection> {
  let connection: Connection;
  try {
    connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  } catch (e) {
    // A malformed address is the config's fault (exit 2), as `connect` reports it.
    throw new UnreachableError(`Temporal server at ${address} is unreachable: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => check(connection));
    return connection;
  } catch (e) {
    await connection.close();
    if (isGrpcServiceError(e) && (e.code === UNAVAILABLE || e.code === DEADLINE_EXCEEDED)) {
      const why = e.code === DEADLINE_EXCEEDED ? `no answer within ${timeoutMs / 1000} s` : (e.details || e.message).split('\n')[0];
      throw new UnreachableError(`Temporal server at ${address} is unreachable: ${why}`);
    }
    throw e;
  }
}

export interface OpenClientOptions {
  /** host:port of the Temporal frontend. */
  address: string;
  /** Default `default`. */
  namespace?: string;
  timeoutMs?: number;
}

/** A client on a fresh connection, and how to close it (an open connection keeps a process alive). */
export async function openClient(o: OpenClientOptions): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await connect(o.address, o.timeoutMs);
  return { client: new Client({ connection, namespace: o.namespace ?? 'default' }), close: () => connection.close() };
}
