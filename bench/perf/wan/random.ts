import { mulberry32 } from '../../../tests/helpers/seeded-random.js';

/** A deterministic sub-stream for one seeder (or one purpose), from the run's seed. */
export function substream(seed: number, index: number): () => number {
  // mulberry32: the same --seed gives the same swarm (latencies, limits, faults).
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 2_654_435_761) + index * 0x85ebca6b);
}

/** Fisher–Yates with the given generator. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
