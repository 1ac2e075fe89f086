import type { Handlers } from '../../common/contract';
import { UserFacingError } from '../../common/result';
import type { SafetyView } from '../../common/safetyModel';
import type { SafetyInstaller } from './safetyInstaller';

/** What the safety commands need. */
export interface SafetyHandlerDeps {
  view(): SafetyView;
  installer: Pick<SafetyInstaller, 'start' | 'cancel'>;
}

type SafetyCommand = 'safety.status' | 'safety.install' | 'safety.cancelInstall';

/** The safety model's commands: its state for onboarding and the Dashboard, Install and Cancel. */
export function safetyHandlers(deps: SafetyHandlerDeps): Pick<Handlers, SafetyCommand> {
  return {
    'safety.status': async () => deps.view(),
    'safety.install': async () => {
      const view = deps.view();
      // A working ViT-L/14 is not fetched again; one that fails to load (or the demo's tiny one) may be replaced.
      if (view.model.installed && !view.model.tiny && view.state !== 'failed')
        throw new UserFacingError('already-installed', `${view.model.name} is already installed.`);
      deps.installer.start();
      return deps.view();
    },
    'safety.cancelInstall': async () => ({ cancelled: deps.installer.cancel() }),
  };
}
