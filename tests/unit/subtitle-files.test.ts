import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findSubtitles, MAX_SUBTITLE_BYTES, subtitleFormatOf } from '../../src/subtitles/subtitle-files.js';
import { languageFromName, subtitleFlags } from '../../src/subtitles/subtitle-language.js';

describe('languageFromName', () => {
  test('codes, names and folders of the usual layouts', () => {
    const cases: [string, string | null, string | null][] = [
      ['film.en.srt', 'en', 'English'],
      ['film.eng.srt', 'en', 'English'],
      ['film.ENG.srt', 'en', 'English'],
      ['film.fre.forced.srt', 'fr', 'French'],
      ['film.fra.srt', 'fr', 'French'],
      ['film.ger.srt', 'de', 'German'],
      ['film.deu.sdh.srt', 'de', 'German'],
      ['film.de.srt', 'de', 'German'],
      ['film.nl.srt', 'nl', 'Dutch'],
      ['film_spa.srt', 'es', 'Spanish'],
      ['2_English.srt', 'en', 'English'],
      ['Subs/French.srt', 'fr', 'French'],
      ['Subs/Film/3_Spanish (Latin America).srt', 'es', 'Spanish (Latin America)'],
      ['film.pt-BR.srt', 'pt', 'Portuguese (Brazil)'],
      ['film.pt_BR.srt', 'pt', 'Portuguese (Brazil)'],
      ['film.es-419.srt', 'es', 'Spanish (Latin America)'],
      ['film.zh-Hans.srt', 'zh', 'Chinese (Simplified)'],
      ['film.chs.ass', 'zh', 'Chinese (Simplified)'],
      ['Chinese (Traditional).srt', 'zh', 'Chinese (Traditional)'],
      ['Brazilian Portuguese.srt', 'pt', 'Portuguese (Brazil)'],
      ['Latin American Spanish.srt', 'es', 'Spanish (Latin America)'],
      ['English.SDH.srt', 'en', 'English'],
      ['English (Forced).srt', 'en', 'English'],
      ['English [CC].srt', 'en', 'English'],
      ['english.srt', 'en', 'English'],
      ['en.srt', 'en', 'English'],
      ['film.Greek.srt', 'el', 'Greek'],
      ['film.ell.srt', 'el', 'Greek'],
      ['film.Français.srt', 'fr', 'French'],
      ['film.Norwegian Bokmål.srt', 'nb', 'Norwegian Bokmål'],
      ['film.Cantonese.srt', 'yue', 'Cantonese'],
      ['film.fil.srt', 'fil', 'Filipino'],
      ['film.Persian.srt', 'fa', 'Persian'],
      ['film.farsi.srt', 'fa', 'Persian'],
      ['English (2).srt', 'en', 'English'],
      ['Movie.2019.1080p.BluRay.x264-GROUP.English.HI.srt', 'en', 'English'],
    ];
    for (const [name, code, english] of cases) {
      const language = languageFromName(name);
      assert.deepEqual(language, code === null ? null : { code, name: english }, name);
    }
  });

  test('a folder named after a language, when the file name names none', () => {
    assert.deepEqual(languageFromName('1.srt', 'Subs/English'), { code: 'en', name: 'English' });
    assert.deepEqual(languageFromName('Subs/pt-BR/1.srt'), { code: 'pt', name: 'Portuguese (Brazil)' });
    assert.deepEqual(languageFromName('Subs/2_French/x.srt'), { code: 'fr', name: 'French' });
    assert.equal(languageFromName('Subs/Film/1.srt'), null);
    assert.equal(languageFromName('x.srt', 'Subs'), null);
    // The file's own name wins over its folder's.
    assert.deepEqual(languageFromName('Subs/English/film.de.srt'), { code: 'de', name: 'German' });
  });

  test('release words, titles and stray short tokens are not languages', () => {
    for (const name of [
      'The.Movie.2019.1080p.WEB-DL.x264.srt',
      'The.Movie.2019.1080p.BluRay.x264-SPARKS.srt',
      'Movie.2019.WEB-DL.srt',
      'Movie.WEB.srt',
      'Movie.dl.srt',
      'Movie.DVDRip.srt',
      'Movie.rip.srt',
      'Movie.x265-FR.srt',
      'Movie.2160p.DV.srt',
      'Movie.TS.srt',
      'Movie.YTS.MX.srt',
      'Movie.hi.srt',
      'Movie.and.srt',
      'Movie.the.srt',
      'Movie.sub.srt',
      'Movie.subs.srt',
      'Movie.forced.srt',
      'Movie.sdh.srt',
      'Movie.cc.srt',
      'Rocky.II.srt',
      'Hi.Mom.srt',
      'The.English.Patient.1996.srt',
      'French.Kiss.1995.srt',
      'Movie.Part.1.srt',
      'Big.Mac.srt',
      'On.Ice.srt',
      'Movie - en.srt',
      'Movie-en.srt',
      'From.Afar.srt',
      'subs.srt',
      '',
      '.srt',
    ]) {
      assert.equal(languageFromName(name), null, name);
    }
  });

  test('flags: forced, and SDH under its names', () => {
    const cases: [string, boolean, boolean][] = [
      ['film.fre.forced.srt', true, false],
      ['film.en.sdh.srt', false, true],
      ['English.SDH.srt', false, true],
      ['English (Forced).srt', true, false],
      ['film.en.cc.srt', false, true],
      ['film.en.hi.srt', false, true],
      ['film.HI.srt', false, true],
      ['English (Hearing Impaired).srt', false, true],
      ['film.en.forced.sdh.srt', true, true],
      ['film.forced.eng.srt', true, false],
      ['film.en.srt', false, false],
      ['Hi.Mom.2021.srt', false, false],
      ['Forced.Entry.1975.srt', false, false],
    ];
    for (const [name, forced, sdh] of cases) assert.deepEqual(subtitleFlags(name), { forced, sdh }, name);
  });
});

