/* vm-gpu-kernels.h — one function per operation; each records its
 * dispatch(es) into a graph.  Nothing runs until vm_gpu_graph_submit().
 *
 * Conventions: byte offsets (VmGpuView), element strides; activations are
 * fp32; weights may be fp32 or fp16 (VM_GPU_F16 needs
 * vm_gpu_device_supports_f16()); matrices are row-major.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-graph.h"

G_BEGIN_DECLS

typedef enum {
  VM_GPU_F32,
  VM_GPU_F16,
} VmGpuDType;

/* A tensor's place: @offset bytes into @buffer. */
typedef struct {
  VmGpuBuffer *buffer;
  guint64      offset;
} VmGpuView;

#define VM_GPU_VIEW(buf, off) ((VmGpuView) { (buf), (off) })

typedef enum {
  VM_GPU_EPILOGUE_NONE,
  VM_GPU_EPILOGUE_QUICK_GELU,   /* x·σ(1.702x) */
  VM_GPU_EPILOGUE_GELU,         /* exact, with erf */
} VmGpuEpilogue;

/* C[i] = act(A[i]·B[i]ᵀ + bias) + R[i] for i < batch.
 * A: [m,k] fp32, B: [n,k] (PyTorch Linear weight layout), C and R: [m,n].
 * Leading dimensions 0 mean "packed"; a B batch stride of 0 shares B (and
 * the bias) across the batch. */
typedef struct {
  guint          m, n, k;
  guint          batch;            /* 0 or 1: not batched */
  VmGpuView      a;
  guint          lda;
  guint          a_batch_stride;
  VmGpuView      b;
  guint          ldb;
  guint          b_batch_stride;
  VmGpuDType     b_type;           /* also the bias type */
  VmGpuView      bias;             /* .buffer NULL: no bias */
  VmGpuView      residual;         /* .buffer NULL: no residual */
  guint          ldr;
  guint          residual_batch_stride;
  VmGpuView      c;
  guint          ldc;
  guint          c_batch_stride;
  VmGpuEpilogue  epilogue;
} VmGpuGemm;

gboolean    vm_gpu_gemm (VmGpuGraph       *graph,
                         const VmGpuGemm  *gemm,
                         GError          **error);
/* vm_gpu_gemm(), then vm_gpu_layernorm() of C's rows into @y (one batch, C
 * packed): where the product is split over k, the sum of its slices writes
 * the LayerNorm too, one dispatch fewer (a transformer block's residual
 * sum and the LayerNorm after it).  The same results either way. */
gboolean    vm_gpu_gemm_layernorm (VmGpuGraph       *graph,
                                   const VmGpuGemm  *gemm,
                                   VmGpuView         gamma,
                                   VmGpuView         beta,
                                   VmGpuDType        param_type,
                                   float             eps,
                                   VmGpuView         y,
                                   GError          **error);
/* The shader variant vm_gpu_gemm() uses for @b_type on this device
 * ("gemm_f32", "gemm_f16", or "gemm_coopmat_f16" with NV cooperative
 * matrices; VIDMARK_GPU_NO_COOPMAT=1 turns the latter off).  That family
 * takes the product in one of its forms by shape: split over k for one
 * batch of few rows, fragments straight from the buffers where n and k are
 * multiples of 16, through shared memory otherwise (docs/PERFORMANCE-gpu.md;
 * VIDMARK_GPU_COOPMAT=direct|shared|small|splitk narrows the choice, for
 * tests and benchmarks); up to 16 rows take "gemm_skinny_f16".  CPU drivers
 * get "gemm_texel_bc_f32"/"_f16" (A broadcast across 8-lane subgroups) or
 * "gemm_texel_f32"/"_f16"; VIDMARK_GPU_GEMM=tiled|texel|texel-gather forces
 * one.  The texel kernels fall back to the tiled ones where k, the leading
 * dimensions or the offsets are not multiples of 4. */
const char *vm_gpu_gemm_variant (VmGpuDevice *device,
                                 VmGpuDType   b_type);

/* y = (x - mean)/sqrt(var + eps)·γ + β over rows of @cols (packed rows). */
gboolean vm_gpu_layernorm (VmGpuGraph  *graph,
                           guint        rows,
                           guint        cols,
                           VmGpuView    x,
                           VmGpuView    gamma,
                           VmGpuView    beta,
                           VmGpuDType   param_type,
                           float        eps,
                           VmGpuView    y,
                           GError     **error);

