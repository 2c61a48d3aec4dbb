/* Fused one-hidden-layer MLP critic for ganbench's seed-axis toy GANs.
 *
 * For S seeds, B samples of K inputs, H hidden units with a (leaky) ReLU of negative slope
 * `slope`, and one output:
 *
 *     p[s,b,j]   = b1[s,j] + sum_i x[s,b,i] W1[s,i,j]
 *     out[s,b]   = b2[s] + sum_j act(p[s,b,j]) w2[s,j]
 *
 * ganbench_critic_forward computes out; ganbench_critic_backward takes g = dL/dout and
 * accumulates the parameter gradients (and, if gx is not NULL, the input gradient), computing
 * p again instead of storing the [S, B, H] activation. A sample's H hidden values live in
 * registers, so the whole critic costs about what its arithmetic costs; written with torch ops
 * it made and read several [S, B, H] tensors (4 MiB each at S = 8, B = 1024, H = 128) and
 * took about a quarter of a ring training step. Layouts are those of ganbench.nets.mlp:
 * W1 [S, K, H], b1 [S, H], w2 [S, H], b2 [S], all contiguous float32.
 *
 * Order of summation is fixed (lanes of LANES hidden units, then lanes in order; samples in
 * blocks of BLOCK, block sums added in order), so results do not depend on anything but the
 * inputs. Hidden units are processed LANES at a time over zero-padded copies of the weights (a
 * padded unit has p = 0 and w2 = 0, so it adds exactly zero everywhere), and each group of
 * LANES units is one GCC vector (vector_size extension: AVX-512 registers where the CPU has
 * them, split into narrower ones where not). Threads: seeds are split among the threads of
 * OpenMP's pool (statically, each seed computed by one thread), so the thread count never
 * changes a result. The parameter-gradient sums run over blocks of BLOCK samples and then over
 * blocks, which keeps float32 rounding error near that of a pairwise sum.
 */
#include <stdint.h>
#include <string.h>

#define LANES 16
#define BLOCK 64
#define MAXK 8      /* inputs per sample (checked by the caller) */
#define MAXH 1024   /* hidden units (checked by the caller) */
#define MAXV (MAXH / LANES)
/* seeds are shared among OpenMP threads (the process's torch pool, see ganbench.kernels) when
   a seed's work (samples x hidden units) is at least this */
#define PARALLEL_WORK 16384

typedef float vf __attribute__((vector_size(4 * LANES), aligned(4 * LANES)));
typedef int32_t vi __attribute__((vector_size(4 * LANES), aligned(4 * LANES)));

/* act(p) = p for p > 0, slope p otherwise; dact its derivative (1 or slope) */
static inline vf act(vf p, vf slope) {
    vi pos = p > 0.0f;
    return (vf)(((vi)p & pos) | ((vi)(p * slope) & ~pos));
}
static inline vf dact(vf p, vf slope) {
    vi pos = p > 0.0f;
    vf one = (vf){0} + 1.0f;
    return (vf)(((vi)one & pos) | ((vi)slope & ~pos));
}
static inline float hsum(vf v) {
    float t = 0.0f;
    for (int l = 0; l < LANES; l++) t += v[l];
    return t;
}

/* One seed's weights as vectors of LANES hidden units, zero-padded. */
typedef struct {
    int64_t K, nv;
    vf W1[MAXK][MAXV], b1[MAXV], w2[MAXV];
} Padded;

static void pad(Padded *P, int64_t K, int64_t H, const float *W1, const float *b1, const float *w2) {
    const int64_t nv = (H + LANES - 1) / LANES;
    P->K = K;
    P->nv = nv;
    /* only the last vector of each row has padding; the rest is overwritten by the copies */
    for (int64_t i = 0; i < K; i++) {
        P->W1[i][nv - 1] = (vf){0};
        memcpy(P->W1[i], W1 + i * H, sizeof(float) * H);
    }
    P->b1[nv - 1] = (vf){0};
    P->w2[nv - 1] = (vf){0};
    memcpy(P->b1, b1, sizeof(float) * H);
    memcpy(P->w2, w2, sizeof(float) * H);
}

static inline vf preact(const Padded *P, const float *xb, int64_t v) {
    vf p = P->b1[v];
    for (int64_t i = 0; i < P->K; i++) p += xb[i] * P->W1[i][v];
    return p;
}

