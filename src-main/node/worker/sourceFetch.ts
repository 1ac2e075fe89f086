import type { SourceFetchPort } from '../../core/worker/jobSources';
import { fetchImage, ImageFetchError, type ImageFetchFailure } from '../rating/imageFetch';

// Downloads a job's source image or mask from the presigned R2 GET URL the horde hands bridges
// with the `r2_source` capability (HORDE-PROTOCOL §2.3). The URL comes from the network, so the
// bytes are untrusted: one download is cut at the size limit and the time limit, and must start
// like a WebP, PNG or JPEG file. The retries and what a failure means are core/worker/jobSources.ts.

/** The largest source accepted: the generation schema's limit (30 MB of image; a 3072² WebP is far smaller). */
export const MAX_SOURCE_BYTES = 30 * 1024 * 1024;

/** Why one download failed, in the worker log's words (the ratings downloader speaks of the ratings service). */
function reasonOf(reason: ImageFetchFailure, status: number | undefined, timeoutMs: number, maxBytes: number): string {
  switch (reason) {
    case 'badUrl':
      return 'the horde gave an address that is not a web address';
    case 'timeout':
      return `it did not arrive within ${Math.round(timeoutMs / 1000)} s`;
    case 'status':
      return `the image host answered HTTP ${status ?? '?'}`;
    case 'tooLarge':
      return `it is larger than ${Math.round(maxBytes / (1024 * 1024))} MB`;
    case 'notImage':
      return 'it is not a WebP, PNG or JPEG image';
    case 'aborted':
      return 'the download was cancelled';
    default:
      return 'the image host is unreachable';
  }
}

/** The source downloader the worker uses: one attempt per call, limits as above. */
export function createSourceFetch(opts: { maxBytes?: number } = {}): SourceFetchPort {
  const maxBytes = opts.maxBytes ?? MAX_SOURCE_BYTES;
  return {
    async fetchImage(url, timeoutMs) {
      try {
        const { bytes } = await fetchImage(url, { maxBytes, timeoutMs });
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      } catch (error) {
        if (error instanceof ImageFetchError) throw new Error(reasonOf(error.reason, error.status, timeoutMs, maxBytes), { cause: error });
        throw error;
      }
    },
  };
}
