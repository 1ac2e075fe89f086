import type { PopRequest } from '../../common/horde';

/** The choices that vary between users and machines; everything else is fixed by what HordeDesk implements. */
export interface PopChoices {
  name: string;
  models: string[];
  bridgeAgent: string;
  maxPixels: number;
  nsfw: boolean;
  amount: number;
  blacklist: string[];
}

/**
 * The pop body HordeDesk sends: every field explicit (the horde's defaults differ from its
 * documentation, HORDE-PROTOCOL §2.2), and only what HordeDesk really implements — txt2img on
 * SD 1.x — so no img2img, inpainting, post-processing, ControlNet or LoRA jobs are asked for.
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
    allow_img2img: false,
    allow_painting: false,
    allow_unsafe_ipaddr: true,
    allow_post_processing: false,
    allow_controlnet: false,
    allow_sdxl_controlnet: false,
    allow_lora: false,
    extra_slow_worker: false,
    // As reGen by default: every step count a request may have (up to 500) is served (job.ts).
    limit_max_steps: false,
    priority_usernames: [],
  };
}
