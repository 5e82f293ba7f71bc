/**
 * Issue 12, finding 7: a job folder deleted while the job runs, a media root that is unmounted or
 * missing, and what `chilly doctor` says about it. Real swarms on loopback; the unmount test needs
 * root (a tmpfs) and is skipped visibly without it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Job } from '../../src/domain/job.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { ensureCliBuilt, isolatedEnv, runChilly } from '../helpers/cli-run.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { mountTmpfs, tmpfsUnavailableReason } from '../helpers/tmpfs.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

async function openService(dataDir: string, mediaRoot = path.join(dataDir, 'media')) {
  const events: JobEvent[] = [];
  const warnings: string[] = [];
  const service = await DownloadService.open({
    database: openDatabase(path.join(dataDir, 'chilly.db')),
    downloader: new WebTorrentDownloader({ mediaRoot, network: 'loopback', folderCheckMs: 200 }),
    persistIntervalMs: 200,
    seeding: { ratio: 0, minutes: 0 },
    onWarning: (message) => warnings.push(message),
  });
  service.subscribe((event) => events.push(event));
  return { service, events, warnings };
}

function slowSwarm(name: string): Promise<LoopbackSwarm> {
  return createLoopbackSwarm({
    name,
    files: [{ path: name, size: 24 * MiB }],
    pieceLength: 256 * 1024,
    uploadLimit: 2 * MiB,
  });
}

async function waitForStatus(service: DownloadService, id: string, statuses: Job['status'][], timeoutMs = 30_000) {
  await waitUntil(() => statuses.includes(service.get(id).status), {
    timeoutMs,
    what: `${id} to be ${statuses.join(' or ')}`,
  });
  return service.get(id);
}

describe('data that vanishes is noticed (finding 7)', () => {
  test('a job folder deleted mid-download stops the job with path_missing; resume fetches it again', async () => {
    const work = await tempDir();
    const swarm = await slowSwarm('Nosferatu.1922.mkv');
    const { service, events } = await openService(work.dir);
    try {
      const { job } = await service.add({ id: 'nosferatu', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('nosferatu').progress.bytesDone > 2 * MiB, { timeoutMs: 60_000, what: 'data' });
      await rm(job.savePath ?? '', { recursive: true, force: true });
      const failed = await waitForStatus(service, 'nosferatu', ['error', 'completed']);
      assert.equal(failed.status, 'error', 'never "completed" into deleted files');
      assert.equal(failed.error?.code, 'path_missing');
      assert.ok(events.some((event) => event.type === 'error' && event.job.error?.code === 'path_missing'));

      await service.resume('nosferatu');
      const done = await waitForStatus(service, 'nosferatu', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(await sha256File(path.join(job.savePath ?? '', 'Nosferatu.1922.mkv')), swarm.files[0]?.sha256);
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });

  test('a media root missing at start: jobs with data there fail with path_missing; it is never made again', async () => {
    const work = await tempDir();
    const swarm = await slowSwarm('Metropolis.1927.mkv');
    const mediaRoot = path.join(work.dir, 'Movies');
    let { service } = await openService(work.dir, mediaRoot);
    try {
      await service.add({ id: 'metropolis', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('metropolis').progress.bytesDone > 1 * MiB, {
        timeoutMs: 60_000,
        what: 'data',
      });
      await service.close();
      // The disk is gone (here: the folder moved away while the server was stopped).
      await rename(mediaRoot, path.join(work.dir, 'Movies-elsewhere'));
      ({ service } = await openService(work.dir, mediaRoot));
      const failed = await waitForStatus(service, 'metropolis', ['error']);
      assert.equal(failed.error?.code, 'path_missing');
      assert.match(failed.error?.message ?? '', /Movies is missing: is its disk mounted\?/);
      // A new download is refused too: it would land on the disk underneath.
      const other = await createLoopbackSwarm({ name: 'Moon.mkv', files: [{ path: 'Moon.mkv', size: 64 * 1024 }] });
      try {
        await service.add({ id: 'moon', sourceType: 'torrent', torrentFile: other.torrentFile });
        const refused = await waitForStatus(service, 'moon', ['error', 'completed']);
        assert.equal(refused.error?.code, 'path_missing');
      } finally {
        await other.close();
      }
      assert.equal(existsSync(mediaRoot), false, 'the media root was not made again');

      // The disk is back: resume continues from what is there.
      await rename(path.join(work.dir, 'Movies-elsewhere'), mediaRoot);
      await service.resume('metropolis');
      const done = await waitForStatus(service, 'metropolis', ['completed', 'error'], 60_000);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(await sha256File(path.join(mediaRoot, 'metropolis', 'Metropolis.1927.mkv')), swarm.files[0]?.sha256);
    } finally {
      await service.close();
      await swarm.close();
      await work.cleanup();
    }
  });

  test('chilly doctor says when the media folder of jobs with data is missing', async () => {
    ensureCliBuilt();
    const work = await tempDir();
    const swarm = await slowSwarm('Faust.1926.mkv');
    const mediaRoot = path.join(work.dir, 'Movies');
    const env = isolatedEnv(work.dir, { CHILLY_DATA_DIR: work.dir, CHILLY_MEDIA_ROOT: mediaRoot, CHILLY_PORT: '1' });
    try {
      const { service } = await openService(work.dir, mediaRoot);
      try {
        await service.add({ id: 'faust', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
        await waitUntil(() => service.get('faust').progress.bytesDone > 0, { timeoutMs: 60_000, what: 'data' });
      } finally {
        await service.close();
      }
      const healthy = await runChilly(['doctor', '--json'], { env });
      const check = (output: string) =>
        (JSON.parse(output) as Array<{ check: string; level: string; detail: string }>).find(
          (result) => result.check === 'media disk',
        );
      assert.equal(check(healthy.stdout)?.level, 'ok', healthy.stdout);
      await rename(mediaRoot, path.join(work.dir, 'away'));
      await mkdir(mediaRoot); // an empty mount point
      const broken = await runChilly(['doctor', '--json'], { env });
      assert.equal(broken.code, 1);
      assert.equal(check(broken.stdout)?.level, 'fail');
      assert.match(check(broken.stdout)?.detail ?? '', /lost its marker .* 1 download has data there/);
    } finally {
      await swarm.close();
      await work.cleanup();
    }
  });

  const skip = tmpfsUnavailableReason() ?? false;
  test('a media root unmounted mid-download stops its jobs; nothing is written onto the disk underneath', {
    skip,
  }, async () => {
    const work = await tempDir();
    const swarm = await slowSwarm('Sunrise.1927.mkv');
    const tmp = mountTmpfs(64 * MiB);
    const { service } = await openService(work.dir, tmp.dir);
    try {
      await service.add({ id: 'sunrise', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
      await waitUntil(() => service.get('sunrise').progress.bytesDone > 2 * MiB, { timeoutMs: 60_000, what: 'data' });
      // What a USB disk pulled out looks like: the mount goes, the engine's open files stay.
      execFileSync('umount', ['-l', tmp.dir], { timeout: 10_000 });
      const failed = await waitForStatus(service, 'sunrise', ['error', 'completed']);
      assert.equal(failed.status, 'error');
      assert.equal(failed.error?.code, 'path_missing');
      await service.add({
        id: 'later',
        sourceType: 'torrent',
        sourceUrn: swarm.magnetURI.replace(/xt=[^&]+/, `xt=urn:btih:${'ab'.repeat(20)}`),
      });
      const refused = await waitForStatus(service, 'later', ['error', 'downloading']);
      assert.equal(refused.error?.code, 'path_missing');
      assert.deepEqual(await readdir(tmp.dir), [], 'the empty mount point holds nothing of ours');
    } finally {
      await service.close();
      await swarm.close();
      tmp.unmount();
      await rm(tmp.dir, { recursive: true, force: true });
      await work.cleanup();
    }
  });
});
