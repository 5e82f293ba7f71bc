/** The configuration as `chilly config` shows it. */
import type { ChillyConfig } from './chilly-config.js';
import { SETTINGS, type SettingKey } from './settings.js';

/** The configuration as it may be shown: a secret that is set becomes `********`, one that is not, null. */
export function maskedConfig(config: ChillyConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const spec of SETTINGS) {
    if (!('secret' in spec) || !spec.secret) continue;
    const parts = spec.key.split('.');
    const last = parts.pop() ?? spec.key;
    let holder: Record<string, unknown> | undefined = copy;
    for (const part of parts) holder = holder?.[part] as Record<string, unknown> | undefined;
    // null (not undefined) so that JSON output still lists the key.
    if (holder !== undefined) holder[last] = holder[last] === undefined ? null : '********';
  }
  return copy;
}

/** A setting's value in a ChillyConfig, by dotted key. */
export function settingValue(config: ChillyConfig | Record<string, unknown>, key: SettingKey): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}
