import assert from 'node:assert/strict';
import { truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { JobEvent } from '../../src/domain/job-event.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { ResumeRepository } from '../../src/storage/resume-repository.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const PIECE = 256 * 1024;

function countBits(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
}

async function openService(dataDir: string, warnings: string[] = []) {
  const service = await DownloadService.open({
    database: openDatabase(path.join(dataDir, 'chilly.db')),
    downloader: new WebTorrentDownloader({ mediaRoot: path.join(dataDir, 'media'), network: 'loopback' }),
    persistIntervalMs: 300,
    seeding: { ratio: 0, minutes: 0 },
    onWarning: (message) => warnings.push(message),
  });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  return { service, events };
}

/** Downloads part of the swarm's file, then closes the service as the app would on quit. */
async function downloadPartly(swarm: LoopbackSwarm, dataDir: string, bytes: number): Promise<number> {
  const { service } = await openService(dataDir);
  try {
    await service.add({ id: 'film', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('film').progress.bytesDone >= bytes, { timeoutMs: 60_000, what: 'partial data' });
  } finally {
    await service.close();
  }
  const db = openDatabase(path.join(dataDir, 'chilly.db'));
  try {
    const resume = new ResumeRepository(db).get('film');
    assert.ok(resume !== undefined, 'closing the service saved resume data');
    assert.equal(resume.synced, true, 'a clean close syncs the files it vouches for');
    return countBits(resume.bitfield);
  } finally {
    db.close();
  }
}

describe('DownloadService restart on a real swarm', () => {
  test('a half-finished download continues from its saved bitfield and completes byte for byte', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'Charade.1963.mkv',
      files: [{ path: 'Charade.1963.mkv', size: 16 * MiB }],
      pieceLength: PIECE,
      uploadLimit: 6 * MiB,
    });
    try {
      const verifiedPieces = await downloadPartly(swarm, work.dir, 4 * MiB);
      assert.ok(verifiedPieces >= 8);

      const warnings: string[] = [];
      const { service, events } = await openService(work.dir, warnings);
      try {
        await waitUntil(() => service.get('film').status === 'completed', { timeoutMs: 60_000, what: 'completion' });
        const firstProgress = events.find((e) => e.type === 'progress');
        assert.ok(firstProgress !== undefined);
        assert.ok(
          firstProgress.job.progress.bytesDone >= verifiedPieces * PIECE,
          `continued from ${firstProgress.job.progress.bytesDone} bytes, saved ${verifiedPieces * PIECE}`,
        );
        assert.deepEqual(warnings, [], 'the saved bitfield was trusted');
        assert.equal(
          await sha256File(path.join(work.dir, 'media', 'film', 'Charade.1963.mkv')),
          swarm.files[0]?.sha256,
        );
        assert.equal(service.list().total, 1);
      } finally {
        await service.close();
      }
    } finally {
      await swarm.close();
      await work.cleanup();
    }
  });

  test('if the files changed since the bitfield was saved, it falls back to a full check', async () => {
    const work = await tempDir();
    const swarm = await createLoopbackSwarm({
      name: 'His.Girl.Friday.1940.mkv',
      files: [{ path: 'His.Girl.Friday.1940.mkv', size: 12 * MiB }],
      pieceLength: PIECE,
      uploadLimit: 6 * MiB,
    });
    try {
      await downloadPartly(swarm, work.dir, 4 * MiB);
      // Someone truncates the partial file while the app is closed.
      truncateSync(path.join(work.dir, 'media', 'film', 'His.Girl.Friday.1940.mkv'), MiB);

      const warnings: string[] = [];
      const { service } = await openService(work.dir, warnings);
      try {
        await waitUntil(() => service.get('film').status === 'completed', { timeoutMs: 60_000, what: 'completion' });
        assert.equal(warnings.length, 1);
        assert.match(warnings[0] ?? '', /full re-check.*shrank/);
        assert.equal(
          await sha256File(path.join(work.dir, 'media', 'film', 'His.Girl.Friday.1940.mkv')),
          swarm.files[0]?.sha256,
        );
      } finally {
        await service.close();
      }
    } finally {
      await swarm.close();
      await work.cleanup();
    }
  });
});
