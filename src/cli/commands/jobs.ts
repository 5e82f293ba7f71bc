/** `ls`, `status`, `pause`, `resume`, `cancel`: one API call each, shown as a table, a card or JSON. */
import path from 'node:path';
import type { Job, JobStatus } from '../../client/index.js';
import { JOB_STATUSES, QUEUE_MOVES } from '../../domain/job.js';
import { connect } from '../api.js';
import type { CommandContext } from '../context.js';
import {
  type Column,
  formatBytes,
  formatEta,
  formatPercent,
  formatSpeed,
  isTransferring,
  renderTable,
} from '../format.js';
import { EXIT, printJson, println, type Style, usageError } from '../io.js';
import { terminalSafe } from '../terminal-text.js';

const PAGE_SIZE = 500;
/** `ls` without --limit reads every page, up to this many jobs (a guard, not a real-world limit). */
const MAX_LISTED = 100_000;

export interface ListOptions {
  status?: string;
  limit?: string;
}

export async function runList(ctx: CommandContext, options: ListOptions): Promise<number> {
  const status = parseStatuses(options.status);
  const limit = options.limit === undefined ? undefined : parsePositive('--limit', options.limit);
  const api = await connect(ctx.config());
  const jobs: Job[] = [];
  // Newest first: a job added while the pages are read pushes the rest down, so a job at the end
  // of one page can come again at the start of the next.
  const seen = new Set<string>();
  const wanted = limit ?? MAX_LISTED;
  for (let offset = 0; jobs.length < wanted; ) {
    const page = await api.call(
      api.client.GET('/downloads', {
        params: { query: { status, limit: Math.min(PAGE_SIZE, wanted - jobs.length), offset } },
      }),
    );
    for (const job of page.jobs) {
      if (!seen.has(job.id)) jobs.push(job);
      seen.add(job.id);
    }
    offset += page.jobs.length;
    if (page.jobs.length === 0 || offset >= page.total) break;
  }
  if (ctx.json) {
    printJson(ctx.io.stdout, jobs);
    return EXIT.ok;
  }
  if (jobs.length === 0) {
    println(ctx.io.stdout, status.length > 0 ? `No downloads that are ${status.join(' or ')}.` : 'No downloads yet.');
    return EXIT.ok;
  }
  println(
    ctx.io.stdout,
    renderTable(jobs, jobColumns(ctx.style), ctx.io.stdout.isTTY ? ctx.io.stdout.columns : undefined),
  );
  return EXIT.ok;
}

const WAITING_FOR_METADATA = '(waiting for metadata)';

function jobColumns(style: Style): Column<Job>[] {
  return [
    { header: 'ID', value: (job) => job.id },
    { header: 'STATUS', value: (job) => (job.seeding?.active === true ? 'seeding' : job.status) },
    { header: 'DONE', value: (job) => formatPercent(job.progress.fraction), align: 'right' },
    { header: 'SIZE', value: (job) => formatBytes(job.progress.bytesTotal), align: 'right' },
    {
      header: 'DOWN',
      value: (job) => (isTransferring(job) ? formatSpeed(job.progress.downloadSpeed) : '-'),
      align: 'right',
    },
    { header: 'UP', value: (job) => formatSpeed(job.progress.uploadSpeed), align: 'right' },
    { header: 'PEERS', value: (job) => (isTransferring(job) ? String(job.progress.peers) : '-'), align: 'right' },
    { header: 'ETA', value: (job) => (isTransferring(job) ? formatEta(job.progress.etaSeconds) : '-'), align: 'right' },
    {
      header: 'NAME',
      value: (job) => job.name ?? WAITING_FOR_METADATA,
      // Styled after the cut, so the colour's own escapes are neither counted nor made visible.
      style: (text, job) => (job.name === undefined ? style.dim(text) : text),
      shrink: true,
    },
  ];
}

export async function runStatus(ctx: CommandContext, id: string): Promise<number> {
  const api = await connect(ctx.config());
  const job = await api.call(api.client.GET('/download/status/{id}', { params: { path: { id } } }));
  if (ctx.json) printJson(ctx.io.stdout, job);
  else println(ctx.io.stdout, describeJob(job));
  return EXIT.ok;
}