describe('findSubtitles', () => {
  const MB = 1024 * 1024;
  const file = (path: string, length = 40_000) => ({ path, length });

  test('formats by extension, and sizes that are not subtitles', () => {
    assert.equal(subtitleFormatOf('a/b.SRT'), 'srt');
    assert.equal(subtitleFormatOf('b.ass'), 'ass');
    assert.equal(subtitleFormatOf('b.ssa'), 'ssa');
    assert.equal(subtitleFormatOf('b.vtt'), 'vtt');
    assert.equal(subtitleFormatOf('b.sub'), null);
    assert.equal(subtitleFormatOf('srt'), null);
    const tracks = findSubtitles([
      file('Movie/Movie.mkv', 2_000 * MB),
      file('Movie/Movie.en.srt', 0),
      file('Movie/Movie.de.srt', MAX_SUBTITLE_BYTES + 1),
      file('Movie/Movie.fr.srt', MAX_SUBTITLE_BYTES),
      file('Movie/Movie.idx'),
      file('Movie/Movie.sub'),
    ]);
    assert.deepEqual(
      tracks.map((track) => track.path),
      ['Movie/Movie.fr.srt'],
    );
  });

  test('one video: every subtitle is its, with language, flags and label', () => {
    const tracks = findSubtitles([
      file('Movie (2019)/Subs/English.srt'),
      file('Movie (2019)/Movie.2019.1080p.mkv', 2_000 * MB),
      file('Movie (2019)/Subs/French.forced.srt'),
      file('Movie (2019)/Movie.2019.1080p.en.sdh.srt'),
      file('Movie (2019)/Subs/weird-name.ass'),
      file('Movie (2019)/RARBG.txt'),
    ]);
    assert.deepEqual(
      tracks.map(({ index, path, format, language, forced, sdh, videoIndex, label }) => ({
        index,
        path,
        format,
        code: language?.code ?? null,
        forced,
        sdh,
        videoIndex,
        label,
      })),
      [
        {
          index: 3,
          path: 'Movie (2019)/Movie.2019.1080p.en.sdh.srt',
          format: 'srt',
          code: 'en',
          forced: false,
          sdh: true,
          videoIndex: 1,
          label: 'English (SDH)',
        },
        {
          index: 0,
          path: 'Movie (2019)/Subs/English.srt',
          format: 'srt',
          code: 'en',
          forced: false,
          sdh: false,
          videoIndex: 1,
          label: 'English',
        },
        {
          index: 2,
          path: 'Movie (2019)/Subs/French.forced.srt',
          format: 'srt',
          code: 'fr',
          forced: true,
          sdh: false,
          videoIndex: 1,
          label: 'French (forced)',
        },
        {
          index: 4,
          path: 'Movie (2019)/Subs/weird-name.ass',
          format: 'ass',
          code: null,
          forced: false,
          sdh: false,
          videoIndex: 1,
          label: 'weird-name.ass',
        },
      ],
    );
  });

  test("a subtitle named exactly like its video names no language (the title's words are not read)", () => {
    const [track] = findSubtitles([file('It.mkv', 900 * MB), file('It.srt')]);
    assert.equal(track?.videoIndex, 0);
    assert.equal(track?.language, null);
    const [other] = findSubtitles([file('Let.It.Be.mkv', 900 * MB), file('Let.It.Be.srt'), file('Let.It.Be.hi.srt')]);
    assert.equal(other?.language, null);
  });

  test('two videos: by name, beside it or in a Subs folder; otherwise none', () => {
    const files = [
      file('Pack/Film.One.2001.mkv', 1_000 * MB),
      file('Pack/Film.Two.2003.mkv', 1_000 * MB),
      file('Pack/Film.One.2001.en.srt'),
      file('Pack/Film.Two.2003.fre.srt'),
      file('Pack/Subs/Film.Two.2003.spa.forced.srt'),
      file('Pack/Subs/English.srt'),
      file('Other/Film.One.2001.de.srt'),
    ];
    const byPath = new Map(findSubtitles(files).map((track) => [track.path, track]));
    assert.equal(byPath.get('Pack/Film.One.2001.en.srt')?.videoIndex, 0);
    assert.equal(byPath.get('Pack/Film.Two.2003.fre.srt')?.videoIndex, 1);
    assert.equal(byPath.get('Pack/Subs/Film.Two.2003.spa.forced.srt')?.videoIndex, 1);
    assert.equal(byPath.get('Pack/Subs/Film.Two.2003.spa.forced.srt')?.label, 'Spanish (forced)');
    assert.equal(byPath.get('Pack/Subs/English.srt')?.videoIndex, null);
    // Not beside the video, nor in a Subs folder next to it.
    assert.equal(byPath.get('Other/Film.One.2001.de.srt')?.videoIndex, null);
  });

  test('the longest video name wins, and a name must end at a separator', () => {
    const tracks = findSubtitles([
      file('Show.Part.1.mkv', 500 * MB),
      file('Show.Part.10.mkv', 500 * MB),
      file('Show.Part.10.en.srt'),
      file('Show.Part.1.en.srt'),
    ]);
    assert.deepEqual(
      tracks.map((track) => [track.path, track.videoIndex]),
      [
        ['Show.Part.1.en.srt', 0],
        ['Show.Part.10.en.srt', 1],
      ],
    );
  });

  test('Subs/<video name>/n_Language.srt, as releases lay them out', () => {
    const tracks = findSubtitles([
      file('Show.S01/Show.S01E01.1080p.mkv', 700 * MB),
      file('Show.S01/Show.S01E02.1080p.mkv', 700 * MB),
      file('Show.S01/Subs/Show.S01E01.1080p/2_English.srt'),
      file('Show.S01/Subs/Show.S01E01.1080p/3_English.srt'),
      file('Show.S01/Subs/Show.S01E02.1080p/2_English.srt'),
      file('Show.S01/Subs/Show.S01E02.1080p/4_French.srt'),
    ]);
    assert.deepEqual(
      tracks.map((track) => [track.path, track.videoIndex, track.language?.code, track.label]),
      [
        ['Show.S01/Subs/Show.S01E01.1080p/2_English.srt', 0, 'en', 'English'],
        ['Show.S01/Subs/Show.S01E01.1080p/3_English.srt', 0, 'en', 'English (2)'],
        ['Show.S01/Subs/Show.S01E02.1080p/2_English.srt', 1, 'en', 'English'],
        ['Show.S01/Subs/Show.S01E02.1080p/4_French.srt', 1, 'fr', 'French'],
      ],
    );
  });

  test("a Subs folder's subtitles go to the one video of the folder holding it", () => {
    const tracks = findSubtitles([
      file('A/a.mkv', 700 * MB),
      file('A/Subtitles/English.srt'),
      file('B/b.mkv', 700 * MB),
      file('B/Subs/French/1.srt'),
      file('B/notes.vtt'),
    ]);
    assert.deepEqual(
      tracks.map((track) => [track.path, track.videoIndex, track.language?.code ?? null]),
      [
        ['A/Subtitles/English.srt', 0, 'en'],
        ['B/Subs/French/1.srt', 2, 'fr'],
        ['B/notes.vtt', 2, null],
      ],
    );
  });

  test('a sample clip is not counted as a second video', () => {
    const tracks = findSubtitles([
      file('Movie/Sample/movie-sample.mkv', 30 * MB),
      file('Movie/movie.mkv', 3_000 * MB),
      file('Movie/English.srt'),
      file('Subs/French.srt'),
    ]);
    assert.deepEqual(
      tracks.map((track) => [track.path, track.videoIndex]),
      [
        ['Movie/English.srt', 1],
        ['Subs/French.srt', 1],
      ],
    );
  });

  test('no video: tracks without one; order is by path whatever the input order', () => {
    const files = [file('z.srt'), file('a/b.vtt'), file('A.ass'), file('m.ssa')];
    const tracks = findSubtitles(files);
    assert.deepEqual(
      tracks.map((track) => [track.path, track.index, track.videoIndex]),
      [
        ['A.ass', 2, null],
        ['a/b.vtt', 1, null],
        ['m.ssa', 3, null],
        ['z.srt', 0, null],
      ],
    );
    assert.deepEqual(
      findSubtitles([...files].reverse()).map((track) => track.path),
      tracks.map((track) => track.path),
    );
    assert.deepEqual(findSubtitles([]), []);
  });
});
