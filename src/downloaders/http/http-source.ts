/**
 * A direct download's source as the service takes it: an http(s) URL of one file, checked once
 * when the job is added, with what the job is named after.
 */
import { createHash } from 'node:crypto';
import { ChillyError } from '../../domain/errors.js';
import { parseHttpUrl } from '../../http/outbound-request.js';
import { lastPathSegment } from './file-name.js';

export interface HttpSource {
  /** The URL as the job keeps it (`sourceUrn`). */
  url: string;
  /** The file name the URL suggests (the server may name it otherwise when the download starts). */
  name: string | undefined;
  /** 40 hex digits from the URL, to tell two jobs of the same name apart. */
  key: string;
}

/**
 * Checks `sourceUrn` as an http(s) URL (`invalid_source` otherwise). A user name or password in
 * it is refused: the URL is stored with the job and shown wherever the job is, in lists and logs.
 */
export function resolveHttpSource(sourceUrn: unknown): HttpSource {
  const text = typeof sourceUrn === 'string' ? sourceUrn.trim() : '';
  const url = parseHttpUrl(text, {
    code: 'invalid_source',
    message: 'A sourceType "http" job needs the http(s) URL of the file in sourceUrn.',
  });
  if (url.username !== '' || url.password !== '') {
    throw new ChillyError(
      'invalid_source',
      'Put no user name or password in the URL: it is stored and shown with the job. Use a link that needs no sign-in.',
    );
  }
  url.hash = '';
  const href = url.href;
  return { url: href, name: lastPathSegment(url), key: createHash('sha1').update(href).digest('hex') };
}
