/** The tutorial's edges: an email and its sender, linked by a `sender` edge, and the edge read back. */
import { EmailMessage, Person } from '@pod/client';
import { PluginBase } from '../../src/index.js';

export default class Edges extends PluginBase {
  static override readonly itemClasses = [EmailMessage, Person];

  override async run() {
    const email = await this.client.create(new EmailMessage({ subject: 'Hello', content: 'Hi Alice!' }));
    const alice = await this.client.create(new Person({ firstName: 'Alice', lastName: 'X' }));
    // both items first: an edge to an item the Pod does not have fails (404)
    await this.client.createEdge(email, 'sender', alice);

    const [fromDb] = await this.client.search(EmailMessage, { id: email.id }, { edges: true });
    const sender = fromDb!.sender[0]!;
    console.log(`"${fromDb!.subject}" from ${sender.firstName} ${sender.lastName}`);
  }
}
