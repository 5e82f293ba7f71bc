/**
 * Real video for streaming tests: short clips made with ffmpeg (Debian's `ffmpeg` package; `.ci/run`
 * installs it), read back with ffprobe, and seeded on a loopback swarm by a rate-limited WebTorrent
 * seeder so the data is not there yet when a player asks for it.
 *
 * Every ffmpeg/ffprobe run is bounded in time and killed with the test process at the latest.
 */
import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import parseTorrent from 'parse-torrent';
import type WebTorrent from 'webtorrent';
import type { Torrent } from 'webtorrent';
import {
  createSeederClient,
  type LoopbackTracker,
  loopbackMagnet,
  makeTorrent,
  seedTorrent,
  sha256File,
  startLoopbackTracker,
} from './loopback-swarm.js';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
    exitHookInstalled = true;
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Kills every ffmpeg/ffprobe still running (call from `after` hooks). */
export function killMediaTools(): void {
  for (const child of running) child.kill('SIGKILL');
}

let unavailable: string | null | undefined;

/** Why ffmpeg tests cannot run here, or null when they can (probed once per process). */
export function ffmpegUnavailableReason(): string | null {
  if (unavailable !== undefined) return unavailable;
  unavailable = null;
  for (const tool of ['ffmpeg', 'ffprobe']) {
    const result = spawnSync(tool, ['-version'], { timeout: 10_000, stdio: 'ignore' });
    if (result.error !== undefined || result.status !== 0) {
      unavailable = `${tool} is not installed (apt-get install ffmpeg)`;
      break;
    }
  }
  return unavailable;
}

function run(tool: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      tool,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, ...(signal ? { signal } : {}) },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${tool} failed: ${error.message}\n${stderr}`.trim()));
        else resolve(stdout);
      },
    );
    child.stdin?.end();
    track(child);
  });
}

export interface VideoSpec {
  file: string;
  seconds: number;
  /** `640x360` */
  size?: string;
  videoKbps?: number;
}

/**
 * A test pattern with a tone, H.264 + AAC, in Matroska or MP4 (by the file's extension; MP4 with
 * the index at the front, as players like it). About `videoKbps × seconds / 8` KB.
 */
export async function makeTestVideo(spec: VideoSpec): Promise<void> {
  const { file, seconds, size = '640x360', videoKbps = 2_500 } = spec;
  await mkdir(path.dirname(file), { recursive: true });
  const mp4 = path.extname(file).toLowerCase() === '.mp4';
  await run(
    'ffmpeg',
    [
      ...['-nostdin', '-y', '-loglevel', 'error'],
      ...['-f', 'lavfi', '-i', `testsrc2=duration=${seconds}:size=${size}:rate=25`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}:sample_rate=48000`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50'],
      ...['-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps * 2}k`],
      ...['-c:a', 'aac', '-b:a', '96k', '-shortest'],
      ...(mp4 ? ['-movflags', '+faststart'] : []),
      file,
    ],
    60_000,
  );
}

/** The container's duration in seconds as ffprobe reads it from `input` (a file or an http URL). */
export async function probeDuration(input: string, options: { timeoutMs?: number } = {}): Promise<number> {
  const stdout = await run(
    'ffprobe',
    [
      ...['-v', 'error', '-show_entries', 'format=duration', '-of', 'json'],
      // Give up on a stalled connection well inside the overall bound.
      ...(input.startsWith('http') ? ['-rw_timeout', '20000000'] : []),
      input,
    ],
    options.timeoutMs ?? 60_000,
  );
  const duration = Number((JSON.parse(stdout) as { format?: { duration?: string } }).format?.duration);
  if (!Number.isFinite(duration)) throw new Error(`ffprobe reported no duration: ${stdout}`);
  return duration;
}

export interface SeededFile {
  /** Path inside the torrent, as the job's `files` list it. */
  path: string;
  /** The seeder's copy, for byte-for-byte checks. */
  source: string;
  length: number;
  sha256: string;
}

export interface SeededSwarm {
  tracker: LoopbackTracker;
  magnetURI: string;
  torrentFile: Buffer;
  infoHash: string;
  files: SeededFile[];
  seederTorrent: Torrent | undefined;
  startSeeder(options?: { uploadLimit?: number }): Promise<Torrent>;
  stopSeeder(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Seeds existing files (copied into a temp folder as `<name>/<path>`) from a WebTorrent client on
 * 127.0.0.1 with every public-network feature off, announcing only to a loopback tracker.
 */
export async function seedFiles(options: {
  name: string;
  files: Array<{ path: string; source: string }>;
  pieceLength?: number;
  /** Bytes per second; unlimited when absent. */
  uploadLimit?: number;
  /** Start seeding right away (default true). */
  seeder?: boolean;
}): Promise<SeededSwarm> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'chilly-video-swarm-'));
  let tracker: LoopbackTracker | undefined;
  try {
    const files: SeededFile[] = [];
    for (const file of options.files) {
      const target = path.join(workDir, options.name, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(file.source, target);
      const { size } = await stat(target);
      files.push({
        path: `${options.name}/${file.path}`,
        source: target,
        length: size,
        sha256: await sha256File(target),
      });
    }
    tracker = await startLoopbackTracker();
    const announceUrl = tracker.announceUrl;
    const torrentFile = await makeTorrent(
      path.join(workDir, options.name),
      options.name,
      announceUrl,
      options.pieceLength,
    );
    await writeFile(path.join(workDir, `${options.name}.torrent`), torrentFile);
    const { infoHash } = await parseTorrent(torrentFile);
    let client: WebTorrent | undefined;
    const swarm: SeededSwarm = {
      tracker,
      torrentFile,
      infoHash,
      magnetURI: loopbackMagnet(infoHash, options.name, announceUrl),
      files,
      seederTorrent: undefined,
      async startSeeder(seederOptions = {}) {
        await swarm.stopSeeder();
        client = createSeederClient(seederOptions.uploadLimit ?? options.uploadLimit);
        const torrent = await seedTorrent(client, torrentFile, workDir);
        swarm.seederTorrent = torrent;
        return torrent;
      },
      async stopSeeder() {
        const current = client;
        client = undefined;
        swarm.seederTorrent = undefined;
        if (current !== undefined) await new Promise<void>((resolve) => current.destroy(() => resolve()));
      },
      async close() {
        await swarm.stopSeeder();
        await tracker?.close();
        await rm(workDir, { recursive: true, force: true });
      },
    };
    if (options.seeder !== false) await swarm.startSeeder();
    return swarm;
  } catch (error) {
    await tracker?.close();
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}
