/**
 * Runs plugins as local processes, for plugin development on a machine without a container engine:
 * each image name maps to a command. The process gets the launch's environment on top of the Pod's
 * PATH and HOME only, so none of the Pod's own settings or secrets reach a plugin. Processes share
 * the host's ports, so a run's web server gets a free loopback port of its own (POD_WEBSERVER_PORT)
 * rather than its webserverPort: a fixed 8080 would collide, and a port the run names could point
 * the Pod's relay (plugin/api/call) at another service of the host.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { PodConfig } from '../config.js';
import { freePort } from '../free-port.js';
import type { PluginDir } from './plugin-dir.js';
import {
  LOG_LIMIT_BYTES,
  LaunchError,
  lastBytes,
  maskSecrets,
  type PluginLaunch,
  type PluginRunner,
  type RunningPlugin,
  WEBSERVER_HOST_VARIABLE,
  WEBSERVER_PORT_VARIABLE,
} from './runner.js';
import { STOP_GRACE_SECONDS, Supervisor, type Supervised } from './supervision.js';

export type ProcessRunnerOptions = Pick<PodConfig['plugins'], 'commands' | 'timeoutSeconds'> & {
  /** Between SIGTERM and SIGKILL when a run is stopped; STOP_GRACE_SECONDS when not given. */
  stopGraceSeconds?: number;
  /** The watched folder of commands (`--plugin-dir`); `commands` win on a name clash. */
  folder?: PluginDir;
};

export class ProcessRunner implements PluginRunner {
  readonly name = 'process';
  readonly #supervisor: Supervisor;

  constructor(readonly options: ProcessRunnerOptions) {
    this.#supervisor = new Supervisor(options.timeoutSeconds);
  }

  async start(launch: PluginLaunch): Promise<RunningPlugin> {
    // read again at each launch: a plugin installed a moment ago starts even if no change was seen yet
    const commands = this.#commands(this.options.folder?.read());
    const image = launch.containerImage;
    const [file, ...args] = (Object.hasOwn(commands, image) ? commands[image] : undefined) ?? [];
    if (file === undefined) {
      const where = this.options.folder ? ` or in ${this.options.folder.dir}` : '';
      throw new LaunchError(
        'imageMissing',
        `no command is set for image ${JSON.stringify(image)} in the process runner (--plugin-commands${where}); ` +
          '`pod-plugin install` registers one',
      );
    }
    const inherited: Record<string, string> = {};
    for (const key of ['PATH', 'HOME']) if (process.env[key] !== undefined) inherited[key] = process.env[key];

    const port = await freePort();
    const child = spawn(file, args, {
      env: {
        ...inherited,
        ...launch.env,
        [WEBSERVER_HOST_VARIABLE]: '127.0.0.1',
        [WEBSERVER_PORT_VARIABLE]: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // its own process group, so that stopping it also ends whatever it started
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new LaunchError('failed', `cannot run ${file}: ${error.message}`)));
    });
    const graceMs = (this.options.stopGraceSeconds ?? STOP_GRACE_SECONDS) * 1000;
    return this.#supervisor.watch(processRun(child, launch.secrets, graceMs, port));
  }

  /** The images it has a command for: their names only, never the commands. Read again, as at a launch. */
  async images(): Promise<string[]> {
    return Object.keys(this.#commands(this.options.folder?.read()));
  }

  close(): Promise<void> {
    this.options.folder?.close();
    return this.#supervisor.close();
  }

  #commands(fromFolder: Record<string, string[]> = {}): Record<string, string[]> {
    return { ...fromFolder, ...this.options.commands };
  }
}

function processRun(
  child: ChildProcessByStdio<null, Readable, Readable>,
  secrets: string[],
  graceMs: number,
  port: number,
): Supervised {
  const { pid } = child;
  // asked once 'spawn' has fired, when the process exists
  if (pid === undefined) throw new LaunchError('failed', 'the plugin process started without a process id');
  let ended = false;

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
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  // 'close' follows 'exit' once the pipes are drained, so the last output is in the logs
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exitCode = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      clearTimeout(killTimer);
      // as when a container's first process ends: whatever it left running goes with it
      signalGroup('SIGKILL');
      // a child that left the group (setsid) may hold the pipes open: they are closed after a moment regardless
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
      resolve(code ?? (signal ? 128 + constants.signals[signal] : null));
    });
  });

  return {
    name: `pid ${pid}`,
    halt() {
      if (ended || killTimer) return;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
    },
    ended: exitCode,
    cleanUp: () => closed,
    async logs() {
      return maskSecrets(lastBytes(Buffer.concat(chunks)).toString('utf8'), secrets);
    },
    webServer: async () => ({ host: '127.0.0.1', port }),
  };
}
