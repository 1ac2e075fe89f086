/**
 * pymatting's closed-form alpha matting as rembg calls it (`estimate_alpha_cf(img / 255.0, trimap / 255.0)`, pymatting
 * ≥ 1.1.3): the matting Laplacian of Levin et al. with ε = 1e-7 and 3×3 windows, computed only for windows that are
 * not entirely known (cf_laplacian.py), the system restricted to the unknown pixels `L_U x = −R m` (m = 1 on known
 * foreground), solved by conjugate gradients (solver/cg.py: rtol 1e-7 of ‖b‖, at most 10000 iterations) with the
 * thresholded incomplete Cholesky preconditioner (preconditioner/ichol.py), then clipped to [0, 1].
 *
 * The Laplacian and the preconditioner are computed in the reference's order of operations (float64), so they are the
 * same numbers; the solver's dot products and norms are plain sums here where NumPy calls BLAS, so the iterate drifts
 * from the reference's by rounding only, well inside the 1e-7 stopping tolerance both use. Every case where pymatting
 * raises `ValueError` (no foreground or no background in the trimap, an incomplete Cholesky that no diagonal shift
 * rescues, no convergence in 10000 iterations) is returned as a `failure`, as rembg catches it and falls back.
 */
import { CF_EPSILON, CG_MAXITER, CG_RTOL, ICHOL_DISCARD_THRESHOLD, ICHOL_SHIFTS } from './facts';
import { TRIMAP } from './mask';

/** A symmetric-pattern sparse matrix in CSR (rows ascending, columns ascending within a row). */
export interface SparseRows {
  n: number;
  ptr: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

/** The alpha matte (float64, one value per pixel) or why pymatting would have raised ValueError. */
export type AlphaResult = { alpha: Float64Array; iterations: number; unknown: number } | { failure: string };

/** Window size and the 5×5 neighbourhood slots of each Laplacian row (radius 1). */
const WINDOW = 9;
const SLOTS = 25;

/** Per unknown pixel, its 25 Laplacian entries (offsets −2…2 in y then x), accumulated window by window. */
function laplacianRows(image: Float64Array, width: number, height: number, known: Uint8Array, unknownIndex: Int32Array, unknown: number) {
  const values = new Float64Array(unknown * SLOTS);
  const c = new Float64Array(WINDOW * 3);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      let allKnown = true;
      for (let dy = -1; dy <= 1 && allKnown; dy++)
        for (let dx = -1; dx <= 1 && allKnown; dx++) allKnown = known[(y + dy) * width + x + dx] === 1;
      if (allKnown) continue;
      windowContributions(image, width, x, y, c, values, unknownIndex);
    }
  }
  return values;
}

/** The inverse regularised colour covariance of the window in `c` (cf_laplacian.py's expression order). */
function inverseCovariance(c: Float64Array): number[] {
  let a00 = CF_EPSILON;
  let a01 = 0;
  let a02 = 0;
  let a11 = CF_EPSILON;
  let a12 = 0;
  let a22 = CF_EPSILON;
  for (let k = 0; k < WINDOW; k++) {
    const c0 = c[k * 3] as number;
    const c1 = c[k * 3 + 1] as number;
    const c2 = c[k * 3 + 2] as number;
    a00 += c0 * c0;
    a01 += c0 * c1;
    a02 += c0 * c2;
    a11 += c1 * c1;
    a12 += c1 * c2;
    a22 += c2 * c2;
  }
  a00 /= WINDOW;
  a01 /= WINDOW;
  a02 /= WINDOW;
  a11 /= WINDOW;
  a12 /= WINDOW;
  a22 /= WINDOW;
  const det = a00 * a12 * a12 + a01 * a01 * a22 + a02 * a02 * a11 - a00 * a11 * a22 - 2 * a01 * a02 * a12;
  const invDet = 1.0 / det;
  return [
    (a12 * a12 - a11 * a22) * invDet,
    (a01 * a22 - a02 * a12) * invDet,
    (a02 * a11 - a01 * a12) * invDet,
    (a02 * a02 - a00 * a22) * invDet,
    (a00 * a12 - a01 * a02) * invDet,
    (a01 * a01 - a00 * a11) * invDet,
  ];
}

