/**
 * Opening the owner's Pod: a client on this origin, checked with `summary`, which creates nothing, so
 * a mistyped owner key does not start an empty Pod and a wrong database key is told apart from it.
 */
import { PodClient, PodError } from '@pod/client';
import type { PodSummary } from '@pod/protocol';
import type { Keys } from './session.js';

/** On an error, `unreachable` is the client to use once the network is back, when the Pod could not be reached. */
export type Opened = { client: PodClient; summary: PodSummary } | { error: string; unreachable?: PodClient };

const clientFor = (keys: Keys) => new PodClient({ url: location.origin, ...keys });

/** What went wrong, in words the owner can act on. */
function explain(error: unknown): string {
  if (error instanceof PodError) {
    if (error.status === 401) return 'The database key does not open this Pod. Check the key and try again.';
    if (error.status === 403)
      return 'This Pod server has no data for that owner key. Check the key, or create a new Pod.';
    return `The Pod refused: ${error.message}`;
  }
  return 'The Pod could not be reached. Check your connection and try again.';
}

/** Opens an existing Pod; nothing is created or stored when the keys are wrong. */
export async function openPod(keys: Keys): Promise<Opened> {
  const client = clientFor(keys);
  try {
    return { client, summary: await client.summary() };
  } catch (error) {
    const unreachable = !(error instanceof PodError) || error.status === 0;
    return { error: explain(error), ...(unreachable && { unreachable: client }) };
  }
}

/** Creates a Pod for fresh keys (an account, 2023 API). */
export async function createPod(keys: Keys): Promise<Opened> {
  const client = clientFor(keys);
  try {
    await client.registerAccount();
    return { client, summary: await client.summary() };
  } catch (error) {
    return { error: explain(error) };
  }
}
