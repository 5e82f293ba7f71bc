/**
 * What `chilly add` and `chilly download` accept: a magnet URI, a bare info-hash, an http(s) URL
 * of a .torrent, or a .torrent file. The CLI reads files and URLs itself and hands the bytes on,
 * so the server never opens paths or URLs a client names.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { assertValidJobId } from '../domain/job.js';
import { isBareInfoHash, MAX_TORRENT_FILE_BYTES, resolveTorrentSource } from '../downloaders/torrent-source.js';
import { outboundRequest, parseHttpUrl, redactSecrets } from '../http/outbound-request.js';
import { CliError, usageError } from './io.js';

export type CliSource =
  | { kind: 'magnet'; sourceUrn: string; infoHash: string; name: string | undefined }
  | { kind: 'torrent'; bytes: Uint8Array; infoHash: string; name: string | undefined; origin: string };

const URL_TIMEOUT_MS = 30_000;

/** Resolves the argument into a magnet or .torrent bytes, parsed, so bad input fails before the server sees it. */
export async function readSource(argument: string, cwd: string): Promise<CliSource> {
  const value = argument.trim();
  if (/^magnet:/i.test(value) || isBareInfoHash(value)) {
    const parsed = await resolveTorrentSource({ sourceType: 'torrent', sourceUrn: value });
    return { kind: 'magnet', sourceUrn: value, infoHash: parsed.infoHash, name: parsed.name };
  }
  let bytes: Uint8Array;
  let origin: string;
  if (/^https?:\/\//i.test(value)) {
    bytes = await fetchTorrent(value);
    origin = value;
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw usageError(`Cannot add ${JSON.stringify(value)}: only http(s) URLs of .torrent files are supported.`);
  } else {
    origin = path.resolve(cwd, value);
    bytes = await readTorrentFile(origin, value);
  }
  const parsed = await resolveTorrentSource({ sourceType: 'torrent', torrentFile: bytes });
  return { kind: 'torrent', bytes, infoHash: parsed.infoHash, name: parsed.name, origin };
}

async function readTorrentFile(file: string, given: string): Promise<Uint8Array> {
  const stats = await stat(file).catch(() => undefined);
  if (stats === undefined) {
    throw usageError(
      `${JSON.stringify(given)} is not a magnet URI, an info-hash, an http(s) URL or an existing .torrent file.`,
    );
  }
  if (!stats.isFile()) throw usageError(`${file} is not a file.`);
  if (stats.size > MAX_TORRENT_FILE_BYTES) {
    throw new CliError(`${file} is larger than a .torrent file can be (10 MiB).`, { code: 'invalid_torrent' });
  }
  try {
    return new Uint8Array(await readFile(file));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new CliError(`Cannot read ${file} (${code}).`, { code: 'torrent_file_unreadable', cause });
  }
}

async function fetchTorrent(value: string): Promise<Uint8Array> {
  const shown = redactSecrets(value);
  const url = parseHttpUrl(value, {
    code: 'torrent_file_unreadable',
    message: `Cannot download ${shown} (not a valid URL).`,
  });
  // The length header may lie or be absent: the body is counted while it streams, and cut at the limit.
  const response = await outboundRequest(url, {
    timeoutMs: URL_TIMEOUT_MS,
    maxBytes: MAX_TORRENT_FILE_BYTES,
    redirect: 'follow',
    beforeBody: (head) => {
      if (!head.ok || !head.hasBody) {
        throw new CliError(`Cannot download ${shown}: HTTP ${head.status}.`, { code: 'torrent_file_unreadable' });
      }
    },
    failure: {
      code: 'torrent_file_unreadable',
      tooLargeCode: 'invalid_torrent',
      describe: (failure) =>
        failure.kind === 'too_large'
          ? `${shown} is larger than a .torrent file can be (10 MiB).`
          : `Cannot download ${shown} (${failure.detail}).`,
    },
  });
  return new Uint8Array(response.body);
}

/** Checks a job id given with --id; a bad one is a usage error. */
export function checkJobId(id: string): string {
  try {
    assertValidJobId(id);
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error), 'invalid_job_id');
  }
  return id;
}
