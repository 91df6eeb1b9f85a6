/**
 * The 2023 plugin routes (spec 2023 §6): a run's own web server as the Pod relays it (`plugin/status`,
 * `plugin/api`, `plugin/api/call`), and the outcome a trigger plugin reports (`trigger/status`).
 */
import { z } from 'zod';
import { ItemId } from './items.js';

/** The port a plugin's web server listens on when its PluginRun sets no `webserverPort` (spec 2023 §8). */
export const DEFAULT_WEBSERVER_PORT = 8080;
/** What `plugin/status` answers for a run whose web server the Pod cannot ask (never launched, ended, silent). */
export const UNREACHABLE = 'unreachable';
/** Ids per `plugin/status`: each is a request to a plugin, so a call cannot fan out without bound. */
export const MAX_STATUS_IDS = 256;

/** `plugin/status`: the runs whose web server is asked `GET /v1/health`. */
export const PluginStatusQuery = z.object({
  plugins: z
    .array(ItemId)
    .max(MAX_STATUS_IDS, `at most ${MAX_STATUS_IDS} run ids per call; ask for the rest in another call`),
});
/** One key per requested id: the plugin's own word (`started`, `daemon`, `done`…) or `unreachable`. */
export interface PluginStatuses {
  plugins: Record<string, { status: string }>;
}

/** `plugin/api`: the run whose `GET /v1/api` is relayed. */
export const PluginApiQuery = z.object({ id: ItemId });
/** What a plugin serves at `/v1/api`: each endpoint path it exposes, its method and its arguments' types. */
export const PluginApi = z.record(
  z.string(),
  z.object({ method: z.string(), args: z.record(z.string(), z.string()).default({}) }),
);
export type PluginApi = z.output<typeof PluginApi>;

/**
 * A path on the plugin's own web server, never a URL: it starts with one `/`, carries no scheme,
 * host, query (`query` carries that), fragment, backslash or control character, and no `.` or `..`
 * segment, plain or percent-encoded, so it cannot leave the plugin's server or its root.
 */
export const PluginPath = z
  .string()
  .max(2048, 'endpoint is longer than 2048 characters')
  .refine((path) => /^\/(?!\/)/.test(path), 'endpoint must be a path starting with a single "/", such as /v1/search')
  .refine(
    (path) => !/[?#\\\s\p{Cc}]/u.test(path),
    'endpoint must not hold "?", "#", "\\", spaces or control characters (put URL parameters in "query")',
  )
  .refine(
    (path) => path.split('/').every((segment) => !isDotSegment(segment)),
    'endpoint must not hold "." or ".." segments',
  );

const isDotSegment = (segment: string): boolean => {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return true; // a malformed escape is refused with the rest
  }
  return decoded === '.' || decoded === '..' || /[/\\]/.test(decoded);
};

/** URL parameters: names to scalar values (a list repeats the name). */
const QueryValue = z.union([z.string(), z.number(), z.boolean()]);
export const PluginQuery = z.record(z.string(), z.union([QueryValue, z.array(QueryValue)]));

/** `plugin/api/call`: one request relayed to the run's web server; its JSON answer is the call's answer. */
export const PluginApiCall = z.object({
  id: ItemId,
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(
      z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], { error: 'method must be GET, POST, PUT, PATCH or DELETE' }),
    ),
  endpoint: PluginPath,
  query: PluginQuery.nullish(),
  jsonBody: z.unknown().optional(),
});

/**
 * `trigger/status`: a trigger plugin's outcome for the items it was given. 2022 clients send one
 * `item_id`, later ones `item_ids`; either (or both) is accepted and they are read as one list.
 */
export const TriggerStatus = z
  .object({
    item_ids: z
      .array(ItemId)
      .max(1_000, 'at most 1000 item_ids per report; report the rest in another call')
      .optional(),
    item_id: ItemId.optional(),
    trigger_id: ItemId,
    status: z.string().max(10_000, 'status is longer than 10000 characters'),
  })
  .refine((report) => report.item_ids !== undefined || report.item_id !== undefined, {
    error: 'name the items the trigger was about: "item_ids": [...] (or "item_id" from 2022 clients)',
  })
  .transform(({ item_ids = [], item_id, trigger_id, status }) => ({
    itemIds: item_id === undefined ? item_ids : [item_id, ...item_ids],
    triggerId: trigger_id,
    status,
  }));
