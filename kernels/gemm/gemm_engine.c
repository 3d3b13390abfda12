/* ISA-templated GEMM engine (compiled once per ISA, see simd.h).
 *
 * Goto/BLIS structure, one thread's share of the work:
 *
 *   for jc over N step nc                 B block kc x nc: L2
 *     for pc over K step kc
 *       pack B block (or use pre-packed panels, or raw KN rows in place)
 *       for ic over M step mc
 *         pack A block mc x kc into mr-row panels      A block: L2
 *         for jr over nc step nr         B micro-panel kc x nr: L1
 *           for ir over mc step mr       A micro-panels stream from L2
 *             micro-kernel: mr x nr tile of C += A·B (kc long)
 *
 * or, "rows outer", the last two loops swapped: each row tile's A in L1
 * while it streams the whole B block, panel after panel (short or narrow
 * B blocks everywhere, every packed B block on AVX2: see core).
 *
 * The micro-kernel keeps the mr x nr tile of C in mr·nr/L vector
 * registers, broadcasts one A element per row and multiplies it with nr/L
 * vectors of B. It is written once over simd.h (ukernel.h) and
 * instantiated per tile shape, per row count m = 1..mr and, for
 * full-height tiles, per count of column vectors 1..nr/L (so edge tiles do
 * no wasted work along M, nor along N beyond the last vector, whose lanes
 * past n are zero padding masked at the store). Bias is added in
 * registers on the last K block; ReLU/GELU run over the freshly stored,
 * L1-resident tile.
 *
 * Threads split M and N into one rectangle each (no barriers: each packs
 * what it reads). M = 1 (decoding) takes a GEMV path, threads splitting
 * the columns (raw K x N weights: the rows, see gemv_kn_threads); raw
 * N x K weights at short M dot products of rows, and up to NK_SWAP_MAX_M
 * rows the swapped product Yᵀ = W·Xᵀ, neither transposing W.
 * The fused rank-r path runs, per block of rows of X, T = X·U into a small
 * L2-resident buffer and then Y = T·V, so the M x r intermediate never
 * goes to memory. */
#include "../simd.h"
#include "../epilogue.h"
#include "../transpose.h"
#include "gemm.h"
#include "gemv.h"
#include "pack.h"
#include "ukernel.h"

#include <string.h>

/* ------------------------------------------------------- the B operand */

/* B_PACKED: panels packed beforehand (plans, rank-r factors); B_RAW: the
 * caller's weights, packed block by block before use or, KN rows at short
 * M, read in place (see raw_in_place). */
enum { B_PACKED, B_RAW };
typedef struct bsrc {
  int kind;
  const float *p;
  size_t ld;                /* raw: W's leading dimension */
  gk_weight_layout layout;  /* raw */
  size_t ktot;              /* packed: the panels' K */
} bsrc;

/* The same operand restricted to columns j0.. (threads' shares). */
static bsrc bsrc_cols(const bsrc *b, size_t j0, size_t nr) {
  bsrc s = *b;
  if (b->kind == B_PACKED) s.p += j0 / nr * b->ktot * nr;
  else if (b->layout == GK_WEIGHT_KN) s.p += j0;
  else s.p += j0 * b->ld;
  return s;
}

#define DIRECT_A_MAX_N 64
/* Rows of A read in place at once when they alias in L1 (ldx a multiple
 * of 1024 floats): fewer than L1's ways (12 on the Xeon measured) leave
 * room for the B panel's lines. */
#define SHORT_MR 8
/* Tiles of at most this many rows read A in place at every N (see core):
 * measured on x86; NEON and scalar pack A until measured on hardware. */
#if defined(GK_TARGET_AVX512) || defined(GK_TARGET_AVX2)
#define DIRECT_A_MR SHORT_MR
#else
#define DIRECT_A_MR 0
#endif

/* -------------------------------------------------------------- tiles */

/* Tile shapes per ISA: accumulators MR·NV plus NV B vectors and one
 * broadcast must fit the register file (32 zmm / 16 ymm / 32 q / scalar).
 *   GEMM_TILES   the registered ones: X(mr, nr, dense priority, rank-r
 *                priority), priorities being the defaults until the tuner
 *                measures. On a Xeon (family 6 model 207) 8x48 was the
 *                fastest dense tile at M = 128-2048 on the BERT shapes,
 *                and the fastest rank-r one at K = N = 768: against
 *                14x32, paired, M = 32-2048, 1.02-1.09x at r >= 128, even
 *                at r = 16-64 but 0.97-0.98x at M >= 512, r = 32 (14x32
 *                had led while a narrow last panel still computed on a
 *                whole tile's padding);
 *   XU_TILES     narrower tiles for X·U, by increasing nr: at ranks up to
 *                one's width X·U runs on it instead of on a wider
 *                registered tile, whose rows then hold fewer accumulators
 *                (see narrow_for). 12x16 ran 2-4% faster than 28x16 at
 *                r = 16, M = 32-512; 14x32 under 8x48 at r = 24-32,
 *                M = 32-2048, 1.00-1.07x the whole rank-r product;
 *   SHORT_TILES  SHORT_MR-row tiles for X·U over L1-aliased rows of X
 *                (see xu_tile), one per nr that X·U can have. */
