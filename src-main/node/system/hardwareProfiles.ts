import type { CapabilityProfile } from '../../common/hardware';
import type { EventHub } from '../../core/events';
import type { Logger } from '../../core/log';

/** The machine's capability profile, detected once and again only when asked. */
export interface HardwareProfiles {
  /** The profile, detecting it first if it never was or `refresh` is set (then `hardware.changed` goes out). */
  get(refresh?: boolean): Promise<CapabilityProfile>;
}

/** Caches what `detect` finds; every caller waits on the same detection. */
export function createHardwareProfiles(detect: () => Promise<CapabilityProfile>, log: Logger, events: EventHub): HardwareProfiles {
  let profile: Promise<CapabilityProfile> | null = null;
  return {
    get(refresh = false) {
      if (!profile || refresh) {
        const first = profile === null;
        profile = detect().then((p) => {
          const gpu = p.primaryGpu ? `${p.primaryGpu.name} (${p.primaryGpu.vramMiB ?? '?'} MiB)` : 'no GPU';
          log.info(`detected: ${gpu}; providers ${p.executionProviders.map((e) => e.id).join(', ')}`);
          if (!first) events.emit('hardware.changed', p);
          return p;
        });
      }
      return profile;
    },
  };
}
