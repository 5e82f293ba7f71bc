import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WarningThrottle } from '../../src/downloaders/webtorrent/engine-warnings.js';

describe('WarningThrottle: a chatty tracker cannot flood the log', () => {
  test('the same warning of a job is logged once, then again later with how often it came meanwhile', () => {
    let now = 0;
    const throttle = new WarningThrottle({ repeatAfterMs: 60_000, now: () => now });
    const refused = new Error('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:6969') });
    const lines = Array.from({ length: 50 }, () => throttle.admit('film', refused)).filter((line) => line);
    assert.deepEqual(lines, ['Job film: fetch failed: connect ECONNREFUSED 127.0.0.1:6969']);
    assert.equal(
      throttle.admit('other-film', refused),
      'Job other-film: fetch failed: connect ECONNREFUSED 127.0.0.1:6969',
    );
    now = 60_000;
    assert.equal(
      throttle.admit('film', refused),
      'Job film: fetch failed: connect ECONNREFUSED 127.0.0.1:6969 (49 more times since it was logged)',
    );
  });

  test('many different warnings: a budget per window, and the next line says how many were left out', () => {
    let now = 0;
    const throttle = new WarningThrottle({ maxPerWindow: 20, windowMs: 60_000, now: () => now });
    const logged = Array.from({ length: 25 }, (_, n) => throttle.admit('film', `peer 10.0.0.${n} sent junk`));
    assert.equal(logged.filter((line) => line !== undefined).length, 20);
    now = 60_000;
    assert.equal(
      throttle.admit('film', 'tracker said no'),
      'Job film: tracker said no [5 other engine warnings were not logged]',
    );
  });

  test('long texts are cut and kept on one line; it remembers a bounded number of warnings', () => {
    const throttle = new WarningThrottle({ maxRemembered: 2, maxPerWindow: 100 });
    const line = throttle.admit('film', `failure reason:\n${'x'.repeat(1000)}`) ?? '';
    assert.ok(!line.includes('\n'));
    assert.ok(line.length < 320, `${line.length} characters`);
    throttle.admit('film', 'a');
    throttle.admit('film', 'b');
    // The first was forgotten: it is logged again at once.
    assert.notEqual(throttle.admit('film', `failure reason:\n${'x'.repeat(1000)}`), undefined);
  });
});
