/**
 * Open conflicts: local changes that met a newer version on the Pod (offline edits, say), kept aside so
 * nothing was overwritten. Each shows the Pod's value and the owner's, property by property; the owner keeps
 * either, and the choice is pushed.
 */
import { useState } from 'preact/hooks';
import { explain, replica } from '../data/current.js';
import { labelOf } from '../data/source.js';
import { type OpenConflict, syncState } from '../data/sync-state.js';
import { href } from '../state.js';
import { formatValue, truncate } from './data-values.js';

const shown = (value: unknown) => (value === undefined || value === null ? '(none)' : truncate(formatValue(value)));

function ConflictCard({ conflict }: { conflict: OpenConflict }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const label = labelOf(conflict.theirs);
  const headingId = `conflict-${conflict.id}`;

  async function keep(which: 'mine' | 'theirs') {
    setBusy(true);
    setError('');
    try {
      await replica().settle(conflict.id, which);
    } catch (caught) {
      setError(explain(caught));
      setBusy(false);
    }
  }

  return (
    <section class="conflict" aria-labelledby={headingId}>
      <h3 id={headingId}>
        <a href={href('item', conflict.id)}>{label}</a> <span class="muted">({conflict.type})</span>
      </h3>
      <p class="muted">
        Changed on the Pod while your change waited here ({new Date(conflict.found).toLocaleString()}).
      </p>
      <div class="conflict-table">
        <table>
          <caption class="visually-hidden">Both versions of {label}</caption>
          <thead>
            <tr>
              <th scope="col">Property</th>
              <th scope="col">On the Pod (theirs)</th>
              <th scope="col">In this browser (mine)</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(conflict.mine).map(([name, mine]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{shown(conflict.theirs[name])}</td>
                <td>{shown(mine)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {error && <p role="alert">{error}</p>}
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => keep('mine')}>
          Keep mine
        </button>
        <button type="button" disabled={busy} onClick={() => keep('theirs')}>
          Keep theirs
        </button>
      </div>
    </section>
  );
}

export function ConflictsView() {
  const { conflicts } = syncState.value;
  return (
    <section aria-labelledby="conflicts-title">
      <h2 id="conflicts-title">Conflicts</h2>
      {conflicts.length === 0 ? (
        <p>No conflicts: every change you made is on the Pod or on its way.</p>
      ) : (
        <p>These changes met a newer version on the Pod. Nothing was overwritten: keep the Pod's version or yours.</p>
      )}
      {conflicts.map((conflict) => (
        <ConflictCard key={conflict.id} conflict={conflict} />
      ))}
    </section>
  );
}