/** A job as a short card of "label  value" lines; every value is one line (terminalSafe), files one per line. */
export function describeJob(job: Job): string {
  const { progress } = job;
  const rows: Array<[string, string | readonly string[] | undefined]> = [
    ['id', job.id],
    ['name', job.name],
    ['status', job.status],
    [
      'progress',
      `${formatPercent(progress.fraction)}${progress.bytesTotal === null ? '' : ` of ${formatBytes(progress.bytesTotal)}`}` +
        ` (${formatBytes(progress.bytesDone)} done)`,
    ],
    [
      'speed',
      isTransferring(job)
        ? `down ${formatSpeed(progress.downloadSpeed)}, up ${formatSpeed(progress.uploadSpeed)}`
        : undefined,
    ],
    ['peers', isTransferring(job) ? String(progress.peers) : undefined],
    ['eta', isTransferring(job) ? formatEta(progress.etaSeconds) : undefined],
    ['uploaded', formatBytes(progress.bytesUploaded)],
    ['seeding', job.seeding === undefined ? undefined : describeSeeding(job.seeding)],
    ['saved in', job.savePath],
    ['files', job.files === undefined ? undefined : filesSummary(job)],
    [
      'subtitles',
      job.subtitles === undefined
        ? undefined
        : job.subtitles.map((subtitle) => `${subtitle.n}: ${subtitle.label} (${subtitle.format})`).join(', '),
    ],
    [
      'moving',
      job.move === undefined
        ? undefined
        : `to ${job.move.destination}, ${formatBytes(job.move.bytesDone)} of ${formatBytes(job.move.bytesTotal)}`,
    ],
    ['info-hash', job.infoHash],
    ['source', job.sourceUrn],
    ['added', job.createdAt],
    ['updated', job.updatedAt],
    ['error', job.error === undefined ? undefined : `${job.error.code}: ${job.error.message}`],
  ];
  const indent = `\n${' '.repeat(11)}`;
  return rows
    .filter((row): row is [string, string | readonly string[]] => row[1] !== undefined)
    .map(([label, value]) => {
      const lines = typeof value === 'string' ? [value] : value;
      return `${label.padEnd(10)} ${lines.map(terminalSafe).join(indent)}`;
    })
    .join('\n');
}

/** "yes, ratio 0.42 of 2, until 14:05" or "stopped, ratio 1.03". */
function describeSeeding(seeding: NonNullable<Job['seeding']>): string {
  const ratio = `ratio ${seeding.ratio.toFixed(2)}`;
  if (!seeding.active) return `stopped, ${ratio}`;
  const until = seeding.endsAt === null ? '' : `, until ${new Date(seeding.endsAt).toLocaleTimeString()}`;
  return `yes, ${ratio} of ${seeding.ratioLimit}${until}`;
}

/** The number of files, then up to five of them, one line each. */
function filesSummary(job: Job): string[] {
  const files = job.files ?? [];
  const shown = files.slice(0, 5).map((file) => `${file.path} (${formatBytes(file.length)})`);
  const more = files.length > 5 ? [`… and ${files.length - 5} more`] : [];
  return [String(files.length), ...shown, ...more];
}

export async function runPause(ctx: CommandContext, id: string): Promise<number> {
  const api = await connect(ctx.config());
  const job = await api.call(api.client.POST('/download/pause', { body: { id } }));
  report(ctx, job, `Paused ${job.id}.`);
  return EXIT.ok;
}

export async function runResume(ctx: CommandContext, id: string): Promise<number> {
  const api = await connect(ctx.config());
  const job = await api.call(api.client.POST('/download/resume', { body: { id } }));
  report(ctx, job, `Resumed ${job.id} (${job.status}).`);
  return EXIT.ok;
}

export interface CancelOptions {
  keepData?: boolean;
  deleteData?: boolean;
}

export async function runCancel(ctx: CommandContext, id: string, options: CancelOptions): Promise<number> {
  const keepData = options.keepData === true ? true : options.deleteData === true ? false : undefined;
  const api = await connect(ctx.config());
  const job = await api.call(
    api.client.POST('/download/cancel', { body: keepData === undefined ? { id } : { id, keepData } }),
  );
  const data =
    keepData === undefined
      ? 'its files were kept if it was complete, deleted otherwise'
      : keepData
        ? 'files kept'
        : 'files deleted';
  report(ctx, job, `Cancelled ${job.id} (${data}).`);
  return EXIT.ok;
}

