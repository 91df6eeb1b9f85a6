/**
 * The tutorial's first log-in flow: a username and password, then a code the service "texted".
 * The kit asks the owner through the run, waits for the answers and keeps the tokens on the
 * Plugin's Account, where the next run finds them without asking.
 */
import { PluginBase, type PasswordLogIn } from '../../src/index.js';

/** A stand-in for the service's log-in API: throw when it refuses, and the kit asks again. */
const service: PasswordLogIn<{ session: string }> = {
  async logIn(username, password) {
    if (password !== 'hunter2') throw new Error('the service refused the username or password');
    return { twoFactor: { session: `session of ${username}` }, message: 'Enter the code we texted you (it is 123456)' };
  },
  async verifyCode(state, code) {
    if (code !== '123456') throw new Error(`the service refused the code ${code}`);
    return { accessToken: `token of the ${state.session}` };
  },
};

export default class PasswordLogInPlugin extends PluginBase {
  override async run() {
    const tokens = await this.logInWithPassword(service);
    // a real importer calls the service with tokens.accessToken here; never print a token
    console.log(`logged in as ${this.account?.identifier}: ${tokens.accessToken.length} characters of token`);
  }
}
