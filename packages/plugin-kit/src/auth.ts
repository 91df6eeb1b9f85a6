/**
 * Logging in to a service, with the owner in the loop through items in the Pod (the tutorial's two
 * flows). A plugin has no screen: when it needs something from the owner it says so on its run —
 * `status: "userActionNeeded"`, `authRequest` (what it needs), `authMessage`, `authUrl` — and looks
 * at the run and its Account every `pollMs` until the owner has answered, in `authResponse` on the
 * run or in properties of the Account, or `timeoutMs` has passed. Tokens end on the Account
 * (`accessToken`, `refreshToken`), where the next run finds them; a failed log-in leaves its reason
 * in the Account's `errorMessage`, for the owner's app to show. An answer the service refuses (a
 * wrong password, code or redirect) is asked for again with the service's reason, up to `attempts`
 * times (default 3). `owner.ts` is the other end: what the owner's tools show and write.
 *
 * | `authRequest` | the owner…                                   | answered when                       |
 * |---------------|----------------------------------------------|-------------------------------------|
 * | `credentials` | sets `identifier` and `password` on the Account | both are set                     |
 * | `2fa`         | writes the code in `authResponse`            | `authResponse` is set               |
 * | `oauth`       | opens `authUrl`, then writes the redirect URL (or the code) in `authResponse` — or their app does the exchange and sets `accessToken` on the Account | either is set |
 */
import { randomBytes } from 'node:crypto';
import { type Account, Item, type PodClient } from '@pod/client';
import { AccountItem, PluginRunItem } from './items.js';

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
}

/** What a flow works on: the plugin's client, its run and its Account, replaced by fresh reads as it polls. */
export interface RunContext {
  readonly client: PodClient;
  pluginRun: PluginRunItem;
  account?: Account;
}

export interface WaitOptions {
  /** How long to wait for the owner, in milliseconds; default 10 minutes. */
  timeoutMs?: number;
  /** Between two looks at the run and the Account; default 1 second. */
  pollMs?: number;
}

export interface LogInOptions extends WaitOptions {
  /** Log in again even if the Account holds an access token (e.g. after the service refused it). */
  fresh?: boolean;
  /**
   * How many answers the owner may give to each question (password, code, redirect) before the
   * log-in fails: a refused one is asked again with the service's reason. Default 3.
   */
  attempts?: number;
}

/** The first step of a password log-in: tokens, or a second step that needs a code from the owner. */
export type PasswordStep<S> = { tokens: Tokens } | { twoFactor: S; message?: string };

/** A service's password log-in, written by the plugin; the kit does the asking, waiting and storing. */
export interface PasswordLogIn<S> {
  /** Throws when the service refuses; the message goes to the Account's `errorMessage`. */
  logIn(username: string, password: string): Promise<PasswordStep<S>>;
  /** Completes a two-factor log-in with the code the owner gave. */
  verifyCode(state: S, code: string): Promise<Tokens>;
}

/** A service's OAuth 2 authorization-code flow, written by the plugin. */
export interface OAuthLogIn {
  /** The page where the owner grants access; it must carry `state` back in the redirect. */
  authorizationUrl(state: string): string;
  /** Exchanges the authorization code for tokens. */
  exchangeCode(code: string): Promise<Tokens>;
}

/** Thrown while waiting when the run was aborted (its status became `aborted`). */
export class RunAborted extends Error {
  override readonly name = 'RunAborted';
  constructor() {
    super('the run was aborted');
  }
}

