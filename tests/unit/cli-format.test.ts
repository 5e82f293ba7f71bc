import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientBaseUrl } from '../../src/cli/api.js';
import { formatBytes, formatEta, formatPercent, progressLine, renderTable } from '../../src/cli/format.js';
import { createStyle, type OutputStream } from '../../src/cli/io.js';
import { createProgressView } from '../../src/cli/progress.js';
import { emptyProgress, type Job } from '../../src/domain/job.js';
import { jobIdFromName as defaultJobId, disambiguatedJobId } from '../../src/domain/job-id.js';

function job(overrides: Partial<Job> = {}): Job {
  return {
    id: 'night-1968',
    sourceType: 'torrent',
    sourceUrn: 'magnet:?xt=urn:btih:0000000000000000000000000000000000000000',
    status: 'downloading',
    sequential: false,
    progress: {
      ...emptyProgress(),
      fraction: 0.4231,
      bytesDone: 423 * 1024 * 1024,
      bytesTotal: 1000 * 1024 * 1024,
      downloadSpeed: 3.2 * 1024 * 1024,
      peers: 4,
      etaSeconds: 181,
    },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function capture(isTTY: boolean): OutputStream & { text: string } {
  const stream = {
    text: '',
    isTTY,
    columns: 120,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
    // cli-progress moves the cursor with these on a terminal.
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    on: () => stream,
    removeListener: () => stream,
  };
  return stream;
}

describe('CLI formatting', () => {
  it('formats sizes, ETAs and percentages the way people read them', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(700 * 1024), '700 KiB');
    assert.equal(formatBytes(5.25 * 1024 ** 3), '5.3 GiB');
    assert.equal(formatBytes(null), '-');
    assert.equal(formatEta(null), '-');
    assert.equal(formatEta(9.4), '9s');
    assert.equal(formatEta(181), '3m01s');
    assert.equal(formatEta(3 * 3600 + 120), '3h02m');
    assert.equal(formatPercent(0.4231), '42.3%');
    assert.equal(formatPercent(0.99999), '99.9%', 'never 100% before it is');
    assert.equal(formatPercent(1), '100.0%');
  });

  it('writes one ASCII line per update for logs', () => {
    assert.equal(
      progressLine(job()),
      'night-1968: downloading, 42.3%, 423 MiB of 1000 MiB, down 3.2 MiB/s, 4 peers, ETA 3m01s',
    );
    assert.equal(
      progressLine(job({ status: 'queued', progress: emptyProgress() })),
      'night-1968: queued, 0.0%',
      'no speed or ETA for a job that is not moving',
    );
  });

  it('aligns tables and shrinks the one flexible column to the terminal width', () => {
    const rows = [
      { id: 'a', size: '1 B', name: 'A short name' },
      { id: 'longer-id', size: '700 KiB', name: 'A much longer name that will not fit' },
    ];
    const columns = [
      { header: 'ID', value: (row: (typeof rows)[number]) => row.id },
      { header: 'SIZE', value: (row: (typeof rows)[number]) => row.size, align: 'right' as const },
      { header: 'NAME', value: (row: (typeof rows)[number]) => row.name, shrink: true },
    ];
    assert.equal(
      renderTable(rows, columns),
      [
        'ID            SIZE  NAME',
        'a              1 B  A short name',
        'longer-id  700 KiB  A much longer name that will not fit',
      ].join('\n'),
    );
    const narrow = renderTable(rows, columns, 40).split('\n');
    assert.ok(
      narrow.every((line) => line.length <= 40),
      narrow.join('\n'),
    );
    assert.match(narrow[2] ?? '', /…$/);
  });

  it('colours only when asked to', () => {
    assert.equal(createStyle(false).green('ok'), 'ok');
    assert.equal(createStyle(true).green('ok'), '\u001b[32mok\u001b[39m');
  });

  it('prints plain lines without a terminal: on every state change, else at most every interval', () => {
    let now = 0;
    const stream = capture(false);
    const view = createProgressView(stream, { plainIntervalMs: 5_000, now: () => now });
    view.update(job({ status: 'verifying' }));
    view.update(job());
    now = 1_000;
    view.update(job());
    now = 6_000;
    view.update(job());
    view.stop();
    const lines = stream.text.trimEnd().split('\n');
    assert.equal(lines.length, 3, stream.text);
    assert.match(lines[0] ?? '', /^night-1968: verifying/);
    assert.equal(stream.text.includes('\u001b'), false);
  });

  it('draws a bar on a terminal', () => {
    const stream = capture(true);
    const view = createProgressView(stream);
    view.update(job({ name: 'Night of the Living Dead' }));
    view.stop();
    assert.match(stream.text, /Night of the Living Dead .*█+░+ +42\.3% 423 MiB\/1000 MiB \| ↓ 3\.2 MiB\/s/);
    assert.match(stream.text, /4 peers \| ETA 3m01s \| downloading/);
  });
});

describe('job ids and addresses', () => {
  it('derives a readable id from the torrent name, or the info-hash', () => {
    const infoHash = 'dd8255ecdc7ca55fb0bbf81323d87062db1f6d1c';
    assert.equal(defaultJobId({ name: 'Big Buck Bunny (2008) [1080p].mkv', infoHash }), 'big-buck-bunny-2008-1080p');
    assert.equal(defaultJobId({ name: 'Amélie', infoHash }), 'amelie');
    assert.equal(defaultJobId({ name: '???', infoHash }), 'dd8255ecdc7c');
    assert.equal(defaultJobId({ name: undefined, infoHash }), 'dd8255ecdc7c');
    assert.equal(disambiguatedJobId({ name: 'Sintel', infoHash }), 'sintel-dd8255ec');
    assert.equal(disambiguatedJobId({ name: undefined, infoHash }), infoHash);
    assert.ok(defaultJobId({ name: 'x'.repeat(300), infoHash }).length <= 64);
  });

  it('connects to this machine when the server listens on every interface', () => {
    assert.equal(clientBaseUrl({ host: '127.0.0.1', port: 3000 }), 'http://127.0.0.1:3000');
    assert.equal(clientBaseUrl({ host: '0.0.0.0', port: 3000 }), 'http://127.0.0.1:3000');
    assert.equal(clientBaseUrl({ host: '::', port: 80 }), 'http://[::1]:80');
    assert.equal(clientBaseUrl({ host: '[::1]', port: 1 }), 'http://[::1]:1');
    assert.equal(clientBaseUrl({ host: 'films.lan', port: 2 }), 'http://films.lan:2');
  });
});
