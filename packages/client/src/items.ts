/**
 * Items as TypeScript classes. `defineItem` turns one declaration of an item type (its properties
 * with their value types, its edges with their target classes) into a class with typed fields; the
 * same declaration gives the schema to send, the wire form, and the class to read an item back into.
 */
import {
  BASE_FIELDS as WIRE_BASE_FIELDS,
  type Comparison,
  type ReceivedEdge,
  type Value,
  type ValueType,
} from '@pod/protocol';
import { randomHex } from './hex.js';

/** The TypeScript type of a value type: DateTime is milliseconds since 1970, as on the wire. */
export type ValueOf<V extends ValueType> = V extends 'Text' ? string : V extends 'Bool' ? boolean : number;
/** Property name → value type. */
export type PropertyTypes = Readonly<Record<string, ValueType>>;
/**
 * Edge name → its target class, behind a function so that classes can point at each other
 * (`Account.owner → Person`, `Person` declared later in the file).
 */
export type EdgeTargets = Readonly<Record<string, () => ItemClass>>;
/** The typed property fields of an item; `null` or `undefined` means absent (and erases it on update). */
export type Properties<P extends PropertyTypes> = { -readonly [K in keyof P]?: ValueOf<P[K]> | null };
/** Values to filter on, one per property. */
export type PropertyFilter<P extends PropertyTypes> = { -readonly [K in keyof P]?: ValueOf<P[K]> };
/** Comparisons on properties, `{ 'age>': 30 }`: the protocol's operators; a Bool compares only with `!=`. */
export type PropertyComparisons<P extends PropertyTypes> = {
  -readonly [K in keyof P & string as `${K}${P[K] extends 'Bool' ? '!=' : Comparison}`]?: ValueOf<P[K]>;
};
/** The edge fields: the targets of each edge, filled when the item is read with its edges. */
export type EdgeLists<E extends EdgeTargets> = { -readonly [K in keyof E]: InstanceType<ReturnType<E[K]>>[] };
/** What `new Dog({...})` takes. */
export type ItemInit<P extends PropertyTypes> = Properties<P> & {
  id?: string;
  dateCreated?: number;
  dateModified?: number;
  deleted?: boolean;
};

/** A class made by `defineItem` (or a subclass of one). */
export interface ItemClass<I extends Item = Item> {
  new (init?: never): I;
  readonly itemType: string;
  readonly properties: PropertyTypes;
  readonly edges: EdgeTargets;
}

/** The class `defineItem` returns: extend it to add methods. */
export interface DefinedItemClass<T extends string, P extends PropertyTypes, E extends EdgeTargets> {
  new (init?: ItemInit<P>): Item & Properties<P> & EdgeLists<E>;
  readonly itemType: T;
  readonly properties: P;
  readonly edges: E;
}

/** An item as the Pod sends it, with `[[edges]]` when asked for: declared in @pod/protocol. */
export type { ReceivedItem, ReceivedEdge } from '@pod/protocol';

/** Base fields an item carries besides id and type. */
const BASE_FIELDS = Object.keys(WIRE_BASE_FIELDS).filter((name) => name !== 'id' && name !== 'type');
const isValue = (value: unknown): value is Value => value !== null && typeof value !== 'object';

/** The wire form of an item: what create sends, and what `saved` keeps. */
export type WireForm = { id: string; type: string; [field: string]: Value };
/** What an item is read back from: as the Pod sends it, or as a replica composes it (no dateServerModified yet). */
export interface ItemJSON {
  id: string;
  type: string;
  dateServerModified?: number;
  '[[edges]]'?: readonly ReceivedEdge[];
  [field: string]: unknown;
}

/**
 * Type name → class: which class an item is read back into (`decode`). Every `PodClient`, sync
 * engine and plugin has its own, so two of them in one process can read the same type differently.
 */
export class ItemClasses implements Iterable<ItemClass> {
  readonly #byType = new Map<string, ItemClass>();

  constructor(classes: Iterable<ItemClass> = []) {
    this.add(...classes);
  }

  /** Reads items of these classes' types into them; a class replaces the one its type had. */
  add(...classes: ItemClass[]): this {
    for (const cls of classes) this.#byType.set(cls.itemType, cls);
    return this;
  }

  get(itemType: string): ItemClass | undefined {
    return this.#byType.get(itemType);
  }

  [Symbol.iterator](): Iterator<ItemClass> {
    return this.#byType.values();
  }

  /**
   * An item as an instance of `cls` if given (see `Item.fromJSON`), else of the class registered
   * for its type, else a plain `Item`; the targets of a plain `Item`'s edges are read the same way.
   */
  decode<C extends ItemClass>(received: ItemJSON, cls: C): InstanceType<C>;
  decode(received: ItemJSON, cls?: ItemClass): Item;
  decode(received: ItemJSON, cls?: ItemClass): Item {
    return decode(received, cls ?? this.get(received.type), this, searchEdges);
  }

