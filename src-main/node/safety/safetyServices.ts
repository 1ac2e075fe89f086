import type { SafetyView } from '../../common/safetyModel';
import type { Foundation } from '../system/foundation';
import { safetyHandlers } from './handlers';
import { createSafetyInstaller, safetyDownloadBytes, type SafetyInstaller } from './safetyInstaller';
import { safetyDirOf } from './safetyModel';
import { createSafetyService, type SafetyModelService } from './safetyService';

/** The safety feature as the app holds it. */
export interface SafetyServices {
  /** What the worker checks every image with (a SafetyService). */
  service: SafetyModelService;
  installer: SafetyInstaller;
  /** `<dataDir>/safety`: the demo writes its tiny model here. */
  safetyDir: string;
  view(): SafetyView;
  handlers: ReturnType<typeof safetyHandlers>;
  close(): Promise<void>;
}

/** Install progress goes out at most this often (a download reports every chunk); phase changes always do. */
const PROGRESS_EVERY_MS = 250;

/**
 * The safety model's service (a worker thread, providers from the hardware profile), its installer (the CLIP
 * download base from Settings, fp16 on GPUs and fp32 on the CPU as SD models), and the `safety.status` event.
 * An installed model starts loading at once, so the worker's first pop does not wait for it.
 */
export function createSafetyServices(
  base: Pick<Foundation, 'hardware' | 'events' | 'log' | 'settings'>,
  options: { dataDir: string; safetyWorkerUrl?: URL },
): SafetyServices {
  const log = base.log.child('safety');
  const safetyDir = safetyDirOf(options.dataDir);
  const providers = async () => (await base.hardware.get()).executionProviders.map((e) => e.id);
  const view = (): SafetyView => ({ ...service.status(), model: service.modelInfo(), install: installer.progress() });
  let lastSent = { at: 0, phase: '' };
  const service = createSafetyService({
    safetyDir,
    providers,
    downloadBytes: safetyDownloadBytes(),
    log,
    onChange: () => base.events.emit('safety.status', view()),
    ...(options.safetyWorkerUrl ? { workerUrl: options.safetyWorkerUrl } : {}),
  });
  const installer = createSafetyInstaller({
    dataDir: options.dataDir,
    safetyDir,
    baseUrl: () => base.settings.get().clipTokenizerUrl,
    weightDtype: async () => (((await providers())[0] ?? 'cpu') === 'cpu' ? 'fp32' : 'fp16'),
    onProgress: (p) => {
      const now = Date.now();
      if (p.phase === lastSent.phase && now - lastSent.at < PROGRESS_EVERY_MS) return;
      lastSent = { at: now, phase: p.phase };
      base.events.emit('safety.status', view());
    },
    onInstalled: () => service.reload(),
    log,
  });
  if (service.modelInfo().installed) void service.ensureLoaded().catch(() => undefined);
  return { service, installer, safetyDir, view, handlers: safetyHandlers({ view, installer }), close: () => service.close() };
}
