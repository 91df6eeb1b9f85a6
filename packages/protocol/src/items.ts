/** Items as they travel, and the payloads that create, change, link and find them. */
import { z } from 'zod';
import type { Value } from './values.js';

/** An item id in a payload. */
export const ItemId = z.string({ error: 'an item id must be a string' }).min(1, 'an item id must not be empty');

/** The fields every item carries. */
export interface BaseFields {
  id: string;
  type: string;
  dateCreated: number;
  dateModified: number;
  dateServerModified: number;
  deleted: boolean;
}
/** An item as it travels: base fields plus declared properties. */
export type Item = BaseFields & { [property: string]: Value };

/**
 * 2023 (spec §4.1): an item of a GraphQL answer: the base fields, each selected property (null when
 * the item has none) and each selected edge, under the field as written (`sender`, `~owner`), as a list.
 */
export interface GraphqlItem extends BaseFields {
  [field: string]: Value | GraphqlItem[];
}

/** The answer of `graphql`: the root items, and the aggregates the query asked for. */
export interface GraphqlAnswer {
  data: GraphqlItem[];
  count?: number;
  total?: number;
}

/** An item as the Pod answers a search: with `[[edges]]` / `~[[edges]]` when asked for. */
export interface ReceivedItem extends BaseFields {
  '[[edges]]'?: ReceivedEdge[];
  '~[[edges]]'?: ReceivedEdge[];
  [field: string]: unknown;
}
/** An entry of `[[edges]]`: the edge item, its name and the item at the other end. */
export interface ReceivedEdge extends ReceivedItem {
  _edge: string;
  _item: ReceivedItem;
}

const baseFields = {
  id: z.string(),
  type: z.string(),
  dateCreated: z.number(),
  dateModified: z.number(),
  dateServerModified: z.number(),
  deleted: z.boolean(),
};
const edgeList = () => z.array(z.lazy(() => ReceivedEdge)).optional();
/** Checks JSON from outside the client's own calls (e.g. a plugin's `POD_TARGET_ITEM`). */
export const ReceivedItem: z.ZodType<ReceivedItem> = z.looseObject({
  ...baseFields,
  '[[edges]]': edgeList(),
  '~[[edges]]': edgeList(),
});
export const ReceivedEdge: z.ZodType<ReceivedEdge> = z.looseObject({
  ...baseFields,
  '[[edges]]': edgeList(),
  '~[[edges]]': edgeList(),
  _edge: z.string(),
  _item: z.lazy(() => ReceivedItem),
});

export const NewItem = z.looseObject({
  type: z.string({ error: 'an item needs a "type" string' }).min(1, 'an item "type" must not be empty'),
});
type NewItem = z.output<typeof NewItem>;
/** NewItem's rule in plain code: an object whose "type" is a non-empty string. */
const isNewItem = (value: unknown): value is NewItem =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  'type' in value &&
  typeof value.type === 'string' &&
  value.type !== '';
/**
 * A bulk's items: each plainly valid one is taken as it is, any other is parsed by NewItem, whose
 * issues (under the item's index) say what is wrong, word for word. zod's parse and copy of every
 * item took 0.6–1.3 ms a bulk of 1,000, this check a tenth of that (issue 13).
 */
const NewItems = z
  .array(z.unknown())
  .superRefine((items, context) => {
    for (const [index, item] of items.entries()) {
      if (isNewItem(item)) continue;
      const parsed = NewItem.safeParse(item);
      if (!parsed.success)
        for (const issue of parsed.error.issues) context.addIssue({ ...issue, path: [index, ...issue.path] });
    }
  })
  .transform((items) => items.filter(isNewItem));
