/**
 * The folder of plugin commands a Pod with the process runner watches: one `<image>.json` per
 * plugin, `{"command": ["node", "/abs/build/plugin.mjs"]}`. `pod-plugin install` writes there, the
 * Pod reads it; both default to the same folder, so on one machine nothing needs configuring.
 */
import { z } from 'zod';

const COMMAND_SHAPE = '"command" must be a non-empty array of strings, e.g. ["node", "/abs/build/plugin.mjs"]';
export const PluginCommandFile = z.object({
  command: z.array(z.string(COMMAND_SHAPE), COMMAND_SHAPE).min(1, COMMAND_SHAPE),
});
export type PluginCommandFile = z.infer<typeof PluginCommandFile>;
export const PLUGIN_COMMAND_SUFFIX = '.json';

/** `$XDG_CONFIG_HOME/pod/plugins`, else `~/.config/pod/plugins`, from the environment given. */
export function defaultPluginDir(env: { XDG_CONFIG_HOME?: string; HOME?: string }): string {
  const config = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : `${env.HOME ?? ''}/.config`;
  return `${config.replace(/\/+$/, '')}/pod/plugins`;
}

/** The label `pod-plugin build` puts on a plugin's image (value: the plugin's name); `plugin_images` lists those. */
export const PLUGIN_IMAGE_LABEL = 'pod.plugin';

/** What a Pod can launch (`plugin_images`): by which runner. */
export interface PluginImage {
  image: string;
  runner: 'docker' | 'process';
}
