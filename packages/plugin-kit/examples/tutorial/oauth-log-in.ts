/**
 * The tutorial's second log-in flow, OAuth: the owner opens the service's page, allows access, and
 * answers with the address the service sent them to; the kit checks its `state` and hands the code
 * to `exchangeCode`. The tokens end on the Plugin's Account.
 */
import { PluginBase, type OAuthLogIn } from '../../src/index.js';

const REDIRECT = 'http://localhost:8000/callback';

/** A stand-in for the service's OAuth endpoints. */
const service: OAuthLogIn = {
  authorizationUrl: (state) => {
    const query = new URLSearchParams({ client_id: 'demo-plugin', redirect_uri: REDIRECT, state });
    return `https://auth.example.com/authorize?${query}`;
  },
  async exchangeCode(code) {
    // a real plugin POSTs the code to the service's token endpoint
    return { accessToken: `access token for ${code}`, refreshToken: `refresh token for ${code}` };
  },
};

export default class OAuthLogInPlugin extends PluginBase {
  override async run() {
    // fresh: log in although the Account holds a token (the last step's); a real plugin asks fresh
    // only when the service refused the token it has
    const tokens = await this.logInWithOAuth(service, { fresh: true });
    console.log(`access granted: a token of ${tokens.accessToken.length} characters on Account ${this.account?.id}`);
  }
}
