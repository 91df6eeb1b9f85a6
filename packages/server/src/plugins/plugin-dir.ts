/**
 * The folder of plugin commands the process runner watches (`--plugin-dir`): one `<image>.json` per
 * plugin, `{"command": [...]}`, written by `pod-plugin install`. A file there is a command the Pod
 * will execute, so only the Pod's own user may be able to write it: a folder or file writable by
 * group or others, or owned by someone else, is ignored with a log line. A bad file is skipped with
 * one log line naming it. The folder is read at each launch and listing, and on every change, so a
 * problem is logged when it appears.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { PLUGIN_COMMAND_SUFFIX, PluginCommandFile, describeIssues } from '@pod/protocol';

export type Commands = Record<string, string[]>;

export class PluginDir {
  #watcher?: FSWatcher;
  /** What was last logged per file (or for the folder, under ''), so a problem is logged once, not at each read. */
  readonly #reported = new Map<string, string>();

  constructor(
    readonly dir: string,
    private readonly log: Pick<FastifyBaseLogger, 'warn'>,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.read();
    try {
      this.#watcher = watch(dir, () => this.read());
      this.#watcher.on('error', (error) =>
        this.log.warn(`stopped watching ${dir}: ${error.message}; it is read at each launch`),
      );
      this.#watcher.unref();
    } catch (error) {
      this.log.warn(`cannot watch ${dir}: ${(error as Error).message}; it is read at each launch`);
    }
  }

  /** Image → command, as the folder holds them now. */
  read(): Commands {
    const commands: Commands = {};
    const problem = unsafe(this.dir, statOrUndefined(this.dir));
    this.#report('', problem && `ignoring the plugin folder ${this.dir}: ${problem}`);
    const files = problem ? [] : safeList(this.dir);
    for (const name of files) {
      if (!name.endsWith(PLUGIN_COMMAND_SUFFIX) || name.startsWith('.')) continue;
      const file = path.join(this.dir, name);
      const outcome = readCommand(file);
      if (typeof outcome === 'string') this.#report(file, `ignoring ${file}: ${outcome}`);
      else {
        this.#report(file, undefined);
        commands[name.slice(0, -PLUGIN_COMMAND_SUFFIX.length)] = outcome;
      }
    }
    // a file gone and back is reported again
    for (const file of this.#reported.keys())
      if (file && !files.includes(path.basename(file))) this.#reported.delete(file);
    return commands;
  }

  close(): void {
    this.#watcher?.close();
  }

  #report(key: string, message: string | undefined) {
    if (message === this.#reported.get(key)) return;
    if (message) this.log.warn(message);
    if (message) this.#reported.set(key, message);
    else this.#reported.delete(key);
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Why the Pod must not trust this file or folder to hold commands, or nothing. */
function unsafe(file: string, stats: Stats | undefined): string | undefined {
  if (!stats) return 'it cannot be read';
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) return `it belongs to user ${stats.uid}, not to the Pod's user ${uid}`;
  if (stats.mode & 0o022) {
    const who = stats.mode & 0o020 ? 'its group' : 'others';
    return `it is writable by ${who} (mode ${(stats.mode & 0o777).toString(8)}); chmod go-w ${file}`;
  }
  return undefined;
}

/** The command in one file, or what is wrong with it. */
function readCommand(file: string): string[] | string {
  // statSync follows a link: the file it leads to is what the Pod would trust
  const stats = statOrUndefined(file);
  if (stats && !stats.isFile()) return 'it is not a file';
  const problem = unsafe(file, stats);
  if (problem) return problem;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return `it is not JSON (${(error as Error).message})`;
  }
  const checked = PluginCommandFile.safeParse(raw);
  return checked.success ? checked.data.command : describeIssues(checked.error, path.basename(file));
}
