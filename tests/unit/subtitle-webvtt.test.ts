import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { ChillyError } from '../../src/domain/errors.js';
import { MAX_SUBTITLE_BYTES } from '../../src/subtitles/subtitle-files.js';
import { decodeSubtitleText, toWebVtt } from '../../src/subtitles/webvtt.js';

/** webvtt-parser (CommonJS, no types): the W3C validator's parser. */
interface WebVttParser {
  parse(
    text: string,
    mode?: string,
  ): { cues: { startTime: number; endTime: number; text: string }[]; errors: { message: string; line: number }[] };
}
const { WebVTTParser } = createRequire(import.meta.url)('webvtt-parser') as { WebVTTParser: new () => WebVttParser };

/** Parses `vtt` as the validator does, in metadata mode and in subtitle mode (which also checks cue text markup). */
function assertValidWebVtt(vtt: string): { start: number; end: number; text: string }[] {
  const parser = new WebVTTParser();
  for (const mode of ['metadata', 'subtitles']) {
    const { errors } = parser.parse(vtt, mode);
    assert.deepEqual(errors, [], `${mode} errors in:\n${vtt}`);
  }
  assert.ok(vtt.startsWith('WEBVTT\n'), vtt);
  assert.ok(!vtt.includes('\r'), 'LF line ends only');
  return parser.parse(vtt, 'metadata').cues.map((cue) => ({ start: cue.startTime, end: cue.endTime, text: cue.text }));
}

function srt(cues: readonly (readonly [string, string, string])[], eol = '\r\n'): string {
  return cues.map(([start, end, text], i) => `${i + 1}${eol}${start} --> ${end}${eol}${text}${eol}`).join(eol);
}

function assertUnreadable(run: () => unknown, fileName: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ChillyError, String(error));
    assert.equal(error.code, 'subtitle_unreadable');
    assert.ok(error.message.includes(fileName), error.message);
    return true;
  });
}

describe('decodeSubtitleText', () => {
  test('BOMs decide, and are removed', () => {
    const text = '1\n00:00:01,000 --> 00:00:02,000\nÇa va, Zoë?\n';
    const cases = [
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]), 'utf-8'],
      [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'utf-16le'],
      [Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]), 'utf-16be'],
      [iconv.encode(text, 'utf-32le', { addBOM: true }), 'utf-32le'],
    ] as const;
    for (const [bytes, encoding] of cases) {
      assert.deepEqual(decodeSubtitleText(bytes), { text, encoding }, encoding);
    }
  });

  test('UTF-16 without a BOM is recognised by its zero bytes', () => {
    const text = '1\n00:00:01,000 --> 00:00:02,000\nHello there, general Kenobi\n';
    assert.deepEqual(decodeSubtitleText(Buffer.from(text, 'utf16le')), { text, encoding: 'utf-16le' });
  });

  test('valid UTF-8 stays UTF-8; pure ASCII is UTF-8', () => {
    assert.deepEqual(decodeSubtitleText(Buffer.from('naïve ’quote’ 日本語')), {
      text: 'naïve ’quote’ 日本語',
      encoding: 'utf-8',
    });
    assert.deepEqual(decodeSubtitleText(Buffer.from('plain')), { text: 'plain', encoding: 'utf-8' });
    assert.deepEqual(decodeSubtitleText(new Uint8Array()), { text: '', encoding: 'utf-8' });
  });

  test('more than 10 MiB is refused', () => {
    assert.throws(() => decodeSubtitleText(new Uint8Array(MAX_SUBTITLE_BYTES + 1)), { code: 'subtitle_unreadable' });
  });
});

