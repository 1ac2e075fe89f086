import type { SafetyModelStatus } from './ports';

// No check, no work (issue 13 item 6): the worker pops only while the safety model is loaded, so
// every image it makes can be checked before it leaves the machine. This says why it may not pop,
// in the words the Dashboard and the start refusal use.

/** Why the worker may not pop now; null while the safety model is ready. */
export interface SafetyGate {
  state: Exclude<SafetyModelStatus['state'], 'ready'>;
  /** One sentence for the worker card and the refusal of Start. */
  message: string;
  /** What the user can do: install the model (it is missing); null when waiting or retrying is all there is. */
  action: 'install' | null;
}

/** The gate for a safety model status: null when ready. */
export function safetyGate(status: SafetyModelStatus): SafetyGate | null {
  switch (status.state) {
    case 'ready':
      return null;
    case 'missing':
      return {
        state: 'missing',
        message:
          'Install the safety model before working: HordeDesk checks every image for CSAM and NSFW before sending it, and takes no job it cannot check.',
        action: 'install',
      };
    case 'loading':
      return { state: 'loading', message: 'Loading the safety model; the worker takes jobs once it is ready.', action: null };
    case 'failed':
      return {
        state: 'failed',
        message: `The safety model could not be loaded (${status.reason}); the worker takes no jobs until it loads. Start tries again.`,
        action: null,
      };
  }
}