/* y = softmax(scale·x) per row; y may be x. */
gboolean vm_gpu_softmax (VmGpuGraph  *graph,
                         guint        rows,
                         guint        cols,
                         VmGpuView    x,
                         float        scale,
                         VmGpuView    y,
                         GError     **error);

/* y = x / max(‖x‖, 1e-12) per row; y may be x. */
gboolean vm_gpu_l2_normalize (VmGpuGraph  *graph,
                              guint        rows,
                              guint        cols,
                              VmGpuView    x,
                              VmGpuView    y,
                              GError     **error);

/* Multi-head attention over [batch][tokens][ld] tensors; head h occupies
 * columns h·head_dim … of each token row (so one packed QKV projection can
 * be used directly, with offsets 0, D, 2D and ld 3D).  O gets the same
 * layout.  Causal: query i sees keys j ≤ i.  head_dim ≤ 128. */
typedef struct {
  guint      batch, heads, lq, lk, head_dim;
  VmGpuView  q, k, v, o;
  guint      q_ld, k_ld, v_ld, o_ld;  /* 0: heads·head_dim */
  float      scale;                   /* 0: 1/sqrt(head_dim) */
  gboolean   causal;
  /* The products may round Q, K, the probabilities and V to fp16, as the
   * GEMMs with fp16 weights do (cooperative matrices, on GPUs that have
   * them); softmax and sums stay fp32. */
  gboolean   fp16_products;
} VmGpuAttention;

gboolean vm_gpu_attention (VmGpuGraph            *graph,
                           const VmGpuAttention  *attn,
                           GError               **error);
/* The kernel vm_gpu_attention() records for @attn on @device:
 * "attention_lanes_d{16,32,64,80}" on CPU drivers with 8-lane subgroups
 * (16-byte aligned views and strides); on GPUs "attention_cm_d64" (NV
 * cooperative matrices, fp16_products, self-attention of 16 to 80 tokens,
 * heads of 64, 16-byte aligned) or "attention_sg_k{48,80}_f32" (at most 80
 * keys, heads of at most 64); else "attention_f32".
 * $VIDMARK_GPU_ATTENTION=lanes|workgroup|subgroup overrides the choice. */
const char *vm_gpu_attention_variant (VmGpuDevice           *device,
                                      const VmGpuAttention  *attn);

/* CLIP image preprocessing of RGB8 frames (all the same size): bicubic
 * (PIL, a = -0.5, antialiased) resize of the short side to @resize, centre
 * crop @crop×@crop, /255, (v - mean)/std, CHW fp32 [n][3][crop][crop]. */
typedef struct {
  guint      n_frames, width, height;
  guint      row_bytes;           /* 0: width·3 */
  guint      frame_bytes;         /* 0: row_bytes·height */
  VmGpuView  frames;              /* offset a multiple of 4 */
  guint      resize, crop;
  float      mean[3];
  float      std[3];
  VmGpuView  out;
} VmGpuPreprocess;

gboolean vm_gpu_preprocess_clip (VmGpuGraph             *graph,
                                 const VmGpuPreprocess  *pre,
                                 GError                **error);
/* The resized size PIL/Hugging Face use: short side → @resize. */
void     vm_gpu_clip_resize_size (guint  width,
                                  guint  height,
                                  guint  resize,
                                  guint *out_width,
                                  guint *out_height);

/* Patch embedding (a conv with stride = kernel = @patch, no bias):
 * images [n][3][size][size] → tokens [n][(size/patch)²][dim];
 * weight [dim][3][patch][patch]. */
gboolean vm_gpu_patch_embed (VmGpuGraph  *graph,
                             guint        n_images,
                             guint        size,
                             guint        patch,
                             guint        dim,
                             VmGpuView    images,
                             VmGpuView    weight,
                             VmGpuDType   weight_type,
                             VmGpuView    out,
                             GError     **error);

/* out[i][0] = cls + pos[0]; out[i][1+t] = tokens[i][t] + pos[1+t]:
 * tokens [n][n_patches][dim] → out [n][n_patches+1][dim]. */