#if defined(GK_TARGET_AVX512)
#define GEMM_TILES(X) X(14, 32, 1, 1) X(8, 48, 2, 2) X(6, 64, 1, 1) X(12, 32, 1, 1) X(28, 16, 0, 0)
#define HELPER_TILES(X) X(12, 16) X(8, 16) X(8, 32)
#define XU_TILES &tile_12x16, &tile_14x32
#define SHORT_TILES &tile_8x16, &tile_8x32
#elif defined(GK_TARGET_AVX2)
#define GEMM_TILES(X) X(6, 16, 1, 1) X(4, 24, 0, 0)
#define HELPER_TILES(X) X(12, 8) X(8, 8)
#define XU_TILES &tile_12x8
#define SHORT_TILES &tile_8x8
#elif defined(GK_TARGET_NEON)
#define GEMM_TILES(X) X(8, 12, 1, 1) X(6, 16, 0, 0)
#define HELPER_TILES(X)
#define XU_TILES NULL
#define SHORT_TILES NULL
#else
#define GEMM_TILES(X) X(4, 4, 0, 0)
#define HELPER_TILES(X)
#define XU_TILES NULL
#define SHORT_TILES NULL
#endif

/* A tile: its micro-kernel, instantiated for every row count. */
#define DEFINE_TILE(MR_, NR_) \
  DEFINE_UKR(MR_, NR_)        \
  static const tile tile_##MR_##x##NR_ = {MR_, NR_, ukr_##MR_##x##NR_, row_##MR_##x##NR_};
#define DEFINE_GEMM_TILE(MR_, NR_, PRIO_, LR_PRIO_) DEFINE_TILE(MR_, NR_)
GEMM_TILES(DEFINE_GEMM_TILE)
HELPER_TILES(DEFINE_TILE)

/* ------------------------------------------------------------- driver */

static size_t core_ws_floats(const tile *t, const gk_gemm_blocking *bl) {
  return gk_gemm_max_row_block(bl->mc, t->mr) * bl->kc + bl->kc * bl->nc + 64;
}

/* mc x nc of C from a packed A block and B micro-panels. Columns outer:
 * each B micro-panel (kc x nr) stays in L1 while the A micro-panels (mr x
 * kc, the smaller stream per k) come from the L2-resident A block, and
 * the first tiles of each column panel prefetch the next B micro-panel
 * (from L3 or memory: plans' packed weights rarely fit L2), one line per
 * k step. Rows outer (rows_outer): each row tile's A stays in L1 while it
 * walks every panel.
 *
 * edge != NULL: B at bp is raw KN rows (stride ldb) read in place, and
 * the last panel, narrower than nr, is read packed from edge instead (its
 * last vector would read past the rows' ends). */
static void macro_kernel(const tile *t, size_t mc, size_t nc, size_t kc, const float *ap,
                         size_t lda, const float *bp, size_t pstride, size_t ldb,
                         const float *edge, int rows_outer, float *C, size_t ldc,
                         const float *bias, gk_activation act, int accumulate, int last) {
  const size_t MR = t->mr, NR = t->nr;
  const row_tiles rt = row_tiles_of(mc, MR, NR);
  const size_t panels = (nc + NR - 1) / NR, tiles = rt.n;
  const size_t outer = rows_outer ? tiles : panels, inner = rows_outer ? panels : tiles;
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      const size_t q = rows_outer ? i : o, p = rows_outer ? o : i; /* panel, tile */
      size_t m;
      const size_t jr = q * NR, ir = tile_row(&rt, p, MR, mc, &m);
      const size_t n = nc - jr < NR ? nc - jr : NR;
      const float *a = ap + (lda ? ir * lda : p * MR * kc);
      const float *b = bp + q * pstride;
      size_t lb = ldb;
      if (edge && n < NR) b = edge, lb = NR;
      float *c = C + ir * ldc + jr;
      if (rows_outer && m == MR && n == NR) {
        /* this row tile's full panels from here on, in one call */
        const size_t full = (nc - jr) / NR;
        epi e = {bias ? bias + jr : NULL, accumulate, last, NULL, 0};
        t->row(full, kc, a, lda, b, pstride, ldb, c, ldc, &e);
        if (last && act != GK_ACT_NONE)
          for (size_t r = 0; r < m; r++) GK_FN(gk_epilogue_row)(c + r * ldc, NULL, full * NR, act);
        i += full - 1;
        continue;
      }
      /* columns outer: the first NR/16 tiles of a panel prefetch one
       * 16-float line of the next micro-panel per k step: packed panels
       * line after line; rows read in place (ldb > NR) one column of
       * lines at a time, a stride beyond what hardware prefetchers follow */
      const float *pf = NULL;
      if (!rows_outer && q + 1 < panels && p < NR / 16)
        pf = bp + (q + 1) * pstride + (ldb == NR ? p * kc * 16 : p * 16);
      epi e = {bias ? bias + jr : NULL, accumulate, last, pf, ldb == NR ? 16 : ldb};
      t->ukr(m, kc, a, lda, b, lb, c, ldc, n, &e);
      if (last && act != GK_ACT_NONE)
        for (size_t r = 0; r < m; r++) GK_FN(gk_epilogue_row)(c + r * ldc, NULL, n, act);
    }
}

/* Whether raw B is read in place rather than packed: KN rows under few
 * row tiles, where a packing pass (B from L3 or memory into L2, then read
 * from there) costs more than every tile reading the rows at their
 * stride, which no hardware prefetcher follows; the more tiles read a
 * panel, the more packing it pays for. Paired on a Xeon (family 6 model
 * 207), against packing, K = 768-3072, N = 768-2304: 8x48 at M = 96-192
 * (12-24 tiles) 1.03-1.10x, M = 256-512 0.93-1.0x; 14x32 at M = 128-256
 * (10-19 tiles) 1.03-1.06x, M = 320 1.0x; AVX2 6x16 at M = 64-144 (11-24
 * tiles) 1.01-1.08x, M = 192 (32) 0.95x. Rows 4 KiB apart share L1's
 * sets: 16 tiles reading them stall (8x48, M = 128, N = 3072: 0.70x), 8
 * do not (M = 64: 1.01x). Up to 8 tiles this replaced packing by the
 * first tile of each panel, which it matched (0.98-1.02x). The limits
 * scale with L1d (see gk_gemm_blocking_for); weights from memory keep to
 * the aliased one (see gk_gemm_reads_in_place). */
