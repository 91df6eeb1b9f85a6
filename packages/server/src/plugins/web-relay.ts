/**
 * The Pod's requests to a plugin run's own web server (2023 §6): `GET /v1/health`, `GET /v1/api`
 * and the calls `plugin/api/call` relays. The address is always the run's (its runner's
 * `webServer()`); a caller gives only a path, which is checked again here to stay on that server.
 * Redirects are not followed, answers are bounded in size and time, and the caller's credential is
 * never passed on.
 */
import type { PluginApiCall } from '@pod/protocol';
import type { z } from 'zod';
import { PodError } from '../errors.js';
import type { WebServer } from './runner.js';

/** `plugin/status` waits this long for each run (2023 §6.1). */
export const HEALTH_TIMEOUT_MS = 2_000;
/** `plugin/api` and `plugin/api/call` wait this long for the plugin's answer. */
export const CALL_TIMEOUT_MS = 30_000;
/** The largest answer relayed from a plugin; a health answer is one short word. */
export const MAX_RELAYED_BYTES = 8 * 1024 * 1024;
const MAX_HEALTH_BYTES = 4 * 1024;
/** Longer health words are not a status a client can act on. */
const MAX_STATUS_LENGTH = 200;

export type RelayedCall = Omit<z.output<typeof PluginApiCall>, 'id'>;

const badGateway = (message: string) => new PodError('badGateway', message);

/** The run's own word at `GET /v1/health` (a JSON string, or `{"status": string}`), or undefined when it has none. */
export async function healthOf(server: WebServer): Promise<string | undefined> {
  try {
    const answer = await request(
      server,
      { method: 'GET', endpoint: '/v1/health' },
      HEALTH_TIMEOUT_MS,
      MAX_HEALTH_BYTES,
    );
    const value: unknown = JSON.parse(answer);
    const status = typeof value === 'object' && value !== null && 'status' in value ? value.status : value;
    return typeof status === 'string' && status.length <= MAX_STATUS_LENGTH ? status : undefined;
  } catch {
    return undefined;
  }
}

/** The plugin's JSON answer to `call`, as text (checked to be JSON); 502 saying why when there is none. */
export async function relay(server: WebServer, call: RelayedCall): Promise<string> {
  const text = await request(server, call, CALL_TIMEOUT_MS, MAX_RELAYED_BYTES);
  if (text.trim() === '') return 'null';
  try {
    JSON.parse(text);
  } catch {
    throw badGateway(`the plugin's answer to ${call.method} ${call.endpoint} is not JSON`);
  }
  return text;
}

/** The URL of `endpoint` on the run's server: built from the run's address, and refused if it would leave it. */
function urlOn(server: WebServer, endpoint: string, query: RelayedCall['query']): URL {
  const origin = `http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
  const url = new URL(endpoint, origin);
  // PluginPath (protocol) already refused anything but a path: this is the last word on where it goes
  if (url.origin !== origin)
    throw new PodError('invalid', "endpoint must be a path on the plugin's own web server, such as /v1/search");
  for (const [name, value] of Object.entries(query ?? {}))
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(one));
  return url;
}

async function request(server: WebServer, call: RelayedCall, timeoutMs: number, maxBytes: number): Promise<string> {
  const url = urlOn(server, call.endpoint, call.query);
  const what = `${call.method} ${call.endpoint}`;
  const hasBody = call.method !== 'GET' && call.jsonBody !== undefined && call.jsonBody !== null;
  let response: Response;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    response = await fetch(url, {
      method: call.method,
      redirect: 'manual',
      signal,
      headers: { accept: 'application/json', ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(hasBody ? { body: JSON.stringify(call.jsonBody) } : {}),
    });
  } catch {
    throw badGateway(
      signal.aborted
        ? `the plugin's web server did not answer ${what} within ${timeoutMs / 1000} s`
        : `the plugin's web server cannot be reached (is it listening on POD_WEBSERVER_PORT?)`,
    );
  }
  const text = await readBounded(response, maxBytes, what);
  if (response.status < 200 || response.status > 299)
    throw badGateway(`the plugin's web server answered ${response.status} to ${what}: ${text.slice(0, 500)}`);
  return text;
}

/** The body as text, or 502 once it outgrows `maxBytes` (the rest is not read). */
async function readBounded(response: Response, maxBytes: number, what: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      // leaving the loop cancels the rest of the body
      if (size > maxBytes) throw badGateway(`the plugin's answer to ${what} is larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof PodError) throw error;
    throw badGateway(`the plugin's answer to ${what} broke off or took too long`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
