/* vm-gpu-kernels.c — recording the kernels of shaders/ into graphs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gpu/vm-gpu-kernels.h"
#include "gpu/vm-gpu-private.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

/* ---- push-constant blocks, mirrored from shaders/ ----------------------- */

typedef struct {
  guint32 m, n, k;
  guint32 lda, ldb, ldc, ldr;
  guint32 a_off, b_off, bias_off, c_off, r_off;
  guint32 a_bstride, b_bstride, c_bstride, r_bstride;
  guint32 epilogue;
  guint32 flags;
  guint32 k_split;   /* gemm_coopmat_splitk: k per slice */
} GemmPush;
G_STATIC_ASSERT (sizeof (GemmPush) == 76);

typedef struct {
  guint32 m, n, slices;
  guint32 ldc, ldr;
  guint32 p_off, bias_off, c_off, r_off;
  guint32 epilogue;
  guint32 flags;
  guint32 g_off, b_off, y_off, y_ld;   /* gemm_splitk_reduce_ln */
  float   eps;
} SplitReducePush;
G_STATIC_ASSERT (sizeof (SplitReducePush) == 64);

typedef struct {
  guint32 rows, cols;
  guint32 x_off, x_ld;
  guint32 y_off, y_ld;
  guint32 g_off, b_off;
  float   eps;
} LayerNormPush;
G_STATIC_ASSERT (sizeof (LayerNormPush) == 36);

typedef struct {
  guint32 rows, cols;
  guint32 x_off, x_ld;
  guint32 y_off, y_ld;
  float   scale;
} RowPush;   /* softmax.comp (scale) and l2norm.comp (eps) */
G_STATIC_ASSERT (sizeof (RowPush) == 28);

typedef struct {
  guint32 lq, lk, d, causal;
  guint32 q_off, k_off, v_off, o_off;
  guint32 q_ld, k_ld, v_ld, o_ld;
  guint32 q_bstride, k_bstride, v_bstride, o_bstride;
  float   scale;
} AttentionPush;
G_STATIC_ASSERT (sizeof (AttentionPush) == 68);

typedef struct {
  guint32 width, height;
  guint32 row_bytes, frame_bytes;
  guint32 in_off_bytes;
  guint32 out_w, ksize;
  guint32 n_frames;
} ResizeHPush;
G_STATIC_ASSERT (sizeof (ResizeHPush) == 32);

typedef struct {
  guint32 in_h, out_w, out_h, ksize;
  guint32 n_frames, out_off;
  float   mean[3];
  float   istd[3];
} ResizeVPush;
G_STATIC_ASSERT (sizeof (ResizeVPush) == 48);

typedef struct {
  guint32 size, patch, dim, side;
  guint32 img_off, w_off, out_off, n_images;
} PatchPush;
G_STATIC_ASSERT (sizeof (PatchPush) == 32);

typedef struct {
  guint32 n_tokens, dim, n_images;
  guint32 t_off, cls_off, pos_off, out_off;
} ClassPosPush;
G_STATIC_ASSERT (sizeof (ClassPosPush) == 28);

typedef struct {
  guint32 n_rows, cols, n_src;
  guint32 src_off, src_ld, idx_off, out_off, out_ld;
} GatherPush;
G_STATIC_ASSERT (sizeof (GatherPush) == 32);

typedef struct {
  guint32 n_rows, d4, n_queries, k;
  guint32 db_off4, q_off4, rows_per_wg, slot_base;
  guint32 n_slots, row_base, q_base;
} SimPush;
G_STATIC_ASSERT (sizeof (SimPush) == 44);

typedef struct {
  guint32 n_cand, k, score_off, index_off;
} MergePush;
G_STATIC_ASSERT (sizeof (MergePush) == 16);

/* ---- pipeline descriptions ------------------------------------------------ */

#define DESC(ident, name, bindings, push, lx, ly) \
  static const VmGpuPipelineDesc ident = { name, bindings, sizeof (push), { lx, ly, 1 }, 0 };

DESC (gemm_f32_desc, "gemm_f32", 5, GemmPush, 256, 1)
DESC (gemm_f16_desc, "gemm_f16", 5, GemmPush, 256, 1)
/* gemm_coopmat tiles: must match the -D arguments in shaders/meson.build. */
DESC (gemm_coopmat_desc, "gemm_coopmat_f16", 5, GemmPush, 256, 1)      /* 128 × 128, vector loads */
DESC (gemm_coopmat_s_desc, "gemm_coopmat_s_f16", 5, GemmPush, 128, 1)  /* 32 × 64, vector loads */
DESC (gemm_coopmat_u_desc, "gemm_coopmat_u_f16", 5, GemmPush, 128, 1)  /* 32 × 64, any alignment */
/* Large products with n and k multiples of 16 (and m ≥ 16): no shared
 * stages, every subgroup loading its fragments from the buffers; 128 × 128. */
DESC (gemm_coopmat_direct_desc, "gemm_coopmat_direct_f16", 5, GemmPush, 128, 1)
/* Few rows (one batch): 64 × 64 tiles over slices of k, into a scratch
 * that gemm_splitk_reduce adds up with the epilogue. */
DESC (gemm_coopmat_splitk_desc, "gemm_coopmat_splitk_f16", 5, GemmPush, 128, 1)
/* The direct form in 64 × 64 tiles: products with too few 128 × 128 ones. */
DESC (gemm_coopmat_direct_s_desc, "gemm_coopmat_direct_s_f16", 5, GemmPush, 128, 1)
DESC (gemm_splitk_reduce_desc, "gemm_splitk_reduce", 4, SplitReducePush, 256, 1)
/* Few rows, k up to WSPLIT_MAX_K: 64 rows × 32 columns per workgroup, k
 * over its 8 subgroups, summed in the same pass (shaders/meson.build). */
