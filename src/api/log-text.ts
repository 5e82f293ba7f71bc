/**
 * The server log as people read it at a terminal: one line per event, time, level, what happened.
 * Pino writes JSON lines; this turns each into text (`CHILLY_LOG_FORMAT=text`, the default on a
 * terminal). Values come from requests (a URL, a refused Origin): control characters are shown
 * escaped, never sent to the terminal.
 */

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields already shown in the line's own words, or noise at a terminal. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'req', 'res', 'responseTime', 'reqId']);

/** C0 and C1 control characters and DEL: what a terminal would act on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is its purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function printable(text: string): string {
  return text.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : new Date();
  return date.toISOString().slice(11, 19);
}

function field(name: string, value: unknown): string {
  if (typeof value === 'string') return `${name}=${JSON.stringify(printable(value))}`;
  if (value instanceof Object) return `${name}=${printable(JSON.stringify(value))}`;
  return `${name}=${String(value)}`;
}

/** One JSON log line as text (ending in a newline); a line that is not JSON is passed on as it is. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[Number(entry.level)] ?? String(entry.level);
  const req = entry.req as { method?: unknown; url?: unknown } | undefined;
  const res = entry.res as { statusCode?: unknown } | undefined;
  const parts = [clock(entry.time), level];
  if (req !== undefined && res !== undefined) {
    const ms = typeof entry.responseTime === 'number' ? ` ${entry.responseTime.toFixed(1)} ms` : '';
    parts.push(`${printable(String(req.method))} ${printable(String(req.url))} → ${String(res.statusCode)}${ms}`);
  } else if (typeof entry.msg === 'string') {
    parts.push(printable(entry.msg));
  }
  for (const [name, value] of Object.entries(entry)) {
    if (!SHOWN.has(name) && value !== undefined) parts.push(field(name, value));
  }
  return `${parts.join(' ')}\n`;
}
