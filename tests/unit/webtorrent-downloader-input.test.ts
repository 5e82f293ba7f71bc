import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobInput } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { tempDir } from '../helpers/wait.js';

const GOOD_HASH = 'c9e15763f722f23e98a29decdfae341b98d53056';

describe('WebTorrentDownloader refuses bad input with typed errors', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let downloader: WebTorrentDownloader;
  before(async () => {
    work = await tempDir();
    downloader = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'media'), network: 'loopback' });
  });
  after(async () => {
    await downloader.destroy();
    await work.cleanup();
  });

  const cases: Array<[string, unknown, string]> = [
    ['a magnet without xt', { id: 'a', sourceType: 'torrent', sourceUrn: 'magnet:?dn=Movie' }, 'invalid_magnet'],
    [
      'a magnet with a short hash',
      { id: 'a', sourceType: 'torrent', sourceUrn: 'magnet:?xt=urn:btih:abc123' },
      'invalid_magnet',
    ],
    [
      'a magnet with a non-hex 40-char hash',
      { id: 'a', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'z'.repeat(40)}` },
      'invalid_magnet',
    ],
    [
      'a missing .torrent file',
      { id: 'a', sourceType: 'torrent', sourceUrn: '/nonexistent/movie.torrent' },
      'torrent_file_unreadable',
    ],
    [
      'garbage .torrent bytes',
      { id: 'a', sourceType: 'torrent', torrentFile: Buffer.from('not bencode') },
      'invalid_torrent',
    ],
    ['an empty source', { id: 'a', sourceType: 'torrent', sourceUrn: '   ' }, 'invalid_source'],
    ['an unsupported source type', { id: 'a', sourceType: 'http', sourceUrn: 'http://x/y' }, 'invalid_source'],
    ['an id with a path separator', { id: '../escape', sourceType: 'torrent', sourceUrn: GOOD_HASH }, 'invalid_job_id'],
    ['an id that is ..', { id: '..', sourceType: 'torrent', sourceUrn: GOOD_HASH }, 'invalid_job_id'],
    ['an empty id', { id: '', sourceType: 'torrent', sourceUrn: GOOD_HASH }, 'invalid_job_id'],
    ['a numeric id', { id: 42, sourceType: 'torrent', sourceUrn: GOOD_HASH }, 'invalid_job_id'],
    ['no job at all', null, 'validation_failed'],
  ];
  for (const [label, input, code] of cases) {
    test(`${label} → ${code}`, async () => {
      await assert.rejects(downloader.start(input as JobInput), { name: 'ChillyError', code });
      assert.deepEqual(downloader.list(), []);
    });
  }

  test('a file that is not a torrent → invalid_torrent', async () => {
    const file = path.join(work.dir, 'fake.torrent');
    await writeFile(file, 'd4:spam4:eggse');
    await assert.rejects(downloader.start({ id: 'fake', sourceType: 'torrent', sourceUrn: file }), {
      code: 'invalid_torrent',
    });
  });

  test('a bare info-hash is accepted as a magnet, and a duplicate id is refused', async () => {
    const job = await downloader.start({ id: 'bare', sourceType: 'torrent', sourceUrn: GOOD_HASH.toUpperCase() });
    assert.equal(job.infoHash, GOOD_HASH);
    await assert.rejects(
      downloader.start({ id: 'bare', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'1'.repeat(40)}` }),
      {
        code: 'duplicate_job',
      },
    );
    await assert.rejects(downloader.start({ id: 'other', sourceType: 'torrent', sourceUrn: GOOD_HASH }), {
      code: 'duplicate_torrent',
    });
    await downloader.cancel('bare');
  });

  test('unknown ids → job_not_found for pause, resume and cancel', async () => {
    for (const action of ['pause', 'resume', 'cancel'] as const) {
      await assert.rejects(downloader[action]('nope'), { code: 'job_not_found' });
    }
  });

  test('invalid transitions are errors, not silent no-ops', async () => {
    await downloader.start({
      id: 'transitions',
      sourceType: 'torrent',
      sourceUrn: `magnet:?xt=urn:btih:${'2'.repeat(40)}`,
    });
    await assert.rejects(downloader.resume('transitions'), { code: 'invalid_transition' });
    await downloader.pause('transitions');
    await assert.rejects(downloader.pause('transitions'), { code: 'invalid_transition' });
    await downloader.resume('transitions');
    await downloader.cancel('transitions');
    await assert.rejects(downloader.cancel('transitions'), { code: 'job_not_found' });
  });

  test('a destroyed downloader refuses new work', async () => {
    const short = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'gone'), network: 'loopback' });
    await short.destroy();
    await short.destroy();
    await assert.rejects(short.start({ id: 'x', sourceType: 'torrent', sourceUrn: GOOD_HASH }), {
      code: 'downloader_destroyed',
    });
  });

  test('mediaRoot defaults to ./media and network to public', async () => {
    const defaults = new WebTorrentDownloader();
    assert.equal(defaults.mediaRoot, path.resolve('media'));
    assert.equal(defaults.network, 'public');
    await defaults.destroy();
  });
});
