/** Plugin permissions: what a Plugin item's `permissions` (and `plugin.json`'s) may grant. */
import { z } from 'zod';
import { PROPERTY_NAME, describeIssues } from './values.js';

/** `"*"` (every property) or a list of property names. */
export const PropertyList = z.union([z.literal('*'), z.array(z.string())], {
  error: 'must be "*" or an array of property names',
});
/** Property → the value an item must hold for the rule to apply to it (equality, like search). */
export const ValueFilter = z.record(
  z.string().regex(PROPERTY_NAME, 'a "where" key must be a property name'),
  z.union([z.string(), z.number(), z.boolean()]),
);
/**
 * What a plugin may do with one item type. The short forms `"*"` and `["a", "b"]` mean
 * `{"properties": <that>}`. `where` narrows the rule to items holding those values. On `write`,
 * `items` says whose items it may change and delete: `"own"` (the default: only items this plugin
 * created) or `"all"`; creating needs only the rule.
 */
export const AccessRule = z.union([
  PropertyList,
  z.strictObject({
    properties: PropertyList.default('*'),
    where: ValueFilter.optional(),
    items: z.enum(['own', 'all']).optional(),
  }),
]);
export type AccessRule = z.input<typeof AccessRule>;
export const Access = z.record(z.string(), AccessRule);
/** The JSON held in a Plugin item's `permissions` property (and `plugin.json`'s `permissions`). */
export const Permissions = z.strictObject({
  read: Access.optional(),
  write: Access.optional(),
  /** May call `send_email`. */
  email: z.boolean().optional(),
  /** Platforms whose OAuth exchanges it may ask the Pod for (`["gitlab"]`); the Pod keeps the app's secret. */
  oauth: z.array(z.string().min(1, 'an "oauth" platform name must not be empty')).optional(),
});
export type Permissions = z.input<typeof Permissions>;

/** One item type's rule in normal form. */
export interface TypeRule {
  properties: '*' | ReadonlySet<string>;
  where: ReadonlyMap<string, string | number | boolean>;
  items: 'own' | 'all';
}
/** Permissions in normal form: Maps keyed by type, so no type name ever resolves through a prototype. */
export interface ParsedPermissions {
  read: ReadonlyMap<string, TypeRule>;
  write: ReadonlyMap<string, TypeRule>;
  email: boolean;
  oauth: ReadonlySet<string>;
}

/** Checks permissions (the parsed JSON of `Plugin.permissions`) and brings them to normal form; throws a message on bad input. */
export function parsePermissions(json: unknown): ParsedPermissions {
  const checked = Permissions.safeParse(json);
  if (!checked.success) throw new Error(describeIssues(checked.error, 'permissions'));
  // Entries come from `json` itself (own keys, "__proto__" included), not from a rebuilt object.
  const raw = json as { read?: Record<string, unknown>; write?: Record<string, unknown> };
  const rules = (access: Record<string, unknown> | undefined, defaultItems: 'own' | 'all') =>
    new Map(
      Object.entries(access ?? {}).map(([type, value]) => {
        const short = typeof value === 'string' || Array.isArray(value);
        const rule = (short ? { properties: value } : value) as {
          properties?: '*' | string[];
          where?: Record<string, string | number | boolean>;
          items?: 'own' | 'all';
        };
        const { properties = '*', where = {}, items = defaultItems } = rule;
        return [
          type,
          { properties: properties === '*' ? '*' : new Set(properties), where: new Map(Object.entries(where)), items },
        ] as const;
      }),
    );
  return {
    read: rules(raw.read, 'all'),
    write: rules(raw.write, 'own'),
    email: checked.data.email ?? false,
    oauth: new Set(checked.data.oauth ?? []),
  };
}
