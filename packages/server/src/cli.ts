#!/usr/bin/env node
/**
 * `pod`: starts the Pod; `pod backup`, `restore`, `export`, `import` (backup-cli.ts) copy its data.
 * Every flag can also come from the environment variable named in --help.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { defaultPluginDir } from '@pod/protocol';
import { PLUGIN_RUNNERS, SMTP_LIMITS, configProblems, defaultConfig, isLoopback, type PodConfig } from './config.js';
import { POD_VERSION, createPod } from './app.js';
import { backupCommand, exportCommand, importCommand, restoreCommand } from './backup-cli.js';
import { moveCommand } from './move-cli.js';
import { normalizeOrigin } from './api/origin.js';
import { listenPod } from './listen.js';
import { loadProviders, type OAuthProviders } from './oauth/providers.js';

const defaults = defaultConfig();

/** A commander argument parser from a zod schema: the first issue's message is the error commander shows. */
const parsed =
  <T>(schema: z.ZodType<T>) =>
  (value: string): T => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'invalid value');
    return result.data;
  };
const wholeNumber = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER, `${name} must be a whole number`));
const integer = (name: string) => parsed(wholeNumber(name));
const positive = (name: string) => parsed(wholeNumber(name).pipe(z.number().min(1, `${name} must be at least 1`)));
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const bytes = (name: string) =>
  parsed(
    z
      .string()
      .trim()
      .regex(/^\d+\s*([kmg]i?b?)?$/i, `${name} must be a size such as 8MiB or 1GiB`)
      .transform((text) => Number.parseInt(text, 10) * (UNITS[(/[kmg]/i.exec(text)?.[0] ?? '').toLowerCase()] ?? 1)),
  );