describe('toWebVtt', () => {
  test('an English SRT in Windows-1252 becomes UTF-8 WebVTT with its accents and curly quotes', () => {
    const text = srt([
      ['00:00:01,000', '00:00:03,500', 'Café au lait, s’il vous plaît.'],
      ['00:00:04,000', '00:00:06,000', 'Über den Wolken, niño.\r\n<i>It’s “really” naïve — isn’t it?</i>'],
      ['00:01:02,003', '01:00:00,000', 'Señor Muñoz ate crème brûlée.'],
    ]);
    const bytes = iconv.encode(text, 'windows-1252');
    assert.ok(bytes.includes(0x92), 'the curly quote is byte 0x92');
    assert.equal(decodeSubtitleText(bytes).encoding, 'windows-1252');
    const vtt = toWebVtt(bytes, 'srt', 'Film.en.srt');
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:01.000 --> 00:00:03.500',
        'Café au lait, s’il vous plaît.',
        '',
        '00:00:04.000 --> 00:00:06.000',
        'Über den Wolken, niño.',
        '<i>It’s “really” naïve — isn’t it?</i>',
        '',
        '00:01:02.003 --> 01:00:00.000',
        'Señor Muñoz ate crème brûlée.',
        '',
      ].join('\n'),
    );
    assert.equal(assertValidWebVtt(vtt).length, 3);
  });

  test('a French ASS: Dialogue lines only, in time order, override tags out, \\N and \\h read', () => {
    const ass = [
      '[Script Info]',
      'Title: Exemple',
      'ScriptType: v4.00+',
      'PlayResX: 1920',
      'PlayResY: 1080',
      '',
      '[V4+ Styles]',
      'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
      'Style: Default,Arial,60,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1',
      'Style: Pensées,Arial,60,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,-1,0,0,100,100,0,0,1,2,2,2,10,10,10,1',
      '',
      '[Events]',
      'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
      'Dialogue: 0,0:00:05.00,0:00:07.50,Default,Jean,0,0,0,,{\\an8}Bonjour, {\\i1}mon ami{\\i0} !\\NÇa va ?',
      'Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Une note de traduction',
      'Dialogue: 0,0:00:01.00,0:00:02.00,Pensées,,0,0,0,,Il pleut encore…',
      'Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}',
      'Dialogue: 1,0:00:08.00,0:00:09.00,Default,,0,0,0,,{\\pos(960,100)\\fad(200,200)\\c&H00FFFF&}Rue de la Paix',
      'Dialogue: 0,0:00:08.00,0:00:09.00,Default,,0,0,0,,{\\pos(960,100)\\fad(200,200)\\c&H00FFFF&}Rue de la Paix',
      'Dialogue: 0,0:00:10.00,0:00:11.00,Default,,0,0,0,,{\\b1}Attention{\\b0}\\h:\\hR&D <ici> --> là\\n2e ligne',
      'Dialogue: 0,0:00:12.00,0:00:12.00,Default,,0,0,0,,Durée nulle',
      '',
    ].join('\r\n');
    const vtt = toWebVtt(Buffer.from(ass, 'utf8'), 'ass', 'Film.fr.ass');
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:01.000 --> 00:00:02.000',
        '<i>Il pleut encore…</i>',
        '',
        '00:00:05.000 --> 00:00:07.500',
        'Bonjour, <i>mon ami</i> !',
        'Ça va ?',
        '',
        '00:00:08.000 --> 00:00:09.000',
        'Rue de la Paix',
        '',
        '00:00:10.000 --> 00:00:11.000',
        '<b>Attention</b> : R&amp;D &lt;ici&gt; --&gt; là',
        '2e ligne',
        '',
      ].join('\n'),
    );
    assertValidWebVtt(vtt);
  });

  test('SSA (v4) files are read too', () => {
    const ssa = [
      '[Script Info]',
      'ScriptType: v4.00',
      '',
      '[V4 Styles]',
      'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding',
      'Style: Default,Arial,20,16777215,65535,65535,-2147483640,0,0,1,3,0,2,30,30,30,0,0',
      '',
      '[Events]',
      'Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
      'Dialogue: Marked=0,0:00:01.00,0:00:03.00,Default,NTP,0000,0000,0000,!Effect,Hello SSA\\Nline two',
    ].join('\n');
    const vtt = toWebVtt(Buffer.from(ssa), 'ssa', 'old.ssa');
    assert.equal(vtt, 'WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello SSA\nline two\n');
    assertValidWebVtt(vtt);
  });

  test('an SRT in UTF-16 LE with a BOM', () => {
    const text = srt([
      ['00:00:01,000', '00:00:02,000', 'Grüße aus Köln'],
      ['00:00:02,000', '00:00:03,000', '日本語の字幕'],
    ]);
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const vtt = toWebVtt(bytes, 'srt', 'x.srt');
    assert.equal(
      vtt,
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nGrüße aus Köln\n\n00:00:02.000 --> 00:00:03.000\n日本語の字幕\n',
    );
    assertValidWebVtt(vtt);
  });

  test('a Russian SRT in Windows-1251 (CP1251), and in KOI8-R', () => {
    const lines = [
      'Привет, как дела?',
      'Я не знаю, что сказать.',
      'Это было очень давно, в другой стране.',
      'Пожалуйста, подождите минуточку.',
      'Мы должны идти домой прямо сейчас.',
    ];
    const text = srt(lines.map((line, i) => [`00:00:0${i},000`, `00:00:0${i},900`, line] as const));
    for (const charset of ['windows-1251', 'koi8-r']) {
      const bytes = iconv.encode(text, charset);
      assert.equal(decodeSubtitleText(bytes).encoding, charset);
      const cues = assertValidWebVtt(toWebVtt(bytes, 'srt', 'ru.srt'));
      assert.deepEqual(
        cues.map((cue) => cue.text),
        lines,
      );
    }
  });

  test('Polish and Czech in ISO-8859-2, and Polish in Windows-1250', () => {
    const polish = [
      'Zażółć gęślą jaźń.',
      'Nie wiem, co powiedzieć, przyjacielu.',
      'To była bardzo długa podróż przez góry.',
      'Proszę, poczekaj chwilę na mnie.',
      'Musimy iść do domu, już jest późno.',
      'Łódź jest dużym miastem w Polsce.',
    ];
    const czech = [
      'Příliš žluťoučký kůň úpěl ďábelské ódy.',
      'Nevím, co bych měl říct, příteli.',
      'Byla to velmi dlouhá cesta přes hory.',
      'Prosím, počkej na mě chvíli.',
    ];
    for (const [lines, charset] of [
      [polish, 'iso-8859-2'],
      [czech, 'iso-8859-2'],
      [polish, 'windows-1250'],
    ] as const) {
      const bytes = iconv.encode(
        srt(lines.map((line, i) => [`00:00:0${i},000`, `00:00:0${i},500`, line] as const)),
        charset,
      );
      assert.equal(decodeSubtitleText(bytes).encoding, charset);
      assert.deepEqual(
        assertValidWebVtt(toWebVtt(bytes, 'srt', 'pl.srt')).map((cue) => cue.text),
        lines,
      );
    }
  });

  test('WebVTT in: re-read and written back clean (notes, styles, ids, settings, voices, classes out)', () => {
    const input = [
      'WEBVTT - Some title',
      'Kind: captions',
      '',
      'STYLE',
      '::cue { color: yellow }',
      '',
      'NOTE This is a comment',
      'over two lines',
      '',
      'intro',
      '00:01.000 --> 00:04.000 line:0 position:50%',
      '<v Roger Bingham>We are in New York City &amp; it&apos;s &lt;cold&gt;',
      '',
      '2',
      '00:00:05.000 --> 00:00:08.000',
      '<c.loud>Fire!</c> <i>Run</i> &#233;t&#xE9; <00:00:06.000>later',
      '',
      '00:00:09.000 --> 00:00:10.000',
      '',
      '00:00:11.000 --> 00:00:12.000 align:start',
      'Tom &amp; Jerry',
      '',
    ].join('\n');
    const vtt = toWebVtt(Buffer.from(input), 'vtt', 'in.vtt');
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:01.000 --> 00:00:04.000',
        "We are in New York City &amp; it's &lt;cold&gt;",
        '',
        '00:00:05.000 --> 00:00:08.000',
        'Fire! <i>Run</i> été later',
        '',
        '00:00:11.000 --> 00:00:12.000',
        'Tom &amp; Jerry',
        '',
      ].join('\n'),
    );
    assertValidWebVtt(vtt);
    // Written again, clean WebVTT comes back as it was.
    assert.equal(toWebVtt(Buffer.from(vtt), 'vtt', 'out.vtt'), vtt);
  });

  test('SRT text with "-->", <script>, & and stray markup is escaped, never markup', () => {
    const text = srt([
      ['00:00:01,000', '00:00:02,000', 'He said --> go <script>alert("x")</script> & ran'],
      ['00:00:03,000', '00:00:04,000', '<font color="#ff0000">Red</font> <b><i>both</b> open <u>under'],
      ['00:00:05,000', '00:00:06,000', '{\\an8}{\\i1}Top{\\i0} 5 < 6 > 4 &amp;'],
      ['00:00:07,000', '00:00:08,000', '</i>closing first<br>then a break'],
    ]);
    const vtt = toWebVtt(Buffer.from(text), 'srt', 'x.srt');
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:01.000 --> 00:00:02.000',
        'He said --&gt; go &lt;script&gt;alert("x")&lt;/script&gt; &amp; ran',
        '',
        '00:00:03.000 --> 00:00:04.000',
        'Red <b><i>both</i></b><i> open </i><i><u>under</u></i>',
        '',
        '00:00:05.000 --> 00:00:06.000',
        '<i>Top</i> 5 &lt; 6 &gt; 4 &amp;amp;',
        '',
        '00:00:07.000 --> 00:00:08.000',
        'closing first',
        'then a break',
        '',
      ].join('\n'),
    );
    assertValidWebVtt(vtt);
  });

  test('real-world SRT sloppiness: no numbers, trailing spaces, odd fractions, long hours, blank lines, disorder', () => {
    const text = [
      '1 ',
      '00:00:05,000 --> 00:00:06,000 ',
      'trailing spaces',
      '',
      '00:00:01,5 --> 00:00:02 X1:10 X2:20 Y1:30 Y2:40',
      'no number, half a second, coordinates',
      '',
      '',
      'and a blank line inside',
      '3',
      '100:00:00.000 --> 100:00:01.000',
      'past 99 hours',
      '4',
      '00:00:03:250 --> 00:00:04:000',
      'colon before the milliseconds',
      '',
      '5',
      '00:00:09,000 --> 00:00:08,000',
      'ends before it starts',
      '',
    ].join('\n');
    const vtt = toWebVtt(Buffer.from(text), 'srt', 'messy.srt');
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:01.500 --> 00:00:02.000',
        'no number, half a second, coordinates',
        'and a blank line inside',
        '',
        '00:00:03.250 --> 00:00:04.000',
        'colon before the milliseconds',
        '',
        '00:00:05.000 --> 00:00:06.000',
        'trailing spaces',
        '',
        '100:00:00.000 --> 100:00:01.000',
        'past 99 hours',
        '',
      ].join('\n'),
    );
    assertValidWebVtt(vtt);
  });

  test('a file named for one format but written in another is still read', () => {
    const ass = [
      '[Events]',
      'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
      'Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Really ASS',
    ].join('\n');
    assert.equal(toWebVtt(Buffer.from(ass), 'srt', 'a.srt'), 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nReally ASS\n');
    const plain = srt([['00:00:01,000', '00:00:02,000', 'Really SRT']]);
    assert.equal(toWebVtt(Buffer.from(plain), 'ass', 'b.ass'), 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nReally SRT\n');
    // An [Events] section without its Format line.
    const noFormat = '[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,No format line';
    assert.equal(
      toWebVtt(Buffer.from(noFormat), 'ass', 'c.ass'),
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nNo format line\n',
    );
  });

  test('empty files are empty WebVTT; cues that all end before they start leave the header only', () => {
    assert.equal(toWebVtt(new Uint8Array(), 'srt', 'empty.srt'), 'WEBVTT\n');
    assert.equal(toWebVtt(Buffer.from(' \r\n\r\n'), 'ass', 'blank.ass'), 'WEBVTT\n');
    const backwards = toWebVtt(Buffer.from(srt([['00:00:02,000', '00:00:01,000', 'x']])), 'srt', 'b.srt');
    assert.equal(backwards, 'WEBVTT\n');
    assertValidWebVtt(backwards);
  });

  test('garbage, too-large files and cue-less files are subtitle_unreadable, naming the file', () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
    assertUnreadable(() => toWebVtt(garbage, 'srt', 'garbage.srt'), 'garbage.srt');
    assertUnreadable(() => toWebVtt(garbage, 'ass', 'garbage.ass'), 'garbage.ass');
    assertUnreadable(() => toWebVtt(garbage, 'vtt', 'garbage.vtt'), 'garbage.vtt');
    assertUnreadable(() => toWebVtt(Buffer.from('Just some text\nwith no timings\n'), 'srt', 'text.srt'), 'text.srt');
    assertUnreadable(
      () => toWebVtt(Buffer.from('[Script Info]\nTitle: x\n\n[Events]\nFormat: Text\n'), 'ass', 'nodialogue.ass'),
      'nodialogue.ass',
    );
    assertUnreadable(() => toWebVtt(new Uint8Array(MAX_SUBTITLE_BYTES + 1), 'srt', 'huge.srt'), 'huge.srt');
    assertUnreadable(() => toWebVtt(Buffer.from('x'), 'sub' as 'srt', 'odd.sub'), 'odd.sub');
  });
});
