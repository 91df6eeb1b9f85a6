/**
 * The data views' source on the Pod over HTTP (`@pod/client`): `search` for pages in the Pod's own order
 * (`_offset`/`_limit`, comparison keys such as `"age>"`), for items with `[[edges]]`/`~[[edges]]` and for
 * full text (`_text`); GraphQL where search cannot (ordering by a property, words in one property,
 * filtered totals); `summary` for counts; the live feed (`LiveFeed`) for changes.
 */
import { LiveFeed, type PodClient, PodError } from '@pod/client';
import { VALUE_TYPES, type ValueType } from '@pod/protocol';
import type {
  Count,
  DataItem,
  DataSource,
  EdgeLink,
  Filter,
  ItemWithEdges,
  PropertyDeclaration,
  RowQuery,
  Saved,
  Schema,
  TypeCount,
  Value,
} from './source.js';

/** A search key for a comparison (`words` has none: it needs GraphQL to stay in one property). */
const SEARCH_SUFFIX = { eq: '', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
/** GraphQL writes a type or property name bare: only these can be. */
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Deleted items are left out everywhere (a Pod without an account would list them). */
const graphqlFilter = (filters: Filter[]) =>
  `{and: [{deleted: {eq: false}} ${filters
    .map(({ property, op, value }) => `{${property}: {${op === 'words' ? '_text' : op}: ${JSON.stringify(value)}}}`)
    .join(' ')}]}`;

/** The GraphQL arguments of a row query: its filter and ordering. */
function graphqlArguments({ filters, sort }: RowQuery): string[] {
  const args = [`filter: ${graphqlFilter(filters)}`];
  if (sort) args.push(`${sort.descending ? 'order_desc' : 'order_asc'}: ${sort.property}`);
  return args;
}

const needsGraphql = (query: RowQuery) => query.sort !== undefined || query.filters.some(({ op }) => op === 'words');

function checkNames(query: RowQuery): void {
  for (const name of [query.type, ...query.properties, ...query.filters.map(({ property }) => property)])
    if (!GRAPHQL_NAME.test(name)) throw new Error(`${JSON.stringify(name)} cannot be sorted or searched by words`);
}

/** The search keys of a row query's filters (none of them `words`). */
function searchFilters(filters: Filter[]): Record<string, Value> {
  const keys: Record<string, Value> = {};
  for (const { property, op, value } of filters) {
    if (op === 'words') throw new Error('words need GraphQL');
    keys[`${property}${SEARCH_SUFFIX[op]}`] = value;
  }
  return keys;
}

const isValueType = (value: unknown): value is ValueType =>
  typeof value === 'string' && (VALUE_TYPES as readonly string[]).includes(value);

/** The schema declared by ItemPropertySchema items (the last declaration of a name gives its value type). */
export function schemaOf(found: readonly Record<string, unknown>[]): Schema {
  const declarations: PropertyDeclaration[] = [];
  const valueTypes = new Map<string, ValueType>();
  const seen = new Set<string>();
  for (const { itemType, propertyName, valueType } of found) {
    if (typeof itemType !== 'string' || typeof propertyName !== 'string' || !isValueType(valueType)) continue;
    valueTypes.set(propertyName, valueType);
    const key = `${itemType}\u0000${propertyName}`;
    if (seen.has(key)) continue;
    seen.add(key);
    declarations.push({ itemType, name: propertyName, valueType });
  }
  return { declarations, valueTypes };
}

export class PodSource implements DataSource {
  private readonly listeners = new Set<(changed: DataItem[]) => void>();
  private feed?: LiveFeed;
  private closed = false;

  constructor(private readonly client: PodClient) {}

  async types(signal?: AbortSignal): Promise<TypeCount[]> {
    const { types } = await this.client.summary({ signal });
    return Object.entries(types)
      .map(([type, count]) => ({ type, count }))
      .sort((a, b) => a.type.localeCompare(b.type));
  }

  async schema(signal?: AbortSignal): Promise<Schema> {
    return schemaOf(await this.client.call('search', { type: 'ItemPropertySchema' }, { signal }));
  }

  async rows(query: RowQuery, offset: number, limit: number, signal?: AbortSignal): Promise<DataItem[]> {
    if (!needsGraphql(query))
      return this.client.call(
        'search',
        { type: query.type, deleted: false, ...searchFilters(query.filters), _offset: offset, _limit: limit },
        { signal },
      );
    checkNames(query);
    const args = [...graphqlArguments(query), `offset: ${offset}`, `limit: ${limit}`].join(' ');
    const { data } = await this.client.call(
      'graphql',
      `query { ${query.type}(${args}) { ${query.properties.join(' ')} } }`,
      { signal },
    );
    return data;
  }

  async count(query: RowQuery, signal?: AbortSignal): Promise<Count> {
    if (query.filters.length === 0) {
      const { types } = await this.client.summary({ signal });
      return { count: types[query.type] ?? 0, estimate: false };
    }
    checkNames(query);
    const args = [...graphqlArguments({ ...query, sort: undefined }), 'limit: 0'].join(' ');
    const { total } = await this.client.call('graphql', `query { ${query.type}(${args}) total }`, { signal });
    return { count: total ?? 0, estimate: false };
  }

  async item(id: string, signal?: AbortSignal): Promise<ItemWithEdges | undefined> {
    const [found] = await this.client.call('search', { id, '[[edges]]': {}, '~[[edges]]': {} }, { signal });
    if (!found || found.deleted) return undefined;
    const { '[[edges]]': outgoing = [], '~[[edges]]': incoming = [], ...item } = found;
    const links = (edges: typeof outgoing): EdgeLink[] =>
      edges
        .filter((edge) => !edge.deleted && !edge._item.deleted)
        .map((edge) => ({ name: edge._edge, edgeId: edge.id, item: edge._item }));
    return { item, outgoing: links(outgoing), incoming: links(incoming) };
  }

  search(text: string, limit: number, signal?: AbortSignal): Promise<DataItem[]> {
    return this.client.call('search', { _text: text, deleted: false, _limit: limit }, { signal });
  }

  async create(type: string, values: Record<string, Value>): Promise<DataItem> {
    const id = await this.client.call('create_item', { ...values, type });
    return this.read(id);
  }

  async update(id: string, changes: Record<string, Value>, expected: number): Promise<Saved> {
    try {
      await this.client.call('update_item', { ...changes, id, _expectedDateServerModified: expected });
    } catch (error) {
      if (error instanceof PodError && error.status === 409) return { conflict: await this.read(id) };
      throw error;
    }
    return { saved: await this.read(id) };
  }

  async delete(id: string): Promise<void> {
    await this.client.call('delete_item', id);
  }

  async addProperty({ itemType, name, valueType }: PropertyDeclaration): Promise<void> {
    await this.client.call('create_item', { type: 'ItemPropertySchema', itemType, propertyName: name, valueType });
  }

  subscribe(listener: (changed: DataItem[]) => void): () => void {
    this.listeners.add(listener);
    if (!this.feed) void this.follow();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Ends the live feed (signing out). */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.feed?.stop();
  }

  private async read(id: string): Promise<DataItem> {
    const [item] = await this.client.call('get_item', id);
    if (!item) throw new PodError(404, `item ${JSON.stringify(id)} not found`, { endpoint: 'get_item' });
    return item;
  }

  /** One live feed for all listeners, from just after the newest change the Pod holds. */
  private async follow(): Promise<void> {
    const feed = new LiveFeed(this.client, {
      from: 0,
      onPage: ({ items }) => {
        for (const listener of this.listeners) listener(items);
      },
    });
    this.feed = feed;
    // `_offset` makes the limit strict: without it, every item sharing the newest dateServerModified comes
    const newestFirst = { _sortOrder: 'Desc', _offset: 0, _limit: 1, _includeDeleted: true } as const;
    // Asked again after a failure (the Pod restarting, a dropped connection), as the feed itself reconnects.
    for (let wait = 100; !this.closed; wait = Math.min(wait * 2, 10_000)) {
      try {
        const [newest] = await this.client.call('search', newestFirst);
        feed.cursor = newest ? newest.dateServerModified + 1 : 0;
        if (!this.closed) feed.start();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
