import { parentPort } from 'node:worker_threads';
import { ModelFormatError } from '../inference/pipeline/tensors';
import { ClipSimilarity } from '../node/safety/clipSimilarity';
import { safetyHostMessageSchema, type SafetyHostMessage, type SafetyWorkerMessage } from './protocol';

/**
 * The safety worker thread: owns the CLIP model (node/safety/clipSimilarity.ts) and answers one request at a
 * time: `load` (open the folder, make sure the word features exist), `similarities` (one image against texts),
 * `unload`. Every message from the host is validated; every failure goes back as an `error` message.
 */
const port = parentPort;
if (!port) throw new Error('safety.worker must run in a worker thread');

let model: ClipSimilarity | null = null;
const post = (message: SafetyWorkerMessage): void => port.postMessage(message);

function errorMessage(requestId: number, error: unknown): SafetyWorkerMessage {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ModelFormatError) return { type: 'error', requestId, code: 'safety-model', message };
  const code = (error as { code?: unknown }).code;
  return { type: 'error', requestId, code: typeof code === 'string' ? code : 'safety-failed', message };
}

/** Warnings gathered since the last answer (cache writes that failed), handed over once. */
function takeWarnings(m: ClipSimilarity): string[] {
  return m.warnings.splice(0);
}

async function handle(message: Exclude<SafetyHostMessage, { type: 'shutdown' }>): Promise<void> {
  if (message.type === 'load') {
    await model?.release();
    model = null;
    const opened = await ClipSimilarity.open(message.modelDir, message.providers);
    const textFeatures = await opened.ensureTexts(message.texts);
    model = opened;
    post({ type: 'loaded', requestId: message.requestId, status: opened.provider, textFeatures, warnings: takeWarnings(opened) });
  } else if (message.type === 'unload') {
    await model?.release();
    model = null;
    post({ type: 'unloaded', requestId: message.requestId });
  } else {
    if (!model) throw new ModelFormatError('No safety model is loaded.');
    const textFeatures = await model.ensureTexts(message.texts);
    const start = performance.now();
    const embedding = await model.embedImage({ width: message.width, height: message.height, data: new Uint8Array(message.rgb) });
    const imageMs = performance.now() - start;
    const scores = model.scores(embedding, message.texts);
    post({ type: 'scores', requestId: message.requestId, scores, textFeatures, imageMs, warnings: takeWarnings(model) });
  }
}

// One request after another: a second image would only compete for the same cores or GPU.
let queue: Promise<void> = Promise.resolve();

port.on('message', (raw: unknown) => {
  const parsed = safetyHostMessageSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'shutdown') {
    // End by itself, never by terminate() (node/threadExit.ts): release the model, close the port.
    queue = queue.then(async () => {
      await model?.release().catch(() => undefined);
      model = null;
      port.close();
    });
    return;
  }
  queue = queue.then(() => handle(message).catch((error: unknown) => post(errorMessage(message.requestId, error))));
});

post({ type: 'ready' });