  /** The same for an item of a GraphQL answer (spec §4.1), whose edges are the fields holding lists. */
  decodeGraph<C extends ItemClass>(received: ItemJSON, cls: C): InstanceType<C>;
  decodeGraph(received: ItemJSON, cls?: ItemClass): Item;
  decodeGraph(received: ItemJSON, cls?: ItemClass): Item {
    return decode(received, cls ?? this.get(received.type), this, graphEdges);
  }
}

/** An item's edges as (field name, other end) pairs: how one answer form or another carries them. */
type EdgesOf = (received: ItemJSON) => Iterable<readonly [name: string, target: ItemJSON]>;
/** A search's `[[edges]]` entries. */
const searchEdges: EdgesOf = (received) => (received['[[edges]]'] ?? []).map((edge) => [edge._edge, edge._item]);
/** GraphQL: every field holding a list is an edge, named as the query wrote it (`sender`, `~owner`). */
const graphEdges: EdgesOf = (received) =>
  Object.entries(received).flatMap(([name, value]) =>
    Array.isArray(value) ? value.map((target: ItemJSON) => [name, target] as const) : [],
  );

/**
 * The item as an instance of `cls`, its declared edges' targets as their classes; without a
 * class, a plain `Item` with every edge, its targets read by `classes` when given.
 */
function decode(
  received: ItemJSON,
  cls: ItemClass | undefined,
  classes?: ItemClasses,
  edgesOf: EdgesOf = searchEdges,
): Item {
  if (cls && cls.itemType !== received.type)
    throw new TypeError(`item ${JSON.stringify(received.id)} is a ${received.type}, not a ${cls.itemType}`);
  // A defined class takes the item's fields as its init (see `defineItem`);
  // `ItemClass` hides that to accept any subclass.
  const item = cls ? new (cls as unknown as new (init: ItemJSON) => Item)(received) : new Item(received.type, received);
  const fields = item as unknown as Record<string, unknown>;
  for (const [name, target] of edgesOf(received)) {
    if (!cls) {
      fields[name] ??= [];
      const list = fields[name];
      if (Array.isArray(list)) list.push(decode(target, classes?.get(target.type), classes, edgesOf));
      continue;
    }
    const targetClass = Object.hasOwn(cls.edges, name) ? cls.edges[name]?.() : undefined;
    const list = fields[name];
    // The field holds instances of the declared class: a target of another type is left out.
    if (targetClass?.itemType === target.type && Array.isArray(list))
      list.push(decode(target, targetClass, classes, edgesOf));
  }
  saved.set(item, item.toJSON());
  return item;
}

/** Each item's wire form as last read or saved: what `changes` compares against. */
const saved = new WeakMap<Item, WireForm>();
/** Per defined class, the names of its fields besides id and type, worked out once. */
const namesByClass = new WeakMap<typeof Item, readonly string[]>();

/**
 * The base of every item. Items of a type no class is registered for are read back as plain
 * `Item`s carrying every property the Pod sent (see `toJSON`).
 */
export class Item {
  /** The item type of a defined class; undefined on `Item` itself. */
  static readonly itemType: string | undefined = undefined;
  /** The declared properties of a defined class; undefined on `Item`, whose items carry any. */
  static readonly properties: PropertyTypes | undefined = undefined;
  static readonly edges: EdgeTargets = {};

  readonly type: string;
  /** Chosen here when not given (32 hex characters, like the Pod's), so edges can name an item before it is created. */
  id: string;
  declare dateCreated?: number;
  declare dateModified?: number;
  /** Set by the Pod at every write: known once the item has been read. */
  declare dateServerModified?: number;
  declare deleted?: boolean;

  constructor(type: string, init: Readonly<Record<string, unknown>> = {}) {
    this.type = type;
    this.id = typeof init.id === 'string' ? init.id : randomHex(16);
    const cls = new.target as unknown as typeof Item;
    copyFields(cls, init, this as unknown as Record<string, unknown>);
    for (const name of Object.keys(cls.edges)) (this as unknown as Record<string, unknown>)[name] = [];
  }

  /**
   * An item as the Pod sent it (or a replica holds it): a plain `Item` carrying every property,
   * or, given its class, an instance of that class (an item of another type is a TypeError).
   * Edges in `[[edges]]` fill the edge fields the class declares (a plain `Item` takes every
   * edge). To read items into the classes registered for their types, see `ItemClasses.decode`.
   */
  static fromJSON(received: ItemJSON): Item;
  static fromJSON<C extends ItemClass>(received: ItemJSON, cls: C): InstanceType<C>;
  static fromJSON(received: ItemJSON, cls?: ItemClass): Item {
    return decode(received, cls);
  }