/** `chilly limit [--down KiB/s] [--up KiB/s]`: the speed limits in force, changed at once when given. */
export async function runLimit(
  ctx: CommandContext,
  options: { down?: string; up?: string; job?: string },
): Promise<number> {
  const api = await connect(ctx.config());
  if (options.job !== undefined) return runJobLimit(ctx, api, options.job, options);
  let limits = await api.call(api.client.GET('/settings/limits'));
  if (options.down !== undefined || options.up !== undefined) {
    const kib = (flag: string, value: string | undefined, current: number): number =>
      value === undefined ? current : parseNonNegative(flag, value) * 1024;
    limits = await api.call(
      api.client.PUT('/settings/limits', {
        body: {
          downloadBytesPerSecond: kib('--down', options.down, limits.downloadBytesPerSecond),
          uploadBytesPerSecond: kib('--up', options.up, limits.uploadBytesPerSecond),
        },
      }),
    );
  }
  if (ctx.json) printJson(ctx.io.stdout, limits);
  else {
    const show = (bytes: number) => (bytes === 0 ? 'no limit' : formatSpeed(bytes));
    println(
      ctx.io.stdout,
      `download ${show(limits.downloadBytesPerSecond)}, upload ${show(limits.uploadBytesPerSecond)}`,
    );
  }
  return EXIT.ok;
}

/** `chilly limit --job <id> [--down KiB/s] [--up KiB/s]`: one download's own limits. */
async function runJobLimit(
  ctx: CommandContext,
  api: Awaited<ReturnType<typeof connect>>,
  id: string,
  options: { down?: string; up?: string },
): Promise<number> {
  let job = await api.call(api.client.GET('/download/status/{id}', { params: { path: { id } } }));
  if (options.down !== undefined || options.up !== undefined) {
    const current = job.rateLimits ?? { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 };
    const kib = (flag: string, value: string | undefined, now: number): number =>
      value === undefined ? now : parseNonNegative(flag, value) * 1024;
    job = await api.call(
      api.client.PUT('/download/limits', {
        body: {
          id,
          downloadBytesPerSecond: kib('--down', options.down, current.downloadBytesPerSecond),
          uploadBytesPerSecond: kib('--up', options.up, current.uploadBytesPerSecond),
        },
      }),
    );
  }
  const limits = job.rateLimits ?? { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 };
  if (ctx.json) printJson(ctx.io.stdout, limits);
  else {
    const show = (bytes: number) => (bytes === 0 ? 'no limit of its own' : formatSpeed(bytes));
    println(
      ctx.io.stdout,
      terminalSafe(
        `${job.id}: download ${show(limits.downloadBytesPerSecond)}, upload ${show(limits.uploadBytesPerSecond)}`,
      ),
    );
  }
  return EXIT.ok;
}

function parseNonNegative(flag: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < 0) {
    throw usageError(`${flag} takes a whole number of KiB/s, 0 for no limit (got ${JSON.stringify(value)}).`);
  }
  return number;
}

/** `chilly peers <id>`: the peers of a running download, one per line. */
export async function runPeers(ctx: CommandContext, id: string): Promise<number> {
  const api = await connect(ctx.config());
  const { peers } = await api.call(api.client.GET('/download/peers/{id}', { params: { path: { id } } }));
  if (ctx.json) {
    printJson(ctx.io.stdout, peers);
    return EXIT.ok;
  }
  if (peers.length === 0) {
    println(ctx.io.stdout, `${terminalSafe(id)} has no peers (it is not running, or none answered yet).`);
    return EXIT.ok;
  }
  const columns: Column<(typeof peers)[number]>[] = [
    { header: 'ADDRESS', value: (peer) => peer.address },
    { header: 'CLIENT', value: (peer) => peer.client, shrink: true },
    { header: 'HAS', value: (peer) => formatPercent(peer.progress), align: 'right' },
    { header: 'DOWN', value: (peer) => formatSpeed(peer.downloadSpeed), align: 'right' },
    { header: 'UP', value: (peer) => formatSpeed(peer.uploadSpeed), align: 'right' },
    {
      header: 'FLAGS',
      value: (peer) =>
        [
          peer.incoming ? 'in' : 'out',
          peer.choked ? 'choked' : '',
          peer.interested ? 'wanted' : '',
          peer.peerInterested ? 'wants' : '',
        ]
          .filter((flag) => flag !== '')
          .join(' '),
    },
  ];
  println(ctx.io.stdout, renderTable(peers, columns));
  return EXIT.ok;
}