static int raw_in_place(const bsrc *B, size_t M, size_t K, size_t N, size_t MR,
                        const gk_gemm_blocking *bl) {
  return B->kind == B_RAW && B->layout == GK_WEIGHT_KN &&
         gk_gemm_reads_in_place(bl, M, K, N, B->ld, MR);
}

/* Whether core reads A (row stride lda) in place rather than packing it,
 * for an N-column product on tile t: packing does not pay
 *  - on tiles of at most DIRECT_A_MR rows, whose rows' lines fit L1's ways
 *    even when they alias. On 64-byte-aligned rows either way runs at
 *    the same speed (8x48, paired, BERT shapes, M = 128-2048: 0.98-1.03);
 *    on rows off the cache lines (16 bytes, as malloc returns large
 *    blocks) packing costs 3-4% more at M = 128, its unaligned loads
 *    splitting lines, and in place 1% more at M = 512;
 *  - on any tile with few columns of C to amortise packing over (rank-r's
 *    X·U), unless more than SHORT_MR rows 4 KiB apart would compete for
 *    the same L1 sets. */
static int a_in_place(const tile *t, size_t N, size_t lda) {
  return t->mr <= DIRECT_A_MR || (N <= DIRECT_A_MAX_N && (lda % 1024 != 0 || t->mr <= SHORT_MR));
}

/* Whether core runs M rows without cache blocks, and so without scratch:
 * the GEMV (M = 1) and the dot products of raw N x K weights. */
static int without_blocks(const bsrc *B, size_t M) {
  return M == 1 || (B->kind == B_RAW && B->layout == GK_WEIGHT_NK && M <= NK_DOTS_MAX_M);
}

/* One thread's GEMM: C (M x N) = act(A·B + bias), A raw row-major. */
static void core(const tile *t, const gk_gemm_blocking *bl, size_t M, size_t N, size_t K,
                 const float *A, size_t lda, const bsrc *B, float *C, size_t ldc,
                 const float *bias, gk_activation act, float *ws) {
  const size_t MR = t->mr, NR = t->nr;
  if (without_blocks(B, M)) {
    if (B->kind == B_RAW && B->layout == GK_WEIGHT_NK)
      gemm_nk_dots(M, N, K, A, lda, B->p, B->ld, C, ldc);
    else if (B->kind == B_PACKED) /* M = 1 */
      gemv_packed(NR, K, A, B->p, N, C);
    else
      gemv_kn(K, N, A, B->p, B->ld, C);
    for (size_t i = 0; i < M; i++) GK_FN(gk_epilogue_row)(C + i * ldc, bias, N, act);
    return;
  }
  const int in_place = raw_in_place(B, M, K, N, MR, bl);
  const size_t kcb = in_place ? bl->kc_in_place : bl->kc;
  const int direct_a = a_in_place(t, N, lda);
  float *wa = ws, *wb = wa + gk_gemm_max_row_block(bl->mc, MR) * bl->kc;
  const size_t mb = gk_gemm_row_block(M, bl->mc, MR);
  /* N in equal blocks of at most nc columns, whole panels: cut at nc
   * instead, N = 3072 under nc = 2720 ran a block of 352 columns after one
   * of 2720 */
  const size_t nb = (N + bl->nc - 1) / bl->nc, ncb = gk_round_up((N + nb - 1) / nb, NR);
  for (size_t jc = 0; jc < N; jc += ncb) {
    size_t nc = N - jc < ncb ? N - jc : ncb;
    for (size_t pc = 0; pc < K; pc += kcb) {
      size_t kc = K - pc < kcb ? K - pc : kcb;
      const float *bp, *edge = NULL;
      size_t pstride, ldb;
      if (B->kind == B_PACKED) {
        bp = B->p + jc / NR * B->ktot * NR + pc * NR, pstride = B->ktot * NR, ldb = NR;
      } else if (in_place) {
        bp = B->p + pc * B->ld + jc, pstride = NR, ldb = B->ld;
        if (nc % NR) {
          size_t j = nc - nc % NR;
          pack_b(B->p, B->ld, GK_WEIGHT_KN, pc, kc, jc + j, nc - j, NR, wb, kc * NR);
          edge = wb;
        }
      } else {
        pack_b(B->p, B->ld, B->layout, pc, kc, jc, nc, NR, wb, kc * NR);
        bp = wb, pstride = kc * NR, ldb = NR;
      }
      int accumulate = pc > 0, last = pc + kc == K;
      /* Row tiles outer when the B block is no larger than the A block
       * (short K, as rank-r's T·V at small r, or narrow N): B stays in
       * cache either way, and C is then written row tile by row tile,
       * whole rows of it in sequence, instead of in NR-wide column strips
       * whose lines the prefetchers cannot predict (T·V at r = 16 is
       * bound by those writes). Also for short K blocks (see SHORT_K).
       * On AVX2, for every packed B block (gk_gemm_rows_outer_packed):
       * each row tile then streams the whole block, panel after panel in
       * memory order, which the hardware prefetchers follow, with its
       * rows of A in L1, where columns outer keeps a B micro-panel in L1
       * and reads the A block from L2. Paired against the rule above on
       * a Zen 3 EPYC (6x16, medians of 9 rounds, runs on a busy and a
       * quieter host): raw weights, the 9 BERT shapes (M = 128-2048), 1 thread
       * 0.89-1.01x the time (three runs), 2 threads 0.89-0.94x; plans
       * 0.92-1.0x, rank-r plans (r = 128-384) 0.93-0.94x; short K (96-384,
       * T·V's at those ranks) 0.85-0.93x. Not for raw weights read in
       * place: their panels are strided rows that only the first tile of
       * a column fetches (M = 32-96: 1.13-1.53x). */
      const int rows_outer = kc <= SHORT_K || kc * nc <= bl->mc * bl->kc ||
                             (gk_gemm_rows_outer_packed(GK_TARGET_ISA) && !in_place);
      for (size_t ic = 0; ic < M; ic += mb) {
        size_t mc = M - ic < mb ? M - ic : mb;
        const float *ap = A + ic * lda + pc;
        if (!direct_a) {
          const row_tiles rt = row_tiles_of(mc, MR, NR);
          pack_a(ap, lda, mc, kc, MR, &rt, wa), ap = wa;
        }
        macro_kernel(t, mc, nc, kc, ap, direct_a ? lda : 0, bp, pstride, ldb, edge, rows_outer,
                     C + ic * ldc + jc, ldc, bias ? bias + jc : NULL, act, accumulate, last);
      }
    }
  }
}

