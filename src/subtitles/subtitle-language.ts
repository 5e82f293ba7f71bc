/**
 * The language and the forced/SDH flags a subtitle file's name states (`film.en.srt`,
 * `film.fre.forced.srt`, `2_English.srt`, `Subs/French.srt`, `film.pt-BR.srt`, `English.SDH.srt`),
 * so that players can label tracks and pick the user's language without opening the files.
 *
 * Codes and English names come from the ISO 639 tables of `iso-639-3`. Release names are full of
 * short tokens that happen to be language codes (`x264`, `WEB-DL`, `DV`, `TS`, `HI`…), so only the
 * *tail* of the name is read: from the end, flag words (forced, SDH, CC, HI, hearing impaired),
 * region qualifiers (`BR`, `419`, `Latin America`, `Simplified`) and one language. The first other
 * token ends the tail. Two-letter codes must stand alone after a dot or underscore, three-letter
 * codes only for languages that have a two-letter code too, and words that are also common English
 * or release words are never read as codes. A region qualifier goes into `name`
 * ("Portuguese (Brazil)"); `code` stays the bare ISO 639-1 code ("pt"), else the 639-3 code.
 */
import { iso6393 } from 'iso-639-3';

export interface SubtitleLanguage {
  /** ISO 639-1 code when the language has one ("en"), else its ISO 639-3 code ("yue"). */
  code: string;
  /** English name, with a region or script when the name states one ("Spanish (Latin America)"). */
  name: string;
}

export interface SubtitleFlags {
  /** Only the lines a viewer would not understand (foreign speech, signs). */
  forced: boolean;
  /** Subtitles for the deaf and hard of hearing (also named CC, HI, hearing impaired). */
  sdh: boolean;
}

interface LanguageEntry {
  code: string;
  name: string;
}

interface NameEntry {
  language: LanguageEntry;
  region?: string | undefined;
}

interface Token {
  /** The token as written. */
  text: string;
  /** Lower case, accents removed: what the tables are keyed by. */
  key: string;
  /** The characters between the previous token and this one ('' for the first). */
  sep: string;
}

/** Extensions stripped from a name before it is read (only these: `film.en` keeps its `en`). */
const SUBTITLE_EXTENSIONS = new Set(['srt', 'ass', 'ssa', 'vtt', 'sub', 'idx', 'sup', 'smi', 'sami', 'txt', 'sbv']);

/**
 * Two-letter codes never read as a language: `hi` is the hearing-impaired flag, the others are
 * release words (TS telesync, SD, BR BluRay, DV Dolby Vision, SE special edition, VO version
 * originale, ST sous-titres, NA) or roman numerals (II) far more often than Sindhi or Breton.
 */
const TWO_LETTER_STOP = new Set(['hi', 'ii', 'ts', 'sd', 'br', 'sc', 'dv', 'se', 'kr', 'vo', 'st', 'na']);

/** Three-letter codes that are also ordinary words in titles (`her`, `run`, `ice`, `cat`, `sun`…). */
const THREE_LETTER_STOP = new Set([
  'her',
  'run',
  'aka',
  'ice',
  'mac',
  'may',
  'cat',
  'pan',
  'sun',
  'kin',
  'bis',
  'hat',
  'sin',
  'ton',
  'tat',
  'som',
  'san',
  'ave',
  'mon',
  'lin',
  'ven',
  'che',
  'sag',
  'vol',
  'cha',
  'div',
  'lit',
]);

/** English names that are also common words ("afar"), or too short to trust ("ido", "ewe", "twi"). */
const NAME_STOP = new Set(['afar', 'ido', 'ewe', 'twi']);

/** Languages without an ISO 639-1 code that subtitles still come in, with the name players show. */
const EXTRA_LANGUAGES: Readonly<Record<string, string>> = { fil: 'Filipino', yue: 'Cantonese' };

/** Display names where the ISO table's is not what a viewer expects. */
const NAME_OVERRIDES: Readonly<Record<string, string>> = { ell: 'Greek' };

