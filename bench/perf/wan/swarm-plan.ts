/**
 * The emulated swarm of wan-swarm.ts, drawn from one seed: each seeder's one-way latency and
 * jitter, its upload limit, and which seeders misbehave; and the corrupt seeder's copy of the film.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { shuffled, substream } from './random.js';
import type { Fault } from './relay.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface PlannedSeeder {
  index: number;
  /** One-way delay added by the relay, each way (ms). */
  delayMs: number;
  /** Extra delay per chunk, uniform in [0, jitterMs] (ms). */
  jitterMs: number;
  /** libtorrent upload_rate_limit of its session (bytes/s). */
  uploadRate: number;
  fault: Fault;
}

export const MIN_UPLOAD = 256 * KiB;
export const MAX_UPLOAD = 8 * MiB;
/** drop, drop, stall, corrupt. */
export const FAULTS: readonly Fault[] = ['drop', 'drop', 'stall', 'corrupt'];

/**
 * Limits spread geometrically from 256 KiB/s to 8 MiB/s and dealt out at random; latencies
 * uniform in 20–150 ms each way, jitter up to 2 ms + 15 % of the latency; faults on random seeders.
 */
export function planSwarm(count: number, seed: number): PlannedSeeder[] {
  const random = substream(seed, 0);
  const rates = Array.from({ length: count }, (_, i) =>
    Math.round(MIN_UPLOAD * (MAX_UPLOAD / MIN_UPLOAD) ** (count === 1 ? 1 : i / (count - 1))),
  );
  const dealt = shuffled(rates, random);
  const faultOrder = shuffled(
    Array.from({ length: count }, (_, i) => i),
    random,
  );
  return dealt.map((uploadRate, index) => {
    const delayMs = Math.round(20 + random() * 130);
    const jitterMs = Math.round(2 + random() * 0.15 * delayMs);
    const faultIndex = faultOrder.indexOf(index);
    return { index, delayMs, jitterMs, uploadRate, fault: FAULTS[faultIndex] ?? 'none' };
  });
}

/**
 * A copy of the film with ~`share` of its pieces damaged (64 bytes flipped at a random offset of
 * each chosen piece, at least one piece), for the corrupt seeder. Returns the damaged pieces.
 */
export async function writeCorruptCopy(
  source: string,
  target: string,
  pieceLength: number,
  totalBytes: number,
  share: number,
  seed: number,
): Promise<number[]> {
  await rm(target, { force: true });
  await mkdir(path.dirname(target), { recursive: true });
  const copied = spawnSync('cp', ['--reflink=auto', source, target], { stdio: 'inherit', timeout: 600_000 });
  if (copied.status !== 0) throw new Error(`could not copy ${source} to ${target}`);
  const pieces = Math.ceil(totalBytes / pieceLength);
  const random = substream(seed, 1);
  const chosen = shuffled(
    Array.from({ length: pieces }, (_, i) => i),
    random,
  )
    .slice(0, Math.max(1, Math.round(pieces * share)))
    .sort((a, b) => a - b);
  const handle = await open(target, 'r+');
  try {
    for (const piece of chosen) {
      const length = Math.min(pieceLength, totalBytes - piece * pieceLength);
      const offset = piece * pieceLength + Math.floor(random() * Math.max(1, length - 64));
      const bytes = Buffer.alloc(Math.min(64, length));
      await handle.read(bytes, 0, bytes.length, offset);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (bytes[i] as number) ^ 0xff;
      await handle.write(bytes, 0, bytes.length, offset);
    }
  } finally {
    await handle.close();
  }
  return chosen;
}