  /** The wire form: id, type, base fields and properties (no edges). */
  toJSON(): WireForm {
    return copyFields(this.constructor as typeof Item, this as unknown as Record<string, unknown>, {
      id: this.id,
      type: this.type,
    });
  }

  /** `Dog (#9c97feace45561c1cc9c0eec302bfd07)`, as the Python client printed items. */
  toString(): string {
    return `${this.type} (#${this.id})`;
  }
}

/**
 * Copies the fields items of `cls` carry, but id and type, from `from` into `into`, leaving out
 * absent ones: base fields and the declared properties, or for a plain `Item` every scalar.
 */
function copyFields<T extends object>(cls: typeof Item, from: Readonly<Record<string, unknown>>, into: T): T {
  const { properties } = cls;
  const generic = properties === undefined;
  let names = generic ? Object.keys(from) : namesByClass.get(cls);
  if (!names) {
    names = [...BASE_FIELDS, ...Object.keys(properties ?? {})];
    namesByClass.set(cls, names);
  }
  const fields = into as Record<string, unknown>;
  for (const name of names) {
    const value = from[name];
    if (value === undefined || value === null || (generic && (name === 'id' || name === 'type' || !isValue(value))))
      continue;
    fields[name] = value;
  }
  return into;
}

/**
 * Declares an item type once and returns its class:
 * `class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer' }) {}`.
 * Property fields are typed and optional; edge fields are arrays of the target class.
 */
export function defineItem<
  const T extends string,
  const P extends PropertyTypes,
  const E extends EdgeTargets = Record<never, never>,
>(itemType: T, properties: P, edges: E = {} as E): DefinedItemClass<T, P, E> {
  for (const name of Object.keys(edges))
    if (Object.hasOwn(properties, name))
      throw new TypeError(`${itemType}: "${name}" is declared both as a property and as an edge`);
  class DefinedItem extends Item {
    static override readonly itemType = itemType;
    static override readonly properties = properties;
    static override readonly edges = edges;
    constructor(init?: Readonly<Record<string, unknown>>) {
      super(itemType, init);
    }
  }
  return DefinedItem as unknown as DefinedItemClass<T, P, E>;
}

/** The item's wire form now, and the call that records it as saved once the write sending it has committed. */
export function toSave(item: Item): { wire: WireForm; commit: () => void } {
  const wire = item.toJSON();
  return { wire, commit: () => saved.set(item, wire) };
}

/** After a delete: the item is deleted, locally and in what `changes` compares against. */
export function markDeleted(item: Item): void {
  item.deleted = true;
  const before = saved.get(item);
  if (before) before.deleted = true;
}

/**
 * What changed since the item was read or saved, as an update_item payload (changed fields with
 * their new value, erased ones as `null`), and the call that records them as saved; undefined
 * when nothing changed. An item never read or saved has all its fields changed.
 */
export function changes(item: Item): { patch: { id: string; [field: string]: Value }; commit: () => void } | undefined {
  const before: Partial<WireForm> = saved.get(item) ?? {};
  const now = item.toJSON();
  const patch: Record<string, Value> = {};
  for (const [name, value] of Object.entries(now)) if (value !== before[name]) patch[name] = value;
  for (const name of Object.keys(before)) if (!(name in now)) patch[name] = null;
  if (Object.keys(patch).length === 0) return undefined;
  return { patch: { ...patch, id: item.id }, commit: () => saved.set(item, now) };
}

/** After an edge is created: adds the target to the source's edge field, if it has one of that name. */
export function linkLocally(source: Item | string, name: string, target: Item | string): void {
  const list = typeof source === 'string' ? undefined : (source as unknown as Record<string, unknown>)[name];
  if (Array.isArray(list) && typeof target !== 'string') list.push(target);
}

/** Takes the target out of the source's edge field `name` (each of its edge fields, without a name). */
export function unlinkLocally(source: Item | string, name: string | undefined, target: Item | string): void {
  if (typeof source === 'string') return;
  const fields = source as unknown as Record<string, unknown>;
  const targetId = idOf(target);
  for (const field of name === undefined ? Object.keys((source.constructor as typeof Item).edges) : [name]) {
    const list = fields[field];
    if (!Array.isArray(list)) continue;
    for (let index = list.length - 1; index >= 0; index--)
      if (list[index] instanceof Item && list[index].id === targetId) list.splice(index, 1);
  }
}

export const idOf = (item: Item | string) => (typeof item === 'string' ? item : item.id);
