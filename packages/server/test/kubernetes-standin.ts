/**
 * A STAND-IN for a Kubernetes API server, for tests of the kubernetes runner on machines where no
 * cluster can run. It is not Kubernetes: it answers on loopback the few endpoints the runner uses
 * (Jobs, their Pods and logs, Secrets, NetworkPolicies), records every request it was sent, and
 * plays the kubelet just enough: a Job's container starts, as a local process, once the Secret its
 * environment refers to exists; an image it was not given a command for fails to pull; deleting a
 * Job ends its process (SIGTERM, SIGKILL after the Pod's grace period) and removes its Pod and the
 * Secrets it owns, as the garbage collector would. `activeDeadlineSeconds` is honoured; TTL is only recorded.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';

/** What the stand-in was sent. */
export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Json = Record<string, any>;

interface Run {
  namespace: string;
  job: Json;
  pod: Json;
  logs: Buffer[];
  kill?: (signal: NodeJS.Signals) => void;
  exited: Promise<void>;
  markExited: () => void;
  timers: NodeJS.Timeout[];
}

/** A request the stand-in answers with an error instead, as a failing API server would. */
export type Failure = (request: Recorded) => { status: number; body: unknown } | undefined;

export class KubernetesStandIn {
  readonly requests: Recorded[] = [];
  readonly #runs = new Map<string, Run>();
  readonly #secrets = new Map<string, Json>();
  readonly #policies = new Map<string, Json>();
  readonly #server = http.createServer((request, response) => void this.#handle(request, response));
  /** Set to answer some requests with an error. */
  failure: Failure | undefined;

