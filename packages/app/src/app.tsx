/** The app's frame: the sign-in until a Pod is open, then navigation and the view the route names. */
import { OwnerPrompts } from './plugins/prompts.js';
import { routes } from './routes.js';
import { forgetKeys } from './session.js';
import { href, route, session } from './state.js';
import { SignIn } from './views/sign-in.js';

function signOut() {
  forgetKeys();
  session.value = undefined;
  location.hash = '';
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
      </header>
      <main id="main">{current ? current.view(params) : <p role="alert">There is no page here.</p>}</main>
      <OwnerPrompts />
    </div>
  );
}
