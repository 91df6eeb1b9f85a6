/**
 * Getting in: create a new Pod (keys made here, shown once, saved as a file) or open one with its
 * keys, typed or from the key file. Wrong keys say what is wrong and store nothing.
 */
import { useRef, useState } from 'preact/hooks';
import { createPod, type Opened, openPod } from '../pod.js';
import { generateKeys, type Keys, keyFileText, keysFromFile, rememberKeys, validKeys } from '../session.js';
import { session } from '../state.js';

/** Signs in with what `open` gave, or returns its error. */
async function enter(keys: Keys, open: (keys: Keys) => Promise<Opened>): Promise<string | undefined> {
  const opened = await open(keys);
  if ('error' in opened) return opened.error;
  rememberKeys(keys);
  session.value = { keys, ...opened };
  return undefined;
}

export function SignIn({ notice }: { notice?: string }) {
  const [mode, setMode] = useState<'open' | 'create'>('open');
  return (
    <main class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Pod</h1>
      <p>Your own data store, encrypted with keys only you hold.</p>
      {notice && (
        <p class="error" role="alert">
          {notice}
        </p>
      )}
      <div class="tabs" role="tablist" aria-label="How to get in">
        <button type="button" role="tab" aria-selected={mode === 'open'} onClick={() => setMode('open')}>
          Open my Pod
        </button>
        <button type="button" role="tab" aria-selected={mode === 'create'} onClick={() => setMode('create')}>
          Create a new Pod
        </button>
      </div>
      {mode === 'open' ? <OpenForm /> : <CreateForm />}
    </main>
  );
}

function OpenForm() {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const ownerInput = useRef<HTMLInputElement>(null);
  const databaseInput = useRef<HTMLInputElement>(null);

  const attempt = async (keys: Keys | undefined) => {
    if (!keys) return setError('Each key is 64 characters, 0–9 and a–f. Check what you pasted.');
    setBusy(true);
    setError(await enter(keys, openPod));
    setBusy(false);
  };
  const fromFile = async (file: File | undefined) => {
    if (!file) return;
    const keys = keysFromFile(await file.text());
    if (!keys) return setError('That file is not a Pod key file (it should hold ownerKey and databaseKey).');
    await attempt(keys);
  };

  return (
    <form
      aria-label="Open my Pod"
      onSubmit={(event) => {
        event.preventDefault();
        void attempt(validKeys(ownerInput.current?.value, databaseInput.current?.value));
      }}
    >
      <label>
        Owner key
        <input ref={ownerInput} name="ownerKey" autocomplete="off" spellcheck={false} required />
      </label>
      <label>
        Database key
        <input ref={databaseInput} name="databaseKey" type="password" autocomplete="off" required />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Opening…' : 'Open'}
      </button>
      <label class="file-button">
        Open with a key file
        <input
          type="file"
          accept="application/json,.json"
          onChange={(event) => void fromFile(event.currentTarget.files?.[0])}
        />
      </label>
    </form>
  );
}

function CreateForm() {
  const [keys] = useState(generateKeys);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const download = () => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([keyFileText(keys)], { type: 'application/json' }));
    link.download = 'pod-keys.json';
    link.click();
    URL.revokeObjectURL(link.href);
  };
  const create = async () => {
    setBusy(true);
    setError(await enter(keys, createPod));
    setBusy(false);
  };
  return (
    <section aria-label="Create a new Pod">
      <p>
        These two keys are your Pod. They are shown only now, and nobody can recover them for you: if you lose them,
        your data is lost. Save them somewhere safe.
      </p>
      <label>
        Owner key
        <input readOnly value={keys.ownerKey} name="newOwnerKey" />
      </label>
      <label>
        Database key
        <input readOnly value={keys.databaseKey} name="newDatabaseKey" />
      </label>
      <button type="button" onClick={download}>
        Save the keys as a file
      </button>
      <label class="check">
        <input type="checkbox" checked={saved} onChange={(event) => setSaved(event.currentTarget.checked)} />I have
        saved my keys
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" disabled={!saved || busy} onClick={() => void create()}>
        {busy ? 'Creating…' : 'Create my Pod'}
      </button>
    </section>
  );
}
