/**
 * `chilly download <magnet | .torrent | URL>`: the engine in this process, no server (like
 * webtorrent-cli). Files go to `<--out>/<id>/`; Ctrl-C pauses, keeps the partial data and exits;
 * running the same command again continues after a check of what is on disk.
 */
import path from 'node:path';
import type { Job } from '../../domain/job.js';
import { jobIdFromName } from '../../domain/job-id.js';
import { WebTorrentDownloader } from '../../downloaders/webtorrent/webtorrent-downloader.js';
import type { CommandContext } from '../context.js';
import { SETTLED_STATUSES } from '../follow.js';
import { formatBytes } from '../format.js';
import { EXIT, printJson, println } from '../io.js';
import { createProgressView } from '../progress.js';
import { checkJobId, readSource } from '../source.js';
import { terminalSafe } from '../terminal-text.js';
import { settle } from './add.js';

export interface DownloadOptions {
  out?: string;
  id?: string;
}

export async function runDownload(ctx: CommandContext, argument: string, options: DownloadOptions): Promise<number> {
  const { io } = ctx;
  const config = ctx.config();
  const explicitId = options.id === undefined ? undefined : checkJobId(options.id);
  const source = await readSource(argument, io.cwd);
  const id = explicitId ?? jobIdFromName(source);
  const mediaRoot = path.resolve(io.cwd, options.out ?? '.');
  const downloader = new WebTorrentDownloader({
    mediaRoot,
    network: config.network,
    torrentPort: config.torrentPort,
  });
  const view = ctx.json ? undefined : createProgressView(io.stdout);
  let interrupted = false;
  let started = false;
  // Pausing detaches the torrent and keeps its files; the 'paused' event then ends the wait.
  const pause = (): void => {
    downloader.pause(id).catch(() => undefined);
  };
  let stopListening: () => void = () => undefined;
  try {
    const settled = new Promise<Job>((resolve) => {
      const onJob = (job: Job): void => {
        if (job.id !== id) return;
        view?.update(job);
        if (SETTLED_STATUSES.has(job.status)) resolve(job);
      };
      for (const event of ['started', 'metadata', 'progress', 'completed', 'paused', 'resumed'] as const) {
        downloader.on(event, onJob);
      }
      downloader.on('error', (_error, job) => onJob(job));
    });
    stopListening = io.onInterrupt(() => {
      if (interrupted) return;
      interrupted = true;
      if (started) pause();
    });
    if (!ctx.json) {
      const network = config.network === 'loopback' ? ' (network: loopback only)' : '';
      const what = `${source.name ?? source.infoHash} into ${path.join(mediaRoot, id)}${network}`;
      println(io.stdout, `Downloading ${terminalSafe(what)}`);
    }
    const input =
      source.kind === 'magnet'
        ? { id, sourceType: 'torrent' as const, sourceUrn: source.sourceUrn }
        : { id, sourceType: 'torrent' as const, torrentFile: source.bytes };
    // Always `<out>/<id>`: running the same command again continues in the folder it left.
    await downloader.start(input, { savePath: path.join(mediaRoot, id) });
    started = true;
    if (interrupted) pause();
    const job = await settled;
    view?.stop();
    if (interrupted && job.status === 'paused') {
      println(
        io.stderr,
        terminalSafe(
          `Paused. ${formatBytes(job.progress.bytesDone)} kept in ${job.savePath ?? mediaRoot}; ` +
            'run the same command again to continue.',
        ),
      );
      return EXIT.interrupted;
    }
    if (ctx.json) printJson(io.stdout, job);
    else if (job.status === 'completed') listFiles(ctx, job);
    return settle(ctx, job);
  } finally {
    view?.stop();
    stopListening();
    await downloader.destroy();
  }
}

/** The files as the torrent names them: its paths are a stranger's text (terminalSafe). */
function listFiles(ctx: CommandContext, job: Job): void {
  const files = job.files ?? [];
  for (const file of files.slice(0, 20)) {
    println(ctx.io.stdout, terminalSafe(`  ${path.join(job.savePath ?? '', file.path)} (${formatBytes(file.length)})`));
  }
  if (files.length > 20) println(ctx.io.stdout, `  … and ${files.length - 20} more files`);
}
