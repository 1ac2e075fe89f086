import type { ExecutionProvider } from '../../common/hardware';

/** Something the inference thread opens on a folder and providers and must release (its sessions hold device memory). */
interface Releasable {
  release(): Promise<void>;
}

/**
 * The one open post-processor of a kind, kept between calls (a job's post-processors run one after another, often
 * the same one) and reopened when the folder or the providers change. A failed open is forgotten, so the next call
 * tries again.
 */
export class OpenSlot<T extends Releasable> {
  private open: { key: string; value: Promise<T> } | null = null;

  constructor(private readonly opener: (modelDir: string, providers: readonly ExecutionProvider[]) => Promise<T>) {}

  /** The post-processor for `modelDir` on `providers`, opened now or kept from the last call. */
  async get(modelDir: string, providers: readonly ExecutionProvider[]): Promise<T> {
    const key = `${modelDir}\n${providers.join(',')}`;
    if (this.open?.key !== key) {
      await this.release();
      this.open = { key, value: this.opener(modelDir, providers) };
    }
    try {
      return await this.open.value;
    } catch (error) {
      this.open = null;
      throw error;
    }
  }

  /** Closes the open one. */
  async release(): Promise<void> {
    const open = this.open;
    this.open = null;
    if (open) await (await open.value.catch(() => null))?.release();
  }
}
