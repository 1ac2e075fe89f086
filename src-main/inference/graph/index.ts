/**
 * # inference/graph: SD 1.x ONNX graphs written from TypeScript
 *
 * Builds the text encoder, UNet and VAE of Stable Diffusion 1.x as ONNX models from weights supplied by
 * diffusers tensor name, with no Python and no protobuf dependency.
 *
 * ## Public API
 * - `writeSdModelFolder(dir, { config, weights, dtype?, opset?, io?, components?, externalThresholdBytes?, hiddenStates?, tiled? })`
 *   → `SdModelManifest`. Writes `text_encoder/model.onnx`, `unet/model.onnx`, `vae_decoder/model.onnx`
 *   (+ `vae_encoder/` on request), each with `weights.pb` external data when its weights exceed the
 *   threshold (default 256 MiB; 0 forces it), and `hordedesk-model.json` last. No tokenizer files.
 *   `tiled: true` adds `model.tiled.onnx` (seamless tiling: circular padding, `TILED_COMPONENTS`) next to the
 *   UNet's and the VAE's `model.onnx`, reading the same `weights.pb` (forced external for those).
 * - `readOnnxInputs(path)`: a model file's graph inputs (names, types, shapes) without loading its weights.
 * - `buildTextEncoder | buildUnet | buildVaeDecoder | buildVaeEncoder(config, weights, opts?)` → `ModelSpec`;
 *   `buildComponent(component, …)`; encode with `modelToBytes(spec)` or `writeModelFile(path, spec)`.
 * - `expectedWeights(config, component)` → `{ name, shape }[]` (diffusers names, graph order);
 *   `parameterCount(list)`. No tensors are allocated.
 * - Weights: `WeightSource { get(name, shape): Float32Array }` (throw `WeightError` naming the tensor);
 *   `mapWeightSource(tensors)`, `seededRandomWeights(seed)`.
 * - Configs: `SdGraphConfig`, `SD15_CONFIG`, `TINY_CONFIG`, `makeTinyConfig({ vocabSize, eosTokenId })`.
 * - Options (`SdBuildOptions`): `dtype` 'fp32' | 'fp16' (weights and compute), `opset` 17 (default;
 *   GroupNorm via InstanceNormalization, GELU via Erf: DirectML-safe) | 21 (GroupNormalization-21, Gelu),
 *   `io` (`SdIoDtypes`), `hiddenStates`, `paddingMode` 'zeros' | 'circular' (the tiled variant), `attention` 'fused'
 *   (default: one `com.microsoft.MultiHeadAttention` per attention, the CLIP mask as its attention_bias) | 'plain'
 *   (Reshape/MatMul/Softmax, for providers without that op); the manifest records it (`attention`, absent in folders
 *   written before it existed, which are plain). An fp16 graph keeps GroupNorm statistics, the VAE decoder's up
 *   blocks and output layers, the whole VAE encoder and the VAE attention's plain Softmax in fp32
 *   (`GraphBuilder.withDtype` regions).
 * - The UNet's input channels come from `config.unet.inChannels`: 4, or 9 for inpainting checkpoints.
 * - SDXL (`sdxlModel.ts`): `writeSdxlModelFolder(dir, { config, weights: (component) => source, … })` writes
 *   `text_encoder/` (CLIP-L: `hidden_states.*`, `last_hidden_state`, `pooler_output`), `text_encoder_2/` (OpenCLIP-G:
 *   `hidden_states.*`, `last_hidden_state`, `text_embeds`), `unet/` (inputs `sample`, `timestep`,
 *   `encoder_hidden_states`, `text_embeds`, `time_ids` [batch, 6]), and the VAE (fp32 in every install, latents / 0.13025);
 *   configs `SDXL_BASE_CONFIG`, `makeTinySdxlConfig`.
 * - CLIP pieces shared with `inference/clip/`: `clipEncoderLayer` (`clipEncoder.ts`), `clipTextTower` (`textEncoder.ts`).
 * - Lower level: `GraphBuilder` + op helpers (`ops.ts`, `blocks.ts`), `ProtoWriter`, `encodeModel`,
 *   `inlineSink`/`externalSink`, fp16 helpers (`float32ToFloat16Bits`, `tensorDataToFloat32`).
 *
 * ## Graph I/O (defaults; symbolic dims in quotes)
 * | model | inputs | outputs |
 * |---|---|---|
 * | text_encoder | `input_ids` int32 ['batch','sequence'] (sequence ≤ 77) | `last_hidden_state` f32 ['batch','sequence',768], `pooler_output` f32 ['batch',768], `hidden_states.0..12` f32 ['batch','sequence',768] |
 * | unet | `sample` f32 ['batch',4 (9 inpainting),'height','width'], `timestep` f32 ['timestep_batch'] (discrete t 0..999; [1] broadcasts), `encoder_hidden_states` f32 ['batch','sequence',768] | `out_sample` f32 ['batch',4,'height','width'] (ε) |
 * | vae_decoder | `latent_sample` f32 ['batch',4,'height','width'] (latents / 0.18215) | `sample` f32 ['batch',3,'image_height','image_width'] (8×, ≈[−1,1]) |
 * | vae_encoder | `sample` f32 ['batch',3,'image_height','image_width'], `latent_noise` f32 ['batch',4,'height','width'] (N(0,1), or zeros) | `latent_sample` (mean + std·latent_noise, ComfyUI's posterior sample), `latent_parameters` (mean‖logvar, 8 ch) |
 *
 * Float I/O is float32 for fp16 models too (Casts inside the graph): onnxruntime-node 1.30 cannot feed
 * float16 input tensors where `Float16Array` exists (Node 24). `io` can select int64 `input_ids`, int64 or
 * float16 `timestep`, a scalar `timestep`, or float16 float I/O, to mimic other published exports.
 * `hidden_states.i` are pre-final-LayerNorm; clip skip k = LayerNorm(`hidden_states.{12+1−k}`) with
 * `text_model.final_layer_norm`, as diffusers does.
 */
