/**
 * Text from a server or a torrent, made safe to print on a terminal. A torrent's name, its file
 * paths, a server's error messages and movie titles are chosen by strangers: raw, an ESC or an
 * 8-bit CSI starts a control sequence (retitle the terminal, clear the screen, rewrite the
 * clipboard with OSC 52), CR and LF forge lines (a fake `ls` row), and bidi overrides show text in
 * an order other than its own. Every such character is shown as an escape instead, so the text
 * stays readable and can be reported as it is.
 */

/**
 * What is escaped: every control character (C0 U+0000–U+001F with TAB, LF and CR, DEL, C1
 * U+0080–U+009F), the bidi controls (ALM U+061C, LRM/RLM U+200E–U+200F, the embeddings and
 * overrides U+202A–U+202E, the isolates U+2066–U+2069), the line and paragraph separators
 * U+2028–U+2029, and lone surrogates (which a terminal would get as U+FFFD anyway).
 */
const UNSAFE = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|\p{Cs}/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(char: string): string {
  const short = SHORT_ESCAPES[char];
  if (short !== undefined) return short;
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * `text` with every character a terminal would act on shown as an escape: ESC as `\x1b`, LF as
 * `\n`, U+202E as `\u{202e}`. Text without such characters comes back unchanged, and so does what
 * this returns (the escapes are plain characters). Backslashes are left alone, so a name that
 * really holds `\x1b` reads the same as one with an ESC: this is for people, not for parsing.
 */
export function terminalSafe(text: string): string {
  // String(): a server's JSON need not hold the types its fields promise.
  return String(text).replace(UNSAFE, visible);
}

/** The same characters inside JSON text: JSON.stringify escapes C0 and lone surrogates, not DEL, C1 or bidi. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * `value` as indented JSON that parses back to exactly the same value, with no character a terminal
 * would act on: those can only stand inside JSON strings, where `\uXXXX` means the same character.
 */
export function terminalSafeJson(value: unknown): string {
  // JSON.stringify gives undefined for undefined (and functions): print what JSON has for nothing.
  return (JSON.stringify(value, null, 2) ?? 'null').replace(
    JSON_UNSAFE,
    (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}
