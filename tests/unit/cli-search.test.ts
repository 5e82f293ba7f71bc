/**
 * The pieces of `chilly search` that need no server: the overview and rating formats, the help,
 * and bad input refused in-process. Against a server: tests/integration/cli-search.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { formatRating, shortenText } from '../../src/cli/format.js';
import { type FakeTerminalRun, runCliInFakeTerminal } from '../helpers/fake-terminal.js';
import { freeLoopbackPort } from '../helpers/ports.js';

let port = 0;
before(async () => {
  port = await freeLoopbackPort();
});

function run(args: string[]): Promise<FakeTerminalRun> {
  return runCliInFakeTerminal(args, {
    // A port nothing listens on: a request that got out would fail with server_unreachable (exit 1).
    env: { HOME: '/nonexistent-chilly-home', CHILLY_PORT: String(port), CHILLY_TOKEN: 'unit-test-token-0123456789' },
    cwd: process.cwd(),
  });
}

describe('shortenText', () => {
  it('keeps short text, collapsing whitespace to one line', () => {
    assert.equal(
      shortenText('A young girl,\n  Chihiro, becomes trapped.', 60),
      'A young girl, Chihiro, becomes trapped.',
    );
    assert.equal(shortenText('exactly ten', 11), 'exactly ten');
  });

  it('cuts long text at the last whole word that fits, with an ellipsis, within the limit', () => {
    const text = 'In the smog-choked dystopian Los Angeles of 2019, blade runner Rick Deckard is called out.';
    const short = shortenText(text, 60);
    assert.equal(short, 'In the smog-choked dystopian Los Angeles of 2019, blade…');
    assert.ok(Array.from(short).length <= 60);
    assert.equal(shortenText('Heat, Heat Wave, and more', 12), 'Heat, Heat…', 'no comma before the ellipsis');
  });

  it('cuts inside a word only when one word is most of the line, and never inside a character', () => {
    assert.equal(shortenText('Supercalifragilisticexpialidocious', 10), 'Supercali…');
    assert.equal(shortenText('🎬🎬🎬🎬🎬🎬', 4), '🎬🎬🎬…');
  });

  it('shows "-" for no text', () => {
    assert.equal(shortenText(null, 60), '-');
    assert.equal(shortenText(undefined, 60), '-');
    assert.equal(shortenText('  \n ', 60), '-');
  });
});

describe('formatRating', () => {
  it('one decimal, "-" while nobody has voted', () => {
    assert.equal(formatRating(8.2), '8.2');
    assert.equal(formatRating(7), '7.0');
    assert.equal(formatRating(0), '0.0');
    assert.equal(formatRating(null), '-');
    assert.equal(formatRating(undefined), '-');
  });
});

describe('chilly search (in-process)', () => {
  it('is listed in the help, with its options', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}search \[options\] <title\.\.\.> +search TMDB for a film/m);
    const own = await run(['search', '--help']);
    assert.equal(own.code, 0);
    assert.match(own.stdout, /--year <year>/);
    assert.match(own.stdout, /--page <number>/);
    assert.match(own.stdout, /--json/);
  });

  it('refuses bad --year, --page and titles with exit 2 before connecting', async () => {
    for (const [args, message] of [
      [['heat', '--year', '1869'], /^chilly: --year must be a whole number from 1870 to 2200\.$/m],
      [['heat', '--year', '2201'], /--year must be a whole number/],
      [['heat', '--year', '1995.5'], /--year must be a whole number/],
      [['heat', '--page', 'two'], /^chilly: --page must be a whole number from 1 to 500\.$/m],
      [['', ''], /Give a title to search for/],
      [['é'.repeat(201)], /at most 200 characters/],
    ] as const) {
      const result = await run(['search', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
    }
    // 200 characters (not UTF-16 units) is fine: it gets as far as connecting.
    const longest = await run(['search', '🎬'.repeat(200)]);
    assert.equal(longest.code, 1);
    assert.match(longest.stderr, /server_unreachable/);
  });
});
