/**
 * Registering a plugin with a Pod on this machine: for the process runner, a command file in the
 * folder the Pod watches (`--plugin-dir`, default `~/.config/pod/plugins`), which it reads again on
 * every change, so no restart is needed; then the Pod's own list of what it can launch.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PodError, type PodClient } from '@pod/client';
import { PLUGIN_COMMAND_SUFFIX, type PluginCommandFile, type PluginImage } from '@pod/protocol';

/**
 * Writes `<dir>/<image>.json` (mode 0600, in a folder made 0700: the Pod ignores command files
 * others could write), whole or not at all, so the Pod never reads half a file. Returns its path.
 */
export function registerCommand(dir: string, image: string, command: string[]): string {
  if (image.includes('/') || image.startsWith('.'))
    throw new Error(`image ${JSON.stringify(image)} cannot name a command file`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${image}${PLUGIN_COMMAND_SUFFIX}`);
  const partial = path.join(dir, `.${image}.${process.pid}.partial`);
  const content: PluginCommandFile = { command };
  writeFileSync(partial, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, file);
  return file;
}

/** What the Pod can launch now, or undefined when it is a Pod too old to say. */
export async function launchableImages(client: PodClient): Promise<PluginImage[] | undefined> {
  try {
    return await client.call('plugin_images', {});
  } catch (error) {
    if (error instanceof PodError && error.status === 404) return undefined;
    throw error;
  }
}

/** Whether a Pod address is on this machine: only such a Pod reads this machine's plugin folder. */
export function isLocalPod(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What to tell the author after `install`: whether the Pod launches the image, and if not the exact next step. */
export function launchAdvice(image: string, images: PluginImage[] | undefined, registered: string | undefined): string {
  if (!images) return 'this Pod does not list what it can launch (it predates plugin_images); try `pod-plugin run`';
  const found = images.find((entry) => entry.image === image);
  if (found) return `the Pod can launch ${image} (${found.runner} runner): next, \`pod-plugin run\``;
  const runners = new Set(images.map((entry) => entry.runner));
  const simulate = 'meanwhile `pod-plugin run --simulate` runs it here';
  if (runners.has('docker'))
    return `the Pod cannot launch ${image} yet: build its image with \`pod-plugin build\`; ${simulate}`;
  if (runners.has('process'))
    return registered
      ? `the Pod cannot launch ${image} yet: it does not read ${path.dirname(registered)}; ` +
          `give \`pod-plugin install\` the Pod's --plugin-dir; ${simulate}`
      : `the Pod cannot launch ${image} yet: run \`pod-plugin install --register\` on the Pod's machine; ${simulate}`;
  const folder = registered ? ` (it reads ${path.dirname(registered)}, where ${image} is registered)` : '';
  return (
    `the Pod cannot launch ${image} yet: restart it once with \`--plugin-runner process\`${folder}, ` +
    `or with \`--plugin-runner docker\` after \`pod-plugin build\`; ${simulate}`
  );
}
