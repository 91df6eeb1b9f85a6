#!/usr/bin/env node
/** `pod-plugin`: make, install, run and build Pod plugin projects. */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PodClient } from '@pod/client';
import { defaultPluginDir, runSettings, settingFromText, type PluginSettings, type RunSettings } from '@pod/protocol';
import type { PluginRunItem } from './items.js';
import { findInstalled, installPlugin, readManifest } from './manifest.js';
import { answerRequest, describeRequest, isAsking } from './owner.js';
import { describeError } from './plugin.js';
import {
  BUNDLE,
  KEYS_FILE,
  buildImage,
  bundle,
  createProject,
  generateKeys,
  loadKeys,
  staleBundle,
} from './project.js';
import { readAnswer, RequestPrompt } from './prompt.js';
import { isLocalPod, launchAdvice, launchableImages, registerCommand } from './registry.js';
import { createPluginRun, readRun, spawnSimulated, waitForRun } from './runs.js';

interface PodOptions {
  dir: string;
  pod: string;
  keys?: string;
}

const dirOption = () => new Option('-C, --dir <dir>', 'the plugin project').default('.');
const keysOption = () => new Option('--keys <file>', `development keys (default: ${KEYS_FILE} in the project)`);
const podOption = () => new Option('--pod <url>', 'the Pod').env('POD_URL').default('http://localhost:3030');

function seconds(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0)) throw new InvalidArgumentError('a positive number of seconds');
  return parsed;
}

/** The owner's client, with the project's development keys. */
function ownerClient(options: PodOptions): PodClient {
  const keys = loadKeys(options.keys ?? path.join(options.dir, KEYS_FILE));
  return new PodClient({ url: options.pod, ...keys });
}

const program = new Command('pod-plugin')
  .description('Make, install, run and build Pod plugins written with @pod/plugin-kit')
  .showHelpAfterError();

program
  .command('new')
  .description('create a plugin project from the template: an example importer, its tests, plugin.json, a Dockerfile')
  .argument('<dir>', 'directory to create (must not exist, or be empty)')
  .option('--name <name>', 'package and plugin name (default: the directory name)')
  .option('--image <image>', 'container image name (default: the name)')
  .option(
    '--pod-packages <dir>',
    "the Pod's packages directory, linked with file: paths (default: the one this pod-plugin comes from)",
  )
  .action((dir: string, options: { name?: string; image?: string; podPackages?: string }) => {
    const { name, image } = createProject(dir, options);
    console.log(`created ${name} (image ${image}) in ${path.resolve(dir)}\nnext: cd ${dir} && npm install && npm test`);
  });

program
  .command('keys')
  .description(`generate development keys (owner and database key) into ${KEYS_FILE}, readable by you only`)
  .addOption(dirOption())
  .addOption(keysOption())
  .option('--force', 'replace existing keys (the data under the old ones stays behind)')
  .action((options: { dir: string; keys?: string; force?: boolean }) => {
    const file = options.keys ?? path.join(options.dir, KEYS_FILE);
    const { keys, created } = generateKeys(file, options.force);
    console.log(`${created ? 'new keys in' : 'keeping the keys in'} ${file} (mode 0600); owner ${keys.ownerKey}`);
  });

program
  .command('install')
  .description(
    'create the Plugin item (containerImage, permissions and settings from plugin.json) in the Pod, or update it; ' +
      "link an Account for plugin.json's service; for a Pod on this machine, register the bundle's command in the " +
      'plugin folder its process runner watches (no restart); then say whether the Pod can launch the plugin',
  )
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .addOption(
    new Option('--plugin-dir <folder>', "the process runner's plugin folder (the Pod's --plugin-dir)")
      .env('POD_PLUGIN_DIR')
      .default(defaultPluginDir(process.env)),
  )
  .option('--register', 'write the command file even when the Pod is not on this machine (default: only when it is)')
  .option('--no-register', 'do not write the command file')
  .action(async (options: PodOptions & { pluginDir: string; register?: boolean }) => {
    const manifest = readManifest(options.dir);
    const client = ownerClient(options);
    const { plugin, account } = await installPlugin(client, manifest);
    console.log(
      `Plugin ${plugin.id} (${manifest.image}) installed${account ? `, Account ${account.id} (${account.service})` : ''}`,
    );
    let registered: string | undefined;
    if (options.register ?? isLocalPod(options.pod)) {
      await rebuildIfStale(options.dir);
      registered = registerCommand(options.pluginDir, manifest.image, bundleCommand(options.dir));
      console.log(`registered ${manifest.image} for the process runner in ${registered}`);
    }
    console.log(launchAdvice(manifest.image, await launchableImages(client), registered));
  });

