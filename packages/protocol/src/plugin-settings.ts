/**
 * A plugin's settings: what it declares (`plugin.json`'s `config`, kept as the Plugin item's
 * `configJson`) and what one run is given (the PluginRun's `config`, JSON text). The Pod refuses a
 * run whose settings do not fit its Plugin's declaration; the kit applies the defaults.
 */
import { z } from 'zod';
import { describeIssues } from './values.js';

const SettingType = z.enum(['Text', 'Integer', 'Real', 'Bool']);
export type SettingType = z.infer<typeof SettingType>;
export type SettingValue = string | number | boolean;

/** One setting: its type, and optionally a default, what it is for, and whether a run must give it. */
export const Setting = z
  .strictObject({
    type: SettingType,
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    description: z.string().optional(),
    required: z.boolean().optional(),
  })
  .refine((setting) => setting.default === undefined || fits(setting.type, setting.default), {
    error: 'its default is not of its type',
  });
export type Setting = z.infer<typeof Setting>;

/** Setting name → its declaration: `plugin.json`'s `config`, the Plugin item's `configJson`. */
const SettingName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a setting name is a word');
export const PluginSettings = z.record(SettingName, Setting);
export type PluginSettings = z.infer<typeof PluginSettings>;
/** Setting name → value: a PluginRun's `config` (its JSON text), or the settings a run runs with. */
export type RunSettings = Record<string, SettingValue>;

function fits(type: SettingType, value: unknown): value is SettingValue {
  switch (type) {
    case 'Text':
      return typeof value === 'string';
    case 'Integer':
      return Number.isSafeInteger(value);
    case 'Real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'Bool':
      return typeof value === 'boolean';
  }
}

/** Reads the JSON text of settings declarations (a Plugin's `configJson`); none when absent. Throws saying why. */
export function parsePluginSettings(json: unknown): PluginSettings {
  if (json === undefined || json === null || json === '') return {};
  let raw: unknown;
  try {
    raw = typeof json === 'string' ? JSON.parse(json) : json;
  } catch {
    throw new Error('configJson is not JSON');
  }
  const checked = PluginSettings.safeParse(raw);
  if (!checked.success) throw new Error(describeIssues(checked.error, 'configJson'));
  return checked.data;
}

/**
 * The settings a run runs with: `given` (a run's `config`, JSON text or an object; none when
 * absent) checked against `declared`, defaults applied. Throws naming the setting that does not fit.
 */
export function runSettings(declared: PluginSettings, given: unknown): RunSettings {
  let raw: unknown = given ?? {};
  if (typeof raw === 'string') {
    try {
      raw = raw === '' ? {} : JSON.parse(raw);
    } catch {
      throw new Error("the run's config is not JSON");
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error("the run's config must be a JSON object of setting name → value");
  const values = raw as Record<string, unknown>;
  const settings: RunSettings = {};
  for (const [name, value] of Object.entries(values)) {
    const setting = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!setting) {
      const known = Object.keys(declared);
      const declares = known.length ? `it declares ${known.join(', ')}` : 'it declares none';
      throw new Error(`setting ${JSON.stringify(name)} is not declared by the plugin (${declares})`);
    }
    if (!fits(setting.type, value))
      throw new Error(`setting ${JSON.stringify(name)} must be ${setting.type}, not ${JSON.stringify(value)}`);
    settings[name] = value;
  }
  for (const [name, setting] of Object.entries(declared)) {
    if (Object.hasOwn(settings, name)) continue;
    if (setting.default !== undefined) settings[name] = setting.default;
    else if (setting.required) throw new Error(`setting ${JSON.stringify(name)} (${setting.type}) is required`);
  }
  return settings;
}

/** A setting's value from text (a command line's `name=value`), by its declared type. */
export function settingFromText(declared: PluginSettings, name: string, text: string): SettingValue {
  const setting = Object.hasOwn(declared, name) ? declared[name] : undefined;
  if (!setting) return text; // runSettings names it as undeclared
  const number = Number(text);
  switch (setting.type) {
    case 'Text':
      return text;
    case 'Integer':
    case 'Real':
      if (text.trim() === '' || !fits(setting.type, number))
        throw new Error(`setting ${JSON.stringify(name)} must be ${setting.type}, not ${JSON.stringify(text)}`);
      return number;
    case 'Bool':
      if (text !== 'true' && text !== 'false')
        throw new Error(`setting ${JSON.stringify(name)} must be true or false, not ${JSON.stringify(text)}`);
      return text === 'true';
  }
}
