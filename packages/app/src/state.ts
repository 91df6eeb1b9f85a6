/** The app's shared state, as signals: who is signed in, and where in the app the owner is. */
import type { PodClient } from '@pod/client';
import type { PodSummary } from '@pod/protocol';
import { signal } from '@preact/signals';
import type { Keys } from './session.js';

export interface Session {
  keys: Keys;
  client: PodClient;
  summary: PodSummary;
}

export const session = signal<Session | undefined>(undefined);

/**
 * The route: the address's fragment after `#/`, split at `/` (`#/types/Note` is `['types', 'Note']`).
 * Any other fragment (the sign-in one, `#ownerKey=…`) is no route.
 */
const routeOf = (hash: string) =>
  hash.startsWith('#/') ? hash.slice(2).split('/').filter(Boolean).map(decodeURIComponent) : [];
export const route = signal<string[]>(routeOf(location.hash));
addEventListener('hashchange', () => {
  route.value = routeOf(location.hash);
});

/** The fragment of a route, for links. */
export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;
