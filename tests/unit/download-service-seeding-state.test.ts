/**
 * Issue 17: seeding is a state. A completed job that still uploads says so (`seeding.active`),
 * with its ratio, the policy's ratio and when the policy's time ends it; the user can stop it
 * now, or start it again (the data is checked, then it seeds under the policy).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { JobEvent } from '../../src/domain/job-event.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MAGNET = `magnet:?xt=urn:btih:${'ef'.repeat(20)}&dn=Safety.Last.1923.mkv`;

describe('seeding as a state', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let service: DownloadService;
  beforeEach(async () => {
    work = await tempDir();
    service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), totalBytes: 1024 * 1024, tickMs: 10 }),
      seeding: { ratio: 2, minutes: 30 },
    });
  });
  afterEach(async () => {
    await service.close();
    await work.cleanup();
  });

  test('a completed job shows its upload; stop ends it now, start seeds it again', async () => {
    const events: JobEvent[] = [];
    service.subscribe((event) => events.push(event));
    await service.add({ id: 'safety', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('safety').status === 'completed', { what: 'completed' });
    const seeding = service.get('safety').seeding;
    assert.ok(seeding !== undefined);
    assert.equal(seeding.active, true);
    assert.equal(seeding.ratioLimit, 2);
    assert.equal(seeding.ratio, 0);
    const endsIn = Date.parse(seeding.endsAt ?? '') - Date.now();
    assert.ok(endsIn > 29 * 60_000 && endsIn <= 30 * 60_000, `ends in ${endsIn} ms`);

    const stopped = await service.setSeeding('safety', false);
    assert.equal(stopped.status, 'completed');
    assert.deepEqual(
      { ...stopped.seeding },
      { active: false, ratio: 0, ratioLimit: 2, endsAt: null, minutesLimit: 30, policy: 'global' },
    );
    assert.ok(events.some((event) => event.type === 'seeding_stopped'));

    const restarted = await service.setSeeding('safety', true);
    assert.notEqual(restarted.status, 'completed', 'back through the queue, its data checked');
    await waitUntil(() => service.get('safety').seeding?.active === true, { what: 'seeding again' });
    assert.equal(service.get('safety').status, 'completed');
  });

  test('only a completed job seeds', async () => {
    await service.add({ id: 'safety', sourceType: 'torrent', sourceUrn: MAGNET });
    await service.pause('safety');
    await assert.rejects(service.setSeeding('safety', true), { code: 'invalid_transition' });
    assert.equal(service.get('safety').seeding, undefined, 'no seeding state before completion');
  });

  test("a job's own policy replaces the global one at once, is kept, and can be given back", async () => {
    await service.add({ id: 'safety', sourceType: 'torrent', sourceUrn: MAGNET });
    await waitUntil(() => service.get('safety').seeding?.active === true, { what: 'seeding' });
    const own = await service.setSeedingPolicy('safety', { ratio: 5, minutes: 120 });
    assert.equal(own.seeding?.policy, 'job');
    assert.equal(own.seeding?.ratioLimit, 5);
    assert.equal(own.seeding?.minutesLimit, 120);
    const endsIn = Date.parse(own.seeding?.endsAt ?? '') - Date.now();
    assert.ok(endsIn > 119 * 60_000 && endsIn <= 120 * 60_000, `ends in ${endsIn} ms`);

    // Only the ratio is the job's own: the global minutes apply.
    const half = await service.setSeedingPolicy('safety', { ratio: 3, minutes: null });
    assert.deepEqual([half.seeding?.ratioLimit, half.seeding?.minutesLimit, half.seeding?.policy], [3, 30, 'job']);

    // A time limit that has already passed ends the upload now.
    await service.setSeedingPolicy('safety', { ratio: null, minutes: 0 });
    await waitUntil(() => service.get('safety').seeding?.active === false, { what: 'the upload to end' });

    const back = await service.setSeedingPolicy('safety', { ratio: null, minutes: null });
    assert.deepEqual([back.seeding?.ratioLimit, back.seeding?.minutesLimit, back.seeding?.policy], [2, 30, 'global']);
    await assert.rejects(service.setSeedingPolicy('safety', { ratio: -1, minutes: null }), {
      code: 'validation_failed',
    });
    await assert.rejects(service.setSeedingPolicy('safety', { ratio: null, minutes: 1.5 }), {
      code: 'validation_failed',
    });
    await assert.rejects(service.setSeedingPolicy('nobody', { ratio: 1, minutes: 1 }), { code: 'job_not_found' });
  });

  test("a job's own policy outlives a restart and applies when the job seeds", async () => {
    await service.add({ id: 'safety', sourceType: 'torrent', sourceUrn: MAGNET });
    await service.pause('safety');
    await service.setSeedingPolicy('safety', { ratio: 4, minutes: 45 });
    await service.close();
    service = await DownloadService.open({
      database: openDatabase(path.join(work.dir, 'chilly.db')),
      downloader: new MockDownloader({ mediaRoot: path.join(work.dir, 'media'), totalBytes: 1024 * 1024, tickMs: 10 }),
      seeding: { ratio: 2, minutes: 30 },
    });
    await service.resume('safety');
    await waitUntil(() => service.get('safety').seeding?.active === true, { what: 'seeding' });
    const { seeding } = service.get('safety');
    assert.deepEqual([seeding?.ratioLimit, seeding?.minutesLimit, seeding?.policy], [4, 45, 'job']);
  });
});
