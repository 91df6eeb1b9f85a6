/**
 * The HTTP API of spec §1–5 under each version prefix (/v4, /v3), one Fastify plugin per seam:
 * the JSON calls, the change feed, the uploads, the 2023 account registration, and `/v5`'s schema
 * route (spec 2023 §2.2).
 */
import type { FastifyPluginAsync } from 'fastify';
import { API_VERSIONS } from '@pod/protocol';
import { account } from './account.js';
import { calls } from './calls.js';
import { changes } from './changes.js';
import { uploads } from './uploads.js';
import { imports } from './import.js';
import { v5 } from './v5.js';
import type { ApiDeps } from './caller.js';

export type { ApiDeps } from './caller.js';

export const api: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  for (const version of API_VERSIONS) {
    const prefix = `/${version}`;
    // `changes` before `calls`: its static route and their `/:owner/*` share a parser each.
    await app.register(changes, { ...deps, prefix });
    await app.register(calls, { ...deps, prefix });
    await app.register(uploads, { ...deps, prefix });
    await app.register(imports, { ...deps, prefix });
    await app.register(account, { ...deps, prefix });
  }
  await app.register(v5, { ...deps, prefix: '/v5' });
};
