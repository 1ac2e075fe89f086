import type { AppInfo, Handlers } from '../../common/contract';
import type { ApiKeyService } from '../../core/apiKeyService';
import type { HordeClient } from '../../core/horde/client';
import type { NoticeBoard } from '../../core/notices';
import { parseSettingsFile } from '../../core/settings/settingsFile';
import { exportSettingsFile } from '../../core/settings/settingsExport';
import type { SettingsService } from '../../core/settings/settingsService';
import type { StatusRelay } from '../../core/statusRelay';
import type { HardwareProfiles } from './hardwareProfiles';

/** What the app-wide commands need. */
export interface SystemHandlerDeps {
  info: AppInfo;
  relay: Pick<StatusRelay, 'appState'>;
  notices: NoticeBoard;
  hardware: HardwareProfiles;
  settings: SettingsService;
  apiKeys: ApiKeyService;
  horde: Pick<HordeClient, 'heartbeat'>;
  now: () => Date;
}

type SystemCommand =
  | 'app.info'
  | 'app.state'
  | 'app.notices'
  | 'app.dismissNotice'
  | 'hardware.profile'
  | 'settings.get'
  | 'settings.update'
  | 'settings.export'
  | 'settings.import'
  | 'horde.status'
  | 'apiKey.status'
  | 'apiKey.set'
  | 'apiKey.confirmOrigins'
  | 'apiKey.revertOrigins'
  | 'apiKey.clear';

/** The app, hardware, settings, API key and horde connection commands. */
export function systemHandlers(deps: SystemHandlerDeps): Pick<Handlers, SystemCommand> {
  const { settings, apiKeys, notices } = deps;
  return {
    'app.info': async () => deps.info,
    'app.state': async () => deps.relay.appState(),
    'app.notices': async () => notices.list(),
    'app.dismissNotice': async ({ id }) => notices.dismiss(id),
    'hardware.profile': async ({ refresh }) => deps.hardware.get(refresh),
    'settings.get': async () => settings.get(),
    'settings.update': async (patch) => settings.update(patch),
    'settings.export': async () => exportSettingsFile(settings.get()),
    // Same checks and words as the Settings page; all of it applies or none (core/settings/settingsFile.ts).
    'settings.import': async ({ content }) => settings.update(parseSettingsFile(content)),
    'horde.status': async () => {
      const url = settings.get().hordeUrl;
      const checkedAt = deps.now().toISOString();
      try {
        const beat = await deps.horde.heartbeat();
        return { url, reachable: true, message: beat.message, version: beat.version ?? null, checkedAt };
      } catch (error) {
        return { url, reachable: false, message: error instanceof Error ? error.message : String(error), version: null, checkedAt };
      }
    },
    'apiKey.status': async () => apiKeys.status(),
    'apiKey.set': async ({ apiKey }) => apiKeys.set(apiKey),
    'apiKey.confirmOrigins': async () => apiKeys.confirmOrigins(),
    'apiKey.revertOrigins': async () => apiKeys.revertOrigins(),
    'apiKey.clear': async () => apiKeys.clear(),
  };
}
