import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeExtendedValue, filenameFromContentDisposition } from '../../src/downloaders/http/content-disposition.js';
import { parseContentRange } from '../../src/downloaders/http/content-range.js';
import { chooseFileName } from '../../src/downloaders/http/file-name.js';
import { describeUrl, secretsOf } from '../../src/downloaders/http/http-request.js';
import { STATE_FILE, validState } from '../../src/downloaders/http/http-state-file.js';
import { MAX_COMPONENT_BYTES, sanitizeComponent } from '../../src/torrent/file-layout.js';

/** Every property runs the same cases on every run. */
const RUNS = { seed: 1515, numRuns: 2_000 } as const;

/** Header text a server (or an attacker) may send: anything, and things shaped like the real one. */
const anyText = fc.string({ unit: 'binary', maxLength: 200 });
const dispositionHeader = fc.oneof(
  anyText,
  fc
    .array(
      fc.tuple(
        fc.constantFrom('filename', 'FILENAME', 'filename*', 'name', 'filename*0', ''),
        fc.oneof(
          anyText,
          anyText.map((value) => `"${value}"`),
          anyText.map((value) => `UTF-8''${value}`),
          fc.string({ unit: 'binary', maxLength: 40 }).map((value) => `UTF-8''${encodeURIComponent(value)}`),
        ),
      ),
      { maxLength: 4 },
    )
    .chain((parameters) =>
      fc
        .constantFrom('attachment', 'inline', '', 'attachment ')
        .map((type) => [type, ...parameters.map(([name, value]) => `${name}=${value}`)].join('; ')),
    ),
);

describe('Content-Disposition', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    ['attachment; filename="Night.mkv"', 'Night.mkv'],
    ['attachment; filename=Night.mkv', 'Night.mkv'],
    ['ATTACHMENT; FileName = "a \\"quoted\\" name.mp4" ; size=3', 'a "quoted" name.mp4'],
    ['attachment; filename="a;b.mkv"; filename*=UTF-8\'\'%E2%82%AC%20rates.mkv', '€ rates.mkv'],
    ["attachment; filename*=iso-8859-1'en'%A3%20rates.mkv", '£ rates.mkv'],
    ["attachment; filename*=koi8-r''%C1.mkv; filename=fallback.mkv", 'fallback.mkv'],
    ["attachment; filename*=UTF-8''bad%ZZ.mkv; filename=fallback.mkv", 'fallback.mkv'],
    ['attachment; filename="unterminated.mkv', undefined],
    ['attachment; filename=""', undefined],
    ['inline', undefined],
    ['', undefined],
    [undefined, undefined],
    [`attachment; filename="${'x'.repeat(9_000)}"`, undefined],
  ];
  for (const [header, expected] of cases) {
    test(`${JSON.stringify(header)?.slice(0, 70)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(filenameFromContentDisposition(header), expected);
    });
  }

  test('property: never throws, and a name read is never empty', () => {
    fc.assert(
      fc.property(dispositionHeader, (header) => {
        const name = filenameFromContentDisposition(header);
        assert.ok(name === undefined || (typeof name === 'string' && name.length > 0));
      }),
      RUNS,
    );
  });

  test('property: filename* (UTF-8, percent-encoded) and a quoted filename give the name back', () => {
    const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(name, (value) => {
        const quoted = `"${value.replace(/[\\"]/g, '\\$&')}"`;
        assert.equal(filenameFromContentDisposition(`attachment; filename=${quoted}`), value);
        const extended = `attachment; filename="x.bin"; filename*=UTF-8''${encodeURIComponent(value)}`;
        assert.equal(filenameFromContentDisposition(extended), value);
      }),
      RUNS,
    );
  });

  test('RFC 8187 values: only UTF-8 and ISO-8859-1, only valid percent escapes', () => {
    assert.equal(decodeExtendedValue("UTF-8''%C3%A9t%C3%A9"), 'été');
    assert.equal(decodeExtendedValue("UTF-8'fr'caf%C3%A9"), 'café');
    assert.equal(decodeExtendedValue("utf-8''100%"), undefined);
    assert.equal(decodeExtendedValue("UTF-8''sp ace"), undefined);
    assert.equal(decodeExtendedValue('no-quotes'), undefined);
  });
});

describe('the file name a direct download is saved under', () => {
  const url = (text: string) => new URL(text);
  const cases: Array<[Parameters<typeof chooseFileName>[0], string]> = [
    [{ urls: [url('http://h/films/Big.Buck.Bunny.mkv?x=1')] }, 'Big.Buck.Bunny.mkv'],
    [{ urls: [url('http://h/dl/Sintel%20(2010).mp4')] }, 'Sintel (2010).mp4'],
    [{ urls: [url('http://h/')] }, 'download'],
    [{ urls: [url('http://h/')], contentType: 'video/webm; codecs=vp9' }, 'download.webm'],
    [{ urls: [url('http://h/watch')], contentDisposition: 'attachment; filename=movie' }, 'movie'],
    [{ urls: [url('http://h/movie.m4v')], contentDisposition: 'attachment; filename=movie' }, 'movie.m4v'],
    [{ urls: [url('http://h/cdn/abc123'), url('http://h/Heat.1995.mkv')] }, 'Heat.1995.mkv'],
    [{ urls: [url('http://h/x')], contentDisposition: 'attachment; filename="..\\\\..\\\\boot.ini"' }, 'boot.ini'],
    [{ urls: [url('http://h/x')], contentDisposition: 'attachment; filename="/"' }, 'x'],
    [{ urls: [url('http://h/x')], contentDisposition: 'attachment; filename="nul"' }, '_nul'],
    [{ urls: [url('http://h/..%2f..%2f.bashrc')] }, '_.bashrc'],
    [{ urls: [url('http://h/%E0%A4%A.mkv')] }, '%E0%A4%A.mkv'],
  ];
  for (const [sources, expected] of cases) {
    test(`${JSON.stringify({ ...sources, urls: sources.urls.map(String) })} → ${expected}`, () => {
      assert.equal(chooseFileName(sources), expected);
    });
  }

  test('property: always one safe, visible path component, whatever the server and the URL say', () => {
    const path = fc.array(fc.string({ unit: 'binary', maxLength: 30 }), { maxLength: 4 });
    fc.assert(
      fc.property(
        fc.option(dispositionHeader, { nil: undefined }),
        fc.option(anyText, { nil: undefined }),
        path,
        (contentDisposition, contentType, segments) => {
          const target = new URL(`http://example.org/${segments.map(encodeURIComponent).join('/')}`);
          const name = chooseFileName({ contentDisposition, contentType, urls: [target] });
          assert.equal(sanitizeComponent(name), name, JSON.stringify(name));
          assert.ok(name.length > 0 && !name.startsWith('.') && name !== STATE_FILE, JSON.stringify(name));
          assert.ok(!/[/\\\0]/.test(name), JSON.stringify(name));
          assert.ok(Buffer.byteLength(name) <= MAX_COMPONENT_BYTES, JSON.stringify(name));
          assert.ok(validState({ fileName: name }) !== undefined, 'a name chosen is one a restart accepts');
        },
      ),
      RUNS,
    );
  });
});

