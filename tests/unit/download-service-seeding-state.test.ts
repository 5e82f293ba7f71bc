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
    assert.deepEqual({ ...stopped.seeding }, { active: false, ratio: 0, ratioLimit: 2, endsAt: null });
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
});