export interface OwnerRequest {
  authRequest: string;
  authMessage?: string;
  authUrl?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the owner through the run and waits until `answered` returns something for the run and
 * Account as they are now. The request and the answer (`authResponse`, which may be a code) are
 * erased from the run as soon as it is answered, and the status goes back to `started`.
 */
export async function askOwner<T>(
  context: RunContext,
  request: OwnerRequest,
  answered: (run: PluginRunItem, account: Account | undefined) => T | undefined,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 600_000, pollMs = 1_000 } = options;
  const run = context.pluginRun;
  Object.assign(run, { status: 'userActionNeeded', authMessage: null, authUrl: null, authResponse: null }, request);
  await context.client.update(run);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      await refresh(context);
      if (context.pluginRun.status === 'aborted') throw new RunAborted();
      const answer = answered(context.pluginRun, context.account);
      if (answer !== undefined) return answer;
      if (Date.now() >= deadline)
        throw new Error(
          `the owner did not answer the "${request.authRequest}" request within ${Math.round(timeoutMs / 1000)} s`,
        );
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  } finally {
    const current = context.pluginRun;
    Object.assign(current, { authRequest: null, authMessage: null, authUrl: null, authResponse: null });
    if (current.status === 'userActionNeeded') current.status = 'started';
    await context.client.update(current);
  }
}

/**
 * Username and password (from the Account, asked for when it has none), then a two-factor code
 * when the service wants one. Returns the tokens, also stored on the Account; with tokens already
 * on the Account, returns those unless `fresh`.
 */
export async function logInWithPassword<S>(
  context: RunContext,
  login: PasswordLogIn<S>,
  options: LogInOptions = {},
): Promise<Tokens> {
  const stored = storedTokens(requireAccount(context), options);
  if (stored) return stored;
  return recordingFailure(context, async () => {
    const service = serviceOf(requireAccount(context));
    const step = await untilAccepted(
      options,
      async (retry) => {
        const account = requireAccount(context);
        // credentials already on the Account are tried first; refused ones are erased before asking again
        if (!retry && account.identifier && account.password)
          return { username: account.identifier, password: account.password };
        if (retry && account.password) {
          account.password = null;
          await context.client.update(account);
        }
        const message = `Set the username (identifier) and password of your ${service} account on its Account item`;
        return askOwner(
          context,
          { authRequest: 'credentials', authMessage: retrying(retry, message) },
          (_run, current) =>
            current?.identifier && current.password
              ? { username: current.identifier, password: current.password }
              : undefined,
          options,
        );
      },
      (credentials) => login.logIn(credentials.username, credentials.password),
    );
    if ('tokens' in step) return step.tokens;
    const message = step.message ?? `Enter the code ${service} sent you`;
    return untilAccepted(
      options,
      (retry) =>
        askOwner(
          context,
          { authRequest: '2fa', authMessage: retrying(retry, message) },
          (run) => run.authResponse?.trim() || undefined,
          options,
        ),
      (code) => login.verifyCode(step.twoFactor, code),
    );
  });
}

/**
 * OAuth: the owner opens `authUrl` and grants access; their answer is the redirect URL (or just the
 * code), whose `state` must be the one sent. An app that completes the exchange itself may set
 * `accessToken` on the Account instead. Returns the tokens, also stored on the Account.
 */
export async function logInWithOAuth(
  context: RunContext,
  login: OAuthLogIn,
  options: LogInOptions = {},
): Promise<Tokens> {
  const stored = storedTokens(requireAccount(context), options);
  if (stored) return stored;
  // with `fresh`, the token the Account holds now is the refused one: only a new one answers
  const refused = requireAccount(context).accessToken;
  return recordingFailure(context, async () => {
    const service = serviceOf(requireAccount(context));
    const message = `Open the link to let this plugin use your ${service} account, then paste the address you are sent to`;
    return untilAccepted(
      options,
      async (retry) => {
        // a new state for each question: an answer to an earlier one is refused
        const state = randomBytes(16).toString('hex');
        const answer = await askOwner<{ response: string } | { tokens: Tokens }>(
          context,
          { authRequest: 'oauth', authUrl: login.authorizationUrl(state), authMessage: retrying(retry, message) },
          (run, account) =>
            run.authResponse?.trim()
              ? { response: run.authResponse.trim() }
              : account?.accessToken && account.accessToken !== refused
                ? { tokens: tokensOf(account.accessToken, account) }
                : undefined,
          options,
        );
        return { answer, state };
      },
      async ({ answer, state }) =>
        'tokens' in answer ? answer.tokens : login.exchangeCode(authorizationCode(answer.response, state)),
    );
  });
}

