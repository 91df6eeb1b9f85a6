/**
 * The tutorial's photos: a picture stored as a Photo item with its File (width, height and type
 * read from the image), and read back at a size.
 */
import { File, Photo } from '@pod/client';
import { PluginBase } from '../../src/index.js';

/** A 32×32 grey gradient (PNG): a stand-in for a picture a real importer downloads from its service. */
const PICTURE = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAAAAABWESUoAAAAoUlEQVR42oXJEQICAQAAwYUgCIIgCIIgCIIgCIIgCIIgCIIgCIIgOAiCIAiC' +
    'IAiCIAiCIAiCIAiCIAiCIAiCsCfs6EAoHInG4olkKp3J5vKFYqlcqdbqjWar3en2+oH9APkh8iPkx8hPkJ8iP0N+jvwC+SXyK+TXyG+Q3yK/' +
    'Q36P/AH5I/In5M/IX5C/In9D/o78A/kn8i/k38h/kP8i//sDDXbwEIytPmEAAAAASUVORK5CYII=',
  'base64',
);

export default class Photos extends PluginBase {
  static override readonly itemClasses = [Photo, File];

  override async run() {
    const photo = await this.client.createPhoto(PICTURE, { filename: 'gradient.png' });
    const { file, data } = await this.client.getPhoto(photo.id, { size: 32 });
    console.log(`Photo ${photo.id}: ${file.width}×${file.height} ${file.mimeType}, ${data.length} bytes`);
  }
}
