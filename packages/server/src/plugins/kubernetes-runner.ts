/**
 * Runs each plugin as a Kubernetes Job through the API server (`@kubernetes/client-node`): one Job
 * per run in the configured namespace, labelled like the docker runner's containers, with resource
 * requests and limits, `activeDeadlineSeconds` (the run's time limit) and `ttlSecondsAfterFinished`
 * (what removes a Job whose Pod crashed before deleting it). The plugin's environment lives in a
 * Secret owned by the Job (garbage-collected with it) and reaches the container only through
 * `secretKeyRef`: no credential is a literal in the Job. One NetworkPolicy per Pod instance, set up
 * before the first Job, lets its plugins reach the Pod's address and port and the cluster's DNS,
 * and nothing else; and lets only the Pod reach them. Abort deletes the Job (Foreground), logs are
 * read through the API, status is polled from the Job and its Pod. The plugin never gets a service
 * account token, runs as nobody on a read-only root filesystem, and cannot choose anything of this
 * through its manifest or PluginRun: the runner sees only the image name and the environment.
 */
import { createHash } from 'node:crypto';
import type {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  V1Job,
  V1NetworkPolicy,
  V1Pod,
} from '@kubernetes/client-node';
import type { FastifyBaseLogger } from 'fastify';
import { kubernetesPolicyTarget, type PodConfig } from '../config.js';
import { isImageReference } from './docker-runner.js';
import {
  LaunchError,
  lastBytes,
  maskSecrets,
  type PluginLaunch,
  type PluginRunner,
  type RunningPlugin,
  type WebServer,
  WEBSERVER_HOST_VARIABLE,
  WEBSERVER_PORT_VARIABLE,
} from './runner.js';
import { STOP_GRACE_SECONDS, Supervisor, type Supervised } from './supervision.js';

export type KubernetesRunnerOptions = Pick<
  PodConfig['plugins'],
  'memoryMiB' | 'cpus' | 'timeoutSeconds' | 'tmpMiB' | 'podAddress' | 'kubernetes'
> & {
  /** The cluster as given (tests); else loaded from `kubernetes.kubeconfig`, or in-cluster. */
  kubeConfig?: KubeConfig;
  /** Names this Pod's Jobs and NetworkPolicy (label `pod.instance`), as the docker runner's option. */
  instance?: string;
  /** The Pod's grace period for a plugin asked to stop; STOP_GRACE_SECONDS when not given. */
  stopGraceSeconds?: number;
  /** How often a run's Job and Pod are asked for their state; 1 s when not given. */
  pollMs?: number;
  /** Where a Job that could not be deleted is reported; process warnings when not given. */
  log?: Pick<FastifyBaseLogger, 'warn'>;
};

/** The container's name in every plugin Pod. */
const CONTAINER = 'plugin';
/** The label every object of the runner carries, and the NetworkPolicy selects on. */
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'pod', 'app.kubernetes.io/component': 'plugin' };
/** Waiting reasons that mean the image will never run: the launch is `imageMissing`. */
const IMAGE_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const NOBODY = 65534;
/** The Job's deadline comes this long after the Pod's own stop, so the Pod normally stops a run first. */
export const DEADLINE_MARGIN_SECONDS = 60;
/** The API server may be away this long (a control-plane upgrade) before a run counts as lost. */
const LOST_AFTER_MS = 120_000;

/** The API clients, made on first use: the official client takes seconds to load, which no other Pod should pay. */
interface Cluster {
  batch: BatchV1Api;
  core: CoreV1Api;
  networking: NetworkingV1Api;
  namespace: string;
}

/** What the runner reads of one run's Job and Pod. */
interface RunState {
  /** The Job is gone (deleted, or removed by its TTL). */
  gone: boolean;
  /** The Job failed as a whole (its deadline passed), or completed. */
  failed: boolean;
  complete: boolean;
  pod?: string;
  podIP?: string;
  running: boolean;
  exitCode?: number;
  waiting?: { reason: string; message?: string };
}

export class KubernetesRunner implements PluginRunner {
  readonly name = 'kubernetes';
  #cluster: Promise<Cluster> | undefined;
  /** The API server's URL once known, for messages. */
  #server: string | undefined;
  readonly #supervisor: Supervisor;
  readonly #policy: V1NetworkPolicy;
  #policyReady: Promise<void> | undefined;

