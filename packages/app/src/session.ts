/**
 * The owner's keys in the browser. They live in this tab's sessionStorage only: gone when the tab
 * closes, never in localStorage, never in a URL the app keeps, and sent nowhere but the Pod's API.
 * A script can sign in with `/#ownerKey=<hex>&databaseKey=<hex>`: the fragment (which browsers never
 * send to a server) is read and removed from the address bar before anything else runs.
 */
import { PodClient } from '@pod/client';
import { HEX_KEY } from '@pod/protocol';

export interface Keys {
  ownerKey: string;
  databaseKey: string;
}

const STORED = 'pod.keys';

/** Two fresh random keys (a CSPRNG in the browser). */
export const generateKeys = (): Keys => ({ ownerKey: PodClient.generateKey(), databaseKey: PodClient.generateKey() });

/** Keys shaped right (64 hex each), normalized to lower case; undefined otherwise. */
export function validKeys(ownerKey: unknown, databaseKey: unknown): Keys | undefined {
  if (typeof ownerKey !== 'string' || typeof databaseKey !== 'string') return undefined;
  const keys = { ownerKey: ownerKey.trim().toLowerCase(), databaseKey: databaseKey.trim().toLowerCase() };
  return HEX_KEY.test(keys.ownerKey) && HEX_KEY.test(keys.databaseKey) ? keys : undefined;
}

/**
 * Keys given in the address's fragment, which is removed from the address bar (and the history
 * entry) at once, whether or not the keys are well formed.
 */
export function takeKeysFromFragment(): Keys | 'malformed' | undefined {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (!fragment.has('ownerKey') && !fragment.has('databaseKey')) return undefined;
  history.replaceState(null, '', location.pathname + location.search);
  return validKeys(fragment.get('ownerKey'), fragment.get('databaseKey')) ?? 'malformed';
}

export function storedKeys(): Keys | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORED) ?? 'null') as Partial<Keys> | null;
    return stored ? validKeys(stored.ownerKey, stored.databaseKey) : undefined;
  } catch {
    return undefined;
  }
}

export const rememberKeys = (keys: Keys) => sessionStorage.setItem(STORED, JSON.stringify(keys));
export const forgetKeys = () => sessionStorage.removeItem(STORED);

/** The key file offered when a Pod is created, and read back by "open with a key file". */
export const keyFileText = (keys: Keys) =>
  `${JSON.stringify({ pod: location.origin, ownerKey: keys.ownerKey, databaseKey: keys.databaseKey }, null, 2)}\n`;

export function keysFromFile(text: string): Keys | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<Keys>;
    return validKeys(parsed.ownerKey, parsed.databaseKey);
  } catch {
    return undefined;
  }
}