  /** `images`: the commands the stand-in kubelet runs for an image; any other image fails to pull. */
  constructor(private readonly images: Record<string, string[]>) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig for the stand-in, its context in `namespace`. */
  kubeConfig(namespace: string): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      // plain HTTP on loopback: the client allows it only with skipTLSVerify
      clusters: [{ name: 'stand-in', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'stand-in', token: 'stand-in-token' }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'stand-in', namespace }],
      currentContext: 'stand-in',
    });
    return kubeConfig;
  }

  /** Requests of `method` whose path ends with `suffix`. */
  sent(method: string, suffix: string): Recorded[] {
    return this.requests.filter((each) => each.method === method && each.path.endsWith(suffix));
  }

  /** Jobs still there for a run (by its `pod.run` label), and Secrets of it that outlived their Job. */
  leftovers(runLabel: string): number {
    const jobs = [...this.#runs.values()]
      .map((run) => run.job)
      .filter((job) => job.metadata.labels?.['pod.run'] === runLabel);
    const uids = new Set(jobs.map((job) => job.metadata.uid));
    const orphans = [...this.#secrets.values()].filter(
      (secret) =>
        secret.metadata.labels?.['pod.run'] === runLabel &&
        !secret.metadata.ownerReferences?.some((owner: Json) => uids.has(owner.uid)),
    );
    return jobs.length + orphans.length;
  }

  get secretCount(): number {
    return this.#secrets.size;
  }

  async close(): Promise<void> {
    for (const run of this.#runs.values()) {
      for (const timer of run.timers) clearTimeout(timer);
      run.kill?.('SIGKILL');
    }
    await Promise.all([...this.#runs.values()].map((run) => run.exited));
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse) {
    let text = '';
    for await (const chunk of request) text += chunk;
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const recorded: Recorded = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
    };
    this.requests.push(recorded);
    const reply = (status: number, body: unknown) => {
      const plain = typeof body === 'string';
      response.writeHead(status, { 'content-type': plain ? 'text/plain' : 'application/json' });
      response.end(plain ? body : JSON.stringify(body));
    };
    const failed = this.failure?.(recorded);
    if (failed) return reply(failed.status, failed.body);
    try {
      const answer = await this.#route(recorded);
      reply(answer.status, answer.body);
    } catch (error) {
      reply(500, status(500, (error as Error).message));
    }
  }

  async #route({ method, path, query, body }: Recorded): Promise<{ status: number; body: unknown }> {
    const parts = path.split('/').filter(Boolean);
    const at = parts.indexOf('namespaces');
    const namespace = parts[at + 1] ?? '';
    const [kind, name, sub] = parts.slice(at + 2);
    const key = `${namespace}/${name}`;
    const ok = (value: unknown) => ({ status: 200, body: value });
    const notFound = () => ({ status: 404, body: status(404, `${kind} "${name}" not found`, 'NotFound') });
    const list = (items: Json[]) => ok({ items: items.filter((item) => selects(query.get('labelSelector'), item)) });
    switch (`${method} ${kind}${name ? '/name' : ''}${sub ? `/${sub}` : ''}`) {
      case 'POST jobs':
        return this.#createJob(namespace, body as Json);
      case 'GET jobs':
        return list([...this.#runs.values()].filter((run) => run.namespace === namespace).map((run) => run.job));
      case 'GET jobs/name': {
        const run = this.#runs.get(key);
        return run ? ok(run.job) : notFound();
      }
      case 'DELETE jobs/name': {
        const run = this.#runs.get(key);
        if (!run) return notFound();
        this.#delete(key, run);
        return ok(status(200, 'deleted'));
      }
      case 'GET pods':
        return list([...this.#runs.values()].filter((run) => run.namespace === namespace).map((run) => run.pod));
      case 'GET pods/name/log': {
        const run = [...this.#runs.values()].find((each) => each.pod.metadata.name === name);
        return run ? ok(Buffer.concat(run.logs).toString('utf8')) : notFound();
      }
      case 'POST secrets': {
        const secret = body as Json;
        const secretKey = `${namespace}/${secret.metadata.name}`;
        if (this.#secrets.has(secretKey)) return { status: 409, body: status(409, 'already exists', 'AlreadyExists') };
        this.#secrets.set(secretKey, secret);
        return { status: 201, body: secret };
      }
      case 'GET networkpolicies/name': {
        const policy = this.#policies.get(key);
        return policy ? ok(policy) : notFound();
      }
      case 'POST networkpolicies':
      case 'PUT networkpolicies/name': {
        const policy = { ...(body as Json) };
        policy.metadata = { ...policy.metadata, resourceVersion: randomBytes(4).toString('hex') };
        this.#policies.set(`${namespace}/${policy.metadata.name}`, policy);
        return { status: method === 'POST' ? 201 : 200, body: policy };
      }
      default:
        return { status: 404, body: status(404, `the stand-in does not answer ${method} ${path}`, 'NotFound') };
    }
  }

  #createJob(namespace: string, job: Json): { status: number; body: unknown } {
    const name: string = job.metadata.name;
    const key = `${namespace}/${name}`;
    if (this.#runs.has(key))
      return { status: 409, body: status(409, `jobs "${name}" already exists`, 'AlreadyExists') };
    job.metadata = { ...job.metadata, namespace, uid: randomBytes(8).toString('hex') };
    job.metadata.creationTimestamp = new Date().toISOString();
    job.status = {};
    const template = job.spec.template;
    const pod: Json = {
      metadata: {
        name: `${name}-${randomBytes(3).toString('hex')}`,
        namespace,
        labels: template.metadata.labels,
        creationTimestamp: new Date().toISOString(),
      },
      spec: template.spec,
      status: { phase: 'Pending', containerStatuses: [waiting(template.spec.containers[0].name, 'ContainerCreating')] },
    };
    let markExited = () => {};
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const run: Run = { namespace, job, pod, logs: [], exited, markExited, timers: [] };
    this.#runs.set(key, run);
    this.#kubelet(run);
    const deadline = job.spec.activeDeadlineSeconds;
    if (deadline)
      run.timers.push(
        setTimeout(() => {
          run.job.status.conditions = [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }];
          run.kill?.('SIGKILL');
        }, deadline * 1000),
      );
    return { status: 201, body: job };
  }

  /** Starts the container once its Secret exists, or says why it cannot. */
  #kubelet(run: Run) {
    const container = run.pod.spec.containers[0];
    const command = Object.hasOwn(this.images, container.image) ? this.images[container.image] : undefined;
    if (!command) {
      run.pod.status.containerStatuses = [
        waiting(container.name, 'ErrImagePull', `pull access denied for ${container.image}`),
      ];
      run.markExited();
      return;
    }
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref) {
        env[variable.name] = variable.value;
        continue;
      }
      const secret = this.#secrets.get(`${run.namespace}/${ref.name}`);
      if (!secret || this.#runs.get(`${run.namespace}/${run.job.metadata.name}`) !== run) {
        run.pod.status.containerStatuses = [waiting(container.name, 'CreateContainerConfigError')];
        if (!run.job.metadata.deletionTimestamp) run.timers.push(setTimeout(() => this.#kubelet(run), 20));
        else run.markExited();
        return;
      }
      env[variable.name] = Buffer.from(secret.data[ref.key], 'base64').toString('utf8');
    }
    const [file = '', ...args] = command;
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.on('data', (chunk: Buffer) => run.logs.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => run.logs.push(chunk));
    run.kill = (signal) => {
      try {
        process.kill(-(child.pid ?? 0), signal);
      } catch {
        // gone already
      }
    };
    run.pod.status = {
      phase: 'Running',
      podIP: '127.0.0.1',
      containerStatuses: [{ name: container.name, state: { running: { startedAt: new Date().toISOString() } } }],
    };
    run.job.status = { active: 1 };
    child.once('close', (code, signal) => {
      const exitCode = code ?? (signal ? 128 + constants.signals[signal] : 1);
      run.pod.status = {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        podIP: '127.0.0.1',
        containerStatuses: [{ name: container.name, state: { terminated: { exitCode } } }],
      };
      const failedAlready = run.job.status.conditions?.length;
      if (!failedAlready)
        run.job.status = {
          conditions: [{ type: exitCode === 0 ? 'Complete' : 'Failed', status: 'True' }],
          ...(exitCode === 0 ? { succeeded: 1 } : { failed: 1 }),
        };
      run.kill = undefined;
      run.markExited();
    });
  }

  /** As a Foreground deletion: the Pod is ended first, then the Job and the Secrets it owns go. */
  #delete(key: string, run: Run) {
    if (run.job.metadata.deletionTimestamp) return;
    run.job.metadata.deletionTimestamp = new Date().toISOString();
    run.pod.metadata.deletionTimestamp = run.job.metadata.deletionTimestamp;
    run.kill?.('SIGTERM');
    const grace = run.pod.spec.terminationGracePeriodSeconds ?? 30;
    const forced = setTimeout(() => run.kill?.('SIGKILL'), grace * 1000);
    run.timers.push(forced);
    void run.exited.then(() => {
      for (const timer of run.timers) clearTimeout(timer);
      this.#runs.delete(key);
      for (const [secretKey, secret] of this.#secrets)
        if (secret.metadata.ownerReferences?.some((owner: Json) => owner.uid === run.job.metadata.uid))
          this.#secrets.delete(secretKey);
    });
  }
}

function status(code: number, message: string, reason?: string) {
  return { kind: 'Status', apiVersion: 'v1', status: code < 400 ? 'Success' : 'Failure', message, reason, code };
}

function waiting(name: string, reason: string, message?: string) {
  return { name, state: { waiting: { reason, message } } };
}

/** Equality selectors only (`a=b,c=d`), which is all the runner sends. */
function selects(selector: string | null, item: Json): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [label = '', value] = term.split('=');
    return item.metadata.labels?.[label] === value;
  });
}
