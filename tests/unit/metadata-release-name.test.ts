import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filenameParse } from '@ctrl/video-filename-parser';
import { type ParsedReleaseName, parseReleaseName } from '../../src/metadata/release-name.js';
import { normalizeTitle } from '../../src/metadata/title-match.js';

/**
 * Real-world-shaped names: scene and P2P releases, YTS/YIFY folders, Plex-style folders, files
 * inside folders, underscores, brackets, titles that contain numbers or years, non-English titles.
 * `title` is the title the name carries (compared without case, accents or punctuation: matching
 * against TMDB's spelling is title-match.ts's job), `year` its release year (null: none given).
 */
interface Case {
  name: string;
  title: string;
  year: number | null;
  expect?: Partial<Omit<ParsedReleaseName, 'title' | 'year'>>;
}

const CASES: Case[] = [
  {
    name: 'The.Matrix.1999.1080p.BluRay.x264-GRP',
    title: 'The Matrix',
    year: 1999,
    expect: { resolution: '1080p', source: 'bluray', codec: 'h264', group: 'GRP', edition: [] },
  },
  { name: '2001 A Space Odyssey 1968', title: '2001 A Space Odyssey', year: 1968, expect: { resolution: null } },
  { name: '2001.A.Space.Odyssey.1968.1080p.BluRay.x264-AMIABLE', title: '2001 A Space Odyssey', year: 1968 },
  { name: 'Blade Runner 2049 (2017)', title: 'Blade Runner 2049', year: 2017, expect: { source: null } },
  {
    name: 'Blade.Runner.2049.2017.2160p.UHD.BluRay.x265-TERMiNAL',
    title: 'Blade Runner 2049',
    year: 2017,
    expect: { resolution: '2160p', source: 'bluray', codec: 'h265', group: 'TERMiNAL' },
  },
  { name: '1917.2019.1080p.BluRay.x264-SPARKS', title: '1917', year: 2019, expect: { group: 'SPARKS' } },
  {
    name: '1917 (2019) [1080p] [BluRay] [5.1] [YTS.MX]',
    title: '1917',
    year: 2019,
    expect: { resolution: '1080p', source: 'bluray', group: 'YTS.MX' },
  },
  { name: '1917.1080p.BluRay.x264', title: '1917', year: null, expect: { resolution: '1080p' } },
  { name: '2012.2009.1080p.BluRay.x264-METiS', title: '2012', year: 2009 },
  { name: '1984.1984.720p.BluRay', title: '1984', year: 1984, expect: { resolution: '720p' } },
  { name: 'Wonder.Woman.1984.2020.1080p.WEB-DL', title: 'Wonder Woman 1984', year: 2020, expect: { source: 'web-dl' } },
  { name: '300.2006.1080p.BluRay.x264', title: '300', year: 2006 },
  { name: '10.Cloverfield.Lane.2016.1080p.WEB-DL.DD5.1.H264-FGT', title: '10 Cloverfield Lane', year: 2016 },
  { name: '21.Jump.Street.2012.720p.BluRay.x264-SPARKS', title: '21 Jump Street', year: 2012 },
  { name: 'Apollo.13.1995.1080p.BluRay', title: 'Apollo 13', year: 1995 },
  { name: 'Nineteen.Eighty-Four.1984.720p.BluRay', title: 'Nineteen Eighty-Four', year: 1984 },
  {
    name: 'Amélie.2001.FRENCH.1080p.BluRay.x264-GRP',
    title: 'Amélie',
    year: 2001,
    expect: { group: 'GRP', source: 'bluray' },
  },
  {
    name: 'Le_Fabuleux_Destin_d_Amelie_Poulain_2001_720p_BluRay',
    title: 'Le Fabuleux Destin d Amelie Poulain',
    year: 2001,
    expect: { resolution: '720p', source: 'bluray' },
  },
  { name: 'Fight_Club_1999_1080p_BluRay_x264', title: 'Fight Club', year: 1999, expect: { codec: 'h264' } },
  {
    name: 'Crouching Tiger Hidden Dragon 2000 CHINESE 1080p BluRay',
    title: 'Crouching Tiger Hidden Dragon',
    year: 2000,
  },
  { name: 'Sen to Chihiro no Kamikakushi (2001) [1080p]', title: 'Sen to Chihiro no Kamikakushi', year: 2001 },
  {
    name: '千と千尋の神隠し.2001.1080p.BluRay.x264',
    title: '千と千尋の神隠し',
    year: 2001,
    expect: { source: 'bluray' },
  },
  { name: 'Три богатыря 2004 1080p', title: 'Три богатыря', year: 2004, expect: { resolution: '1080p', source: null } },
  { name: 'Брат.1997.720p.BDRip.x264', title: 'Брат', year: 1997, expect: { source: 'bluray' } },
  { name: '기생충.Parasite.2019.1080p.BluRay', title: '기생충 Parasite', year: 2019 },
  { name: 'Der.Untergang.2004.GERMAN.720p.BluRay.x264-DETAiLS', title: 'Der Untergang', year: 2004 },
  {
    name: 'Das.Boot.1981.Directors.Cut.1080p.BluRay',
    title: 'Das Boot',
    year: 1981,
    expect: { edition: ['directors-cut'] },
  },
  { name: 'Cidade.de.Deus.2002.PORTUGUESE.1080p.BluRay', title: 'Cidade de Deus', year: 2002 },
  { name: 'Y.Tu.Mama.Tambien.2001.SPANISH.1080p.BluRay', title: 'Y Tu Mama Tambien', year: 2001 },
  { name: 'Léon.The.Professional.1994.Extended.1080p', title: 'Léon The Professional', year: 1994 },
  { name: 'Oldboy.2003.KOREAN.1080p.BluRay.x264', title: 'Oldboy', year: 2003 },
  { name: 'Ghost.in.the.Shell.1995.JAPANESE.1080p.BluRay.x264', title: 'Ghost in the Shell', year: 1995 },
  { name: 'Alien³.1992.1080p.BluRay', title: 'Alien³', year: 1992 },
  { name: '[YTS.AM] Parasite (2019) [1080p] [BluRay]', title: 'Parasite', year: 2019, expect: { source: 'bluray' } },
  {
    name: 'Parasite.2019.KOREAN.1080p.BluRay.H264.AAC-VXT',
    title: 'Parasite',
    year: 2019,
    expect: { codec: 'h264', group: 'VXT' },
  },
  { name: 'www.Torrenting.com - Inception 2010 720p', title: 'Inception', year: 2010, expect: { resolution: '720p' } },
  { name: 'Inception (2010) 1080p', title: 'Inception', year: 2010, expect: { resolution: '1080p', source: null } },
  {
    name: 'The Lord of the Rings The Fellowship of the Ring 2001 EXTENDED 1080p BluRay x264',
    title: 'The Lord of the Rings The Fellowship of the Ring',
    year: 2001,
    expect: { edition: ['extended'] },
  },
  {
    name: 'Blade.Runner.1982.Final.Cut.1080p.BluRay.x264-GRP',
    title: 'Blade Runner',
    year: 1982,
    expect: { edition: ['final-cut'] },
  },
  {
    name: 'Alien.1979.Directors.Cut.REMASTERED.720p.BluRay.x264',
    title: 'Alien',
    year: 1979,
    expect: { edition: ['directors-cut', 'remastered'] },
  },
  { name: 'Se7en.1995.REMASTERED.1080p.BluRay.x264-GRP', title: 'Se7en', year: 1995 },
  {
    name: 'Gladiator.2000.Extended.Remastered.1080p.BluRay',
    title: 'Gladiator',
    year: 2000,
    expect: { edition: ['extended', 'remastered'] },
  },
  {
    name: 'Chungking.Express.1994.CRITERION.1080p.BluRay',
    title: 'Chungking Express',
    year: 1994,
    expect: { edition: ['criterion'] },
  },
  {
    name: 'Oppenheimer.2023.IMAX.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-FLUX',
    title: 'Oppenheimer',
    year: 2023,
    expect: { resolution: '2160p', source: 'web-dl', codec: 'h265', edition: ['imax'], group: 'FLUX' },
  },
  {
    name: 'Dune.Part.Two.2024.1080p.WEB-DL.DDP5.1.Atmos.H.264-FLUX',
    title: 'Dune Part Two',
    year: 2024,
    expect: { codec: 'h264' },
  },
  {
    name: 'Mission.Impossible.Dead.Reckoning.Part.One.2023.1080p.AMZN.WEB-DL',
    title: 'Mission Impossible Dead Reckoning Part One',
    year: 2023,
    expect: { source: 'web-dl' },
  },
  {
    name: 'Spider-Man.Across.the.Spider-Verse.2023.1080p.WEBRip.x264.AAC5.1-YTS.MX',
    title: 'Spider-Man Across the Spider-Verse',
    year: 2023,
    expect: { source: 'webrip' },
  },
  {
    name: 'The Godfather Part II (1974) 1080p BrRip x264 - YIFY',
    title: 'The Godfather Part II',
    year: 1974,
    expect: { group: 'YIFY', source: 'bluray' },
  },
  { name: 'Pulp Fiction (1994)', title: 'Pulp Fiction', year: 1994 },
  { name: 'Pulp Fiction 1994', title: 'Pulp Fiction', year: 1994 },
  {
    name: 'Heat.1995.720p.BRRip.XviD.AC3-ViSiON.avi',
    title: 'Heat',
    year: 1995,
    expect: { resolution: '720p', source: 'bluray', codec: 'xvid', group: 'ViSiON' },
  },
  { name: 'Star.Wars.Episode.IV.A.New.Hope.1977.1080p.BluRay', title: 'Star Wars Episode IV A New Hope', year: 1977 },
  { name: 'WALL-E.2008.1080p.BluRay.x264', title: 'WALL-E', year: 2008 },
  { name: 'M.1931.720p.BluRay.x264-CiNEFiLE', title: 'M', year: 1931, expect: { group: 'CiNEFiLE' } },
  { name: 'L.A.Confidential.1997.1080p.BluRay', title: 'L.A. Confidential', year: 1997 },
  { name: 'The.Man.from.U.N.C.L.E.2015.1080p.BluRay', title: 'The Man from U.N.C.L.E.', year: 2015 },
  { name: 'Amores Perros (2000) [BluRay] [1080p]', title: 'Amores Perros', year: 2000 },
  { name: 'The.Good.the.Bad.and.the.Ugly.1966.REMASTERED.1080p', title: 'The Good the Bad and the Ugly', year: 1966 },
  { name: 'Mad.Max.Fury.Road.2015.1080p.BluRay.x264-SPARKS', title: 'Mad Max Fury Road', year: 2015 },
  {
    name: 'Interstellar.2014.2160p.UHD.BluRay.REMUX.HDR.HEVC.Atmos-EPSiLON',
    title: 'Interstellar',
    year: 2014,
    expect: { codec: 'h265', source: 'bluray', group: 'EPSiLON' },
  },
  { name: 'Joker.2019.720p.HDRip.x264-GRP', title: 'Joker', year: 2019 },
  { name: 'Tenet 2020 1080p HDCAM', title: 'Tenet', year: 2020, expect: { source: 'cam' } },
  { name: 'Tenet.2020.HDTS.x264', title: 'Tenet', year: 2020, expect: { source: 'telesync' } },
  {
    name: 'The Shawshank Redemption 1994 DVDRip XviD',
    title: 'The Shawshank Redemption',
    year: 1994,
    expect: { source: 'dvd', resolution: null, codec: 'xvid' },
  },
  { name: 'Kill.Bill.Vol.1.2003.1080p.BluRay', title: 'Kill Bill Vol 1', year: 2003 },
  { name: 'Back.to.the.Future.Part.III.1990.1080p', title: 'Back to the Future Part III', year: 1990 },
  { name: "Ocean's.Eleven.2001.1080p.BluRay", title: "Ocean's Eleven", year: 2001 },
  { name: 'Rocky.IV.1985.1080p.BluRay', title: 'Rocky IV', year: 1985 },
  { name: 'Seven.Samurai.1954.1080p.BluRay', title: 'Seven Samurai', year: 1954 },
  { name: 'Independence.Day.1996.EXTENDED.1080p', title: 'Independence Day', year: 1996 },
  { name: 'Jurassic.Park.1993.3D.HSBS.1080p.BluRay', title: 'Jurassic Park', year: 1993, expect: { edition: ['3d'] } },
  { name: 'Schindlers.List.1993.BW.1080p.BluRay', title: 'Schindlers List', year: 1993 },
  { name: 'Up.2009.1080p.BluRay', title: 'Up', year: 2009 },
  { name: 'Her.2013.1080p.BluRay', title: 'Her', year: 2013 },
  { name: 'Coco.2017.1080p.WEB.H264-STRiFE', title: 'Coco', year: 2017, expect: { source: 'web-dl', codec: 'h264' } },
  {
    name: 'Inception.2010.1080p.BluRay.x264-SPARKS-Obfuscated',
    title: 'Inception',
    year: 2010,
    expect: { group: 'SPARKS' },
  },
  // Files and folders.
  {
    name: 'The.Thing.1982.1080p.BluRay.x264-GRP/The.Thing.1982.1080p.BluRay.x264-GRP.mkv',
    title: 'The Thing',
    year: 1982,
  },
  {
    name: 'movies/Arrival (2016)/Arrival.2016.1080p.BluRay.x264.mkv',
    title: 'Arrival',
    year: 2016,
    expect: { resolution: '1080p' },
  },
  { name: 'Arrival.2016.1080p.BluRay.x264.mkv', title: 'Arrival', year: 2016 },
  {
    name: 'Heat (1995)/heat-1080p.mkv',
    title: 'Heat',
    year: 1995,
    expect: { resolution: '1080p' },
  },
  {
    name: 'C:\\Movies\\Se7en (1995)\\abcd1234.mkv',
    title: 'Se7en',
    year: 1995,
  },
  { name: 'Sicario.2015.1080p.BluRay.x264-SPARKS/sparks-sicario-1080p.mkv', title: 'Sicario', year: 2015 },
  {
    name: 'Zodiac.2007.Directors.Cut.720p.BluRay.x264.mp4',
    title: 'Zodiac',
    year: 2007,
    expect: { edition: ['directors-cut'] },
  },
];

