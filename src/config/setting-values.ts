/**
 * Checking one setting's value against its kind, whether it comes as text (environment, flags)
 * or as JSON (the config file), with messages that name where it came from.
 */
import path from 'node:path';
import { isNetworkMode, NETWORK_MODES } from '../domain/network-mode.js';
import { ConfigError } from './config-error.js';
import type { ConfigSource } from './config-source.js';
import { MIN_TOKEN_LENGTH } from './defaults.js';
import { ENGINE_KINDS, isEngineKind, parseEnginePathMap } from './engine-settings.js';
import type { Environment } from './environment.js';
import { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS } from './log-settings.js';
import type { SettingSpec } from './settings.js';
import { expandHome } from './user-folders.js';

function expected(spec: SettingSpec): string {
  switch (spec.kind) {
    case 'integer':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'decimal':
      return 'a number >= 0';
    case 'boolean':
      return 'true or false';
    case 'network':
      return NETWORK_MODES.map((mode) => `"${mode}"`).join(' or ');
    case 'engine':
      return ENGINE_KINDS.map((kind) => `"${kind}"`).join(', ');
    case 'pathMap':
      return '"/engine/folder=/local/folder" (both absolute)';
    case 'logLevel':
      return LOG_LEVELS.map((level) => `"${level}"`).join(', ');
    case 'logFormat':
      return LOG_FORMATS.map((format) => `"${format}"`).join(', ');
    case 'list':
      return 'a list of names';
    case 'url':
      return 'an http(s) URL';
    case 'token':
      return `a string of at least ${MIN_TOKEN_LENGTH} characters`;
    default:
      return 'a non-empty string';
  }
}

/** Checks one value for one setting; `wrong` throws the source's own message. */
function check(spec: SettingSpec, value: unknown, wrong: (what: string) => never): unknown {
  switch (spec.kind) {
    case 'integer': {
      const ok = typeof value === 'number' && Number.isInteger(value) && value >= (spec.min ?? 0);
      return ok && value <= (spec.max ?? Number.MAX_SAFE_INTEGER) ? value : wrong(expected(spec));
    }
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : wrong(expected(spec));
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong(expected(spec));
    case 'network':
      return isNetworkMode(value) ? value : wrong(expected(spec));
    case 'engine':
      return isEngineKind(value) ? value : wrong(expected(spec));
    case 'pathMap':
      return (typeof value === 'string' ? parseEnginePathMap(value) : undefined) ?? wrong(expected(spec));
    case 'logLevel':
      return isLogLevel(value) ? value : wrong(expected(spec));
    case 'logFormat':
      return isLogFormat(value) ? value : wrong(expected(spec));
    case 'list':
      return Array.isArray(value) && value.every((item) => typeof item === 'string' && item.trim() !== '')
        ? value.map((item: string) => item.trim())
        : wrong(expected(spec));
    case 'url': {
      if (typeof value !== 'string') return wrong(expected(spec));
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')
        ? value.replace(/\/+$/, '')
        : wrong(expected(spec));
    }
    case 'token':
      return typeof value === 'string' && value.trim().length >= MIN_TOKEN_LENGTH
        ? value.trim()
        : wrong(expected(spec));
    default:
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : wrong(expected(spec));
  }
}

/** How on/off is written in variables and flags. */
const TEXT_BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

/** A value from the environment or a flag: text, converted to the setting's type. */
export function settingFromText(spec: SettingSpec, raw: string, source: ConfigSource, cwd: string): unknown {
  const shown = spec.secret ? '…' : raw;
  const wrong = (what: string): never => {
    const where = source.kind === 'env' ? `${spec.env}=${JSON.stringify(shown)} (environment)` : '';
    const label = source.kind === 'flag' ? `--${spec.flag} ${JSON.stringify(shown)}` : where;
    throw new ConfigError(source.kind, `Invalid ${label}: expected ${what}.`);
  };
  let value: unknown = raw.trim();
  if (spec.kind === 'integer' || spec.kind === 'decimal') value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (spec.kind === 'list') value = raw.split(',').filter((item) => item.trim() !== '');
  if (spec.kind === 'boolean') value = TEXT_BOOLEANS[raw.trim().toLowerCase()] ?? raw;
  const checked = check(spec, value, wrong);
  return spec.kind === 'path' ? path.resolve(cwd, checked as string) : checked;
}

/** A value from the config file: JSON, which must already have the right type. Paths are relative to the file. */
export function settingFromJson(spec: SettingSpec, value: unknown, file: string, env: Environment): unknown {
  const wrong = (what: string): never => {
    const shown = spec.secret ? '"…"' : JSON.stringify(value);
    throw new ConfigError('file', `Invalid config file ${file}: "${spec.key}" must be ${what} (got ${shown}).`);
  };
  const checked = check(spec, value, wrong);
  return spec.kind === 'path' ? path.resolve(path.dirname(file), expandHome(checked as string, env)) : checked;
}
