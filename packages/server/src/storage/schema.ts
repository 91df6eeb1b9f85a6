/**
 * The owner's schema (spec §4): one value type per property name, kept in memory beside the
 * `properties` table, and the value checks and encodings that follow from it. A name resolves to
 * a fixed built-in, else an explicit declaration, else a central default (spec 2023 §2.1): the
 * central defaults are rows too (`explicit` 0), so every name has its number in the equality index.
 */
import { BASE_FIELDS as WIRE_BASE_FIELDS, PROPERTY_NAME, VALUE_TYPES, type ValueType } from '@pod/protocol';
import { badRequest } from '../errors.js';
import type { Db } from './database.js';

/** Base fields: declared in every schema, stored in columns of their own, never ordinary properties. */
export const BASE_FIELDS: Readonly<Record<string, ValueType>> = WIRE_BASE_FIELDS;
export const isBaseField = (name: string) => Object.hasOwn(BASE_FIELDS, name);

export interface Property {
  prop: number;
  name: string;
  valueType: ValueType;
  /** null: declared by the owner (or the Pod); else the plugin whose declaration it is (items.creator form). */
  declaredBy: string | null;
  /** false for a central default (spec 2023 §2.1): a declaration may still confirm it or, while no item holds a value for it, change its type. */
  explicit: boolean;
  /** How far the equality index (ordered-index.ts) holds this property's values (issue 13, docs/storage.md). */
  index: IndexState;
}

/**
 * A property's equality index is built on first use in a filter: until then its values live only in
 * items.props (filters read them there); while `BUILDING`, writes keep the index and a background
 * builder fills in the items before its cursor; once `INDEXED`, filters are driven from it.
 */
export const NOT_INDEXED = 0;
export const INDEX_BUILDING = 1;
export const INDEXED = 2;
export type IndexState = typeof NOT_INDEXED | typeof INDEX_BUILDING | typeof INDEXED;

/** A checked value: `index` is what the equality index holds, `json` its wire form. */
export interface Encoded {
  index: string | number;
  json: string;
}

export class Schema {
  private byName = new Map<string, Property>();

  /** `equalityTable`: the table that holds the equality index now (ordered-index.ts). */
  constructor(
    private readonly db: Db,
    private readonly equalityTable: () => string,
  ) {
    this.reload();
  }

  /** Re-reads the table; used after a rolled-back transaction that declared properties. */
  reload() {
    this.byName.clear();
    const rows = this.db
      .prepare('SELECT prop, name, valueType, declaredBy, explicit, indexState AS "index" FROM properties')
      .all() as (Omit<Property, 'explicit'> & { explicit: number })[];
    for (const row of rows) this.byName.set(row.name, { ...row, explicit: row.explicit !== 0 });
  }

  get(name: string): Property | undefined {
    return this.byName.get(name);
  }

  /** The type a declaration fixed (or a built-in): undefined for a central default, which a declaration still settles. */
  declaredType(name: string): ValueType | undefined {
    const property = this.byName.get(name);
    return property?.explicit ? property.valueType : undefined;
  }

  /** Records how far a property's equality index goes (in the caller's transaction). */
  setIndex(property: Property, index: IndexState): Property {
    this.db.prepare('UPDATE properties SET indexState = ? WHERE prop = ?').run(index, property.prop);
    const updated = { ...property, index };
    this.byName.set(property.name, updated);
    return updated;
  }

  /** Whether any item, deleted ones included, holds a value for the property. */
  holdsValues(property: Property): boolean {
    const sql =
      property.index === INDEXED
        ? `SELECT 1 FROM ${this.equalityTable()} WHERE prop = ? LIMIT 1`
        : 'SELECT 1 FROM items WHERE props ->> ? IS NOT NULL LIMIT 1';
    return this.db.prepare(sql).get(property.index === INDEXED ? property.prop : jsonPath(property.name)) !== undefined;
  }

  require(name: string): Property {
    const property = this.byName.get(name);
    if (!property)
      throw badRequest(
        `property "${name}" is not in the schema; declare it first with an ItemPropertySchema item ` +
          `({"type": "ItemPropertySchema", "itemType": ..., "propertyName": "${name}", "valueType": "Text"})`,
      );
    return property;
  }