  constructor(readonly options: KubernetesRunnerOptions) {
    this.#supervisor = new Supervisor(options.timeoutSeconds);
    this.#policy = networkPolicy(options);
  }

  /** The clients, the kubeconfig read and the namespace chosen at the first call; a failure is tried again next time. */
  #connect(): Promise<Cluster> {
    this.#cluster ??= (async () => {
      const client = await import('@kubernetes/client-node');
      const kubeConfig =
        this.options.kubeConfig ?? loadKubeConfig(client.KubeConfig, this.options.kubernetes.kubeconfig);
      this.#server = kubeConfig.getCurrentCluster()?.server;
      const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
      return {
        batch: kubeConfig.makeApiClient(client.BatchV1Api),
        core: kubeConfig.makeApiClient(client.CoreV1Api),
        networking: kubeConfig.makeApiClient(client.NetworkingV1Api),
        namespace: this.options.kubernetes.namespace ?? context?.namespace ?? 'default',
      };
    })().catch((error: unknown) => {
      this.#cluster = undefined;
      throw error;
    });
    return this.#cluster;
  }

  async start(launch: PluginLaunch): Promise<RunningPlugin> {
    const image = launch.containerImage;
    if (!isImageReference(image))
      throw new LaunchError(
        'imageMissing',
        `${JSON.stringify(image)} is not a container image name (such as my-plugin:1.0 or registry.example:5000/team/my-plugin)`,
      );
    let cluster: Cluster;
    try {
      cluster = await this.#connect();
    } catch (error) {
      throw this.#failure(error, 'cannot reach the Kubernetes API server', []);
    }
    // no plugin runs before its NetworkPolicy is in place
    this.#policyReady ??= this.#ensurePolicy(cluster).catch((error: unknown) => {
      this.#policyReady = undefined; // asked again at the next launch
      throw this.#failure(error, `cannot set up NetworkPolicy ${this.#policy.metadata?.name}`, []);
    });
    await this.#policyReady;

    const name = jobName(launch);
    const { batch, core, namespace } = cluster;
    let job: V1Job;
    try {
      job = await batch.createNamespacedJob({ namespace, body: this.#job(name, launch) });
    } catch (error) {
      if (apiStatus(error) === 409)
        throw new LaunchError(
          'failed',
          `a Job named ${name} already exists in ${namespace}: this run was started before`,
        );
      throw this.#failure(error, `cannot create Job ${name} in ${namespace}`, sensitive(launch));
    }
    const deleteJob = () => this.#delete(cluster, name);
    const deletionFailed = (error: unknown) => this.#deletionFailed(namespace, name, error);
    try {
      await core.createNamespacedSecret({ namespace, body: secret(name, job, launch) });
    } catch (error) {
      await deleteJob().catch(deletionFailed);
      throw this.#failure(error, `cannot create Secret ${name} in ${namespace}`, sensitive(launch));
    }

    const state = () => this.#state(cluster, name);
    const pollMs = this.options.pollMs ?? 1000;
    // until the plugin runs (pulling a large image takes a while) or cannot
    for (let lostSince: number | undefined; ; ) {
      const now = await state().catch(() => undefined);
      lostSince = now ? undefined : (lostSince ?? Date.now());
      if (lostSince !== undefined && Date.now() - lostSince > LOST_AFTER_MS) {
        await deleteJob().catch(deletionFailed);
        throw new LaunchError('failed', `lost the Kubernetes API server while Job ${name} was starting`);
      }
      if (now?.waiting && IMAGE_FAILURES.has(now.waiting.reason)) {
        await deleteJob().catch(deletionFailed);
        const why = now.waiting.message ? `: ${now.waiting.message}` : '';
        throw new LaunchError(
          'imageMissing',
          maskSecrets(`the cluster cannot pull image ${image} (${now.waiting.reason}${why})`, sensitive(launch)),
        );
      }
      if (now && (now.running || now.exitCode !== undefined || now.gone || now.failed || now.complete)) break;
      await sleep(pollMs);
    }
    const logs = async (pod: string) => {
      const text = await core.readNamespacedPodLog({ name: pod, namespace, container: CONTAINER });
      return lastBytes(Buffer.from(text, 'utf8')).toString('utf8');
    };
    const run = jobRun({
      name,
      secrets: launch.secrets,
      port: launch.webserverPort,
      pollMs,
      state,
      logs,
      deleteJob,
      onDeletionFailed: deletionFailed,
    });
    return this.#supervisor.watch(run);
  }

  close(): Promise<void> {
    return this.#supervisor.close();
  }

  /** Whether the API server answers, and lets the Pod see Jobs in its namespace. */
  async ping(): Promise<void> {
    const { batch, namespace } = await this.#connect();
    try {
      await batch.listNamespacedJob({ namespace, limit: 1 });
    } catch (error) {
      throw this.#failure(error, `cannot list Jobs in ${namespace}`, []);
    }
  }

  /** Deletes the Jobs of an earlier Pod of the same `instance`: their credentials died with it. */
  async removeLeftovers(): Promise<number> {
    if (!this.options.instance) return 0;
    try {
      const cluster = await this.#connect();
      const jobs = await cluster.batch.listNamespacedJob({
        namespace: cluster.namespace,
        labelSelector: `pod.instance=${this.options.instance}`,
      });
      const names = jobs.items.flatMap((job) => job.metadata?.name ?? []);
      await Promise.all(names.map((name) => this.#delete(cluster, name)));
      return names.length;
    } catch (error) {
      throw this.#failure(error, 'cannot list leftover Jobs', []);
    }
  }

  #job(name: string, launch: PluginLaunch): V1Job {
    const { memoryMiB, cpus, timeoutSeconds, tmpMiB } = this.options;
    const { ttlSeconds } = this.options.kubernetes;
    const labels = this.#labels(name, launch);
    const annotations = { 'pod.owner': launch.ownerHash, 'pod.run': launch.runId, 'pod.image': launch.containerImage };
    const resources = { memory: `${memoryMiB}Mi`, cpu: `${Math.max(1, Math.round(cpus * 1000))}m` };
    const env = [
      // every value of the launch, the credential and the owner key among them, from the Secret
      ...Object.keys(launch.env).map((key) => ({ name: key, valueFrom: { secretKeyRef: { name, key } } })),
      { name: WEBSERVER_HOST_VARIABLE, value: '0.0.0.0' },
      { name: WEBSERVER_PORT_VARIABLE, value: String(launch.webserverPort) },
    ];
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, labels, annotations },
      spec: {
        backoffLimit: 0,
        // the Pod stops a run at its time limit itself (its logs read first); this deadline is the
        // cluster's own, for a run whose Pod went away
        ...(timeoutSeconds > 0 ? { activeDeadlineSeconds: timeoutSeconds + DEADLINE_MARGIN_SECONDS } : {}),
        ttlSecondsAfterFinished: ttlSeconds,
        template: {
          metadata: { labels, annotations },
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: this.options.stopGraceSeconds ?? STOP_GRACE_SECONDS,
            // no API credentials of the cluster, no list of its Services
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: NOBODY,
              runAsGroup: NOBODY,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: CONTAINER,
                image: launch.containerImage,
                imagePullPolicy: 'IfNotPresent',
                env,
                ports: [{ name: 'web', containerPort: launch.webserverPort, protocol: 'TCP' }],
                resources: { requests: resources, limits: resources },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            // the only writable place, in memory and counted in the memory limit
            volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: `${tmpMiB}Mi` } }],
          },
        },
      },
    };
  }

  #labels(name: string, launch: PluginLaunch): Record<string, string> {
    return {
      ...MANAGED_BY,
      ...(this.options.instance ? { 'pod.instance': this.options.instance } : {}),
      'pod.owner': launch.ownerHash.slice(0, 32),
      'pod.run': labelValue(launch.runId),
      'pod.job': name,
    };
  }

  /** Creates this instance's NetworkPolicy, or puts it back as it should be. */
  async #ensurePolicy({ networking, namespace }: Cluster): Promise<void> {
    const name = this.#policy.metadata?.name ?? '';
    let existing: V1NetworkPolicy;
    try {
      existing = await networking.readNamespacedNetworkPolicy({ name, namespace });
    } catch (error) {
      if (apiStatus(error) !== 404) throw error;
      await networking.createNamespacedNetworkPolicy({ namespace, body: this.#policy });
      return;
    }
    const body = {
      ...this.#policy,
      metadata: { ...this.#policy.metadata, resourceVersion: existing.metadata?.resourceVersion },
    };
    await networking.replaceNamespacedNetworkPolicy({ name, namespace, body });
  }

  async #state({ batch, core, namespace }: Cluster, name: string): Promise<RunState> {
    let job: V1Job;
    try {
      job = await batch.readNamespacedJob({ name, namespace });
    } catch (error) {
      if (apiStatus(error) === 404) return { gone: true, failed: false, complete: false, running: false };
      throw error;
    }
    const conditions = job.status?.conditions ?? [];
    const holds = (type: string) => conditions.some((each) => each.type === type && each.status === 'True');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `pod.job=${name}` });
    const pod = newest(pods.items);
    const container = pod?.status?.containerStatuses?.find((each) => each.name === CONTAINER);
    const waiting = container?.state?.waiting;
    return {
      gone: job.metadata?.deletionTimestamp !== undefined && pod === undefined,
      failed: holds('Failed'),
      complete: holds('Complete'),
      pod: pod?.metadata?.name,
      podIP: pod?.status?.podIP || undefined,
      running: container?.state?.running !== undefined,
      exitCode: container?.state?.terminated?.exitCode,
      waiting: waiting?.reason ? { reason: waiting.reason, message: waiting.message } : undefined,
    };
  }

  /** Deletes a Job and, before it goes, its Pod (Foreground); the Secret follows as the Job's dependent. */
  async #delete({ batch, namespace }: Cluster, name: string): Promise<void> {
    try {
      await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' });
    } catch (error) {
      if (apiStatus(error) === 404) return;
      throw error;
    }
  }

  /** A Job left behind: said in one line, with what removes it. */
  #deletionFailed(namespace: string, name: string, error: unknown): void {
    const message =
      `cannot delete Job ${name} (${this.#failure(error, 'deletion', []).message}); ` +
      `\`kubectl delete job -n ${namespace} ${name}\` removes it, and so does its TTL of ${this.options.kubernetes.ttlSeconds} s once it ends`;
    if (this.options.log) this.options.log.warn(message);
    else process.emitWarning(message);
  }

  /** The API server's own message (never the request echoed back in the exception's text), secrets masked. */
  #failure(error: unknown, doing: string, secrets: readonly string[]): LaunchError {
    let detail: string;
    const status = apiStatus(error);
    if (status !== undefined)
      detail = `${statusMessage((error as { body?: unknown }).body) ?? 'no message'} (HTTP ${status})`;
    else {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      detail = cause ? `no Kubernetes API server answers at ${this.#server} (${cause})` : (error as Error).message;
    }
    return new LaunchError('failed', maskSecrets(`${doing}: ${detail}`, secrets));
  }
}