gboolean vm_gpu_class_pos (VmGpuGraph  *graph,
                           guint        n_images,
                           guint        n_patches,
                           guint        dim,
                           VmGpuView    tokens,
                           VmGpuView    cls,
                           VmGpuView    pos,
                           VmGpuDType   param_type,
                           VmGpuView    out,
                           GError     **error);

/* out[i] = src[indices[i]] for rows of @cols fp32; indices (uint32) ≥ n_src
 * give zero rows. */
gboolean vm_gpu_gather_rows (VmGpuGraph  *graph,
                             guint        n_rows,
                             guint        cols,
                             guint        n_src,
                             VmGpuView    src,
                             VmGpuView    indices,
                             VmGpuView    out,
                             GError     **error);

#define VM_GPU_TOPK_MAX 64

/* Top-k inner products of fp32 queries [n_queries][dim] against fp16 rows
 * [n_rows][dim] (dim a multiple of 4).  Scores [n_queries][k] fp32 and row
 * indices [n_queries][k] uint32, best first (ties: lower index first).
 * Fewer than k rows: the tail is -inf / G_MAXUINT32.  Up to 16 queries take
 * one pass over the database.  Larger batches, on GPUs: one pass per 256
 * queries, a tiled GEMM with the top-k fused into its output step; on CPU
 * drivers (where that measured slower) one pass per 16.  The n_rows ×
 * n_queries matrix is never written.
 * Databases larger than maxStorageBufferRange are processed in chunks. */
typedef struct {
  VmGpuView  queries;
  guint      n_queries;
  VmGpuView  database;
  guint      n_rows;
  guint      dim;
  guint      k;                  /* 1 … VM_GPU_TOPK_MAX */
  VmGpuView  scores;
  VmGpuView  indices;
} VmGpuSimilarity;

gboolean vm_gpu_similarity_topk (VmGpuGraph             *graph,
                                 const VmGpuSimilarity  *sim,
                                 GError                **error);
/* The scoring kernel vm_gpu_similarity_topk() uses: "sim_topk_q{1,4,8,16}_f16"
 * (rows through 16-bit storage), "sim_topk_texel_q{1,4,8,16}_f16" (rows
 * through an RGBA32UI texel buffer, 8 halves a fetch; needs dim % 8 = 0) or,
 * on CPU drivers with 8-lane subgroups and shuffles at dims 512 and 768,
 * "sim_topk_lanes_d{512,768}_q{1,4,8,16}_f16" (the 8 lanes of a subgroup
 * read one row together: the default there), by the number of queries per
 * pass; "sim_topk_gemm_q32_f16" (up to 32 queries) or "sim_topk_gemm_f16"
 * (one pass per 256 queries, tiles of 64) above 16 queries on GPUs.  VIDMARK_GPU_SIMILARITY=storage|texel|texel-generic overrides
 * (texel-generic: the texel kernel, never the lanes one; all three run
 * passes of 16), and =gemm forces the one-pass kernel at any query count. */
const char *vm_gpu_similarity_variant (VmGpuDevice            *device,
                                       const VmGpuSimilarity  *sim);

/* y[i] = x·rows[i] for i < n_rows: x fp32 [dim], rows fp16 [n_rows][dim],
 * y fp32 [n_rows] (a score curve).  On CPU drivers with 8-lane subgroups
 * and shuffles (lavapipe) a dedicated kernel reads each row as contiguous
 * texels with 8 lanes ("gemv_lanes_d{512,768}_f16" with x in registers,
 * "gemv_lanes_f16" at other dims; needs dim % 8 = 0, x and rows 16-byte
 * aligned); elsewhere vm_gpu_gemm() at m = 1.  VIDMARK_GPU_GEMV=gemm
 * forces the latter. */
typedef struct {
  VmGpuView  x;
  VmGpuView  rows;
  guint      n_rows;
  guint      dim;
  VmGpuView  y;
} VmGpuGemv;

gboolean    vm_gpu_gemv_f16     (VmGpuGraph       *graph,
                                 const VmGpuGemv  *gemv,
                                 GError          **error);
/* The kernel vm_gpu_gemv_f16() uses on @device: "gemv_lanes_d512_f16",
 * "gemv_lanes_d768_f16", "gemv_lanes_f16", or vm_gpu_gemm_variant()'s. */
const char *vm_gpu_gemv_variant (VmGpuDevice      *device,
                                 const VmGpuGemv  *gemv);

G_END_DECLS
