/**
 * Thumbnails of stored images (issue 14): the Pod keeps them in a fixed set of sizes, so a request
 * for any size costs at most one resize per image and stored size, never one per size asked.
 */

/** The longest side, in pixels, of the thumbnails the Pod makes: grid cell, list row, full screen. */
export const THUMBNAIL_SIZES = [64, 256, 1024] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];
/**
 * What thumbnails are: WebP keeps transparency (PNG screenshots, logos) that JPEG would flatten,
 * is about a quarter smaller at the same quality, and every browser the app runs in shows it.
 */
export const THUMBNAIL_TYPE = 'image/webp';

/**
 * The stored size nearest to `requested`, by ratio (sizes grow fourfold, so 150 is nearer 256
 * than 64); halfway goes to the larger, so a picture is shrunk on screen rather than blown up.
 */
export function thumbnailSize(requested: number): ThumbnailSize {
  let best: ThumbnailSize = THUMBNAIL_SIZES[0];
  for (const size of THUMBNAIL_SIZES)
    if (Math.abs(Math.log(size / requested)) <= Math.abs(Math.log(best / requested))) best = size;
  return best;
}
