/**
 * The tutorial's files: bytes uploaded to the Pod as a File item, which the upload names by the
 * bytes' sha256, attached to an email by an `attachment` edge, and read back.
 */
import { EmailMessage, File } from '@pod/client';
import { PluginBase } from '../../src/index.js';

export default class Files extends PluginBase {
  static override readonly itemClasses = [EmailMessage, File];

  override async run() {
    // a real importer downloads these from its service
    const bytes = new TextEncoder().encode('Minutes of Monday: the Pod keeps my data.');
    // one call: the bytes, and the File item with their sha256 (computed here, checked by the Pod)
    const file = await this.client.uploadFile(bytes, { file: new File({ filename: 'minutes.txt' }) });
    const email = await this.client.create(new EmailMessage({ subject: 'Minutes' }));
    await this.client.createEdge(email, 'attachment', file);

    const text = new TextDecoder().decode(await this.client.getFile(file));
    console.log(`${file.filename} stored as ${file.sha256}: "${text}"`);
  }
}