  /**
   * Applies an ItemPropertySchema item. The same name with the same type is accepted again (clients
   * re-send their schema at every start); another type is a conflict, whatever the itemType —
   * except that the owner's declaration replaces one only plugins made: `replace` is called first
   * with the old property, whose stored values no longer fit. `declaredBy` is null for the owner.
   * Returns true when the schema changed.
   */
  declare(
    declaration: Record<string, unknown>,
    declaredBy: string | null = null,
    replace: (old: Property) => void = () => {},
  ): boolean {
    const { propertyName, valueType, itemType } = declaration;
    if (typeof itemType !== 'string') throw badRequest('an ItemPropertySchema item needs an "itemType" string');
    if (typeof propertyName !== 'string' || !PROPERTY_NAME.test(propertyName))
      throw badRequest(`"propertyName" must match ${PROPERTY_NAME.source}; got ${describe(propertyName)}`);
    if (!VALUE_TYPES.includes(valueType as ValueType))
      throw badRequest(`"valueType" must be one of ${VALUE_TYPES.join(', ')}; got ${describe(valueType)}`);
    const property = this.byName.get(propertyName);
    if (property && !property.explicit) return this.settleCentral(property, valueType as ValueType, declaredBy);
    const existing = isBaseField(propertyName) ? BASE_FIELDS[propertyName] : property?.valueType;
    const ownerTakesOver = declaredBy === null && property !== undefined && property.declaredBy !== null;
    if (existing === valueType) {
      if (!ownerTakesOver) return false;
      this.db.prepare('UPDATE properties SET declaredBy = NULL WHERE prop = ?').run(property.prop);
      this.byName.set(propertyName, { ...property, declaredBy: null });
      return true;
    }
    if (existing && !ownerTakesOver)
      throw badRequest(
        `schema conflict: "${propertyName}" is already declared as ${existing}, not ${String(valueType)}`,
      );
    if (property && ownerTakesOver) {
      replace(property);
      this.db
        .prepare('UPDATE properties SET valueType = ?, declaredBy = NULL WHERE prop = ?')
        .run(valueType, property.prop);
      this.byName.set(propertyName, { ...property, valueType: valueType as ValueType, declaredBy: null });
      return true;
    }
    const info = this.db
      .prepare('INSERT INTO properties (name, valueType, declaredBy) VALUES (?, ?, ?)')
      .run(propertyName, valueType, declaredBy);
    this.byName.set(propertyName, {
      prop: Number(info.lastInsertRowid),
      name: propertyName,
      valueType: valueType as ValueType,
      declaredBy,
      explicit: true,
      index: NOT_INDEXED,
    });
    return true;
  }

  /**
   * A declaration of a central default makes it explicit (spec 2023 §2.1): with its own type it
   * confirms it; with another it replaces it, as long as no item, deleted ones included, holds a
   * value for the name (its values would no longer fit), else 400.
   */
  private settleCentral(property: Property, valueType: ValueType, declaredBy: string | null): true {
    const { prop, name } = property;
    if (valueType !== property.valueType && this.holdsValues(property))
      throw badRequest(
        `schema conflict: "${name}" is ${property.valueType} in the central schema and items (deleted ones ` +
          `included) hold values for it, so it cannot become ${valueType}; use another property name`,
      );
    this.db
      .prepare('UPDATE properties SET valueType = ?, declaredBy = ?, explicit = 1 WHERE prop = ?')
      .run(valueType, declaredBy, prop);
    this.byName.set(name, { ...property, valueType, declaredBy, explicit: true });
    return true;
  }
}

/** Checks a value against a value type; throws 400 saying what was expected. */
export function encodeValue(name: string, valueType: ValueType, value: unknown): Encoded {
  switch (valueType) {
    case 'Text':
      if (typeof value === 'string') return { index: value, json: JSON.stringify(value) };
      break;
    case 'Integer':
    case 'DateTime':
      if (Number.isSafeInteger(value)) return { index: value as number, json: String(value) };
      break;
    case 'Real':
      if (typeof value === 'number' && Number.isFinite(value)) return { index: value, json: realJson(value) };
      break;
    case 'Bool':
      if (typeof value === 'boolean') return { index: value ? 1 : 0, json: value ? 'true' : 'false' };
      break;
  }
  throw badRequest(`property "${name}" is ${valueType}; got ${describe(value)}`);
}

/** The JSON path of a property in items.props (names match PROPERTY_NAME: no quote to escape). */
export const jsonPath = (name: string) => `$."${name}"`;

/** A Real keeps its decimal point on the wire, as the original pod sent it: 33 → 33.0. */
const realJson = (value: number) => {
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
};

/** A value as an error message may quote it: never stringified whole (it may be deeply nested or huge). */
export const describe = (value: unknown): string =>
  Array.isArray(value)
    ? 'an array'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'an object'
        : typeof value === 'string' && value.length > 100
          ? `a string of ${value.length} characters`
          : (JSON.stringify(value) ?? String(value));
