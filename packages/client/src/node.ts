/**
 * Node-only helpers, apart from the core so that it stays loadable in browsers:
 * `import { uploadFileFromPath, SqliteStore } from '@pod/client/node'`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PodClient, type PodClientOptions, type UploadOptions } from './client.js';
import type { File } from './types.js';

export { SqliteStore, type SqliteStoreOptions } from './sync/sqlite.js';

/**
 * Uploads a file from disk without holding it in memory: one read to hash it, one to send it.
 * `options.file` is the File item to create if the Pod has none with this hash, e.g.
 * `new File({ filename: 'video.mp4' })`.
 */
export async function uploadFileFromPath(
  client: PodClient,
  path: string,
  options: Omit<UploadOptions, 'sha256'> = {},
): Promise<File> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return client.uploadFile(body, { ...options, sha256: hash.digest('hex') });
}

/**
 * The client of a plugin the Pod started: address, owner and credential from the environment
 * the Pod sets (`POD_FULL_ADDRESS`, `POD_OWNER`, `POD_AUTH_JSON`).
 */
export function pluginClientFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  options: Omit<PodClientOptions, 'url' | 'ownerKey' | 'databaseKey' | 'pluginAuth'> = {},
): PodClient {
  const { POD_FULL_ADDRESS: url, POD_OWNER: ownerKey, POD_AUTH_JSON: authJson } = env;
  if (!url || !ownerKey || !authJson)
    throw new Error('POD_FULL_ADDRESS, POD_OWNER and POD_AUTH_JSON must be set; is this running as a plugin?');
  const { data } = JSON.parse(authJson) as { data?: Record<string, unknown> };
  if (!data || typeof data !== 'object') throw new Error('POD_AUTH_JSON must be {"data": {...}}');
  return new PodClient({ ...options, url, ownerKey, pluginAuth: data });
}
