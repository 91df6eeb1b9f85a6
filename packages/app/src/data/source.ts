/**
 * What the data views read and write, whatever holds the data: the Pod over HTTP now (`pod-source.ts`),
 * the local IndexedDB replica later. Everything is async; rows come in pages by position so a long list
 * can open anywhere without counting first, and counts may be estimates.
 */
import type { BaseFields, ValueType } from '@pod/protocol';

export type { ValueType } from '@pod/protocol';
export type Value = string | number | boolean | null;

/** An item as the views see it: base fields and properties. */
export interface DataItem extends BaseFields {
  [property: string]: unknown;
}

export interface TypeCount {
  type: string;
  count: number;
}

/** A number of items; `estimate` when the source could not count exactly (a replica still syncing). */
export interface Count {
  count: number;
  estimate: boolean;
}

/** One declared property: the type it was declared for, its name and value type. */
export interface PropertyDeclaration {
  itemType: string;
  name: string;
  valueType: ValueType;
}

/** The owner's schema: every declaration, and the value type of each name (one per database). */
export interface Schema {
  declarations: PropertyDeclaration[];
  valueTypes: Map<string, ValueType>;
}

/** `words`: every word found in a Text property (full text, `prefix*` allowed); the rest compare values. */
export type FilterOperator = 'words' | 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

export interface Filter {
  property: string;
  op: FilterOperator;
  value: string | number | boolean;
}

/** Which items of a type, in which order: the default order is the Pod's, oldest change first. */
export interface RowQuery {
  type: string;
  /** Properties to read for each row (the table's columns). */
  properties: string[];
  sort?: { property: string; descending: boolean };
  filters: Filter[];
}

/** An edge as seen from one end: its name and the item at the other end. */
export interface EdgeLink {
  name: string;
  edgeId: string;
  item: DataItem;
}

export interface ItemWithEdges {
  item: DataItem;
  outgoing: EdgeLink[];
  incoming: EdgeLink[];
}

/** A save: applied (the item as saved), or not because the item changed since `expected` (the item as it is now). */
export type Saved = { saved: DataItem } | { conflict: DataItem };

export interface DataSource {
  /** Every type with its number of live items. */
  types(signal?: AbortSignal): Promise<TypeCount[]>;
  schema(signal?: AbortSignal): Promise<Schema>;
  /** Up to `limit` rows from position `offset` of the query's order; fewer only at the end. */
  rows(query: RowQuery, offset: number, limit: number, signal?: AbortSignal): Promise<DataItem[]>;
  count(query: RowQuery, signal?: AbortSignal): Promise<Count>;
  /** The item with its edges both ways; undefined when there is none (or it is deleted). */
  item(id: string, signal?: AbortSignal): Promise<ItemWithEdges | undefined>;
  /** Full-text search across every type's Text properties. */
  search(text: string, limit: number, signal?: AbortSignal): Promise<DataItem[]>;
  create(type: string, values: Record<string, Value>): Promise<DataItem>;
  /** Applies the changes only if the item is still at version `expected` (its dateServerModified). */
  update(id: string, changes: Record<string, Value>, expected: number): Promise<Saved>;
  delete(id: string): Promise<void>;
  addProperty(declaration: PropertyDeclaration): Promise<void>;
  /** Told of every item changed from now on (by anyone); returns the unsubscription. */
  subscribe(listener: (changed: DataItem[]) => void): () => void;
}

/** What an owner would call the item: a name-like property, else its id. */
export function labelOf(item: DataItem): string {
  for (const key of ['displayName', 'name', 'title', 'subject', 'firstName', 'propertyName', 'filename']) {
    const value = item[key];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return item.id;
}
