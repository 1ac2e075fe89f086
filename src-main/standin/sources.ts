import sharp from 'sharp';

// Source images and masks as the horde keeps and hands them out (HORDE-PROTOCOL §2.3; AI-Horde
// `convert_source_image_to_webp`, `upload_source_image_to_r2`, waiting_prompt.py get_pop_payload):
// a requester's image is converted to WebP and stored in R2 when the request arrives; a pop gives
// bridges with `r2_source` a presigned GET URL of that object and everyone else base64 WebP at
// quality 50, re-encoded from it. Conversion is asynchronous, so pops wait for it (`ready`).

/** The two source fields, as the pop answer names them. */
export type SourceField = 'source_image' | 'source_mask';

/** One stored source: the R2 object (WebP) and the base64 WebP quality 50 a pop sends inline. */
export interface StoredSource {
  stored: Buffer;
  inline: string;
}

/**
 * The stored WebP's quality, by size, as the horde picks it to spare bandwidth: 50 above 90 % of
 * 3072², 60 above 80 %, 70 above 60 %, 80 above 40 %. Below that the stand-in keeps 100 (the
 * horde's lower steps were not read; the stand-in's pictures are all far below).
 */
export function storedQuality(width: number, height: number): number {
  const share = (width * height) / (3072 * 3072);
  if (share > 0.9) return 50;
  if (share > 0.8) return 60;
  if (share > 0.6) return 70;
  if (share > 0.4) return 80;
  return 100;
}

/** The horde's conversions; `exact` keeps the colour under transparent pixels, as PIL's `exact=True`. */
async function convert(bytes: Buffer): Promise<StoredSource> {
  const meta = await sharp(bytes).metadata();
  const stored = await sharp(bytes)
    .webp({ quality: storedQuality(meta.width ?? 0, meta.height ?? 0), alphaQuality: 100, exact: true })
    .toBuffer();
  const inline = await sharp(stored).webp({ quality: 50, alphaQuality: 100, exact: true }).toBuffer();
  return { stored, inline: inline.toString('base64') };
}

/** The sources of every queued request, by request id and field. */
export class SourceStore {
  private readonly sources = new Map<string, StoredSource>();
  private readonly pending = new Set<Promise<void>>();

  /**
   * Starts converting a requester's source (base64 of an image file). One sharp cannot read is
   * kept as sent, so a worker meets it as the horde would pass on a file it could not re-encode.
   */
  add(requestId: string, field: SourceField, base64: string): void {
    const bytes = Buffer.from(base64, 'base64');
    const job = convert(bytes)
      .catch(() => ({ stored: bytes, inline: base64 }))
      .then((source) => {
        this.sources.set(`${requestId}/${field}`, source);
      })
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Resolves once every source added so far is converted. */
  async ready(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  get(requestId: string, field: SourceField): StoredSource | undefined {
    return this.sources.get(`${requestId}/${field}`);
  }

  /** Forgets a request's sources (it expired). */
  drop(requestId: string): void {
    for (const field of ['source_image', 'source_mask'] as const) this.sources.delete(`${requestId}/${field}`);
  }
}
