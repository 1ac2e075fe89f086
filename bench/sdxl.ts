/**
 * `npm run bench -- inference --family sdxl [--size 1024] [--steps 10] [--images 2] [--full no]`: SDXL next to SD 1.x.
 * 1. The pipeline on the tiny SD 1.x model and the tiny SDXL model (random weights, real architectures) at the same
 *    size (1024² by default: a 128×128 latent, SDXL's native size): ms per step, ms per image, overhead ratio
 *    (pipeline wall time ÷ time inside ONNX Runtime) and peak RSS, each model in its own process so each peak is its own.
 * 2. Unless `--full no`: a full-size SDXL base-shaped checkpoint (2.57G-parameter UNet, both text encoders, VAE; F16,
 *    deterministic pattern weights) written under os.tmpdir(), converted to fp16 ONNX by the installer's converter in a
 *    child process, then deleted: seconds, file size, the converter's peak RSS against the file size, and the bytes each
 *    component's weights take (the figures the capability profile's SDXL rule uses).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Row = Record<string, string | number>;
const GB = 1024 ** 3;

/** Runs `bench/sdxlChild.ts <args>` in its own Node process and returns the JSON row it prints last. */
function child(args: readonly string[]): Row {
  const out = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sdxlChild.ts'), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (out.status !== 0) throw new Error(`bench child ${args.join(' ')} failed with exit code ${String(out.status)}`);
  const last = out.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Row;
}

/** Bytes of every file under `dir`, by top-level folder. */
function folderBytes(dir: string): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const sub = join(dir, entry.name);
    sizes[entry.name] = readdirSync(sub).reduce((n, f) => n + statSync(join(sub, f)).size, 0);
  }
  return sizes;
}

/** The full-size conversion: write, convert in a child, measure, delete. */
function fullSizeConversion(): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-sdxl-full-'));
  try {
    const file = join(dir, 'sdxl-base-shaped.safetensors');
    const written = child(['write-full', file]);
    const out = join(dir, 'converted');
    const converted = child(['convert', file, out]);
    const sizes = folderBytes(out);
    const fileBytes = statSync(file).size;
    return [
      {
        what: 'convert full-size SDXL (F16 file → fp16 ONNX)',
        file_gb: +(fileBytes / GB).toFixed(2),
        write_s: written.seconds as number,
        convert_s: converted.seconds as number,
        tensors: written.tensors as number,
        largest_tensor_mb: written.largest_mb as number,
        peak_rss_mb: converted.peak_rss_mb as number,
        peak_rss_vs_file: +(((converted.peak_rss_mb as number) * 1024 * 1024) / fileBytes).toFixed(3),
        ...Object.fromEntries(Object.entries(sizes).map(([k, v]) => [`${k}_gb`, +(v / GB).toFixed(3)])),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both benchmarks; see the module comment. */
export function sdxlBench(opts: { size: number; steps: number; images: number; full: boolean }): Row[] {
  const args = [String(opts.size), String(opts.steps), String(opts.images)];
  const rows: Row[] = [child(['inference', 'sd1', ...args]), child(['inference', 'sdxl', ...args])];
  return opts.full ? [...rows, ...fullSizeConversion()] : rows;
}
