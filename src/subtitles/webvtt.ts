/**
 * Subtitle files to WebVTT, the one format every player can be given (`<track>` in browsers and
 * Electron, and external players): decodes the bytes whatever their charset, reads SRT, ASS/SSA
 * or WebVTT, and writes clean WebVTT text.
 *
 * - Charsets: a BOM (UTF-8, UTF-16, UTF-32) decides; else valid UTF-8 stays UTF-8; else the
 *   charset is detected (`chardet`: Windows-1252, ISO-8859-x, Windows-1251, KOI8-R, Shift_JIS…)
 *   and decoded with `iconv-lite`.
 * - ASS/SSA is read by `ass-compiler`: Dialogue events only, override tags dropped (italic, bold
 *   and underline kept as WebVTT tags), `\N`/`\n` line breaks, `\h` spaces, drawings dropped.
 * - SRT and WebVTT cues are read here rather than by `subsrt-ts`, whose 2.1.2 parser drops a cue
 *   when its number or timing line has trailing spaces, reads every cue of a file without cue
 *   numbers as nothing, reads `00:00:01,5` as 5 ms, and takes no hours past 99. Real files do all
 *   of these. Cue text keeps `<i>`, `<b>`, `<u>`; other formatting (`<font>`, `{\an8}`, WebVTT
 *   classes and voices) is dropped, and anything else is shown as the text it is, escaped.
 * - Output: `WEBVTT`, then cues sorted by start, `HH:MM:SS.mmm --> HH:MM:SS.mmm`, no blank line or
 *   `-->` in cue text, `&`, `<`, `>` escaped. Cues that end before they start are dropped.
 *
 * Anything that cannot be read (too large, no cue in a non-empty file, a parser failure) raises
 * ChillyError `subtitle_unreadable` naming the file and the reason; nothing else is ever thrown.
 */
import { isUtf8 } from 'node:buffer';
import { compile, parse } from 'ass-compiler';
import { analyse } from 'chardet';
import iconv from 'iconv-lite';
import { ChillyError } from '../domain/errors.js';
import { MAX_SUBTITLE_BYTES, type SubtitleFormat } from './subtitle-files.js';

/** Charset detection looks at this much text at most (a whole 10 MiB file takes chardet seconds). */
const DETECTION_SAMPLE_BYTES = 256 * 1024;

/** One run of cue text with one formatting. */
interface Span {
  text: string;
  italic: boolean;
  bold: boolean;
  underline: boolean;
}

/** A cue as read, times in milliseconds, text as lines of spans. */
interface Cue {
  start: number;
  end: number;
  lines: Span[][];
}

function unreadable(fileName: string, reason: string, cause?: unknown): ChillyError {
  const name = fileName.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 200) || 'file';
  return new ChillyError('subtitle_unreadable', `The subtitle ${name} ${reason}`, cause ? { cause } : undefined);
}

function tooLarge(bytes: Uint8Array): boolean {
  return bytes.length > MAX_SUBTITLE_BYTES;
}

// ---------------------------------------------------------------------------------------------
// Charsets

const BOMS: readonly {
  bytes: readonly number[];
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';
}[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'utf-8' },
  // UTF-32 LE's BOM starts like UTF-16 LE's: test it first.
  { bytes: [0xff, 0xfe, 0x00, 0x00], encoding: 'utf-32le' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], encoding: 'utf-32be' },
  { bytes: [0xff, 0xfe], encoding: 'utf-16le' },
  { bytes: [0xfe, 0xff], encoding: 'utf-16be' },
];

/** UTF-16 without a BOM: text whose every other byte is zero. */
function bomlessUtf16(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const length = Math.min(bytes.length, 4096) & ~1;
  if (length < 8) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < length; i += 2) {
    if (bytes[i] === 0) evenZeros++;
    if (bytes[i + 1] === 0) oddZeros++;
  }
  const pairs = length / 2;
  if (oddZeros > pairs * 0.4 && evenZeros < pairs * 0.05) return 'utf-16le';
  if (evenZeros > pairs * 0.4 && oddZeros < pairs * 0.05) return 'utf-16be';
  return null;
}

