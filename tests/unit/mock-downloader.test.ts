import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ChillyError } from '../../src/domain/errors.js';
import { isChillyError } from '../../src/domain/errors.js';
import type { Job, JobInput } from '../../src/domain/job.js';
import type { Downloader } from '../../src/downloaders/downloader.js';
import { MockDownloader, type MockDownloaderOptions } from '../../src/downloaders/mock-downloader.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { singleFileInfo, torrentBytes } from '../helpers/torrent-bytes.js';
import { tempDir } from '../helpers/wait.js';

const HASH = '0123456789abcdef0123456789abcdef01234567';
const MAGNET = `magnet:?xt=urn:btih:${HASH}&dn=Night+of+the+Living+Dead`;
const TORRENT = torrentBytes(singleFileInfo(Buffer.alloc(40_000, 1)));

// 400 B/s at 250 ms ticks is 100 bytes a tick: a 1000-byte job completes on the 10th tick.
function setup(options: MockDownloaderOptions = {}) {
  const clock = new FakeClock();
  const downloader = new MockDownloader({ bytesPerSecond: 400, tickMs: 250, totalBytes: 1000, clock, ...options });
  const events: Array<[string, Job]> = [];
  for (const name of ['started', 'progress', 'completed', 'paused', 'resumed', 'cancelled'] as const) {
    downloader.on(name, (job) => events.push([name, job]));
  }
  return { clock, downloader, events };
}

function input(id: string, sourceUrn: string = MAGNET): JobInput {
  return { id, sourceType: 'torrent', sourceUrn };
}

async function rejectsWith(promise: Promise<unknown>, code: ChillyError['code']): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isChillyError(error, code));
}