/**
 * What a message about a launch must never quote, should the API server echo a request back: its
 * secrets, and every longer value of its environment (the owner key among them), also as base64 as
 * they travel in the Secret.
 */
function sensitive(launch: PluginLaunch): string[] {
  const values = Object.values(launch.env).filter((value) => value.length >= 16);
  return [...launch.secrets, ...values].flatMap((value) => [value, Buffer.from(value, 'utf8').toString('base64')]);
}

/** The kubeconfig file, or the in-cluster service account when none is given; says what is missing. */
export function loadKubeConfig(Config: new () => KubeConfig, file: string | undefined): KubeConfig {
  const kubeConfig = new Config();
  if (file === undefined) {
    if (!process.env.KUBERNETES_SERVICE_HOST)
      throw new Error(
        "--plugin-runner kubernetes: the Pod does not run in a cluster (no KUBERNETES_SERVICE_HOST); give --kubeconfig, the cluster's kubeconfig file",
      );
    kubeConfig.loadFromCluster();
    return kubeConfig;
  }
  try {
    kubeConfig.loadFromFile(file);
  } catch (error) {
    throw new Error(`--kubeconfig ${file} cannot be read: ${(error as Error).message}`);
  }
  if (!kubeConfig.getCurrentCluster())
    throw new Error(`--kubeconfig ${file} has no current context with a cluster (set current-context)`);
  return kubeConfig;
}