/** Up to DETECTION_SAMPLE_BYTES of the lines that hold non-ASCII bytes: what tells charsets apart. */
function detectionSample(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= DETECTION_SAMPLE_BYTES) return bytes;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let i = 0;
  while (i < bytes.length && size < DETECTION_SAMPLE_BYTES) {
    if ((bytes[i] ?? 0) < 0x80) {
      i++;
      continue;
    }
    const start = bytes.lastIndexOf(0x0a, i) + 1;
    let end = bytes.indexOf(0x0a, i);
    if (end < 0) end = bytes.length;
    const line = bytes.subarray(start, Math.min(end + 1, start + DETECTION_SAMPLE_BYTES - size));
    chunks.push(line);
    size += line.length;
    i = end + 1;
  }
  if (size === 0) return bytes.subarray(0, DETECTION_SAMPLE_BYTES);
  const sample = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    sample.set(chunk, at);
    at += chunk.length;
  }
  return sample;
}

/** Bytes 0x80-0x9F are C1 controls in ISO-8859-x, never text: their presence means a Windows code page. */
function hasC1Bytes(bytes: Uint8Array): boolean {
  return bytes.some((byte) => byte >= 0x80 && byte <= 0x9f);
}

type Charset = Parameters<typeof iconv.decode>[1];

/** The legacy charset of bytes that are not UTF-8, as an iconv-lite encoding name (lower case). */
function detectLegacyCharset(bytes: Uint8Array): Charset {
  const sample = detectionSample(bytes);
  const c1 = hasC1Bytes(sample);
  for (const match of analyse(sample)) {
    const name = match.name.toLowerCase();
    if (name === 'utf-8') return 'utf-8';
    // Without a BOM (handled before) these are guesses on bytes that are not UTF-16/32 text.
    if (name.startsWith('utf-') || name.startsWith('iso-2022') || name === 'iso_2022') continue;
    // As browsers do: "ISO-8859-1" and "-9" text is read as its Windows superset.
    if (name === 'iso-8859-1') return 'windows-1252';
    if (name === 'iso-8859-9') return 'windows-1254';
    if (c1 && name.startsWith('iso-8859-')) continue;
    if (iconv.encodingExists(name)) return name;
  }
  return 'windows-1252';
}

function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Subtitle bytes as text, and the charset they were read as ('utf-8', 'utf-16le',
 * 'windows-1252', 'iso-8859-2', 'windows-1251', …). A BOM decides and is removed; valid UTF-8
 * stays UTF-8; anything else is detected. Bytes over MAX_SUBTITLE_BYTES raise `subtitle_unreadable`.
 */
export function decodeSubtitleText(bytes: Uint8Array): { text: string; encoding: string } {
  if (tooLarge(bytes)) throw unreadable('file', 'is larger than 10 MiB: it is not a subtitle.');
  for (const bom of BOMS) {
    if (bom.bytes.every((byte, i) => bytes[i] === byte)) {
      return { text: withoutBom(iconv.decode(bytes.subarray(bom.bytes.length), bom.encoding)), encoding: bom.encoding };
    }
  }
  const utf16 = bomlessUtf16(bytes);
  if (utf16) return { text: withoutBom(iconv.decode(bytes, utf16)), encoding: utf16 };
  if (isUtf8(bytes)) return { text: withoutBom(new TextDecoder('utf-8').decode(bytes)), encoding: 'utf-8' };
  const encoding = detectLegacyCharset(bytes);
  const text = encoding === 'utf-8' ? new TextDecoder('utf-8').decode(bytes) : iconv.decode(bytes, encoding);
  return { text: withoutBom(text), encoding };
}

// ---------------------------------------------------------------------------------------------
// SRT and WebVTT

const TIMESTAMP = String.raw`(?:(\d{1,5}):)?(\d{1,2}):(\d{1,2})(?:[.,:](\d{1,9}))?`;
const TIMING_LINE = new RegExp(String.raw`^[ \t]*${TIMESTAMP}[ \t]*-->[ \t]*${TIMESTAMP}(?:[ \t].*)?$`);

function milliseconds(hours?: string, minutes?: string, seconds?: string, fraction?: string): number {
  const ms = Number((fraction ?? '').slice(0, 3).padEnd(3, '0'));
  return ((Number(hours ?? 0) * 60 + Number(minutes ?? 0)) * 60 + Number(seconds ?? 0)) * 1000 + ms;
}

