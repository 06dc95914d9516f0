// Loads and validates Ferry's settings from the environment; a bad value stops the process with a message naming it.
import { SETTINGS, type FerryConfig, type Setting, type SettingKey } from './settings';

export { SETTINGS, type FerryConfig, type SettingKey, type Setting } from './settings';

export class ConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`invalid ${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Reads every setting from env (default: process.env), applying overrides last. Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<FerryConfig> = {}): Readonly<FerryConfig> {
  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [SettingKey, Setting<unknown>][]) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') {
      config[key] = setting.default;
      continue;
    }
    try {
      config[key] = setting.parse(raw);
    } catch (err) {
      throw new ConfigError(setting.env, (err as Error).message);
    }
  }
  return Object.freeze({ ...(config as FerryConfig), ...stripUndefined(overrides) });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The settings as a Markdown table (for `ferry config --markdown` and the README). */
export function settingsTable(): string {
  const rows = Object.values(SETTINGS).map((s: Setting<unknown>) => {
    const def = s.shownDefault ?? (s.default === undefined ? '(unset)' : String(s.default));
    return `| \`${s.env}\` | ${def === '' ? '(empty)' : `\`${def}\``} | ${s.doc} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The URL with any password replaced, for log lines and status output. */
export function redactUrl(raw: string | undefined): string | undefined {
  if (!raw) return raw;
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
