/**
 * Runs plugins as local processes, for plugin development on a machine without a container engine:
 * each image name maps to a command. The process gets the launch's environment on top of the Pod's
 * PATH and HOME only, so none of the Pod's own settings or secrets reach a plugin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { LOG_LIMIT_BYTES, LaunchError, lastBytes, maskSecrets, type PluginExit, type PluginLaunch, type PluginRunner, type RunningPlugin } from './runner.js';

export interface ProcessRunnerOptions {
  /** Image name → command and arguments, e.g. `{ 'example-plugin': ['node', '/path/to/plugin.js'] }`. */
  commands: Record<string, string[]>;
  /** A run still going after this long is stopped and reported `timedOut`; 0 for no limit. */
  timeoutSeconds: number;
  /** Between SIGTERM and SIGKILL when a run is stopped; 10 when not given. */
  stopGraceSeconds?: number;
}

export class ProcessRunner implements PluginRunner {
  readonly name = 'process';
  readonly #running = new Set<RunningPlugin>();

  constructor(readonly options: ProcessRunnerOptions) {}

  async start(launch: PluginLaunch): Promise<RunningPlugin> {
    const command = Object.hasOwn(this.options.commands, launch.containerImage) ? this.options.commands[launch.containerImage] : undefined;
    const [file, ...args] = command ?? [];
    if (file === undefined)
      throw new LaunchError('imageMissing', `no command is set for image ${JSON.stringify(launch.containerImage)} in the process runner`);
    const inherited: Record<string, string> = {};
    for (const key of ['PATH', 'HOME']) if (process.env[key] !== undefined) inherited[key] = process.env[key];

    const child = spawn(file, args, {
      env: { ...inherited, ...launch.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so that stopping it also ends whatever it started
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new LaunchError('failed', `cannot run ${file}: ${error.message}`)));
    });

    const plugin = supervise(child, launch.secrets, this.options);
    this.#running.add(plugin);
    void plugin.exited.then(() => this.#running.delete(plugin));
    return plugin;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#running].map((plugin) => plugin.stop()));
  }
}

function supervise(child: ChildProcess, secrets: string[], options: ProcessRunnerOptions): RunningPlugin {
  const pid = child.pid!;
  const grace = (options.stopGraceSeconds ?? 10) * 1000;
  let ended = false;
  let timedOut = false;
  let stopped = false;

  // the latest output only: the chunks are trimmed from the front past the limit
  const chunks: Buffer[] = [];
  let buffered = 0;
  const keep = (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (let first = chunks[0]; first && buffered - first.length >= LOG_LIMIT_BYTES; first = chunks[0]) {
      buffered -= first.length;
      chunks.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const halt = () => {
    if (ended || killTimer) return;
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => signalGroup('SIGKILL'), grace);
  };

  const timer = options.timeoutSeconds > 0 ? setTimeout(() => {
    timedOut = !stopped;
    halt();
  }, options.timeoutSeconds * 1000) : undefined;

  const exited = new Promise<PluginExit>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      // as when a container's first process ends: whatever it left running goes with it
      signalGroup('SIGKILL');
      const exitCode = code ?? (signal ? 128 + constants.signals[signal] : null);
      // 'close' follows once the pipes are drained, so the last output is in the logs; a child that
      // left the group (setsid) may hold them open, so they are closed after a moment regardless
      child.once('close', () => resolve({ exitCode, timedOut, stopped }));
      setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, 1000).unref();
    });
  });

  return {
    name: `pid ${pid}`,
    exited,
    async stop() {
      if (!ended && !timedOut) stopped = true;
      halt();
      await exited;
    },
    async logs() {
      return maskSecrets(lastBytes(Buffer.concat(chunks)).toString('utf8'), secrets);
    },
  };
}
