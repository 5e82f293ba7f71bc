/**
 * How soon the first N bytes could have been there if every seeder had sent at its upload limit
 * from the moment its first piece message reached the client: the smallest T with
 *   Σ limit_i × max(0, T − firstPiece_i) ≥ N
 * over the seeders that sent a piece at all. The seeders' first pieces come after the client's
 * connect, handshake, unchoke and first request round trips and the seeders' own quota ticks, so
 * this is the bound a client meets once the swarm has started sending to it; a client that ramps
 * its requests up, or leaves blocks waiting at slow seeders, is slower by what the table shows.
 */
export interface SeederStart {
  /** Seconds from the client's start to its first piece message from this seeder, or null. */
  firstPieceSeconds: number | null;
  /** The seeder's upload limit, bytes/s. */
  limit: number;
}

/** Seconds from the client's start, or undefined when no seeder sent a piece. */
export function prefixFloorSeconds(seeders: readonly SeederStart[], bytes: number): number | undefined {
  if (bytes <= 0) return 0;
  const sending = seeders
    .filter((s): s is { firstPieceSeconds: number; limit: number } => s.firstPieceSeconds !== null && s.limit > 0)
    .sort((a, b) => a.firstPieceSeconds - b.firstPieceSeconds);
  // Walk the starts in order: between two starts the bytes grow at the summed limit of those started.
  let rate = 0;
  let delivered = 0;
  for (let i = 0; i < sending.length; i++) {
    const seeder = sending[i] as { firstPieceSeconds: number; limit: number };
    rate += seeder.limit;
    const next = sending[i + 1]?.firstPieceSeconds ?? Number.POSITIVE_INFINITY;
    const span = next - seeder.firstPieceSeconds;
    if (delivered + rate * span >= bytes) return seeder.firstPieceSeconds + (bytes - delivered) / rate;
    delivered += rate * span;
  }
  return undefined;
}
