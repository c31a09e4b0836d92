/**
 * Connecting to Temporal for the CLI and other services: fails within seconds (not a hang) when
 * the server is unreachable.
 */
import { Connection } from '@temporalio/client';

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

