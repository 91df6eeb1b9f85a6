/**
 * What every runner does alike once a plugin is going: keeps it among the running, stops it at its
 * time limit (`timedOut`) or on request (`stopped`), and stops what is left when the runner closes.
 * A runner supplies only how to halt its kind of run and how its end is observed.
 */
import type { PluginExit, RunningPlugin, WebServer } from './runner.js';

/** Plugins stopped on request get this long between SIGTERM and SIGKILL unless a runner is told otherwise. */
export const STOP_GRACE_SECONDS = 10;

/** One run as its runner sees it. */
export interface Supervised {
  /** Container name or process id. */
  name: string;
  /** Asks the run to end, forcefully after the grace period; called again while it ends, it does nothing more. */
  halt(): Promise<void> | void;
  /** Resolves (never rejects) with the exit code once the run has ended; null when it cannot be known. */
  ended: Promise<number | null>;
  /** After `ended`: what must happen before the run counts as gone (drain output, remove the container). */
  cleanUp(): Promise<void>;
  logs(): Promise<string>;
  /** Where its web server listens while it runs (see RunningPlugin). */
  webServer(): Promise<WebServer | undefined>;
}

export class Supervisor {
  readonly #running = new Set<RunningPlugin>();

  /** `timeoutSeconds`: a run still going after this long is stopped and reported `timedOut`; 0 for no limit. */
  constructor(private readonly timeoutSeconds: number) {}

  watch(run: Supervised): RunningPlugin {
    let ended = false;
    let timedOut = false;
    let stopped = false;
    const timer =
      this.timeoutSeconds > 0
        ? setTimeout(() => {
            timedOut = !stopped;
            void run.halt();
          }, this.timeoutSeconds * 1000)
        : undefined;
    const exited = run.ended.then(async (exitCode): Promise<PluginExit> => {
      ended = true;
      clearTimeout(timer);
      await run.cleanUp();
      return { exitCode, timedOut, stopped };
    });
    const plugin: RunningPlugin = {
      name: run.name,
      exited,
      async stop() {
        if (!ended && !timedOut) stopped = true;
        await run.halt();
        await exited;
      },
      logs: () => run.logs(),
      webServer: async () => (ended ? undefined : run.webServer()),
    };
    this.#running.add(plugin);
    void exited.then(() => this.#running.delete(plugin));
    return plugin;
  }

  /** Stops every run still going. */
  async close(): Promise<void> {
    await Promise.all([...this.#running].map((plugin) => plugin.stop()));
  }
}
