/**
 * Converts an SDXL checkpoint in the published single-file layout into a HordeDesk ONNX model folder, streaming one
 * tensor at a time from disk into the graph builder as the SD 1.x converter does (convert.ts). Every tensor the
 * graphs need is checked (present, shape, readable dtype) and every tensor of the file is accounted for (used, or
 * one of the known non-weights) before anything is written.
 */
import { existsSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { SdxlGraphConfig } from '../graph/sdxlConfig';
import { SDXL_COMPONENTS, type SdxlComponent, type SdxlModelManifest, expectedSdxlWeights, writeSdxlModelFolder } from '../graph/sdxlModel';
import {
  CONVERTER_VERSION,
  ConversionError,
  folderOptions,
  listedProblems,
  plannedWeightSource,
  stagedConversion,
  tensorProblem,
  type CheckpointTensors,
  type ConvertOutputOptions,
  type PlannedWeight,
} from './convert';
import { SDXL_IGNORED_KEYS, sdxlConfigFromTensors, sdxlTensorKey } from './sdxlKeys';

/**
 * Options of an SDXL conversion: the SD 1.x converter's (convert.ts), with SDXL's architecture and components. The
 * VAE graphs keep float32 weights whatever `dtype` says; a subset of `components` skips the check that every tensor
 * of the file is used.
 */
export interface SdxlConvertOptions extends ConvertOutputOptions {
  /** Architecture (default: read from the checkpoint's shapes). */
  config?: SdxlGraphConfig;
  /** Default all five. */
  components?: readonly SdxlComponent[];
}

/** The written manifest. */
export interface SdxlConvertManifest extends SdxlModelManifest {
  converterVersion: string;
  source: { file: string; family: 'sdxl'; tensors: number };
}

/** The architecture of an open SDXL checkpoint, read from its tensors' shapes. */
export function sdxlConfigForCheckpoint(reader: CheckpointTensors): SdxlGraphConfig {
  return sdxlConfigFromTensors([...reader.entries.keys()], (k) => reader.entry(k)?.shape, reader.path);
}

function refuse(reader: CheckpointTensors, problems: readonly string[], what: string): never {
  throw new ConversionError(`${reader.path}: ${problems.length} ${what}:\n  ${listedProblems(problems)}`, problems);
}

/**
 * Resolves every tensor the components need to a checkpoint key, checking presence, shape and dtype without reading
 * data; with all components, also refuses any tensor of the file that no graph uses and that is not a known
 * non-weight (naming each one), so a layout HordeDesk does not understand is never half converted.
 */
export function planSdxlConversion(
  reader: CheckpointTensors,
  config: SdxlGraphConfig,
  components: readonly SdxlComponent[],
): Map<string, PlannedWeight> {
  const plan = new Map<string, PlannedWeight>();
  const problems: string[] = [];
  for (const component of components) {
    for (const { name, shape } of expectedSdxlWeights(config, component)) {
      const { key } = sdxlTensorKey(name, component, config);
      const problem = tensorProblem(reader.entry(key), key, `${component} ${name}`, shape);
      if (problem) problems.push(problem);
      else plan.set(`${component}/${name}`, { shape, key });
    }
  }
  if (problems.length > 0) refuse(reader, problems, 'tensor(s) missing or mis-shaped');
  if (SDXL_COMPONENTS.every((c) => components.includes(c))) {
    const used = new Set([...plan.values()].map((p) => p.key));
    const ignored = new Set(SDXL_IGNORED_KEYS);
    const unmapped = [...reader.entries.keys()].filter((k) => !used.has(k) && !ignored.has(k)).sort();
    if (unmapped.length > 0)
      refuse(
        reader,
        unmapped.map((k) => `${k}: HordeDesk does not know where this tensor belongs in an SDXL model`),
        'tensor(s) that no SDXL graph uses, so the file is not an SDXL base checkpoint HordeDesk understands',
      );
  }
  return plan;
}

/**
 * Converts an open SDXL checkpoint into `outDir` (built at `outDir + '.partial'`, renamed unless `commit: false`).
 * A failure leaves no output behind.
 */
export function convertOpenSdxlCheckpoint(reader: CheckpointTensors, outDir: string, opts: SdxlConvertOptions = {}): SdxlConvertManifest {
  const commit = opts.commit ?? true;
  if (commit && existsSync(outDir) && !opts.overwrite) throw new Error(`${outDir} already exists (pass overwrite: true to replace it)`);
  const components = opts.components ?? SDXL_COMPONENTS;
  return stagedConversion(outDir, opts, (staging): SdxlConvertManifest => {
    const config = opts.config ?? sdxlConfigForCheckpoint(reader);
    const plan = planSdxlConversion(reader, config, components);
    rmSync(staging, { recursive: true, force: true });
    let done = 0;
    const manifest = writeSdxlModelFolder(staging, {
      config,
      weights: (component) => plannedWeightSource(reader, plan, component, (name) => opts.onProgress?.(++done, plan.size, name)),
      components,
      ...folderOptions(opts),
    });
    return {
      ...manifest,
      converterVersion: CONVERTER_VERSION,
      source: { file: basename(reader.path), family: 'sdxl', tensors: reader.entries.size },
    };
  });
}