function timingOf(line: string): { start: number; end: number } | null {
  const match = TIMING_LINE.exec(line);
  if (!match) return null;
  return {
    start: milliseconds(match[1], match[2], match[3], match[4]),
    end: milliseconds(match[5], match[6], match[7], match[8]),
  };
}

/**
 * Cues of SRT or WebVTT text. A cue's text runs from its timing line to the next blank line
 * (WebVTT), or to the next timing line less the next cue's number (SRT, where stray blank
 * lines inside a cue are common).
 */
function textCues(text: string, dialect: 'srt' | 'vtt'): { start: number; end: number; text: string }[] {
  const lines = text.split('\n');
  const cues: { start: number; end: number; text: string }[] = [];
  let i = 0;
  while (i < lines.length) {
    const timing = timingOf(lines[i] ?? '');
    i++;
    if (!timing) continue;
    const body: string[] = [];
    while (i < lines.length) {
      const line = lines[i] ?? '';
      if (timingOf(line)) break;
      if (dialect === 'vtt' && line.trim() === '') break;
      body.push(line);
      i++;
    }
    if (dialect === 'srt' && i < lines.length) {
      // The next cue's number, just before its timing line.
      while (body.length > 0 && (body.at(-1) ?? '').trim() === '') body.pop();
      if (/^\s*\d+\s*$/.test(body.at(-1) ?? '')) body.pop();
    }
    cues.push({ ...timing, text: body.join('\n') });
  }
  return cues;
}

const ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|nbsp|lrm|rlm|quot|apos));/g;
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  nbsp: '\u00a0',
  lrm: '\u200e',
  rlm: '\u200f',
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, decimal?: string, hex?: string, name?: string) => {
    if (name) return NAMED_ENTITIES[name] ?? whole;
    const code = decimal ? Number(decimal) : Number.parseInt(hex ?? '', 16);
    const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
    return valid ? String.fromCodePoint(code) : '\ufffd';
  });
}

/** Markup in SRT and WebVTT cue text: HTML-like tags, WebVTT timestamps, and ASS override blocks (`{\an8}`). */
const MARKUP = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:[\s.][^<>]*)?)>|<\d[\d:.]*>|\{\\[^{}\n]*\}/g;
/** Formatting tags dropped (their text kept): SRT's font and strike-through, WebVTT's classes, voices, languages, ruby. */
const DROPPED_TAGS = new Set(['font', 's', 'strike', 'span', 'c', 'v', 'lang', 'ruby', 'rt', 'rp']);
const STYLE_TAGS: Readonly<Record<string, 'italic' | 'bold' | 'underline'>> = {
  i: 'italic',
  em: 'italic',
  b: 'bold',
  strong: 'bold',
  u: 'underline',
};

/** SRT or WebVTT cue text as lines of spans. In WebVTT, character references are decoded first. */
function markupLines(text: string, dialect: 'srt' | 'vtt'): Span[][] {
  const depth = { italic: 0, bold: 0, underline: 0 };
  const lines: Span[][] = [[]];
  const push = (literal: string) => {
    const parts = (dialect === 'vtt' ? decodeEntities(literal) : literal).split('\n');
    parts.forEach((part, n) => {
      if (n > 0) lines.push([]);
      if (part === '') return;
      lines
        .at(-1)
        ?.push({ text: part, italic: depth.italic > 0, bold: depth.bold > 0, underline: depth.underline > 0 });
    });
  };
  let last = 0;
  for (const match of text.matchAll(MARKUP)) {
    push(text.slice(last, match.index));
    last = match.index + match[0].length;
    const [whole, closing, rawName] = match;
    if (whole.startsWith('{')) {
      for (const [, style, on] of whole.matchAll(/\\([ibu])([01])(?![0-9])/g)) {
        const key = style === 'i' ? 'italic' : style === 'b' ? 'bold' : 'underline';
        depth[key] = on === '1' ? Math.max(depth[key], 1) : 0;
      }
      continue;
    }
    if (rawName === undefined) continue; // a WebVTT timestamp tag
    const name = rawName.toLowerCase();
    const style = STYLE_TAGS[name];
    if (style) depth[style] = Math.max(0, depth[style] + (closing ? -1 : 1));
    else if (name === 'br' && !closing) push('\n');
    else if (!DROPPED_TAGS.has(name)) push(whole);
  }
  push(text.slice(last));
  return lines;
}

