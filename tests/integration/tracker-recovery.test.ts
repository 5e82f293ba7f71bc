/**
 * Issue 12, finding 8: a tracker that failed once (refused, 500, hang, reset) must be asked again
 * with backoff, not after bittorrent-tracker's 30-minute default interval, so a swarm that comes
 * back is found. Each case breaks the torrent's only tracker, lets the downloader's first announce
 * fail, brings the tracker back on the same port with a seeder announced to it, and expects the
 * download to complete, byte for byte, within a bounded time.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import path from 'node:path';
import { describe, test } from 'node:test';
import createTorrent from 'create-torrent';
import parseTorrent from 'parse-torrent';
import WebTorrent from 'webtorrent';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { startFlakyTracker, type TrackerFault } from '../helpers/flaky-tracker.js';
import { LOOPBACK_CLIENT_OPTIONS, sha256File, writeDeterministicFile } from '../helpers/loopback-swarm.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const CONTENT_BYTES = 512 * 1024;
/** From the tracker's return to a complete download. The old code's next announce is 30 minutes away. */
const RECOVERY_BOUND_MS = 45_000;
/** bittorrent-tracker gives up on an HTTP announce after common.REQUEST_TIMEOUT (15 s). */
const FIRST_FAILURE_BOUND_MS = 30_000;

interface SeedContent {
  dataDir: string;
  sha256: string;
  torrentFile: Buffer;
  infoHash: string;
}

async function makeContent(dir: string, name: string, announceUrl: string): Promise<SeedContent> {
  const dataDir = path.join(dir, 'seed');
  const file = path.join(dataDir, name);
  const sha256 = await writeDeterministicFile(file, CONTENT_BYTES, name);
  const torrentFile = await new Promise<Buffer>((resolve, reject) => {
    createTorrent(file, { name, announceList: [[announceUrl]], creationDate: 1_700_000_000 }, (error, torrent) =>
      error ? reject(error) : resolve(Buffer.from(torrent)),
    );
  });
  const { infoHash } = await parseTorrent(torrentFile);
  return { dataDir, sha256, torrentFile, infoHash };
}

async function startSeeder(content: SeedContent): Promise<WebTorrent> {
  const client = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const torrent = client.add(content.torrentFile, { path: content.dataDir, skipVerify: true }, () => resolve());
    torrent.once('error', reject);
  });
  return client;
}

function within<T>(promise: Promise<T>, ms: number, message: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'string' ? message : message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function recoversFrom(fault: TrackerFault, report: (message: string) => void): Promise<void> {
  const work = await tempDir('chilly-tracker-recovery-');
  const tracker = await startFlakyTracker(fault);
  const downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  let seeder: WebTorrent | undefined;
  // No timer of its own: `within` bounds the wait, and the finally block drops the listener.
  const stopWaiting = new AbortController();
  try {
    const name = `Tracker.Recovery.${fault}.mkv`;
    const content = await makeContent(work.dir, name, tracker.announceUrl);
    // A magnet that names only the flaky tracker: it is the one way to find the seeder.
    const magnet = `magnet:?xt=urn:btih:${content.infoHash}&dn=${encodeURIComponent(name)}&tr=${encodeURIComponent(tracker.announceUrl)}`;
    const errors: unknown[] = [];
    downloader.on('error', (error) => errors.push(error));
    const completed = once(downloader, 'completed', { signal: stopWaiting.signal });
    completed.catch(() => undefined);

    const startedAt = Date.now();
    await downloader.start({ id: 'movie', sourceType: 'torrent', sourceUrn: magnet, status: 'queued' });
    await within(tracker.firstFailure, FIRST_FAILURE_BOUND_MS, `${fault}: no failed announce seen`);
    // A refused connection leaves no trace on our side; the first announce goes out within milliseconds.
    if (fault === 'refuse') await sleep(1_000);
    const failuresBefore = tracker.failures;
    const recoveredAt = Date.now();
    await tracker.recover();
    seeder = await startSeeder(content);
    const seederPort = seeder.torrentPort;
    await waitUntil(() => tracker.announces.some((a) => a.port === seederPort), {
      timeoutMs: 10_000,
      what: `${fault}: the seeder's announce`,
    });

    await within(completed, RECOVERY_BOUND_MS, () => {
      const fromDownloader = tracker.announces.filter((a) => a.port === downloader.torrentPort).length;
      return (
        `${fault}: no complete download ${RECOVERY_BOUND_MS / 1000} s after the tracker came back ` +
        `(announces from the downloader to the recovered tracker: ${fromDownloader})`
      );
    });
    assert.deepEqual(errors, []);
    const downloaded = path.join(downloader.jobFolder('movie'), name);
    assert.equal(await sha256File(downloaded), content.sha256, 'downloaded bytes match the seeder');

    const downloaderPort = downloader.torrentPort;
    const found = tracker.announces.find((a) => a.port === downloaderPort);
    assert.ok(found !== undefined, 'the downloader announced to the recovered tracker');
    report(
      `${fault}: tracker back ${recoveredAt - startedAt} ms after the start (${failuresBefore} failed announces ` +
        `seen by then); downloader's announce ${found.at - recoveredAt} ms and complete download ` +
        `${Date.now() - recoveredAt} ms after that`,
    );
  } finally {
    stopWaiting.abort();
    await downloader.destroy();
    if (seeder !== undefined) {
      const client = seeder;
      await new Promise<void>((resolve) => client.destroy(() => resolve()));
    }
    await tracker.close();
    await work.cleanup();
  }
}

describe('a torrent whose only tracker failed finds the swarm once it is back', { concurrency: true }, () => {
  const faults: Array<[TrackerFault, string]> = [
    ['refuse', 'connection refused (nothing listening)'],
    ['http-500', 'HTTP 500'],
    ['hang', 'accepted and never answered (request timeout)'],
    ['reset', 'connection reset'],
    ['reset-mid-body', 'connection reset halfway through the answer'],
  ];
  for (const [fault, what] of faults) {
    test(`after ${what}`, { timeout: 120_000 }, async (t) => {
      await recoversFrom(fault, (message) => t.diagnostic(message));
    });
  }
});
