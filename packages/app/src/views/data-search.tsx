/** Full-text search across every type's Text properties; each result links to its item. */
import { useState } from 'preact/hooks';
import { useData } from '../data/current.js';
import { labelOf } from '../data/source.js';
import { href } from '../state.js';

const LIMIT = 100;

export function SearchView({ text = '' }: { text?: string }) {
  const [draft, setDraft] = useState(text);
  const results = useData(
    (source, signal) => (text.trim() ? source.search(text, LIMIT, signal) : Promise.resolve([])),
    [text],
  );
  return (
    <section aria-labelledby="search-title">
      <h2 id="search-title">Search</h2>
      <search>
        <form
          class="search-form"
          onSubmit={(event) => {
            event.preventDefault();
            location.hash = href('search', draft.trim());
          }}
        >
          <label for="search-text">Words to find</label>
          <input
            id="search-text"
            type="search"
            value={draft}
            onInput={(event) => setDraft(event.currentTarget.value)}
            placeholder='tea, tea*, "green tea"'
          />
          <button type="submit">Search</button>
        </form>
      </search>
      <p class="muted">Every word must be found; end a word with * to find words that start with it.</p>
      <div aria-live="polite">
        {results.error && <p role="alert">{results.error}</p>}
        {text.trim() && results.value && (
          <p>
            {results.value.length === 0
              ? `Nothing found for “${text}”.`
              : `${results.value.length}${results.value.length === LIMIT ? '+' : ''} found for “${text}”.`}
          </p>
        )}
      </div>
      {results.value && results.value.length > 0 && (
        <ul class="results" aria-label="Results">
          {results.value.map((item) => (
            <li key={item.id}>
              <a href={href('item', item.id)}>{labelOf(item)}</a> <span class="muted">{item.type}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
