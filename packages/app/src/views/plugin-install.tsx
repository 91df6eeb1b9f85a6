/**
 * Installing a plugin from its manifest (`plugin.json`, the kit's template shape), picked as a file
 * or pasted: the manifest is checked as `pod-plugin install` checks it, what the plugin may do is
 * shown in plain words, and only the owner's confirmation creates (or updates) the Plugin item.
 */
import { checkManifest, installPlugin, type PluginManifest } from '@pod/plugin-kit/browser';
import { useEffect, useRef, useState } from 'preact/hooks';
import { describePermissions } from '../plugins/permissions.js';
import { loadServices, plugins } from '../plugins/watch.js';
import { href, session } from '../state.js';
import { pluginsNotice } from './plugins.js';

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

type Checked = { manifest: PluginManifest; permissions: string[] } | { error: string };

function check(text: string): Checked {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { error: `This is not JSON (${errorText(error)}). A manifest is the plugin's plugin.json.` };
  }
  try {
    const manifest = checkManifest(raw);
    return { manifest, permissions: describePermissions(manifest.permissions, manifest.service) };
  } catch (error) {
    return { error: `This manifest cannot be installed: ${errorText(error)}` };
  }
}

export function PluginInstall() {
  const client = session.value?.client;
  const [text, setText] = useState('');
  const [checked, setChecked] = useState<Checked>();
  const [installing, setInstalling] = useState(false);
  const [failure, setFailure] = useState<string>();
  const confirmTitle = useRef<HTMLHeadingElement>(null);
  // the question appears below the form: focus goes to it, so it is read out and within reach
  useEffect(() => {
    if (checked && 'manifest' in checked) confirmTitle.current?.focus();
  }, [checked]);

  async function pick(event: Event) {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (!file) return;
    const content = await file.text();
    setText(content);
    setChecked(check(content));
  }

  async function install() {
    if (!client || !checked || !('manifest' in checked)) return;
    setInstalling(true);
    setFailure(undefined);
    try {
      const { plugin } = await installPlugin(client, checked.manifest);
      await loadServices(client);
      pluginsNotice.value = `Installed ${plugin.name}.`;
      location.hash = href('plugins');
    } catch (error) {
      setFailure(`Not installed: ${errorText(error)}. Nothing was changed; try again.`);
    } finally {
      setInstalling(false);
    }
  }

  const replaces =
    checked &&
    'manifest' in checked &&
    [...plugins.value.values()].find((plugin) => plugin.containerImage === checked.manifest.image);

  return (
    <section aria-labelledby="install-title">
      <h2 id="install-title">Install a plugin</h2>
      <p>
        <a href={href('plugins')}>Back to the plugins</a>
      </p>
      <label>
        Manifest file (plugin.json)
        <input type="file" accept=".json,application/json" onChange={pick} />
      </label>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setChecked(check(text));
        }}
      >
        <label>
          Or paste the manifest
          <textarea
            rows={8}
            value={text}
            spellcheck={false}
            onInput={(event) => {
              setText(event.currentTarget.value);
              setChecked(undefined);
            }}
          />
        </label>
        <button type="submit" disabled={!text.trim()}>
          Check the manifest
        </button>
      </form>
      {checked && 'error' in checked && (
        <p class="error" role="alert">
          {checked.error}
        </p>
      )}
      {checked && 'manifest' in checked && (
        <section class="confirm" aria-labelledby="confirm-title">
          <h3 id="confirm-title" ref={confirmTitle} tabIndex={-1}>
            Install {checked.manifest.name}?
          </h3>
          {checked.manifest.description && <p>{checked.manifest.description}</p>}
          <p class="muted">Image {checked.manifest.image}</p>
          <p>If you install it, this plugin:</p>
          <ul class="permissions" aria-label="What it may do">
            {checked.permissions.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          {replaces && (
            <p role="note">
              It replaces the installed plugin “{replaces.name}” of the same image: its permissions become these.
            </p>
          )}
          <div class="actions">
            <button type="button" onClick={install} disabled={installing}>
              Install with these permissions
            </button>
            <button type="button" onClick={() => setChecked(undefined)}>
              Cancel
            </button>
          </div>
        </section>
      )}
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
    </section>
  );
}
