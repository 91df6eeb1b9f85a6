/**
 * L8 of the first security review: a plugin container ran as the image's user (root, usually), on
 * a writable root filesystem with no size limit, without ulimits, and any string that looked like
 * an image name went into the engine API path, `..` included. A probe plugin, started by the
 * docker runner, reports whom it runs as and what it can write; hostile image names start nothing.
 */
import { DEFAULT_WEBSERVER_PORT } from '@pod/protocol';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DockerRunner } from '../../src/plugins/docker-runner.js';
import { LaunchError, type PluginLaunch } from '../../src/plugins/runner.js';
import { buildProbe, docker, noEngine } from './docker.js';

const IMAGE = `pod-test-container-probe-${process.pid}`;
const ROOT_IMAGE = `${IMAGE}-root`;
const USER_IMAGE = `${IMAGE}-user`;
const TMP_MIB = 8;

/** Prints one JSON line: its ids, what it could write where, its limits. */
const PROBE = `
import json, os, resource
def write(path, mib):
    written = 0
    try:
        with open(path, "wb") as file:
            for _ in range(mib):
                file.write(b"x" * 1024 * 1024)
                file.flush()
                written += 1
        return {"mib": written}
    except OSError as error:
        return {"mib": written, "error": error.strerror}
print("PROBE " + json.dumps({
    "uid": os.getuid(), "gid": os.getgid(),
    "root": write("/probe", 1), "app": write("/app/probe", 1), "etc": write("/etc/probe", 1),
    "tmp": write("/tmp/probe", 64),
    "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[1], "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1],
}), flush=True)
`;

const launchOf = (containerImage: string): PluginLaunch => ({
  ownerHash: randomBytes(32).toString('hex'),
  runId: `probe-${randomBytes(4).toString('hex')}`,
  containerImage,
  webserverPort: DEFAULT_WEBSERVER_PORT,
  env: {},
  secrets: [],
});

describe('a plugin container', { skip: noEngine }, () => {
  const runner = new DockerRunner({
    network: 'none',
    memoryMiB: 256,
    tmpMiB: TMP_MIB,
    cpus: 1,
    timeoutSeconds: 60,
    stopGraceSeconds: 1,
  });
  const probe = async (image: string) => {
    const plugin = await runner.start(launchOf(image));
    await plugin.exited;
    const line = /PROBE (.*)/.exec(await plugin.logs())?.[1];
    assert.ok(line, `the probe reported: ${await plugin.logs()}`);
    return JSON.parse(line);
  };
  before(async () => {
    await buildProbe(IMAGE, 'pod-plugin-python:base', 'probe.py', PROBE, 'python3');
    await buildProbe(ROOT_IMAGE, 'pod-plugin-python:base', 'probe.py', PROBE, 'python3', 'USER root\n');
    await buildProbe(USER_IMAGE, 'pod-plugin-python:base', 'probe.py', PROBE, 'python3', 'USER 1234:1234\n');
  });
  after(async () => {
    await runner.close();
    for (const image of [IMAGE, ROOT_IMAGE, USER_IMAGE])
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => {});
  });

  test('runs as nobody, writes only a size-capped /tmp, and has ulimits', async () => {
    const report = await probe(IMAGE);
    assert.deepEqual([report.uid, report.gid], [65534, 65534], 'not root');
    for (const place of ['root', 'app', 'etc'])
      assert.equal(
        report[place].mib,
        0,
        `wrote to /${place === 'root' ? '' : place}: ${JSON.stringify(report[place])}`,
      );
    assert.ok(
      report.tmp.mib >= 1 && report.tmp.mib <= TMP_MIB,
      `/tmp takes ${report.tmp.mib} MiB of the 64 tried, at most ${TMP_MIB}`,
    );
    assert.equal(report.tmp.error, 'No space left on device');
    assert.equal(report.nofile, 1024);
    assert.ok(report.nproc > 0 && report.nproc <= 8 * 512, `nproc ${report.nproc}`);
  });

  test('an image that declares root runs as nobody; one that declares another user runs as it', async () => {
    const root = await probe(ROOT_IMAGE);
    assert.deepEqual([root.uid, root.gid], [65534, 65534]);
    const user = await probe(USER_IMAGE);
    assert.deepEqual([user.uid, user.gid], [1234, 1234]);
  });

  test('a name with .., a leading or doubled / or other path tricks starts nothing', async () => {
    const hostile = [
      '../../containers/json',
      'pod-plugin-python:base/../../../images',
      'a/../b',
      '/pod-plugin-python',
      'pod-plugin-python//base',
      'pod-plugin-python:base?force=true',
      'pod-plugin-python:base#x',
      'pod-plugin-python:base%2F..',
      `${'a'.repeat(256)}`,
    ];
    for (const image of hostile)
      await assert.rejects(runner.start(launchOf(image)), (error: unknown) => {
        assert.ok(error instanceof LaunchError, String(error));
        assert.equal(error.reason, 'imageMissing');
        assert.match(error.message, /is not a container image name/, image);
        return true;
      });
    // names of the engine's grammar pass the pattern (and are then looked up)
    for (const image of [
      'no-such-plugin',
      'localhost:5000/team/no_such-plugin:1.0.2',
      `no-such@sha256:${'a'.repeat(64)}`,
    ])
      await assert.rejects(runner.start(launchOf(image)), /is not on this machine/, image);
  });
});
