/**
 * The engine's warnings (a tracker that cannot be reached, a peer that misbehaves) reach the
 * driver's `onWarning` hook, once each: a tracker that fails on every announce does not flood
 * the log.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { startLoopbackTracker } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { singleFileInfo, torrentBytes } from '../helpers/torrent-bytes.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

describe('engine warnings', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(() => work.cleanup());

  test('a torrent whose tracker is unreachable logs a warning through the hook, once', async () => {
    const closedPort = await freeLoopbackPort();
    const torrent = torrentBytes(singleFileInfo(Buffer.alloc(64 * 1024, 5)), `http://127.0.0.1:${closedPort}/announce`);
    const warnings: string[] = [];
    const downloader = new WebTorrentDownloader({
      mediaRoot: path.join(work.dir, 'media'),
      network: 'loopback',
      onWarning: (message) => warnings.push(message),
    });
    try {
      await downloader.start({ id: 'lonely', sourceType: 'torrent', torrentFile: torrent });
      await waitUntil(() => warnings.length > 0, { timeoutMs: 15_000, what: 'an engine warning' });
      const [first = ''] = warnings;
      assert.match(first, /^Job lonely: /);
      assert.match(first, new RegExp(`127\\.0\\.0\\.1:${closedPort}|ECONNREFUSED`));
      // The same failure again (WebTorrent retries the announce) is not logged again at once.
      assert.equal(new Set(warnings).size, warnings.length, `no line twice: ${warnings.join('\n')}`);
    } finally {
      await downloader.destroy();
    }
  });

  test("the test swarm's tracker keeps its warnings for the test to show", async () => {
    const tracker = await startLoopbackTracker();
    try {
      // An announce without an info-hash: the tracker answers with a failure and warns.
      const answer = await fetch(`${tracker.announceUrl}?peer_id=x&port=1`);
      await answer.arrayBuffer();
      await waitUntil(() => tracker.warnings.length > 0, { timeoutMs: 5_000, what: 'a tracker warning' });
      assert.match(tracker.warnings[0] ?? '', /info_hash/);
    } finally {
      await tracker.close();
    }
  });
});