/* [lo, hi) of part `i` of n split into `parts`, boundaries on multiples
 * of `align` (always when strict, else when that keeps parts balanced). */
static void split(size_t n, size_t parts, size_t align, int strict, size_t i, size_t *lo,
                  size_t *hi) {
  if (!strict && n < 8 * align * parts) align = 1;
  size_t chunk = gk_round_up((n + parts - 1) / parts, align);
  *lo = i * chunk < n ? i * chunk : n;
  *hi = *lo + chunk < n ? *lo + chunk : n;
}

/* Threads grid tm x tn for a dense M x N x K problem: least work per
 * thread, counting the packing a split duplicates. Raw weights cost a
 * thread a packing pass over its columns, or a quarter of that where its
 * share of the rows reads them in place (see raw_in_place): then a row
 * split can beat a column split that packs. Paired on a Zen 3 EPYC (AVX2,
 * 6x16, N = 768, 2 threads) against counting a full pass either way:
 * M = 128 (64 rows per thread in place, against 128 rows packed)
 * 0.94x the time at K = 768 and 3072, M = 160-192 0.97-0.98x. Rows split
 * over columns split, forced: M = 128 0.91-0.92x; M = 96 (in place
 * either way) 1.0x; M = 64, K = 3072 1.2x (weights-bound: the model keeps
 * columns split there).
 * That holds while the weights stay in cache from one row group's pass to
 * the next's (bl->cached_floats). Beyond, every row group streams all of
 * them from memory, which costs as much as packing its columns would.
 * Paired later on the same kind of host, the row split took 1.01-1.40x
 * the column split's time from 3.9 MB of weights on (M = 128-192: N = 768
 * with K = 1280-3072, N = 1536 and 3072 with K = 768; medians of 15
 * rounds, one run of three at 0.98x), 0.96-1.03x up to 3.1 MB (K = N =
 * 768 included, where this now takes the column split). */
static void grid(const tile *t, const gk_gemm_blocking *bl, size_t M, size_t N, size_t K,
                 const bsrc *B, int nt, int *tm, int *tn) {
  const int w_cached = (double)K * (double)N <= (double)bl->cached_floats;
  double best = 0;
  for (int a = 1; a <= nt; a++) {
    if (nt % a) continue;
    int b = nt / a;
    size_t share = gk_round_up((M + a - 1) / a, t->mr);
    double rows = (double)share;
    double cols = (double)gk_round_up((N + b - 1) / b, t->nr);
    double cost = 2.0 * rows * cols * (double)K + 32.0 * (double)K * rows * (cols / (double)bl->nc + 1.0);
    if (B->kind == B_RAW) {
      const int cheap = raw_in_place(B, share, K, (size_t)cols, t->mr, bl) && (a == 1 || w_cached);
      cost += (cheap ? 8.0 : 32.0) * (double)K * cols;
    }
    if (a == 1 || cost < best) best = cost, *tm = a, *tn = b;
  }
}

/* This thread's scratch in a parallel region; NULL, with *failed set, when
 * it cannot be had (the thread then skips its share). */
static float *thread_ws(const gk_gemm_ws *ws, int tid, size_t floats, int *failed) {
  float *w = gk_gemm_ws_get(ws, tid, floats);
  if (!w) {
#pragma omp atomic write
    *failed = 1;
  }
  return w;
}

/* Threads for a dense product: the caller's count, else by work size. */
static int dense_threads(int threads, size_t M, size_t N, size_t K) {
  return threads ? threads
                 : gk_threads_for(GK_OP_GEMM, gk_gemm_work(M, 2.0 * (double)M * (double)N * (double)K));
}

/* Raw N x K weights at moderate M, swapped: Yᵀ = W·Xᵀ. W's rows, contiguous
 * in K, are then the A operand, which tiles of at most DIRECT_A_MR rows
 * read in place, so W is streamed once and never transposed; X (M x K,
 * the smaller operand) is packed as the B operand once, and Yᵀ, computed
 * NK_SWAP_ROWS rows of W at a time into scratch, is transposed into Y
 * (threads take shares of W's rows). Against transposing W into panels
 * per call, on a Zen 3 EPYC (AVX2 6x16, paired, K and N 768 or 3072):
 * 1 thread, M = 40-64 0.82-0.92x the time, M = 128 0.92-0.96x, M = 192
 * 0.97-0.99x, M = 256 0.98-1.0x, M = 384 1.05x; 2 threads, M = 64
 * 0.86x, M = 128 0.96x, M = 192 1.0x. Against the dot products at M <=
 * NK_DOTS_MAX_M: M = 16, 28-32 0.70-0.89x, but with a last panel of one
 * vector (6 accumulators, too few to hide the FMA latency) M = 17-24
 * 0.88-1.30x, so those stay dot products. */
