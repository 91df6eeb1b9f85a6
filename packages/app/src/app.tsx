/** The app's frame: the sign-in until a Pod is open, then navigation and the view the route names. */
import { forgetReplica } from './data/current.js';
import { syncState } from './data/sync-state.js';
import { OwnerPrompts } from './plugins/prompts.js';
import { routes } from './routes.js';
import { forgetKeys } from './session.js';
import { href, route, session } from './state.js';
import { SignIn } from './views/sign-in.js';
import { SyncStatus } from './views/sync-status.js';

function signOut() {
  forgetKeys();
  session.value = undefined;
  location.hash = '';
}

/** Signs out and deletes this browser's copy of the data (kept otherwise, for a fast reopen). */
async function forgetCopy() {
  const { waiting, conflicts } = syncState.value;
  const unsent = waiting + conflicts.length;
  if (unsent > 0 && !confirm(`${unsent} of your changes are not on the Pod yet and would be lost. Forget anyway?`))
    return;
  await forgetReplica();
  signOut();
}

export function App({ notice }: { notice?: string }) {
  if (!session.value) return <SignIn notice={notice} />;
  const [name = '', ...params] = route.value;
  const current = routes[name];
  return (
    <div class="shell">
      <header>
        <a class="brand" href={href()}>
          Pod
        </a>
        <nav aria-label="Main">
          {Object.entries(routes)
            .filter(([, { title }]) => title)
            .map(([path, { title }]) => (
              <a key={path} href={href(path)} aria-current={path === name ? 'page' : undefined}>
                {title}
              </a>
            ))}
        </nav>
        <button type="button" class="sign-out" onClick={signOut}>
          Sign out
        </button>
        <button type="button" class="sign-out" onClick={forgetCopy}>
          Forget this browser's copy
        </button>
      </header>
      <SyncStatus />
      <main id="main">{current ? current.view(params) : <p role="alert">There is no page here.</p>}</main>
      <OwnerPrompts />
    </div>
  );
}
