import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prefixFloorSeconds } from '../../bench/perf/wan/prefix-floor.js';

const MiB = 1024 * 1024;

describe('bench:swarm, the first bytes at the seeders’ limits from their first piece (prefixFloorSeconds)', () => {
  test('one seeder: its first piece plus the bytes at its limit', () => {
    assert.equal(prefixFloorSeconds([{ firstPieceSeconds: 0.5, limit: 4 * MiB }], 16 * MiB), 4.5);
  });

  test('seeders add their limits from their own first piece on', () => {
    // 0.5–1.0 s: 2 MiB/s → 1 MiB; from 1.0 s: 2 + 6 = 8 MiB/s, 7 MiB more in 0.875 s.
    const floor = prefixFloorSeconds(
      [
        { firstPieceSeconds: 1.0, limit: 6 * MiB },
        { firstPieceSeconds: 0.5, limit: 2 * MiB },
      ],
      8 * MiB,
    );
    assert.equal(floor, 1.875);
  });

  test('a seeder whose first piece comes after the bytes are in changes nothing', () => {
    const alone = prefixFloorSeconds([{ firstPieceSeconds: 0.2, limit: 10 * MiB }], 1 * MiB);
    const withLate = prefixFloorSeconds(
      [
        { firstPieceSeconds: 0.2, limit: 10 * MiB },
        { firstPieceSeconds: 5, limit: 100 * MiB },
      ],
      1 * MiB,
    );
    assert.ok(alone !== undefined && Math.abs(alone - 0.3) < 1e-9, `${alone}`);
    assert.equal(withLate, alone);
  });

  test('seeders that never sent a piece (a stalled one) count for nothing; none at all gives no floor', () => {
    assert.equal(
      prefixFloorSeconds(
        [
          { firstPieceSeconds: null, limit: 100 * MiB },
          { firstPieceSeconds: 1, limit: 1 * MiB },
        ],
        1 * MiB,
      ),
      2,
    );
    assert.equal(prefixFloorSeconds([{ firstPieceSeconds: null, limit: MiB }], MiB), undefined);
    assert.equal(prefixFloorSeconds([], MiB), undefined);
  });

  test('never sooner than the first piece, and as many bytes as asked at the floor', () => {
    const seeders = [
      { firstPieceSeconds: 0.52, limit: 2.23 * MiB },
      { firstPieceSeconds: 0.72, limit: 6.67 * MiB },
      { firstPieceSeconds: 1.1, limit: 5.55 * MiB },
      { firstPieceSeconds: 1.21, limit: 1.55 * MiB },
    ];
    const floor = prefixFloorSeconds(seeders, 16 * MiB);
    assert.ok(floor !== undefined && floor > 0.52);
    const delivered = seeders.reduce(
      (sum, s) => sum + s.limit * Math.max(0, (floor as number) - s.firstPieceSeconds),
      0,
    );
    assert.ok(Math.abs(delivered - 16 * MiB) < 1, `${delivered} bytes at the floor`);
  });
});