/** `chilly library`: the library folder media servers read, one film per folder with its files. */
export async function runLibrary(ctx: CommandContext): Promise<number> {
  const api = await connect(ctx.config());
  const folder = await api.call(api.client.GET('/library/folder'));
  if (ctx.json) {
    printJson(ctx.io.stdout, folder);
    return EXIT.ok;
  }
  if (folder.root === null) {
    println(
      ctx.io.stdout,
      'No library folder: set CHILLY_LIBRARY_DIR to have finished films placed there for Plex, Jellyfin or Kodi.',
    );
    return EXIT.ok;
  }
  println(
    ctx.io.stdout,
    terminalSafe(`${folder.root} (${folder.entries.length} ${folder.entries.length === 1 ? 'film' : 'films'})`),
  );
  for (const copy of folder.copying) {
    const percent = copy.bytesTotal === 0 ? 100 : Math.floor((100 * copy.bytesDone) / copy.bytesTotal);
    println(ctx.io.stdout, terminalSafe(`  copying ${copy.jobId}: ${percent} % of ${formatBytes(copy.bytesTotal)}`));
  }
  for (const entry of folder.entries) {
    println(ctx.io.stdout, terminalSafe(`  ${entry.folder}/  (${entry.jobIds.join(', ')})`));
    for (const file of entry.files) {
      const state = file.state === 'ok' ? '' : `  [${file.state}]`;
      println(ctx.io.stdout, terminalSafe(`    ${file.name}${state}`));
    }
  }
  return EXIT.ok;
}

/** `chilly trackers <id> [--add url…] [--remove url…]`: a job's trackers, after the changes asked for. */
export async function runTrackers(
  ctx: CommandContext,
  id: string,
  options: { add?: string[]; remove?: string[] },
): Promise<number> {
  const api = await connect(ctx.config());
  const add = options.add ?? [];
  const remove = options.remove ?? [];
  const { trackers } =
    add.length > 0 || remove.length > 0
      ? await api.call(api.client.POST('/download/trackers', { body: { id, add, remove } }))
      : await api.call(api.client.GET('/download/trackers/{id}', { params: { path: { id } } }));
  if (ctx.json) {
    printJson(ctx.io.stdout, trackers);
    return EXIT.ok;
  }
  if (trackers.length === 0) {
    println(ctx.io.stdout, `${terminalSafe(id)} has no trackers (it finds peers through DHT only).`);
    return EXIT.ok;
  }
  const when = (at: string | null) => (at === null ? '-' : new Date(at).toLocaleTimeString());
  const count = (n: number | null) => (n === null ? '-' : String(n));
  const columns: Column<(typeof trackers)[number]>[] = [
    { header: 'URL', value: (tracker) => tracker.url, shrink: true },
    {
      header: 'STATUS',
      value: (tracker) => (tracker.origin === 'added' ? `${tracker.status} (added)` : tracker.status),
    },
    { header: 'SEEDS', value: (tracker) => count(tracker.seeders), align: 'right' },
    { header: 'PEERS', value: (tracker) => count(tracker.leechers), align: 'right' },
    { header: 'LAST', value: (tracker) => when(tracker.lastAnnounce) },
    { header: 'NEXT', value: (tracker) => when(tracker.nextAnnounce) },
    { header: 'MESSAGE', value: (tracker) => tracker.message ?? '', shrink: true },
  ];
  println(ctx.io.stdout, renderTable(trackers, columns));
  return EXIT.ok;
}

/** `chilly recheck <id>`: every piece on disk checked again, damaged ones downloaded again. */
export async function runRecheck(ctx: CommandContext, id: string): Promise<number> {
  const api = await connect(ctx.config());
  const job = await api.call(api.client.POST('/download/recheck', { body: { id } }));
  report(ctx, job, `${job.id}: its data will be checked again, then it goes on.`);
  return EXIT.ok;
}

