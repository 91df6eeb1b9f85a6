#!/usr/bin/env node
/** `pod-plugin`: make, install, run and build Pod plugin projects. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PodClient } from '@pod/client';
import { findInstalled, installPlugin, readManifest } from './manifest.js';
import { describeError, type PluginClass } from './plugin.js';
import { BUNDLE, KEYS_FILE, buildImage, bundle, createProject, generateKeys, loadKeys } from './project.js';
import { createPluginRun, simulateRun, waitForRun } from './runs.js';

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
  .option('--pod-packages <dir>', "the Pod's packages directory, linked with file: paths (default: the one this pod-plugin comes from)")
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
  .description("create the Plugin item (containerImage, permissions from plugin.json) in the Pod, or update it; link an Account for plugin.json's service")
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .action(async (options: PodOptions) => {
    const manifest = readManifest(options.dir);
    const { plugin, account } = await installPlugin(ownerClient(options), manifest);
    console.log(`Plugin ${plugin.id} (${manifest.image}) installed${account ? `, Account ${account.id} (${account.service})` : ''}`);
  });

program
  .command('run')
  .description('run the installed plugin: by a PluginRun the Pod starts, or with --simulate in this process')
  .addOption(dirOption())
  .addOption(podOption())
  .addOption(keysOption())
  .option('--simulate', "development mode: create the run, then run plugin.json's module here with the owner's access (compile it first)")
  .option('--timeout <seconds>', 'how long to wait for the run', seconds, 600)
  .action(async (options: PodOptions & { simulate?: boolean; timeout: number }) => {
    const manifest = readManifest(options.dir);
    const client = ownerClient(options);
    const plugin = await findInstalled(client, manifest.image);
    if (!plugin) throw new Error(`no Plugin for ${manifest.image} in the Pod: run \`pod-plugin install\` first`);
    if (options.simulate) {
      const module = (await import(pathToFileURL(path.resolve(options.dir, manifest.module)).href)) as { default?: PluginClass };
      if (typeof module.default !== 'function') throw new Error(`${manifest.module} must export the plugin class as its default export`);
      const outcome = await simulateRun(client, module.default, plugin);
      console.log(`run ${outcome.run.id}: ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
      process.exitCode = outcome.status === 'done' ? 0 : 1;
      return;
    }
    const run = await createPluginRun(client, plugin, manifest.image);
    console.log(`run ${run.id} created; waiting for the Pod to start ${manifest.image}`);
    // Ctrl-C or the timeout stops the run this command started: nothing keeps running behind it.
    const abort = () => client.call('abort_plugin_run', run.id).then(() => true, () => false);
    const interrupted = () => {
      console.log(`\ninterrupted: aborting run ${run.id}`);
      void abort().then(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    let ended: Awaited<ReturnType<typeof waitForRun>>;
    try {
      ended = await waitForRun(client, run.id, {
        timeoutMs: options.timeout * 1000,
        onChange: (current) =>
          console.log(`  status ${current.status ?? '-'}, progress ${current.progress ?? '-'}, launch ${current.podLaunchStatus ?? '-'}`),
      });
    } catch (error) {
      throw new Error(`${describeError(error)}; ${(await abort()) ? 'the run was aborted' : 'it could not be aborted either'}`);
    } finally {
      process.off('SIGINT', interrupted);
    }
    console.log(`${ended.podLaunchStatus}: ${ended.podLaunchMessage ?? ''}`);
    if (ended.podLaunchStatus === 'noRunner' || ended.podLaunchStatus === 'imageMissing')
      console.log(
        `the Pod cannot start ${manifest.image}: give it --plugin-runner docker after \`pod-plugin build\`, or --plugin-runner process ` +
          `--plugin-commands '${JSON.stringify({ [manifest.image]: ['node', path.resolve(options.dir, BUNDLE)] })}'; or use --simulate`,
      );
    else console.log(`logs:\n${await client.call('plugin_run_logs', run.id).catch((error: Error) => `(none: ${error.message})`)}`);
    if (ended.error) console.log(`error: ${ended.error}`);
    process.exitCode = ended.status === 'done' ? 0 : 1;
  });

program
  .command('logs')
  .description("print what a run's plugin printed so far, or its last output once it ended (the last MiB, credentials masked)")
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
  .description(`bundle the plugin into ${BUNDLE} (esbuild), then build its container image (docker build)`)
  .addOption(dirOption())
  .option('--no-docker', 'only bundle')
  .action(async (options: { dir: string; docker: boolean }) => {
    console.log(`bundled ${path.relative(process.cwd(), await bundle(options.dir))}`);
    if (options.docker) console.log(`built image ${await buildImage(options.dir)}`);
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`pod-plugin: ${describeError(error)}`);
  process.exitCode = 1;
}
