/**
 * A small, strict XML reader for tests: well-formedness (one root, matched tags, only XML 1.0
 * characters, known entities) and the element tree, enough to read a Kodi/Jellyfin `movie.nfo` back.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(xml: string): XmlElement {
  for (const character of xml) {
    const code = character.codePointAt(0) ?? 0;
    if (!isXmlChar(code)) throw new Error(`not an XML character: U+${code.toString(16)}`);
  }
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at ${at}: ${JSON.stringify(xml.slice(at, at + 30))}`);
  };
  const expect = (literal: string): void => {
    if (!xml.startsWith(literal, at)) fail(`expected ${JSON.stringify(literal)}`);
    at += literal.length;
  };
  const skipSpace = (): void => {
    while (at < xml.length && ' \t\r\n'.includes(xml[at] ?? '')) at++;
  };
  const isNameChar = (character: string | undefined): boolean =>
    character !== undefined &&
    ((character >= 'a' && character <= 'z') ||
      (character >= 'A' && character <= 'Z') ||
      (character >= '0' && character <= '9') ||
      character === '_' ||
      character === '-' ||
      character === '.' ||
      character === ':');
  const name = (): string => {
    const start = at;
    while (isNameChar(xml[at])) at++;
    if (at === start) fail('expected a name');
    return xml.slice(start, at);
  };
  const reference = (): string => {
    expect('&');
    const end = xml.indexOf(';', at);
    if (end === -1) fail('unterminated reference');
    const body = xml.slice(at, end);
    at = end + 1;
    if (body.startsWith('#x')) return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    const value = ENTITIES[body];
    if (value === undefined) fail(`unknown entity &${body};`);
    return value ?? '';
  };
  const element = (): XmlElement => {
    expect('<');
    const node: XmlElement = { name: name(), attributes: {}, children: [], text: '' };
    for (;;) {
      skipSpace();
      if (xml.startsWith('/>', at)) {
        at += 2;
        return node;
      }
      if (xml[at] === '>') {
        at++;
        break;
      }
      const attribute = name();
      skipSpace();
      expect('=');
      skipSpace();
      const quote = xml[at];
      if (quote !== '"' && quote !== "'") fail('expected a quoted value');
      at++;
      let value = '';
      while (xml[at] !== quote) {
        if (at >= xml.length || xml[at] === '<') fail('bad attribute value');
        if (xml[at] === '&') value += reference();
        else value += xml[at++];
      }
      at++;
      if (attribute in node.attributes) fail(`duplicate attribute ${attribute}`);
      node.attributes[attribute] = value;
    }
    for (;;) {
      if (at >= xml.length) fail(`unclosed <${node.name}>`);
      if (xml.startsWith('</', at)) {
        at += 2;
        if (name() !== node.name) fail(`mismatched </…> for <${node.name}>`);
        skipSpace();
        expect('>');
        return node;
      }
      if (xml[at] === '<') node.children.push(element());
      else if (xml[at] === '&') node.text += reference();
      else if (xml.startsWith(']]>', at)) fail(']]> in character data');
      else node.text += xml[at++];
    }
  };
  expect('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>');
  skipSpace();
  const root = element();
  skipSpace();
  if (at !== xml.length) fail('content after the root element');
  return root;
}

export function childText(node: XmlElement, name: string): string[] {
  return node.children.filter((child) => child.name === name).map((child) => child.text);
}