/**
 * Asks the owner, then has the service check the answer; when it refuses, asks again with its
 * reason (`retry`), up to `attempts` answers. Not answering in time, or an abort, ends it at once.
 */
async function untilAccepted<A, T>(
  options: LogInOptions,
  ask: (retry?: string) => Promise<A>,
  accept: (answer: A) => Promise<T>,
): Promise<T> {
  const { attempts = 3 } = options;
  let retry: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const answer = await ask(retry);
    try {
      return await accept(answer);
    } catch (error) {
      if (attempt >= attempts) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      retry = `${reason}; try again (attempt ${attempt + 1} of ${attempts})`;
    }
  }
}

const retrying = (retry: string | undefined, message: string) => (retry ? `${retry}: ${message}` : message);

/**
 * The code in what the owner pasted: a redirect URL or query (`…?code=…&state=…`), checked against
 * the state sent, or the bare code.
 */
export function authorizationCode(response: string, state: string): string {
  const query = response.includes('?')
    ? response.slice(response.indexOf('?') + 1)
    : response.includes('=')
      ? response
      : undefined;
  if (query === undefined) return response;
  const params = new URLSearchParams(query.split('#')[0]);
  const error = params.get('error');
  if (error) throw new Error(`the service refused access: ${params.get('error_description') ?? error}`);
  if (params.get('state') !== state)
    throw new Error(
      'the redirect does not carry the state this log-in sent: answer with the address its latest link led to',
    );
  const code = params.get('code');
  if (!code) throw new Error('the redirect carries no code');
  return code;
}

/** Reads the run and the Account again (the owner writes to them while the plugin waits). */
async function refresh(context: RunContext): Promise<void> {
  const read = async <C extends typeof PluginRunItem | typeof AccountItem>(id: string, cls: C) => {
    const [item] = await context.client.call('get_item', id);
    if (!item) throw new Error(`${cls.itemType} ${id} is no longer in the Pod`);
    return Item.fromJSON(item, cls);
  };
  const [run, account] = await Promise.all([
    read(context.pluginRun.id, PluginRunItem),
    context.account && read(context.account.id, AccountItem),
  ]);
  context.pluginRun = run;
  context.account = account;
}

/** Runs a log-in; stores its tokens on the Account, or its failure in `errorMessage`. */
async function recordingFailure(context: RunContext, logIn: () => Promise<Tokens>): Promise<Tokens> {
  let tokens: Tokens;
  try {
    tokens = await logIn();
  } catch (error) {
    if (!(error instanceof RunAborted)) {
      const account = requireAccount(context);
      account.errorMessage = error instanceof Error ? error.message : String(error);
      await context.client.update(account);
    }
    throw error;
  }
  const account = requireAccount(context);
  Object.assign(account, {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? account.refreshToken,
    errorMessage: null,
  });
  await context.client.update(account);
  return tokensOf(tokens.accessToken, account);
}

function requireAccount(context: RunContext): Account {
  if (!context.account)
    throw new Error(
      'the Plugin item has no "account" edge to an Account, where a log-in keeps its tokens; `pod-plugin install` links one',
    );
  return context.account;
}

function storedTokens(account: Account, options: LogInOptions): Tokens | undefined {
  return account.accessToken && !options.fresh ? tokensOf(account.accessToken, account) : undefined;
}

const tokensOf = (accessToken: string, account: Account): Tokens => ({
  accessToken,
  refreshToken: account.refreshToken ?? undefined,
});

const serviceOf = (account: Account) => account.service ?? 'the service';
