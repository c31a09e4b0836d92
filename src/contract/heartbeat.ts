/**
 * What an export's heartbeats carry. `status` reads `phase` and `written` from the pending
 * activity (src/client/progress.ts), the fault tests read `phase`; `progress` is the same state
 * as one line, first, so the Web UI's pending-activity view reads it without decoding numbers.
 */
import { bytesText } from './summary.js';

export interface ExportBeat {
  /** "export: 1.2 GiB of 20 GiB (6%)", "fsync: 20 GiB of 20 GiB (100%)". */
  progress: string;
  phase: string;
  /** Bytes in the partial file so far. */
  written: number;
  /** Bytes checksummed so far: the hash follows rbd through the growing partial file. */
  hashed: number;
}

/**
 * `expected` is a full's image size (its file ends exactly there) or a diff's estimate, which the
 * text marks as such and which a diff may well exceed.
 */
export function exportBeat(phase: string, written: number, hashed: number, expected: { bytes: number; estimate: boolean }): ExportBeat {
  const done = phase === 'checksum' ? hashed : written;
  const of = expected.estimate ? `~${bytesText(expected.bytes)} estimated` : bytesText(expected.bytes);
  const pct = !expected.estimate && expected.bytes > 0 ? ` (${Math.min(100, Math.floor((done * 100) / expected.bytes))}%)` : '';
  return { progress: `${phase}: ${bytesText(done)} of ${of}${pct}`, phase, written, hashed };
}
