/* vm-gpu-pipeline.h — compute pipelines from the embedded SPIR-V.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-device.h"

G_BEGIN_DECLS

/* Describes one shader variant.  @name is the SPIR-V resource's base name
 * ("gemm_f32" → shaders/gemm_f32.spv in the GResource).  Bindings are
 * numbered 0..n_bindings-1, storage buffers unless marked as texel buffers. */
typedef struct {
  const char *name;
  guint       n_bindings;
  guint       push_size;      /* bytes; must equal the shader's block */
  guint       local_size[3];  /* the shader's workgroup size, informational */
  guint       texel_bindings; /* bit i: binding i is a uniform texel buffer
                                 (format from VmGpuBinding.texel_format) */
  guint       uniform_bindings; /* bit i: binding i is a uniform buffer */
  gboolean    has_spec;       /* specialise the shader's constant_id 0 … */
  guint32     spec;           /* … to this value (a pipeline per value) */
} VmGpuPipelineDesc;

typedef struct _VmGpuPipeline VmGpuPipeline;

/* The pipeline for @desc, created on first use and cached by name (and
 * specialisation value). */
VmGpuPipeline *vm_gpu_device_get_pipeline (VmGpuDevice              *device,
                                           const VmGpuPipelineDesc  *desc,
                                           GError                  **error);
/* Number of pipelines created so far (tests check the cache). */
guint          vm_gpu_device_get_n_pipelines (VmGpuDevice *device);

/* The SPIR-V of a variant, or NULL with VM_GPU_ERROR_SHADER. */
GBytes        *vm_gpu_shader_lookup (const char  *name,
                                     GError     **error);

G_END_DECLS