#define NK_SWAP_MAX_M 192
#define NK_SWAP_ROWS 1024
static int nk_swapped(const tile *t, const bsrc *B, size_t M, size_t N) {
  if (B->kind != B_RAW || B->layout != GK_WEIGHT_NK || t->mr > DIRECT_A_MR) return 0;
  if (M < t->nr || M > NK_SWAP_MAX_M || M >= N) return 0;
  const size_t edge = M % t->nr, vecs = (edge + L - 1) / L;
  return M > NK_DOTS_MAX_M || !edge || t->mr * vecs >= MIN_CHAINS;
}

static gk_status dense_nk_swapped(const tile *t, size_t M, size_t N, size_t K, const float *X,
                                  size_t ldx, const bsrc *B, const float *bias,
                                  gk_activation act, float *Y, size_t ldy, int threads) {
  const gk_gemm_blocking bl =
      gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)t->mr, (unsigned)t->nr);
  const size_t rows = N < NK_SWAP_ROWS ? N : NK_SWAP_ROWS, wsf = core_ws_floats(t, &bl);
  float *xp = gk_gemm_scratch(1, gk_packed_floats(K, M, t->nr));
  if (!xp) return GK_ERR_NO_MEMORY;
  pack_full(X, ldx, GK_WEIGHT_NK, K, M, t->nr, xp);
  const bsrc bx = {B_PACKED, xp, 0, GK_WEIGHT_KN, K};
  int nt = dense_threads(threads, M, N, K);
  int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = gk_thread_id(), team = gk_team_size();
    size_t j0, j1;
    split(N, (size_t)team, t->mr, 0, (size_t)tid, &j0, &j1);
    float *w = j1 > j0 ? thread_ws(NULL, tid, wsf + rows * M, &failed) : NULL;
    for (size_t j = j0; w && j < j1; j += rows) {
      const size_t nj = j1 - j < rows ? j1 - j : rows;
      float *yt = w + wsf; /* Yᵀ for these rows of W, past core's blocks
                            * (which it leaves unused: A in place, B packed) */
      core(t, &bl, nj, M, K, B->p + j * B->ld, B->ld, &bx, yt, M, NULL, GK_ACT_NONE, w);
      gk_transpose_rows_(yt, M, nj, nj, M, ldy, 1.0f, Y + j);
      if (bias || act != GK_ACT_NONE)
        for (size_t i = 0; i < M; i++)
          GK_FN(gk_epilogue_row)(Y + i * ldy + j, bias ? bias + j : NULL, nj, act);
    }
  }
  return failed ? GK_ERR_NO_MEMORY : GK_OK;
}

/* y = act(x·B + bias) for one row on raw K x N weights, on nt threads:
 * each thread streams its share of W's rows, whole and in order as
 * gemv_kn does, into a partial y of its own; then each sums its share of
 * the columns over the partials. Split by columns instead (as packed and
 * N x K weights are), every thread read a segment of every row, at a
 * stride the prefetchers follow poorly: on a Zen 3 EPYC, 2 threads,
 * paired, K = N = 384-1024 and 768 x 3072 took 1.2-1.5x this one's time. */
static gk_status gemv_kn_threads(size_t N, size_t K, const float *x, const bsrc *B,
                                 const float *bias, gk_activation act, float *y, int nt) {
  size_t floats;
  float *part = gk_mul_ok((size_t)nt, N, &floats) ? gk_gemm_scratch(1, floats) : NULL;
  if (!part) return GK_ERR_NO_MEMORY;
#pragma omp parallel num_threads(nt)
  {
    const int tid = gk_thread_id(), team = gk_team_size();
    size_t k0, k1, j0, j1;
    split(K, (size_t)team, 4, 0, (size_t)tid, &k0, &k1);
    float *mine = part + (size_t)tid * N;
    if (k1 > k0) gemv_kn(k1 - k0, N, x + k0, B->p + k0 * B->ld, B->ld, mine);
    else memset(mine, 0, N * sizeof(float));
#pragma omp barrier
    split(N, (size_t)team, L, 0, (size_t)tid, &j0, &j1);
    for (size_t j = j0; j < j1; j += L) {
      const size_t w = j1 - j < L ? j1 - j : L;
      gk_vf s = vf_loadu_n(part + j, w);
      for (int t = 1; t < team; t++) s = vf_add(s, vf_loadu_n(part + (size_t)t * N + j, w));
      vf_storeu_n(y + j, s, w);
    }
    if (j1 > j0) GK_FN(gk_epilogue_row)(y + j0, bias ? bias + j0 : NULL, j1 - j0, act);
  }
  return GK_OK;
}

/* GK_ERR_NO_MEMORY when a thread's scratch cannot be had: that thread's
 * share is skipped (Y then partly written). */
