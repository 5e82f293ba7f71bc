/**
 * The file name a server suggests in `Content-Disposition` (RFC 6266): `filename*` (RFC 8187,
 * `UTF-8''…` or `ISO-8859-1''…`, percent-encoded) before `filename` (a token or a quoted string).
 * The header is untrusted text: this never throws, reads a bounded header, and returns the name
 * as the server wrote it (it may hold `/`, `..` or control characters: file-name.ts makes it safe).
 */

/** Longer headers are ignored: no real file name needs more, and the scan stays cheap. */
const MAX_HEADER_LENGTH = 8 * 1024;

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** The suggested file name, or undefined when the header has none (or none that can be read). */
export function filenameFromContentDisposition(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return undefined;
  const parameters = dispositionParameters(header);
  const extended = parameters.get('filename*');
  const decoded = extended === undefined ? undefined : decodeExtendedValue(extended);
  if (decoded !== undefined && decoded !== '') return decoded;
  const plain = parameters.get('filename');
  return plain === undefined || plain === '' ? undefined : plain;
}

/**
 * The parameters after the disposition type, names in lower case, the first of each name kept.
 * A parameter that cannot be read is skipped up to the next `;` outside a quoted string.
 */
export function dispositionParameters(header: string): Map<string, string> {
  const parameters = new Map<string, string>();
  let index = header.indexOf(';');
  while (index !== -1 && index < header.length) {
    index = skipSpaces(header, index + 1);
    const nameStart = index;
    while (index < header.length && TOKEN_CHAR.test(header.charAt(index))) index++;
    const name = header.slice(nameStart, index).toLowerCase();
    index = skipSpaces(header, index);
    if (name === '' || header.charAt(index) !== '=') {
      index = nextSeparator(header, index);
      continue;
    }
    index = skipSpaces(header, index + 1);
    const value = header.charAt(index) === '"' ? quotedString(header, index) : tokenValue(header, index);
    index = value.end;
    if (value.text !== undefined && !parameters.has(name)) parameters.set(name, value.text);
    index = nextSeparator(header, index);
  }
  return parameters;
}

function skipSpaces(text: string, from: number): number {
  let index = from;
  while (text.charAt(index) === ' ' || text.charAt(index) === '\t') index++;
  return index;
}

/** The index of the next `;` at or after `from` that is outside a quoted string, or -1. */
function nextSeparator(text: string, from: number): number {
  let quoted = false;
  for (let index = from; index < text.length; index++) {
    const char = text.charAt(index);
    if (quoted && char === '\\') index++;
    else if (char === '"') quoted = !quoted;
    else if (char === ';' && !quoted) return index;
  }
  return -1;
}

/** A quoted string starting at `from` (its opening quote): unescaped text, or undefined if never closed. */
function quotedString(text: string, from: number): { text: string | undefined; end: number } {
  let out = '';
  for (let index = from + 1; index < text.length; index++) {
    const char = text.charAt(index);
    if (char === '"') return { text: out, end: index + 1 };
    if (char === '\\' && index + 1 < text.length) {
      index++;
      out += text.charAt(index);
    } else {
      out += char;
    }
  }
  return { text: undefined, end: text.length };
}

/** A bare value: everything up to `;` (browsers accept more than RFC tokens, spaces inside included). */
function tokenValue(text: string, from: number): { text: string | undefined; end: number } {
  const end = text.indexOf(';', from);
  const stop = end === -1 ? text.length : end;
  const value = text.slice(from, stop).trim();
  return { text: value === '' ? undefined : value, end: stop };
}

/** RFC 8187 `charset'language'value`; UTF-8 and ISO-8859-1 only (all that RFC 6266 asks for). */
export function decodeExtendedValue(value: string): string | undefined {
  const match = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'(.*)$/s.exec(value);
  if (match === null) return undefined;
  const charset = (match[1] ?? '').toLowerCase();
  const encoded = match[2] ?? '';
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined;
  const bytes: number[] = [];
  for (let index = 0; index < encoded.length; index++) {
    const char = encoded.charAt(index);
    if (char !== '%') {
      const code = encoded.charCodeAt(index);
      // attr-char is ASCII only; anything else means the sender did not encode its value.
      if (code > 0x7e || code < 0x21) return undefined;
      bytes.push(code);
      continue;
    }
    const hex = encoded.slice(index + 1, index + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    index += 2;
  }
  const data = Uint8Array.from(bytes);
  return charset === 'utf-8' ? new TextDecoder('utf-8', { fatal: false }).decode(data) : latin1(data);
}

function latin1(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}
