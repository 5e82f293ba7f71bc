/**
 * `chilly add <magnet | info-hash | .torrent file | URL>`: hands the download to the running
 * server, then follows it with a progress bar until it settles (unless --detach).
 */
import type { Job } from '../../client/index.js';
import { disambiguatedJobId, jobIdFromName } from '../../domain/job-id.js';
import { ApiError, type CliApi, connect } from '../api.js';
import type { CommandContext } from '../context.js';
import { followJob } from '../follow.js';
import { formatBytes } from '../format.js';
import { CliError, EXIT, printJson, println, usageError } from '../io.js';
import { createProgressView } from '../progress.js';
import { type CliSource, checkJobId, readSource } from '../source.js';
import { terminalSafe } from '../terminal-text.js';

export interface AddOptions {
  id?: string;
  /** The URL is the film itself: the server downloads it over HTTP (`sourceType: "http"`). */
  direct?: boolean;
  detach?: boolean;
}

export async function runAdd(ctx: CommandContext, argument: string, options: AddOptions): Promise<number> {
  const { io } = ctx;
  const explicitId = options.id === undefined ? undefined : checkJobId(options.id);
  let added: { job: Job; created: boolean };
  if (options.direct === true) {
    const url = directUrl(argument);
    const api = await connect(ctx.config());
    const { data, status } = await api.send(
      api.client.POST('/download/start', {
        body: { ...(explicitId === undefined ? {} : { id: explicitId }), sourceType: 'http', sourceUrn: url },
      }),
    );
    added = { job: data, created: status === 201 };
    return report(ctx, api, added, options);
  }
  const source = await readSource(argument, io.cwd);
  const api = await connect(ctx.config());
  added = await submit(api, source, explicitId);
  return report(ctx, api, added, options);
}

/** `--direct` takes an http(s) URL and nothing else (the server checks the rest). */
function directUrl(argument: string): string {
  const value = argument.trim();
  if (!/^https?:\/\//i.test(value)) throw usageError('--direct needs the http(s) URL of the file.');
  return value;
}

async function report(
  ctx: CommandContext,
  api: CliApi,
  { job, created }: { job: Job; created: boolean },
  options: AddOptions,
): Promise<number> {
  const { io } = ctx;

  if (!ctx.json) {
    const what = job.name === undefined ? '' : ` (${job.name})`;
    println(io.stdout, terminalSafe(created ? `Added ${job.id}${what}.` : `${job.id}${what} was already added.`));
  }
  if (options.detach === true) {
    if (ctx.json) printJson(io.stdout, job);
    else println(io.stdout, terminalSafe(`Follow it with \`chilly status ${job.id}\`.`));
    return EXIT.ok;
  }
  return follow(ctx, api, job.id);
}

/** Adds under the given id, or a name-based one (taking a hash-suffixed id if another torrent has the name). */
async function submit(
  api: CliApi,
  source: CliSource,
  explicitId: string | undefined,
): Promise<{ job: Job; created: boolean }> {
  const send = async (id: string): Promise<{ job: Job; created: boolean }> => {
    const { data, status } = await api.send(
      source.kind === 'magnet'
        ? api.client.POST('/download/start', { body: { id, sourceType: 'torrent', sourceUrn: source.sourceUrn } })
        : api.client.POST('/download/upload', {
            params: { query: { id } },
            body: source.bytes,
            headers: { 'Content-Type': 'application/x-bittorrent' },
          }),
    );
    // 200: the same id and source were added before; nothing changed.
    return { job: data, created: status === 201 };
  };
  if (explicitId !== undefined) return send(explicitId);
  try {
    return await send(jobIdFromName(source));
  } catch (error) {
    if (error instanceof ApiError && error.code === 'duplicate_job') return send(disambiguatedJobId(source));
    throw error;
  }
}

async function follow(ctx: CommandContext, api: CliApi, id: string): Promise<number> {
  const { io } = ctx;
  const view = ctx.json ? undefined : createProgressView(io.stdout);
  const controller = new AbortController();
  const stopListening = io.onInterrupt(() => controller.abort());
  let final: Job;
  try {
    final = await followJob(api, id, { signal: controller.signal, onUpdate: (job) => view?.update(job) });
  } catch (error) {
    view?.stop();
    if (!controller.signal.aborted) throw error;
    println(
      io.stderr,
      terminalSafe(
        `Stopped following ${id}; the server keeps downloading it (\`chilly status ${id}\`, \`chilly pause ${id}\`).`,
      ),
    );
    return EXIT.interrupted;
  } finally {
    stopListening();
  }
  view?.stop();
  if (ctx.json) printJson(io.stdout, final);
  return settle(ctx, final);
}

/**
 * The exit code for a settled job, with a line saying what happened. The job's texts come from the
 * server or the torrent: the errors thrown here are made safe where they are printed (program.ts).
 */
export function settle(ctx: CommandContext, job: Job): number {
  const name = job.name ?? job.id;
  switch (job.status) {
    case 'completed':
      if (!ctx.json) {
        const size = job.progress.bytesTotal === null ? '' : ` (${formatBytes(job.progress.bytesTotal)})`;
        const what = terminalSafe(`${name}${size} in ${job.savePath ?? '(unknown folder)'}`);
        println(ctx.io.stdout, `${ctx.style.green('Done:')} ${what}`);
      }
      return EXIT.ok;
    case 'error':
      throw new CliError(`${job.id} failed: ${job.error?.message ?? 'the download engine reported an error'}`, {
        code: job.error?.code ?? 'download_failed',
      });
    case 'paused':
      throw new CliError(`${job.id} was paused before it finished; \`chilly resume ${job.id}\` continues it.`);
    case 'cancelled':
      throw new CliError(`${job.id} was cancelled before it finished.`);
    case 'files_missing':
      throw new CliError(`${job.id} is complete but its files are gone from ${job.savePath ?? 'its folder'}.`, {
        code: 'files_missing',
      });
    default:
      throw new CliError(`${job.id} stopped in state ${job.status}.`);
  }
}
