/**
 * The owner prompts: wherever the owner is in the app, a run that asks (`userActionNeeded`) opens a
 * dialog at once — a username and password (set on the Plugin's Account), a code, or an OAuth
 * permission (the service's page, then the address it sends back) — and the answer goes to the Pod
 * (the kit's `answerRequest`, as `pod-plugin answer` does). What is typed lives in the form only:
 * never stored, never logged. A refused answer comes back as a new question with the plugin's
 * reason, shown as an error. Escape or "Later" puts a question off; the Plugins view reopens it.
 */
import { answerRequest, isAsking, type PluginRunItem } from '@pod/plugin-kit/browser';
import { computed, signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { session } from '../state.js';
import { deliverOAuthReturn, oauthReturn } from './oauth-return.js';
import { serviceName } from './permissions.js';
import { feedStatus, pluginOfRun, services, runs, watchPlugins } from './watch.js';

/** One question: a new message (a retry) is a new question, shown again even if the last was put off. */
const questionOf = (run: PluginRunItem) =>
  JSON.stringify([run.id, run.authRequest, run.authMessage ?? '', run.authUrl ?? ''] as const);

const putOff = signal<ReadonlySet<string>>(new Set());
/** The kind of question last answered per run: the same kind asked again means the answer was refused. */
const answered = signal<ReadonlyMap<string, string>>(new Map());
/** Why the watch could not start, if it could not. */
const watchError = signal<string | undefined>(undefined);

/** Runs waiting for their owner, the longest waiting first. */
export const asking = computed(() =>
  [...runs.value.values()].filter(isAsking).sort((a, b) => (a.dateServerModified ?? 0) - (b.dateServerModified ?? 0)),
);
/** The question in the dialog; none while an OAuth redirect is being passed on (it answers one). */
const shown = computed(() => {
  const returning = oauthReturn.value?.state;
  if (returning === 'pending' || returning === 'sending') return undefined;
  return asking.value.find((run) => !putOff.value.has(questionOf(run)));
});

/** Puts a question off until it changes or the owner asks to see it (Escape, "Later"). */
function putOffQuestion(run: PluginRunItem): void {
  putOff.value = new Set(putOff.value).add(questionOf(run));
}

/** Shows a put-off question again (the Plugins view's "Answer"). */
export function askAgain(run: PluginRunItem): void {
  const next = new Set(putOff.value);
  next.delete(questionOf(run));
  putOff.value = next;
}

const wantsService = (run: PluginRunItem) => {
  const plugin = pluginOfRun(run);
  const service = plugin && services.value.get(plugin.id);
  return service ? `your ${serviceName(service)} account` : 'your account at its service';
};

function titleOf(run: PluginRunItem, plugin: string): string {
  switch (run.authRequest) {
    case 'credentials':
      return `${plugin} asks you to log in to ${wantsService(run)}`;
    case '2fa':
      return `${plugin} asks for a code`;
    case 'oauth':
      return `${plugin} asks for access to ${wantsService(run)}`;
    default:
      return `${plugin} asks for “${run.authRequest}”`;
  }
}

/** Only a web page may be opened from a plugin's request (never `javascript:` or the like). */
function webPage(url: string | null | undefined): string | undefined {
  try {
    const parsed = new URL(url ?? '');
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

function Question({ run }: { run: PluginRunItem }) {
  const client = session.value?.client;
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState(false);
  const [failure, setFailure] = useState<string>();
  const plugin = pluginOfRun(run)?.name ?? run.containerImage ?? 'A plugin';
  const refused = answered.value.get(run.id) === run.authRequest;
  const link = webPage(run.authUrl);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!client) return;
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
    const value = field('answer');
    const password = (form.elements.namedItem('password') as HTMLInputElement | null)?.value;
    if (!value || (run.authRequest === 'credentials' && !password)) {
      setFailure(run.authRequest === 'credentials' ? 'Enter both the username and the password.' : 'Enter an answer.');
      return;
    }
    setSending(true);
    setFailure(undefined);
    try {
      await answerRequest(client, run.id, { value, password });
      answered.value = new Map(answered.value).set(run.id, run.authRequest ?? '');
      setSent(true);
      form.reset();
    } catch (error) {
      setFailure(`Not sent: ${error instanceof Error ? error.message : String(error)}. Try again.`);
    } finally {
      setSending(false);
    }
  }

  return (
    <form onSubmit={submit}>
      <h2 id="prompt-title">{titleOf(run, plugin)}</h2>
      {refused ? (
        <p class="error" role="alert">
          Not accepted: {run.authMessage}
        </p>
      ) : (
        run.authMessage && <p>{run.authMessage}</p>
      )}
      {run.authRequest === 'credentials' && (
        <>
          <label>
            Username
            <input name="answer" autocomplete="off" required disabled={sent} />
          </label>
          <label>
            Password
            <input name="password" type="password" autocomplete="off" required disabled={sent} />
          </label>
        </>
      )}
      {run.authRequest === '2fa' && (
        <label>
          Code
          <input name="answer" autocomplete="one-time-code" inputMode="numeric" required disabled={sent} />
        </label>
      )}
      {run.authRequest === 'oauth' && (
        <>
          {link ? (
            <p>
              <a href={link} class="button">
                Open the page that asks for your permission
              </a>{' '}
              <span class="muted">({new URL(link).host}). It brings you back here when it is done.</span>
            </p>
          ) : (
            <p class="error">The plugin gave no web page to open ({run.authUrl ?? 'none'}).</p>
          )}
          <label>
            Or paste the address the page sent you to
            <input name="answer" autocomplete="off" required disabled={sent} />
          </label>
        </>
      )}
      {!['credentials', '2fa', 'oauth'].includes(run.authRequest ?? '') && (
        <label>
          Your answer
          <input name="answer" autocomplete="off" required disabled={sent} />
        </label>
      )}
      <p class="status" role="status" aria-live="polite">
        {sent ? 'Sent. Waiting for the plugin to check it…' : ''}
      </p>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      <div class="actions">
        <button type="submit" disabled={sending || sent}>
          Send
        </button>
        <button type="button" onClick={() => putOffQuestion(run)}>
          Later
        </button>
      </div>
    </form>
  );
}

/** Follows the owner's plugin runs while the Pod is open, and shows a dialog for each question. */
export function OwnerPrompts() {
  const client = session.value?.client;
  const dialog = useRef<HTMLDialogElement>(null);
  const run = shown.value;

  useEffect(() => {
    if (!client) return;
    let stop: (() => Promise<void>) | undefined;
    let ended = false;
    watchError.value = undefined;
    watchPlugins(client).then(
      (stopWatching) => {
        if (ended) void stopWatching();
        else stop = stopWatching;
      },
      (error: unknown) => {
        watchError.value = `Plugin runs are not followed: ${error instanceof Error ? error.message : String(error)}`;
      },
    );
    void deliverOAuthReturn(client);
    return () => {
      ended = true;
      void stop?.();
    };
  }, [client]);

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (run && !element.open) element.showModal();
    if (!run && element.open) element.close();
  }, [run]);

  return (
    <>
      {watchError.value && (
        <p class="error banner" role="alert">
          {watchError.value}
        </p>
      )}
      {!run && asking.value.length > 0 && (
        <p class="banner waiting" role="status">
          <button type="button" onClick={() => (putOff.value = new Set())}>
            {asking.value.length === 1 ? 'A plugin waits' : `${asking.value.length} plugin runs wait`} for your answer
          </button>
        </p>
      )}
      {feedStatus.value === 'waiting' && (
        <p class="banner" role="status">
          Reconnecting to your Pod…
        </p>
      )}
      <dialog ref={dialog} class="prompt" aria-labelledby="prompt-title" onCancel={() => run && putOffQuestion(run)}>
        {run && <Question key={questionOf(run)} run={run} />}
      </dialog>
    </>
  );
}
