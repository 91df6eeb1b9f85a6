/**
 * Pod to client: every new or changed item, oldest first, by dateServerModified from the cursor
 * kept in the store, with the edge ends of new edges; schema items among them extend the schema.
 */
import type { ChangePage } from '../client.js';
import type { ReceivedItem } from '../items.js';
import type { Replica } from './replica.js';
import { Rerun } from './rerun.js';
import type { SchemaSync } from './schema.js';
import type { EdgeEnds, PodItem } from './store.js';

export class Pull {
  /** A call while a pull runs gets one more pull after it, so what committed before the call is in. */
  private readonly pulls = new Rerun(() => this.pages());

  constructor(
    private readonly replica: Replica,
    private readonly schema: SchemaSync,
    private readonly pageSize: number,
  ) {}

  /** Fetches every item changed since the cursor; resolves to the number of items received. */
  run(): Promise<number> {
    return this.pulls.run();
  }

  idle(): Promise<unknown> {
    return this.pulls.idle();
  }

  /** Pages, each asked while the previous one is stored. */
  private async pages(): Promise<number> {
    const size = this.pageSize;
    const { client } = this.replica;
    const fetchPage = (from: number) =>
      // `_includeDeleted`: on an owner in account mode (2023 API) a search leaves deletions out otherwise.
      client.call('search', {
        'dateServerModified>=': from,
        _limit: size,
        '[[edges]]': {},
        _includeDeleted: true,
      }) as Promise<ReceivedItem[]>;
    let from = this.replica.cursor;
    let next = fetchPage(from);
    for (let received = 0; ; ) {
      const page = await next;
      const more = page.length >= size;
      const last = page.at(-1);
      const cursor = last ? last.dateServerModified + 1 : from;
      if (more) {
        next = fetchPage(cursor);
        next.catch(() => {}); // handled when awaited; storing this page may fail first
        // Let the request go out before storing, which may block (SQLite): the Pod reads the next page meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await this.apply(page, cursor);
      received += page.length;
      if (!more) return received;
      from = cursor;
    }
  }

  /**
   * A page from the live feed. The feed carries no edge ends: a page with an edge this replica
   * does not know yet is fetched again through a pull, whose pages do.
   */
  async feedPage(page: ChangePage): Promise<void> {
    for (const item of page.items)
      if (item.type === 'Edge' && !(await this.replica.store.edge(item.id))) {
        await this.pulls.run();
        return;
      }
    await this.apply(page.items, page.cursor);
  }

  /** Stores items from the Pod (with their outgoing edges, when the page has them) and the cursor after them. */
  private async apply(received: ReceivedItem[], cursor: number): Promise<void> {
    const items: PodItem[] = [];
    const edges: EdgeEnds[] = [];
    for (const { '[[edges]]': outgoing, ...item } of received) {
      for (const edge of outgoing ?? [])
        edges.push({ id: edge.id, source: item.id, target: edge._item.id, name: edge._edge });
      items.push(item as PodItem);
    }
    const { replica } = this;
    await replica.exclusive(async () => {
      const next = Math.max(replica.cursor, cursor);
      if (items.length === 0 && next === replica.cursor) return; // nothing new: no write at all
      await replica.store.write({ items, edges, cursor: next });
      replica.cursor = next;
    });
    this.schema.learn(items);
    if (items.length > 0) replica.emit('change', { ids: items.map((item) => item.id), origin: 'remote' });
  }
}