static gk_status dense(const tile *t, size_t M, size_t N, size_t K, const float *X, size_t ldx,
                       const bsrc *B, const float *bias, gk_activation act, float *Y,
                       size_t ldy, int threads, const gk_gemm_ws *ws) {
  if (nk_swapped(t, B, M, N))
    return dense_nk_swapped(t, M, N, K, X, ldx, B, bias, act, Y, ldy, threads);
  gk_gemm_blocking bl = gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)t->mr, (unsigned)t->nr);
  size_t wsf = core_ws_floats(t, &bl);
  int nt = dense_threads(threads, M, N, K);
  if (M == 1 && nt > 1 && B->kind == B_RAW && B->layout == GK_WEIGHT_KN)
    return gemv_kn_threads(N, K, X, B, bias, act, Y, nt);
  if (nt <= 1) {
    const int none = without_blocks(B, M); /* no blocks, so no scratch to ask for */
    float *w = none ? NULL : gk_gemm_ws_get(ws, 0, wsf);
    if (!none && !w) return GK_ERR_NO_MEMORY;
    core(t, &bl, M, N, K, X, ldx, B, Y, ldy, bias, act, w);
    return GK_OK;
  }
  int tm = 1, tn = 1, failed = 0;
  grid(t, &bl, M, N, K, B, nt, &tm, &tn);
#pragma omp parallel num_threads(nt)
  {
    const int tid = gk_thread_id();
    if (tid < tm * tn) {
      size_t i0, i1, j0, j1;
      split(M, (size_t)tm, t->mr, 0, (size_t)(tid / tn), &i0, &i1);
      split(N, (size_t)tn, t->nr, 1, (size_t)(tid % tn), &j0, &j1); /* packed panels */
      const int none = without_blocks(B, i1 - i0);
      float *w = none ? NULL : thread_ws(ws, tid, wsf, &failed);
      if ((w || none) && i1 > i0 && j1 > j0) {
        bsrc bs = bsrc_cols(B, j0, t->nr);
        core(t, &bl, i1 - i0, j1 - j0, K, X + i0 * ldx, ldx, &bs, Y + i0 * ldy + j0, ldy,
             bias ? bias + j0 : NULL, act, w);
      }
    }
  }
  return failed ? GK_ERR_NO_MEMORY : GK_OK;
}

static const tile *const xu_tiles[] = {XU_TILES};

/* The narrowest X·U tile at least r wide and narrower than t, or NULL. */
static const tile *narrow_for(const tile *t, size_t r) {
  for (size_t i = 0; i < sizeof xu_tiles / sizeof *xu_tiles; i++)
    if (xu_tiles[i] && r <= xu_tiles[i]->nr && xu_tiles[i]->nr < t->nr) return xu_tiles[i];
  return NULL;
}

/* The tile X·U runs on: U's panel width (see u_nr) fixes nr. X is read
 * in place for r <= DIRECT_A_MAX_N; rows of X a multiple of 4 KiB apart
 * all fall into the same L1 sets, so those are read at most SHORT_MR at
 * a time (K = 3072, r = 16: 0.71x -> 1.04x oneDNN's two calls, where
 * packing X instead cost more than the product). */
static const tile *xu_tile(const tile *t, size_t unr, size_t ldx) {
  const tile *tu = narrow_for(t, unr);
  if (!tu || tu->nr != unr) tu = t;
  const tile *shorts[] = {SHORT_TILES};
  if (ldx % 1024 == 0 && tu->mr > SHORT_MR)
    for (size_t i = 0; i < sizeof shorts / sizeof *shorts; i++)
      if (shorts[i] && shorts[i]->nr == tu->nr) return shorts[i];
  return tu;
}

/* K blocks for a narrow X·U (r <= DIRECT_A_MAX_N, rows of X read in
 * place): as few as keep U's block (kc x r, whole panels) within L2, not
 * the tile's kc, which keeps a wide product's B micro-panel in L1. Each K
 * block is another pass over the rows of X (shorter runs for the
 * prefetchers) and over T, with every tile's set-up; a narrow product's
 * few panels come from L2 at no visible cost. Paired on a Zen 3 EPYC (AVX2
 * 6x16, kc 384), rank-r, K = 768 in one block against two: r = 4-64,
 * M = 32-2048, 0.95-1.0x the time (2 threads 0.95-1.0x); K = 1024-3072 in
 * one or two blocks against three to eight: 0.95-1.0x. Not measured on
 * AVX-512. */
static size_t xu_kc(const gk_gemm_blocking *blu, size_t K, size_t r, size_t nr) {
  const size_t l2 = gk_ctx_get()->topo.l2, most = l2 / (sizeof(float) * gk_round_up(r, nr));
  if (most <= blu->kc) return blu->kc;
  const size_t blocks = (K + most - 1) / most;
  return gk_round_up((K + blocks - 1) / blocks, 8);
}

/* Floats of T, the largest block of rows of X times U (rank r), kept
 * 64-byte aligned after the core's scratch. */
static size_t t_floats(const tile *t, const gk_gemm_blocking *bl, size_t r) {
  return gk_round_up(gk_gemm_max_row_block(bl->mc, t->mr) * r, 16);
}

/* What every thread of a fused rank-r call shares. */
typedef struct lr_job {
  const tile *t, *tu;           /* T·V's tile, X·U's tile (see xu_tile) */
  gk_gemm_blocking bl, blu;     /* their blocking */
  size_t M, K, r, N;
  size_t u_nr;                  /* U's panel width */
  const float *X;
  size_t ldx;
  bsrc bu, bv;
  const float *bias;
  gk_activation act;
  float *Y;
  size_t ldy;
  size_t t_off;                 /* T's offset in a thread's scratch */
} lr_job;

/* Thread tid's share of the rows, of nt: per block of mc rows, T = X_blk·U
 * (mc x r, L2) then Y_blk = act(T·V + bias). */
