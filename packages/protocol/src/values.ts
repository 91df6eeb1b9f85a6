/** Names, keys and value types every part of the wire shares. */
import type { z } from 'zod';

export const API_VERSIONS = ['v4', 'v3'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** 64 hexadecimal characters: an owner key, a database key, a file's sha256. */
export const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** A client-given id (spec §3); generated ids are 32 lowercase hex characters. */
export const ITEM_ID = /^[a-zA-Z0-9_-]{6,36}$/;
/** Property names: accepts at least the spec's `^[a-zA-Z][_a-zA-Z0-9]{0,30}[a-zA-Z0-9]$`. */
export const PROPERTY_NAME = /^[a-zA-Z][_a-zA-Z0-9]{0,63}$/;

export const VALUE_TYPES = ['Text', 'Integer', 'Real', 'Bool', 'DateTime'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
/** A scalar property value; arrays and objects are never values. */
export type Value = string | number | boolean | null;

/** Base fields: in every item and every schema, never ordinary properties. */
export const BASE_FIELDS = {
  id: 'Text',
  type: 'Text',
  dateCreated: 'DateTime',
  dateModified: 'DateTime',
  dateServerModified: 'DateTime',
  deleted: 'Bool',
} as const satisfies Readonly<Record<string, ValueType>>;
export type BaseField = keyof typeof BASE_FIELDS;

/** Turns a zod failure into one line that says what was wrong and where. */
export function describeIssues(error: z.ZodError, root: string): string {
  return error.issues.map((issue) => `${[root, ...issue.path].join('.')}: ${issue.message}`).join('; ');
}
