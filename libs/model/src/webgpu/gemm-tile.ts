/**
 * The WGSL pieces both implicit-GEMM programs share (conv-backprop-filter.ts, conv-forward.ts):
 * 64 × 64 output tiles per 16 × 16-thread workgroup, 4 × 4 outputs per thread, STEP inner values
 * staged per iteration in workgroup memory as As[k][row] and Bs[k][column] (16 vec4 per k). Each
 * program stages its own A and B tiles (how it reads x, dy and W differs) and writes its own
 * epilogue; the multiply-accumulate lives here once.
 */

/** Output rows and columns per workgroup. */
export const TILE = 64;
/** Inner-dimension values staged per iteration. */
export const STEP = 16;

/** Module-scope workgroup tiles. */
export const GEMM_TILES = `
      var<workgroup> As : array<vec4<f32>, ${STEP * 16}>;
      var<workgroup> Bs : array<vec4<f32>, ${STEP * 16}>;`;

/** Thread coordinates (tx, ty: which 4 × 4 outputs; t: flat index) and the zeroed accumulators. */
export const GEMM_THREAD = `
        let tx = i32(localId.x);
        let ty = i32(localId.y);
        let t = ty * 16 + tx;`;
export const GEMM_ACCUMULATORS = `
        var acc0 = vec4<f32>(0.0);
        var acc1 = vec4<f32>(0.0);
        var acc2 = vec4<f32>(0.0);
        var acc3 = vec4<f32>(0.0);`;

/**
 * After staging As/Bs: accumulate the STEP staged values into the 4 × 4 outputs (between barriers);
 * `alsoRead` runs once the tiles are staged, before they are overwritten.
 */
export const gemmMultiply = (alsoRead = ''): string => `
          workgroupBarrier();${
            alsoRead
              ? `
          ${alsoRead}`
              : ''
          }
          for (var kk = 0; kk < ${STEP}; kk = kk + 1) {
            let a = As[kk * 16 + ty];
            let bb = Bs[kk * 16 + tx];
            acc0 = fma(vec4<f32>(a.x), bb, acc0);
            acc1 = fma(vec4<f32>(a.y), bb, acc1);
            acc2 = fma(vec4<f32>(a.z), bb, acc2);
            acc3 = fma(vec4<f32>(a.w), bb, acc3);
          }
          workgroupBarrier();`;

/** The accumulators as acc[i][j]: output row (tile row) ty·4 + i, column tx·4 + j. */
export const GEMM_RESULT = `
        let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);`;