describe('Content-Range', () => {
  const cases: Array<[string | undefined, ReturnType<typeof parseContentRange>]> = [
    ['bytes 0-99/100', { kind: 'range', first: 0, last: 99, complete: 100 }],
    ['BYTES 5-9/*', { kind: 'range', first: 5, last: 9, complete: undefined }],
    [' bytes 10-10/11 ', { kind: 'range', first: 10, last: 10, complete: 11 }],
    ['bytes */100', { kind: 'unsatisfied', complete: 100 }],
    ['bytes 0-100/100', undefined],
    ['bytes 9-5/100', undefined],
    ['bytes -5-9/100', undefined],
    ['bytes 0-9/99999999999999999', undefined],
    ['items 0-9/100', undefined],
    ['bytes 0-9', undefined],
    ['bytes 0x1-9/100', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [header, expected] of cases) {
    test(`${JSON.stringify(header)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseContentRange(header), expected);
    });
  }

  test('property: never throws; what it reads is a consistent range of safe integers', () => {
    const number = fc.oneof(fc.nat(), fc.constantFrom('', '-1', '*', '9007199254740993', '1e3', ' 7'));
    const shaped = fc
      .tuple(fc.constantFrom('bytes ', 'bytes\t', 'bytes', 'Bytes  ', 'octets '), number, number, number)
      .map(([unit, first, last, complete]) => `${unit}${first}-${last}/${complete}`);
    fc.assert(
      fc.property(fc.oneof(anyText, shaped), (header) => {
        const range = parseContentRange(header);
        if (range === undefined) return;
        assert.ok(Number.isSafeInteger(range.complete) || range.complete === undefined);
        if (range.kind === 'range') {
          assert.ok(Number.isSafeInteger(range.first) && Number.isSafeInteger(range.last));
          assert.ok(range.first >= 0 && range.first <= range.last);
          assert.ok(range.complete === undefined || range.last < range.complete);
        }
      }),
      RUNS,
    );
  });

  test('property: a valid range reads back as written', () => {
    const valid = fc
      .tuple(fc.nat({ max: 2 ** 52 }), fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 40 }))
      .map(([first, span, extra]) => ({ first, last: first + span, complete: first + span + 1 + extra }));
    fc.assert(
      fc.property(valid, ({ first, last, complete }) => {
        assert.deepEqual(parseContentRange(`bytes ${first}-${last}/${complete}`), {
          kind: 'range',
          first,
          last,
          complete,
        });
        assert.deepEqual(parseContentRange(`bytes */${complete}`), { kind: 'unsatisfied', complete });
      }),
      RUNS,
    );
  });
});

describe('the state file and the URL as shown', () => {
  test('validState keeps only what is safe to reuse', () => {
    assert.deepEqual(validState({ fileName: 'a.mkv', etag: '"x"', totalBytes: 5, complete: true }), {
      fileName: 'a.mkv',
      etag: '"x"',
      totalBytes: 5,
      complete: true,
    });
    assert.equal(validState({ fileName: '../a.mkv' }), undefined);
    assert.equal(validState({ fileName: STATE_FILE }), undefined);
    assert.equal(validState([]), undefined);
    assert.deepEqual(validState({ fileName: 'a.mkv', etag: '"x"\r\nSet-Cookie: y', totalBytes: -1, complete: true }), {
      fileName: 'a.mkv',
    });
  });

  test('property: validState never throws on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (value) => {
        const state = validState(value);
        if (state !== undefined) assert.equal(sanitizeComponent(state.fileName), state.fileName);
      }),
      { seed: 1515, numRuns: 500 },
    );
  });

  test('secrets of a URL: its user name, password and secret query values; shown as its origin only', () => {
    const url = new URL('https://al%40ice:p%C3%A4ss@cdn.example.org/f/film.mkv?token=abc123&quality=hd&api_key=k1k1');
    assert.deepEqual(new Set(secretsOf(url)), new Set(['al%40ice', 'al@ice', 'p%C3%A4ss', 'päss', 'abc123', 'k1k1']));
    assert.equal(describeUrl(url), 'https://cdn.example.org');
    // Values too short to redact without mangling every message (messages never hold them anyway).
    assert.deepEqual(secretsOf(new URL('http://a:b@h/x?token=t')), []);
  });
});
