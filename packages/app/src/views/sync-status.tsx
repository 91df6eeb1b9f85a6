/** The state of this browser's copy, on every view: up to date, copying, offline with changes waiting, problems. */
import { useEffect } from 'preact/hooks';
import { replica } from '../data/current.js';
import { type SyncState, syncState } from '../data/sync-state.js';
import { href } from '../state.js';

const plural = (count: number, one: string, many = `${one}s`) =>
  `${count.toLocaleString()} ${count === 1 ? one : many}`;

function describe({ phase, upToDate, received, expected, waiting }: SyncState): string {
  const pending = waiting > 0 ? `${plural(waiting, 'change')} waiting` : '';
  switch (phase) {
    case 'opening':
      return "Opening this browser's copy of your data…";
    case 'copying':
      return `Syncing: ${received.toLocaleString()} of ~${expected.toLocaleString()} items copied to this browser. Until then, pages read the Pod.`;
    case 'live':
      if (waiting > 0) return `Online. Sending ${plural(waiting, 'change')}…`;
      return upToDate ? 'Online and up to date.' : 'Online, catching up with the Pod…';
    case 'offline':
      return `Offline${pending ? `: ${pending}` : ''}. You can keep browsing and editing; changes are sent when you are back online.`;
    case 'elsewhere':
      return "Another tab keeps this browser's copy of your data: this tab reads and writes the Pod directly, online only.";
    case 'unavailable':
      return 'This browser keeps no copy of your data (no IndexedDB here): pages read the Pod directly, online only.';
  }
}

export function SyncStatus() {
  // The replica starts with the session, whatever the first view.
  useEffect(() => void replica(), []);
  const state = syncState.value;
  const conflicts = state.conflicts.length;
  return (
    <div class={`sync sync-${state.phase}`}>
      <p role="status" aria-live="polite" aria-label="Sync">
        {describe(state)}
        {conflicts > 0 && (
          <>
            {' '}
            <a href={href('conflicts')}>{plural(conflicts, 'conflict')} to settle</a>
          </>
        )}
      </p>
      {state.problem && (
        <p role="alert" class="warning">
          {state.problem}
        </p>
      )}
    </div>
  );
}
