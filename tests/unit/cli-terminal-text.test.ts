/**
 * terminalSafe, the one function the CLI passes a server's or a torrent's text through before it
 * reaches a terminal, and terminalSafeJson for --json: examples, then fuzzed (fast-check, fixed
 * seed, bounded runs) over strings dense in controls, bidi characters and lone surrogates.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { terminalSafe, terminalSafeJson } from '../../src/cli/terminal-text.js';

/** Written out here on purpose, not imported: C0, DEL, C1, bidi controls, line/paragraph separators. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

function unsafeIn(text: string): string | undefined {
  const match = CONTROL.exec(text);
  if (match !== null) return `U+${match[0].codePointAt(0)?.toString(16).padStart(4, '0')} at ${match.index}`;
  // In a `u` regex, a surrogate pair is one code point: only a lone surrogate matches \p{Cs}.
  return /\p{Cs}/u.test(text) ? 'a lone surrogate' : undefined;
}

const FUZZ = { seed: 20_260_101, numRuns: 2_000 } as const;

/** Strings where the dangerous characters are common, not one in a million. */
const hostileText = fc.string({
  maxLength: 64,
  unit: fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 0x9f }).map((code) => String.fromCharCode(code)), weight: 3 },
    // Any UTF-16 unit, lone surrogates included.
    { arbitrary: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        '\u001b',
        '\u001b]0;',
        '\u0007',
        '\r\n',
        '\t',
        '\u007f',
        '\u009b',
        '\u009d',
        '\u202e',
        '\u2066',
        '\u2069',
        '\u200f',
        '\u061c',
        '\u2028',
        '\ud800',
        '\udfff',
        '\\x1b',
        '\\',
        '🎬',
        'e\u0301',
      ),
      weight: 3,
    },
  ),
});

describe('terminalSafe', () => {
  it('shows controls, bidi characters and lone surrogates as escapes', () => {
    assert.equal(terminalSafe('Evil\u001b]0;pwned\u0007'), 'Evil\\x1b]0;pwned\\x07');
    assert.equal(terminalSafe('a\r\nb\tc'), 'a\\r\\nb\\tc');
    assert.equal(terminalSafe('\u0000\u007f\u0080\u009b\u009f'), '\\x00\\x7f\\x80\\x9b\\x9f');
    assert.equal(
      terminalSafe('\u202ecod.exe\u202c \u2066x\u2069 \u200e\u200f\u061c'),
      '\\u{202e}cod.exe\\u{202c} \\u{2066}x\\u{2069} \\u{200e}\\u{200f}\\u{61c}',
    );
    assert.equal(terminalSafe('line\u2028para\u2029'), 'line\\u{2028}para\\u{2029}');
    assert.equal(terminalSafe('lone \ud800 and \udfff'), 'lone \\u{d800} and \\u{dfff}');
  });

  it('leaves ordinary text alone: accents, CJK, emoji (pairs and joiners), backslashes', () => {
    for (const text of [
      'Amélie (2001)',
      '千と千尋の神隠し',
      'Se7en 🎬 👨‍👩‍👧',
      'e\u0301',
      'C:\\films\\x1b',
      '',
      '  spaced  ',
    ]) {
      assert.equal(terminalSafe(text), text);
    }
  });

  it('fuzzed: the output never holds a control character, and a second pass changes nothing', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        const safe = terminalSafe(text);
        assert.equal(unsafeIn(safe), undefined, `${JSON.stringify(text)} → ${JSON.stringify(safe)}`);
        assert.equal(terminalSafe(safe), safe, 'stable');
        if (unsafeIn(text) === undefined) assert.equal(safe, text, 'safe text is kept as it is');
      }),
      FUZZ,
    );
  });
});

describe('terminalSafeJson', () => {
  it('fuzzed: exact JSON of the same value, with no control character outside its own line breaks', () => {
    const value = fc.dictionary(
      hostileText,
      fc.oneof(hostileText, fc.array(hostileText, { maxLength: 4 }), fc.integer(), fc.constant(null)),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(value, (input) => {
        const json = terminalSafeJson(input);
        // Compared with plain JSON.stringify's text, parsed: fc.dictionary's objects have no prototype.
        assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(input)));
        assert.equal(unsafeIn(json.replaceAll('\n', '')), undefined, json);
      }),
      FUZZ,
    );
  });
});
