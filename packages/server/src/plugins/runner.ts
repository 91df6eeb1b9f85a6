/**
 * Plugin runners: what starts a plugin when a PluginRun item is created (spec §7). Runners sit
 * behind this interface so a Docker, process or Kubernetes runner can be chosen by configuration.
 */

/** What a runner needs to start one plugin run. */
export interface PluginLaunch {
  /** The owner key, handed to the plugin as POD_OWNER. */
  ownerKey: string;
  runId: string;
  containerImage: string;
  /** JSON of the target item (POD_TARGET_ITEM). */
  targetItemJson: string;
}

/** What the Pod records on the PluginRun (`podLaunchStatus`, `podLaunchMessage`), never `status`. */
export interface LaunchReport {
  podLaunchStatus: 'noRunner' | 'started' | 'imageMissing' | 'failed';
  podLaunchMessage: string;
}

export interface PluginRunner {
  readonly name: string;
  start(launch: PluginLaunch): Promise<LaunchReport>;
}

/** The default until a container runner is configured: it records that nothing was launched. */
export const noRunner: PluginRunner = {
  name: 'none',
  async start() {
    return {
      podLaunchStatus: 'noRunner',
      podLaunchMessage: 'no plugin runner is configured on this Pod, so nothing was launched; a client may run the plugin itself',
    };
  },
};