describe('MockDownloader', () => {
  test('emits started, then progress with increasing bytes, then completed', async () => {
    const { clock, downloader, events } = setup();
    const job = await downloader.start(input('a'));
    assert.equal(job.status, 'downloading');
    assert.equal(job.name, 'Night of the Living Dead');
    assert.match(job.infoHash ?? '', /^[0-9a-f]{40}$/);
    assert.equal(job.progress.downloadSpeed, 400);
    assert.equal(job.progress.peers, 5);

    clock.advance(2500);
    const names = events.map(([name]) => name);
    assert.deepEqual(names, ['started', ...Array<string>(9).fill('progress'), 'completed']);
    const progress = events.filter(([name]) => name === 'progress').map(([, j]) => j.progress.bytesDone);
    assert.deepEqual(progress, [100, 200, 300, 400, 500, 600, 700, 800, 900]);
    assert.equal(events[1]?.[1].progress.etaSeconds, 3);
    const done = events.at(-1)?.[1];
    assert.equal(done?.status, 'completed');
    assert.equal(done?.progress.fraction, 1);
    assert.equal(done?.progress.bytesDone, 1000);
    assert.equal(downloader.get('a')?.status, 'completed');
    assert.equal(clock.intervals.size, 0);
  });

  test('is deterministic: the same source gives the same infoHash and totals', async () => {
    const first = setup({ totalBytes: (job) => job.id.length * 100 });
    const second = setup();
    const a = await first.downloader.start(input('abc'));
    const b = await second.downloader.start(input('other'));
    assert.equal(a.infoHash, HASH, "a magnet's info-hash is its btih");
    assert.equal(a.infoHash, b.infoHash);
    assert.equal(first.downloader.get('abc')?.progress.bytesTotal, 300);
  });

  test('pause stops progress and resume continues from the same bytes', async () => {
    const { clock, downloader, events } = setup();
    await downloader.start(input('a'));
    clock.advance(750);
    const paused = await downloader.pause('a');
    assert.equal(paused.status, 'paused');
    assert.equal(paused.progress.bytesDone, 300);
    assert.equal(paused.progress.downloadSpeed, 0);

    const before = events.length;
    clock.advance(10_000);
    assert.equal(events.length, before);
    assert.equal(downloader.get('a')?.progress.bytesDone, 300);

    const resumed = await downloader.resume('a');
    assert.equal(resumed.status, 'downloading');
    assert.equal(resumed.progress.downloadSpeed, 400);
    clock.advance(250);
    assert.deepEqual(
      events.slice(before).map(([name, job]) => [name, job.progress.bytesDone]),
      [
        ['resumed', 300],
        ['progress', 400],
      ],
    );
  });

  test('cancel removes the job and stops its timer', async () => {
    const { clock, downloader, events } = setup();
    await downloader.start(input('a'));
    clock.advance(250);
    const cancelled = await downloader.cancel('a', { keepData: true });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(events.at(-1)?.[0], 'cancelled');
    assert.equal(events.at(-1)?.[1].status, 'cancelled');
    assert.equal(downloader.get('a'), undefined);
    assert.deepEqual(downloader.list(), []);
    assert.equal(clock.intervals.size, 0);
  });

  test('invalid transitions and unknown ids are rejected with stable codes', async () => {
    const { clock, downloader } = setup();
    await downloader.start(input('a'));
    await rejectsWith(downloader.resume('a'), 'invalid_transition');
    await downloader.pause('a');
    await rejectsWith(downloader.pause('a'), 'invalid_transition');
    await downloader.resume('a');
    clock.advance(2500);
    await rejectsWith(downloader.pause('a'), 'invalid_transition');
    await rejectsWith(downloader.resume('a'), 'invalid_transition');
    await rejectsWith(downloader.pause('nope'), 'job_not_found');
    await rejectsWith(downloader.resume('nope'), 'job_not_found');
    await rejectsWith(downloader.cancel('nope'), 'job_not_found');
  });

  test('rejects bad inputs like the real driver', async () => {
    const { downloader, events } = setup();
    await rejectsWith(downloader.start(input('../etc')), 'invalid_job_id');
    await rejectsWith(downloader.start(input('')), 'invalid_job_id');
    await rejectsWith(downloader.start(input('a', 'magnet:?xt=urn:btih:1234')), 'invalid_magnet');
    await rejectsWith(downloader.start(input('a', 'magnet:?dn=nothing')), 'invalid_magnet');
    await rejectsWith(downloader.start(input('a', '')), 'invalid_source');
    const wrongType = { id: 'a', sourceType: 'http', sourceUrn: MAGNET } as unknown as JobInput;
    await rejectsWith(downloader.start(wrongType), 'invalid_source');
    assert.deepEqual(events, []);

    await rejectsWith(downloader.start(input('c', '/films/Metropolis.torrent')), 'torrent_file_unreadable');
    await rejectsWith(
      downloader.start({ id: 'd', sourceType: 'torrent', torrentFile: new Uint8Array([1, 2]) }),
      'invalid_torrent',
    );
    assert.deepEqual(events, []);

    await downloader.start(input('a', HASH));
    await downloader.start(input('b', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'));
    const fromBytes = await downloader.start({ id: 'd', sourceType: 'torrent', torrentFile: TORRENT });
    assert.equal(fromBytes.sourceUrn, `torrent:${fromBytes.infoHash}`);
    assert.equal(fromBytes.name, 'film.mkv');
    assert.equal(downloader.get('d')?.progress.bytesTotal, 40_000, "a .torrent's own size");
    await rejectsWith(downloader.start(input('a')), 'duplicate_job');
    await rejectsWith(downloader.start(input('e', HASH)), 'duplicate_torrent');
    assert.equal(downloader.list().length, 3);
  });

  test('get and list return snapshots, not internal state', async () => {
    const { downloader } = setup();
    const started = await downloader.start(input('a'));
    started.status = 'error';
    const got = downloader.get('a');
    assert.ok(got);
    got.progress.bytesDone = 999;
    const listed = downloader.list()[0];
    assert.ok(listed);
    listed.status = 'paused';
    assert.equal(downloader.get('a')?.status, 'downloading');
    assert.equal(downloader.get('a')?.progress.bytesDone, 0);
  });

  test('failAfterBytes emits error and moves the job to error', async () => {
    const { clock, downloader, events } = setup({ failAfterBytes: 250 });
    const errors: Array<[ChillyError, Job]> = [];
    downloader.on('error', (error, job) => errors.push([error, job]));
    await downloader.start(input('a'));
    clock.advance(2500);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.[0].code, 'download_failed');
    assert.equal(errors[0]?.[1].status, 'error');
    assert.equal(events.filter(([name]) => name === 'progress').length, 2);
    assert.ok(!events.some(([name]) => name === 'completed'));
    const job = downloader.get('a');
    assert.equal(job?.status, 'error');
    assert.equal(job?.error?.code, 'download_failed');
    assert.equal(clock.intervals.size, 0);
  });

  test('a failure with no error listener does not throw', async () => {
    const { clock, downloader } = setup({ failAfterBytes: 0 });
    await downloader.start(input('a'));
    assert.doesNotThrow(() => clock.advance(1000));
    assert.equal(downloader.get('a')?.status, 'error');
    assert.equal(downloader.get('a')?.error?.code, 'download_failed');
  });

  test('destroy clears every timer, is idempotent, and later calls reject', async () => {
    const { clock, downloader } = setup();
    await downloader.start(input('a'));
    await downloader.start(input('b', '1'.repeat(40)));
    await downloader.pause('b');
    await downloader.start(input('c', '2'.repeat(40)));
    assert.equal(clock.intervals.size, 2);
    await downloader.destroy();
    await downloader.destroy();
    assert.equal(clock.intervals.size, 0);
    await rejectsWith(downloader.start(input('d')), 'downloader_destroyed');
    await rejectsWith(downloader.pause('a'), 'downloader_destroyed');
  });
});

describe('MockDownloader and the real driver read a source the same way', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let real: WebTorrentDownloader;
  let mock: MockDownloader;
  /** A real single-file torrent (announcing to a closed loopback port), as bytes and as a file. */
  const torrent = torrentBytes(singleFileInfo(Buffer.alloc(40_000, 3), { name: Buffer.from('Metropolis (1927).mkv') }));
  let torrentPath = '';
  let notATorrent = '';

  before(async () => {
    work = await tempDir();
    real = new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'real'), network: 'loopback' });
    mock = new MockDownloader({ clock: new FakeClock(), mediaRoot: path.join(work.dir, 'mock'), totalBytes: 1000 });
    torrentPath = path.join(work.dir, 'Not The Name.torrent');
    await writeFile(torrentPath, torrent);
    notATorrent = path.join(work.dir, 'fake.torrent');
    await writeFile(notATorrent, 'd4:spam4:eggse');
  });
  after(async () => {
    await real.destroy();
    await mock.destroy();
    await work.cleanup();
  });

  /** What a start tells about the source: the job's identity, or the error's code. */
  async function outcome(downloader: Downloader, input: JobInput): Promise<Record<string, unknown>> {
    try {
      const job = await downloader.start(input);
      await downloader.cancel(job.id);
      return { infoHash: job.infoHash, name: job.name, sourceUrn: job.sourceUrn };
    } catch (error) {
      return { code: (error as { code?: unknown }).code };
    }
  }

  const hex = (n: number) => n.toString(16).repeat(40).slice(0, 40);
  const cases: Array<[string, () => unknown, Record<string, unknown>?]> = [
    [
      'a magnet: its btih, its dn',
      () => ({ id: 'm', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${hex(1)}&dn=Nosferatu` }),
      { infoHash: hex(1), name: 'Nosferatu' },
    ],
    [
      'a magnet with an upper-case hash',
      () => ({ id: 'mu', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'ABCDEF0123'.repeat(4)}` }),
      { infoHash: 'abcdef0123'.repeat(4), name: undefined },
    ],
    [
      'a bare hex info-hash',
      () => ({ id: 'h', sourceType: 'torrent', sourceUrn: hex(2) }),
      { infoHash: hex(2), name: undefined },
    ],
    [
      'a bare base32 info-hash',
      () => ({ id: 'b', sourceType: 'torrent', sourceUrn: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567' }),
      { infoHash: '00443214c74254b635cf84653a56d7c675be77df' },
    ],
    [
      "a .torrent path (read: the name is the torrent's)",
      () => ({ id: 'p', sourceType: 'torrent', sourceUrn: torrentPath }),
      { name: 'Metropolis (1927).mkv' },
    ],
    [
      '.torrent bytes',
      () => ({ id: 't', sourceType: 'torrent', torrentFile: torrent }),
      { name: 'Metropolis (1927).mkv' },
    ],
    [
      'a magnet with a short hash',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: 'magnet:?xt=urn:btih:1234' }),
      { code: 'invalid_magnet' },
    ],
    [
      'a magnet without xt',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: 'magnet:?dn=Movie' }),
      { code: 'invalid_magnet' },
    ],
    [
      'a magnet with a non-hex 40-character hash',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: `magnet:?xt=urn:btih:${'z'.repeat(40)}` }),
      { code: 'invalid_magnet' },
    ],
    [
      'a missing .torrent file',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: '/nonexistent/film.torrent' }),
      { code: 'torrent_file_unreadable' },
    ],
    [
      'a file that is not a torrent',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: notATorrent }),
      { code: 'invalid_torrent' },
    ],
    [
      'garbage .torrent bytes',
      () => ({ id: 'x', sourceType: 'torrent', torrentFile: Buffer.from('not bencode') }),
      { code: 'invalid_torrent' },
    ],
    [
      'a remote .torrent URL',
      () => ({ id: 'x', sourceType: 'torrent', sourceUrn: 'https://example.org/film.torrent' }),
      { code: 'invalid_source' },
    ],
    ['an empty source', () => ({ id: 'x', sourceType: 'torrent', sourceUrn: '  ' }), { code: 'invalid_source' }],
    ['no job at all', () => null, { code: 'validation_failed' }],
  ];
  for (const [label, input, expected] of cases) {
    test(label, async () => {
      const fromReal = await outcome(real, input() as JobInput);
      const fromMock = await outcome(mock, input() as JobInput);
      assert.deepEqual(fromMock, fromReal);
      for (const [key, value] of Object.entries(expected ?? {})) assert.deepEqual(fromReal[key], value, key);
    });
  }
});
