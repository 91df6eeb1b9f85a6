/**
 * An OAuth provider's redirect back to the app: a plugin whose service redirects to the Pod's
 * address (`https://<pod>/?code=…&state=…`) has its answer delivered here. The address is taken
 * out of the address bar at once (the code is for the plugin, not for the history), kept in memory
 * only, and written to the run whose question carried that `state`, once the Pod is open.
 */
import { Item, type PodClient } from '@pod/client';
import { answerRequest, isAsking, PluginRunItem } from '@pod/plugin-kit/browser';
import { signal } from '@preact/signals';
import { route } from '../state.js';
import { pluginOfRun } from './watch.js';

/** What became of the return, for the `#/oauth-return` view. */
export type OAuthReturn =
  | { state: 'pending'; url: string }
  | { state: 'sending' }
  | { state: 'delivered'; plugin: string }
  | { state: 'failed'; message: string; url?: string };

export const oauthReturn = signal<OAuthReturn | undefined>(undefined);

/** Takes a redirect's address out of the address bar (before anything else reads it), leaving the return's view. */
export function takeOAuthReturn(): void {
  const params = new URLSearchParams(location.search);
  if (!params.has('state') || !(params.has('code') || params.has('error'))) return;
  oauthReturn.value = { state: 'pending', url: location.href };
  history.replaceState(null, '', `${location.pathname}#/oauth-return`);
  route.value = ['oauth-return'];
}

const stateOf = (url: string) => {
  try {
    return new URL(url).searchParams.get('state');
  } catch {
    return null;
  }
};

/** After a failed delivery: the same address once more. */
export function retryOAuthReturn(client: PodClient): Promise<void> {
  const failed = oauthReturn.value;
  if (failed?.state === 'failed' && failed.url) oauthReturn.value = { state: 'pending', url: failed.url };
  return deliverOAuthReturn(client);
}

/** Answers the run that asked with this `state` with the redirect's address (the kit checks it and takes the code). */
export async function deliverOAuthReturn(client: PodClient): Promise<void> {
  const pending = oauthReturn.value;
  if (pending?.state !== 'pending') return;
  oauthReturn.value = { state: 'sending' };
  try {
    const state = stateOf(pending.url);
    const waiting = await client.call('search', { type: 'PluginRun', status: 'userActionNeeded', deleted: false });
    const run = waiting
      .map((item) => Item.fromJSON(item, PluginRunItem))
      .find((candidate) => isAsking(candidate) && candidate.authUrl && stateOf(candidate.authUrl) === state);
    if (!run) {
      oauthReturn.value = {
        state: 'failed',
        message:
          'No plugin run is waiting for this permission any more (it was answered, timed out or aborted). ' +
          'Start the run again and allow access from its new request.',
      };
      return;
    }
    await answerRequest(client, run.id, { value: pending.url });
    oauthReturn.value = { state: 'delivered', plugin: pluginOfRun(run)?.name ?? run.containerImage ?? 'the plugin' };
  } catch (error) {
    oauthReturn.value = {
      state: 'failed',
      message: `The answer could not be passed to the plugin: ${error instanceof Error ? error.message : String(error)}`,
      url: pending.url,
    };
  }
}