static void lowrank_rows(const lr_job *j, float *w, int tid, int nt) {
  size_t i0, i1;
  split(j->M, (size_t)nt, j->t->mr, 0, (size_t)tid, &i0, &i1);
  float *T = w + j->t_off;
  const size_t mb = gk_gemm_row_block(i1 - i0, j->bl.mc, j->t->mr);
  for (size_t ic = i0; ic < i1; ic += mb) {
    size_t mc = i1 - ic < mb ? i1 - ic : mb;
    core(j->tu, &j->blu, mc, j->r, j->K, j->X + ic * j->ldx, j->ldx, &j->bu, T, j->r, NULL,
         GK_ACT_NONE, w);
    core(j->t, &j->bl, mc, j->N, j->r, T, j->r, &j->bv, j->Y + ic * j->ldy, j->ldy, j->bias,
         j->act, w);
  }
}

/* Thread tid's share of the columns of U, then of V, of nt (decoding-sized
 * M, see lowrank). T is thread 0's, shared; w is NULL where a thread's
 * scratch could not be had, which then skips its share. */
static void lowrank_cols(const lr_job *j, float *w, float *T, int tid, int nt) {
  size_t j0, j1;
  if (j->r <= j->u_nr) {
    /* U is one panel: a column split would leave X·U to one thread, so
     * its rows are split instead (each thread then reads all of U) */
    split(j->M, (size_t)nt, 1, 0, (size_t)tid, &j0, &j1);
    if (w && T && j1 > j0)
      core(j->tu, &j->blu, j1 - j0, j->r, j->K, j->X + j0 * j->ldx, j->ldx, &j->bu,
           T + j0 * j->r, j->r, NULL, GK_ACT_NONE, w);
  } else {
    split(j->r, (size_t)nt, j->u_nr, 1, (size_t)tid, &j0, &j1);
    if (w && T && j1 > j0) {
      bsrc bs = bsrc_cols(&j->bu, j0, j->u_nr);
      core(j->tu, &j->blu, j->M, j1 - j0, j->K, j->X, j->ldx, &bs, T + j0, j->r, NULL,
           GK_ACT_NONE, w);
    }
  }
#pragma omp barrier
  split(j->N, (size_t)nt, j->t->nr, 1, (size_t)tid, &j0, &j1);
  if (w && T && j1 > j0) {
    bsrc bs = bsrc_cols(&j->bv, j0, j->t->nr);
    core(j->t, &j->bl, j->M, j1 - j0, j->r, T, j->r, &bs, j->Y + j0, j->ldy,
         j->bias ? j->bias + j0 : NULL, j->act, w);
  }
}

/* Fused rank-r Y = act(X·U·V + bias), rows (or, at decoding-sized M,
 * columns) split across threads. One thread runs its share directly: an
 * OpenMP region of one thread still allocates and frees its team on every
 * call (libgomp), which at K = N = 16 was most of the call. Scratch that
 * cannot be had: as dense. */
static gk_status lowrank(const tile *t, size_t M, const float *X, size_t ldx,
                         const gk_packed_b *U, const gk_packed_b *V, const float *bias,
                         gk_activation act, float *Y, size_t ldy, int threads,
                         const gk_gemm_ws *ws) {
  const size_t K = U->K, r = U->N, N = V->N;
  const tile *tu = xu_tile(t, U->nr, ldx);
  lr_job j = {.t = t, .tu = tu,
              .bl = gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)t->mr, (unsigned)t->nr),
              .blu = gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)tu->mr, (unsigned)tu->nr),
              .M = M, .K = K, .r = r, .N = N, .u_nr = U->nr, .X = X, .ldx = ldx,
              .bu = {B_PACKED, U->p, 0, GK_WEIGHT_KN, U->K},
              .bv = {B_PACKED, V->p, 0, GK_WEIGHT_KN, V->K},
              .bias = bias, .act = act, .Y = Y, .ldy = ldy};
  size_t core_f = core_ws_floats(t, &j.bl), core_u = core_ws_floats(tu, &j.blu);
  j.t_off = core_u > core_f ? core_u : core_f;
  const size_t wsf = j.t_off + t_floats(t, &j.bl, r);
  /* only now, the scratch being sized: X·U in place uses none of its blocks */
  if (r <= DIRECT_A_MAX_N && a_in_place(tu, r, ldx)) j.blu.kc = xu_kc(&j.blu, K, r, tu->nr);
  int nt = threads ? threads
                   : gk_threads_for(GK_OP_LOWRANK,
                                    gk_gemm_work(M, 2.0 * (double)M * (double)r * (double)(K + N)));
  /* Decoding-sized M (up to one row tile per thread): split columns, not
   * rows. A row split would leave each thread a sliver of M and have every
   * thread stream all of U and V, where the weights are the whole cost;
   * split by columns, each thread reads its share of them, as dense's
   * column split does. Thread 0's T is shared. Measured with the weights
   * cold, as a layer stack leaves them (K = N = 768, 2 threads): M = 8-16,
   * r = 256: 1.45-1.55x faster; K or N = 3072, M = 8: 1.43-1.55x; r = 128
   * at M <= 12: 0.95-0.98x (the barriers, against weights half as big). */
  const int by_cols = nt > 1 && M <= (size_t)nt * t->mr && M <= j.bl.mc;
  if (!by_cols && (size_t)nt > M) nt = (int)M;
  if (nt <= 1) {
    float *w = gk_gemm_ws_get(ws, 0, wsf);
    if (!w) return GK_ERR_NO_MEMORY;
    lowrank_rows(&j, w, 0, 1);
    return GK_OK;
  }
  float *shared_T = NULL;
  int failed = 0;
