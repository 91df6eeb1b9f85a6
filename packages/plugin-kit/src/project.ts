/**
 * What `pod-plugin` does to a plugin project on disk: make one from the template, keep development
 * keys, bundle it into one file and build its container image.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PodClient } from '@pod/client';
import { PLUGIN_IMAGE_LABEL } from '@pod/protocol';
import { readManifest } from './manifest.js';

/** This package's directory: the template and the example plugin ship in it. */
const KIT_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** Where the bundle goes; the Dockerfile copies it from there. */
export const BUNDLE = 'build/plugin.mjs';
export const KEYS_FILE = '.pod-dev-keys.json';

export interface NewProjectOptions {
  /** Package and plugin name; default the directory's name. */
  name?: string;
  /** Container image; default the name. */
  image?: string;
  /**
   * The directory holding the Pod's packages (client, plugin-kit, protocol, server): they are not
   * published, so the project links them with `file:` paths. Default: the one this kit is in.
   */
  podPackages?: string;
}

/**
 * A new plugin project: the example importer as its source, its tests, `plugin.json`, a Dockerfile
 * and a README. Refuses a directory that exists and is not empty.
 */
export function createProject(dir: string, options: NewProjectOptions = {}): { name: string; image: string } {
  const target = path.resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${target} exists and is not empty`);
  const name =
    options.name ??
    path
      .basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[._-]+/, '');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name))
    throw new Error(`"${name}" is no valid name: use lowercase letters, digits, ".", "_" and "-"`);
  const image = options.image ?? name;
  const packages = path.resolve(options.podPackages ?? path.dirname(KIT_DIR));
  for (const pkg of ['client', 'plugin-kit', 'protocol', 'server'])
    if (!existsSync(path.join(packages, pkg, 'package.json')))
      throw new Error(`no Pod package "${pkg}" in ${packages} (see --pod-packages)`);
  const link = (pkg: string) => `file:${path.relative(target, path.join(packages, pkg)).split(path.sep).join('/')}`;

  mkdirSync(target, { recursive: true });
  cpSync(path.join(KIT_DIR, 'template'), target, { recursive: true });
  const fill = (file: string) => {
    const text = readFileSync(path.join(target, file), 'utf8');
    writeFileSync(path.join(target, file), text.replaceAll('{{name}}', name).replaceAll('{{image}}', image));
  };
  for (const file of ['README.md', 'plugin.json']) fill(file);
  // dotless in the template: npm drops .gitignore files from packages
  for (const file of ['gitignore', 'dockerignore']) renameSync(path.join(target, file), path.join(target, `.${file}`));
  // the example importer, compiled and tested in the kit, is the project's source
  const examples = path.join(KIT_DIR, 'examples', 'importer');
  mkdirSync(path.join(target, 'src'), { recursive: true });
  for (const file of readdirSync(examples).filter((file) => file.endsWith('.ts'))) {
    const source = readFileSync(path.join(examples, file), 'utf8').replaceAll(
      "'../../src/index.js'",
      "'@pod/plugin-kit'",
    );
    writeFileSync(path.join(target, 'src', file), source);
  }
  writeFileSync(path.join(target, 'package.json'), `${JSON.stringify(packageJson(name, link), null, 2)}\n`);
  return { name, image };
}

function packageJson(name: string, link: (pkg: string) => string) {
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=22' },
    scripts: {
      build: 'tsc',
      // a glob, quoted for node (Node 22 and later no longer expand a directory argument); the spec
      // reporter prints the same summary on Node 22 and 24, in a terminal or not
      test: 'tsc && node --test --test-reporter=spec "dist/test/**/*.test.js"',
      bundle: 'pod-plugin build --no-docker',
      image: 'pod-plugin build',
    },
    dependencies: {
      '@pod/client': link('client'),
      '@pod/plugin-kit': link('plugin-kit'),
      '@pod/protocol': link('protocol'),
    },
    devDependencies: { '@pod/server': link('server'), '@types/node': '^22.20.7', typescript: '^7.0.2' },
  };
}

export interface DevKeys {
  ownerKey: string;
  databaseKey: string;
}

/**
 * Development keys: an owner key and its database key, new random ones kept in a file only its
 * owner can read (mode 0600). An existing file is kept unless `force`.
 */
export function generateKeys(file: string, force = false): { keys: DevKeys; created: boolean } {
  if (existsSync(file) && !force) {
    chmodSync(file, 0o600);
    return { keys: loadKeys(file), created: false };
  }
  const keys: DevKeys = { ownerKey: PodClient.generateKey(), databaseKey: PodClient.generateKey() };
  writeFileSync(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies to new files only
  chmodSync(file, 0o600);
  return { keys, created: true };
}

export function loadKeys(file: string): DevKeys {
  if (!existsSync(file)) throw new Error(`no keys in ${file}: run \`pod-plugin keys\` first`);
  const keys = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevKeys>;
  const hex = /^[0-9a-fA-F]{64}$/;
  if (!hex.test(keys.ownerKey ?? '') || !hex.test(keys.databaseKey ?? ''))
    throw new Error(`${file} must hold {"ownerKey", "databaseKey"}, 64 hexadecimal characters each`);
  return keys as DevKeys;
}

