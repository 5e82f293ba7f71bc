import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decideRange } from '../../src/api/routes/stream.js';

/** Range headers a player, a scanner or an attacker may send. */
const rangeHeader = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc
    .array(
      fc.oneof(
        fc.tuple(fc.nat(), fc.option(fc.nat(), { nil: undefined })).map(([a, b]) => `${a}-${b ?? ''}`),
        fc.nat().map((n) => `-${n}`),
        fc.constantFrom('', ' ', '-', '--', '1-2-3', 'a-b', '99999999999999999999999-', '-0', '0-'),
      ),
      { maxLength: 4 },
    )
    .chain((specs) => fc.constantFrom('bytes=', 'BYTES=', 'bytes= ', 'items=').map((unit) => unit + specs.join(','))),
);

test('fuzz: every Range header gets a whole, unsatisfiable or in-bounds partial answer', () => {
  fc.assert(
    fc.property(fc.option(rangeHeader, { nil: undefined }), fc.nat({ max: 2 ** 40 }), (header, length) => {
      const decision = decideRange(header, length);
      if (decision.kind !== 'partial') return;
      assert.ok(Number.isSafeInteger(decision.start) && Number.isSafeInteger(decision.end), JSON.stringify(decision));
      assert.ok(
        decision.start >= 0 && decision.start <= decision.end && decision.end < length,
        JSON.stringify(decision),
      );
    }),
    { seed: 1208, numRuns: 5_000 },
  );
});
