/**
 * The operator's routes (issue 15 part 5), outside the owners' API: `GET /metrics` (Prometheus
 * text format, for a scraper), `GET /healthz` (the process serves) and `GET /readyz` (it can do its
 * work: 200, else 503 with an `ErrorBody` beside the same fields).
 */
import { z } from 'zod';

export const operatorRoutes = { metrics: '/metrics', healthz: '/healthz', readyz: '/readyz' } as const;

/** `GET /healthz`. */
export const Health = z.object({ alive: z.literal(true) });
export type Health = z.infer<typeof Health>;

/** `GET /readyz`: each check is `ok`, or what failed and what to do. */
export const Readiness = z.object({
  ready: z.boolean(),
  checks: z.object({ dataDir: z.string(), runner: z.string() }),
});
export type Readiness = z.infer<typeof Readiness>;

/**
 * Moving an owner between Pods (issue 15 part 3). The target's routes, on its ordinary listener, each
 * with the target's move secret as `Authorization: Bearer <secret>`, the owner by its hash:
 * `POST check` (would it take the owner? 204), `PUT` the first part (a `pod-owner` archive of the
 * database and files copied while the owner served: staged, not yet served), `POST part` (what was
 * written since: the WAL from where the last part ended, new files; repeated while the owner serves),
 * `POST finish` (the last such part, sent while its writes are paused; the owner is installed at once),
 * `DELETE` (drops what was staged).
 */
export const moveRoutes = {
  check: '/move/:ownerHash/check',
  stage: '/move/:ownerHash',
  part: '/move/:ownerHash/part',
  finish: '/move/:ownerHash/finish',
} as const;

export const MoveHeaders = z.object({
  authorization: z
    .string({ error: 'send the move secret as "Authorization: Bearer <secret>"' })
    .regex(/^Bearer \S+$/, 'send the move secret as "Authorization: Bearer <secret>"'),
});

/** The target's answer to a staged or finished part: what it received. */
export const MoveReceived = z.object({ files: z.number().int().min(0), bytes: z.number().int().min(0) });
export type MoveReceived = z.infer<typeof MoveReceived>;

/**
 * What `pod move` asks the running source Pod (over its operator socket, `<data-dir>/admin.sock`): move
 * owner `owner` (its hash) to the Pod at `to`, authenticated there by `secret`.
 */
export const MoveRequest = z.object({
  owner: z.string().regex(/^[0-9a-f]{64}$/, 'owner is the owner hash: 64 lowercase hexadecimal characters'),
  to: z.url({ protocol: /^https?$/, error: 'to is the http(s) URL of the target Pod' }),
  secret: z.string().min(32, 'the move secret is at least 32 characters'),
});
export type MoveRequest = z.infer<typeof MoveRequest>;

/** The answer to a finished move: what went across, how long writes were held, how long it took in all. */
export const MoveReport = z.object({
  owner: z.string(),
  to: z.string(),
  files: z.number().int(),
  bytes: z.number().int(),
  pauseMs: z.number(),
  totalMs: z.number(),
});
export type MoveReport = z.infer<typeof MoveReport>;
