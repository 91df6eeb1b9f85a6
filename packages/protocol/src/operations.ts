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
