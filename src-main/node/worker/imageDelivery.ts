import sharp from 'sharp';
import type { DeliveryPort, RawImage } from '../../core/worker/ports';

/** Thrown when a presigned upload is answered with anything but 200. */
export class UploadError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UploadError';
  }
}

/**
 * WebP with sharp (quality 95, as the reference worker sends) and HTTP PUT of the raw bytes with
 * no Content-Type, which a presigned R2 signature may not cover (HORDE-PROTOCOL §2.4).
 */
export function createImageDelivery(): DeliveryPort {
  return {
    async encodeWebp(image: RawImage) {
      // RGBA after strip_background: WebP keeps the alpha.
      const webp = await sharp(Buffer.from(image.rgb), { raw: { width: image.width, height: image.height, channels: image.channels ?? 3 } })
        .webp({ quality: 95, effort: 4 })
        .toBuffer();
      return new Uint8Array(webp.buffer, webp.byteOffset, webp.byteLength);
    },
    async upload(url, bytes, timeoutMs) {
      let response: Response;
      try {
        response = await fetch(url, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw new UploadError(null, `upload failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      // The answer's body means nothing to us; drop it unread rather than buffer whatever R2 (or
      // anything pretending to be it) sends back.
      await response.body?.cancel().catch(() => undefined);
      if (response.status !== 200) throw new UploadError(response.status, `upload answered HTTP ${response.status}`);
    },
    base64: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  };
}
