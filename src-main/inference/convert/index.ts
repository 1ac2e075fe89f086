/**
 * # inference/convert: SD 1.x single-file `.safetensors` (ldm layout) → HordeDesk ONNX model folder
 *
 * - `convertCheckpoint(path, outDir, opts)` → `ConvertManifest` (streams tensors; checks all before writing; atomic rename,
 *   or `commit: false` to leave `<outDir>.partial` for the caller); `convertOpenCheckpoint` for an open reader.
 * - `SafetensorsReader` (validated header, per-tensor reads, F32/F16/BF16 → f32), `parseSafetensorsHeader`, `writeSafetensors`.
 * - `CheckpointFormatError`: what both readers (safetensors and `ckpt/`) throw for a malformed or unsupported file.
 * - `diffusersToLdm(name, component, config)`, `detectLdmFamily`, `assertSupportedFamily`, `sd1DetectionKey`.
 * - Writes all four components (VAE encoder included) and the seamless-tiling variants by default; an inpainting
 *   checkpoint (9-channel UNet input) converts with `config.unet.inChannels` 9.
 * - `graphChoiceFor(provider)` (graphChoice.ts): the dtype and attention form a conversion writes for a provider.
 * - `ldmCheckpointTensors(config, weights, dtype)` for synthetic checkpoints in tests and benchmarks (all four components).
 * - SDXL single files: `convertOpenSdxlCheckpoint(reader, outDir, opts)` and `sdxlConfigForCheckpoint` (sdxlConvert.ts; the
 *   convert worker imports them from there), key mapping and architecture from shapes in sdxlKeys.ts, synthetic files in
 *   sdxlSynthetic.ts.
 */
export { graphChoiceFor, type GraphChoice } from './graphChoice';
export {
  CONVERTER_VERSION,
  ConversionError,
  convertCheckpoint,
  convertOpenCheckpoint,
  planConversion,
  plannedWeightSource,
  type ConvertManifest,
  type ConvertOptions,
} from './convert';
export {
  LDM_PREFIX,
  SD1_DETECTION_KEY,
  assertSupportedFamily,
  detectLdmFamily,
  type ConvertibleFamily,
  diffusersToLdm,
  sd1DetectionKey,
  type LdmFamily,
  type LdmKey,
} from './ldmKeys';
export { CheckpointFormatError } from './formatError';
export {
  MAX_HEADER_BYTES,
  SAFETENSORS_DTYPE_BYTES,
  SafetensorsReader,
  parseSafetensorsHeader,
  writeSafetensors,
  type FloatStorageDtype,
  type SafetensorsEntry,
  type SafetensorsTensor,
} from './safetensors';
export { ldmCheckpointTensors } from './synthetic';
