/**
 * The Plugins view: each installed Plugin with what it may do in plain words, a button to start a
 * run, and its runs as they go (status, progress, the Pod's launch record, errors), each with its
 * log and, while it runs, an abort. Everything shown comes live from the feed (plugins/watch.ts).
 */
import { createPluginRun, isAsking, type PluginItem, type PluginRunItem } from '@pod/plugin-kit/browser';
import {
  FINAL_RUN_STATUSES,
  LAUNCH_ENDED,
  type PluginSettings,
  parsePluginSettings,
  type RunSettings,
  runSettings,
  type Setting,
  settingFromText,
} from '@pod/protocol';
import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { describePermissions } from '../plugins/permissions.js';
import { askAgain } from '../plugins/prompts.js';
import { feedStatus, loadServices, plugins, runs, services } from '../plugins/watch.js';
import { href, session } from '../state.js';

/** Runs listed per plugin, newest first. */
const RUNS_SHOWN = 10;
/** How often an open log of a running run is read again. */
const LOG_REFRESH_MS = 1_000;

/** What the view last did, for its status line (e.g. "Installed …" after the install view). */
export const pluginsNotice = signal<string | undefined>(undefined);

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

const hasEnded = (run: PluginRunItem) =>
  LAUNCH_ENDED.has(run.podLaunchStatus ?? '') || FINAL_RUN_STATUSES.has(run.status ?? '');

/** The run's state in words: its own status first, the Pod's launch record when it says more. */
function statusText(run: PluginRunItem): string {
  if (isAsking(run)) return 'waiting for you';
  const launch = run.podLaunchStatus;
  if (run.status && run.status !== 'started') return run.status;
  if (launch === 'queued') return 'queued';
  if (launch && LAUNCH_ENDED.has(launch)) return launch === 'exited' ? 'ended' : `not run (${launch})`;
  return run.status ?? launch ?? 'created';
}

const when = (ms: number | undefined) => (ms ? new Date(ms).toLocaleString() : '');

function Log({ run }: { run: PluginRunItem }) {
  const client = session.value?.client;
  const [text, setText] = useState<string>();
  const [failure, setFailure] = useState<string>();
  const ended = hasEnded(run);
  useEffect(() => {
    if (!client) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const log = await client.call('plugin_run_logs', run.id);
        if (!stopped) {
          setText(log);
          setFailure(undefined);
        }
      } catch (error) {
        if (!stopped) setFailure(`The log could not be read: ${errorText(error)}`);
      }
      if (!stopped && !ended) timer = setTimeout(read, LOG_REFRESH_MS);
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, run.id, ended]);
  return (
    <section class="run-log" aria-label={`Log of the run started ${when(run.dateCreated)}`}>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      <pre>{text === undefined ? 'Reading the log…' : text || '(the log is empty)'}</pre>
    </section>
  );
}

function Run({ run }: { run: PluginRunItem }) {
  const client = session.value?.client;
  const [showLog, setShowLog] = useState(false);
  const [failure, setFailure] = useState<string>();
  const ended = hasEnded(run);
  const status = statusText(run);
  async function abort() {
    if (!client) return;
    try {
      await client.call('abort_plugin_run', run.id);
      setFailure(undefined);
    } catch (error) {
      setFailure(`Not aborted: ${errorText(error)}`);
    }
  }
  return (
    <li class="run" aria-label={`Run started ${when(run.dateCreated)}: ${status}`}>
      <div class="run-line">
        <span class={`run-status status-${status.replace(/\W+/g, '-')}`}>{status}</span>
        <progress
          max={1}
          value={run.progress ?? 0}
          aria-label="Progress"
          aria-valuetext={`${Math.round((run.progress ?? 0) * 100)}%`}
        />
        <span class="muted">{when(run.dateCreated)}</span>
      </div>
      {run.error && <p class="error">Error: {run.error}</p>}
      {run.podLaunchMessage && <p class="muted">{run.podLaunchMessage}</p>}
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      <div class="actions">
        {isAsking(run) && (
          <button type="button" onClick={() => askAgain(run)}>
            Answer
          </button>
        )}
        <button type="button" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>
          {showLog ? 'Hide the log' : 'Show the log'}
        </button>
        {!ended && (
          <button type="button" onClick={abort}>
            Abort
          </button>
        )}
      </div>
      {showLog && <Log run={run} />}
    </li>
  );
}

