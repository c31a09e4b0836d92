/**
 * Connecting to Temporal for the CLI and other services: fails within seconds (not a hang) when
 * the server is unreachable.
 */
import { Client, Connection } from '@temporalio/client';

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
