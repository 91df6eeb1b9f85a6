/** The status words of plugin runs: the Pod's launch record, and the run's own status. */
import { z } from 'zod';

/**
 * `podLaunchStatus`, written by the Pod only. Before or instead of a start: `notLaunched` (the
 * client runs it itself, or it was aborted while it waited), `queued`, `noRunner`, `imageMissing`,
 * `failed`, `refused` (no grant the Pod can honour); then `started`; at its end `exited`,
 * `timedOut`, `stopped`, or `interrupted` (the Pod itself stopped while the run was going).
 */
export const LaunchStatus = z.enum([
  'notLaunched',
  'queued',
  'noRunner',
  'imageMissing',
  'failed',
  'refused',
  'started',
  'exited',
  'timedOut',
  'stopped',
  'interrupted',
]);
export type LaunchStatus = z.infer<typeof LaunchStatus>;
/** Why a run was never started (its `podLaunchStatus`). */
export const LaunchRefusal = LaunchStatus.extract(['noRunner', 'imageMissing', 'failed', 'refused']);
export type LaunchRefusal = z.infer<typeof LaunchRefusal>;
/** How a started run ended (its `podLaunchStatus`). */
export const LaunchEnd = LaunchStatus.extract(['exited', 'timedOut', 'stopped', 'interrupted']);
export type LaunchEnd = z.infer<typeof LaunchEnd>;
/** `podLaunchStatus` values after which the Pod does nothing more for a run (its credential has ended). */
export const LAUNCH_ENDED: ReadonlySet<string> = new Set<LaunchStatus>([
  ...LaunchRefusal.options,
  ...LaunchEnd.options,
]);

/**
 * A PluginRun's `status`, written by its plugin (spec §5 lists more words, e.g. `created`,
 * `ready`: any text is accepted); these are the ones the Pod and the plugin kit act on.
 */
export const RunStatus = z.enum(['started', 'daemon', 'done', 'error', 'aborted']);
export type RunStatus = z.infer<typeof RunStatus>;
/** A run's final status: after it, nothing changes the run. `daemon` (2023 §8) says it keeps running: not an end. */
export const FinalRunStatus = RunStatus.exclude(['started', 'daemon']);
export type FinalRunStatus = z.infer<typeof FinalRunStatus>;
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set<FinalRunStatus>(FinalRunStatus.options);
