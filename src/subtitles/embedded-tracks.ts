/**
 * Text subtitle tracks inside a video file (an MKV's SubRip or ASS tracks, an MP4's mov_text),
 * listed with ffprobe and converted to WebVTT with ffmpeg, when they are installed (Debian's
 * `ffmpeg` package; optional: without it a film offers only its subtitle files). Bitmap tracks
 * (PGS, DVD/VobSub) are not text and are left out. Each run is bounded in time and output and
 * started without a shell; the file is only read.
 */
import { execFile } from 'node:child_process';
import { ChillyError } from '../domain/errors.js';
import { languageFromName } from './subtitle-language.js';

/** Codecs ffmpeg can write as WebVTT (text tracks). */
const TEXT_CODECS = new Set(['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text']);
const PROBE_TIMEOUT_MS = 15_000;
const EXTRACT_TIMEOUT_MS = 120_000;
/** Far above any real subtitle track; a larger output is not one. */
const MAX_OUTPUT_BYTES = 20 * 1024 * 1024;

export interface EmbeddedTextTrack {
  /** ffmpeg's stream index in the file (`-map 0:<stream>`). */
  stream: number;
  codec: string;
  /** From the track's language tag (ISO 639-2, e.g. `eng`), as code (639-1 when there is one) and name. */
  language: { code: string; name: string } | null;
  /** The track's title tag ("English SDH", "Commentary"), if any. */
  title: string | null;
  forced: boolean;
  sdh: boolean;
}

function run(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; missing: boolean; error?: Error }> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', windowsHide: true },
      (error, stdout) => {
        const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
        resolve({ stdout: String(stdout), missing, ...(error === null ? {} : { error }) });
      },
    );
  });
}

/** Whether ffprobe and ffmpeg are installed (for `chilly doctor` and before offering embedded tracks). */
export async function mediaToolsVersion(): Promise<string | null> {
  const { stdout, missing, error } = await run('ffmpeg', ['-hide_banner', '-version'], PROBE_TIMEOUT_MS);
  if (missing || error !== undefined) return null;
  return stdout.split('\n')[0]?.trim() ?? 'ffmpeg';
}

interface ProbeStream {
  index?: unknown;
  codec_name?: unknown;
  codec_type?: unknown;
  tags?: Record<string, unknown>;
  disposition?: Record<string, unknown>;
}

/** The text subtitle tracks of `file`; empty when there are none or ffprobe is not installed. */
export async function probeTextTracks(file: string): Promise<EmbeddedTextTrack[]> {
  const { stdout, error } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      's',
      '-show_entries',
      'stream=index,codec_name,codec_type:stream_tags:stream_disposition',
      '-of',
      'json',
      '--',
      file,
    ],
    PROBE_TIMEOUT_MS,
  );
  if (error !== undefined) return [];
  let streams: ProbeStream[];
  try {
    const parsed = JSON.parse(stdout) as { streams?: unknown };
    streams = Array.isArray(parsed.streams) ? (parsed.streams as ProbeStream[]) : [];
  } catch {
    return [];
  }
  const tracks: EmbeddedTextTrack[] = [];
  for (const stream of streams) {
    const codec = typeof stream.codec_name === 'string' ? stream.codec_name : '';
    if (typeof stream.index !== 'number' || !TEXT_CODECS.has(codec)) continue;
    const tags = stream.tags ?? {};
    const tag = (name: string) => {
      const value = tags[name] ?? tags[name.toUpperCase()];
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
    };
    const title = tag('title');
    const languageTag = tag('language');
    const disposition = stream.disposition ?? {};
    const flag = (name: string) => disposition[name] === 1;
    tracks.push({
      stream: stream.index,
      codec,
      language: languageTag === null || languageTag === 'und' ? null : languageFromName(`track.${languageTag}.srt`),
      title,
      forced: flag('forced') || /\bforced\b/i.test(title ?? ''),
      sdh: flag('hearing_impaired') || /\b(sdh|cc)\b/i.test(title ?? ''),
    });
  }
  return tracks;
}

/** Track `stream` of `file` as WebVTT (ffmpeg's own converter, UTF-8). */
export async function extractWebVtt(file: string, stream: number): Promise<string> {
  if (!Number.isSafeInteger(stream) || stream < 0) {
    throw new ChillyError('subtitle_not_found', `No subtitle track ${stream} in this file.`);
  }
  const { stdout, missing, error } = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-i', file, '-map', `0:${stream}`, '-f', 'webvtt', '-'],
    EXTRACT_TIMEOUT_MS,
  );
  if (missing) {
    throw new ChillyError('subtitle_unreadable', 'Reading subtitles inside a video needs ffmpeg (apt install ffmpeg).');
  }
  if (error !== undefined || !stdout.startsWith('WEBVTT')) {
    throw new ChillyError('subtitle_unreadable', `The subtitle track ${stream} could not be read from the video.`);
  }
  return stdout;
}