#pragma omp parallel num_threads(nt)
  {
    const int tid = gk_thread_id();
    float *w = thread_ws(ws, tid, wsf, &failed);
    if (by_cols) {
      if (tid == 0) shared_T = w ? w + j.t_off : NULL;
#pragma omp barrier
      lowrank_cols(&j, w, shared_T, tid, nt);
    } else if (w) {
      lowrank_rows(&j, w, tid, nt);
    }
  }
  return failed ? GK_ERR_NO_MEMORY : GK_OK;
}

static size_t tile_ws_floats(const tile *t) {
  gk_gemm_blocking bl = gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)t->mr, (unsigned)t->nr);
  return core_ws_floats(t, &bl);
}

/* Scratch of the rank-r path: the largest of what its tiles' cores need
 * (whichever X·U runs on, see xu_tile), plus T. */
static size_t ws_floats(const tile *t, size_t r) {
  size_t f = tile_ws_floats(t);
  const tile *others[] = {XU_TILES, SHORT_TILES};
  for (size_t i = 0; i < sizeof others / sizeof *others; i++)
    if (others[i] && tile_ws_floats(others[i]) > f) f = tile_ws_floats(others[i]);
  gk_gemm_blocking bl = gk_gemm_blocking_for(GK_TARGET_ISA, (unsigned)t->mr, (unsigned)t->nr);
  return f + t_floats(t, &bl, r);
}

/* Panel width U is packed with: a narrower X·U tile's when r fits in it,
 * so X·U for small ranks does not compute on zero padding. */
static unsigned u_nr(const tile *t, size_t r) {
  const tile *n = narrow_for(t, r);
  return (unsigned)(n ? n->nr : t->nr);
}

/* ------------------------------------------------------------ variants */

/* Each registered tile shape: the gk_gemm_impl entry points bound to it,
 * and one registry entry for dense GEMM and one for rank-r. */

#define GEMM_TILE(MR_, NR_, PRIO_, LR_PRIO_)                                                 \
  static gk_status run_##MR_##x##NR_(const gk_gemm_args *a) {                                \
    bsrc b = {B_RAW, a->W, a->ldw, a->layout, 0};                                            \
    return dense(&tile_##MR_##x##NR_, a->M, a->N, a->K, a->X, a->ldx, &b, a->bias, a->act,  \
                 a->Y, a->ldy, a->threads, NULL);                                            \
  }                                                                                          \
  static void pack_##MR_##x##NR_(const float *W, size_t ldw, gk_weight_layout layout,       \
                                 size_t K, size_t N, float *dst) {                           \
    pack_full(W, ldw, layout, K, N, NR_, dst);                                          \
  }                                                                                          \
  static gk_status run_packed_##MR_##x##NR_(size_t M, const float *X, size_t ldx,           \
                                            const gk_packed_b *B, const float *bias,         \
                                            gk_activation act, float *Y, size_t ldy,         \
                                            int threads, const gk_gemm_ws *ws) {             \
    bsrc b = {B_PACKED, B->p, 0, GK_WEIGHT_KN, B->K};                                       \
    return dense(&tile_##MR_##x##NR_, M, B->N, B->K, X, ldx, &b, bias, act, Y, ldy, threads, \
                 ws);                                                                        \
  }                                                                                          \
  static gk_status lowrank_##MR_##x##NR_(size_t M, const float *X, size_t ldx,              \
                                         const gk_packed_b *U, const gk_packed_b *V,         \
                                         const float *bias, gk_activation act, float *Y,     \
                                         size_t ldy, int threads, const gk_gemm_ws *ws) {    \
    return lowrank(&tile_##MR_##x##NR_, M, X, ldx, U, V, bias, act, Y, ldy, threads, ws);    \
  }                                                                                          \
  static size_t ws_##MR_##x##NR_(size_t M, size_t N, size_t K, size_t r) {                  \
    (void)M, (void)N, (void)K;                                                               \
    return ws_floats(&tile_##MR_##x##NR_, r);                                                \
  }                                                                                          \
  static unsigned u_nr_##MR_##x##NR_(size_t r) { return u_nr(&tile_##MR_##x##NR_, r); }      \
  static const gk_gemm_impl impl_##MR_##x##NR_ = {                                          \
      MR_, NR_, run_##MR_##x##NR_, pack_##MR_##x##NR_, run_packed_##MR_##x##NR_,        \
      lowrank_##MR_##x##NR_, ws_##MR_##x##NR_, u_nr_##MR_##x##NR_, pack_full};              \
  static const gk_variant gemm_##MR_##x##NR_ = {                                            \
      GK_OP_GEMM, "f32_gemm_ukernel_" GK_STR(MR_) "x" GK_STR(NR_) GK_ISA_SUFFIX,        \
      GK_TARGET_ISA, GK_TARGET_REQUIRES, (int)GK_TARGET_ISA * 16 + PRIO_,                   \
      &impl_##MR_##x##NR_};                                                                  \
  static const gk_variant lowrank_v_##MR_##x##NR_ = {                                       \
      GK_OP_LOWRANK, "f32_lowrank_ukernel_" GK_STR(MR_) "x" GK_STR(NR_) GK_ISA_SUFFIX,  \
      GK_TARGET_ISA, GK_TARGET_REQUIRES, (int)GK_TARGET_ISA * 16 + LR_PRIO_,                   \
      &impl_##MR_##x##NR_};

#define REGISTER_TILE(MR_, NR_, PRIO_, LR_PRIO_) \
  gk_registry_add(r, &gemm_##MR_##x##NR_);        \
  gk_registry_add(r, &lowrank_v_##MR_##x##NR_);

GEMM_TILES(GEMM_TILE)

void GK_FN(gk_register_gemm)(gk_registry *r) { GEMM_TILES(REGISTER_TILE) }