/** How the process runner starts the project's bundle: this node, with traces mapped to the TypeScript. */
const bundleCommand = (dir: string) => [process.execPath, '--enable-source-maps', path.resolve(dir, BUNDLE)];

/** Reports every few seconds while `work` goes on, so that a long build does not look stuck. */
async function withProgress<T>(what: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const ticker = setInterval(() => console.log(`  still ${what} (${seconds()} s)`), 2_000);
  try {
    return await work;
  } finally {
    clearInterval(ticker);
  }
}

/** Bundles the project, saying what and how long. */
async function bundleProject(dir: string): Promise<void> {
  const started = Date.now();
  console.log(`bundling ${readManifest(dir).entry} into ${BUNDLE}`);
  const file = await withProgress('bundling', bundle(dir));
  const size = Math.round(statSync(file).size / 1024);
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`bundled ${path.relative(process.cwd(), file)} (${size} KiB, source map ${BUNDLE}.map) in ${took} s`);
}

/** Whether Docker has this image locally (then a rebuild of the bundle rebuilds it too). */
const hasImage = (image: string) =>
  new Promise<boolean>((resolve) => {
    const docker = spawn('docker', ['image', 'inspect', image], { stdio: 'ignore' });
    docker.once('error', () => resolve(false));
    docker.once('exit', (code) => resolve(code === 0));
  });

/** What `run` does first: bundles again when a source changed since the last build (and the image, if there is one). */
async function rebuildIfStale(dir: string, image?: string): Promise<void> {
  const reason = staleBundle(dir);
  if (!reason) return;
  console.log(`${reason}: building again`);
  await bundleProject(dir);
  if (image && (await hasImage(image)))
    console.log(`built image ${await withProgress('building the image', buildImage(dir))}`);
}

