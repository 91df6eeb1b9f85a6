/**
 * The two ways the Pod starts the kit's test plugins, behind one interface the scenarios
 * (scenarios.ts) run against: the process runner, with a command per image, and the Docker runner,
 * with an image per fixture built for this test run from the same compiled code — bundled with the
 * kit's own `bundleEntry` onto `pod-plugin-node:base`, the Python plugin onto
 * `pod-plugin-python:base`. The base images are built on this machine (.ci/setup-docker.sh);
 * nothing is pulled.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerTestSkip } from '@pod/server';
import Docker from 'dockerode';
import { bundleEntry } from '../src/project.js';
import { startTestPod, type TestPod } from '../src/testing.js';
import { KIT_DIR } from './helpers.js';

/** The programs the fixtures run: where they are on this machine, and what a container runs. */
const PROGRAMS = {
  importer: {
    source: path.join(KIT_DIR, 'dist/examples/importer/main.js'),
    file: 'importer.mjs',
    interpreter: 'node',
    base: 'pod-plugin-node:base',
  },
  fixtures: {
    source: path.join(KIT_DIR, 'dist/test/fixtures/plugins.js'),
    file: 'fixtures.mjs',
    interpreter: 'node',
    base: 'pod-plugin-node:base',
  },
  python: {
    source: path.join(KIT_DIR, 'test/fixtures/python-plugin/plugin.py'),
    file: 'plugin.py',
    interpreter: 'python3',
    base: 'pod-plugin-python:base',
  },
} as const;

/** Each test plugin: its program and its arguments (see fixtures/plugins.ts). */
const FIXTURES = {
  importer: { program: 'importer', args: [] },
  throws: { program: 'fixtures', args: ['throws'] },
  'reads-undeclared': { program: 'fixtures', args: ['reads-undeclared'] },
  'hands-over-credential': { program: 'fixtures', args: ['hands-over-credential'] },
  password: { program: 'fixtures', args: ['password'] },
  oauth: { program: 'fixtures', args: ['oauth'] },
  // gives the owner 1.5 s to answer
  'oauth-impatient': { program: 'fixtures', args: ['oauth', '1500'] },
  python: { program: 'python', args: [] },
} satisfies Record<string, { program: keyof typeof PROGRAMS; args: string[] }>;
export type Fixture = keyof typeof FIXTURES;

export interface RunnerSetup {
  /** `process` or `docker`: the Pod's `--plugin-runner`. */
  name: string;
  /** Why the scenarios are skipped, if they are. */
  skip?: string;
  /**
   * Makes what the runner needs, once (later calls return the same promise). Every scenario awaits
   * it, so that when it fails, each fails with its message rather than being cancelled.
   */
  prepare(): Promise<void>;
  /** A Pod in this process whose runner starts the fixtures' images. */
  startPod(): Promise<TestPod>;
  /** The image name a Plugin of this fixture has. */
  image(fixture: Fixture): string;
  /** What is left of a run on this machine: its processes or containers. */
  remains(runId: string): Promise<string[]>;
  /** Removes what `prepare` made. */
  cleanUp(): Promise<void>;
}

const once = <T>(make: () => Promise<T>) => {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
};

/** The process runner: each fixture's image name maps to the command that runs its compiled code. */
export function processRunner(): RunnerSetup {
  const commands = Object.fromEntries(
    Object.entries(FIXTURES).map(([fixture, { program, args }]) => [
      fixture,
      [PROGRAMS[program].interpreter, PROGRAMS[program].source, ...args],
    ]),
  );
  return {
    name: 'process',
    prepare: once(async () => {}),
    startPod: () => startTestPod({ commands, timeoutSeconds: 60 }),
    image: (fixture) => fixture,
    remains: async (runId) => processesOfRun(runId),
    cleanUp: async () => {},
  };
}

/** The processes whose environment names the run (the Pod hands each plugin `POD_PLUGINRUN_ID`). */
function processesOfRun(runId: string): string[] {
  const marker = `\0POD_PLUGINRUN_ID=${runId}\0`;
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (`\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(marker)) found.push(`process ${pid}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

const DOCKER_SOCKET = '/var/run/docker.sock';
const HOW_TO = 'run .ci/setup-docker.sh first, or set POD_TEST_DOCKER=0 to skip the Docker runner scenarios';

/**
 * The Docker runner: an image per fixture, tagged for this test run alone, built from the bundled
 * compiled code with a CMD that runs the fixture; removed again by `cleanUp`.
 */
export async function dockerRunner(): Promise<RunnerSetup> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const tag = (fixture: Fixture) => `pod-plugin-kit-test-${process.pid}-${fixture}`;
  const built: string[] = [];
  return {
    name: 'docker',
    skip: await dockerTestSkip(DOCKER_SOCKET),
    prepare: once(async () => {
      await checkEngine(docker);
      const context = mkdtempSync(path.join(os.tmpdir(), 'pod-plugin-kit-images-'));
      try {
        for (const { source, file } of Object.values(PROGRAMS)) {
          if (file.endsWith('.mjs')) await bundleEntry(source, path.join(context, file));
          else copyFileSync(source, path.join(context, file));
        }
        // one after the other: on two cores, parallel builds are no faster and each is slower
        for (const [fixture, { program, args }] of Object.entries(FIXTURES) as [
          Fixture,
          (typeof FIXTURES)[Fixture],
        ][]) {
          const { file, interpreter, base } = PROGRAMS[program];
          const dockerfile = `${fixture}.Dockerfile`;
          const cmd = JSON.stringify([interpreter, `/app/${file}`, ...args]);
          writeFileSync(path.join(context, dockerfile), `FROM ${base}\nCOPY ${file} /app/${file}\nCMD ${cmd}\n`);
          await buildImage(docker, context, [dockerfile, file], dockerfile, tag(fixture));
          built.push(tag(fixture));
        }
      } finally {
        rmSync(context, { recursive: true, force: true });
      }
    }),
    startPod: () => startTestPod({ runner: 'docker', timeoutSeconds: 60 }),
    image: tag,
    async remains(runId) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`pod.run=${runId}`] } });
      return containers.map((container) => `container ${container.Names.join(',')} (${container.State})`);
    },
    async cleanUp() {
      for (const image of built.splice(0))
        await docker
          .getImage(image)
          .remove({ force: true })
          .catch(() => {});
    },
  };
}

/** Fails, saying how to get them, without an engine or the base images. */
async function checkEngine(docker: Docker): Promise<void> {
  if (!existsSync(DOCKER_SOCKET)) throw new Error(`no Docker engine at ${DOCKER_SOCKET}: ${HOW_TO}`);
  for (const base of new Set(Object.values(PROGRAMS).map((program) => program.base))) {
    try {
      await docker.getImage(base).inspect();
    } catch (error) {
      throw new Error(`the Docker engine or the image ${base} is missing (${(error as Error).message}): ${HOW_TO}`);
    }
  }
}

async function buildImage(
  docker: Docker,
  context: string,
  files: string[],
  dockerfile: string,
  tag: string,
): Promise<void> {
  const stream = await docker.buildImage({ context, src: files }, { t: tag, dockerfile, rm: true, forcerm: true });
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, result: { error?: string }[]) =>
      error ? reject(error) : resolve(result),
    ),
  );
  const failed = output.find((line) => line.error);
  if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
}
