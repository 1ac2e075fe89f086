import type { PopRequest } from '../../common/horde';
import type { ModelKinds } from '../../common/inference';
import { popKindFlags } from './jobKinds';
import { allowPostProcessing } from './postProcessing';

/** The choices that vary between users and machines; everything else is fixed by what HordeDesk implements. */
export interface PopChoices {
  name: string;
  models: string[];
  bridgeAgent: string;
  maxPixels: number;
  nsfw: boolean;
  amount: number;
  blacklist: string[];
  /** What each offered model serves besides txt2img; absent: txt2img only. */
  kinds?: readonly ModelKinds[];
  /** The post-processors installed and ready (the horde's names); absent: none. */
  postProcessors?: readonly string[];
  /** LoRAs are taken (the user allows them and the merge engine is there: core/lora's AddonPort); absent: no. */
  loras?: boolean;
}

/**
 * The pop body HordeDesk sends: every field explicit (the horde's defaults differ from its
 * documentation, HORDE-PROTOCOL §2.2), and only what HordeDesk really implements on SD 1.x: img2img
 * and painting only when one of the offered models serves them (jobKinds.ts), post-processing only
 * while an upscaler is installed (postProcessing.ts), LoRAs only while they are taken (core/lora),
 * never ControlNet.
 */
export function hordeDeskPopBody(choices: PopChoices): PopRequest {
  return {
    name: choices.name,
    models: choices.models,
    bridge_agent: choices.bridgeAgent,
    nsfw: choices.nsfw,
    max_pixels: choices.maxPixels,
    threads: 1,
    amount: choices.amount,
    blacklist: choices.blacklist,
    require_upfront_kudos: false,
    ...popKindFlags(choices.kinds ?? []),
    allow_unsafe_ipaddr: true,
    allow_post_processing: allowPostProcessing(choices.postProcessors ?? []),
    allow_controlnet: false,
    allow_sdxl_controlnet: false,
    allow_lora: choices.loras === true,
    extra_slow_worker: false,
    // As reGen by default: every step count a request may have (up to 500) is served (job.ts).
    limit_max_steps: false,
    priority_usernames: [],
  };
}
