// What the horde lets a worker do, decided by the name and version in its `bridge_agent`
// (HORDE-PROTOCOL.md §2.8, §2.6). The stand-in keeps a short table instead of the horde's
// per-version one: each name gets one capability set, and tests may add or replace entries.
import { HORDE_SAMPLERS } from '../common/inference';

/** Capability names as the horde's bridge reference spells them. */
export type Capability =
  | 'r2'
  | 'r2_source'
  | 'img2img'
  | 'inpainting'
  | 'post-processing'
  | 'lora'
  | 'textual_inversion'
  | 'controlnet'
  | 'hires_fix'
  | 'tiling'
  | 'clip_skip'
  | 'layer_diffuse'
  | 'workflow';

/** One bridge name's abilities. */
export interface BridgeSpec {
  capabilities: readonly Capability[];
  /** Samplers it may receive with `karras: true`. */
  karrasSamplers: readonly string[];
  /** Samplers it may receive with `karras: false`. */
  otherSamplers: readonly string[];
  /** Kudos multiplier applied to credits (§2.8): 1, 0.9 or 0.75. */
  multiplier: number;
  /** For official bridges: versions below this major earn `olderMultiplier` instead. */
  newestMajor?: number;
  olderMultiplier?: number;
}

/** The sampler names the horde accepts (§2.6, `KNOWN_SAMPLERS`). */
export const KNOWN_SAMPLERS = [
  'k_lms',
  'k_heun',
  'k_euler',
  'k_euler_a',
  'k_dpm_2',
  'k_dpm_2_a',
  'k_dpm_fast',
  'k_dpm_adaptive',
  'k_dpmpp_2s_a',
  'k_dpmpp_2m',
  'dpmsolver',
  'k_dpmpp_sde',
  'DDIM',
  'lcm',
] as const;

/** The samplers HordeDesk implements (src-main/inference/samplers/registry.ts). */
export const HORDEDESK_SAMPLERS = HORDE_SAMPLERS;

// An unknown bridge is treated as the legacy "AI Horde Worker" v23 for samplers (§2.6).
const LEGACY_KARRAS = KNOWN_SAMPLERS.filter((s) => s !== 'DDIM' && s !== 'lcm');
const LEGACY_OTHER = [...LEGACY_KARRAS, 'DDIM'];
const ALL_CAPABILITIES: readonly Capability[] = [
  'r2',
  'r2_source',
  'img2img',
  'inpainting',
  'post-processing',
  'lora',
  'textual_inversion',
  'controlnet',
  'hires_fix',
  'tiling',
  'clip_skip',
  'layer_diffuse',
  'workflow',
];

/** The name every unparsable or unlisted agent falls back to. */
export const UNKNOWN_BRIDGE = 'unknown';

/**
 * How the real horde sees a bridge name it does not list (§2.8): no capability at all, so no
 * `r2: true` request, no img2img, LoRA, post-processing, ControlNet, hires_fix, tiling or
 * clip_skip > 1, and samplers as for the legacy worker v23 (§2.6). Stand-in tests that want the
 * real horde's view of HordeDesk pass this for "HordeDesk" in `jobs.bridges`.
 */
export const UNLISTED_BRIDGE: BridgeSpec = {
  capabilities: [],
  karrasSamplers: LEGACY_KARRAS,
  otherSamplers: LEGACY_OTHER,
  multiplier: 0.75,
};

/**
 * Default table. reGen (official, newest key 13) and the legacy worker get everything. HordeDesk
 * gets everything too, with every known sampler, at the non-official multiplier 0.75: the brief
 * for the stand-in grants it R2, and letting hires_fix, tiling and samplers it does not implement
 * through means the app meets such jobs and must fault them honestly; img2img, post-processing,
 * LoRA and ControlNet still only reach it when its pop allows them (`allow_*`). Any other name
 * is {@link UNLISTED_BRIDGE}, and so gets no `r2: true` request (§8 item 3).
 */
export function defaultBridges(): Record<string, BridgeSpec> {
  return {
    'AI Horde Worker reGen': {
      capabilities: ALL_CAPABILITIES,
      karrasSamplers: KNOWN_SAMPLERS,
      otherSamplers: KNOWN_SAMPLERS,
      multiplier: 1,
      newestMajor: 13,
      olderMultiplier: 0.9,
    },
    'AI Horde Worker': { capabilities: ALL_CAPABILITIES, karrasSamplers: LEGACY_KARRAS, otherSamplers: LEGACY_OTHER, multiplier: 0.9 },
    HordeDesk: { capabilities: ALL_CAPABILITIES, karrasSamplers: KNOWN_SAMPLERS, otherSamplers: KNOWN_SAMPLERS, multiplier: 0.75 },
    [UNKNOWN_BRIDGE]: UNLISTED_BRIDGE,
  };
}

/** A bridge agent resolved against the table. */
export interface ResolvedBridge {
  /** The table entry's name ("unknown" when not listed or unparsable). */
  name: string;
  spec: BridgeSpec;
  /** The credit multiplier for this exact version. */
  multiplier: number;
  has(capability: Capability): boolean;
  acceptsSampler(sampler: string, karras: boolean): boolean;
}

/**
 * Splits "name:version:url" on the first two colons; a version that is not semver with optional
 * minor and patch makes the whole agent unknown (§2.2 `bridge_agent`).
 */
export function parseBridgeAgent(agent: string): { name: string; major: number } | undefined {
  const first = agent.indexOf(':');
  if (first < 0) return undefined;
  const second = agent.indexOf(':', first + 1);
  const version = second < 0 ? agent.slice(first + 1) : agent.slice(first + 1, second);
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+][0-9A-Za-z.-]+)?$/.exec(version);
  if (!match) return undefined;
  return { name: agent.slice(0, first), major: Number(match[1]) };
}

/** Looks an agent up; unlisted names get the `unknown` entry. */
export function resolveBridge(agent: string, table: Record<string, BridgeSpec>): ResolvedBridge {
  const parsed = parseBridgeAgent(agent);
  const listed = parsed && Object.hasOwn(table, parsed.name) ? parsed.name : UNKNOWN_BRIDGE;
  const spec = table[listed] ?? UNLISTED_BRIDGE;
  const older = spec.newestMajor !== undefined && parsed !== undefined && parsed.major < spec.newestMajor;
  const multiplier = older ? (spec.olderMultiplier ?? spec.multiplier) : spec.multiplier;
  return {
    name: listed,
    spec,
    multiplier,
    has: (capability) => spec.capabilities.includes(capability),
    acceptsSampler: (sampler, karras) => (karras ? spec.karrasSamplers : spec.otherSamplers).includes(sampler),
  };
}