/** The HTTP status of the client's ApiException (a number, where a system error's code is a word). */
function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** `message` of a Kubernetes Status body, as the client hands it (text or parsed), when it has one. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** A Job name (DNS-1123, ≤ 63): owner hash prefix and a hash of the run id, so any run id fits. */
export function jobName(launch: Pick<PluginLaunch, 'ownerHash' | 'runId'>): string {
  const run = createHash('sha256').update(launch.runId).digest('hex').slice(0, 20);
  return `pod-${launch.ownerHash.slice(0, 12)}-${run}`;
}

/** `text` when it is a valid label value, else a hash of it (a label value is at most 63 characters). */
function labelValue(text: string): string {
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(text)
    ? text
    : createHash('sha256').update(text).digest('hex').slice(0, 40);
}

function secret(name: string, job: V1Job, launch: PluginLaunch) {
  const data = Object.fromEntries(
    Object.entries(launch.env).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    immutable: true,
    metadata: {
      name,
      labels: job.metadata?.labels,
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata?.uid ?? '', blockOwnerDeletion: true },
      ],
    },
    data,
  };
}

/**
 * Plugins of this instance may reach the Pod's address and port, and DNS in kube-system; only the
 * Pod's address may reach them (its relay to their web servers). Everything else is denied.
 */
