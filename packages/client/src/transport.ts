/**
 * Requests to one owner's data on one Pod: the envelope every call carries (`{"auth", "payload"}`),
 * the URLs below `https://host/v4/<ownerKey>`, and the reading of their answers.
 */
import type {
  AccountRegistration,
  Answer,
  Auth,
  Empty,
  JsonEndpoint,
  PodVersion,
  V5Answer,
  V5Endpoint,
} from '@pod/protocol';
import { exchange, type Moved, type Policy, type RequestOptions, type Retry } from './http.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

export class Transport {
  /** The Pod's URL: where the owner lives, updated when the Pod answers that it moved (a 307). */
  url: string;
  /** The auth as JSON, sent in every envelope (and, for a plugin, in the path of an upload). */
  readonly authJson: string;

  constructor(
    url: string,
    private readonly ownerKey: string,
    auth: Auth,
    private readonly policy: Policy,
  ) {
    this.url = url;
    this.authJson = JSON.stringify(auth);
  }

  /** `https://host/v4/<ownerKey>`: every call is a POST below it. */
  get base(): string {
    return `${this.url}/v4/${this.ownerKey}`;
  }

  /** `https://host/v5/<ownerKey>`: the 2023 schema call (spec 2023 §2.2). */
  private get v5Base(): string {
    return `${this.url}/v5/${this.ownerKey}`;
  }

  /**
   * A redirect that keeps the request's path (the owner moved, `pod move`) moves this transport's Pod
   * URL with it, so later calls (a stream upload, the live feed's reconnection) go straight there.
   */
  readonly moved: Moved = (from, to) => {
    if (!from.startsWith(this.url)) return;
    const path = from.slice(this.url.length);
    if (to.endsWith(path) && to.length > path.length) this.url = to.slice(0, to.length - path.length);
  };

  /** Characters the envelope adds to a payload. */
  get envelopeLength(): number {
    return `{"auth":${this.authJson},"payload":}`.length;
  }

  /** A JSON call with its payload already serialized; the answer is the endpoint's. */
  json<E extends JsonEndpoint>(
    endpoint: E,
    payloadJson: string,
    retry: Retry,
    options?: RequestOptions,
  ): Promise<Answer<E>> {
    const read = (response: Response): Promise<Answer<E>> => response.json();
    return this.post(endpoint, endpoint, this.envelope(payloadJson), retry, read, options);
  }

  /** A `/v5` call with its payload already serialized. */
  v5<E extends V5Endpoint>(
    endpoint: E,
    payloadJson: string,
    retry: Retry,
    options?: RequestOptions,
  ): Promise<V5Answer<E>> {
    const read = (response: Response): Promise<V5Answer<E>> => response.json();
    const init = { method: 'POST', ...this.envelope(payloadJson) };
    const request = { url: `${this.v5Base}/${endpoint}`, init, endpoint, retry, read, moved: this.moved };
    return exchange(request, this.policy, options);
  }

  /** A request body carrying this payload. */
  envelope(payloadJson: string): RequestInit {
    return { headers: JSON_HEADERS, body: `{"auth":${this.authJson},"payload":${payloadJson}}` };
  }

  /** `POST <base>/<path>`, read by `read` when it answers 200. */
  post<T>(
    path: string,
    endpoint: string,
    init: RequestInit,
    retry: Retry,
    read: (response: Response) => Promise<T>,
    options?: RequestOptions,
  ): Promise<T> {
    const url = `${this.base}/${path}`;
    const request = { url, init: { method: 'POST', ...init }, endpoint, retry, read, moved: this.moved };
    return exchange(request, this.policy, options);
  }

  /** `POST /v4/account` (2023 API): its body is bare, no envelope; the owner key rides in it. */
  account(registration: AccountRegistration, options?: RequestOptions): Promise<Empty> {
    const read = (response: Response): Promise<Empty> => response.json();
    const init = { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(registration) };
    const url = `${this.url}/v4/account`;
    const request = { url, init, endpoint: 'account', retry: 'safe' as const, read, moved: this.moved };
    return exchange(request, this.policy, options);
  }

  /** `GET /version`. */
  version(options?: RequestOptions): Promise<PodVersion> {
    const read = (response: Response): Promise<PodVersion> => response.json();
    const request = { url: `${this.url}/version`, init: {}, endpoint: 'version', retry: 'safe' as const, read };
    return exchange(request, this.policy, options);
  }
}
