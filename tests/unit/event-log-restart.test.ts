/**
 * Issue 17 (found there, fixed here): SSE event ids restarted at 1 with the server, so a client's
 * `Last-Event-ID` from before a restart replayed another run's events under its ids. Ids now start
 * above every id an earlier run can have issued, and an old id gets `resync` (undefined here).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import { EventLog } from '../../src/service/event-log.js';

const job: Job = {
  id: 'metropolis',
  sourceType: 'torrent',
  sourceUrn: `magnet:?xt=urn:btih:${'1'.repeat(40)}`,
  status: 'queued',
  sequential: true,
  progress: emptyProgress(),
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
};

describe('event ids across restarts', () => {
  test('a Last-Event-ID from the run before gets resync, even once the new run issued as many events', () => {
    const before = new EventLog(2_000, Date.parse('2026-12-01T10:00:00Z'));
    let last = 0;
    for (let i = 0; i < 57; i++) last = before.append('progress', job).id;

    // Restarted a second later; by the time the client reconnects it has issued more than 57 events.
    const after = new EventLog(2_000, Date.parse('2026-12-01T10:00:01Z'));
    for (let i = 0; i < 100; i++) after.append('progress', job);
    assert.equal(after.since(last), undefined, 'an id from the run before is not one of ours');
  });

  test('within one run: ids increase by one, and a reconnect gets exactly what it missed', () => {
    const log = new EventLog(2_000, Date.parse('2026-12-01T10:00:00Z'));
    const added = log.append('added', job).id;
    const started = log.append('started', job).id;
    const progress = log.append('progress', job).id;
    assert.deepEqual([started - added, progress - started], [1, 1]);
    assert.ok(Number.isSafeInteger(progress) && String(progress).length <= 16, 'fits the contract (16 digits)');
    assert.deepEqual(
      log.since(added)?.map((event) => event.type),
      ['started', 'progress'],
    );
    assert.deepEqual(log.since(progress), []);
  });
});
