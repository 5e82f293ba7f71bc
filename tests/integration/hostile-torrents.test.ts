/**
 * Issue 12, finding 1: crafted torrents, through every way in: an upload to the API, a job stored
 * by an earlier version, and a magnet whose metadata a peer serves. The real engine runs; on the
 * code before the fix each of these killed the process (or, for 2^63, answered 500).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import bencode from 'bencode';
import { createServer } from '../../src/api/create-server.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import { newJobFromSource } from '../../src/downloaders/torrent-source.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { JobsRepository } from '../../src/storage/jobs-repository.js';
import { startLoopbackTracker } from '../helpers/loopback-swarm.js';
import { MaliciousPeer } from '../helpers/malicious-peer.js';
import { infoHashOf, singleFileInfo, torrentBytes } from '../helpers/torrent-bytes.js';
import { sleep, tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const DATA = Buffer.alloc(40_000, 3);

/** The crafted info dictionaries of the finding, and the field each refusal must name. */
const CRAFTED: Array<[string, Record<string, unknown>, RegExp]> = [
  ['too few piece hashes', singleFileInfo(DATA, { pieces: Buffer.alloc(20) }), /"pieces" has 1 hashes/],
  ['pieces of 25 bytes', singleFileInfo(DATA, { pieces: Buffer.alloc(25) }), /"pieces" is 25 bytes/],
  ['a negative length', singleFileInfo(DATA, { length: -5 }), /"length"/],
  ['a negative piece length', singleFileInfo(DATA, { 'piece length': -16384 }), /"piece length"/],
  ['piece length as a string', singleFileInfo(DATA, { 'piece length': Buffer.from('16384') }), /"piece length"/],
  ['length 2^63', singleFileInfo(DATA, { length: 2 ** 63 }), /"length"/],
  [
    'a 1-byte torrent with 500,000 hashes',
    singleFileInfo(Buffer.alloc(1), { pieces: Buffer.alloc(20 * 500_000) }),
    /"pieces" has 500000 hashes/,
  ],
];

async function realEngineService(dataDir: string, database = openDatabase(path.join(dataDir, 'chilly.db'))) {
  return DownloadService.open({
    database,
    downloader: new WebTorrentDownloader({ mediaRoot: path.join(dataDir, 'media'), network: 'loopback' }),
    seeding: { ratio: 0, minutes: 0 },
  });
}

describe('crafted torrents never crash the server (finding 1)', () => {
  test('an upload of each is 400 invalid_torrent naming the field, and the server keeps answering', async () => {
    const work = await tempDir();
    const service = await realEngineService(work.dir);
    const token = randomBytes(32).toString('base64url');
    const config = loadConfig(
      { CHILLY_DATA_DIR: work.dir, CHILLY_NETWORK: 'loopback' },
      { host: '127.0.0.1', port: 0 },
    );
    const app = createServer({ service, config, token });
    try {
      for (const [label, info, field] of CRAFTED) {
        const response = await app.inject({
          method: 'POST',
          url: `/download/upload?id=${label.replace(/[^a-z0-9]+/gi, '-')}`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-bittorrent' },
          payload: torrentBytes(info),
        });
        assert.equal(response.statusCode, 400, `${label}: ${response.body}`);
        const { error } = response.json() as { error: { code: string; message: string } };
        assert.equal(error.code, 'invalid_torrent', label);
        assert.match(error.message, field, label);
      }
      // Give a crash the time it took on the old code (under 2 s) to happen.
      await sleep(2_500);
      const health = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 200);
      assert.equal(service.list().total, 0, 'nothing was stored');
    } finally {
      await app.close();
      await service.close();
      await work.cleanup();
    }
  });

  test('a crafted job stored by an earlier version fails with invalid_torrent at start, every start', async () => {
    const work = await tempDir();
    const bytes = torrentBytes(singleFileInfo(DATA, { pieces: Buffer.alloc(20) }));
    // What an earlier version accepted and stored (its check did not exist then).
    const db = openDatabase(path.join(work.dir, 'chilly.db'));
    const infoHash = infoHashOf(singleFileInfo(DATA, { pieces: Buffer.alloc(20) }));
    const job = newJobFromSource({
      input: { id: 'crafted', torrentFile: bytes },
      source: { kind: 'magnet', magnetURI: `magnet:?xt=urn:btih:${infoHash}`, infoHash, announce: [] },
      parsed: undefined,
      savePath: path.join(work.dir, 'media', 'crafted'),
    });
    new JobsRepository(db).insert({ ...job, status: 'downloading' }, bytes, { folderCreated: false });
    db.close();
    for (let start = 1; start <= 2; start++) {
      const service = await realEngineService(work.dir);
      try {
        await waitUntil(() => service.get('crafted').status === 'error', {
          timeoutMs: 10_000,
          what: 'the job to fail',
        });
        assert.equal(service.get('crafted').error?.code, 'invalid_torrent');
        await sleep(1_000);
        assert.equal(service.health().ok, true, `start ${start}: still running`);
      } finally {
        await service.close();
      }
    }
    await work.cleanup();
  });

  test('a magnet whose metadata a peer serves crafted fails the job with invalid_torrent; the process lives', async () => {
    const work = await tempDir();
    const tracker = await startLoopbackTracker();
    const info = singleFileInfo(DATA, { pieces: Buffer.alloc(20) });
    const metadata = Buffer.from(bencode.encode(info));
    const infoHash = infoHashOf(info);
    const peer = await MaliciousPeer.start({
      infoHash,
      extendedHandshake: { m: { ut_metadata: 3 }, metadata_size: metadata.length },
      script: async (connection) => {
        await connection.victimExtensions();
        await connection.utMetadata({ msg_type: 1, piece: 0, total_size: metadata.length }, metadata);
        await connection.waitClosed(10_000);
      },
    });
    const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
    try {
      await peer.announce(tracker.announceUrl);
      const failed = waitForEvent<[ChillyError, Job]>(downloader, 'error', { timeoutMs: 20_000 });
      await downloader.start({
        id: 'crafted-magnet',
        sourceType: 'torrent',
        sourceUrn: `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(tracker.announceUrl)}`,
      });
      const [error, job] = await failed;
      assert.equal(error.code, 'invalid_torrent');
      assert.match(error.message, /"pieces" has 1 hashes/);
      assert.equal(job.status, 'error');
      await sleep(1_000);
      assert.equal(downloader.get('crafted-magnet')?.status, 'error');
    } finally {
      await downloader.destroy();
      await peer.close();
      await tracker.close();
      await work.cleanup();
    }
  });
});
