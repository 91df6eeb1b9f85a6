/**
 * The Docker side of the security tests: whether an engine is here (without one those tests are
 * skipped, saying so; under CI=true they are required) and probe images built for a test from a
 * script on a base image.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { dockerTestSkip } from '../../src/testing.js';

export const DOCKER_SOCKET = '/var/run/docker.sock';
export const docker = new Docker({ socketPath: DOCKER_SOCKET });

/** Why the Docker tests cannot run here, or undefined when they can. */
export const noEngine = await dockerTestSkip(DOCKER_SOCKET);

/** Builds `tag` from `base` with `script` as /app/<name> and CMD running it with `interpreter`, plus `extra` Dockerfile lines. */
export async function buildProbe(
  tag: string,
  base: string,
  name: string,
  script: string,
  interpreter: string,
  extra = '',
): Promise<void> {
  const context = mkdtempSync(join(tmpdir(), 'pod-probe-image-'));
  try {
    writeFileSync(join(context, name), script);
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${base}\nCOPY ${name} /app/${name}\n${extra}CMD ${JSON.stringify([interpreter, `/app/${name}`])}\n`,
    );
    const stream = await docker.buildImage({ context, src: ['Dockerfile', name] }, { t: tag, rm: true, forcerm: true });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, result: { error?: string }[]) =>
        error ? reject(error) : resolve(result),
      ),
    );
    const failed = output.find((line) => line.error);
    if (failed) throw new Error(`building ${tag} failed: ${failed.error}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
