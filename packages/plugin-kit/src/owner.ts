/**
 * The owner's end of what a run asks (auth.ts is the plugin's): show a request, with its message
 * and URL, and answer it as the owner's app would — a code or a redirect in the run's
 * `authResponse`, a username and password on the Account the run's Plugin links to.
 */
import { Account, Item, type PodClient } from '@pod/client';
import { type PluginRunItem, readRun } from './items.js';

/** What the owner is asked for, by `authRequest`. */
const ASKS: Record<string, string> = {
  credentials: 'the username and password of the account',
  '2fa': 'a code',
  oauth: 'access to the account: open the link, then answer with the address it sends you to',
};

/** Whether the run waits for its owner now. */
export const isAsking = (run: PluginRunItem): boolean => run.status === 'userActionNeeded' && Boolean(run.authRequest);

/** The request a run makes of its owner, in lines for a terminal, or undefined when it asks nothing. */
export function describeRequest(run: PluginRunItem): string[] | undefined {
  const request = run.authRequest;
  if (!isAsking(run) || !request) return undefined;
  const answer = `pod-plugin answer ${run.id} ${request === 'credentials' ? 'USERNAME   (the password on stdin)' : 'VALUE'}`;
  return [
    `the plugin asks for ${ASKS[request] ?? `"${request}"`}`,
    ...(run.authMessage ? [`  message: ${run.authMessage}`] : []),
    ...(run.authUrl ? [`  open:    ${run.authUrl}`] : []),
    `  answer:  ${answer}`,
  ];
}

export interface Answer {
  /** The code, the redirect URL, or (for `credentials`) the username. */
  value: string;
  /** For `credentials`. */
  password?: string;
}

/** Answers what the run asks now; throws, saying so, when it asks nothing. Returns what was written. */
export async function answerRequest(client: PodClient, runId: string, answer: Answer): Promise<string> {
  const run = await readRun(client, runId);
  if (!isAsking(run)) throw new Error(`run ${runId} asks nothing now (status ${run.status ?? 'not started'})`);
  if (run.authRequest !== 'credentials') {
    await client.call('update_item', { id: runId, authResponse: answer.value });
    return `answered the "${run.authRequest}" request of run ${runId}`;
  }
  if (!answer.password) throw new Error('the run asks for a username and a password: give the password on stdin');
  const account = await accountOfRun(client, runId);
  await client.call('update_item', { id: account.id, identifier: answer.value, password: answer.password });
  return `set the username and password on Account ${account.id}`;
}

/** The Account of the run's Plugin (`PluginRun -plugin-> Plugin -account-> Account`), where credentials go. */
async function accountOfRun(client: PodClient, runId: string): Promise<Account> {
  const follow = async (id: string, name: string) => {
    const edges = await client.call('get_edges', { item: id, direction: 'Outgoing', expandItems: true });
    return edges.find((edge) => edge.name === name)?.item;
  };
  const plugin = await follow(runId, 'plugin');
  const account = plugin && (await follow(plugin.id, 'account'));
  if (!account || !('type' in account))
    throw new Error(
      `run ${runId} has no Plugin with an Account to put credentials on; \`pod-plugin install\` links one`,
    );
  return Item.fromJSON(account, Account);
}
