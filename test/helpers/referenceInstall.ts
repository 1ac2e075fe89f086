import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import type { AttentionKind } from '../../src-main/inference/graph';
import { createModelInstaller, type InstallProgress } from '../../src-main/node/models/modelInstaller';

/** What {@link installReference} installs, and from where. */
export interface ReferenceInstall {
  /** The test's temporary folder: each install gets `data-<variant>/` and `models-<variant>/` in it. */
  root: string;
  /** A model file server (standin/modelsServer.ts) serving `/model.safetensors` and, where needed, `/clip/`. */
  serverUrl: string;
  checkpoint: Buffer;
  /** The model's name, and so its folder's. */
  name: string;
  dtype: 'fp32' | 'fp16';
  /** As a provider's graph choice gives it (default: the installer's, fused). */
  attention?: AttentionKind;
}

/**
 * Installs a reference checkpoint as the Install button does (download, sha256 check, conversion), the path a user's
 * model takes, and returns the installed folder. The install must end in `done`.
 */
export async function installReference(o: ReferenceInstall): Promise<string> {
  const progress: InstallProgress[] = [];
  const variant = `${o.dtype}${o.attention ? `-${o.attention}` : ''}`;
  const installer = createModelInstaller({
    dataDir: join(o.root, `data-${variant}`),
    modelsDir: join(o.root, `models-${variant}`),
    clipTokenizerUrl: () => `${o.serverUrl}/clip`,
    clientAgent: 'test',
    weightDtype: async () => o.dtype,
    ...(o.attention ? { graphAttention: async () => o.attention as AttentionKind } : {}),
    onProgress: (p) => progress.push(p),
    log: silentLogger(),
  });
  const sha256 = createHash('sha256').update(o.checkpoint).digest('hex');
  await installer.install({
    name: o.name,
    sizeBytes: o.checkpoint.length,
    downloads: [{ fileName: 'model.safetensors', url: `${o.serverUrl}/model.safetensors`, sha256 }],
  });
  expect(progress.at(-1)).toMatchObject({ phase: 'done' });
  return join(o.root, `models-${variant}`, o.name);
}