void ganbench_critic_forward(int64_t S, int64_t B, int64_t K, int64_t H, const float *x,
                             const float *W1, const float *b1, const float *w2, const float *b2,
                             float slope, float *out) {
    const vf sl = (vf){0} + slope;
#pragma omp parallel for schedule(static) if (S > 1 && B * H >= PARALLEL_WORK)
    for (int64_t s = 0; s < S; s++) {
        static __thread Padded P;
        pad(&P, K, H, W1 + s * K * H, b1 + s * H, w2 + s * H);
        const int64_t nv = P.nv;
        const float *xs = x + s * B * K;
        int64_t b = 0;
        for (; b + 4 <= B; b += 4) {  /* four samples at a time: four independent chains */
            vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (int64_t v = 0; v < nv; v++) {
                vf p0 = P.b1[v], p1 = P.b1[v], p2 = P.b1[v], p3 = P.b1[v];
                for (int64_t i = 0; i < K; i++) {
                    const vf w = P.W1[i][v];
                    p0 += xs[b * K + i] * w;
                    p1 += xs[(b + 1) * K + i] * w;
                    p2 += xs[(b + 2) * K + i] * w;
                    p3 += xs[(b + 3) * K + i] * w;
                }
                const vf w2v = P.w2[v];
                a0 += act(p0, sl) * w2v;
                a1 += act(p1, sl) * w2v;
                a2 += act(p2, sl) * w2v;
                a3 += act(p3, sl) * w2v;
            }
            out[s * B + b] = b2[s] + hsum(a0);
            out[s * B + b + 1] = b2[s] + hsum(a1);
            out[s * B + b + 2] = b2[s] + hsum(a2);
            out[s * B + b + 3] = b2[s] + hsum(a3);
        }
        for (; b < B; b++) {
            const float *xb = xs + b * K;
            vf acc = {0};
            for (int64_t v = 0; v < nv; v++) acc += act(preact(&P, xb, v), sl) * P.w2[v];
            out[s * B + b] = b2[s] + hsum(acc);
        }
    }
}

/* Gradients of sum_{s,b} g[s,b] out[s,b]. Any of gx, gW1, gb1, gw2, gb2 may be NULL (not
 * needed); the others are overwritten. */
void ganbench_critic_backward(int64_t S, int64_t B, int64_t K, int64_t H, const float *x,
                              const float *W1, const float *b1, const float *w2, float slope,
                              const float *g, float *gx, float *gW1, float *gb1, float *gw2,
                              float *gb2) {
    const vf sl = (vf){0} + slope;
    const int params = gW1 || gb1 || gw2 || gb2;
#pragma omp parallel for schedule(static) if (S > 1 && B * H >= PARALLEL_WORK)
    for (int64_t s = 0; s < S; s++) {
        static __thread Padded P;
        static __thread vf tW1[MAXK][MAXV], tb1[MAXV], tw2[MAXV]; /* one block's sums */
        static __thread vf aW1[MAXK][MAXV], ab1[MAXV], aw2[MAXV]; /* all blocks' sums */
        pad(&P, K, H, W1 + s * K * H, b1 + s * H, w2 + s * H);
        const int64_t nv = P.nv;
        if (params) {
            for (int64_t i = 0; i < K; i++) memset(aW1[i], 0, sizeof(vf) * nv);
            memset(ab1, 0, sizeof(vf) * nv);
            memset(aw2, 0, sizeof(vf) * nv);
        }
        float ab2 = 0.0f;
        for (int64_t b0 = 0; b0 < B; b0 += BLOCK) {
            const int64_t bend = b0 + BLOCK < B ? b0 + BLOCK : B;
            if (params) {
                for (int64_t i = 0; i < K; i++) memset(tW1[i], 0, sizeof(vf) * nv);
                memset(tb1, 0, sizeof(vf) * nv);
                memset(tw2, 0, sizeof(vf) * nv);
            }
            float tb2 = 0.0f;
            for (int64_t b = b0; b < bend; b++) {
                const float *xb = x + (s * B + b) * K;
                const float gb = g[s * B + b];
                tb2 += gb;
                vf gxacc[MAXK];
                for (int64_t i = 0; i < K; i++) gxacc[i] = (vf){0};
                for (int64_t v = 0; v < nv; v++) {
                    vf p = preact(&P, xb, v);
                    vf gp = gb * P.w2[v] * dact(p, sl);
                    if (params) {
                        tw2[v] += gb * act(p, sl);
                        tb1[v] += gp;
                        for (int64_t i = 0; i < K; i++) tW1[i][v] += xb[i] * gp;
                    }
                    if (gx)
                        for (int64_t i = 0; i < K; i++) gxacc[i] += gp * P.W1[i][v];
                }
                if (gx)
                    for (int64_t i = 0; i < K; i++) gx[(s * B + b) * K + i] = hsum(gxacc[i]);
            }
            if (params) {
                for (int64_t v = 0; v < nv; v++) {
                    for (int64_t i = 0; i < K; i++) aW1[i][v] += tW1[i][v];
                    ab1[v] += tb1[v];
                    aw2[v] += tw2[v];
                }
            }
            ab2 += tb2;
        }
        if (gW1)
            for (int64_t i = 0; i < K; i++) memcpy(gW1 + (s * K + i) * H, aW1[i], sizeof(float) * H);
        if (gb1) memcpy(gb1 + s * H, ab1, sizeof(float) * H);
        if (gw2) memcpy(gw2 + s * H, aw2, sizeof(float) * H);
        if (gb2) gb2[s] = ab2;
    }
}
