/* vm-safetensors.h — a strict reader of the safetensors format.
 *
 * A file is 8 bytes of little-endian header length N, N bytes of JSON header
 * (an object: tensor name → {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object of strings), then the data section.
 * The file is mapped, not read; every check is made at open time, so a
 * VmSafetensors that opened can be used without further checks:
 *
 *  - the header length is at most VM_SAFETENSORS_MAX_HEADER and lies inside
 *    the file; the header is UTF-8 JSON nested at most 64 deep, an object,
 *    with no name twice;
 *  - every dtype is a safetensors dtype; every shape is an array of at most
 *    VM_TENSOR_MAX_DIMS non-negative integers whose product, times the dtype
 *    size, fits 64 bits; data_offsets are two integers with
 *    end - begin = elements × dtype size;
 *  - the tensors, sorted by offset, tile the data section from 0 with no gap
 *    and no overlap, and the file ends exactly where the last tensor does.
 *
 * Every failure is a VM_MODEL_ERROR naming the tensor and the problem.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VM_SAFETENSORS_MAX_HEADER (100 * 1024 * 1024)
#define VM_TENSOR_MAX_DIMS        32

typedef enum {
  VM_DTYPE_BOOL,
  VM_DTYPE_U8,
  VM_DTYPE_I8,
  VM_DTYPE_U16,
  VM_DTYPE_I16,
  VM_DTYPE_F16,
  VM_DTYPE_BF16,
  VM_DTYPE_U32,
  VM_DTYPE_I32,
  VM_DTYPE_F32,
  VM_DTYPE_F64,
  VM_DTYPE_U64,
  VM_DTYPE_I64,
  VM_DTYPE_F8_E4M3,
  VM_DTYPE_F8_E5M2,
} VmDtype;

/* "F32", "BF16", ... as written in the header. */
const char *vm_dtype_get_name  (VmDtype     dtype);
/* Bytes per element. */
gsize       vm_dtype_get_size  (VmDtype     dtype);
gboolean    vm_dtype_from_name (const char *name,
                                VmDtype    *out_dtype);

typedef struct {
  const char    *name;
  VmDtype        dtype;
  guint          n_dims;
  const guint64 *shape;       /* n_dims sizes; a scalar has none */
  guint64        n_elements;  /* the product of the shape (1 for a scalar) */
  const guint8  *data;        /* n_bytes little-endian bytes in the mapping: NOT aligned */
  gsize          n_bytes;
} VmTensor;

typedef struct _VmSafetensors VmSafetensors;

VmSafetensors  *vm_safetensors_open           (const char     *path,
                                               GError        **error);
/* Parses a file already in memory (kept alive by a reference to @bytes). */
VmSafetensors  *vm_safetensors_new_from_bytes (GBytes         *bytes,
                                               GError        **error);
VmSafetensors  *vm_safetensors_ref            (VmSafetensors  *self);
void            vm_safetensors_unref          (VmSafetensors  *self);

/* The tensors in data order (which need not be name order). */
guint           vm_safetensors_get_n_tensors  (VmSafetensors  *self);
const VmTensor *vm_safetensors_get_tensor     (VmSafetensors  *self,
                                               guint           index);
/* NULL when there is no tensor of that name. */
const VmTensor *vm_safetensors_lookup         (VmSafetensors  *self,
                                               const char     *name);
/* The same with VM_MODEL_ERROR_NOT_FOUND ("tensor X is missing"). */
const VmTensor *vm_safetensors_require        (VmSafetensors  *self,
                                               const char     *name,
                                               GError        **error);
/* __metadata__ (string → string; empty when absent). */
GHashTable     *vm_safetensors_get_metadata   (VmSafetensors  *self);

/* VM_MODEL_ERROR_WRONG_SHAPE unless @tensor has exactly @n_dims dimensions
 * of the sizes in @shape: "tensor X has shape [512, 768], expected [512, 1024]". */
gboolean        vm_tensor_check_shape         (const VmTensor *tensor,
                                               guint           n_dims,
                                               const guint64  *shape,
                                               GError        **error);

/* Converts an F32, F16 or BF16 tensor into @n_elements host floats
 * (binary32) or halves (binary16, round to nearest even); any other dtype
 * gives VM_MODEL_ERROR_WRONG_DTYPE ("tensor X has dtype I64, expected a
 * floating point type"). */
gboolean        vm_tensor_copy_f32            (const VmTensor *tensor,
                                               float          *dest,
                                               GError        **error);
gboolean        vm_tensor_copy_f16            (const VmTensor *tensor,
                                               guint16        *dest,
                                               GError        **error);
/* The same into a new array (free with g_free). */
float          *vm_tensor_to_f32              (const VmTensor *tensor,
                                               GError        **error);
guint16        *vm_tensor_to_f16              (const VmTensor *tensor,
                                               GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmSafetensors, vm_safetensors_unref)

G_END_DECLS