function Permissions({ plugin }: { plugin: PluginItem }) {
  let lines: string[];
  try {
    lines = describePermissions(JSON.parse(plugin.permissions ?? '{}'), services.value.get(plugin.id));
  } catch (error) {
    return <p class="error">Its permissions cannot be read ({errorText(error)}): its runs are refused.</p>;
  }
  return (
    <ul class="permissions" aria-label={`What ${plugin.name ?? 'it'} may do`}>
      {lines.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}

/** The plugin's declared settings (`configJson`), or why they cannot be read. */
function declaredSettings(plugin: PluginItem): PluginSettings | { error: string } {
  try {
    return parsePluginSettings(plugin.configJson);
  } catch (error) {
    return { error: errorText(error) };
  }
}

/** The settings typed into the start form: only those given (the plugin applies the defaults), checked as the Pod checks them. */
function givenSettings(declared: PluginSettings, form: HTMLFormElement): RunSettings {
  const given: RunSettings = {};
  for (const [name, setting] of Object.entries(declared)) {
    const input = form.elements.namedItem(`setting-${name}`) as HTMLInputElement | null;
    if (!input) continue;
    if (setting.type === 'Bool') given[name] = input.checked;
    else if (input.value.trim() !== '') given[name] = settingFromText(declared, name, input.value.trim());
  }
  runSettings(declared, given);
  return given;
}

function SettingInput({ name, setting }: { name: string; setting: Setting }) {
  const field = `setting-${name}`;
  if (setting.type === 'Bool')
    return (
      <label class="check">
        <input type="checkbox" name={field} defaultChecked={setting.default === true} />
        {name}
        {setting.description && <span class="muted"> — {setting.description}</span>}
      </label>
    );
  return (
    <label>
      <span>
        {name}
        {setting.required && setting.default === undefined ? ' (required)' : ''}
        {setting.description && <span class="muted"> — {setting.description}</span>}
      </span>
      <input
        name={field}
        inputMode={setting.type === 'Text' ? undefined : 'decimal'}
        placeholder={setting.default === undefined ? '' : `default: ${setting.default}`}
      />
    </label>
  );
}

function PluginCard({ plugin }: { plugin: PluginItem }) {
  const client = session.value?.client;
  const [failure, setFailure] = useState<string>();
  const [starting, setStarting] = useState(false);
  const name = plugin.name ?? plugin.containerImage ?? plugin.id;
  const declared = declaredSettings(plugin);
  const itsRuns = [...runs.value.values()]
    .filter((run) => run.containerImage === plugin.containerImage)
    .sort((a, b) => (b.dateCreated ?? 0) - (a.dateCreated ?? 0));
  async function start(event: SubmitEvent) {
    event.preventDefault();
    // not `disabled` while starting: a disabled button drops the focus, which the prompt returns to
    if (!client || !plugin.containerImage || starting || 'error' in declared) return;
    setStarting(true);
    try {
      const given = givenSettings(declared, event.currentTarget as HTMLFormElement);
      await createPluginRun(client, plugin, plugin.containerImage, Object.keys(given).length ? given : undefined);
      setFailure(undefined);
    } catch (error) {
      setFailure(`The run was not started: ${errorText(error)}`);
    } finally {
      setStarting(false);
    }
  }
  const headingId = `plugin-${plugin.id}`;
  return (
    <article class="plugin" aria-labelledby={headingId}>
      <h3 id={headingId}>{name}</h3>
      {plugin.description && <p>{plugin.description}</p>}
      <p class="muted">Image {plugin.containerImage}</p>
      <h4>What it may do</h4>
      <Permissions plugin={plugin} />
      <form onSubmit={start} aria-label={`Start ${name}`}>
        {'error' in declared ? (
          <p class="error">Its settings cannot be read ({declared.error}): its runs are refused.</p>
        ) : (
          Object.entries(declared).map(([key, setting]) => <SettingInput key={key} name={key} setting={setting} />)
        )}
        <div class="actions">
          <button type="submit" aria-disabled={starting} disabled={!plugin.containerImage}>
            Start a run
          </button>
        </div>
      </form>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      <h4>Runs</h4>
      {itsRuns.length === 0 ? (
        <p class="muted">No runs yet.</p>
      ) : (
        <ul class="runs" aria-label={`Runs of ${name}`}>
          {itsRuns.slice(0, RUNS_SHOWN).map((run) => (
            <Run key={run.id} run={run} />
          ))}
        </ul>
      )}
    </article>
  );
}

export function Plugins() {
  const client = session.value?.client;
  useEffect(() => {
    if (client) void loadServices(client).catch(() => {});
  }, [client]);
  const installed = [...plugins.value.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  return (
    <section aria-labelledby="plugins-title">
      <h2 id="plugins-title">Plugins</h2>
      <p class="muted" role="status" aria-live="polite">
        {pluginsNotice.value ?? ''}
        {feedStatus.value === 'open' ? '' : ' Connecting to live updates…'}
      </p>
      <p>
        <a class="button" href={href('plugins', 'install')}>
          Install a plugin
        </a>
      </p>
      {installed.length === 0 ? (
        <p>No plugins are installed. Install one from its manifest (plugin.json).</p>
      ) : (
        installed.map((plugin) => <PluginCard key={plugin.id} plugin={plugin} />)
      )}
    </section>
  );
}
