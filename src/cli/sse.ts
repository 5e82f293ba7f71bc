/** Server-Sent Events, parsed as the WHATWG spec says, from text that arrives in arbitrary chunks. */

export interface SseMessage {
  /** Named events (`event: resync`); undefined for plain messages. */
  event?: string;
  data?: string;
  id?: string;
  retry?: number;
}

export class SseParser {
  private buffer = '';
  private current: SseMessage = {};
  private dataLines: string[] = [];
  private hasFields = false;

  /** Feeds a chunk; returns the messages it completed. Comment-only blocks are skipped. */
  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (match === null) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const message = this.line(line);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.hasFields = true;
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.current.event = value;
    else if (field === 'id' && !value.includes('\0')) this.current.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.current.retry = Number(value);
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    if (!this.hasFields) return undefined;
    const message = this.current;
    if (this.dataLines.length > 0) message.data = this.dataLines.join('\n');
    this.current = {};
    this.dataLines = [];
    this.hasFields = false;
    return message;
  }
}
