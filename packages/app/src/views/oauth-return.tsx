/** Where an OAuth provider's redirect lands (plugins/oauth-return.ts): what became of the answer. */
import { oauthReturn, retryOAuthReturn } from '../plugins/oauth-return.js';
import { href, session } from '../state.js';

export function OAuthReturnView() {
  const result = oauthReturn.value;
  const client = session.value?.client;
  return (
    <section aria-labelledby="oauth-title">
      <h2 id="oauth-title">Permission for a plugin</h2>
      <div role="status" aria-live="polite">
        {!result && <p>There is no permission to pass on here.</p>}
        {(result?.state === 'pending' || result?.state === 'sending') && <p>Passing your permission to the plugin…</p>}
        {result?.state === 'delivered' && <p>Your permission was passed to {result.plugin}; it goes on.</p>}
      </div>
      {result?.state === 'failed' && (
        <>
          <p class="error" role="alert">
            {result.message}
          </p>
          {result.url && client && (
            <button type="button" onClick={() => void retryOAuthReturn(client)}>
              Try again
            </button>
          )}
        </>
      )}
      <p>
        <a href={href('plugins')}>Go to the plugins</a>
      </p>
    </section>
  );
}