export {
  BUILDER_VERSION,
  GraphBuilder,
  attr,
  type AttentionKind,
  type FloatDtype,
  type GraphBuilderOptions,
  type Opset,
  type PaddingMode,
  type WeightLayout,
} from './builder';
export {
  SD_COMPONENTS,
  TILED_COMPONENTS,
  buildComponent,
  buildTextEncoder,
  buildUnet,
  buildVaeDecoder,
  buildVaeEncoder,
  expectedWeights,
  parameterCount,
  type SdComponent,
} from './components';
export {
  SD15_CONFIG,
  TINY_CONFIG,
  makeTinyConfig,
  validateConfig,
  type SdGraphConfig,
  type TextEncoderConfig,
  type TinyConfigOptions,
  type UnetConfig,
  type VaeConfig,
} from './config';
export { bytesOf, float16BitsToFloat32, float32ToFloat16Bits, fromHalfBits, tensorDataToFloat32, toHalfBits } from './float16';
export { EXTERNAL_ALIGNMENT, externalSink, inlineSink, modelToBytes, writeModelFile, type InitializerSink } from './initializers';
export { DEFAULT_IO_DTYPES, DIMS, type SdBuildOptions, type SdIoDtypes } from './io';
export {
  DEFAULT_EXTERNAL_THRESHOLD_BYTES,
  EXTERNAL_DATA_FILE,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  TILED_MODEL_FILE,
  writeSdModelFolder,
  type SdModelManifest,
  type WriteSdModelOptions,
  type WrittenComponent,
} from './modelFolder';
export { readOnnxInputs } from './onnxRead';
export {
  SDXL_BASE_CONFIG,
  SDXL_LATENT_SCALE,
  makeTinySdxlConfig,
  validateSdxlConfig,
  type OpenClipTextConfig,
  type SdxlGraphConfig,
  type SdxlUnetConfig,
} from './sdxlConfig';
export {
  SDXL_COMPONENTS,
  SDXL_TILED_COMPONENTS,
  buildSdxlComponent,
  expectedSdxlWeights,
  writeSdxlModelFolder,
  type SdxlComponent,
  type SdxlModelManifest,
  type WriteSdxlModelOptions,
} from './sdxlModel';
export { DataType, encodeModel, type DataTypeCode, type ModelSpec, type TensorSpec, type ValueInfoSpec } from './onnxProto';
export { ProtoWriter } from './protobuf';
export { WeightError, mapWeightSource, seededRandomWeights, type ShapedTensor, type WeightSource, type WeightSpec } from './weights';
