// What the horde lets a worker do, decided by the name and version in its `bridge_agent`
// (HORDE-PROTOCOL.md §2.8, §2.6; the horde's horde/bridge_reference.py). The horde keeps two
// tables keyed by name, then by version: BRIDGE_CAPABILITIES and BRIDGE_SAMPLERS. The stand-in
// keeps one entry per name holding both, with the lowest version key as `since`; tests may add or
// replace entries.
import { HORDE_SAMPLERS } from '../common/inference';

/**
 * The horde's post-processors (`KNOWN_POST_PROCESSORS`, HORDE-PROTOCOL §2.6). Each is a bridge capability of its
 * own besides "post-processing": the horde skips a request as `bridge_version` when the worker's bridge lacks any
 * post-processor it names (`can_generate`: `for pp in KNOWN_POST_PROCESSORS … check_bridge_capability(pp, …)`).
 */
export const KNOWN_POST_PROCESSORS = [
  'GFPGAN',
  'RealESRGAN_x4plus',
  'RealESRGAN_x2plus',
  'RealESRGAN_x4plus_anime_6B',
  'NMKD_Siax',
  '4x_AnimeSharp',
  'CodeFormers',
  'strip_background',
  '4xNomos8kSC',
  '4xLSDIRplus',
  '4xNomosWebPhoto_RealPLKSR',
  '4xNomos2_realplksr_dysample',
  '4xNomos2_hq_dat2',
  '2xModernSpanimationV1',
  'GFPGANv1.3',
  'RestoreFormer',
] as const;
export type PostProcessorName = (typeof KNOWN_POST_PROCESSORS)[number];

/** The upscalers among them (the horde's upscaler list): a request may name one at most (`TooManyUpscalers`). */
export const KNOWN_UPSCALERS: readonly PostProcessorName[] = [
  'RealESRGAN_x4plus',
  'RealESRGAN_x2plus',
  'RealESRGAN_x4plus_anime_6B',
  'NMKD_Siax',
  '4x_AnimeSharp',
  '4xNomos8kSC',
  '4xLSDIRplus',
  '4xNomosWebPhoto_RealPLKSR',
  '4xNomos2_realplksr_dysample',
  '4xNomos2_hq_dat2',
  '2xModernSpanimationV1',
];

const isPostProcessor = (name: string): boolean => (KNOWN_POST_PROCESSORS as readonly string[]).includes(name);

/** Capability names as the horde's bridge reference spells them. */
export type Capability =
  | PostProcessorName
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
  | 'karras'
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
  /**
   * The entry's lowest version key, as the horde compares it: semver, so key `1` means 1.0.0 and an
   * agent at 0.4.2 is below it. Below it the name is still listed in both tables, so the agent
   * gets no capability and no sampler at all (every request is skipped as `bridge_version`).
   * Absent: every version.
   */
  since?: string;
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

// A name missing from BRIDGE_SAMPLERS is treated as the legacy "AI Horde Worker" at version 23
// (`get_supported_samplers`): its keys 11 and 12 give these twelve with karras on, and with karras
// off key 17 adds DDIM. The "karras" sets are offered whatever the request's karras is, so
// k_dpmpp_sde comes with karras off too; lcm never comes.
/** The samplers a bridge without a BRIDGE_SAMPLERS entry receives with `karras: true` (§2.6). */
export const LEGACY_KARRAS_SAMPLERS: readonly string[] = KNOWN_SAMPLERS.filter((name) => name !== 'DDIM' && name !== 'lcm');
/** The samplers it receives with `karras: false`: the same plus DDIM. */
export const LEGACY_OTHER_SAMPLERS: readonly string[] = [...LEGACY_KARRAS_SAMPLERS, 'DDIM'];
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
  'karras',
  'layer_diffuse',
  'workflow',
  ...KNOWN_POST_PROCESSORS,
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
  karrasSamplers: LEGACY_KARRAS_SAMPLERS,
  otherSamplers: LEGACY_OTHER_SAMPLERS,
  multiplier: 0.75,
};

/**
 * The request kinds of issue 14 HordeDesk serves, as the horde's capabilities name them: `img2img`
 * with `r2_source` (HordeDesk downloads sources from R2 URLs), `inpainting` (the horde's one
 * capability for inpainting and outpainting), `hires_fix`, `tiling`. Each is listed only once the
 * tiny model serves it (test/integration/listingKinds.test.ts holds the two together): the horde
 * has no pop flag for hires_fix and tiling, so listing one HordeDesk does not serve would make it
 * fault such jobs.
 */
export const HORDEDESK_KIND_CAPABILITIES: readonly Capability[] = ['img2img', 'r2_source', 'inpainting', 'hires_fix', 'tiling'];

/**
 * The post-processors HordeDesk runs (issue 17): the horde's five ESRGAN upscalers, converted from their
 * published files, and the background removal (core/worker/postProcessing.ts). The listing claims them with
 * "post-processing"; the pop allows post-processing only while one is installed, and a job naming one that is
 * not installed is faulted with the reason. Face restorers and the other upscalers stay unclaimed, so the
 * horde never sends them.
 */
export const HORDEDESK_POST_PROCESSORS: readonly Capability[] = [
  'RealESRGAN_x4plus',
  'RealESRGAN_x2plus',
  'RealESRGAN_x4plus_anime_6B',
  'NMKD_Siax',
  '4x_AnimeSharp',
  'strip_background',
];

