/**
 * A pop answer as the horde sends one (the stand-in's shape) for the worker tests' tiny model: one 64² image in 4
 * k_euler steps, `payload` merged over those defaults (a request's `post_processing`, `loras`, `tis`, size…).
 */
export function tinyPopAnswer(o: { payload?: Record<string, unknown>; id?: string; ttl?: number } = {}): Record<string, unknown> {
  const id = o.id ?? 'job-1';
  return {
    payload: {
      prompt: 'a lighthouse',
      ddim_steps: 4,
      n_iter: 1,
      seed: '7',
      sampler_name: 'k_euler',
      cfg_scale: 7,
      width: 64,
      height: 64,
      karras: true,
      ...o.payload,
    },
    id,
    ids: [id],
    ttl: o.ttl ?? 150,
    model: 'tiny',
    r2_upload: null,
    r2_uploads: null,
    source_image: null,
    source_processing: 'img2img',
    source_mask: null,
    skipped: {},
  };
}
