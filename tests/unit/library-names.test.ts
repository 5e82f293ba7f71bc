/**
 * Issue 18, the library folder's names: titles made safe as file names on Windows, macOS and
 * Linux, the `Title (Year)` folder names Plex, Jellyfin and Kodi expect, and the movie.nfo XML
 * (checked well-formed by a small parser written here: the project has no XML parser dependency).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isWindowsReservedName,
  MAX_TITLE_BYTES,
  movieFolderName,
  safeLabel,
  safeTitle,
  truncateUtf8,
  utf8Length,
} from '../../src/library/library-names.js';
import { escapeXml, movieNfo } from '../../src/library/movie-nfo.js';
import { childText, parseXml } from '../helpers/xml.js';

const FORBIDDEN = ['<', '>', ':', '"', '/', '\\', '|', '?', '*'];

describe('safeTitle', () => {
  test('replaces the characters Windows refuses with readable ones', () => {
    assert.equal(safeTitle('AC/DC: Live'), 'AC-DC - Live');
    assert.equal(safeTitle('What?'), 'What');
    assert.equal(safeTitle('M*A*S*H'), 'M-A-S-H');
    assert.equal(safeTitle('Face/Off'), 'Face-Off');
    assert.equal(safeTitle('Mission: Impossible'), 'Mission - Impossible');
    assert.equal(safeTitle('10:30 P.M. Summer'), '10-30 P.M. Summer');
    assert.equal(safeTitle('The "Quoted" <Film> | Part\\2'), "The 'Quoted' Film - Part-2");
    const messy = safeTitle('a<b>c:d"e|f?g*h/i\\j');
    for (const character of FORBIDDEN) assert.ok(!messy.includes(character), `${messy} has ${character}`);
  });

  test('never a Windows device name, whatever the case, with or without an extension', () => {
    assert.equal(safeTitle('CON'), 'CON_');
    assert.equal(safeTitle('con'), 'con_');
    assert.equal(safeTitle('Aux'), 'Aux_');
    assert.equal(safeTitle('NUL'), 'NUL_');
    assert.equal(safeTitle('com1.txt'), 'com1_.txt');
    assert.equal(safeTitle('LPT9'), 'LPT9_');
    assert.equal(safeTitle('nul.tar.gz'), 'nul_.tar.gz');
    assert.equal(safeTitle('CON .txt'), 'CON_.txt');
    for (const name of ['CON', 'prn', 'AUX.mkv', 'nul', 'COM1', 'com9.srt', 'LPT1', 'lpt¹', 'CONIN$']) {
      assert.equal(isWindowsReservedName(name), true, name);
      assert.equal(isWindowsReservedName(safeTitle(name)), false, name);
    }
    // Only the exact device names: these are ordinary titles.
    for (const name of ['Con Air', 'Console', 'Auxiliary', 'COM10', 'Conclave', 'Null']) {
      assert.equal(safeTitle(name), name);
      assert.equal(isWindowsReservedName(name), false, name);
    }
  });

  test('no leading or trailing dots and spaces; never empty, `.` or `..`', () => {
    assert.equal(safeTitle('Trailing. . '), 'Trailing');
    assert.equal(safeTitle('Ends with dots...'), 'Ends with dots');
    assert.equal(safeTitle('  padded  '), 'padded');
    assert.equal(safeTitle('.hidden'), 'hidden');
    assert.equal(safeTitle('..'), 'Untitled');
    assert.equal(safeTitle('.'), 'Untitled');
    assert.equal(safeTitle('...'), 'Untitled');
    assert.equal(safeTitle(''), 'Untitled');
    assert.equal(safeTitle('   '), 'Untitled');
    assert.equal(safeTitle('???'), 'Untitled');
    assert.equal(safeTitle('../../etc/passwd'), '-..-etc-passwd');
  });

  test('control characters, invisible direction overrides and broken UTF-16 are removed', () => {
    assert.equal(safeTitle('a\u0000b\nc\u007fd\u009be'), 'a b c d e');
    assert.equal(safeTitle('Tab\there'), 'Tab here');
    assert.equal(safeTitle('evil\u202egnp.exe'), 'evilgnp.exe');
    assert.equal(safeTitle('\ufeffBOM'), 'BOM');
    assert.equal(safeTitle('half \ud800 surrogate'), 'half surrogate');
    assert.equal(safeTitle('\udc00'), 'Untitled');
  });

  test('NFC-normalised, and letters of every script are kept', () => {
    assert.equal(safeTitle('Ame\u0301lie'), 'Amélie');
    assert.equal(safeTitle('Ame\u0301lie'), 'Ame\u0301lie'.normalize('NFC'));
    assert.equal(safeTitle('Три богатыря'), 'Три богатыря');
    assert.equal(safeTitle('千と千尋の神隠し'), '千と千尋の神隠し');
    assert.equal(safeTitle('🎬 Film 👩‍👩‍👧'), '🎬 Film 👩‍👩‍👧');
  });

  test('long titles are cut to the byte limit between characters, emoji sequences kept whole', () => {
    const umlauts = safeTitle('ä'.repeat(100)); // 200 bytes
    assert.equal(umlauts, 'ä'.repeat(75));
    assert.equal(utf8Length(umlauts), MAX_TITLE_BYTES);
    const family = '👩‍👩‍👧'; // 18 bytes, one character on screen
    const families = safeTitle(family.repeat(20));
    assert.equal(families, family.repeat(Math.floor(MAX_TITLE_BYTES / utf8Length(family))));
    const cut = safeTitle(`${'word '.repeat(29)}end. more`); // the cut lands after "end."
    assert.ok(utf8Length(cut) <= MAX_TITLE_BYTES);
    assert.ok(!cut.endsWith('.') && !cut.endsWith(' '), cut);
    // One "character" longer than the limit: cut by code point rather than dropped.
    const zalgo = safeTitle(`a${'\u0301'.repeat(200)}`);
    assert.ok(zalgo.startsWith('á') && utf8Length(zalgo) <= MAX_TITLE_BYTES);
  });

  test('truncateUtf8 never splits a code point', () => {
    assert.equal(truncateUtf8('abc', 10), 'abc');
    assert.equal(truncateUtf8('aé', 2), 'a');
    assert.equal(truncateUtf8('😀😀', 5), '😀');
    assert.equal(truncateUtf8('😀', 3), '');
  });

  test('labels: safe, short, empty when nothing is left', () => {
    assert.equal(safeLabel('1080p'), '1080p');
    assert.equal(safeLabel("Director's Cut / 4K"), "Director's Cut - 4K");
    assert.equal(safeLabel('???'), '');
    assert.ok(utf8Length(safeLabel('x'.repeat(100))) <= 24);
  });
});

describe('movieFolderName', () => {
  test('Title (Year), or Title alone without a year', () => {
    assert.equal(movieFolderName({ title: 'Night of the Living Dead', year: 1968 }), 'Night of the Living Dead (1968)');
    assert.equal(movieFolderName({ title: 'Night of the Living Dead' }), 'Night of the Living Dead');
    assert.equal(movieFolderName({ title: 'Night of the Living Dead', year: null }), 'Night of the Living Dead');
    assert.equal(movieFolderName({ title: 'AC/DC: Live', year: 1992 }), 'AC-DC - Live (1992)');
    assert.equal(movieFolderName({ title: '', year: 2001 }), 'Untitled (2001)');
  });

  test('a year that is not four digits is left out', () => {
    for (const year of [0, -1, 999, 10000, 1968.5, Number.NaN]) {
      assert.equal(movieFolderName({ title: 'Film', year }), 'Film');
    }
  });

  test('a quality suffix ( - 1080p) and a disambiguator ([tmdbid-123] or (2))', () => {
    const base = { title: 'Night of the Living Dead', year: 1968 };
    assert.equal(movieFolderName({ ...base, qualitySuffix: '1080p' }), 'Night of the Living Dead (1968) - 1080p');
    assert.equal(
      movieFolderName({ ...base, disambiguator: '[tmdbid-10331]' }),
      'Night of the Living Dead (1968) [tmdbid-10331]',
    );
    assert.equal(movieFolderName({ ...base, disambiguator: '(2)' }), 'Night of the Living Dead (1968) (2)');
    assert.equal(
      movieFolderName({ ...base, disambiguator: '[tmdbid-10331]', qualitySuffix: '720p' }),
      'Night of the Living Dead (1968) [tmdbid-10331] - 720p',
    );
    assert.equal(
      movieFolderName({ ...base, qualitySuffix: '', disambiguator: null }),
      'Night of the Living Dead (1968)',
    );
    assert.equal(movieFolderName({ ...base, qualitySuffix: '../..' }), 'Night of the Living Dead (1968) - -');
  });
});

// ---------------------------------------------------------------------------------------------
// A small XML 1.0 well-formedness check: enough for movie.nfo (a prolog, elements, attributes,
// character data and the five predefined entities plus character references).

describe('movieNfo', () => {
  test('Kodi/Jellyfin movie.nfo: title, year, ids, plot, runtime, genres', () => {
    const xml = movieNfo({
      title: 'Night of the Living Dead',
      year: 1968,
      tmdbId: 10331,
      imdbId: 'tt0063350',
      plot: 'A ragtag group barricade themselves in an old farmhouse.',
      runtimeMinutes: 96,
      genres: ['Horror', 'Thriller'],
    });
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<movie>\n'));
    const movie = parseXml(xml);
    assert.equal(movie.name, 'movie');
    assert.deepEqual(childText(movie, 'title'), ['Night of the Living Dead']);
    assert.deepEqual(childText(movie, 'year'), ['1968']);
    assert.deepEqual(childText(movie, 'runtime'), ['96']);
    assert.deepEqual(childText(movie, 'genre'), ['Horror', 'Thriller']);
    assert.deepEqual(childText(movie, 'tmdbid'), ['10331']);
    assert.deepEqual(childText(movie, 'imdbid'), ['tt0063350']);
    assert.deepEqual(childText(movie, 'plot'), ['A ragtag group barricade themselves in an old farmhouse.']);
    const ids = movie.children.filter((child) => child.name === 'uniqueid');
    assert.deepEqual(
      ids.map((id) => [id.attributes.type, id.attributes.default, id.text]),
      [
        ['tmdb', 'true', '10331'],
        ['imdb', undefined, 'tt0063350'],
      ],
    );
  });

  test('only what is known: no year, no ids, no plot; an IMDb id alone is the default one', () => {
    const bare = parseXml(movieNfo({ title: 'Untitled Home Video' }));
    assert.deepEqual(
      bare.children.map((child) => child.name),
      ['title', 'originaltitle'],
    );
    const imdbOnly = parseXml(movieNfo({ title: 'Film', imdbId: 'tt0000001', year: 12345.6, runtimeMinutes: 0 }));
    const id = imdbOnly.children.find((child) => child.name === 'uniqueid');
    assert.deepEqual(id?.attributes, { type: 'imdb', default: 'true' });
    assert.deepEqual(childText(imdbOnly, 'runtime'), []);
  });

  test('markup in titles and plots is escaped and reads back unchanged', () => {
    const title = 'Tom & Jerry <3 "quotes" \'apos\' ]]> </movie>';
    const plot = 'Line one\nLine two & <b>bold</b>\tend';
    const xml = movieNfo({ title, plot, genres: ['Rock & Roll'] });
    assert.ok(xml.includes('Tom &amp; Jerry &lt;3 &quot;quotes&quot; &apos;apos&apos; ]]&gt; &lt;/movie&gt;'));
    assert.ok(!xml.includes('<b>'));
    const movie = parseXml(xml);
    assert.deepEqual(childText(movie, 'title'), [title]);
    assert.deepEqual(childText(movie, 'plot'), [plot]);
    assert.deepEqual(childText(movie, 'genre'), ['Rock & Roll']);
  });

  test('characters XML 1.0 forbids are removed, the rest kept', () => {
    const title = 'Bad\u0000\u0001\u0008\u000b\u000c\u001f chars\ufffe\uffff\ud800 ok: é 😀 \u0085';
    const xml = movieNfo({ title, plot: '\u0007' });
    const movie = parseXml(xml); // throws on a forbidden character
    assert.deepEqual(childText(movie, 'title'), ['Bad chars ok: é 😀 \u0085']);
    assert.deepEqual(childText(movie, 'plot'), []); // nothing left of it
    assert.equal(escapeXml('a\u0000&b'), 'a&amp;b');
  });

  test('the checker itself refuses what is not well-formed', () => {
    const prolog = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
    for (const bad of [
      `${prolog}<movie><title>a & b</title></movie>`,
      `${prolog}<movie><title>a < b</title></movie>`,
      `${prolog}<movie><title>x</movie></title>`,
      `${prolog}<movie>\u0001</movie>`,
      `${prolog}<movie></movie><movie></movie>`,
    ]) {
      assert.throws(() => parseXml(bad), Error, bad);
    }
  });
});