function readTextCues(text: string, dialect: 'srt' | 'vtt'): Cue[] {
  return textCues(text, dialect).map((cue) => ({
    start: cue.start,
    end: cue.end,
    lines: markupLines(cue.text, dialect),
  }));
}

// ---------------------------------------------------------------------------------------------
// ASS and SSA

const DEFAULT_EVENT_FORMAT = 'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text';

/** ass-compiler needs the [Events] section's Format line; some files leave it out. */
function withEventFormat(text: string): string {
  const events = /^[ \t]*\[Events\][ \t]*$/im.exec(text);
  if (!events) return text;
  const after = text.slice(events.index + events[0].length);
  const nextSection = after.search(/^[ \t]*\[[^\]\n]*\][ \t]*$/m);
  const section = nextSection < 0 ? after : after.slice(0, nextSection);
  if (/^[ \t]*Format[ \t]*:/im.test(section)) return text;
  const at = events.index + events[0].length;
  return `${text.slice(0, at)}\n${DEFAULT_EVENT_FORMAT}${text.slice(at)}`;
}

function assText(text: string): string {
  return text.replace(/\\[Nn]/g, '\n').replace(/\\h/g, ' ');
}

/** Seconds (ass-compiler leaves a missing or unreadable time null) to milliseconds. */
function assTime(seconds: unknown): number {
  return typeof seconds === 'number' ? Math.round(seconds * 1000) : Number.NaN;
}

function isOn(value: unknown): boolean {
  return typeof value === 'number' && (value === 1 || value >= 600);
}

function readAssCues(text: string): Cue[] {
  const source = withEventFormat(text);
  const compiled = compile(source, {});
  if (compiled.dialogues.length === 0) {
    // compile() leaves out dialogues that end before they start: they were read all the same.
    return parse(source).events.dialogue.map((event) => ({
      start: assTime(event.Start),
      end: assTime(event.End),
      lines: [],
    }));
  }
  const cues: Cue[] = [];
  for (const dialogue of compiled.dialogues) {
    const lines: Span[][] = [[]];
    for (const slice of dialogue.slices) {
      const base = compiled.styles[slice.style]?.tag;
      const state = { italic: isOn(base?.i), bold: isOn(base?.b), underline: isOn(base?.u) };
      for (const fragment of slice.fragments) {
        const tag = fragment.tag as { i?: unknown; b?: unknown; u?: unknown };
        if (tag.i !== undefined) state.italic = isOn(tag.i);
        if (tag.b !== undefined) state.bold = isOn(tag.b);
        if (tag.u !== undefined) state.underline = isOn(tag.u);
        if (fragment.drawing) continue;
        assText(String(fragment.text ?? ''))
          .split('\n')
          .forEach((part, n) => {
            if (n > 0) lines.push([]);
            if (part !== '') lines.at(-1)?.push({ text: part, ...state });
          });
      }
    }
    cues.push({ start: assTime(dialogue.start), end: assTime(dialogue.end), lines });
  }
  return cues;
}