function networkPolicy(options: KubernetesRunnerOptions): V1NetworkPolicy {
  const { cidr, port } = kubernetesPolicyTarget(options);
  const selector = { ...MANAGED_BY, ...(options.instance ? { 'pod.instance': options.instance } : {}) };
  const dns = [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `pod-plugins-${options.instance ?? 'pod'}`, labels: selector },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ _from: [{ ipBlock: { cidr } }] }],
      egress: [
        { to: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: dns,
        },
      ],
    },
  };
}

function newest(pods: V1Pod[]): V1Pod | undefined {
  const time = (pod: V1Pod) => pod.metadata?.creationTimestamp?.getTime() ?? 0;
  return pods.reduce<V1Pod | undefined>(
    (best, pod) => (best === undefined || time(pod) > time(best) ? pod : best),
    undefined,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function jobRun(run: {
  name: string;
  secrets: string[];
  port: number;
  pollMs: number;
  state: () => Promise<RunState>;
  logs: (pod: string) => Promise<string>;
  deleteJob: () => Promise<void>;
  onDeletionFailed: (error: unknown) => void;
}): Supervised {
  let savedLogs = '';
  let pod: string | undefined;
  let podIP: string | undefined;
  let halting: Promise<void> | undefined;
  let deleted = false;
  /** The latest logs while the Pod is there; once the Job is deleted, the last ones read. */
  const readLogs = async () => {
    if (deleted) return savedLogs;
    pod ??= (await run.state().catch(() => undefined))?.pod;
    if (pod !== undefined) savedLogs = await run.logs(pod).catch(() => savedLogs);
    return savedLogs;
  };
  const ended = (async (): Promise<number | null> => {
    let exitCode: number | undefined;
    let lostSince: number | undefined;
    for (;;) {
      let now: RunState;
      try {
        now = await run.state();
        lostSince = undefined;
      } catch {
        lostSince ??= Date.now();
        if (Date.now() - lostSince > LOST_AFTER_MS) return null;
        await sleep(run.pollMs);
        continue;
      }
      pod = now.pod ?? pod;
      podIP = now.podIP ?? podIP;
      exitCode = now.exitCode ?? exitCode;
      if (exitCode !== undefined) return exitCode;
      if (now.gone || now.failed) return null;
      if (now.complete) return 0;
      await sleep(run.pollMs);
    }
  })();
  return {
    name: run.name,
    halt() {
      halting ??= readLogs().then(() => {
        deleted = true;
        return run.deleteJob().catch(run.onDeletionFailed);
      });
      return halting;
    },
    ended,
    async cleanUp() {
      await readLogs();
      await halting;
      deleted = true;
      await run.deleteJob().catch(run.onDeletionFailed);
    },
    async logs() {
      return maskSecrets(await readLogs(), run.secrets);
    },
    async webServer(): Promise<WebServer | undefined> {
      podIP ??= (await run.state().catch(() => undefined))?.podIP;
      return podIP === undefined ? undefined : { host: podIP, port: run.port };
    },
  };
}
