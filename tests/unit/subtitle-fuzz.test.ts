import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { ChillyError } from '../../src/domain/errors.js';
import { isVideoExtension } from '../../src/domain/media-types.js';
import { findSubtitles, SUBTITLE_FORMATS, type SubtitleFormat } from '../../src/subtitles/subtitle-files.js';
import { languageFromName, subtitleFlags } from '../../src/subtitles/subtitle-language.js';
import { toWebVtt } from '../../src/subtitles/webvtt.js';

interface WebVttParser {
  parse(text: string, mode?: string): { errors: { message: string; line: number }[] };
}
const { WebVTTParser } = createRequire(import.meta.url)('webvtt-parser') as { WebVTTParser: new () => WebVttParser };
const parser = new WebVTTParser();

const RUNS = { seed: 1718, numRuns: 300 };

/** toWebVtt either gives WebVTT the validator accepts (cue text markup included) or throws subtitle_unreadable. */
function assertWebVttOrUnreadable(bytes: Uint8Array, format: SubtitleFormat): 'vtt' | 'unreadable' {
  let vtt: string;
  try {
    vtt = toWebVtt(bytes, format, `fuzz.${format}`);
  } catch (error) {
    assert.ok(error instanceof ChillyError, `not a ChillyError: ${String(error)}`);
    assert.equal(error.code, 'subtitle_unreadable');
    return 'unreadable';
  }
  assert.equal(typeof vtt, 'string');
  for (const mode of ['metadata', 'subtitles']) {
    assert.deepEqual(parser.parse(vtt, mode).errors, [], `${mode}:\n${vtt}`);
  }
  return 'vtt';
}

const format = fc.constantFrom(...SUBTITLE_FORMATS);

/** Text that is hard on a converter: markup, arrows, entities, blank lines, controls, odd Unicode. */
const cueText = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'grapheme', maxLength: 10 }),
      fc.constantFrom(
        '-->',
        '<i>',
        '</i>',
        '<b>',
        '</b>',
        '<u>',
        '</u>',
        '<font color="red">',
        '</font>',
        '<script>',
        '<v Bob>',
        '<c.x>',
        '<00:00:01.000>',
        '&',
        '&amp;',
        '&#0;',
        '&#xD800;',
        '{\\an8}',
        '{\\i1}',
        '{\\p1}m 0 0 l 1 1{\\p0}',
        '\\N',
        '\\h',
        '\n',
        '\n\n',
        '\r',
        '\t',
        '\u0000',
        '\ufeff',
        '\ud800',
        'WEBVTT',
        'NOTE',
        '1',
        '00:00:01,000 --> 00:00:02,000',
      ),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));

const time = fc.nat({ max: 100 * 3_600_000 });
const cues = fc.array(fc.tuple(time, time, cueText), { minLength: 1, maxLength: 12 });

function srtTime(ms: number, separator = ','): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

function assTime(ms: number): string {
  const cs = Math.floor(ms / 10);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
}

const srtText = cues.map((list) =>
  list.map(([a, b, text], i) => `${i + 1}\r\n${srtTime(a)} --> ${srtTime(b)}\r\n${text}\r\n`).join('\r\n'),
);

const vttText = cues.map(
  (list) =>
    `WEBVTT\n\n${list.map(([a, b, text], i) => `c${i}\n${srtTime(a, '.')} --> ${srtTime(b, '.')} line:0\n${text}\n`).join('\n')}`,
);

const assText = cues.map((list) =>
  [
    '[Script Info]',
    'ScriptType: v4.00+',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    'Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,-1,0,0,100,100,0,0,1,2,2,2,10,10,10,1',
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    ...list.map(
      ([a, b, text]) => `Dialogue: 0,${assTime(a)},${assTime(b)},Default,,0,0,0,,${text.replace(/\r?\n|\r/g, '\\N')}`,
    ),
  ].join('\r\n'),
);

