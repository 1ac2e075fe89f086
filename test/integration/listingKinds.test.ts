import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { listModelFolders } from '../../src-main/node/inference/generation';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { HORDEDESK_KIND_CAPABILITIES, HORDEDESK_LISTING } from '../../src-main/standin/bridges';

// The bridge entry docs/upstream-listing.md proposes claims a request kind exactly when HordeDesk
// serves it: the tiny model (written by the same conversion as every install) is the reference.
// Listing a kind it does not serve would make the horde send jobs HordeDesk must fault (hires_fix
// and tiling have no pop flag); serving one it does not list leaves those requests to others.

test('the proposed listing claims each request kind exactly when the tiny model serves it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hd-listing-kinds-'));
  try {
    await writeTinyModel(dir, { name: 'tiny' });
    const kinds = listModelFolders(dir).find((m) => m.name === 'tiny')?.kinds;
    expect(kinds).toBeDefined();
    const claims = (capability: string) => HORDEDESK_KIND_CAPABILITIES.includes(capability as never);
    expect({
      img2img: claims('img2img'),
      r2_source: claims('r2_source'),
      inpainting: claims('inpainting'),
      hires_fix: claims('hires_fix'),
      tiling: claims('tiling'),
    }).toEqual({
      img2img: kinds!.img2img,
      // HordeDesk downloads sources from R2 URLs whenever it takes img2img at all.
      r2_source: kinds!.img2img,
      // The horde's one capability covers inpainting and outpainting alike.
      inpainting: kinds!.inpainting && kinds!.outpainting,
      hires_fix: kinds!.hires_fix,
      tiling: kinds!.tiling,
    });
    expect(HORDEDESK_LISTING.capabilities).toEqual(expect.arrayContaining(['r2', 'clip_skip', 'karras', ...HORDEDESK_KIND_CAPABILITIES]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
