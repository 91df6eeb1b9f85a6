/**
 * A type's items as a table: a column per declared property, sortable by clicking a column, filtered by
 * typed conditions, virtualized (@tanstack/virtual-core): the DOM holds the rows in view and a few more,
 * rows are fetched a page at a time as the viewport moves, and the first rows show before any count.
 * Live: a change to an item of this type fetches the pages in view again.
 */
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
} from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { dataSource, explain, useData } from '../data/current.js';
import type { DataItem, Filter, RowQuery, ValueType } from '../data/source.js';
import { href } from '../state.js';
import { FilterBar, describeFilter } from './data-filters.js';
import { formatValue, truncate } from './data-values.js';

const ROW_HEIGHT = 36;
/** Rows per request. */
const PAGE = 100;

export interface Column {
  name: string;
  valueType: ValueType;
}

export function TableView({ type }: { type: string }) {
  const schema = useData(
    (source, signal) => source.schema(signal),
    [],
    (changed) => changed.some((item) => item.type === 'ItemPropertySchema'),
  );
  const [sort, setSort] = useState<RowQuery['sort']>();
  const [filters, setFilters] = useState<Filter[]>([]);
  const columns = useMemo<Column[]>(
    () =>
      (schema.value?.declarations ?? [])
        .filter(({ itemType }) => itemType === type)
        .map(({ name, valueType }) => ({ name, valueType }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    [schema.value, type],
  );
  const query = useMemo<RowQuery>(
    () => ({ type, properties: columns.map(({ name }) => name), sort, filters }),
    [type, columns, sort, filters],
  );

  function cycleSort(property: string) {
    if (sort?.property !== property) setSort({ property, descending: false });
    else if (!sort.descending) setSort({ property, descending: true });
    else setSort(undefined);
  }

  return (
    <section class="data-table" aria-labelledby="table-title">
      <div class="title-row">
        <h2 id="table-title">{type}</h2>
        <a class="button" href={href('new', type)}>
          New {type}
        </a>
      </div>
      {schema.error && <p role="alert">{schema.error}</p>}
      {schema.value && (
        <>
          <FilterBar
            columns={columns}
            filters={filters}
            onAdd={(filter) => setFilters([...filters, filter])}
            onRemove={(index) => setFilters(filters.filter((_, i) => i !== index))}
          />
          <Rows key={JSON.stringify(query)} query={query} columns={columns} onSort={cycleSort} />
        </>
      )}
    </section>
  );
}

interface Pages {
  rows: Map<number, DataItem[]>;
  /** Pages being fetched, and how to stop each. */
  loading: Map<number, AbortController>;
  /** Pages whose rows may be out of date (a change came): shown until fetched again. */
  stale: Set<number>;
  /** Where the rows end, once a short page has said. */
  end?: number;
  count?: number;
  error?: string;
}

const emptyPages = (): Pages => ({ rows: new Map(), loading: new Map(), stale: new Set() });

function Rows({ query, columns, onSort }: { query: RowQuery; columns: Column[]; onSort(property: string): void }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const pages = useRef<Pages>(emptyPages());
  const virtualizer = useMemo(
    () =>
      new Virtualizer<HTMLDivElement, HTMLTableRowElement>({
        count: 0,
        getScrollElement: () => scroller.current,
        estimateSize: () => ROW_HEIGHT,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        overscan: 10,
        onChange: () => rerender(0),
      }),
    [],
  );

  // The rows' component is keyed by its query: a new query starts from nothing and from the top.
  useEffect(() => {
    const controller = new AbortController();
    const state = pages.current;
    // One count at a time: changes arriving meanwhile ask for one more after it, not one each.
    const counting = { running: false, again: false };
    const countRows = async (): Promise<void> => {
      if (counting.running) {
        counting.again = true;
        return;
      }
      counting.running = true;
      counting.again = false;
      try {
        state.count = (await dataSource().count(query, controller.signal)).count;
        rerender(0);
      } catch {
        // the rows still show; the count stays as it was
      }
      counting.running = false;
      if (counting.again && !controller.signal.aborted) await countRows();
    };
    void countRows();
    const unsubscribe = dataSource().subscribe((changed) => {
      const mine = changed.filter((item) => item.type === query.type);
      if (mine.length === 0) return;
      // shown at once where the rows are loaded; then the pages in view are fetched again, for order and filters
      const byId = new Map(mine.map((item) => [item.id, item]));
      for (const [page, rows] of state.rows) {
        state.rows.set(
          page,
          rows.map((row) => byId.get(row.id) ?? row),
        );
        state.stale.add(page);
      }
      // a page being fetched may have been read before this change: it is fetched again once it lands
      for (const page of state.loading.keys()) state.stale.add(page);
      state.end = undefined;
      void countRows();
      rerender(0);
    });
    return () => {
      controller.abort();
      unsubscribe();
      for (const loading of state.loading.values()) loading.abort();
    };
  }, []);

  const state = pages.current;
  const loadedEnd = Math.max(0, ...[...state.rows.keys()].map((page) => page * PAGE + PAGE));
  const count = state.end ?? state.count ?? loadedEnd + PAGE;
  virtualizer.setOptions({ ...virtualizer.options, count });
  useLayoutEffect(() => virtualizer._didMount(), [virtualizer]);
  useLayoutEffect(() => virtualizer._willUpdate());
  const visible = virtualizer.getVirtualItems();

  // Fetch the pages in view that are missing or stale; stop fetching those scrolled away from.
  useEffect(() => {
    const first = visible[0]?.index ?? 0;
    const last = visible.at(-1)?.index ?? 0;
    const wanted = new Set<number>();
    for (let page = Math.floor(first / PAGE); page <= Math.floor(last / PAGE); page++) wanted.add(page);
    if (visible.length === 0) wanted.add(0);
    for (const [page, controller] of state.loading)
      if (!wanted.has(page)) {
        controller.abort();
        state.loading.delete(page);
      }
    for (const page of state.stale) if (!wanted.has(page)) state.rows.delete(page);
    for (const page of wanted) {
      if (state.loading.has(page) || (state.rows.has(page) && !state.stale.has(page))) continue;
      if (state.end !== undefined && page * PAGE >= state.end && page > 0) continue;
      const controller = new AbortController();
      state.loading.set(page, controller);
      state.stale.delete(page);
      dataSource()
        .rows(query, page * PAGE, PAGE, controller.signal)
        .then(
          (rows) => {
            if (controller.signal.aborted) return;
            state.loading.delete(page);
            state.rows.set(page, rows);
            state.error = undefined;
            if (rows.length < PAGE) state.end = page * PAGE + rows.length;
            rerender(0);
          },
          (error) => {
            if (controller.signal.aborted) return;
            state.loading.delete(page);
            state.error = explain(error);
            rerender(0);
          },
        );
    }
  });

  const grid = { gridTemplateColumns: `minmax(7rem, 12rem) repeat(${columns.length}, minmax(8rem, 1fr))` };
  const shown = state.end ?? state.count;
  return (
    <>
      <p class="table-status" aria-live="polite">
        {shown === undefined
          ? 'Counting…'
          : `${shown.toLocaleString()} ${shown === 1 ? 'item' : 'items'}${query.filters.length ? ' match' : ''}`}
        {query.filters.length > 0 && ` (${query.filters.map((filter) => describeFilter(filter, columns)).join(', ')})`}
      </p>
      {state.error && <p role="alert">{state.error}</p>}
      <div class="table-scroller" ref={scroller}>
        <table aria-label={`${query.type} items`} aria-rowcount={shown === undefined ? -1 : shown + 1}>
          <thead>
            <tr class="table-row" aria-rowindex={1} style={grid}>
              <th scope="col">id</th>
              {columns.map(({ name, valueType }) => {
                const sorted = query.sort?.property === name ? query.sort : undefined;
                return (
                  <th
                    scope="col"
                    key={name}
                    aria-sort={sorted ? (sorted.descending ? 'descending' : 'ascending') : 'none'}
                  >
                    <button type="button" class="sort" onClick={() => onSort(name)} title={valueType}>
                      {name}
                      <span aria-hidden="true">{sorted ? (sorted.descending ? ' ▼' : ' ▲') : ''}</span>
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody style={{ height: `${virtualizer.getTotalSize()}px` }}>
            {visible.map((row) => (
              <Row
                key={row.key}
                row={row}
                item={state.rows.get(Math.floor(row.index / PAGE))?.[row.index % PAGE]}
                columns={columns}
                grid={grid}
              />
            ))}
          </tbody>
        </table>
      </div>
      {shown === 0 && (
        <p>
          No {query.type} items{query.filters.length > 0 ? ' match these filters' : ''}.
        </p>
      )}
    </>
  );
}

function Row({
  row,
  item,
  columns,
  grid,
}: {
  row: VirtualItem;
  item: DataItem | undefined;
  columns: Column[];
  grid: Record<string, string>;
}) {
  const place = { ...grid, transform: `translateY(${row.start}px)`, height: `${row.size}px` };
  if (!item)
    return (
      <tr class="table-row loading" aria-rowindex={row.index + 2} style={place}>
        <td>…</td>
      </tr>
    );
  return (
    <tr class="table-row" aria-rowindex={row.index + 2} style={place}>
      <td>
        <a href={href('item', item.id)}>{truncate(item.id, 12)}</a>
      </td>
      {columns.map(({ name, valueType }) => {
        const text = formatValue(item[name], valueType);
        const short = truncate(text);
        return (
          <td key={name} title={short === text ? undefined : text} class={`cell-${valueType}`}>
            {short}
          </td>
        );
      })}
    </tr>
  );
}