/** Other names (English, native, or in common use on subtitle sites): key → ISO 639-3 code and region. */
const NAME_ALIASES: Readonly<Record<string, readonly [string, string?]>> = {
  farsi: ['fas'],
  punjabi: ['pan'],
  pashto: ['pus'],
  sinhalese: ['sin'],
  kyrgyz: ['kir'],
  slovene: ['slv'],
  flemish: ['nld'],
  gaelic: ['gla'],
  bokmal: ['nob'],
  nynorsk: ['nno'],
  mandarin: ['zho'],
  cantonese: ['yue'],
  filipino: ['fil'],
  castilian: ['spa', 'Spain'],
  castellano: ['spa', 'Spain'],
  latino: ['spa', 'Latin America'],
  brazilian: ['por', 'Brazil'],
  vostfr: ['fra'],
  francais: ['fra'],
  deutsch: ['deu'],
  espanol: ['spa'],
  italiano: ['ita'],
  portugues: ['por'],
  nederlands: ['nld'],
  svenska: ['swe'],
  norsk: ['nor'],
  dansk: ['dan'],
  suomi: ['fin'],
  polski: ['pol'],
  magyar: ['hun'],
  cesky: ['ces'],
  cestina: ['ces'],
  turkce: ['tur'],
  русский: ['rus'],
  中文: ['zho'],
  简体: ['zho', 'Simplified'],
  繁体: ['zho', 'Traditional'],
  繁體: ['zho', 'Traditional'],
  日本語: ['jpn'],
  한국어: ['kor'],
};

/** Three-letter tokens used for Chinese scripts on subtitle sites (not ISO codes). */
const CODE_ALIASES: Readonly<Record<string, readonly [string, string]>> = {
  chs: ['zho', 'Simplified'],
  cht: ['zho', 'Traditional'],
};

/**
 * Region or script qualifiers. `subtag` ones (BCP 47 style: BR, 419, Hans) count only when joined
 * to the language by '-' or '_' (`pt-BR`, `es_419`) or written in capitals (`pt.BR`).
 */
const QUALIFIERS: Readonly<Record<string, { region: string; subtag?: true }>> = {
  br: { region: 'Brazil', subtag: true },
  brazil: { region: 'Brazil' },
  brasil: { region: 'Brazil' },
  brazilian: { region: 'Brazil' },
  pt: { region: 'Portugal', subtag: true },
  portugal: { region: 'Portugal' },
  european: { region: 'Europe' },
  '419': { region: 'Latin America', subtag: true },
  la: { region: 'Latin America', subtag: true },
  lat: { region: 'Latin America' },
  latam: { region: 'Latin America' },
  latin: { region: 'Latin America' },
  latino: { region: 'Latin America' },
  'latin america': { region: 'Latin America' },
  'latin american': { region: 'Latin America' },
  es: { region: 'Spain', subtag: true },
  spain: { region: 'Spain' },
  castilian: { region: 'Spain' },
  castellano: { region: 'Spain' },
  mx: { region: 'Mexico', subtag: true },
  mexico: { region: 'Mexico' },
  mexican: { region: 'Mexico' },
  ca: { region: 'Canada', subtag: true },
  canada: { region: 'Canada' },
  canadian: { region: 'Canada' },
  quebec: { region: 'Canada' },
  fr: { region: 'France', subtag: true },
  france: { region: 'France' },
  us: { region: 'United States', subtag: true },
  usa: { region: 'United States' },
  american: { region: 'United States' },
  gb: { region: 'United Kingdom', subtag: true },
  uk: { region: 'United Kingdom', subtag: true },
  british: { region: 'United Kingdom' },
  au: { region: 'Australia', subtag: true },
  australian: { region: 'Australia' },
  cn: { region: 'China', subtag: true },
  tw: { region: 'Taiwan', subtag: true },
  taiwan: { region: 'Taiwan' },
  hk: { region: 'Hong Kong', subtag: true },
  'hong kong': { region: 'Hong Kong' },
  hans: { region: 'Simplified', subtag: true },
  simplified: { region: 'Simplified' },
  chs: { region: 'Simplified' },
  hant: { region: 'Traditional', subtag: true },
  traditional: { region: 'Traditional' },
  cht: { region: 'Traditional' },
};

/** "European Portuguese" is Portugal's, "European Spanish" Spain's. */
const EUROPEAN_REGION: Readonly<Record<string, string>> = { pt: 'Portugal', es: 'Spain', fr: 'France' };

