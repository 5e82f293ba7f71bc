import { readFile } from 'node:fs/promises';
import { ChillyError } from '../domain/errors.js';
import { emptyProgress, type Job, type JobFile, type JobInput } from '../domain/job.js';
import { decodeMagnet, parseTorrent } from '../engine/torrent-codec.js';
import { type LayoutFile, planFileLayout } from '../torrent/file-layout.js';
import { checkTorrentFile, TORRENT_LIMITS } from '../torrent/info-dictionary.js';
import type { ParsedTorrent } from '../torrent/parsed-torrent.js';
import { assertSafeTorrentPaths } from './torrent-paths.js';

/** A job's source, checked and parsed, in the form the engine takes. */
export type TorrentSource =
  | { kind: 'magnet'; magnetURI: string; infoHash: string; name?: string; announce: string[] }
  | { kind: 'torrent'; torrentFile: Uint8Array; parsed: ParsedTorrent; infoHash: string; name?: string };

const HEX_INFO_HASH = /^[0-9a-fA-F]{40}$/;
const BASE32_INFO_HASH = /^[A-Za-z2-7]{32}$/;
/** Largest .torrent accepted: real movie torrents are well under 1 MiB; this stops a bad path eating memory. */
export const MAX_TORRENT_FILE_BYTES = TORRENT_LIMITS.maxTorrentBytes;

export function isBareInfoHash(value: string): boolean {
  return HEX_INFO_HASH.test(value) || BASE32_INFO_HASH.test(value);
}

function parseMagnet(uri: string): TorrentSource {
  let decoded: ReturnType<typeof decodeMagnet>;
  try {
    decoded = decodeMagnet(uri);
  } catch (cause) {
    throw new ChillyError('invalid_magnet', 'The magnet URI could not be parsed.', { cause });
  }
  const xts = ([] as string[]).concat(decoded.xt ?? []);
  const btih = xts.find((xt) => xt.startsWith('urn:btih:'));
  const hash = btih?.slice('urn:btih:'.length) ?? '';
  if (btih === undefined && xts.some((xt) => xt.startsWith('urn:btmh:'))) {
    throw new ChillyError(
      'unsupported_torrent_version',
      'This magnet names a BitTorrent v2 torrent only (xt=urn:btmh:), which the engines here cannot download: ' +
        'use a hybrid magnet (one that also has xt=urn:btih:) or its v1 .torrent.',
    );
  }
  if (!isBareInfoHash(hash) || decoded.infoHash === undefined || !HEX_INFO_HASH.test(decoded.infoHash)) {
    throw new ChillyError(
      'invalid_magnet',
      'The magnet URI has no valid BitTorrent v1 info-hash (xt=urn:btih: followed by 40 hex or 32 base32 characters).',
    );
  }
  const name = ([] as string[]).concat(decoded.dn ?? [])[0];
  return {
    kind: 'magnet',
    magnetURI: uri,
    infoHash: decoded.infoHash.toLowerCase(),
    announce: decoded.announce ?? [],
    ...(name === undefined ? {} : { name }),
  };
}

/**
 * .torrent bytes, checked (see info-dictionary.ts) before anything else reads them, then parsed,
 * and its file paths checked (`unsafe_path`): the one place a torrent is read, for the service,
 * the drivers and the CLI alike.
 */
export async function parseTorrentBytes(bytes: Uint8Array): Promise<TorrentSource> {
  checkTorrentFile(bytes);
  let parsed: ParsedTorrent;
  try {
    parsed = await parseTorrent(bytes);
  } catch (cause) {
    throw new ChillyError('invalid_torrent', 'The .torrent data is not a valid torrent file.', { cause });
  }
  if (parsed.info === undefined || !HEX_INFO_HASH.test(parsed.infoHash)) {
    throw new ChillyError('invalid_torrent', 'The .torrent data has no info dictionary.');
  }
  assertSafeTorrentPaths(parsed.info);
  return {
    kind: 'torrent',
    torrentFile: bytes,
    parsed,
    infoHash: parsed.infoHash,
    ...(parsed.name === undefined ? {} : { name: parsed.name }),
  };
}