/** Adds one 3×3 window's 81 pair terms to the rows of its unknown pixels. */
function windowContributions(
  image: Float64Array,
  width: number,
  x: number,
  y: number,
  c: Float64Array,
  values: Float64Array,
  unknownIndex: Int32Array,
): void {
  for (let dc = 0; dc < 3; dc++) {
    let s = 0.0;
    for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) s += image[((y + dy - 1) * width + x + dx - 1) * 3 + dc] as number;
    for (let dy = 0; dy < 3; dy++)
      for (let dx = 0; dx < 3; dx++)
        c[(dy * 3 + dx) * 3 + dc] = (image[((y + dy - 1) * width + x + dx - 1) * 3 + dc] as number) - s / WINDOW;
  }
  const [m00, m01, m02, m11, m12, m22] = inverseCovariance(c) as [number, number, number, number, number, number];
  for (let ki = 0; ki < WINDOW; ki++) {
    const xi = x + (ki % 3) - 1;
    const yi = y + Math.floor(ki / 3) - 1;
    const row = unknownIndex[yi * width + xi] as number;
    if (row < 0) continue; // rows of known pixels are never used
    const s = c[ki * 3] as number;
    const t = c[ki * 3 + 1] as number;
    const u = c[ki * 3 + 2] as number;
    const c0 = m00 * s + m01 * t + m02 * u;
    const c1 = m01 * s + m11 * t + m12 * u;
    const c2 = m02 * s + m12 * t + m22 * u;
    for (let kj = 0; kj < WINDOW; kj++) {
      const xj = x + (kj % 3) - 1;
      const yj = y + Math.floor(kj / 3) - 1;
      const temp = c0 * (c[kj * 3] as number) + c1 * (c[kj * 3 + 1] as number) + c2 * (c[kj * 3 + 2] as number);
      const value = (ki === kj ? 1.0 : 0.0) - (1 + temp) / WINDOW;
      const at = row * SLOTS + (yj - yi + 2) * 5 + (xj - xi + 2);
      values[at] = (values[at] as number) + value;
    }
  }
}

/** Calls `visit(slot, j)` for each in-image 5×5 neighbour j of pixel p, in slot order (ascending j). */
function eachNeighbour(p: number, width: number, height: number, visit: (slot: number, j: number) => void): void {
  const px = p % width;
  const py = (p - px) / width;
  for (let slot = 0; slot < SLOTS; slot++) {
    const xj = px + (slot % 5) - 2;
    const yj = py + Math.floor(slot / 5) - 2;
    if (xj >= 0 && xj < width && yj >= 0 && yj < height) visit(slot, yj * width + xj);
  }
}

/**
 * Splits the unknown rows into L_U (unknown columns, CSR, typed arrays sized by a counting pass) and b = −R·m (known
 * foreground columns), summed in column order as scipy's matvec does.
 */
function reducedSystem(
  values: Float64Array,
  width: number,
  height: number,
  unknownPixels: Int32Array,
  unknownIndex: Int32Array,
  fg: Uint8Array,
) {
  const n = unknownPixels.length;
  const ptr = new Int32Array(n + 1);
  for (let row = 0; row < n; row++) {
    let count = 0;
    eachNeighbour(unknownPixels[row] as number, width, height, (slot, j) => {
      if ((unknownIndex[j] as number) >= 0 && values[row * SLOTS + slot] !== 0) count++;
    });
    ptr[row + 1] = (ptr[row] as number) + count;
  }
  const col = new Int32Array(ptr[n] as number);
  const val = new Float64Array(ptr[n] as number);
  const b = new Float64Array(n);
  for (let row = 0; row < n; row++) {
    let at = ptr[row] as number;
    let rm = 0;
    eachNeighbour(unknownPixels[row] as number, width, height, (slot, j) => {
      const v = values[row * SLOTS + slot] as number;
      const u = unknownIndex[j] as number;
      if (u < 0) rm += v * (fg[j] as number);
      else if (v !== 0) {
        col[at] = u;
        val[at++] = v;
      }
    });
    b[row] = -rm;
  }
  return { a: { n, ptr, col, val } satisfies SparseRows, b };
}