/** Byte-level damage: flips, insertions of structural bytes, deletions, truncation. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      '\n',
      '\r\n\r\n',
      '-->',
      ':',
      ',',
      '.',
      '{',
      '}',
      '\\',
      '[Events]',
      'Dialogue: ',
      '\u00ff\u00fe',
      '9',
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const change of mutations) {
    const at = out.length === 0 ? 0 : change.at % (out.length + 1);
    if (change.kind === 'flip' && at < out.length) out[at] = change.value;
    if (change.kind === 'insert')
      out = Buffer.concat([out.subarray(0, at), Buffer.from(change.text, 'latin1'), out.subarray(at)]);
    if (change.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + change.length)]);
    if (change.kind === 'truncate') out = out.subarray(0, at);
  }
  return out;
}

const charset = fc.constantFrom('utf8', 'utf-16le', 'utf-16be', 'windows-1252', 'windows-1251', 'iso-8859-2', 'koi8-r');

function encode(text: string, name: string): Uint8Array {
  // Legacy charsets cannot hold every character: iconv-lite writes '?' for those, which is fine here.
  return iconv.encode(text, name, { addBOM: name.startsWith('utf-16') });
}

test('fuzz: arbitrary bytes are WebVTT the validator accepts, or subtitle_unreadable', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), format, (bytes, declared) => {
      assertWebVttOrUnreadable(bytes, declared);
    }),
    RUNS,
  );
});

test('fuzz: arbitrary text (any charset) is WebVTT the validator accepts, or subtitle_unreadable', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 600 }), charset, format, (text, name, declared) => {
      assertWebVttOrUnreadable(encode(text, name), declared);
    }),
    RUNS,
  );
});

test('fuzz: generated SRT, WebVTT and ASS with hostile cue text always give valid WebVTT', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        srtText.map((text) => [text, 'srt'] as const),
        vttText.map((text) => [text, 'vtt'] as const),
        assText.map((text) => [text, 'ass'] as const),
      ),
      charset,
      ([text, declared], name) => {
        assert.equal(assertWebVttOrUnreadable(encode(text, name), declared), 'vtt');
      },
    ),
    RUNS,
  );
});

test('fuzz: damaged SRT, WebVTT and ASS are WebVTT the validator accepts, or subtitle_unreadable', () => {
  const outcomes = { vtt: 0, unreadable: 0 };
  fc.assert(
    fc.property(
      fc.oneof(
        srtText.map((text) => [text, 'srt'] as const),
        vttText.map((text) => [text, 'vtt'] as const),
        assText.map((text) => [text, 'ass'] as const),
        assText.map((text) => [text, 'ssa'] as const),
      ),
      charset,
      fc.array(mutation, { minLength: 1, maxLength: 8 }),
      ([text, declared], name, mutations) => {
        outcomes[assertWebVttOrUnreadable(mutate(encode(text, name), mutations), declared)]++;
      },
    ),
    RUNS,
  );
  // Much damage leaves cues to read (a cut or a shifted UTF-16 byte may not): the property is not met by refusing everything.
  assert.ok(outcomes.vtt >= RUNS.numRuns / 4, JSON.stringify(outcomes));
});

/** Paths as torrents hold them, and as nobody should. */
const pathComponent = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('Subs', 'subtitles', 'Sample', 'Movie', 'Movie.2019', '..', '.', '', 'English', 'pt-BR', '2_English'),
);
const extension = fc.constantFrom('.srt', '.ass', '.ssa', '.vtt', '.SRT', '.mkv', '.mp4', '.avi', '.nfo', '', '.');
const torrentPath = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .tuple(
      fc.array(pathComponent, { maxLength: 4 }),
      pathComponent,
      fc.constantFrom('', '.en', '.fre.forced', '.sdh'),
      extension,
    )
    .map(([folders, stem, tag, ext]) => [...folders, `${stem}${tag}${ext}`].join('/')),
);
const fileLength = fc.oneof(
  fc.nat({ max: 20 * 1024 * 1024 }),
  fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, 10 * 1024 * 1024, 10 * 1024 * 1024 + 1),
);

test('fuzz: findSubtitles never throws, and its indexes are in range', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ path: torrentPath, length: fileLength }), { maxLength: 25 }), (files) => {
      const tracks = findSubtitles(files);
      const indexes = new Set<number>();
      let previous: string | undefined;
      for (const track of tracks) {
        const file = files[track.index];
        assert.ok(file, `index ${track.index} out of range`);
        assert.equal(file.path, track.path);
        assert.ok(file.length > 0 && file.length <= 10 * 1024 * 1024);
        assert.ok(track.path.toLowerCase().endsWith(`.${track.format}`));
        assert.ok(!indexes.has(track.index), 'each file once');
        indexes.add(track.index);
        if (track.videoIndex !== null) {
          const video = files[track.videoIndex];
          assert.ok(video, `videoIndex ${track.videoIndex} out of range`);
          const dot = video.path.lastIndexOf('.');
          assert.ok(isVideoExtension(video.path.slice(dot).toLowerCase()), video.path);
        }
        assert.ok(track.label.length > 0);
        if (previous !== undefined) assert.ok(previous <= track.path, 'ordered by path');
        previous = track.path;
      }
    }),
    { seed: 1718, numRuns: 1_000 },
  );
});

test('fuzz: names never make languageFromName or subtitleFlags throw', () => {
  fc.assert(
    fc.property(torrentPath, fc.option(fc.string({ maxLength: 30 }), { nil: undefined }), (name, folder) => {
      const language = languageFromName(name, folder);
      if (language) assert.ok(/^[a-z]{2,3}$/.test(language.code) && language.name.length > 0, JSON.stringify(language));
      const flags = subtitleFlags(name);
      assert.equal(typeof flags.forced, 'boolean');
      assert.equal(typeof flags.sdh, 'boolean');
    }),
    { seed: 1718, numRuns: 1_000 },
  );
});