const cpus = parsed(
  z.coerce
    .number({ error: '--plugin-cpus must be a number such as 0.5 or 2' })
    .positive('--plugin-cpus must be more than 0'),
);
const COMMANDS_SHAPE = '--plugin-commands maps each image name to a non-empty array of strings';
const commands = parsed(
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        const message = '--plugin-commands must be JSON, e.g. {"my-plugin": ["node", "/path/plugin.js"]}';
        context.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string(), z.array(z.string(COMMANDS_SHAPE), COMMANDS_SHAPE).min(1, COMMANDS_SHAPE), COMMANDS_SHAPE),
    ),
);
const corsOrigins = (value: string): PodConfig['corsOrigins'] => {
  if (value.trim() === '*') return '*';
  return value
    .split(',')
    .map((text) => text.trim())
    .filter(Boolean)
    .map((text) => {
      const origin = normalizeOrigin(text);
      if (!origin)
        throw new InvalidArgumentError(
          `"${text}" is not an origin; write it as scheme://host[:port], e.g. https://app.example.org`,
        );
      return origin;
    });
};
const oauthProviders = (file: string): OAuthProviders => {
  try {
    return loadProviders(file, process.env);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
const option = (flags: string, description: string, env: string) => new Option(flags, description).env(env);

const program = new Command('pod')
  .description('Pod: a personal online datastore speaking the Pod v4 HTTP API, one encrypted database per owner.')
  .version(POD_VERSION)
  .addOption(option('--host <address>', 'address to listen on', 'POD_HOST').default(defaults.host))
  .addOption(
    option('--port <number>', 'port to listen on', 'POD_PORT').default(defaults.port).argParser(integer('--port')),
  )
  .addOption(
    option('--data-dir <path>', 'folder of the owner databases and files', 'POD_DATA_DIR').default(defaults.dataDir),
  )
  .addOption(
    option(
      '--owners <list>',
      'ANY, or a comma list of allowed owners as SHA-256 hex of the owner key bytes',
      'POD_OWNERS',
    ).default('ANY'),
  )
  .addOption(option('--tls-cert <file>', 'PEM certificate: serve HTTPS (with --tls-key)', 'POD_TLS_CERT'))
  .addOption(option('--tls-key <file>', 'PEM private key for --tls-cert', 'POD_TLS_KEY'))
  .addOption(
    option('--insecure', 'allow --owners ANY and plain HTTP on a non-loopback address', 'POD_INSECURE').default(false),
  )
  .addOption(
    option('--log-level <level>', 'log level', 'POD_LOG_LEVEL')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default(defaults.logLevel),
  )
  .addOption(
    option('--json-body-limit <size>', 'largest JSON request body', 'POD_JSON_BODY_LIMIT')
      .default(defaults.jsonBodyLimit, '16MiB')
      .argParser(bytes('--json-body-limit')),
  )
  .addOption(
    option('--upload-limit <size>', 'largest uploaded file', 'POD_UPLOAD_LIMIT')
      .default(defaults.uploadLimit, '1GiB')
      .argParser(bytes('--upload-limit')),
  )
  .addOption(
    option(
      '--cors-origins <list>',
      'web origins allowed to call the Pod besides its own and loopback ones: a comma list, or * for every page',
      'POD_CORS_ORIGINS',
    )
      .default(defaults.corsOrigins, 'none')
      .argParser(corsOrigins),
  )
  .addOption(
    option('--idle-close <seconds>', 'close an owner database after this long unused', 'POD_IDLE_CLOSE')
      .default(defaults.idleCloseMs / 1000)
      .argParser(integer('--idle-close')),
  )
  .addOption(
    option(
      '--max-open-owners <n>',
      'owner databases open at once (least recently used idle ones close)',
      'POD_MAX_OPEN_OWNERS',
    )
      .default(defaults.limits.maxOpenOwners)
      .argParser(integer('--max-open-owners')),
  )
  .addOption(
    option('--page-cache <MiB>', 'SQLite page cache shared by all open owner databases, in MiB', 'POD_PAGE_CACHE')
      .default(defaults.limits.pageCacheBytes / 1024 / 1024)
      .argParser(integer('--page-cache')),
  )
  .addOption(
    option('--max-feeds-per-owner <n>', 'live-feed (/changes) subscriptions per owner', 'POD_MAX_FEEDS_PER_OWNER')
      .default(defaults.limits.maxFeedsPerOwner)
      .argParser(integer('--max-feeds-per-owner')),
  )
  .addOption(
    option('--max-feeds <n>', 'live-feed subscriptions in all', 'POD_MAX_FEEDS')
      .default(defaults.limits.maxFeeds)
      .argParser(integer('--max-feeds')),
  )
  .addOption(
    option(
      '--max-answer-size <size>',
      'largest search or bulk answer (larger: 400 saying how to page)',
      'POD_MAX_ANSWER_SIZE',
    )
      .default(defaults.limits.maxAnswerBytes, '64MiB')
      .argParser(bytes('--max-answer-size')),
  )
  .addOption(
    option(
      '--max-thumbnail-pixels <n>',
      'largest image (width × height) the Pod makes thumbnails of',
      'POD_MAX_THUMBNAIL_PIXELS',
    )
      .default(defaults.limits.maxThumbnailPixels)
      .argParser(positive('--max-thumbnail-pixels')),
  )
  .addOption(
    option('--max-bulk-searches <n>', 'searches in one bulk', 'POD_MAX_BULK_SEARCHES')
      .default(defaults.limits.maxBulkSearches)
      .argParser(integer('--max-bulk-searches')),
  )
  .addOption(
    option('--body-timeout <seconds>', 'a JSON request body must arrive within this long', 'POD_BODY_TIMEOUT')
      .default(defaults.limits.bodyTimeoutMs / 1000)
      .argParser(integer('--body-timeout')),
  )
  .addOption(
    option(
      '--keep-alive-timeout <seconds>',
      'an idle keep-alive connection stays open this long (2023 clients need at least 65)',
      'POD_KEEP_ALIVE_TIMEOUT',
    )
      .default(defaults.limits.keepAliveMs / 1000)
      .argParser(integer('--keep-alive-timeout')),
  )
  .addOption(option('--app-dir <dir>', "the built web app served at / (default: @pod/app's build)", 'POD_APP_DIR'))
  .addOption(
    option('--max-import-bytes <size>', 'largest owner archive POST /v4/<owner>/import accepts', 'POD_MAX_IMPORT_BYTES')
      .default(defaults.limits.maxImportBytes, '64GiB')
      .argParser(bytes('--max-import-bytes')),
  )
  .addOption(
    option(
      '--owner-quota <size>',
      "bytes each owner's data may take on disk (database and files); over it, only deletions go on",
      'POD_OWNER_QUOTA',
    )
      .default(defaults.limits.ownerQuotaBytes, 'none')
      .argParser(bytes('--owner-quota')),
  )
  .addOption(
    option(
      '--metrics-token <token>',
      'GET /metrics needs "Authorization: Bearer <token>" (prefer the environment variable)',
      'POD_METRICS_TOKEN',
    ),
  )
  .addOption(
    option(
      '--accept-moves-secret-file <path>',
      'take owners moved here by pod move from a Pod that sends the secret in this file (32+ characters)',
      'POD_ACCEPT_MOVES_SECRET_FILE',
    ),
  )
  .addOption(
    option('--smtp-host <host>', 'SMTP relay for send_email (without it, emails are only logged)', 'POD_SMTP_HOST'),
  )
  .addOption(
    option('--smtp-port <number>', 'SMTP port', 'POD_SMTP_PORT').default(587).argParser(integer('--smtp-port')),
  )
  .addOption(
    option('--smtp-secure', 'connect to the relay over TLS from the start (port 465)', 'POD_SMTP_SECURE').default(
      false,
    ),
  )
  .addOption(option('--smtp-user <user>', 'SMTP user name', 'POD_SMTP_USER'))
  .addOption(
    option('--smtp-password <password>', 'SMTP password (prefer the environment variable)', 'POD_SMTP_PASSWORD'),
  )
  .addOption(option('--smtp-from <address>', 'sender address of emails', 'POD_SMTP_FROM'))
  .addOption(
    option(
      '--smtp-allow-any-owner',
      'let send_email work with --owners ANY (an open relay for anyone who reaches the Pod)',
      'POD_SMTP_ALLOW_ANY_OWNER',
    ).default(false),
  )
  .addOption(
    option('--smtp-max-recipients <n>', 'recipients per send_email call', 'POD_SMTP_MAX_RECIPIENTS')
      .default(SMTP_LIMITS.maxRecipients)
      .argParser(integer('--smtp-max-recipients')),
  )
  .addOption(
    option('--smtp-rate <n>', 'recipients per owner and hour', 'POD_SMTP_RATE')
      .default(SMTP_LIMITS.perHour)
      .argParser(integer('--smtp-rate')),
  )
  .addOption(
    option(
      '--oauth-providers <file>',
      'JSON file of OAuth providers by platform, e.g. {"gitlab": {"type": "oauth2", "clientId": "…", ' +
        '"clientSecret": {"env": "GITLAB_SECRET"}, "authorizeUrl": "…", "tokenUrl": "…", "scopes": "read_user"}, ' +
        '"twitter": {"type": "oauth1", "consumerKey": "…", "consumerSecret": {"env": "TWITTER_SECRET"}, ' +
        '"requestTokenUrl": "…", "accessTokenUrl": "…", "authorizeUrl": "…"}}; a secret is a string or ' +
        '{"env": "VARIABLE"} (read at start-up); URLs are https (http only on loopback); "tokenAuth": "post" ' +
        'sends the client secret as a form field instead of HTTP Basic',
      'POD_OAUTH_PROVIDERS',
    )
      .default(new Map(), 'none')
      .argParser(oauthProviders),
  )
  .addOption(
    option(
      '--plugin-runner <kind>',
      'how plugins are started: none, process (local commands), docker, kubernetes (a Job per run)',
      'POD_PLUGIN_RUNNER',
    )
      .choices(PLUGIN_RUNNERS)
      .default(defaults.plugins.runner),
  )
  .addOption(
    option(
      '--plugin-commands <json>',
      'process runner: JSON object mapping an image name to a command line array',
      'POD_PLUGIN_COMMANDS',
    )
      .default({}, '{}')
      .argParser(commands),
  )
  .addOption(
    option(
      '--plugin-dir <folder>',
      'process runner: folder of <image>.json command files, watched (pod-plugin install writes there)',
      'POD_PLUGIN_DIR',
    ).default(defaultPluginDir(process.env)),
  )
  .addOption(option('--docker-socket <path>', 'docker runner: the engine socket', 'POD_DOCKER_SOCKET'))
  .addOption(
    option(
      '--kubeconfig <file>',
      "kubernetes runner: the cluster's kubeconfig (default: the Pod's in-cluster service account)",
      'POD_KUBECONFIG',
    ),
  )
  .addOption(
    option(
      '--kubernetes-namespace <name>',
      "kubernetes runner: namespace of the plugins' Jobs (default: the kubeconfig context's)",
      'POD_KUBERNETES_NAMESPACE',
    ),
  )
  .addOption(
    option(
      '--kubernetes-pod-cidr <cidr>',
      "kubernetes runner: the Pod's address block for the plugins' NetworkPolicy (default: the IP of --plugin-pod-address)",
      'POD_KUBERNETES_POD_CIDR',
    ),
  )
  .addOption(
    option(
      '--kubernetes-ttl <seconds>',
      'kubernetes runner: a finished Job the Pod could not delete is removed by the cluster after this long',
      'POD_KUBERNETES_TTL',
    )
      .default(defaults.plugins.kubernetes.ttlSeconds)
      .argParser(integer('--kubernetes-ttl')),
  )
  .addOption(
    option(
      '--plugin-pod-address <url>',
      "POD_FULL_ADDRESS handed to plugins (default: the Pod on the plugin network's gateway, or its own address; " +
        'needed by the kubernetes runner: the Pod as the cluster reaches it)',
      'POD_PLUGIN_POD_ADDRESS',
    ),
  )
  .addOption(
    option(
      '--plugin-network <name>',
      "docker runner: bridge network of plugins, created and firewalled by the Pod; host shares the host's network (unconfined)",
      'POD_PLUGIN_NETWORK',
    ).default(defaults.plugins.network),
  )
  .addOption(
    option(
      '--plugin-tmp <MiB>',
      'size of the tmpfs at /tmp, the only writable place in a plugin container',
      'POD_PLUGIN_TMP',
    )
      .default(defaults.plugins.tmpMiB)
      .argParser(integer('--plugin-tmp')),
  )
  .addOption(
    option('--plugin-memory <MiB>', 'memory limit of a plugin container', 'POD_PLUGIN_MEMORY')
      .default(defaults.plugins.memoryMiB)
      .argParser(integer('--plugin-memory')),
  )
  .addOption(
    option('--plugin-cpus <n>', 'CPU limit of a plugin container', 'POD_PLUGIN_CPUS')
      .default(defaults.plugins.cpus)
      .argParser(cpus),
  )
  .addOption(
    option('--plugin-timeout <seconds>', 'time limit of a plugin run', 'POD_PLUGIN_TIMEOUT')
      .default(defaults.plugins.timeoutSeconds)
      .argParser(integer('--plugin-timeout')),
  )
  .addOption(
    option(
      '--plugin-max-runs <n>',
      'plugin runs going at once; more wait (podLaunchStatus queued)',
      'POD_PLUGIN_MAX_RUNS',
    )
      .default(defaults.plugins.maxRuns)
      .argParser(positive('--plugin-max-runs')),
  )
  .addOption(
    option('--plugin-max-runs-per-owner <n>', 'plugin runs of one owner going at once', 'POD_PLUGIN_MAX_RUNS_PER_OWNER')
      .default(defaults.plugins.maxRunsPerOwner)
      .argParser(positive('--plugin-max-runs-per-owner')),
  )
  .addOption(
    option(
      '--plugin-max-queued-per-owner <n>',
      'plugin runs of one owner waiting; more are refused',
      'POD_PLUGIN_MAX_QUEUED_PER_OWNER',
    )
      .default(defaults.plugins.maxQueuedPerOwner)
      .argParser(integer('--plugin-max-queued-per-owner')),
  )
  .showHelpAfterError()
  // The subcommands' own --data-dir comes after their name; `pod` alone serves (the code after parsing).
  .enablePositionalOptions()
  .addCommand(backupCommand)
  .addCommand(restoreCommand)
  .addCommand(exportCommand)
  .addCommand(importCommand)
  .addCommand(moveCommand)
  .action(() => {});

/** What the options above parse to (commander leaves an option without a default undefined). */
interface Flags {
  host: string;
  port: number;
  dataDir: string;
  owners: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure: boolean;
  logLevel: PodConfig['logLevel'];
  jsonBodyLimit: number;
  uploadLimit: number;
  corsOrigins: PodConfig['corsOrigins'];
  idleClose: number;
  maxOpenOwners: number;
  pageCache: number;
  maxFeedsPerOwner: number;
  maxFeeds: number;
  maxAnswerSize: number;
  maxBulkSearches: number;
  maxThumbnailPixels: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  appDir?: string;
  maxImportBytes: number;
  ownerQuota: number;
  metricsToken?: string;
  acceptMovesSecretFile?: string;
  smtpHost?: string;
  smtpPort: number;
  smtpSecure: boolean;
  smtpUser?: string;
  smtpPassword?: string;
  smtpFrom?: string;
  smtpAllowAnyOwner: boolean;
  smtpMaxRecipients: number;
  smtpRate: number;
  oauthProviders: OAuthProviders;
  pluginRunner: PodConfig['plugins']['runner'];
  pluginCommands: PodConfig['plugins']['commands'];
  pluginDir: string;
  dockerSocket?: string;
  kubeconfig?: string;
  kubernetesNamespace?: string;
  kubernetesPodCidr?: string;
  kubernetesTtl: number;
  pluginPodAddress?: string;
  pluginNetwork: string;
  pluginTmp: number;
  pluginMemory: number;
  pluginCpus: number;
  pluginTimeout: number;
  pluginMaxRuns: number;
  pluginMaxRunsPerOwner: number;
  pluginMaxQueuedPerOwner: number;
}

/** The move secret, from its file; a file that cannot be read stops the Pod with the reason. */
function moveSecret(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    console.error(`pod: cannot read --accept-moves-secret-file ${path}: ${(error as Error).message}`);
    process.exit(2);
  }
}

// A subcommand's action exits the process when done: what follows is `pod` serving.
await program.parseAsync();
const flags = program.opts<Flags>();

const config: PodConfig = {
  host: flags.host,
  port: flags.port,
  dataDir: flags.dataDir,
  owners:
    flags.owners.trim().toUpperCase() === 'ANY'
      ? 'ANY'
      : new Set(
          flags.owners
            .split(',')
            .map((hash) => hash.trim().toLowerCase())
            .filter(Boolean),
        ),
  tls: flags.tlsCert || flags.tlsKey ? { cert: flags.tlsCert ?? '', key: flags.tlsKey ?? '' } : undefined,
  insecure: flags.insecure,
  logLevel: flags.logLevel,
  jsonBodyLimit: flags.jsonBodyLimit,
  uploadLimit: flags.uploadLimit,
  corsOrigins: flags.corsOrigins,
  idleCloseMs: flags.idleClose * 1000,
  limits: {
    maxOpenOwners: flags.maxOpenOwners,
    pageCacheBytes: flags.pageCache * 1024 * 1024,
    maxFeedsPerOwner: flags.maxFeedsPerOwner,
    maxFeeds: flags.maxFeeds,
    maxAnswerBytes: flags.maxAnswerSize,
    maxBulkSearches: flags.maxBulkSearches,
    maxThumbnailPixels: flags.maxThumbnailPixels,
    bodyTimeoutMs: flags.bodyTimeout * 1000,
    keepAliveMs: flags.keepAliveTimeout * 1000,
    maxImportBytes: flags.maxImportBytes,
    ownerQuotaBytes: flags.ownerQuota,
  },
  appDir: flags.appDir,
  metricsToken: flags.metricsToken,
  acceptMovesSecret: flags.acceptMovesSecretFile === undefined ? undefined : moveSecret(flags.acceptMovesSecretFile),
  smtp: flags.smtpHost
    ? {
        host: flags.smtpHost,
        port: flags.smtpPort,
        secure: flags.smtpSecure,
        user: flags.smtpUser,
        password: flags.smtpPassword,
        from: flags.smtpFrom ?? '',
        allowAnyOwner: flags.smtpAllowAnyOwner,
        maxRecipients: flags.smtpMaxRecipients,
        perHour: flags.smtpRate,
      }
    : undefined,
  oauth: flags.oauthProviders,
  plugins: {
    runner: flags.pluginRunner,
    commands: flags.pluginCommands,
    dir: flags.pluginDir,
    dockerSocket: flags.dockerSocket,
    podAddress: flags.pluginPodAddress,
    network: flags.pluginNetwork,
    memoryMiB: flags.pluginMemory,
    tmpMiB: flags.pluginTmp,
    cpus: flags.pluginCpus,
    timeoutSeconds: flags.pluginTimeout,
    maxRuns: flags.pluginMaxRuns,
    maxRunsPerOwner: flags.pluginMaxRunsPerOwner,
    maxQueuedPerOwner: flags.pluginMaxQueuedPerOwner,
    kubernetes: {
      kubeconfig: flags.kubeconfig,
      namespace: flags.kubernetesNamespace,
      podCidr: flags.kubernetesPodCidr,
      ttlSeconds: flags.kubernetesTtl,
    },
  },
};

const problems = configProblems(config);
if (config.tls && !(config.tls.cert && config.tls.key)) problems.push('--tls-cert and --tls-key go together');
if (problems.length) {
  for (const problem of problems) console.error(`pod: ${problem}`);
  process.exit(2);
}

// A safety net behind the explicit modes of owner folders and files: nothing the Pod writes is for other users.
process.umask(0o077);
const app = await createPod(config);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    app.log.info(`${signal}: closing`);
    void app.close().then(() => process.exit(0));
  });
try {
  const port = await listenPod(app, config);
  const scheme = config.tls ? 'https' : 'http';
  app.log.info(
    `Pod ${POD_VERSION} listening on ${scheme}://${isLoopback(config.host) && config.host !== '::1' ? 'localhost' : config.host}:${port}, data in ${config.dataDir}`,
  );
} catch (error) {
  console.error(`pod: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  process.exit(1);
}