function normalise(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

function displayName(iso6393Code: string, isoName: string): string {
  return NAME_OVERRIDES[iso6393Code] ?? EXTRA_LANGUAGES[iso6393Code] ?? isoName.replace(/\s*\(.*\)\s*$/, '');
}

interface Tables {
  byIso6393: Map<string, LanguageEntry>;
  twoLetter: Map<string, LanguageEntry>;
  threeLetter: Map<string, LanguageEntry>;
  names: Map<string, NameEntry>;
}

let tables: Tables | undefined;

/** Built once, on first use, from the ISO 639 table (184 languages with a 639-1 code, plus a few). */
function languageTables(): Tables {
  if (tables) return tables;
  const built: Tables = { byIso6393: new Map(), twoLetter: new Map(), threeLetter: new Map(), names: new Map() };
  for (const language of iso6393) {
    const extra = Object.hasOwn(EXTRA_LANGUAGES, language.iso6393);
    if (!language.iso6391 && !extra) continue;
    const entry: LanguageEntry = {
      code: language.iso6391 ?? language.iso6393,
      name: displayName(language.iso6393, language.name),
    };
    built.byIso6393.set(language.iso6393, entry);
    if (language.iso6391 && !TWO_LETTER_STOP.has(language.iso6391)) built.twoLetter.set(language.iso6391, entry);
    for (const code of [language.iso6393, language.iso6392B, language.iso6392T]) {
      if (code && !THREE_LETTER_STOP.has(code)) built.threeLetter.set(code, entry);
    }
    for (const name of [entry.name, language.name.replace(/\s*\(.*\)\s*$/, '')]) {
      const key = nameKey(name);
      if (key && !NAME_STOP.has(key) && !built.names.has(key)) built.names.set(key, { language: entry });
    }
  }
  for (const [alias, [code, region]] of Object.entries(NAME_ALIASES)) {
    const language = built.byIso6393.get(code);
    if (language) built.names.set(nameKey(alias), { language, region });
  }
  tables = built;
  return built;
}

/** "Norwegian Bokmål" → "norwegian bokmal"; "Serbo-Croatian" → "serbo croatian". */
function nameKey(name: string): string {
  return (normalise(name).match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
}

function tokenize(stem: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const match of stem.matchAll(/[\p{L}\p{M}\p{N}]+/gu)) {
    const start = match.index;
    tokens.push({ text: match[0], key: normalise(match[0]), sep: stem.slice(last, start) });
    last = start + match[0].length;
  }
  return tokens;
}

/** A code must stand alone: at the start, or after a dot, underscore or opening bracket (not '-' or ' '). */
function standsAlone(token: Token): boolean {
  if (token.sep === '') return true;
  return /^[\s._()[\]]+$/.test(token.sep) && /[._([]/.test(token.sep);
}

interface Match {
  width: number;
}

/** The language whose name or code ends at token `end`. */
function languageEndingAt(tokens: readonly Token[], end: number): (NameEntry & Match) | null {
  const { names, twoLetter, threeLetter, byIso6393 } = languageTables();
  for (let width = Math.min(3, end + 1); width >= 1; width--) {
    const key = tokens
      .slice(end - width + 1, end + 1)
      .map((token) => token.key)
      .join(' ');
    const named = names.get(key);
    if (named) return { ...named, width };
  }
  const token = tokens[end];
  if (!token || !standsAlone(token)) return null;
  if (token.key.length === 2) {
    const language = twoLetter.get(token.key);
    return language ? { language, width: 1 } : null;
  }
  if (token.key.length === 3) {
    const alias = CODE_ALIASES[token.key];
    const aliased = alias ? byIso6393.get(alias[0]) : undefined;
    if (alias && aliased) return { language: aliased, region: alias[1], width: 1 };
    const language = threeLetter.get(token.key);
    return language ? { language, width: 1 } : null;
  }
  return null;
}

/** A region qualifier ending at token `end`: after the language (`pt-BR`, `Spanish (Latin America)`) or before it. */
function qualifierEndingAt(
  tokens: readonly Token[],
  end: number,
  position: 'after' | 'before',
): (Match & { region: string }) | null {
  for (let width = Math.min(2, end + 1); width >= 1; width--) {
    const words = tokens.slice(end - width + 1, end + 1);
    const qualifier = QUALIFIERS[words.map((token) => token.key).join(' ')];
    if (!qualifier) continue;
    const first = words[0];
    if (qualifier.subtag) {
      if (position === 'before' || !first) continue;
      const joined = first.sep === '-' || first.sep === '_';
      const capitals = first.text !== first.text.toLowerCase();
      if (!joined && !capitals) continue;
    }
    return { region: qualifier.region, width };
  }
  return null;
}

function flagEndingAt(tokens: readonly Token[], end: number): (Match & Partial<SubtitleFlags>) | null {
  const key = tokens[end]?.key;
  if (key === 'forced') return { forced: true, width: 1 };
  if (key === 'sdh' || key === 'cc' || key === 'hi' || key === 'hearingimpaired') return { sdh: true, width: 1 };
  if (key === 'impaired' && tokens[end - 1]?.key === 'hearing') return { sdh: true, width: 2 };
  return null;
}

interface Tail extends SubtitleFlags {
  language: LanguageEntry | null;
  region: string | null;
  /** Index of the first token the tail holds (tokens.length when it holds none). */
  start: number;
}

/** Reads flags, qualifiers and one language from the end of a name, up to the first other token. */
function readTail(tokens: readonly Token[]): Tail {
  const tail: Tail = { language: null, region: null, forced: false, sdh: false, start: tokens.length };
  let i = tokens.length - 1;
  // "English (2).srt", "English_1.srt": a small number at the very end is a copy number.
  if (i > 0 && /^\d{1,2}$/.test(tokens[i]?.key ?? '')) i--;
  while (i >= 0) {
    const flag = flagEndingAt(tokens, i);
    if (flag) {
      tail.forced ||= flag.forced === true;
      tail.sdh ||= flag.sdh === true;
      i -= flag.width;
      tail.start = i + 1;
      continue;
    }
    if (tail.language) break;
    const after = qualifierEndingAt(tokens, i, 'after');
    const qualified = after ? languageEndingAt(tokens, i - after.width) : null;
    const found = qualified ?? languageEndingAt(tokens, i);
    if (!found) break;
    tail.language = found.language;
    tail.region = found.region ?? (qualified && after ? after.region : null);
    i -= found.width + (qualified && after ? after.width : 0);
    if (!tail.region) {
      const before = qualifierEndingAt(tokens, i, 'before');
      if (before) {
        tail.region = before.region;
        i -= before.width;
      }
    }
    tail.start = i + 1;
  }
  return tail;
}

function toLanguage(tail: Tail): SubtitleLanguage | null {
  if (!tail.language) return null;
  const region =
    tail.region === 'Europe' ? (EUROPEAN_REGION[tail.language.code] ?? tail.region) : (tail.region ?? undefined);
  return { code: tail.language.code, name: region ? `${tail.language.name} (${region})` : tail.language.name };
}

/** The last component of a '/'-separated path (a '\' counts as a separator too). */
function splitPath(path: string): { folder: string; base: string } {
  const normalised = path.replace(/\\/g, '/');
  const slash = normalised.lastIndexOf('/');
  return { folder: slash < 0 ? '' : normalised.slice(0, slash), base: normalised.slice(slash + 1) };
}

function stemOf(base: string): string {
  const dot = base.lastIndexOf('.');
  if (dot < 0) return base;
  return SUBTITLE_EXTENSIONS.has(base.slice(dot + 1).toLowerCase()) ? base.slice(0, dot) : base;
}

/** A folder named after a language (`Subs/English/1.srt`, `Subtitles/pt-BR/x.srt`): all of its name must be read. */
function languageFromFolder(folder: string): SubtitleLanguage | null {
  const components = folder.split('/').filter((component) => component !== '');
  const last = components.at(-1);
  if (last === undefined) return null;
  const tokens = tokenize(last);
  const tail = readTail(tokens);
  if (tokens.slice(0, tail.start).some((token) => !/^\d{1,2}$/.test(token.key))) return null;
  return toLanguage(tail);
}

/**
 * The language a subtitle's file name states, or else the name of the folder it is in.
 * `fileName` may carry folders (`Subs/French.srt`); `folderPath` is the folder it is in when
 * `fileName` is a bare name. Null when neither names a language.
 */
export function languageFromName(fileName: string, folderPath?: string): SubtitleLanguage | null {
  const { folder, base } = splitPath(fileName);
  const fromName = toLanguage(readTail(tokenize(stemOf(base))));
  if (fromName) return fromName;
  const folders = [folderPath ?? '', folder].filter((part) => part !== '').join('/');
  return languageFromFolder(folders.replace(/\\/g, '/'));
}

/** The forced and SDH flags at the end of a subtitle's file name (`film.en.forced.srt`, `English (SDH).srt`). */
export function subtitleFlags(fileName: string): SubtitleFlags {
  const tail = readTail(tokenize(stemOf(splitPath(fileName).base)));
  return { forced: tail.forced, sdh: tail.sdh };
}
