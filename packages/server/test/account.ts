/** The 2023 account registration (`POST /<v>/account`, bare body) for the tests of account mode. */
import { Owner, rawPost, type ApiVersion, type Reply } from './helpers.js';

/** Registers `body` as it is (a test may send it malformed). */
export const postAccount = (url: string, body: unknown, version: ApiVersion = 'v4'): Promise<Reply> =>
  rawPost(`${url}/${version}/account`, JSON.stringify(body), { 'content-type': 'application/json' });

export const register = (owner: Owner): Promise<Reply> =>
  postAccount(owner.url, { ownerKey: owner.owner, databaseKey: owner.key }, owner.version);

/** A new owner registered as a 2023 client does it: its database is in account mode. */
export async function accountOwner(url: string): Promise<Owner> {
  const owner = new Owner(url);
  const reply = await register(owner);
  if (reply.status !== 200) throw new Error(`registering answered ${reply.status}: ${reply.text}`);
  return owner;
}
