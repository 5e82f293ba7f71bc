/**
 * The API token: generated once into `<dataDir>/api-token`, readable by the owner only.
 * `CHILLY_TOKEN` (passed as `override`) wins and nothing is written.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { MIN_TOKEN_LENGTH } from '../config/defaults.js';
import { ChillyError } from '../domain/errors.js';

export const TOKEN_FILE_NAME = 'api-token';

export interface ApiToken {
  token: string;
  /** The file that holds it; undefined when it came from the override. */
  file: string | undefined;
  source: 'override' | 'file' | 'created';
}

/** 32 random bytes, base64url: 256 bits, safe in a header and a shell. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Reads the token file, creating it first if it is missing. A file that other users could read
 * (or that is not a regular file owned by us) is refused, not silently fixed: its token may
 * already have leaked, so the user should delete it (a new one is made) or `chmod 600` it.
 */
export async function loadOrCreateToken(dataDir: string, override?: string): Promise<ApiToken> {
  if (override !== undefined) {
    if (override.length < MIN_TOKEN_LENGTH) {
      throw new ChillyError('validation_failed', `CHILLY_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters.`);
    }
    return { token: override, file: undefined, source: 'override' };
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, TOKEN_FILE_NAME);
  const existing = await readExisting(file);
  if (existing !== undefined) return { token: existing, file, source: 'file' };
  const created = await createExclusively(file);
  // When another process won the race, its token is the one.
  const token = await readExisting(file);
  if (token === undefined) fail(file, 'vanished while it was being created');
  return { token, file, source: created ? 'created' : 'file' };
}

async function readExisting(file: string): Promise<string | undefined> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // A symlink could point the server at any file; permissions mean nothing on Windows.
  if (!stats.isFile()) fail(file, 'is not a regular file');
  if (process.platform !== 'win32') {
    if ((stats.mode & 0o077) !== 0) {
      fail(
        file,
        `is readable by other users (mode ${(stats.mode & 0o777).toString(8)}); run chmod 600 on it or delete it`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) fail(file, 'belongs to another user');
  }
  const token = (await readFile(file, 'utf8')).trim();
  if (token.length < MIN_TOKEN_LENGTH) fail(file, 'holds no usable token; delete it and a new one is made');
  return token;
}

/**
 * Writes the whole token to a temporary 0600 file, then hard-links it into place: the link fails
 * if the file already exists, so readers never see a half-written token and two starts cannot
 * each write their own.
 */
async function createExclusively(file: string): Promise<boolean> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${generateToken()}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

function fail(file: string, problem: string): never {
  throw new ChillyError('validation_failed', `Refusing to use the API token file ${file}: it ${problem}.`);
}