export const ItemPatch = z.looseObject({
  id: ItemId,
  /** Ours: apply only if the item is still at this version (its dateServerModified), else 409. */
  _expectedDateServerModified: z.number().int().optional(),
});
export const NewEdge = z.looseObject({
  _source: ItemId,
  _target: ItemId,
  _name: z.string({ error: 'an edge needs a "_name" string' }).min(1, 'an edge "_name" must not be empty'),
  _self: ItemId.optional(),
});
export const EdgeQuery = z.object({
  item: ItemId,
  direction: z.enum(['Outgoing', 'Incoming']).default('Outgoing'),
  expandItems: z.boolean().default(false),
});
const EdgeNameFilter = z.string().min(1, 'an edge name must not be empty');
/**
 * 2023 (§5.1): the live edges from `_source` to `_target` (named `_name`, or any name) to delete.
 * The July–August 2023 spelling `source`, `target`, `name` is accepted too.
 */
export const EdgeEnds = z.union(
  [
    z.object({ _source: ItemId, _target: ItemId, _name: EdgeNameFilter.optional() }),
    z
      .object({ source: ItemId, target: ItemId, name: EdgeNameFilter.optional() })
      .transform(({ source, target, name }) => ({ _source: source, _target: target, _name: name })),
  ],
  { error: 'give the edge\'s "_source" and "_target" item ids (strings), and optionally its "_name"' },
);
/** An entry of a `get_edges` answer: the edge's name and the item at its other end (or its id). */
export type EdgeEntry = { name: string; item: Item | { id: string } };

const OFFSET_RULE = '"_offset" must be an integer >= 0 (how many matches to skip)';
/**
 * Search: the special keys below; every other key is a filter on a declared property or base field:
 * `"name": v` (equal), or the name followed by a comparison, `"age>": 30` (see `searchFilter`).
 */
export const SearchQuery = z.looseObject({
  id: ItemId.optional(),
  type: z.string().optional(),
  deleted: z.boolean().optional(),
  'dateServerModified>=': z.number().int().optional(),
  'dateServerModified<': z.number().int().optional(),
  _sortOrder: z.enum(['Asc', 'Desc']).optional(),
  _limit: z.number().int().min(0).optional(),
  /** 2023 (§3.1): skip this many matches; with it, `_limit` is strict (no tie rule). */
  _offset: z.number({ error: OFFSET_RULE }).int(OFFSET_RULE).min(0, OFFSET_RULE).optional(),
  /**
   * Ours: deleted items (and edges to them) included as in legacy mode, also on a database in
   * account mode (2023 §1.2), in one snapshot: how a syncing client learns of deletions.
   */
  _includeDeleted: z.boolean().optional(),
  /** Ours: full-text search over Text properties: every word (`word`, `prefix*`, `"a phrase"`) must be found. */
  _text: z.string().optional(),
  '[[edges]]': z.object({}).optional(),
  '~[[edges]]': z.object({}).optional(),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

/** The comparisons a search key may end with; the two-character ones are tried first. */
export const COMPARISONS = ['>=', '<=', '!=', '>', '<'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** What a search key filters: `"age>="` → age, `>=`; a key without a comparison tests equality. */
export function searchFilter(key: string): { name: string; comparison: Comparison | '=' } {
  const comparison = COMPARISONS.find((suffix) => key.length > suffix.length && key.endsWith(suffix));
  return comparison ? { name: key.slice(0, -comparison.length), comparison } : { name: key, comparison: '=' };
}

/** The keys of a search that are not filters (`dateServerModified>=` is one, declared above for its type). */
export const SEARCH_KEYS: ReadonlySet<string> = new Set(
  Object.keys(SearchQuery.shape).filter((key) => searchFilter(key).comparison === '='),
);

export const Bulk = z.object({
  /** Ours: a client-chosen id that makes a retried bulk apply once (its first answer is replayed). */
  batchId: z.string().min(1).max(200).optional(),
  createItems: NewItems.optional(),
  updateItems: z.array(ItemPatch).optional(),
  deleteItems: z.array(ItemId).optional(),
  createEdges: z.array(NewEdge).optional(),
  search: z.array(SearchQuery).optional(),
});
/** A bulk's answer: the ids created, in order, and each search's items. */
export type BulkResult = { createItems: string[]; createEdges: string[]; search: ReceivedItem[][] };
