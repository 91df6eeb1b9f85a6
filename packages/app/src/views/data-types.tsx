/** Every type with its number of items, each a link to its table; kept current by the live feed. */
import { useData } from '../data/current.js';
import { href } from '../state.js';

export function TypesView() {
  const types = useData(
    (source, signal) => source.types(signal),
    [],
    () => true,
  );
  return (
    <section aria-labelledby="types-title">
      <h2 id="types-title">Types</h2>
      {types.error && <p role="alert">{types.error}</p>}
      {types.value && types.value.length === 0 && <p>Your Pod holds no items yet.</p>}
      <ul class="type-counts" aria-label="Types and their items">
        {types.value?.map(({ type, count }) => (
          <li key={type}>
            <a class="type-name" href={href('table', type)}>
              {type}
            </a>{' '}
            <span class="count">
              {count.toLocaleString()} {count === 1 ? 'item' : 'items'}
            </span>
          </li>
        ))}
      </ul>
      <p>
        <a href={href('schema')}>Schema: types, properties and value types</a>
      </p>
    </section>
  );
}