// ---------------------------------------------------------------------------------------------
// WebVTT output

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Control characters and unpaired surrogates out, tabs to spaces. */
function cleanText(text: string): string {
  return text
    .replace(/\t/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** One line of cue text in WebVTT, or null when it shows nothing. */
function renderLine(spans: readonly Span[]): string | null {
  const cleaned = spans.map((span) => ({ ...span, text: cleanText(span.text) })).filter((span) => span.text !== '');
  const first = cleaned[0];
  const last = cleaned.at(-1);
  if (first) first.text = first.text.trimStart();
  if (last) last.text = last.text.trimEnd();
  const visible = cleaned.filter((span) => span.text !== '');
  if (!visible.some((span) => span.text.trim() !== '')) return null;
  const merged: Span[] = [];
  for (const span of visible) {
    const previous = merged.at(-1);
    if (
      previous &&
      previous.italic === span.italic &&
      previous.bold === span.bold &&
      previous.underline === span.underline
    ) {
      previous.text += span.text;
    } else {
      merged.push({ ...span });
    }
  }
  return merged
    .map((span) => {
      const tags = [...(span.bold ? ['b'] : []), ...(span.italic ? ['i'] : []), ...(span.underline ? ['u'] : [])];
      const open = tags.map((tag) => `<${tag}>`).join('');
      const close = tags
        .reverse()
        .map((tag) => `</${tag}>`)
        .join('');
      return `${open}${escapeText(span.text)}${close}`;
    })
    .join('');
}

function timestamp(ms: number): string {
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor(ms / 60_000) % 60;
  const seconds = Math.floor(ms / 1000) % 60;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(ms % 1000, 3)}`;
}

function renderWebVtt(cues: readonly Cue[]): string {
  const kept = cues
    .filter((cue) => Number.isSafeInteger(cue.start) && Number.isSafeInteger(cue.end))
    .filter((cue) => cue.start >= 0 && cue.end > cue.start)
    .map((cue, order) => ({ ...cue, order }))
    .sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
  const blocks: string[] = [];
  const seen = new Set<string>();
  for (const cue of kept) {
    const lines = cue.lines.map(renderLine).filter((line): line is string => line !== null);
    if (lines.length === 0) continue;
    const block = `${timestamp(cue.start)} --> ${timestamp(cue.end)}\n${lines.join('\n')}`;
    // ASS files often repeat a line on several layers (outline, glow): show it once.
    if (seen.has(block)) continue;
    seen.add(block);
    blocks.push(block);
  }
  return blocks.length === 0 ? 'WEBVTT\n' : `WEBVTT\n\n${blocks.join('\n\n')}\n`;
}

// ---------------------------------------------------------------------------------------------

type Reader = (text: string) => Cue[];

/** SRT and WebVTT differ in where a cue's text ends: the `WEBVTT` signature tells which a file is. */
function readSrtOrVtt(text: string): Cue[] {
  return readTextCues(text, /^\s*WEBVTT(?:[ \t\n]|$)/.test(text) ? 'vtt' : 'srt');
}

const READERS: Readonly<Record<SubtitleFormat, Reader>> = {
  srt: readSrtOrVtt,
  vtt: readSrtOrVtt,
  ass: readAssCues,
  ssa: readAssCues,
};

/** The declared format first; files named for one format but written in another are common. */
const FALLBACKS: Readonly<Record<SubtitleFormat, readonly SubtitleFormat[]>> = {
  srt: ['srt', 'ass'],
  vtt: ['vtt', 'ass'],
  ass: ['ass', 'srt'],
  ssa: ['ssa', 'srt'],
};

const FORMAT_NAMES: Readonly<Record<SubtitleFormat, string>> = {
  srt: 'SRT',
  vtt: 'WebVTT',
  ass: 'ASS',
  ssa: 'SSA',
};

/** Cues with a timing, or null when the format finds none. */
function readCues(text: string, format: SubtitleFormat): Cue[] | null {
  const cues = READERS[format](text).filter((cue) => Number.isFinite(cue.start) && Number.isFinite(cue.end));
  return cues.length > 0 ? cues : null;
}

function convert(bytes: Uint8Array, format: SubtitleFormat, fileName: string): string {
  if (tooLarge(bytes)) throw unreadable(fileName, 'is larger than 10 MiB: it is not a subtitle.');
  if (!Object.hasOwn(READERS, format)) throw unreadable(fileName, `has an unknown format (${String(format)}).`);
  const text = decodeSubtitleText(bytes).text.replace(/\r\n?/g, '\n');
  if (text.trim() === '') return 'WEBVTT\n';
  let failure: unknown;
  for (const candidate of FALLBACKS[format]) {
    try {
      const cues = readCues(text, candidate);
      if (cues) return renderWebVtt(cues);
    } catch (cause) {
      // Only the declared format's failure is worth reporting: the others were guesses.
      if (candidate === format) failure = cause;
    }
  }
  if (failure !== undefined) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw unreadable(fileName, `could not be read as ${FORMAT_NAMES[format]}: ${reason}`, failure);
  }
  throw unreadable(fileName, `has no cue that ${FORMAT_NAMES[format]} could read.`);
}

/**
 * A subtitle file's bytes as WebVTT text. `format` is the file's format by its extension (the
 * content decides when the file is in another one); `fileName` names it in errors.
 * Throws only ChillyError `subtitle_unreadable`.
 */
export function toWebVtt(bytes: Uint8Array, format: SubtitleFormat, fileName: string): string {
  try {
    return convert(bytes, format, fileName);
  } catch (cause) {
    if (cause instanceof ChillyError && cause.code === 'subtitle_unreadable') throw cause;
    throw unreadable(String(fileName), 'could not be read.', cause);
  }
}