/** y = A·x, row sums in column order (scipy's csr_matvec). */
export function matvec(a: SparseRows, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < a.n; i++) {
    let sum = 0;
    for (let k = a.ptr[i] as number; k < (a.ptr[i + 1] as number); k++) sum += (a.val[k] as number) * (x[a.col[k] as number] as number);
    y[i] = sum;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** A lower-triangular factor in CSC: column j's diagonal first, then its rows ascending. */
export interface CholeskyFactor {
  n: number;
  p: Int32Array;
  r: Int32Array;
  v: Float64Array;
}

/** pymatting's `max_nnz` (4e9 / 16): a factor that would grow past it raises ValueError at once, whatever the shift. */
export const ICHOL_MAX_NNZ = 250_000_000;

/** Growable value/row arrays for the factor (pymatting preallocates max_nnz instead). */
class FactorStore {
  v: Float64Array;
  r: Int32Array;
  constructor(capacity: number) {
    this.v = new Float64Array(capacity);
    this.r = new Int32Array(capacity);
  }
  push(at: number, value: number, row: number): void {
    if (at >= this.v.length) {
      const v = new Float64Array(this.v.length * 2);
      v.set(this.v);
      const r = new Int32Array(this.r.length * 2);
      r.set(this.r);
      this.v = v;
      this.r = r;
    }
    this.v[at] = value;
    this.r[at] = row;
  }
}

/** One attempt of pymatting's `_ichol` with a diagonal shift: 'pivot' for a pivot ≤ 0 (its −1), 'size' past max_nnz (its −2). */
function icholAttempt(a: SparseRows, shift: number): CholeskyFactor | 'pivot' | 'size' {
  const n = a.n;
  const s = new Int32Array(n);
  const t = new Int32Array(n);
  const l = new Int32Array(n).fill(-1);
  const acc = new Float64Array(n);
  const marked = new Uint8Array(n);
  const c = new Int32Array(n);
  const d = new Float64Array(n).fill(shift);
  const lp = new Int32Array(n + 1);
  const store = new FactorStore(Math.max(1024, 2 * a.val.length));
  let nnz = 0;
  let cn = 0;
  // A is symmetric in pattern; column j of A (CSC) is read as row j of L_U, as ichol(L_U) transposes the CSR matrix.
  for (let j = 0; j < n; j++)
    for (let idx = a.ptr[j] as number; idx < (a.ptr[j + 1] as number); idx++)
      if (a.col[idx] === j) {
        d[j] = (d[j] as number) + (a.val[idx] as number);
        t[j] = idx + 1;
      }
  const mark = (i: number): void => {
    if (!marked[i]) {
      marked[i] = 1;
      c[cn++] = i;
    }
  };
  for (let j = 0; j < n; j++) {
    for (let idx = t[j] as number; idx < (a.ptr[j + 1] as number); idx++) {
      const i = a.col[idx] as number;
      const lij = a.val[idx] as number;
      if (lij !== 0.0 && i > j) {
        acc[i] = (acc[i] as number) + lij;
        mark(i);
      }
    }
    let k = l[j] as number;
    while (k !== -1) {
      let k0 = s[k] as number;
      const k1 = lp[k + 1] as number;
      const k2 = l[k] as number;
      const ljk = store.v[k0] as number;
      k0 += 1;
      if (k0 < k1) {
        s[k] = k0;
        const i0 = store.r[k0] as number;
        l[k] = l[i0] as number;
        l[i0] = k;
        for (let idx = k0; idx < k1; idx++) {
          const i = store.r[idx] as number;
          acc[i] = (acc[i] as number) - (store.v[idx] as number) * ljk;
          mark(i);
        }
      }
      k = k2;
    }
    if ((d[j] as number) <= 0.0) return 'pivot';
    if (nnz + 1 + cn > ICHOL_MAX_NNZ) return 'size';
    d[j] = Math.sqrt(d[j] as number);
    store.push(nnz++, d[j] as number, j);
    s[j] = nnz;
    const rows = c.slice(0, cn).sort();
    for (const i of rows) {
      const lij = (acc[i] as number) / (d[j] as number);
      d[i] = (d[i] as number) - lij * lij; // diag_keep_discarded
      if (Math.abs(lij) > ICHOL_DISCARD_THRESHOLD && Math.abs(acc[i] as number) > 0) store.push(nnz++, lij, i);
      acc[i] = 0.0;
      marked[i] = 0;
    }
    cn = 0;
    lp[j + 1] = nnz;
    if ((lp[j] as number) + 1 < nnz) {
      const i = store.r[(lp[j] as number) + 1] as number;
      l[j] = l[i] as number;
      l[i] = j;
    }
  }
  return { n, p: lp, r: store.r.subarray(0, nnz), v: store.v.subarray(0, nnz) };
}

/** pymatting's `ichol`: the first diagonal shift whose factorisation succeeds, or why it raises ValueError. */
export function ichol(a: SparseRows): CholeskyFactor | { failure: string } {
  for (const shift of ICHOL_SHIFTS) {
    const factor = icholAttempt(a, shift);
    if (factor === 'size')
      return {
        failure:
          'Thresholded incomplete Cholesky decomposition failed because more than max_nnz non-zero elements were created. Try increasing max_nnz or discard_threshold.',
      };
    if (factor !== 'pivot') return factor;
  }
  return {
    failure:
      'Thresholded incomplete Cholesky decomposition failed due to insufficient positive-definiteness of matrix A and diagonal shifts did not help.',
  };
}

/** Applies the preconditioner: x = (L Lᵀ)⁻¹ b by forward then backward substitution, in place. */
export function cholSolve(f: CholeskyFactor, x: Float64Array): void {
  for (let j = 0; j < f.n; j++) {
    const temp = (x[j] as number) / (f.v[f.p[j] as number] as number);
    x[j] = temp;
    for (let k = (f.p[j] as number) + 1; k < (f.p[j + 1] as number); k++) {
      const i = f.r[k] as number;
      x[i] = (x[i] as number) - (f.v[k] as number) * temp;
    }
  }
  for (let i = f.n - 1; i >= 0; i--) {
    let s = x[i] as number;
    for (let k = (f.p[i] as number) + 1; k < (f.p[i + 1] as number); k++) s -= (f.v[k] as number) * (x[f.r[k] as number] as number);
    x[i] = s / (f.v[f.p[i] as number] as number);
  }
}

/** pymatting's `cg` (x0 = 0, atol 0): the solution and its iteration count, or null when it does not converge. */
export function conjugateGradient(a: SparseRows, b: Float64Array, m: CholeskyFactor): { x: Float64Array; iterations: number } | null {
  const n = a.n;
  const x = new Float64Array(n);
  const normB = Math.sqrt(dot(b, b));
  const r = Float64Array.from(b);
  if (Math.sqrt(dot(r, r)) < CG_RTOL * normB) return { x, iterations: 0 };
  const z = Float64Array.from(r);
  cholSolve(m, z);
  const p = Float64Array.from(z);
  const ap = new Float64Array(n);
  let rz = dot(r, z);
  for (let iteration = 0; iteration < CG_MAXITER; iteration++) {
    matvec(a, p, ap);
    const alpha = rz / dot(p, ap);
    for (let i = 0; i < n; i++) {
      x[i] = (x[i] as number) + alpha * (p[i] as number);
      r[i] = (r[i] as number) - alpha * (ap[i] as number);
    }
    const normR = Math.sqrt(dot(r, r));
    if (normR < CG_RTOL * normB) return { x, iterations: iteration + 1 };
    if (Number.isNaN(normR)) return null; // NaN never converges: the reference runs out its 10000 iterations
    z.set(r);
    cholSolve(m, z);
    let beta = 1.0 / rz;
    rz = dot(r, z);
    beta *= rz;
    for (let i = 0; i < n; i++) p[i] = (p[i] as number) * beta + (z[i] as number);
  }
  return null;
}

/** estimate_alpha_cf on an 8-bit RGB image and rembg's 8-bit trimap (0 / 128 / 255). */
export function estimateAlphaCf(rgb: Uint8Array, width: number, height: number, trimap: Uint8Array): AlphaResult {
  const count = width * height;
  const known = new Uint8Array(count);
  const fg = new Uint8Array(count);
  let fgCount = 0;
  let bgCount = 0;
  for (let i = 0; i < count; i++) {
    // trimap / 255.0 against trimap_split's thresholds (≥ 0.9 foreground, ≤ 0.1 background): only 255 and 0 qualify.
    if (trimap[i] === TRIMAP.foreground) {
      fg[i] = 1;
      known[i] = 1;
      fgCount++;
    } else if (trimap[i] === TRIMAP.background) {
      known[i] = 1;
      bgCount++;
    }
  }
  if (bgCount === 0) return { failure: 'Trimap did not contain background values (values <= 0.100000)' };
  if (fgCount === 0) return { failure: 'Trimap did not contain foreground values (values >= 0.900000)' };
  const unknownIndex = new Int32Array(count).fill(-1);
  const unknownPixels = new Int32Array(count - fgCount - bgCount);
  for (let i = 0, u = 0; i < count; i++)
    if (!known[i]) {
      unknownIndex[i] = u;
      unknownPixels[u++] = i;
    }
  const alpha = new Float64Array(count);
  for (let i = 0; i < count; i++) alpha[i] = fg[i] ? 1 : 0;
  if (unknownPixels.length === 0) return { alpha, iterations: 0, unknown: 0 };
  const image = new Float64Array(count * 3);
  for (let i = 0; i < image.length; i++) image[i] = (rgb[i] as number) / 255.0;
  const values = laplacianRows(image, width, height, known, unknownIndex, unknownPixels.length);
  const { a, b } = reducedSystem(values, width, height, unknownPixels, unknownIndex, fg);
  const m = ichol(a);
  if ('failure' in m) return m;
  const solved = conjugateGradient(a, b, m);
  if (!solved) return { failure: `Conjugate gradient descent did not converge within ${CG_MAXITER} iterations` };
  for (let u = 0; u < unknownPixels.length; u++) {
    const v = solved.x[u] as number;
    alpha[unknownPixels[u] as number] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { alpha, iterations: solved.iterations, unknown: unknownPixels.length };
}
