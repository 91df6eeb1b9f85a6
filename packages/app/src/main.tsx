/**
 * Start-up: keys from the address's fragment (removed from the address bar first of all), else from
 * this tab's session; the Pod opened with them; then the app.
 */
import { render } from 'preact';
import { App } from './app.js';
import { takeOAuthReturn } from './plugins/oauth-return.js';
import { replicaSummary } from './data/replica-source.js';
import { openPod } from './pod.js';
import { forgetKeys, rememberKeys, storedKeys, takeKeysFromFragment } from './session.js';
import { session } from './state.js';
import './style.css';

const fromFragment = takeKeysFromFragment();
// an OAuth provider's redirect to a plugin: out of the address bar at once, delivered once the Pod is open
takeOAuthReturn();
const root = document.getElementById('app') as HTMLElement;

async function start(): Promise<string | undefined> {
  if (fromFragment === 'malformed') return 'The keys in the link are not two keys of 64 characters (0–9, a–f).';
  const keys = fromFragment ?? storedKeys();
  if (!keys) return undefined;
  render(<p class="opening">Opening your Pod…</p>, root);
  const opened = await openPod(keys);
  if ('error' in opened) {
    // Offline, with keys this tab opened the Pod with before: open on this browser's copy of the data.
    const summary = opened.unreachable && !fromFragment && (await replicaSummary(keys.ownerKey));
    if (opened.unreachable && summary) {
      session.value = { keys, client: opened.unreachable, summary };
      return undefined;
    }
    forgetKeys();
    return opened.error;
  }
  rememberKeys(keys);
  session.value = { keys, ...opened };
  return undefined;
}

void start().then((notice) => render(<App notice={notice} />, root));
// The page and its assets for opening offline (public/sw.js); the app works without it.
navigator.serviceWorker?.register('/sw.js').catch(() => {});
