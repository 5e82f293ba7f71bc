import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import WebTorrent from 'webtorrent';
import type { JobEvent } from '../../src/domain/job-event.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { createLoopbackSwarm, LOOPBACK_CLIENT_OPTIONS, sha256File } from '../helpers/loopback-swarm.js';
import { type HostileConnection, MaliciousPeer, MessageId, pieceRequests } from '../helpers/malicious-peer.js';
import { tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const BLOCK = 16 * 1024;

test('a completed job seeds until its ratio is reached, then stops uploading', async () => {
  const work = await tempDir();
  const swarm = await createLoopbackSwarm({
    name: 'Metropolis.1927.mkv',
    files: [{ path: 'Metropolis.1927.mkv', size: 4 * MiB }],
  });
  const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  const service = await DownloadService.open({
    database: openDatabase(path.join(work.dir, 'chilly.db')),
    downloader,
    seeding: { ratio: 1, minutes: 10 },
  });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  const peer = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
  peer.on('error', () => undefined);
  try {
    await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('metropolis').status === 'completed', { what: 'completion' });
    assert.ok(downloader.get('metropolis') !== undefined, 'a completed job stays in the engine to seed');

    // With the original seeder gone, our client is the only source for a new peer.
    await swarm.stopSeeder();
    const torrent = peer.add(swarm.magnetURI, { path: path.join(work.dir, 'peer') });
    await waitForEvent(torrent, 'done', { timeoutMs: 60_000 });
    assert.equal(await sha256File(path.join(work.dir, 'peer', 'Metropolis.1927.mkv')), swarm.files[0]?.sha256);

    // Uploading the whole file once is ratio 1: seeding stops and the engine lets the job go.
    await waitUntil(() => events.some((e) => e.type === 'seeding_stopped'), {
      timeoutMs: 15_000,
      what: 'seeding to stop',
    });
    assert.equal(downloader.get('metropolis'), undefined);
    const job = service.get('metropolis');
    assert.equal(job.status, 'completed');
    assert.ok(job.progress.bytesUploaded >= 4 * MiB, `uploaded ${job.progress.bytesUploaded} bytes`);
  } finally {
    await new Promise<void>((resolve) => peer.destroy(() => resolve()));
    await service.close();
    await swarm.close();
    await work.cleanup();
  }
});

test('a job that stops seeding first hands a slow, talkative peer what it counted as uploaded', async () => {
  const work = await tempDir();
  const swarm = await createLoopbackSwarm({
    name: 'Nosferatu.1922.mkv',
    files: [{ path: 'Nosferatu.1922.mkv', size: 8 * MiB }],
    pieceLength: MiB,
  });
  let jobCompleted!: () => void;
  const completed = new Promise<void>((resolve) => {
    jobCompleted = resolve;
  });
  let asked: HostileConnection | undefined;
  // A peer that reads slowly (what it has not read yet waits in our kernel's send queue) and keeps
  // sending small messages (so some of them are nearly always unread on our side). Closing a
  // connection with unread data resets it, and a reset throws away the send queue.
  const peer = await MaliciousPeer.start({
    infoHash: swarm.infoHash,
    script: async (connection) => {
      // Only our job's connection (the swarm's seeder could learn of this peer too).
      if (asked !== undefined || connection.remotePeerId === swarm.seeder?.peerId) return;
      asked = connection;
      await completed;
      connection.readAtMost(4 * MiB);
      await connection.message(MessageId.interested);
      await waitUntil(() => connection.receivedIds.includes(MessageId.unchoke) || connection.isClosed, {
        timeoutMs: 10_000,
        what: 'our job to unchoke the peer',
      });
      for (let piece = 0; piece < 8; piece++) await connection.send(pieceRequests(piece, MiB, BLOCK));
      await connection.chatter(30_000);
    },
  });
  // Announced before the job starts: the job's first announce hands it this peer.
  await peer.announce(swarm.announceUrl);
  const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  const service = await DownloadService.open({
    database: openDatabase(path.join(work.dir, 'chilly.db')),
    downloader,
    seeding: { ratio: 0.5, minutes: 10 },
  });
  const events: JobEvent[] = [];
  service.subscribe((event) => events.push(event));
  try {
    await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    await waitUntil(() => service.get('nosferatu').status === 'completed', { what: 'completion' });
    await waitUntil(() => asked !== undefined, { timeoutMs: 10_000, what: 'our job to connect to the peer' });
    jobCompleted();
    await waitUntil(() => events.some((e) => e.type === 'seeding_stopped'), {
      timeoutMs: 30_000,
      what: 'seeding to stop at ratio 0.5',
    });
    const connection = asked;
    assert.ok(connection !== undefined);
    assert.ok(await connection.waitClosed(15_000), 'our job closed its connection to the peer');
    const counted = service.get('nosferatu').progress.bytesUploaded;
    assert.ok(counted >= 4 * MiB, `uploaded ${counted} bytes`);
    // The engine counts every byte it sends, not only blocks: 13 bytes of header per block sent,
    // its own requests while it downloaded (17 bytes a block), the handshakes. Well under 64 KiB
    // here; the loss this test is about was megabytes.
    const overhead = 64 * 1024;
    const received = connection.pieceBytesReceived;
    console.log(
      `a slow peer received ${(received / MiB).toFixed(2)} MiB of blocks; the job counted ${(counted / MiB).toFixed(2)} MiB as uploaded`,
    );
    assert.ok(
      received >= counted - overhead,
      `the peer received ${(received / MiB).toFixed(2)} MiB of blocks; our job counted ${(counted / MiB).toFixed(2)} MiB as uploaded`,
    );
  } finally {
    await service.close();
    await peer.close();
    await swarm.close();
    await work.cleanup();
  }
});