/**
 * The entry docs/upstream-listing.md proposes for the horde's tables: only what HordeDesk really
 * implements (R2 uploads, clip_skip, the karras schedule, the request kinds above, the ESRGAN
 * post-processors, every sampler it runs, under both karras settings), from version 0 on, so HordeDesk 0.x is covered. A listed
 * bridge that is not official still earns ×0.75. The conformance command runs the stand-in with it
 * (`--listing proposed`).
 */
export const HORDEDESK_LISTING: BridgeSpec = {
  capabilities: ['r2', 'clip_skip', 'karras', ...HORDEDESK_KIND_CAPABILITIES, 'post-processing', ...HORDEDESK_POST_PROCESSORS],
  karrasSamplers: HORDEDESK_SAMPLERS,
  otherSamplers: HORDEDESK_SAMPLERS,
  multiplier: 0.75,
  since: '0',
};

/**
 * Default table. reGen (official, newest key 13) and the legacy worker get everything. HordeDesk
 * gets everything too (of the post-processors, those it runs), with every known sampler, at the non-official multiplier 0.75: the brief
 * for the stand-in grants it R2, and letting hires_fix, tiling and samplers it does not implement
 * through means the app meets such jobs and must fault them honestly; img2img, post-processing,
 * LoRA and ControlNet still only reach it when its pop allows them (`allow_*`). Any other name
 * is {@link UNLISTED_BRIDGE}, and so gets no `r2: true` request (§8 item 3). The real horde's view
 * of HordeDesk today is {@link UNLISTED_BRIDGE}, and with the proposed entry {@link HORDEDESK_LISTING}:
 * tests and the conformance command pass those for "HordeDesk" in `jobs.bridges`.
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
    'AI Horde Worker': {
      capabilities: ALL_CAPABILITIES,
      karrasSamplers: LEGACY_KARRAS_SAMPLERS,
      otherSamplers: LEGACY_OTHER_SAMPLERS,
      multiplier: 0.9,
    },
    // Of the post-processors, only those HordeDesk runs, as its proposed entry claims them: a face restorer it
    // would fault three times over (the horde retries a request twice) and the demo's worker into maintenance.
    HordeDesk: {
      capabilities: ALL_CAPABILITIES.filter((c) => !isPostProcessor(c) || HORDEDESK_POST_PROCESSORS.includes(c)),
      karrasSamplers: KNOWN_SAMPLERS,
      otherSamplers: KNOWN_SAMPLERS,
      multiplier: 0.75,
    },
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

/** A bridge version as the horde's semver parse reads it (missing minor and patch are 0). */
export interface BridgeVersion {
  major: number;
  minor: number;
  patch: number;
  /** Whether it has a pre-release part ("1.2.0-beta"), which ranks below the release. */
  prerelease: boolean;
}

// semver's own grammar with optional minor and patch, as `semver.Version.parse(v, True)` takes it:
// no "v" prefix, no leading zeros.
const NUMBER = '(0|[1-9]\\d*)';
const IDENT = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)';
const SEMVER = new RegExp(
  `^${NUMBER}(?:\\.${NUMBER}(?:\\.${NUMBER})?)?(-${IDENT}(?:\\.${IDENT})*)?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$`,
);

/** Reads a version (or a table's version key) as the horde does; undefined when it is not semver. */
export function parseBridgeVersion(text: string): BridgeVersion | undefined {
  const match = SEMVER.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2] ?? 0), patch: Number(match[3] ?? 0), prerelease: match[4] !== undefined };
}

/** Negative when `a` ranks below `b`, 0 when equal, positive above (pre-releases of one triple are equal here). */
export function compareBridgeVersions(a: BridgeVersion, b: BridgeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || Number(b.prerelease) - Number(a.prerelease);
}

/**
 * Splits "name:version:rest" on the first two colons as the horde does (`split(":", 2)` into three
 * parts): an agent without two colons, or whose version is not semver with optional minor and
 * patch, is unknown as a whole (§2.2 `bridge_agent`).
 */
export function parseBridgeAgent(agent: string): { name: string; major: number; version: BridgeVersion } | undefined {
  const first = agent.indexOf(':');
  const second = first < 0 ? -1 : agent.indexOf(':', first + 1);
  if (second < 0) return undefined;
  const version = parseBridgeVersion(agent.slice(first + 1, second));
  if (!version) return undefined;
  return { name: agent.slice(0, first), major: version.major, version };
}

/** No capability and no sampler: a listed name whose agent is below the entry's lowest version key. */
const BELOW_LOWEST_KEY: BridgeSpec = { capabilities: [], karrasSamplers: [], otherSamplers: [], multiplier: 0.75 };

function belowLowestKey(spec: BridgeSpec, version: BridgeVersion | undefined): boolean {
  if (spec.since === undefined || version === undefined) return false;
  const since = parseBridgeVersion(spec.since);
  return since !== undefined && compareBridgeVersions(version, since) < 0;
}

/** Looks an agent up; unlisted names get the `unknown` entry. */
export function resolveBridge(agent: string, table: Record<string, BridgeSpec>): ResolvedBridge {
  const parsed = parseBridgeAgent(agent);
  const listed = parsed && Object.hasOwn(table, parsed.name) ? parsed.name : UNKNOWN_BRIDGE;
  const entry = table[listed] ?? UNLISTED_BRIDGE;
  const spec = belowLowestKey(entry, parsed?.version) ? { ...BELOW_LOWEST_KEY, multiplier: entry.multiplier } : entry;
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