DESC (gemm_coopmat_wsplit_desc, "gemm_coopmat_wsplit_f16", 5, GemmPush, 256, 1)
#define WSPLIT_COLS 32u
#define WSPLIT_MAX_K 1024u
#define WSPLIT_MAX_ROWS 128u
/* The same, a workgroup per row, also writing the row's LayerNorm. */
DESC (gemm_splitk_reduce_ln_desc, "gemm_splitk_reduce_ln", 7, SplitReducePush, 256, 1)
#define SPLITK_LN_MAX_COLS 2048u
#define SPLITK_TILE 64u
/* gemm_skinny: rows at most, columns per workgroup (shaders/gemm_skinny.comp). */
DESC (gemm_skinny_desc, "gemm_skinny_f16", 5, GemmPush, 128, 1)
DESC (gemm_skinny8_desc, "gemm_skinny8_f16", 5, GemmPush, 128, 1)   /* at most 8 rows */
#define GEMM_SKINNY_MR 16u
#define GEMM_SKINNY_CPS 4u
/* gemm_texel block shape: must match the -D arguments in shaders/meson.build. */
#define GEMM_TEXEL_RM 16u     /* output rows per workgroup */
#define GEMM_TEXEL_CN 6u     /* output columns per invocation */
#define GEMM_TEXEL_WG 32u    /* invocations per workgroup */
#define GEMM_TEXEL_ROWS_X 0  /* 1: workgroup x walks row blocks */
#define GEMM_TEXEL_A_TEXEL 1 /* 1: A is read through a texel buffer too */
#define GEMM_TEXEL_BINDINGS ((1u << 1) | (GEMM_TEXEL_A_TEXEL ? 1u : 0u))
static const VmGpuPipelineDesc gemm_texel_f32_desc = { "gemm_texel_f32", 5, sizeof (GemmPush), { GEMM_TEXEL_WG, 1, 1 }, GEMM_TEXEL_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_f16_desc = { "gemm_texel_f16", 5, sizeof (GemmPush), { GEMM_TEXEL_WG, 1, 1 }, GEMM_TEXEL_BINDINGS };
/* The same with A's texels broadcast across 8-lane subgroups (-DA_BCAST=8u,
 * so only where has_lanes8()). */
/* ... which read the residual (binding 3) through an RGBA32F texel buffer. */
#define GEMM_TEXEL_BC_BINDINGS (GEMM_TEXEL_BINDINGS | (1u << 3))
#define GEMM_TEXEL_BC_RM 40u
#define GEMM_TEXEL_BC_CN 6u
#define GEMM_TEXEL_BC_WG 32u
/* ... and its form for short A (m ≤ GEMM_TEXEL_BCS_MAX_M: one text query, a
 * pooled block): 16 rows × 4 columns, so fewer rows are computed for nothing
 * and more workgroups share the work (16×512×1536: 10.4 → 21.5 GFLOP per
 * CPU-second). */
#define GEMM_TEXEL_BCS_RM 16u
#define GEMM_TEXEL_BCS_CN 4u
#define GEMM_TEXEL_BCS_MAX_M 64u
/* ... and 32 rows × 4 columns (128 per workgroup), as efficient per output
 * (docs/PERFORMANCE-gpu.md), for shapes the 24 × 192 blocks would pad: the
 * text tower's n = 512 GEMMs computed 576 columns. */
#define GEMM_TEXEL_BC4_RM 32u
#define GEMM_TEXEL_BC4_CN 4u
static const VmGpuPipelineDesc gemm_texel_bc4_f32_desc = { "gemm_texel_bc4_f32", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_bc4_f16_desc = { "gemm_texel_bc4_f16", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_bc_f32_desc = { "gemm_texel_bc_f32", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_bc_f16_desc = { "gemm_texel_bc_f16", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_bcs_f32_desc = { "gemm_texel_bcs_f32", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
static const VmGpuPipelineDesc gemm_texel_bcs_f16_desc = { "gemm_texel_bcs_f16", 5, sizeof (GemmPush), { GEMM_TEXEL_BC_WG, 1, 1 }, GEMM_TEXEL_BC_BINDINGS };
DESC (layernorm_f32_desc, "layernorm_f32", 4, LayerNormPush, 256, 1)
DESC (layernorm_f16_desc, "layernorm_f16", 4, LayerNormPush, 256, 1)
static const VmGpuPipelineDesc layernorm_rows_desc = { "layernorm_rows", 4, sizeof (LayerNormPush), { 64, 1, 1 }, 0x7 };
DESC (softmax_desc, "softmax_f32", 2, RowPush, 256, 1)
DESC (l2norm_desc, "l2norm_f32", 2, RowPush, 256, 1)
DESC (attention_desc, "attention_f32", 4, AttentionPush, 64, 1)
DESC (attention_cm_desc, "attention_cm_d64", 4, AttentionPush, 160, 1)
DESC (attention_sg_k80_desc, "attention_sg_k80_f32", 4, AttentionPush, 128, 1)
DESC (attention_sg_k48_desc, "attention_sg_k48_f32", 4, AttentionPush, 128, 1)
DESC (resize_h_desc, "resize_h", 4, ResizeHPush, 64, 4)
DESC (resize_v_desc, "resize_v", 4, ResizeVPush, 64, 4)
static const VmGpuPipelineDesc resize_v_texel_desc = { "resize_v_texel", 4, sizeof (ResizeVPush), { 64, 1, 1 }, 1u << 0 };
DESC (patch_f32_desc, "patch_embed_f32", 3, PatchPush, 64, 1)
DESC (patch_f16_desc, "patch_embed_f16", 3, PatchPush, 64, 1)
DESC (class_pos_f32_desc, "class_pos_f32", 4, ClassPosPush, 64, 1)
DESC (class_pos_f16_desc, "class_pos_f16", 4, ClassPosPush, 64, 1)
DESC (gather_desc, "gather_rows_f32", 3, GatherPush, 64, 1)
/* [texel][queries per pass: 1, 4, 8, 16] */
static const guint sim_widths[4] = { 1, 4, 8, 16 };
static const VmGpuPipelineDesc sim_descs[2][4] = {
  {
    { "sim_topk_q1_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 0, 1u << 1 },
    { "sim_topk_q4_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 0, 1u << 1 },
    { "sim_topk_q8_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 0, 1u << 1 },
    { "sim_topk_q16_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 0, 1u << 1 },
  },
  {
    { "sim_topk_texel_q1_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
    { "sim_topk_texel_q4_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
    { "sim_topk_texel_q8_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
    { "sim_topk_texel_q16_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
  },
};
/* Texel variants with the dimension fixed at compile time (CPU drivers):
 * [dimension: 512, 768][queries per pass: 1, 4, 8, 16] */
static const guint sim_dims[2] = { 512, 768 };
#define SIM_DIM_DESC(d, q) \
  { "sim_topk_lanes_d" #d "_q" #q "_f16", 3, sizeof (SimPush), { 64, 1, 1 }, 1u << 0, 1u << 1 }
static const VmGpuPipelineDesc sim_dim_descs[2][4] = {
  { SIM_DIM_DESC (512, 1), SIM_DIM_DESC (512, 4), SIM_DIM_DESC (512, 8), SIM_DIM_DESC (512, 16) },
  { SIM_DIM_DESC (768, 1), SIM_DIM_DESC (768, 4), SIM_DIM_DESC (768, 8), SIM_DIM_DESC (768, 16) },
};
DESC (merge_desc, "topk_merge", 3, MergePush, 64, 1)
/* More than 16 queries in one pass (sim_topk_gemm.comp): rows fp16 and
 * queries fp32 through storage buffers, partials, per-workgroup lists. */
static const VmGpuPipelineDesc sim_gemm_descs[2] = {
  { "sim_topk_gemm_q32_f16", 4, sizeof (SimPush), { 256, 1, 1 }, 0, 0 },   /* tiles of 32 queries */
  { "sim_topk_gemm_f16", 4, sizeof (SimPush), { 256, 1, 1 }, 0, 0 },       /* tiles of 64 */
};
#define SIM_GEMM_QPASS 256     /* most queries per dispatch (QPASS) */
#define SIM_GEMM_CAP 128       /* list entries per query per workgroup (CAP) */
#define SIM_GEMM_SHARED 20484  /* bytes of shared memory the shader declares (64-query tiles) */

#define SIM_TILE 64

/* ---- helpers --------------------------------------------------------------- */

static gboolean
invalid (GError     **error,
         const char  *op,
         const char  *what)
{
  g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
               _("Invalid arguments to the GPU operation %s: %s"), op, what);
  return FALSE;
}

static gsize
dtype_size (VmGpuDType type)
{
  return type == VM_GPU_F16 ? 2 : 4;
}

static gboolean
check_f16 (VmGpuGraph  *graph,
           VmGpuDType   type,
           GError     **error)
{
  if (type == VM_GPU_F16 && !vm_gpu_device_supports_f16 (vm_gpu_graph_get_device (graph)))
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("This GPU cannot read fp16 weights (no 16-bit storage); use fp32"));
      return FALSE;
    }
  return TRUE;
}

/* Binds @n_bytes of @view, aligning the binding's start down to the device's
 * offset alignment; *elem_off receives the remainder in @elem_size units. */
static gboolean
bind_view_aligned (VmGpuGraph   *graph,
                   VmGpuView     view,
                   guint64       n_bytes,
                   guint         elem_size,
                   guint64       align,
                   VmGpuAccess   access,
                   VmGpuBinding *binding,
                   guint32      *elem_off,
                   const char   *op,
                   GError      **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  guint64 start, rem, range, size;

  if (view.buffer == NULL)
    return invalid (error, op, "missing buffer");
  size = view.buffer->size;
  if (view.offset > size || n_bytes > size - view.offset || n_bytes == 0)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT,
                   _("Invalid arguments to the GPU operation %s: a tensor of %" PRIu64
                     " bytes at offset %" PRIu64 " overruns a buffer of %" PRIu64),
                   op, n_bytes, view.offset, size);
      return FALSE;
    }
  start = view.offset / align * align;
  rem = view.offset - start;
  if (rem % elem_size != 0)
    return invalid (error, op, "misaligned tensor offset");
  range = MIN ((rem + n_bytes + 3) / 4 * 4, size - start);
  if (range > device->limits.maxStorageBufferRange)
    {
      g_set_error (error, VM_GPU_ERROR, VM_GPU_ERROR_UNSUPPORTED,
                   _("The GPU operation %s needs a %" PRIu64 "-byte tensor; this device binds at most %u"),
                   op, n_bytes, device->limits.maxStorageBufferRange);
      return FALSE;
    }
  *binding = (VmGpuBinding) { view.buffer, start, range, access };
  *elem_off = (guint32) (rem / elem_size);
  return TRUE;
}

static gboolean
bind_view (VmGpuGraph   *graph,
           VmGpuView     view,
           guint64       n_bytes,
           guint         elem_size,
           VmGpuAccess   access,
           VmGpuBinding *binding,
           guint32      *elem_off,
           const char   *op,
           GError      **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);

  return bind_view_aligned (graph, view, n_bytes, elem_size, device->limits.minStorageBufferOffsetAlignment,
                            access, binding, elem_off, op, error);
}

/* The offset alignment of a view bound as a storage buffer, or also as a
 * texel buffer when @texel. */
static guint64
view_align (VmGpuDevice *device,
            gboolean     texel)
{
  guint64 storage = device->limits.minStorageBufferOffsetAlignment;

  return texel ? MAX (device->limits.minTexelBufferOffsetAlignment, storage) : storage;
}

static guint
div_up (guint64 a,
        guint64 b)
{
  return (guint) ((a + b - 1) / b);
}

/* ---- choosing between the GPU and the CPU-driver kernels ----------------------- */

/* Whether to take a kernel written for CPU drivers: $@var set to @off
 * refuses it, to @on or @on2 forces it; otherwise CPU devices take it. */
static gboolean
prefer_cpu_form (VmGpuDevice *device,
                 const char  *var,
                 const char  *off,
                 const char  *on,
                 const char  *on2)
{
  const char *env = g_getenv (var);

  if (g_strcmp0 (env, off) == 0)
    return FALSE;
  return g_strcmp0 (env, on) == 0 || (on2 != NULL && g_strcmp0 (env, on2) == 0) ||
         device->info->type == VM_GPU_DEVICE_TYPE_CPU;
}

/* The "lanes" kernels (subgroup shuffles across 8 lanes: lavapipe on 256-bit
 * SIMD) need subgroups of exactly 8 with shuffles. */
static gboolean
has_lanes8 (VmGpuDevice *device)
{
  return device->info->subgroup_size == 8 &&
         (device->info->subgroup_operations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
}

/* ---- GEMM -------------------------------------------------------------------- */

static gboolean
prefer_texel_gemm (VmGpuDevice *device,
                   VmGpuDType   b_type)
{
  if (b_type == VM_GPU_F16 && !device->texel_f16)
    return FALSE;
  return prefer_cpu_form (device, "VIDMARK_GPU_GEMM", "tiled", "texel", "texel-gather");
}

/* The broadcast form needs 8-lane subgroups with shuffles. */
static gboolean
texel_bcast (VmGpuDevice *device)
{
  return g_strcmp0 (g_getenv ("VIDMARK_GPU_GEMM"), "texel-gather") != 0 && has_lanes8 (device);
}

/* The broadcast kernel's block shapes (rows, columns per lane). */
typedef struct {
  const VmGpuPipelineDesc *f32, *f16;
  guint                    rm, cn;
} TexelBlock;

static const TexelBlock texel_bc_blocks[] = {
  { &gemm_texel_bc_f32_desc, &gemm_texel_bc_f16_desc, GEMM_TEXEL_BC_RM, GEMM_TEXEL_BC_CN },
  { &gemm_texel_bc4_f32_desc, &gemm_texel_bc4_f16_desc, GEMM_TEXEL_BC4_RM, GEMM_TEXEL_BC4_CN },
  { &gemm_texel_bcs_f32_desc, &gemm_texel_bcs_f16_desc, GEMM_TEXEL_BCS_RM, GEMM_TEXEL_BCS_CN },
};

/* Outputs @b's grid computes for an m × n product, padding included. */
static guint64
texel_bc_padded (const TexelBlock *b,
                 guint             m,
                 guint             n)
{
  return (guint64) div_up (m, b->rm) * b->rm * div_up (n, GEMM_TEXEL_BC_WG * b->cn) * GEMM_TEXEL_BC_WG * b->cn;
}

/* The short form for short A; else 40 × 6, or 32 × 4 where that pads over
 * 1 % less. */
static const TexelBlock *
texel_bc_block (guint m,
                guint n)
{
  if (m <= GEMM_TEXEL_BCS_MAX_M)
    return &texel_bc_blocks[2];
  if (texel_bc_padded (&texel_bc_blocks[1], m, n) * 100 < texel_bc_padded (&texel_bc_blocks[0], m, n) * 99)
    return &texel_bc_blocks[1];
  return &texel_bc_blocks[0];
}

const char *
vm_gpu_gemm_variant (VmGpuDevice *device,
                     VmGpuDType   b_type)
{
  const char *no_coop = g_getenv ("VIDMARK_GPU_NO_COOPMAT");

  if (prefer_texel_gemm (device, b_type) && texel_bcast (device))
    return b_type == VM_GPU_F16 ? gemm_texel_bc_f16_desc.name : gemm_texel_bc_f32_desc.name;
  if (prefer_texel_gemm (device, b_type))
    return b_type == VM_GPU_F16 ? gemm_texel_f16_desc.name : gemm_texel_f32_desc.name;
  if (b_type == VM_GPU_F32)
    return gemm_f32_desc.name;
  if (device->info->cooperative_matrix_nv && device->info->subgroup_size == 32 &&
      !(no_coop != NULL && g_str_equal (no_coop, "1")))
    return gemm_coopmat_desc.name;
  return gemm_f16_desc.name;
}

/* gemm_skinny: GPUs (or VIDMARK_GPU_GEMM=skinny), fp16 B, subgroup sums. */
static gboolean
skinny_usable (VmGpuDevice *device,
               VmGpuDType   b_type,
               guint        m)
{
  /* Its shared sums hold 32 subgroups of 128 threads at most. */
  if (b_type != VM_GPU_F16 || m > GEMM_SKINNY_MR || device->info->subgroup_size < 4 ||
      (device->info->subgroup_operations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) == 0)
    return FALSE;
  return g_strcmp0 (g_getenv ("VIDMARK_GPU_GEMM"), "skinny") == 0 ||
         (device->info->type != VM_GPU_DEVICE_TYPE_CPU && g_getenv ("VIDMARK_GPU_GEMM") == NULL);
}

/* The variant for @m rows: up to 16 rows (a short text, a few queries, a
 * GEMV) the tiles of the other kernels would be mostly padding, and
 * cooperative matrices would round the rows to fp16.  @vec8: k, strides
 * and batch strides allow the 8-half vector loads gemm_skinny needs. */
static const char *
gemm_variant_for_rows (VmGpuDevice *device,
                       VmGpuDType   b_type,
                       guint        m,
                       gboolean     vec8)
{
  const char *variant = vm_gpu_gemm_variant (device, b_type);

  if (vec8 && skinny_usable (device, b_type, m))
    return gemm_skinny_desc.name;
  if (m < 16 && g_str_equal (variant, gemm_coopmat_desc.name))
    return gemm_f16_desc.name;
  return variant;
}

/* The direct cooperative-matrix forms with A's and B's row strides as a
 * specialisation constant (a pipeline per pair; they fit 16 bits each in
 * any CLIP model), else as they are. */
static gboolean
dispatch_direct (VmGpuGraph               *graph,
                 const VmGpuPipelineDesc  *desc,
                 const VmGpuBinding       *bind,
                 const GemmPush           *push,
                 guint                     groups_x,
                 guint                     groups_y,
                 guint                     groups_z,
                 GError                  **error)
{
  VmGpuPipelineDesc spec = *desc;
  GemmPush vpush = *push;

  /* Bit 2: the epilogue in vectors (8 halves of bias, vec4 of R and C). */
  if (push->ldc % 4 == 0 && push->c_off % 4 == 0 && push->c_bstride % 4 == 0 &&
      (!(push->flags & 1) || push->bias_off % 8 == 0) &&
      (!(push->flags & 2) || (push->ldr % 4 == 0 && push->r_off % 4 == 0 && push->r_bstride % 4 == 0)))
    vpush.flags |= 4;
  push = &vpush;
  if (push->lda < 65536 && push->ldb < 65536)
    {
      spec.has_spec = TRUE;
      spec.spec = push->lda | (push->ldb << 16);
    }
  return vm_gpu_graph_dispatch (graph, &spec, bind, 5, push, sizeof *push, groups_x, groups_y, groups_z, error);
}

/* The shapes the direct cooperative-matrix forms (and the split over k)
 * take: whole 16 × 16 fragments along n and k, at least one along m. */
static gboolean
coop_direct_shape (const VmGpuGemm *g)
{
  return g->m >= 16 && g->n % 16 == 0 && g->k % 16 == 0;
}

/* Slices of k for a product of few rows on the cooperative-matrix path,
 * 0 or 1 for none: split where its 64 × 64 tiles would leave most of the
 * device idle while each walks a long k (one batch; n, k multiples of 16,
 * m ≥ 16; at least 128 of k per slice), and in two for deep products of up
 * to 1600 rows (k ≥ 2048: a ViT's MLP down-projection and patch embedding
 * at batches of 16 to 32; on an H100 800×3072×768 took 0.104 against
 * 0.130 ms, 1600×3072×768 0.169 against 0.193).
 * $VIDMARK_GPU_COOPMAT=splitk splits whatever it can, any other value
 * nothing. */
static guint
splitk_slices (const VmGpuGemm *g,
               guint            batch)
{
  const char *form = g_getenv ("VIDMARK_GPU_COOPMAT");
  gboolean forced = g_strcmp0 (form, "splitk") == 0;
  guint tiles = div_up (g->m, SPLITK_TILE) * div_up (g->n, SPLITK_TILE);
  guint slices;

  if ((form != NULL && !forced) || batch != 1 || !coop_direct_shape (g) || g->k < 256)
    return 0;
  if (tiles >= 128 && !forced)
    return g->k >= 2048 && g->m <= 1600 ? 2 : 0;
  slices = MIN (div_up (256, tiles), g->k / 128);
  return forced ? MAX (slices, 2) : slices;
}

/* Whether a product of few rows takes the one-pass form
 * (gemm_coopmat_wsplit) rather than the split over slices of k and its
 * sum: where the split would be taken, k is at most WSPLIT_MAX_K (at most
 * 8 steps per subgroup), m at most WSPLIT_MAX_ROWS, and no LayerNorm is to
 * be written in the same pass (the split's sum writes it in the same
 * dispatch; the one pass and a LayerNorm of its own took longer).  On an
 * H100, 50 × 768 × 2304 took 0.012 ms against 0.016 split and summed,
 * 50 × 768 × 3072 0.012 against 0.019, and one image's latency went from
 * 1.23 to 1.16 ms.  Tiles of 16 columns took longer (one image's 23
 * products 0.396 against 0.347 ms), as did tiles of 64 (0.016 against
 * 0.012 ms at 50 × 768 × 2304) and 16 subgroups over k.
 * $VIDMARK_GPU_FEW_ROWS=splitk (tests, benchmarks) or a form forced with
 * $VIDMARK_GPU_COOPMAT: never. */
static gboolean
wsplit_taken (const VmGpuGemm *g,
              guint            batch,
              gboolean         with_ln)
{
  return !with_ln && g_getenv ("VIDMARK_GPU_COOPMAT") == NULL &&
         g_strcmp0 (g_getenv ("VIDMARK_GPU_FEW_ROWS"), "splitk") != 0 &&
         splitk_slices (g, batch) >= 2 && g->k <= WSPLIT_MAX_K && g->m <= WSPLIT_MAX_ROWS;
}

/* vm_gpu_gemm_layernorm()'s LayerNorm of C's rows, for the forms that
 * can write it in the same pass (@done then set). */
typedef struct {
  VmGpuView   gamma, beta, y;
  VmGpuDType  param_type;
  float       eps;
  gboolean    done;
} GemmLayerNorm;

/* The product over @slices slices of k into a scratch, then the sum of the
 * slices with the epilogue into C (and with @ln, where C's rows fit one
 * workgroup, each row's LayerNorm into ln->y). */
static gboolean
gemm_splitk (VmGpuGraph          *graph,
             const VmGpuGemm     *g,
             GemmPush            *push,
             const VmGpuBinding  *bind,
             guint                slices,
             GemmLayerNorm       *ln,
             GError             **error)
{
  guint k_split = div_up (div_up (g->k, slices), 16) * 16;
  guint64 part_size;
  VmGpuBuffer *part;
  VmGpuBinding split_bind[5], reduce_bind[7];
  GemmPush split = *push;
  SplitReducePush reduce = {
    .m = g->m, .n = g->n,
    .ldc = push->ldc, .ldr = push->ldr,
    .bias_off = push->bias_off, .c_off = push->c_off, .r_off = push->r_off,
    .epilogue = push->epilogue, .flags = push->flags,
  };

  slices = div_up (g->k, k_split);
  part_size = (guint64) slices * g->m * g->n * 4;
  part = vm_gpu_graph_scratch (graph, part_size, error);
  if (part == NULL)
    return FALSE;

  memcpy (split_bind, bind, sizeof split_bind);
  split_bind[4] = (VmGpuBinding) { part, 0, part_size, VM_GPU_ACCESS_WRITE };
  split.c_off = 0;
  split.ldc = g->n;
  split.c_bstride = g->m * g->n;
  split.k_split = k_split;
  split.flags = 0;
  if (!dispatch_direct (graph, &gemm_coopmat_splitk_desc, split_bind, &split,
                        div_up (g->n, SPLITK_TILE) * slices, div_up (g->m, SPLITK_TILE), 1, error))
    return FALSE;

  reduce.slices = slices;
  reduce_bind[0] = (VmGpuBinding) { part, 0, part_size, VM_GPU_ACCESS_READ };
  reduce_bind[1] = bind[2];
  reduce_bind[2] = bind[3];
  reduce_bind[3] = bind[4];
  if (ln != NULL && g->n <= SPLITK_LN_MAX_COLS && ln->param_type == VM_GPU_F16)
    {
      const char *op = "GEMM with LayerNorm";

      if (!bind_view (graph, ln->gamma, 2ull * g->n, 2, VM_GPU_ACCESS_READ, &reduce_bind[4], &reduce.g_off, op,
                      error) ||
          !bind_view (graph, ln->beta, 2ull * g->n, 2, VM_GPU_ACCESS_READ, &reduce_bind[5], &reduce.b_off, op,
                      error) ||
          !bind_view (graph, ln->y, 4ull * g->m * g->n, 4, VM_GPU_ACCESS_WRITE, &reduce_bind[6], &reduce.y_off, op,
                      error))
        return FALSE;
      reduce.y_ld = g->n;
      reduce.eps = ln->eps;
      ln->done = TRUE;
      return vm_gpu_graph_dispatch (graph, &gemm_splitk_reduce_ln_desc, reduce_bind, 7, &reduce, sizeof reduce,
                                    g->m, 1, 1, error);
    }
  return vm_gpu_graph_dispatch (graph, &gemm_splitk_reduce_desc, reduce_bind, 4, &reduce, sizeof reduce,
                                div_up (g->m * g->n, 256), 1, 1, error);
}

static gboolean
gemm_record (VmGpuGraph       *graph,
             const VmGpuGemm  *g,
             GemmLayerNorm    *ln,
             GError          **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  const char *op = "GEMM";
  guint batch = MAX (g->batch, 1);
  guint lda = g->lda ? g->lda : g->k;
  guint ldb = g->ldb ? g->ldb : g->k;
  guint ldc = g->ldc ? g->ldc : g->n;
  guint ldr = g->ldr ? g->ldr : g->n;
  gsize wsize = dtype_size (g->b_type);
  VmGpuBinding bind[5];
  GemmPush push = { 0 };
  const VmGpuPipelineDesc *desc;
  const char *variant;
  gboolean texel, vec8;

  if (g->m == 0 || g->n == 0 || g->k == 0)
    return invalid (error, op, "empty matrix");
  if (lda < g->k || ldb < g->k || ldc < g->n || ldr < g->n)
    return invalid (error, op, "leading dimension smaller than the row");
  if (batch > 1 && (g->a_batch_stride == 0 || g->c_batch_stride == 0))
    return invalid (error, op, "batched without A or C batch strides");
  if (!check_f16 (graph, g->b_type, error))
    return FALSE;

  /* k in whole 8-half vectors, A's strides in whole vec4, B's in whole
   * 8-half vectors: the vector loads of gemm_skinny and gemm_coopmat
   * (which also need the bound offsets so aligned, known after binding). */
  vec8 = g->k % 8 == 0 && lda % 4 == 0 && ldb % 8 == 0 && g->a_batch_stride % 4 == 0 && g->b_batch_stride % 8 == 0;
  variant = gemm_variant_for_rows (device, g->b_type, g->m, vec8);
  /* The texel kernel (CPU drivers) needs 4-aligned k, strides and views. */
  texel = g_str_has_prefix (variant, "gemm_texel") &&
          g->k % 4 == 0 && lda % 4 == 0 && ldb % 4 == 0 &&
          g->a_batch_stride % 4 == 0 && g->b_batch_stride % 4 == 0 &&
          g->a.offset % 16 == 0 && g->b.offset % (wsize * 4) == 0;
  if (g_str_has_prefix (variant, "gemm_texel") && !texel)
    variant = g->b_type == VM_GPU_F16 ? gemm_f16_desc.name : gemm_f32_desc.name;

  push.m = g->m;
  push.n = g->n;
  push.k = g->k;
  push.lda = lda;
  push.ldb = ldb;
  push.ldc = ldc;
  push.ldr = ldr;
  push.a_bstride = g->a_batch_stride;
  push.b_bstride = g->b_batch_stride;
  push.c_bstride = g->c_batch_stride;
  push.r_bstride = g->residual_batch_stride;
  push.epilogue = g->epilogue;

  if (!bind_view_aligned (graph, g->a, 4 * ((guint64) (batch - 1) * g->a_batch_stride + (guint64) (g->m - 1) * lda + g->k),
                          texel ? 16 : 4,
                          view_align (device, texel && GEMM_TEXEL_A_TEXEL),
                          VM_GPU_ACCESS_READ, &bind[0], &push.a_off, op, error) ||
      !bind_view_aligned (graph, g->b,
                          wsize * ((guint64) (batch - 1) * g->b_batch_stride + (guint64) (g->n - 1) * ldb + g->k),
                          texel ? wsize * 4 : wsize,
                          view_align (device, texel),
                          VM_GPU_ACCESS_READ, &bind[1], &push.b_off, op, error) ||
      !bind_view (graph, g->c, 4 * ((guint64) (batch - 1) * g->c_batch_stride + (guint64) (g->m - 1) * ldc + g->n),
                  4, VM_GPU_ACCESS_WRITE, &bind[4], &push.c_off, op, error))
    return FALSE;

  if (g->bias.buffer != NULL)
    {
      if (!bind_view (graph, g->bias, wsize * g->n, wsize, VM_GPU_ACCESS_READ, &bind[2], &push.bias_off, op, error))
        return FALSE;
      push.flags |= 1;
    }
  else
    bind[2] = (VmGpuBinding) { bind[1].buffer, bind[1].offset, bind[1].range, VM_GPU_ACCESS_READ };

  if (g->residual.buffer != NULL)
    {
      if (batch > 1 && g->residual_batch_stride == 0)
        return invalid (error, op, "batched residual without a batch stride");
      /* Aligned for a texel buffer too: the broadcast kernel reads it so. */
      if (!bind_view_aligned (graph, g->residual,
                              4 * ((guint64) (batch - 1) * g->residual_batch_stride + (guint64) (g->m - 1) * ldr + g->n),
                              4,
                              view_align (device, texel),
                              VM_GPU_ACCESS_READ, &bind[3], &push.r_off, op, error))
        return FALSE;
      push.flags |= 2;
    }
  else
    bind[3] = (VmGpuBinding) { bind[0].buffer, bind[0].offset, bind[0].range, VM_GPU_ACCESS_READ };

  if (texel)
    {
      bind[1].texel_format = g->b_type == VM_GPU_F16 ? VM_GPU_TEXEL_RGBA16F : VM_GPU_TEXEL_RGBA32F;
      bind[0].texel_format = VM_GPU_TEXEL_RGBA32F;
      desc = g->b_type == VM_GPU_F16 ? &gemm_texel_f16_desc : &gemm_texel_f32_desc;
      /* The broadcast kernel reads the residual in whole RGBA32F texels. */
      if (texel_bcast (device) &&
          (!(push.flags & 2) ||
           (g->n % 4 == 0 && ldr % 4 == 0 && push.r_off % 4 == 0 && push.r_bstride % 4 == 0)))
        {
          /* The epilogue as a specialisation constant: llvmpipe would
           * otherwise evaluate every branch of it for every output. */
          const TexelBlock *block = texel_bc_block (g->m, g->n);
          VmGpuPipelineDesc spec = *(g->b_type == VM_GPU_F16 ? block->f16 : block->f32);

          bind[3].texel_format = VM_GPU_TEXEL_RGBA32F;
          spec.has_spec = TRUE;
          spec.spec = push.epilogue | (push.flags << 2);
          return vm_gpu_graph_dispatch (graph, &spec, bind, 5, &push, sizeof push,
                                        div_up (g->n, GEMM_TEXEL_BC_WG * block->cn), div_up (g->m, block->rm),
                                        batch, error);
        }
      if (GEMM_TEXEL_ROWS_X)
        return vm_gpu_graph_dispatch (graph, desc, bind, 5, &push, sizeof push,
                                      div_up (g->m, GEMM_TEXEL_RM), div_up (g->n, GEMM_TEXEL_WG * GEMM_TEXEL_CN),
                                      batch, error);
      return vm_gpu_graph_dispatch (graph, desc, bind, 5, &push, sizeof push,
                                    div_up (g->n, GEMM_TEXEL_WG * GEMM_TEXEL_CN), div_up (g->m, GEMM_TEXEL_RM),
                                    batch, error);
    }
  /* The skinny kernel reads A as vec4 and B as 8-half vectors from the
   * bound offsets on; otherwise the tiled kernel below. */
  if (g_str_equal (variant, gemm_skinny_desc.name) && push.a_off % 4 == 0 && push.b_off % 8 == 0)
    {
      return vm_gpu_graph_dispatch (graph, g->m <= 8 ? &gemm_skinny8_desc : &gemm_skinny_desc, bind, 5, &push,
                                    sizeof push, div_up (g->n, GEMM_SKINNY_CPS), 1, batch, error);
    }
  if (g_str_equal (variant, gemm_coopmat_desc.name))
    {
      /* Vector loads need k in whole 8-half vectors, A rows and offsets in
       * whole vec4 and B's in whole 8-half vectors; large tiles need enough
       * of them to fill the device, else 32 × 64. */
      gboolean vec = vec8 && push.a_off % 4 == 0 && push.b_off % 8 == 0;
      guint slices = vec ? splitk_slices (g, batch) : 0;
      guint64 big_tiles = (guint64) div_up (g->m, 128) * div_up (g->n, 128) * batch;
      /* $VIDMARK_GPU_COOPMAT (tests, benchmarks): "direct" (the default,
       * no split over k), "shared" (through shared memory: the large tiles,
       * or 32 × 64), "small" (32 × 64 through shared memory always) or
       * "splitk" (splits whatever it can). */
      const char *form = g_getenv ("VIDMARK_GPU_COOPMAT");
      gboolean direct = vec && coop_direct_shape (g) &&
                        g_strcmp0 (form, "shared") != 0 && g_strcmp0 (form, "small") != 0;

      if (vec && wsplit_taken (g, batch, ln != NULL))
        return dispatch_direct (graph, &gemm_coopmat_wsplit_desc, bind, &push,
                                div_up (g->n, WSPLIT_COLS), div_up (g->m, 64), batch, error);
      if (slices > 1)
        return gemm_splitk (graph, g, &push, bind, slices, ln, error);
      if (vec && big_tiles >= 96 && direct)
        return dispatch_direct (graph, &gemm_coopmat_direct_desc, bind, &push,
                                div_up (g->n, 128), div_up (g->m, 128), batch, error);
      if (vec && big_tiles >= 96 && g_strcmp0 (form, "small") != 0)
        return vm_gpu_graph_dispatch (graph, &gemm_coopmat_desc, bind, 5, &push, sizeof push,
                                      div_up (g->n, 128), div_up (g->m, 128), batch, error);
      if (direct)
        return dispatch_direct (graph, &gemm_coopmat_direct_s_desc, bind, &push,
                                div_up (g->n, 64), div_up (g->m, 64), batch, error);
      return vm_gpu_graph_dispatch (graph, vec ? &gemm_coopmat_s_desc : &gemm_coopmat_u_desc, bind, 5, &push,
                                    sizeof push, div_up (g->n, 64), div_up (g->m, 32), batch, error);
    }
  if (g->b_type == VM_GPU_F16)
    desc = &gemm_f16_desc;
  else
    desc = &gemm_f32_desc;

  return vm_gpu_graph_dispatch (graph, desc, bind, 5, &push, sizeof push,
                                div_up (g->n, 64), div_up (g->m, 64), batch, error);
}

gboolean
vm_gpu_gemm (VmGpuGraph       *graph,
             const VmGpuGemm  *g,
             GError          **error)
{
  return gemm_record (graph, g, NULL, error);
}

gboolean
vm_gpu_gemm_layernorm (VmGpuGraph       *graph,
                       const VmGpuGemm  *g,
                       VmGpuView         gamma,
                       VmGpuView         beta,
                       VmGpuDType        param_type,
                       float             eps,
                       VmGpuView         y,
                       GError          **error)
{
  GemmLayerNorm ln = { gamma, beta, y, param_type, eps, FALSE };

  if (g->batch > 1 || (g->ldc != 0 && g->ldc != g->n))
    return invalid (error, "GEMM with LayerNorm", "batched or strided C");
  if (!gemm_record (graph, g, &ln, error))
    return FALSE;
  return ln.done || vm_gpu_layernorm (graph, g->m, g->n, g->c, gamma, beta, param_type, eps, y, error);
}

/* ---- row operations ---------------------------------------------------------- */

static void
row_grid (guint  rows,
          guint *gx,
          guint *gy)
{
  *gx = MIN (rows, 65535u);
  *gy = div_up (rows, *gx);
}

/* The one-row-per-invocation LayerNorm for CPU drivers; $VIDMARK_GPU_LAYERNORM=
 * rows|workgroup overrides. */
static gboolean
prefer_rows_layernorm (VmGpuDevice *device,
                       VmGpuDType   param_type)
{
  if (param_type == VM_GPU_F16 && !device->texel_f16)
    return FALSE;
  return prefer_cpu_form (device, "VIDMARK_GPU_LAYERNORM", "workgroup", "rows", NULL);
}

gboolean
vm_gpu_layernorm (VmGpuGraph  *graph,
                  guint        rows,
                  guint        cols,
                  VmGpuView    x,
                  VmGpuView    gamma,
                  VmGpuView    beta,
                  VmGpuDType   param_type,
                  float        eps,
                  VmGpuView    y,
                  GError     **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  const char *op = "LayerNorm";
  gsize ps = dtype_size (param_type);
  VmGpuBinding bind[4];
  LayerNormPush push = { rows, cols, 0, cols, 0, cols, 0, 0, eps };
  guint gx, gy;

  if (rows == 0 || cols == 0)
    return invalid (error, op, "empty tensor");
  if (!check_f16 (graph, param_type, error))
    return FALSE;

  /* CPU drivers: one row per invocation, texel-buffer reads (layernorm_rows). */
  if (prefer_rows_layernorm (device, param_type) && cols % 4 == 0 &&
      x.offset % 16 == 0 && y.offset % 16 == 0 && gamma.offset % (ps * 4) == 0 && beta.offset % (ps * 4) == 0)
    {
      guint64 talign = view_align (device, TRUE);
      guint ngroups = div_up (rows, 64);

      push.x_ld = push.y_ld = cols / 4;
      if (!bind_view_aligned (graph, x, 4ull * rows * cols, 16, talign, VM_GPU_ACCESS_READ,
                              &bind[0], &push.x_off, op, error) ||
          !bind_view_aligned (graph, gamma, ps * cols, ps * 4, talign, VM_GPU_ACCESS_READ,
                              &bind[1], &push.g_off, op, error) ||
          !bind_view_aligned (graph, beta, ps * cols, ps * 4, talign, VM_GPU_ACCESS_READ,
                              &bind[2], &push.b_off, op, error) ||
          !bind_view_aligned (graph, y, 4ull * rows * cols, 16, device->limits.minStorageBufferOffsetAlignment,
                              VM_GPU_ACCESS_WRITE, &bind[3], &push.y_off, op, error))
        return FALSE;
      bind[0].texel_format = VM_GPU_TEXEL_RGBA32F;
      bind[1].texel_format = bind[2].texel_format =
        param_type == VM_GPU_F16 ? VM_GPU_TEXEL_RGBA16F : VM_GPU_TEXEL_RGBA32F;
      row_grid (ngroups, &gx, &gy);
      return vm_gpu_graph_dispatch (graph, &layernorm_rows_desc, bind, 4, &push, sizeof push, gx, gy, 1, error);
    }
  if (!bind_view (graph, x, 4ull * rows * cols, 4, VM_GPU_ACCESS_READ, &bind[0], &push.x_off, op, error) ||
      !bind_view (graph, gamma, ps * cols, ps, VM_GPU_ACCESS_READ, &bind[1], &push.g_off, op, error) ||
      !bind_view (graph, beta, ps * cols, ps, VM_GPU_ACCESS_READ, &bind[2], &push.b_off, op, error) ||
      !bind_view (graph, y, 4ull * rows * cols, 4, VM_GPU_ACCESS_WRITE, &bind[3], &push.y_off, op, error))
    return FALSE;
  row_grid (rows, &gx, &gy);
  return vm_gpu_graph_dispatch (graph, param_type == VM_GPU_F16 ? &layernorm_f16_desc : &layernorm_f32_desc,
                                bind, 4, &push, sizeof push, gx, gy, 1, error);
}

static gboolean
row_op (VmGpuGraph               *graph,
        const VmGpuPipelineDesc  *desc,
        const char               *op,
        guint                     rows,
        guint                     cols,
        VmGpuView                 x,
        VmGpuView                 y,
        float                     param,
        GError                  **error)
{
  VmGpuBinding bind[2];
  RowPush push = { rows, cols, 0, cols, 0, cols, param };
  guint gx, gy;

  if (rows == 0 || cols == 0)
    return invalid (error, op, "empty tensor");
  if (!bind_view (graph, x, 4ull * rows * cols, 4, VM_GPU_ACCESS_READ, &bind[0], &push.x_off, op, error) ||
      !bind_view (graph, y, 4ull * rows * cols, 4, VM_GPU_ACCESS_READ_WRITE, &bind[1], &push.y_off, op, error))
    return FALSE;
  row_grid (rows, &gx, &gy);
  return vm_gpu_graph_dispatch (graph, desc, bind, 2, &push, sizeof push, gx, gy, 1, error);
}

gboolean
vm_gpu_softmax (VmGpuGraph  *graph,
                guint        rows,
                guint        cols,
                VmGpuView    x,
                float        scale,
                VmGpuView    y,
                GError     **error)
{
  return row_op (graph, &softmax_desc, "softmax", rows, cols, x, y, scale, error);
}

gboolean
vm_gpu_l2_normalize (VmGpuGraph  *graph,
                     guint        rows,
                     guint        cols,
                     VmGpuView    x,
                     VmGpuView    y,
                     GError     **error)
{
  return row_op (graph, &l2norm_desc, "L2 normalisation", rows, cols, x, y, 1e-12f, error);
}

/* ---- attention ------------------------------------------------------------------ */

/* attention_lanes (CPU drivers): one variant per head size; query rows per
 * workgroup = 8 · QG · WG / 8, matching the -D arguments in shaders/meson.build. */
#define ATTENTION_LANES_ROWS 8u
static const guint attention_lanes_dims[] = { 16, 32, 64, 80 };
static const VmGpuPipelineDesc attention_lanes_descs[] = {
  { "attention_lanes_d16", 4, sizeof (AttentionPush), { 8, 1, 1 }, 0x7 },
  { "attention_lanes_d32", 4, sizeof (AttentionPush), { 8, 1, 1 }, 0x7 },
  { "attention_lanes_d64", 4, sizeof (AttentionPush), { 8, 1, 1 }, 0x7 },
  { "attention_lanes_d80", 4, sizeof (AttentionPush), { 8, 1, 1 }, 0x7 },
};

/* Every row stride in whole vec4 and every view 16-byte aligned (the batch
 * strides, lq or lk rows, follow): the vector and texel reads of
 * attention_lanes and the fragment loads of attention_cm. */
static gboolean
attention_vec4_aligned (const VmGpuAttention *a)
{
  guint width = a->heads * a->head_dim;

  return (a->q_ld ? a->q_ld : width) % 4 == 0 && (a->k_ld ? a->k_ld : width) % 4 == 0 &&
         (a->v_ld ? a->v_ld : width) % 4 == 0 && (a->o_ld ? a->o_ld : width) % 4 == 0 &&
         a->q.offset % 16 == 0 && a->k.offset % 16 == 0 && a->v.offset % 16 == 0 && a->o.offset % 16 == 0;
}

/* The lanes kernel for @a, or NULL: CPU devices (or
 * VIDMARK_GPU_ATTENTION=lanes) with 8-lane subgroups and shuffles, a head
 * size it was built for, 16-byte aligned views and row strides. */
static const VmGpuPipelineDesc *
attention_lanes_desc (VmGpuDevice           *device,
                      const VmGpuAttention  *a)
{
  if (!prefer_cpu_form (device, "VIDMARK_GPU_ATTENTION", "workgroup", "lanes", NULL) || !has_lanes8 (device) ||
      g_strcmp0 (g_getenv ("VIDMARK_GPU_ATTENTION"), "subgroup") == 0)
    return NULL;
  if (!attention_vec4_aligned (a))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (attention_lanes_dims); i++)
    if (attention_lanes_dims[i] == a->head_dim)
      return &attention_lanes_descs[i];
  return NULL;
}

/* attention_sg (GPUs): sequences of at most 80 (or 48) keys with heads of
 * at most 64 columns, as attention_sg.comp is built; subgroup arithmetic and
 * the shared memory of that build.  VIDMARK_GPU_ATTENTION=subgroup picks it
 * on CPU drivers too, =workgroup or =lanes never. */
#define ATTENTION_SG_MAX_D 64u
#define ATTENTION_SG_ROWS 32u
#define ATTENTION_SG_SHARED(max_k) (4u * (2u * (max_k) * (ATTENTION_SG_MAX_D + 1u) + \
                                          8u * (ATTENTION_SG_MAX_D + (max_k))))

static const VmGpuPipelineDesc *
attention_sg_desc (VmGpuDevice           *device,
                   const VmGpuAttention  *a)
{
  const char *env = g_getenv ("VIDMARK_GPU_ATTENTION");
  guint shared = device->limits.maxComputeSharedMemorySize;

  if (g_strcmp0 (env, "workgroup") == 0 || g_strcmp0 (env, "lanes") == 0)
    return NULL;
  if (g_strcmp0 (env, "subgroup") != 0 && device->info->type == VM_GPU_DEVICE_TYPE_CPU)
    return NULL;
  if (a->head_dim > ATTENTION_SG_MAX_D || (device->info->subgroup_operations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) == 0)
    return NULL;
  if (a->lk <= 48 && shared >= ATTENTION_SG_SHARED (48))
    return &attention_sg_k48_desc;
  if (a->lk <= 80 && shared >= ATTENTION_SG_SHARED (80))
    return &attention_sg_k80_desc;
  return NULL;
}

/* attention_cm (GPUs with NV cooperative matrices): self-attention of 16
 * to 80 tokens (attention_cm.comp's 5 tiles of 16) with heads of 64 where
 * fp16 products are allowed, every row stride and view offset in whole
 * vec4 (the batch strides follow).  VIDMARK_GPU_ATTENTION (any value)
 * turns it off. */
#define ATTENTION_CM_MAX_L 80u

static const VmGpuPipelineDesc *
attention_cm_desc_for (VmGpuDevice           *device,
                       const VmGpuAttention  *a)
{
  if (!a->fp16_products || g_getenv ("VIDMARK_GPU_ATTENTION") != NULL ||
      !device->info->cooperative_matrix_nv || device->info->subgroup_size != 32 ||
      (device->info->subgroup_operations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) == 0)
    return NULL;
  if (a->head_dim != 64 || a->lq != a->lk || a->lq < 16 || a->lq > ATTENTION_CM_MAX_L)
    return NULL;
  if (!attention_vec4_aligned (a))
    return NULL;
  return &attention_cm_desc;
}

const char *
vm_gpu_attention_variant (VmGpuDevice           *device,
                          const VmGpuAttention  *attn)
{
  const VmGpuPipelineDesc *desc = attention_lanes_desc (device, attn);

  if (desc == NULL)
    desc = attention_cm_desc_for (device, attn);
  if (desc == NULL)
    desc = attention_sg_desc (device, attn);
  return desc != NULL ? desc->name : attention_desc.name;
}

gboolean
vm_gpu_attention (VmGpuGraph            *graph,
                  const VmGpuAttention  *a,
                  GError               **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  const VmGpuPipelineDesc *lanes = attention_lanes_desc (device, a);
  const VmGpuPipelineDesc *desc;
  const char *op = "attention";
  guint width = a->heads * a->head_dim;
  guint q_ld = a->q_ld ? a->q_ld : width;
  guint k_ld = a->k_ld ? a->k_ld : width;
  guint v_ld = a->v_ld ? a->v_ld : width;
  guint o_ld = a->o_ld ? a->o_ld : width;
  guint batch = MAX (a->batch, 1);
  VmGpuBinding bind[4];
  AttentionPush push = { 0 };

  if (a->heads == 0 || a->lq == 0 || a->lk == 0 || a->head_dim == 0)
    return invalid (error, op, "empty tensor");
  if (a->head_dim > 128)
    return invalid (error, op, "head dimension above 128");
  if (q_ld < width || k_ld < width || v_ld < width || o_ld < width)
    return invalid (error, op, "row stride smaller than heads × head dimension");

  push.lq = a->lq;
  push.lk = a->lk;
  push.d = a->head_dim;
  push.causal = a->causal ? 1 : 0;
  push.q_ld = q_ld;
  push.k_ld = k_ld;
  push.v_ld = v_ld;
  push.o_ld = o_ld;
  push.q_bstride = a->lq * q_ld;
  push.k_bstride = a->lk * k_ld;
  push.v_bstride = a->lk * v_ld;
  push.o_bstride = a->lq * o_ld;
  push.scale = a->scale != 0.0f ? a->scale : 1.0f / sqrtf ((float) a->head_dim);

#define SPAN(l, ld) (4 * ((guint64) batch * (l) * (ld) - (ld) + width))
  if (lanes != NULL)
    {
      guint64 talign = view_align (device, TRUE);

      /* Offsets, strides in texels. */
      push.q_ld /= 4;
      push.k_ld /= 4;
      push.v_ld /= 4;
      push.o_ld /= 4;
      push.q_bstride /= 4;
      push.k_bstride /= 4;
      push.v_bstride /= 4;
      push.o_bstride /= 4;
      if (!bind_view_aligned (graph, a->q, SPAN (a->lq, q_ld), 16, talign, VM_GPU_ACCESS_READ,
                              &bind[0], &push.q_off, op, error) ||
          !bind_view_aligned (graph, a->k, SPAN (a->lk, k_ld), 16, talign, VM_GPU_ACCESS_READ,
                              &bind[1], &push.k_off, op, error) ||
          !bind_view_aligned (graph, a->v, SPAN (a->lk, v_ld), 16, talign, VM_GPU_ACCESS_READ,
                              &bind[2], &push.v_off, op, error) ||
          !bind_view_aligned (graph, a->o, SPAN (a->lq, o_ld), 16, device->limits.minStorageBufferOffsetAlignment,
                              VM_GPU_ACCESS_WRITE, &bind[3], &push.o_off, op, error))
        return FALSE;
      bind[0].texel_format = bind[1].texel_format = bind[2].texel_format = VM_GPU_TEXEL_RGBA32F;
      return vm_gpu_graph_dispatch (graph, lanes, bind, 4, &push, sizeof push,
                                    div_up (a->lq, ATTENTION_LANES_ROWS), a->heads, batch, error);
    }
  if (!bind_view (graph, a->q, SPAN (a->lq, q_ld), 4, VM_GPU_ACCESS_READ, &bind[0], &push.q_off, op, error) ||
      !bind_view (graph, a->k, SPAN (a->lk, k_ld), 4, VM_GPU_ACCESS_READ, &bind[1], &push.k_off, op, error) ||
      !bind_view (graph, a->v, SPAN (a->lk, v_ld), 4, VM_GPU_ACCESS_READ, &bind[2], &push.v_off, op, error) ||
      !bind_view (graph, a->o, SPAN (a->lq, o_ld), 4, VM_GPU_ACCESS_WRITE, &bind[3], &push.o_off, op, error))
    return FALSE;
#undef SPAN

  /* Whole vec4 from the bound offsets on: the cooperative-matrix loads. */
  if ((desc = attention_cm_desc_for (device, a)) != NULL &&
      push.q_off % 4 == 0 && push.k_off % 4 == 0 && push.v_off % 4 == 0 && push.o_off % 4 == 0)
    return vm_gpu_graph_dispatch (graph, desc, bind, 4, &push, sizeof push, 1, a->heads, batch, error);
  if ((desc = attention_sg_desc (device, a)) != NULL)
    {
      /* Bit 1: keys and values read as vec4. */
      if (a->head_dim % 4 == 0 && push.k_ld % 4 == 0 && push.v_ld % 4 == 0 && push.k_off % 4 == 0 &&
          push.v_off % 4 == 0 && push.k_bstride % 4 == 0 && push.v_bstride % 4 == 0)
        push.causal |= 2;
      return vm_gpu_graph_dispatch (graph, desc, bind, 4, &push, sizeof push,
                                    div_up (a->lq, ATTENTION_SG_ROWS), a->heads, batch, error);
    }
  return vm_gpu_graph_dispatch (graph, &attention_desc, bind, 4, &push, sizeof push,
                                div_up (a->lq, 64), a->heads, batch, error);
}

/* ---- CLIP preprocessing --------------------------------------------------------- */

#define PRECISION_BITS 22

static double
bicubic (double x)
{
  const double a = -0.5;

  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* PIL-style antialiased resampling weights for output samples
 * [first, first + count) of a resize from @in_size to @out_size. */
static guint
resample_weights (guint     in_size,
                  guint     out_size,
                  guint     first,
                  guint     count,
                  GArray   *bounds,    /* gint32 pairs */
                  GArray   *coefs)     /* gint32, ksize per sample */
{
  double scale = (double) in_size / out_size;
  double filterscale = MAX (scale, 1.0);
  double support = 2.0 * filterscale;
  guint ksize = (guint) ceil (support) * 2 + 1;
  g_autofree double *k = g_new0 (double, ksize);

  g_array_set_size (bounds, 2 * count);
  g_array_set_size (coefs, (gsize) ksize * count);

  for (guint i = 0; i < count; i++)
    {
      guint xx = first + i;
      double center = (xx + 0.5) * scale;
      double ww = 0.0, ss = 1.0 / filterscale;
      int xmin = (int) (center - support + 0.5);
      int xmax = (int) (center + support + 0.5);

      if (xmin < 0)
        xmin = 0;
      if (xmax > (int) in_size)
        xmax = in_size;
      xmax -= xmin;
      for (int x = 0; x < xmax; x++)
        {
          double w = bicubic ((x + xmin - center + 0.5) * ss);
          k[x] = w;
          ww += w;
        }
      for (int x = 0; x < xmax; x++)
        {
          double w = ww != 0.0 ? k[x] / ww : 0.0;
          gint32 fixed = (gint32) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS)
                                         : 0.5 + w * (1 << PRECISION_BITS));
          g_array_index (coefs, gint32, (gsize) i * ksize + x) = fixed;
        }
      for (guint x = xmax; x < ksize; x++)
        g_array_index (coefs, gint32, (gsize) i * ksize + x) = 0;
      g_array_index (bounds, gint32, 2 * i) = xmin;
      g_array_index (bounds, gint32, 2 * i + 1) = xmax;
    }
  return ksize;
}

void
vm_gpu_clip_resize_size (guint  width,
                         guint  height,
                         guint  resize,
                         guint *out_width,
                         guint *out_height)
{
  if (width <= height)
    {
      *out_width = resize;
      *out_height = (guint) ((guint64) resize * height / width);
    }
  else
    {
      *out_height = resize;
      *out_width = (guint) ((guint64) resize * width / height);
    }
}

static VmGpuBuffer *
upload_scratch (VmGpuGraph  *graph,
                GArray      *data,
                GError     **error)
{
  gsize size = (gsize) data->len * g_array_get_element_size (data);
  VmGpuBuffer *buffer = vm_gpu_graph_scratch (graph, MAX (size, 16), error);

  if (buffer != NULL && !vm_gpu_graph_upload (graph, buffer, 0, data->data, size, error))
    return NULL;
  return buffer;
}

/* resize_v_texel on CPU devices; $VIDMARK_GPU_RESIZE=texel|storage overrides. */
static gboolean
prefer_texel_resize (VmGpuDevice *device)
{
  return prefer_cpu_form (device, "VIDMARK_GPU_RESIZE", "storage", "texel", NULL);
}

gboolean
vm_gpu_preprocess_clip (VmGpuGraph             *graph,
                        const VmGpuPreprocess  *pre,
                        GError                **error)
{
  const char *op = "CLIP preprocessing";
  guint row_bytes = pre->row_bytes ? pre->row_bytes : pre->width * 3;
  guint frame_bytes = pre->frame_bytes ? pre->frame_bytes : row_bytes * pre->height;
  guint rw, rh, left, top, kh, kv;
  g_autoptr(GArray) hb = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) hc = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) vb = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GArray) vc = g_array_new (FALSE, FALSE, sizeof (gint32));
  VmGpuBuffer *hb_buf, *hc_buf, *vb_buf, *vc_buf, *mid;
  gint32 row_lo = G_MAXINT32, row_hi = 0;
  guint mid_rows;
  VmGpuBinding bind[4];
  ResizeHPush hpush = { 0 };
  ResizeVPush vpush = { 0 };

  if (pre->n_frames == 0 || pre->width == 0 || pre->height == 0 || pre->resize == 0 || pre->crop == 0)
    return invalid (error, op, "empty frame or size");
  if (row_bytes < pre->width * 3 || frame_bytes < row_bytes * (pre->height - 1) + pre->width * 3)
    return invalid (error, op, "row or frame stride too small");
  if (pre->frames.offset % 4 != 0)
    return invalid (error, op, "frame data must start at a multiple of 4 bytes");
  for (guint c = 0; c < 3; c++)
    if (!(pre->std[c] > 0.0f))
      return invalid (error, op, "standard deviations must be positive");

  vm_gpu_clip_resize_size (pre->width, pre->height, pre->resize, &rw, &rh);
  if (rw < pre->crop || rh < pre->crop)
    return invalid (error, op, "crop larger than the resized frame");
  left = (rw - pre->crop) / 2;
  top = (rh - pre->crop) / 2;

  kh = resample_weights (pre->width, rw, left, pre->crop, hb, hc);
  kv = resample_weights (pre->height, rh, top, pre->crop, vb, vc);

  /* The horizontal pass only needs the rows the vertical pass reads. */
  for (guint i = 0; i < pre->crop; i++)
    {
      gint32 first = g_array_index (vb, gint32, 2 * i);
      gint32 count = g_array_index (vb, gint32, 2 * i + 1);
      row_lo = MIN (row_lo, first);
      row_hi = MAX (row_hi, first + count);
    }
  for (guint i = 0; i < pre->crop; i++)
    g_array_index (vb, gint32, 2 * i) -= row_lo;
  mid_rows = row_hi - row_lo;

  hb_buf = upload_scratch (graph, hb, error);
  hc_buf = hb_buf ? upload_scratch (graph, hc, error) : NULL;
  vb_buf = hc_buf ? upload_scratch (graph, vb, error) : NULL;
  vc_buf = vb_buf ? upload_scratch (graph, vc, error) : NULL;
  /* One uint per pixel (r | g << 8 | b << 16) between the passes. */
  mid = vc_buf ? vm_gpu_graph_scratch (graph, (guint64) pre->n_frames * mid_rows * pre->crop * 4, error) : NULL;
  if (mid == NULL)
    return FALSE;

  hpush.width = pre->width;
  hpush.height = mid_rows;
  hpush.row_bytes = row_bytes;
  hpush.frame_bytes = frame_bytes;
  hpush.out_w = pre->crop;
  hpush.ksize = kh;
  hpush.n_frames = pre->n_frames;
  {
    guint32 off_words;

    if (!bind_view (graph, pre->frames,
                    (guint64) frame_bytes * (pre->n_frames - 1) + (guint64) row_bytes * (pre->height - 1) + pre->width * 3,
                    4, VM_GPU_ACCESS_READ, &bind[0], &off_words, op, error))
      return FALSE;
    hpush.in_off_bytes = off_words * 4 + (guint32) row_lo * row_bytes;
  }
  bind[1] = (VmGpuBinding) { hb_buf, 0, 0, VM_GPU_ACCESS_READ };
  bind[2] = (VmGpuBinding) { hc_buf, 0, 0, VM_GPU_ACCESS_READ };
  bind[3] = (VmGpuBinding) { mid, 0, 0, VM_GPU_ACCESS_WRITE };
  if (!vm_gpu_graph_dispatch (graph, &resize_h_desc, bind, 4, &hpush, sizeof hpush,
                              div_up (pre->crop, 64), div_up (mid_rows, 4), pre->n_frames, error))
    return FALSE;

  vpush.in_h = mid_rows;
  vpush.out_w = pre->crop;
  vpush.out_h = pre->crop;
  vpush.ksize = kv;
  vpush.n_frames = pre->n_frames;
  for (guint c = 0; c < 3; c++)
    {
      vpush.mean[c] = pre->mean[c];
      vpush.istd[c] = 1.0f / pre->std[c];
    }
  bind[0] = (VmGpuBinding) { mid, 0, 0, VM_GPU_ACCESS_READ };
  bind[1] = (VmGpuBinding) { vb_buf, 0, 0, VM_GPU_ACCESS_READ };
  bind[2] = (VmGpuBinding) { vc_buf, 0, 0, VM_GPU_ACCESS_READ };
  if (!bind_view (graph, pre->out, 4ull * pre->n_frames * 3 * pre->crop * pre->crop, 4, VM_GPU_ACCESS_WRITE,
                  &bind[3], &vpush.out_off, op, error))
    return FALSE;
  /* CPU drivers: 4 pixels per invocation through a texel buffer. */
  if (prefer_texel_resize (vm_gpu_graph_get_device (graph)) && pre->crop % 4 == 0 && vpush.out_off % 4 == 0)
    {
      bind[0].texel_format = VM_GPU_TEXEL_RGBA32UI;
      return vm_gpu_graph_dispatch (graph, &resize_v_texel_desc, bind, 4, &vpush, sizeof vpush,
                                    div_up (pre->crop / 4, 64), pre->crop, pre->n_frames, error);
    }
  return vm_gpu_graph_dispatch (graph, &resize_v_desc, bind, 4, &vpush, sizeof vpush,
                                div_up (pre->crop, 64), div_up (pre->crop, 4), pre->n_frames, error);
}

/* ---- embeddings ------------------------------------------------------------------ */

gboolean
vm_gpu_patch_embed (VmGpuGraph  *graph,
                    guint        n_images,
                    guint        size,
                    guint        patch,
                    guint        dim,
                    VmGpuView    images,
                    VmGpuView    weight,
                    VmGpuDType   weight_type,
                    VmGpuView    out,
                    GError     **error)
{
  const char *op = "patch embedding";
  gsize ws = dtype_size (weight_type);
  guint side;
  VmGpuBinding bind[3];
  PatchPush push = { 0 };

  if (n_images == 0 || size == 0 || patch == 0 || dim == 0)
    return invalid (error, op, "empty tensor");
  if (size % patch != 0)
    return invalid (error, op, "image size not a multiple of the patch size");
  if (!check_f16 (graph, weight_type, error))
    return FALSE;
  side = size / patch;
  push.size = size;
  push.patch = patch;
  push.dim = dim;
  push.side = side;
  push.n_images = n_images;
  if (!bind_view (graph, images, 4ull * n_images * 3 * size * size, 4, VM_GPU_ACCESS_READ, &bind[0], &push.img_off, op, error) ||
      !bind_view (graph, weight, ws * dim * 3 * patch * patch, ws, VM_GPU_ACCESS_READ, &bind[1], &push.w_off, op, error) ||
      !bind_view (graph, out, 4ull * n_images * side * side * dim, 4, VM_GPU_ACCESS_WRITE, &bind[2], &push.out_off, op, error))
    return FALSE;
  return vm_gpu_graph_dispatch (graph, weight_type == VM_GPU_F16 ? &patch_f16_desc : &patch_f32_desc,
                                bind, 3, &push, sizeof push, div_up (dim, 64), side * side, n_images, error);
}

gboolean
vm_gpu_class_pos (VmGpuGraph  *graph,
                  guint        n_images,
                  guint        n_patches,
                  guint        dim,
                  VmGpuView    tokens,
                  VmGpuView    cls,
                  VmGpuView    pos,
                  VmGpuDType   param_type,
                  VmGpuView    out,
                  GError     **error)
{
  const char *op = "class and position embedding";
  gsize ps = dtype_size (param_type);
  VmGpuBinding bind[4];
  ClassPosPush push = { n_patches + 1, dim, n_images, 0, 0, 0, 0 };

  if (n_images == 0 || n_patches == 0 || dim == 0)
    return invalid (error, op, "empty tensor");
  if (!check_f16 (graph, param_type, error))
    return FALSE;
  if (!bind_view (graph, tokens, 4ull * n_images * n_patches * dim, 4, VM_GPU_ACCESS_READ, &bind[0], &push.t_off, op, error) ||
      !bind_view (graph, cls, ps * dim, ps, VM_GPU_ACCESS_READ, &bind[1], &push.cls_off, op, error) ||
      !bind_view (graph, pos, ps * (n_patches + 1) * dim, ps, VM_GPU_ACCESS_READ, &bind[2], &push.pos_off, op, error) ||
      !bind_view (graph, out, 4ull * n_images * (n_patches + 1) * dim, 4, VM_GPU_ACCESS_WRITE, &bind[3], &push.out_off, op, error))
    return FALSE;
  return vm_gpu_graph_dispatch (graph, param_type == VM_GPU_F16 ? &class_pos_f16_desc : &class_pos_f32_desc,
                                bind, 4, &push, sizeof push, div_up (dim, 64), n_patches + 1, n_images, error);
}

gboolean
vm_gpu_gather_rows (VmGpuGraph  *graph,
                    guint        n_rows,
                    guint        cols,
                    guint        n_src,
                    VmGpuView    src,
                    VmGpuView    indices,
                    VmGpuView    out,
                    GError     **error)
{
  const char *op = "row gather";
  VmGpuBinding bind[3];
  GatherPush push = { n_rows, cols, n_src, 0, cols, 0, 0, cols };
  guint gy, gz;

  if (n_rows == 0 || cols == 0 || n_src == 0)
    return invalid (error, op, "empty tensor");
  if (!bind_view (graph, src, 4ull * n_src * cols, 4, VM_GPU_ACCESS_READ, &bind[0], &push.src_off, op, error) ||
      !bind_view (graph, indices, 4ull * n_rows, 4, VM_GPU_ACCESS_READ, &bind[1], &push.idx_off, op, error) ||
      !bind_view (graph, out, 4ull * n_rows * cols, 4, VM_GPU_ACCESS_WRITE, &bind[2], &push.out_off, op, error))
    return FALSE;
  gy = MIN (n_rows, 65535u);
  gz = div_up (n_rows, gy);
  return vm_gpu_graph_dispatch (graph, &gather_desc, bind, 3, &push, sizeof push,
                                div_up (cols, 64), gy, gz, error);
}

/* ---- similarity -------------------------------------------------------------------- */

static gboolean
can_texel (VmGpuDevice            *device,
           const VmGpuSimilarity  *s)
{
  return s->dim % 8 == 0 && s->database.offset % 16 == 0 &&
         device->limits.minTexelBufferOffsetAlignment % 16 == 0;
}

/* The one-pass GEMM kernel for large batches: on GPUs above 16 queries; on
 * CPU drivers the passes of 16 measured faster (docs/PERFORMANCE-gpu.md),
 * so only when forced.  Needs its shared memory and 16-bit storage. */
static gboolean
use_sim_gemm (VmGpuDevice            *device,
              const VmGpuSimilarity  *s,
              const char             *env)
{
  if (device->info->max_shared_memory < SIM_GEMM_SHARED || !device->info->storage_16bit ||
      device->info->max_workgroup_invocations < 256)
    return FALSE;
  if (g_strcmp0 (env, "gemm") == 0)
    return TRUE;
  /* The kernels of the passes of 16, named. */
  if (g_strcmp0 (env, "storage") == 0 || g_strcmp0 (env, "texel") == 0 ||
      g_strcmp0 (env, "texel-generic") == 0)
    return FALSE;
  return s->n_queries > 16 && device->info->type != VM_GPU_DEVICE_TYPE_CPU;
}

static const VmGpuPipelineDesc *
similarity_desc (VmGpuDevice            *device,
                 const VmGpuSimilarity  *s,
                 guint                  *queries_per_pass)
{
  const char *env = g_getenv ("VIDMARK_GPU_SIMILARITY");
  gboolean texel = device->info->type == VM_GPU_DEVICE_TYPE_CPU;
  gboolean fixed_dim = TRUE;
  guint width;

  if (use_sim_gemm (device, s, env))
    {
      if (queries_per_pass != NULL)
        *queries_per_pass = SIM_GEMM_QPASS;
      return &sim_gemm_descs[s->n_queries <= 32 ? 0 : 1];
    }
  if (g_strcmp0 (env, "storage") == 0)
    texel = FALSE;
  else if (g_strcmp0 (env, "texel") == 0)
    texel = TRUE;
  else if (g_strcmp0 (env, "texel-generic") == 0)
    texel = TRUE, fixed_dim = FALSE;
  texel = texel && can_texel (device, s);
  /* The narrowest pass that takes every query, within the uniform-buffer
   * limit for the queries of one pass. */
  for (width = 0; width < 3 && sim_widths[width] < s->n_queries &&
                  (guint64) sim_widths[width + 1] * s->dim * 4 + device->limits.minUniformBufferOffsetAlignment <=
                  device->limits.maxUniformBufferRange;
       width++)
    ;
  if (queries_per_pass != NULL)
    *queries_per_pass = sim_widths[width];
  /* One row per 8-lane subgroup: needs subgroups of exactly 8 with
   * shuffles (lavapipe on 256-bit SIMD). */
  fixed_dim = fixed_dim && has_lanes8 (device);
  if (texel && fixed_dim)
    for (guint d = 0; d < G_N_ELEMENTS (sim_dims); d++)
      if (s->dim == sim_dims[d])
        return &sim_dim_descs[d][width];
  return &sim_descs[texel ? 1 : 0][width];
}

const char *
vm_gpu_similarity_variant (VmGpuDevice            *device,
                           const VmGpuSimilarity  *s)
{
  return similarity_desc (device, s, NULL)->name;
}

gboolean
vm_gpu_similarity_topk (VmGpuGraph             *graph,
                        const VmGpuSimilarity  *s,
                        GError                **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  const char *op = "similarity";
  guint64 row_bytes = 2ull * s->dim;
  guint64 max_range = device->limits.maxStorageBufferRange;
  guint64 chunk_rows, budget, slots_max;
  guint rows_per_wg, n_slots = 0, slot;
  VmGpuBuffer *partials, *lists = NULL;
  const VmGpuPipelineDesc *desc;
  gboolean texel, gemm;
  guint target_wgs, group;
  VmGpuBinding qbind, bind[3];
  guint32 q_off4;

  if (s->n_queries == 0 || s->n_rows == 0 || s->dim == 0)
    return invalid (error, op, "empty tensor");
  if (s->dim % 4 != 0)
    return invalid (error, op, "the dimension must be a multiple of 4");
  if (s->k == 0 || s->k > VM_GPU_TOPK_MAX)
    return invalid (error, op, "k must be between 1 and 64");
  if (s->database.offset % 8 != 0 || s->queries.offset % 16 != 0)
    return invalid (error, op, "misaligned queries or database");
  if (!check_f16 (graph, VM_GPU_F16, error))
    return FALSE;

  chunk_rows = max_range / row_bytes;
  if (chunk_rows < SIM_TILE)
    return invalid (error, op, "rows too long for this device");

  desc = similarity_desc (device, s, &group);
  texel = desc->texel_bindings != 0;
  gemm = desc == &sim_gemm_descs[0] || desc == &sim_gemm_descs[1];
  if (texel)
    {
      chunk_rows = MIN (chunk_rows, (guint64) device->limits.maxTexelBufferElements * 8 / row_bytes);
      if (chunk_rows < SIM_TILE)
        return invalid (error, op, "rows too long for this device");
    }

  /* About 256 workgroups over the rows on a GPU.  On a CPU driver, 4 per
   * core: every workgroup pays for its first top-k compactions (all of its
   * first tile's rows beat a threshold of -inf), and longer runs raise the
   * threshold sooner; 64 workgroups cost 30-50 % more CPU time than 8 on
   * 2 cores at 10^5 rows. */
  if (device->info->type == VM_GPU_DEVICE_TYPE_CPU)
    target_wgs = 4 * CLAMP (g_get_num_processors (), 1, 16);
  else
    target_wgs = 256;
  rows_per_wg = div_up (s->n_rows, target_wgs);
  rows_per_wg = CLAMP (div_up (rows_per_wg, SIM_TILE) * SIM_TILE, 256u, 65536u);
  budget = MIN (max_range, (guint64) 64 << 20);
  slots_max = budget / ((guint64) s->n_queries * s->k * 8);
  if (slots_max < 4)
    return invalid (error, op, "too many queries for one call; split them");
  while ((guint64) div_up (s->n_rows, rows_per_wg) + div_up (s->n_rows, chunk_rows) > slots_max)
    rows_per_wg *= 2;
  /* The one-pass kernel's lists: CAP entries per query of a pass per
   * workgroup of a dispatch, within the same budget. */
  if (gemm && (guint64) MIN (s->n_queries, SIM_GEMM_QPASS) * SIM_GEMM_CAP * 8 > budget)
    return invalid (error, op, "too many queries for one call; split them");
  if (gemm)
    while ((guint64) div_up (MIN (s->n_rows, chunk_rows), rows_per_wg) *
           MIN (s->n_queries, SIM_GEMM_QPASS) * SIM_GEMM_CAP * 8 > budget)
      rows_per_wg *= 2;
  chunk_rows = MAX (chunk_rows / rows_per_wg, 1) * rows_per_wg;
  if (chunk_rows * row_bytes > max_range)
    chunk_rows = max_range / row_bytes / SIM_TILE * SIM_TILE;

  for (guint64 r = 0; r < s->n_rows; r += chunk_rows)
    n_slots += div_up (MIN (chunk_rows, s->n_rows - r), rows_per_wg);

  partials = vm_gpu_graph_scratch (graph, (guint64) s->n_queries * n_slots * s->k * 8, error);
  if (partials == NULL)
    return FALSE;
  if (gemm)
    {
      /* Chunks hold whole workgroups' ranges, so the first is the largest. */
      guint64 n_wg_max = div_up (MIN (s->n_rows, chunk_rows), rows_per_wg);

      lists = vm_gpu_graph_scratch (graph, n_wg_max * MIN (s->n_queries, SIM_GEMM_QPASS) * SIM_GEMM_CAP * 8, error);
      if (lists == NULL)
        return FALSE;
    }
  else if ((guint64) s->dim * 4 > device->limits.maxUniformBufferRange)
    return invalid (error, op, "the dimension is too large for this device");
  /* The database's own bounds, before chunking. */
  if (s->database.buffer == NULL || s->database.offset > s->database.buffer->size ||
      row_bytes * s->n_rows > s->database.buffer->size - s->database.offset)
    return invalid (error, op, "the database overruns its buffer");

  slot = 0;
  for (guint64 r = 0; r < s->n_rows; r += chunk_rows)
    for (guint q0 = 0; q0 < s->n_queries; q0 += group)
    {
      guint rows = (guint) MIN (chunk_rows, s->n_rows - r);
      guint n_wg = div_up (rows, rows_per_wg);
      guint nq = MIN (group, s->n_queries - q0);
      SimPush push = { rows, s->dim / 4, s->n_queries, s->k, 0, 0, rows_per_wg, slot, n_slots, (guint32) r, q0 };

      if (!bind_view_aligned (graph, VM_GPU_VIEW (s->queries.buffer, s->queries.offset + 4ull * q0 * s->dim),
                              4ull * nq * s->dim, 16,
                              gemm ? device->limits.minStorageBufferOffsetAlignment
                                   : device->limits.minUniformBufferOffsetAlignment,
                              VM_GPU_ACCESS_READ, &qbind, &q_off4, op, error))
        return FALSE;
      push.q_off4 = q_off4;

      if (!bind_view_aligned (graph, VM_GPU_VIEW (s->database.buffer, s->database.offset + r * row_bytes),
                              rows * row_bytes, texel ? 16 : 8,
                              view_align (device, texel),
                              VM_GPU_ACCESS_READ, &bind[0], &push.db_off4, op, error))
        return FALSE;
      if (texel)
        {
          /* RGBA32UI texels of 8 halves; the shader counts in 4-half units. */
          bind[0].texel_format = VM_GPU_TEXEL_RGBA32UI;
          push.db_off4 *= 2;
        }
      bind[1] = qbind;
      bind[2] = (VmGpuBinding) { partials, 0, 0, VM_GPU_ACCESS_WRITE };
      if (gemm)
        {
          VmGpuBinding gbind[4] = { bind[0], bind[1], bind[2], { lists, 0, 0, VM_GPU_ACCESS_READ_WRITE } };

          if (!vm_gpu_graph_dispatch (graph, desc, gbind, 4, &push, sizeof push, n_wg, 1, 1, error))
            return FALSE;
        }
      else if (!vm_gpu_graph_dispatch (graph, desc, bind, 3, &push, sizeof push, n_wg, 1, 1, error))
        return FALSE;
      if (q0 + group >= s->n_queries)
        slot += n_wg;
    }

  {
    MergePush push = { n_slots * s->k, s->k, 0, 0 };

    bind[0] = (VmGpuBinding) { partials, 0, 0, VM_GPU_ACCESS_READ };
    if (!bind_view (graph, s->scores, 4ull * s->n_queries * s->k, 4, VM_GPU_ACCESS_WRITE, &bind[1], &push.score_off, op, error) ||
        !bind_view (graph, s->indices, 4ull * s->n_queries * s->k, 4, VM_GPU_ACCESS_WRITE, &bind[2], &push.index_off, op, error))
      return FALSE;
    return vm_gpu_graph_dispatch (graph, &merge_desc, bind, 3, &push, sizeof push, s->n_queries, 1, 1, error);
  }
}

/* ---- GEMV (score curves) ------------------------------------------------------- */

typedef struct {
  guint32 n_rows, d8, rows_per_wg, db_off8;
  guint32 x_off4, y_off;
} GemvPush;
G_STATIC_ASSERT (sizeof (GemvPush) == 24);

/* [generic, 512, 768] */
static const VmGpuPipelineDesc gemv_descs[3] = {
  { "gemv_lanes_f16", 3, sizeof (GemvPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
  { "gemv_lanes_d512_f16", 3, sizeof (GemvPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
  { "gemv_lanes_d768_f16", 3, sizeof (GemvPush), { 64, 1, 1 }, 1u << 0, 1u << 1 },
};
#define GEMV_STEP 64   /* rows per workgroup step: 8 subgroups × 8 rows */

static const VmGpuPipelineDesc *
gemv_desc (VmGpuDevice      *device,
           const VmGpuGemv  *g)
{
  if (g_strcmp0 (g_getenv ("VIDMARK_GPU_GEMV"), "gemm") == 0)
    return NULL;
  if (!has_lanes8 (device))
    return NULL;
  if (g->dim == 0 || g->dim % 8 != 0 || g->x.offset % 16 != 0 || g->rows.offset % 16 != 0 ||
      device->limits.minTexelBufferOffsetAlignment % 16 != 0 ||
      (guint64) g->dim * 4 > MIN (device->limits.maxUniformBufferRange, 65536u))
    return NULL;
  if (g->dim == 512)
    return &gemv_descs[1];
  if (g->dim == 768)
    return &gemv_descs[2];
  return &gemv_descs[0];
}

const char *
vm_gpu_gemv_variant (VmGpuDevice      *device,
                     const VmGpuGemv  *g)
{
  const VmGpuPipelineDesc *desc = gemv_desc (device, g);

  return desc != NULL ? desc->name : gemm_variant_for_rows (device, VM_GPU_F16, 1, g->dim % 8 == 0);
}

gboolean
vm_gpu_gemv_f16 (VmGpuGraph       *graph,
                 const VmGpuGemv  *g,
                 GError          **error)
{
  VmGpuDevice *device = vm_gpu_graph_get_device (graph);
  const char *op = "gemv";
  const VmGpuPipelineDesc *desc;
  guint64 row_bytes = 2ull * g->dim;
  guint64 chunk_rows;
  guint target_wgs;
  VmGpuBinding xbind;
  guint32 x_off4;

  if (g->n_rows == 0 || g->dim == 0)
    return invalid (error, op, "empty tensor");
  if (!check_f16 (graph, VM_GPU_F16, error))
    return FALSE;
  desc = gemv_desc (device, g);
  if (desc == NULL)
    {
      VmGpuGemm gemm = {
        .m = 1, .n = g->n_rows, .k = g->dim,
        .a = g->x,
        .b = g->rows,
        .b_type = VM_GPU_F16,
        .c = g->y,
      };

      return vm_gpu_gemm (graph, &gemm, error);
    }

  /* The rows' and the output's own bounds, before chunking. */
  if (g->rows.buffer == NULL || g->rows.offset > g->rows.buffer->size ||
      row_bytes * g->n_rows > g->rows.buffer->size - g->rows.offset)
    return invalid (error, op, "the rows overrun their buffer");
  if (g->y.buffer == NULL || g->y.offset > g->y.buffer->size ||
      4ull * g->n_rows > g->y.buffer->size - g->y.offset)
    return invalid (error, op, "the output overruns its buffer");

  chunk_rows = MIN ((guint64) device->limits.maxStorageBufferRange / row_bytes,
                    (guint64) device->limits.maxTexelBufferElements * 8 / row_bytes);
  chunk_rows = MIN (chunk_rows, (guint64) device->limits.maxStorageBufferRange / 4);
  chunk_rows = chunk_rows / GEMV_STEP * GEMV_STEP;
  if (chunk_rows == 0)
    return invalid (error, op, "rows too long for this device");

  if (!bind_view_aligned (graph, g->x, 4ull * g->dim, 16, device->limits.minUniformBufferOffsetAlignment,
                          VM_GPU_ACCESS_READ, &xbind, &x_off4, op, error))
    return FALSE;

  /* A few workgroups per core (CPU drivers, where this kernel runs): each
   * loads x once and streams its rows in order. */
  target_wgs = 4 * CLAMP (g_get_num_processors (), 1, 16);
  for (guint64 r = 0; r < g->n_rows; r += chunk_rows)
    {
      guint rows = (guint) MIN (chunk_rows, g->n_rows - r);
      guint rows_per_wg = MAX (div_up (div_up (rows, target_wgs), GEMV_STEP), 1) * GEMV_STEP;
      GemvPush push = { rows, g->dim / 8, rows_per_wg, 0, x_off4, 0 };
      VmGpuBinding bind[3];

      if (!bind_view_aligned (graph, VM_GPU_VIEW (g->rows.buffer, g->rows.offset + r * row_bytes),
                              rows * row_bytes, 16,
                              view_align (device, TRUE),
                              VM_GPU_ACCESS_READ, &bind[0], &push.db_off8, op, error) ||
          !bind_view (graph, VM_GPU_VIEW (g->y.buffer, g->y.offset + 4 * r), 4ull * rows, 4,
                      VM_GPU_ACCESS_WRITE, &bind[2], &push.y_off, op, error))
        return FALSE;
      bind[0].texel_format = VM_GPU_TEXEL_RGBA32UI;
      bind[1] = xbind;
      if (!vm_gpu_graph_dispatch (graph, desc, bind, 3, &push, sizeof push,
                                  div_up (rows, rows_per_wg), 1, 1, error))
        return FALSE;
    }
  return TRUE;
}
