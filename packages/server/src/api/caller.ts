/**
 * What every API route shares: its dependencies, validating a request part against its protocol
 * schema, the JSON body parser, and who is calling (`authorize`).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { describeIssues, type Auth, type Endpoint, type V5Endpoint } from '@pod/protocol';
import type { z } from 'zod';
import { PodError, badRequest } from '../errors.js';
import type { Mailer } from '../email/mailer.js';
import type { Owner, OwnerPool } from '../storage/owners.js';
import type { ChangeFeed } from '../sync/feed.js';
import type { PluginCredentials } from '../plugins/credentials.js';
import type { Grant } from '../plugins/permissions.js';
import type { PodConfig } from '../config.js';
import type { PluginRuns } from '../plugins/trigger.js';
import type { OAuthBroker } from '../oauth/broker.js';
import type { Thumbnails } from '../storage/thumbnails.js';

/** Told of file bytes moved (the Pod's metrics). */
export interface FileTraffic {
  uploaded(bytes: number): void;
  downloaded(bytes: number): void;
}

export interface ApiDeps {
  owners: OwnerPool;
  credentials: PluginCredentials;
  runs: PluginRuns;
  feed: ChangeFeed;
  mailer: Mailer;
  oauth: OAuthBroker;
  traffic: FileTraffic;
  thumbnails: Thumbnails;
  jsonBodyLimit: number;
  uploadLimit: number;
  limits: Pick<PodConfig['limits'], 'maxAnswerBytes' | 'maxBulkSearches' | 'maxImportBytes'>;
}

/**
 * Reads and drops what is left of a streamed body the Pod refused (413, 507, 401…): the client, still
 * sending, then gets the answer, and its connection stays usable.
 */
export function dropRest(body: IncomingMessage): void {
  body.unpipe();
  body.resume();
}

/** Who is calling: the owner (ClientAuth), or a plugin run acting within its grant (PluginAuth). */
export interface Caller {
  owner: Owner;
  grant?: Grant;
}

/** The value if it fits the schema, else a 400 saying what is wrong where. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(describeIssues(result.error, where));
  return result.data;
}

/** Bodies are parsed as JSON whatever their Content-Type says (original clients send none). */
export function parseJsonBodies(app: FastifyInstance, bodyLimit: number) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    try {
      // secure-json-parse: a "__proto__" or "constructor.prototype" key is refused, not applied.
      const options = { protoAction: 'error', constructorAction: 'error' } as const;
      done(null, secureJson.parse(body.toString('utf8'), undefined, options));
    } catch (error) {
      // V8's message quotes the body, which may hold a key: keep only the position.
      const message = error instanceof Error ? error.message : String(error);
      const position = /position (\d+)/.exec(message)?.[1];
      const detail = /prototype/.test(message)
        ? ' (it has a "__proto__" or "constructor.prototype" key)'
        : position
          ? ` (at position ${position})`
          : '';
      done(badRequest(`the body is not valid JSON${detail}`), undefined);
    }
  });
}

/**
 * The caller, and for a plugin the checks of its grant that need no stored item (403 before
 * anything runs); the store checks each change against the grant as it applies it. `then` starts
 * the request's work in the same turn of the owner's main connection as the checks (`withMain`);
 * only that synchronous start holds it, so a search or a bulk does not (a bulk takes it for its writes).
 */
export async function authorize<T>(
  deps: ApiDeps,
  ownerKey: string,
  auth: Auth,
  endpoint: Endpoint | V5Endpoint | 'changes' | 'upload',
  payload: unknown,
  then: (caller: Caller) => T,
): Promise<T> {
  // Mail through a relay only for owners that existed before this request: inventing one sends nothing.
  // A key change or a deletion creates no database only to change or delete it.
  const mustExist =
    (endpoint === 'send_email' && deps.mailer.relays) ||
    endpoint === 'summary' ||
    endpoint === 'change_database_key' ||
    endpoint === 'delete_owner';
  for (let attempt = 1; ; attempt++) {
    const caller: Caller =
      auth.type === 'ClientAuth'
        ? { owner: deps.owners.authenticate(ownerKey, auth.databaseKey, { mustExist }) }
        : deps.credentials.resolve(ownerKey, auth.data);
    const turn = await caller.owner.store.withMain(() => {
      // Closed while this request waited for its turn (queued behind a delete_owner, or an idle close):
      // it starts again, and gets what a request arriving now gets (a new owner, 403, 401).
      if (!deps.owners.isOpen(caller.owner)) return undefined;
      caller.grant?.authorize(endpoint, payload, caller.owner.store);
      if (addsData(endpoint, payload)) deps.owners.quota.checkRoom(caller.owner);
      return { started: then(caller) };
    });
    if (turn) return turn.started;
    if (attempt === MAX_ATTEMPTS)
      throw new PodError('unavailable', "the owner's database was closed while this request waited; try again");
  }
}

/** Calls that store more: refused once the owner's quota is used up (deleting goes on, to make room). */
function addsData(endpoint: Endpoint | V5Endpoint | 'changes' | 'upload', payload: unknown): boolean {
  switch (endpoint) {
    case 'create_item':
    case 'update_item':
    case 'create_edge':
    case 'upload':
    case 'schema':
      return true;
    case 'bulk': {
      const { createItems, updateItems, createEdges } = payload as Record<string, unknown[] | undefined>;
      return Boolean(createItems?.length || updateItems?.length || createEdges?.length);
    }
    default:
      return false;
  }
}

/** Starts of a request whose owner closes under it each time: one is the rule, a second is rare. */
const MAX_ATTEMPTS = 3;
