/**
 * Incremental imports (the plugin tutorial): continue from the plugin's own cursor, skip what is
 * already in the Pod by its id at the service, and give every imported Account a Person.
 */
import {
  type Account,
  Item,
  Person,
  type BulkRequest,
  type EdgeSpec,
  type ItemClass,
  type PodClient,
} from '@pod/client';
import type { Payload } from '@pod/protocol';

export interface ExistingOptions {
  /** The property holding the service's id; default `externalId`. */
  property?: string;
  /** Further equality filters, e.g. `{ service: 'twitter' }`. */
  where?: Payload<'search'>;
}

/**
 * The items of `cls` whose `property` (default `externalId`) is one of `values`, by that value, in
 * one request however many values: a bulk of equality searches, which the Pod answers from its
 * index in one transaction (the search API has no "one of" filter). Deleted items count, so an
 * item the owner deleted is not imported again. The properties must be declared (they are, once
 * the class is in the plugin's schema).
 */
export async function findExisting<C extends ItemClass>(
  client: PodClient,
  cls: C,
  values: Iterable<string>,
  options: ExistingOptions = {},
): Promise<Map<string, InstanceType<C>>> {
  const { property = 'externalId', where = {} } = options;
  const wanted = [...new Set(values)];
  const found = new Map<string, InstanceType<C>>();
  if (wanted.length === 0) return found;
  // No batchId: a read-only bulk need not be remembered for replay.
  const search: Payload<'search'>[] = wanted.map((value) => ({ ...where, type: cls.itemType, [property]: value }));
  const answer = await client.call('bulk', { search });
  // One search per wanted value, answered in the same order.
  for (const [index, value] of wanted.entries()) {
    const [item] = answer.search[index] ?? [];
    if (item) found.set(value, Item.fromJSON(item, cls));
  }
  return found;
}

/**
 * Where an import continues: whatever the service pages by (a date, an id, a page token). The
 * plugin keeps it itself (`PluginBase.save(batch, { cursor })`, `PluginBase.importCursor()`) rather
 * than deriving it from its last imported item, which the owner may edit at any time.
 */
export type Cursor = string | number;

/** The cursors on an Account (`importCursors`), by Plugin id. */
export function parseCursors(json: string | null | undefined): Record<string, Cursor> {
  const parsed: unknown = json ? JSON.parse(json) : {};
  return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, Cursor>) : {};
}

/**
 * One batch of an import, written with one `bulk` (one transaction): items, then edges between
 * them. Pass it to `PluginBase.save` (with the cursor after it) or `client.bulk`.
 */
export class ImportBatch implements BulkRequest {
  readonly createItems: Item[] = [];
  readonly updateItems: Item[] = [];
  readonly createEdges: EdgeSpec[] = [];

  create(...items: Item[]): this {
    this.createItems.push(...items);
    return this;
  }

  edge(source: Item | string, name: string, target: Item | string): this {
    this.createEdges.push({ source, name, target });
    return this;
  }

  /**
   * A new Account with its Person, linked by the Account's `owner` edge: every importer creates one
   * Person per Account and leaves merging people to the deduplication plugin (the tutorial's rule).
   * The Person gets the account's display name unless one is given.
   */
  account(
    account: Account,
    person: Person = new Person({ displayName: account.displayName ?? account.handle }),
  ): Account {
    this.create(account, person).edge(account, 'owner', person);
    return account;
  }

  /** Changes to items already in the Pod, written with the batch. */
  update(...items: Item[]): this {
    this.updateItems.push(...items);
    return this;
  }

  get size(): number {
    return this.createItems.length + this.updateItems.length + this.createEdges.length;
  }
}
