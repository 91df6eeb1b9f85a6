/**
 * An example importer: posts from a service become Messages, their authors Accounts, each Account
 * with its Person. It runs incrementally: it asks the service for what came since its cursor (the
 * date of the last post it saved, kept on its Account), and skips what is already in the Pod by its
 * id at the service (`externalId`).
 */
import { Account, Message, Person } from '@pod/client';
import { ImportBatch, PluginBase } from '../../src/index.js';
import { DemoService } from './service.js';

export const SERVICE = 'demo';
/** Posts written per request (one bulk, one transaction each). */
const BATCH_SIZE = 100;

export default class Importer extends PluginBase {
  static override readonly itemClasses = [Message, Account, Person];

  /** Where posts come from; a test may put a service of its own here. */
  service = new DemoService();

  override async run(): Promise<void> {
    const since = Number(this.importCursor() ?? 0);
    const posts = await this.service.postsSince(since);
    let imported = 0;
    for (let start = 0; start < posts.length; start += BATCH_SIZE) {
      const page = posts.slice(start, start + BATCH_SIZE);
      const where = { service: SERVICE };
      const postIds = page.map((post) => post.id);
      const authorIds = page.map((post) => post.author.id);
      const [known, authors] = await Promise.all([
        this.findExisting(Message, postIds, { where }),
        this.findExisting(Account, authorIds, { where }),
      ]);
      const batch = new ImportBatch();
      for (const post of page) {
        if (known.has(post.id)) continue;
        let author = authors.get(post.author.id);
        if (!author) {
          const { id, handle, name } = post.author;
          author = batch.account(new Account({ service: SERVICE, externalId: id, handle, displayName: name }));
          authors.set(id, author);
        }
        const message = new Message({ service: SERVICE, externalId: post.id, content: post.text, dateSent: post.date });
        batch.create(message).edge(message, 'sender', author);
        imported++;
      }
      // the posts and the cursor after them in one transaction
      await this.save(batch, { cursor: page.at(-1)!.date });
      await this.setProgress((start + page.length) / posts.length);
    }
    console.log(`${imported} new of ${posts.length} posts since ${new Date(since).toISOString()}`);
  }
}
