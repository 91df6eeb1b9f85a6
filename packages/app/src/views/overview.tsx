/** The landing view: what the Pod holds, every type with its number of items. */
import { href, session } from '../state.js';

export function Overview() {
  const summary = session.value?.summary;
  if (!summary) return null;
  const types = Object.entries(summary.types).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Your data</h2>
      <p>
        {summary.items.toLocaleString()} {summary.items === 1 ? 'item' : 'items'} of {types.length}{' '}
        {types.length === 1 ? 'type' : 'types'}.
      </p>
      <ul class="type-counts" aria-label="Items by type">
        {types.map(([type, count]) => (
          <li key={type}>
            <a class="type-name" href={href('table', type)}>
              {type}
            </a>{' '}
            <span class="count">{count.toLocaleString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
