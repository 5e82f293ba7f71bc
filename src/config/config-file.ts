/**
 * The config file: where it is (`--config`, `CHILLY_CONFIG` or the default location), reading it,
 * and checking its JSON against SETTINGS, with messages that name the file and the key.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { closestName } from './closest-name.js';
import { ConfigError } from './config-error.js';
import { type Environment, nonEmptyString } from './environment.js';
import { settingFromJson } from './setting-values.js';
import { SETTINGS, type SettingKey } from './settings.js';
import { defaultConfigFile, expandHome } from './user-folders.js';

export interface ConfigFileInfo {
  path: string;
  /** Who named it: `--config`, `CHILLY_CONFIG`, or the default location. */
  origin: 'flag' | 'env' | 'default';
  /** false when the default location holds no file (which is fine). */
  loaded: boolean;
}

export function locateConfigFile(
  explicit: string | false | undefined,
  env: Environment,
  cwd: string,
  platform: NodeJS.Platform,
): ConfigFileInfo | undefined {
  if (explicit === false) return undefined;
  if (explicit !== undefined)
    return { path: path.resolve(cwd, expandHome(explicit, env)), origin: 'flag', loaded: false };
  const fromEnv = nonEmptyString(env.CHILLY_CONFIG);
  if (fromEnv !== undefined) return { path: path.resolve(cwd, expandHome(fromEnv, env)), origin: 'env', loaded: false };
  return { path: defaultConfigFile(env, platform), origin: 'default', loaded: false };
}

/** The file's text; undefined when the default location has no file. A named file must exist. */
export function readConfigFile(file: ConfigFileInfo): string | undefined {
  try {
    return readFileSync(file.path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && file.origin === 'default') return undefined;
    const namedBy = file.origin === 'flag' ? '--config' : 'CHILLY_CONFIG';
    const source = file.origin === 'flag' ? 'flag' : 'env';
    const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(cause)})`;
    throw new ConfigError(source, `Config file ${file.path} (named by ${namedBy}) ${reason}.`, { cause });
  }
}

const GROUPS = new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0] ?? ''));

/** Checks the file's JSON against SETTINGS: every key known, every value of the right type. */
export function parseConfigFile(text: string, file: string, env: Environment): Array<[SettingKey, unknown]> {
  const fail = (message: string, cause?: unknown): never => {
    throw new ConfigError('file', `Invalid config file ${file}: ${message}`, { cause });
  };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    fail(`not valid JSON (${cause instanceof Error ? cause.message : String(cause)}).`, cause);
  }
  if (!isPlainObject(document)) return fail('expected a JSON object such as { "port": 3000 }.');
  const entries: Array<[SettingKey, unknown]> = [];
  const visit = (object: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(object)) {
      const key = `${prefix}${name}`;
      if (prefix === '' && name === '$schema') continue;
      if (prefix === '' && GROUPS.has(name)) {
        if (!isPlainObject(value)) fail(`"${key}" must be an object with ${groupKeys(name)}.`);
        visit(value as Record<string, unknown>, `${key}.`);
        continue;
      }
      const spec = SETTINGS.find((s) => s.key === key);
      if (spec === undefined) {
        const known = SETTINGS.map((s) => s.key);
        const hint = closestName(key, known);
        fail(
          `unknown key "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}. Known keys: ${known.join(', ')}.`,
        );
        return;
      }
      entries.push([spec.key, settingFromJson(spec, value, file, env)]);
    }
  };
  visit(document, '');
  return entries;
}

function groupKeys(group: string): string {
  return SETTINGS.filter((s) => s.key.startsWith(`${group}.`))
    .map((s) => `"${s.key.slice(group.length + 1)}"`)
    .join(', ');
}

/** Whether users other than the owner may read the file (worth a warning when it holds secrets). */
export function readableByOthers(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