async function readTorrentFile(filePath: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ChillyError(
      'torrent_file_unreadable',
      `Cannot read .torrent file ${JSON.stringify(filePath)} (${reason}).`,
      {
        cause,
      },
    );
  }
  if (bytes.byteLength > MAX_TORRENT_FILE_BYTES) {
    throw new ChillyError('invalid_torrent', `The .torrent file is larger than ${MAX_TORRENT_FILE_BYTES} bytes.`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Turns a job's source into something the engine can add, or throws a typed error.
 * Accepts .torrent bytes, a magnet URI, a bare info-hash, or a .torrent file path.
 */
export async function resolveTorrentSource(
  input: Pick<JobInput, 'sourceType' | 'sourceUrn' | 'torrentFile'>,
): Promise<TorrentSource> {
  if (input.sourceType !== 'torrent') {
    throw new ChillyError(
      'invalid_source',
      `Unsupported sourceType ${JSON.stringify(input.sourceType)}: only "torrent".`,
    );
  }
  if (input.torrentFile !== undefined) {
    if (!(input.torrentFile instanceof Uint8Array)) {
      throw new ChillyError('invalid_torrent', 'torrentFile must be a Buffer or Uint8Array.');
    }
    if (input.torrentFile.byteLength > MAX_TORRENT_FILE_BYTES) {
      throw new ChillyError('invalid_torrent', `The .torrent data is larger than ${MAX_TORRENT_FILE_BYTES} bytes.`);
    }
    return parseTorrentBytes(input.torrentFile);
  }
  const urn = typeof input.sourceUrn === 'string' ? input.sourceUrn.trim() : '';
  if (urn.length === 0) {
    throw new ChillyError(
      'invalid_source',
      'A torrent job needs a sourceUrn (magnet URI, info-hash or .torrent path) or torrentFile bytes.',
    );
  }
  if (/^magnet:/i.test(urn)) return parseMagnet(urn);
  if (isBareInfoHash(urn)) return parseMagnet(`magnet:?xt=urn:btih:${urn}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(urn)) {
    throw new ChillyError(
      'invalid_source',
      'Remote .torrent URLs are not supported yet: download the file and pass its path or bytes.',
    );
  }
  return parseTorrentBytes(await readTorrentFile(urn));
}

/** How a job names its source: the URN it was given, or `torrent:<infoHash>` when added from bytes. */
export function sourceUrnOf(input: Pick<JobInput, 'sourceUrn' | 'torrentFile'>, infoHash: string): string {
  return input.torrentFile === undefined ? (input.sourceUrn ?? '').trim() : `torrent:${infoHash}`;
}

/** A job's files from the torrent's disk layout: where each is on disk, and its torrent name when that differs. */
export function jobFilesOf(layout: readonly LayoutFile[]): JobFile[] {
  return layout.map((file) => ({
    path: file.diskPath,
    length: file.length,
    ...(file.torrentPath === file.diskPath ? {} : { torrentPath: file.torrentPath }),
  }));
}

/** A new `queued` job for a resolved source; `parsed` (when known) fills in name, files and size. */
export function newJobFromSource(options: {
  input: Pick<JobInput, 'id' | 'sourceUrn' | 'torrentFile'>;
  source: TorrentSource;
  parsed: ParsedTorrent | undefined;
  savePath: string;
}): Job {
  const { input, source, parsed, savePath } = options;
  const now = new Date().toISOString();
  const name = parsed?.name ?? source.name;
  return {
    id: input.id,
    sourceType: 'torrent',
    sourceUrn: sourceUrnOf(input, source.infoHash),
    status: 'queued',
    infoHash: source.infoHash,
    ...(name === undefined ? {} : { name }),
    ...(parsed?.info === undefined ? {} : { files: jobFilesOf(planFileLayout(parsed.info)) }),
    savePath,
    progress: { ...emptyProgress(), bytesTotal: parsed?.length ?? null },
    sequential: true,
    createdAt: now,
    updatedAt: now,
  };
}