/** Bundles the plugin's entry point and all it imports into one ES module, `build/plugin.mjs`, and its source map. */
export async function bundle(dir: string): Promise<string> {
  const manifest = readManifest(dir);
  return bundleEntry(path.join(dir, manifest.entry), path.join(dir, BUNDLE));
}

/** The files a bundle was made from, kept next to it (`<bundle>.inputs.json`), to tell when it is out of date. */
const inputsFile = (outfile: string) => `${outfile}.inputs.json`;

/**
 * Bundles one entry point (TypeScript or JavaScript) and everything it imports into one ES module
 * for Node 22, all a container from `pod-plugin-node:base` needs besides node itself, with a
 * source map next to it (`<outfile>.map`): with `node --enable-source-maps`, traces name the
 * TypeScript files and lines.
 */
export async function bundleEntry(entry: string, outfile: string): Promise<string> {
  const workingDir = process.cwd();
  const { metafile } = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: true,
    metafile: true,
    absWorkingDir: workingDir,
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module still call require() for Node's own modules
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  const inputs = Object.keys(metafile.inputs).map((input) => path.resolve(workingDir, input));
  writeFileSync(inputsFile(outfile), `${JSON.stringify(inputs, null, 1)}\n`);
  return outfile;
}

/**
 * Why the project's bundle must be made again: it is missing, or a file it was made from changed
 * since (the plugin's sources, the kit, any dependency). Undefined when it is up to date.
 */
export function staleBundle(dir: string): string | undefined {
  const outfile = path.join(dir, BUNDLE);
  if (!existsSync(outfile)) return `${BUNDLE} is not built yet`;
  if (!existsSync(inputsFile(outfile))) return `${BUNDLE} has no list of its sources (an older pod-plugin made it)`;
  const built = statSync(outfile).mtimeMs;
  const inputs = JSON.parse(readFileSync(inputsFile(outfile), 'utf8')) as string[];
  const changed = inputs.find((input) => !existsSync(input) || statSync(input).mtimeMs > built);
  return changed && `${path.relative(dir, changed)} changed since the last build`;
}

/**
 * `docker build` of the project (its Dockerfile copies the bundle onto `pod-plugin-node:base`),
 * tagged with its image and labelled `pod.plugin`.
 */
export async function buildImage(dir: string): Promise<string> {
  const { image, name } = readManifest(dir);
  await new Promise<void>((resolve, reject) => {
    // the label makes it one the Pod lists as launchable (plugin_images)
    const args = ['build', '-t', image, '--label', `${PLUGIN_IMAGE_LABEL}=${name}`, dir];
    const docker = spawn('docker', args, { stdio: 'inherit' });
    docker.once('error', (error) =>
      reject(new Error(`cannot run docker (${error.message}); \`pod-plugin build --no-docker\` only bundles`)),
    );
    docker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker build exited with ${code}`))));
  });
  return image;
}
