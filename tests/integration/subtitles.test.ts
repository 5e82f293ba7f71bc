/**
 * Issue 18: the subtitles that came with a film, on a real loopback swarm through the HTTP API.
 * A torrent holds a video, an English `.srt` in Windows-1252 with accented letters and a French
 * `.ass` in a `Subs/` folder; the job lists both with their languages, and both are served as
 * valid WebVTT in UTF-8 (checked by a WebVTT parser) with their accents right — while the video is
 * still downloading, the subtitles' pieces fetched first — through the signed links the player gets.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import iconv from 'iconv-lite';
import { createServer } from '../../src/api/create-server.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import type { WebTorrent } from '../../src/engine/bittorrent-engine.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { assertMatchesContract } from '../helpers/api-contract.js';
import {
  createSeederClient,
  type LoopbackTracker,
  loopbackMagnet,
  makeTorrent,
  seedTorrent,
  startLoopbackTracker,
} from '../helpers/loopback-swarm.js';
import { ffmpegUnavailableReason, killMediaTools, seedFiles } from '../helpers/video-fixture.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

interface WebVttParser {
  parse(text: string, mode: string): { cues: { text: string; startTime: number }[]; errors: unknown[] };
}
const { WebVTTParser } = createRequire(import.meta.url)('webvtt-parser') as { WebVTTParser: new () => WebVttParser };

const MiB = 1024 * 1024;
const NAME = 'Night.of.the.Living.Dead.1968';

const ENGLISH_SRT = [
  '1',
  '00:00:01,000 --> 00:00:03,500',
  'Café, naïve señor — “déjà vu”',
  '',
  '2',
  '00:00:04,000 --> 00:00:06,000',
  '<i>They’re coming to get you, Barbara.</i>',
  '',
].join('\r\n');

const FRENCH_ASS = [
  '[Script Info]',
  'ScriptType: v4.00+',
  '',
  '[V4+ Styles]',
  'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
  'Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1',
  '',
  '[Events]',
  'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
  'Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,{\\an8}{\\i1}Ça va ?{\\i0}\\NOui, très bien.',
  'Dialogue: 0,0:00:04.00,0:00:06.00,Default,,0,0,0,,Ils arrivent, Barbara !',
  '',
].join('\n');

function assertValidWebVtt(vtt: string): string[] {
  const parser = new WebVTTParser();
  for (const mode of ['metadata', 'subtitles']) assert.deepEqual(parser.parse(vtt, mode).errors, [], vtt);
  return parser.parse(vtt, 'metadata').cues.map((cue) => cue.text);
}

describe('subtitles in every player', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let tracker: LoopbackTracker;
  let seeder: WebTorrent;
  let magnet: string;
  before(async () => {
    work = await tempDir();
    const content = path.join(work.dir, 'seed', NAME);
    await mkdir(path.join(content, 'Subs'), { recursive: true });
    await writeFile(path.join(content, `${NAME}.mkv`), randomBytes(24 * MiB));
    await writeFile(path.join(content, `${NAME}.en.srt`), iconv.encode(ENGLISH_SRT, 'windows-1252'));
    await writeFile(path.join(content, 'Subs', 'French.ass'), Buffer.from(FRENCH_ASS, 'utf8'));
    tracker = await startLoopbackTracker();
    const torrentFile = await makeTorrent(content, NAME, tracker.announceUrl, 256 * 1024);
    // Slow: the video is still downloading when the player asks for the subtitles.
    seeder = createSeederClient(1 * MiB);
    const torrent = await seedTorrent(seeder, torrentFile, path.join(work.dir, 'seed'));
    magnet = loopbackMagnet(torrent.infoHash, NAME, tracker.announceUrl);
  });
  after(async () => {
    await new Promise<void>((resolve) => seeder.destroy(() => resolve()));
    await tracker.close();
    await work.cleanup();
  });

  test('listed with their languages, served as WebVTT in UTF-8 before the film is downloaded', async () => {
    const config = loadConfig(
      { CHILLY_DATA_DIR: path.join(work.dir, 'data'), CHILLY_NETWORK: 'loopback' },
      { host: '127.0.0.1', port: 0 },
    );
    const service = await DownloadService.open({
      database: openDatabase(':memory:'),
      downloader: new WebTorrentDownloader({ mediaRoot: config.mediaRoot, network: 'loopback' }),
    });
    const token = randomBytes(32).toString('base64url');
    const app = createServer({ service, config, token, logger: false });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening');
      const base = `http://127.0.0.1:${address.port}`;
      const auth = { authorization: `Bearer ${token}` };
      await service.add({ id: 'night', sourceType: 'torrent', sourceUrn: magnet });
      await waitUntil(() => service.get('night').subtitles !== undefined, { what: 'the file list' });

      const status = await fetch(`${base}/download/status/night`, { headers: auth });
      const job = assertMatchesContract('GET', '/download/status/night', {
        statusCode: status.status,
        headers: Object.fromEntries(status.headers),
        body: await status.text(),
      }) as { subtitles: { n: number; language: { code: string } | null; label: string; path: string }[] };
      assert.deepEqual(
        job.subtitles.map((subtitle) => [subtitle.path, subtitle.language?.code, subtitle.label]),
        [
          [`${NAME}/${NAME}.en.srt`, 'en', 'English'],
          [`${NAME}/Subs/French.ass`, 'fr', 'French'],
        ],
      );

      const linkResponse = await fetch(`${base}/download/stream-url/night`, { headers: auth });
      const link = (await linkResponse.json()) as { subtitles: { n: number; url: string; language: string }[] };
      assert.equal(link.subtitles.length, 2);
      const texts: string[][] = [];
      for (const subtitle of link.subtitles) {
        // The signed link alone, as a <track> element sends it: no header.
        const response = await fetch(subtitle.url);
        assert.equal(response.status, 200, await response.clone().text());
        assert.equal(response.headers.get('content-type'), 'text/vtt; charset=utf-8');
        texts.push(assertValidWebVtt(await response.text()));
      }
      assert.notEqual(service.get('night').status, 'completed', 'served while the film is still downloading');
      assert.deepEqual(texts[0], ['Café, naïve señor — “déjà vu”', '<i>They’re coming to get you, Barbara.</i>']);
      assert.equal(texts[1]?.[0], '<i>Ça va ?</i>\nOui, très bien.');
      assert.equal(texts[1]?.[1], 'Ils arrivent, Barbara !');

      const missing = await fetch(`${base}/stream/night/subtitles/7`, { headers: auth });
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'subtitle_not_found');
      const unsigned = await fetch(`${base}/stream/night/subtitles/0`);
      assert.equal(unsigned.status, 401);
    } finally {
      await app.close();
      await service.close();
    }
  });

  test('the text tracks inside a finished MKV are offered too (with ffmpeg), as WebVTT in UTF-8', async () => {
    assert.equal(ffmpegUnavailableReason(), null, 'this test needs ffmpeg (.ci/run installs it)');
    const srt = path.join(work.dir, 'embedded.srt');
    await writeFile(srt, '1\n00:00:00,500 --> 00:00:01,500\nÀ bientôt, Barbara.\n');
    const mkv = path.join(work.dir, 'Carnival.of.Souls.1962.mkv');
    await promisify(execFile)(
      'ffmpeg',
      [
        ...['-nostdin', '-y', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=5:duration=2', '-i', srt],
        ...['-map', '0', '-map', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:s', 'srt'],
        ...['-metadata:s:s:0', 'language=fre', mkv],
      ],
      { timeout: 60_000 },
    );
    const swarm = await seedFiles({
      name: 'Carnival.of.Souls.1962',
      files: [{ path: 'Carnival.of.Souls.1962.mkv', source: mkv }],
    });
    const service = await DownloadService.open({
      database: openDatabase(':memory:'),
      downloader: new WebTorrentDownloader({ mediaRoot: path.join(work.dir, 'embedded-media'), network: 'loopback' }),
    });
    try {
      await service.add({ id: 'carnival', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('carnival').status === 'completed', { what: 'completed', timeoutMs: 60_000 });
      await waitUntil(() => (service.get('carnival').subtitles ?? []).some((subtitle) => subtitle.embedded), {
        what: 'the embedded track to be found',
      });
      const [track] = service.get('carnival').subtitles ?? [];
      assert.equal(track?.language?.code, 'fr');
      assert.equal(track?.stream, 1);
      const cues = assertValidWebVtt(await service.subtitleWebVtt('carnival', track?.n ?? -1));
      assert.deepEqual(cues, ['À bientôt, Barbara.']);
    } finally {
      await service.close();
      await swarm.close();
      killMediaTools();
    }
  });
});