/** `chilly move <id> top|up|down|bottom`: a queued job's place in the queue. */
export async function runMove(ctx: CommandContext, id: string, where: string): Promise<number> {
  const move = QUEUE_MOVES.find((candidate) => candidate === where);
  if (move === undefined) throw usageError(`Move where? ${QUEUE_MOVES.join(', ')} (got ${JSON.stringify(where)}).`);
  const api = await connect(ctx.config());
  const job = await api.call(api.client.POST('/download/queue', { body: { id, move } }));
  report(ctx, job, `${job.id} is now number ${job.queuePosition ?? '?'} in the queue.`);
  return EXIT.ok;
}

/** `chilly move-data <id> <folder>`: the job's data goes into `<folder>` (waits until it is there). */
export async function runMoveData(ctx: CommandContext, id: string, folder: string): Promise<number> {
  if (folder.trim() === '') throw usageError('Move the data where? Give a folder.');
  // The server runs on this machine: a relative folder means one relative to where the user is.
  const destination = path.resolve(folder);
  const api = await connect(ctx.config());
  const job = await api.call(api.client.POST('/download/move-data', { body: { id, destination } }));
  report(ctx, job, `${job.id}: its data is now in ${job.savePath ?? destination}.`);
  return EXIT.ok;
}

/**
 * `chilly seed <id> [--stop] [--ratio R] [--minutes M] [--global-policy]`: a completed job uploads
 * again (its data checked first) or stops now; with a policy option, the job's own limits change.
 */
export async function runSeed(
  ctx: CommandContext,
  id: string,
  options: { stop?: boolean; ratio?: string; minutes?: string; globalPolicy?: boolean },
): Promise<number> {
  const api = await connect(ctx.config());
  const policy = seedingPolicyOf(options);
  if (policy !== undefined) {
    const job = await api.call(api.client.PUT('/download/seeding-policy', { body: { id, ...policy } }));
    const seeding = job.seeding;
    const what =
      seeding === undefined
        ? 'its seeding policy is saved for when it completes'
        : `seeds to ratio ${seeding.ratioLimit} or for ${seeding.minutesLimit} min (${seeding.policy === 'job' ? 'its own policy' : 'the global policy'})`;
    report(ctx, job, `${job.id} ${what}.`);
    // A policy alone is the whole change; with --stop, the upload also ends now.
    if (options.stop !== true) return EXIT.ok;
  }
  const seeding = options.stop !== true;
  const job = await api.call(api.client.POST('/download/seeding', { body: { id, seeding } }));
  report(ctx, job, seeding ? `${job.id} will seed again once its data is checked.` : `${job.id} stopped seeding.`);
  return EXIT.ok;
}

function seedingPolicyOf(options: {
  ratio?: string;
  minutes?: string;
  globalPolicy?: boolean;
}): { ratio: number | null; minutes: number | null } | undefined {
  if (options.globalPolicy === true) {
    if (options.ratio !== undefined || options.minutes !== undefined) {
      throw usageError('--global-policy goes alone: it clears the ratio and minutes of this download.');
    }
    return { ratio: null, minutes: null };
  }
  if (options.ratio === undefined && options.minutes === undefined) return undefined;
  const ratio = options.ratio === undefined ? null : Number(options.ratio);
  const minutes = options.minutes === undefined ? null : Number(options.minutes);
  if (ratio !== null && (!Number.isFinite(ratio) || ratio < 0))
    throw usageError(`--ratio must be a number ≥ 0 (got ${options.ratio}).`);
  if (minutes !== null && (!Number.isSafeInteger(minutes) || minutes < 0)) {
    throw usageError(`--minutes must be a whole number ≥ 0 (got ${options.minutes}).`);
  }
  return { ratio, minutes };
}

/** The job as JSON, or `message`, which names the job as the server does (terminalSafe). */
function report(ctx: CommandContext, job: Job, message: string): void {
  if (ctx.json) printJson(ctx.io.stdout, job);
  else println(ctx.io.stdout, terminalSafe(message));
}

function parseStatuses(text: string | undefined): JobStatus[] {
  if (text === undefined) return [];
  const statuses: JobStatus[] = [];
  for (const item of text.split(',')) {
    const status = item.trim();
    if (status === '') continue;
    if (!isJobStatus(status)) {
      throw usageError(`Unknown status ${JSON.stringify(status)} in --status: use ${JOB_STATUSES.join(', ')}.`);
    }
    statuses.push(status);
  }
  return statuses;
}

function isJobStatus(text: string): text is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(text);
}

export function parsePositive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw usageError(`${flag} must be a whole number of at least 1.`);
  return value;
}