function fullyRight(parsed: ParsedReleaseName | { title: string; year: number | null }, expected: Case): boolean {
  return normalizeTitle(parsed.title) === normalizeTitle(expected.title) && parsed.year === expected.year;
}

describe('parseReleaseName', () => {
  test('the corpus has at least 50 names', () => {
    assert.ok(CASES.length >= 50, `${CASES.length} names`);
    assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'names are unique');
  });

  for (const expected of CASES) {
    test(expected.name, () => {
      const parsed = parseReleaseName(expected.name);
      assert.ok(fullyRight(parsed, expected), `got ${JSON.stringify({ title: parsed.title, year: parsed.year })}`);
      for (const [field, value] of Object.entries(expected.expect ?? {})) {
        assert.deepEqual(parsed[field as keyof ParsedReleaseName], value, `${field} of ${expected.name}`);
      }
    });
  }

  test('figure: names fully right (title and year), library alone vs our wrapper', (t) => {
    const library = CASES.filter((c) => {
      const raw = filenameParse(c.name);
      return fullyRight({ title: raw.title, year: raw.year ? Number(raw.year) : null }, c);
    }).length;
    const ours = CASES.filter((c) => fullyRight(parseReleaseName(c.name), c)).length;
    t.diagnostic(
      `release names: ${CASES.length}; fully right: ours ${ours}, @ctrl/video-filename-parser alone ${library}`,
    );
    assert.equal(ours, CASES.length);
  });

  test('empty, blank and path-only input give an empty title rather than throwing', () => {
    for (const input of ['', '   ', '/', 'a/b/']) {
      const parsed = parseReleaseName(input);
      assert.equal(typeof parsed.title, 'string');
    }
    assert.deepEqual(parseReleaseName(''), {
      title: '',
      year: null,
      resolution: null,
      source: null,
      codec: null,
      edition: [],
      group: null,
    });
  });

  test('a title word that looks like a placeholder survives', () => {
    assert.equal(parseReleaseName('Xuqa.Léon.1994.1080p').title, 'Xuqa Léon');
  });
});
