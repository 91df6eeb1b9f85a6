/**
 * The owner's whole Pod as one archive (`export`) and its installation on another Pod (`import`):
 * a tar of the encrypted database and files with a manifest of counts and SHA-256s, never decrypted here.
 */
import type { Imported, Payload } from '@pod/protocol';
import type { PodCore } from './core.js';
import { RETRY } from './core.js';
import type { RequestOptions } from './http.js';

/** The archive as it streams from the Pod; hand it to `importArchive` of a client of another Pod. */
export function exportArchive(pod: PodCore, options?: RequestOptions): Promise<ReadableStream<Uint8Array>> {
  const payload: Payload<'export'> = {};
  const init = pod.transport.envelope(JSON.stringify(payload));
  const read = async (response: Response) => {
    if (!response.body) throw new TypeError('export: the Pod answered without a body');
    return response.body;
  };
  return pod.transport.post('export', 'export', init, RETRY.export, read, options);
}

/**
 * Installs an archive as this client's owner on its Pod: refused (409) when the owner has data there,
 * (400) when the archive is another owner's, damaged or truncated, (401) when its database does not open
 * with this client's database key. A stream is sent as it is read, and never retried.
 */
export function importArchive(
  pod: PodCore,
  archive: Uint8Array | ReadableStream<Uint8Array>,
  options?: RequestOptions,
): Promise<Imported> {
  if (!pod.databaseKey) throw new TypeError('importArchive: only the owner (a client with a databaseKey) imports');
  const init: RequestInit & { duplex: 'half' } = {
    headers: { authorization: `Bearer ${pod.databaseKey}` },
    // fetch sends any Uint8Array; the DOM type asks for one over an ArrayBuffer (as in photos.ts)
    body: archive as BodyInit,
    duplex: 'half',
  };
  const read = (response: Response): Promise<Imported> => response.json();
  const retry = archive instanceof Uint8Array ? 'refused' : 'never';
  return pod.transport.post('import', 'import', init, retry, read, options);
}
