/**
 * The full-size inference bench on its own, for scripts/device-bench.sh (bundled with its child, it runs where the
 * repository's node_modules are not): `node inferenceFullCli.mjs [--provider cuda] [--size 512] [--steps 4]
 * [--dtype fp32,fp16] [--variants plain,fused,fused-o21] [--memory 'arena=off'] [--budget 4500] [--out file.json]`.
 * The same options as `npm run bench -- inference --full-size`, which prints the same table.
 */
import { writeFileSync } from 'node:fs';
import type { ExecutionProvider } from '../src-main/common/hardware';
import type { FloatDtype } from '../src-main/inference/graph';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, modelToBytes } from '../src-main/inference/graph';
import { attention } from '../src-main/inference/graph/ops';
import { inferenceFullBench } from './inferenceFull';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * `--probe <provider>`: opens a one-node MultiHeadAttention model (the fused graphs' contrib op) on that provider
 * alone, in fp32 and fp16, and runs it; prints what happened and exits 1 with the runtime's own reason when it cannot.
 */
async function probe(provider: ExecutionProvider): Promise<void> {
  for (const dtype of ['fp32', 'fp16'] as const) {
    const g = new GraphBuilder({ opset: 17, dtype, weights: null, attention: 'fused' });
    const x = g.input('x', DataType.FLOAT, [1, 16, 64]);
    const h = g.cast(x, DataType.FLOAT, g.floatType);
    g.output('y', attention(g, h, h, h, 8, 8), g.floatType, DataType.FLOAT, [1, 16, 64]);
    try {
      const session = await ort.InferenceSession.create(modelToBytes(g.finish()), { executionProviders: [provider], logSeverityLevel: 4 });
      await session.run({ x: new ort.Tensor('float32', new Float32Array(16 * 64).fill(0.5), [1, 16, 64]) });
      await session.release();
      console.log(`${provider}: opens and runs MultiHeadAttention in ${dtype}`);
    } catch (error) {
      console.log(`${provider}: cannot run (${dtype}): ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`);
      process.exitCode = 1;
      return;
    }
  }
}

async function main(): Promise<void> {
  const probed = flag('probe');
  if (probed) return probe(probed as ExecutionProvider);
  const providers = (flag('provider') ?? 'cpu').split(',') as ExecutionProvider[];
  const gpu = providers[0] !== 'cpu';
  const rows = await inferenceFullBench({
    providers,
    size: Number(flag('size') ?? 512),
    steps: Number(flag('steps') ?? 4),
    dtypes: (flag('dtype') ?? (gpu ? 'fp32,fp16' : 'fp32')).split(',') as FloatDtype[],
    variants: (flag('variants') ?? 'plain,fused,fused-o21').split(','),
    memory: (flag('memory') ?? '').split(';').filter(Boolean),
    budgets: (flag('budget') ?? '').split(',').filter(Boolean).map(Number),
  });
  console.table(rows);
  const out = flag('out');
  if (out)
    writeFileSync(
      out,
      JSON.stringify({ suite: 'inference --full-size', node: process.version, at: new Date().toISOString(), rows }, null, 2),
    );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