/** `name=value` pairs from the command line, each value read as its setting's type. */
function settingsFromPairs(declared: PluginSettings, pairs: string[]): RunSettings {
  const settings: RunSettings = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--config ${JSON.stringify(pair)}: write it as name=value`);
    const name = pair.slice(0, at);
    settings[name] = settingFromText(declared, name, pair.slice(at + 1));
  }
  return settings;
}

/** `max=3, label="news" (default)`: what the run will be given, before it starts. */
function describeSettings(declared: PluginSettings, settings: RunSettings, pairs: string[]): string {
  const given = new Set(pairs.map((pair) => pair.slice(0, pair.indexOf('='))));
  const shown = Object.keys(declared).map((name) =>
    Object.hasOwn(settings, name)
      ? `${name}=${JSON.stringify(settings[name])}${given.has(name) ? '' : ' (default)'}`
      : `${name} not set`,
  );
  return shown.join(', ');
}

/** One line per change of the run, and every request it makes of the owner, with its message and URL. */
function showRun(run: PluginRunItem, simulated: boolean, prompt?: RequestPrompt): void {
  const launch = simulated ? '' : `, launch ${run.podLaunchStatus ?? '-'}`;
  console.log(`  status ${run.status ?? '-'}, progress ${run.progress ?? '-'}${launch}`);
  for (const line of describeRequest(run) ?? []) console.log(`  ${line}`);
  prompt?.update(run);
}

program
  .command('run')
  .description(
    `run the installed plugin: by a PluginRun the Pod starts, or with --simulate here; first bundles ${BUNDLE} ` +
      'again if a source changed. Shows what the run asks of its owner, and takes the answer at a prompt ' +
      '(in a terminal) or from `pod-plugin answer`',
  )
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .option(
    '--simulate',
    `development mode: create the run, then run ${BUNDLE} here with the owner's access (permissions not checked)`,
  )
  .option('--timeout <seconds>', 'how long to wait for the run', seconds, 600)
  .option(
    '--config <name=value>',
    "a setting of the run, as plugin.json's config declares it (repeatable); the others take their defaults",
    (pair: string, pairs: string[]) => [...pairs, pair],
    [],
  )
  .action(async (options: PodOptions & { simulate?: boolean; timeout: number; config: string[] }) => {
    const manifest = readManifest(options.dir);
    const declared = manifest.config ?? {};
    const settings = runSettings(declared, settingsFromPairs(declared, options.config));
    const client = ownerClient(options);
    const plugin = await findInstalled(client, manifest.image);
    if (!plugin) throw new Error(`no Plugin for ${manifest.image} in the Pod: run \`pod-plugin install\` first`);
    if ((plugin.configJson ?? '{}') !== JSON.stringify(declared))
      throw new Error("plugin.json's config changed since the Plugin was installed: run `pod-plugin install` again");
    await rebuildIfStale(options.dir, options.simulate ? undefined : manifest.image);
    const simulated = Boolean(options.simulate);
    if (Object.keys(declared).length > 0)
      console.log(`settings: ${describeSettings(declared, settings, options.config)}`);
    const run = await createPluginRun(client, plugin, simulated ? 'none' : manifest.image, settings);
    const where = simulated
      ? `running ${BUNDLE} here, with your access`
      : `waiting for the Pod to start ${manifest.image}`;
    console.log(`run ${run.id} created; ${where}`);
    const child = simulated ? spawnSimulated(client, path.resolve(options.dir, BUNDLE), run.id) : undefined;
    const exited = child && new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stopWatching = new AbortController();
    void exited?.then(() => stopWatching.abort());
    // Ctrl-C or the timeout stops the run this command started: nothing keeps running behind it.
    const abort = () =>
      client
        .call('abort_plugin_run', run.id)
        .then(
          () => true,
          () => false,
        )
        .finally(() => child?.kill());
    const interrupted = () => {
      console.log(`\ninterrupted: aborting run ${run.id}`);
      void abort().then(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    const prompt = process.stdin.isTTY ? new RequestPrompt(client) : undefined;
    let ended: PluginRunItem;
    try {
      ended = await waitForRun(client, run.id, {
        timeoutMs: options.timeout * 1000,
        signal: child && stopWatching.signal,
        onChange: (current) => showRun(current, simulated, prompt),
      });
    } catch (error) {
      throw new Error(
        `${describeError(error)}; ${(await abort()) ? 'the run was aborted' : 'it could not be aborted either'}`,
      );
    } finally {
      process.off('SIGINT', interrupted);
      prompt?.close();
    }
    if (exited) {
      // the plugin printed its outcome itself
      process.exitCode = (await exited) === 0 ? 0 : 1;
      return;
    }
    console.log(`${ended.podLaunchStatus}: ${ended.podLaunchMessage ?? ''}`);
    if (ended.podLaunchStatus === 'noRunner' || ended.podLaunchStatus === 'imageMissing')
      console.log(
        `the Pod cannot start ${manifest.image}: \`pod-plugin install\` registers it and says what the Pod needs; ` +
          'or use --simulate',
      );
    else {
      const logs = await client.call('plugin_run_logs', run.id).catch((error: Error) => `(none: ${error.message})`);
      console.log(`logs:\n${logs}`);
    }
    if (ended.error) console.log(`error: ${ended.error}`);
    process.exitCode = ended.status === 'done' ? 0 : 1;
  });

program
  .command('answer')
  .description(
    'answer what a run asks its owner: a code, or the address an OAuth log-in sent you to; for a username ' +
      'and password, the username, with the password on stdin (or at a prompt). Without VALUE, reads it from ' +
      'stdin (or a prompt)',
  )
  .argument('<run>', 'the PluginRun id')
  .argument('[value]', 'the code, the redirect address, or the username')
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .action(async (runId: string, value: string | undefined, options: PodOptions) => {
    const client = ownerClient(options);
    const run = await readRun(client, runId);
    if (!isAsking(run)) throw new Error(`run ${runId} asks nothing now (status ${run.status ?? 'not started'})`);
    if (process.stdin.isTTY) for (const line of describeRequest(run) ?? []) console.log(line);
    console.log(await answerRequest(client, runId, await readAnswer(run.authRequest, value)));
  });

program
  .command('logs')
  .description(
    "print what a run's plugin printed so far, or its last output once it ended (the last MiB, credentials masked)",
  )
  .argument('<run>', 'the PluginRun id')
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .action(async (runId: string, options: PodOptions) => {
    process.stdout.write(await ownerClient(options).call('plugin_run_logs', runId));
  });

program
  .command('abort')
  .description('stop a run: its status becomes aborted and the Pod stops its plugin')
  .argument('<run>', 'the PluginRun id')
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .action(async (runId: string, options: PodOptions) => {
    await ownerClient(options).call('abort_plugin_run', runId);
    console.log(`run ${runId} aborted`);
  });

program
  .command('build')
  .description(
    `bundle the plugin into ${BUNDLE} with its source map (esbuild), for simulated and real runs alike; ` +
      'then build its container image (docker build)',
  )
  .addOption(dirOption())
  .option('--no-docker', 'only bundle')
  .action(async (options: { dir: string; docker: boolean }) => {
    await bundleProject(options.dir);
    if (options.docker) console.log(`built image ${await withProgress('building the image', buildImage(options.dir))}`);
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`pod-plugin: ${describeError(error)}`);
  process.exitCode = 1;
}
