/* vm-gpu-graph.h — record many dispatches into one command buffer, with
 * barriers only where a buffer is really read after written (or written
 * after read), then submit and wait.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gpu/vm-gpu-buffer.h"
#include "gpu/vm-gpu-pipeline.h"

G_BEGIN_DECLS

typedef struct _VmGpuGraph VmGpuGraph;

typedef enum {
  VM_GPU_ACCESS_READ  = 1 << 0,
  VM_GPU_ACCESS_WRITE = 1 << 1,
  VM_GPU_ACCESS_READ_WRITE = VM_GPU_ACCESS_READ | VM_GPU_ACCESS_WRITE,
} VmGpuAccess;

/* Texel format of a binding the pipeline declares as a texel buffer. */
typedef enum {
  VM_GPU_TEXEL_RGBA16F,
  VM_GPU_TEXEL_RGBA32F,
  VM_GPU_TEXEL_RGBA32UI,
} VmGpuTexelFormat;

/* One storage-buffer binding: bytes [offset, offset + range) of @buffer.
 * @offset must be a multiple of the device's minStorageBufferOffsetAlignment
 * (vm_gpu_bind_view() takes care of that); @range 0 means "to the end,
 * clamped to maxStorageBufferRange". */
typedef struct {
  VmGpuBuffer      *buffer;
  guint64           offset;
  guint64           range;
  VmGpuAccess       access;
  VmGpuTexelFormat  texel_format;   /* texel-buffer bindings only */
} VmGpuBinding;

VmGpuGraph *vm_gpu_graph_new  (VmGpuDevice  *device,
                               GError      **error);
void        vm_gpu_graph_free (VmGpuGraph   *self);

VmGpuDevice *vm_gpu_graph_get_device (VmGpuGraph *self);

/* Records one dispatch of @desc with @n_groups workgroups.  Fails (and the
 * graph stays usable) on bad counts, missing pipelines, lost devices. */
gboolean    vm_gpu_graph_dispatch (VmGpuGraph               *self,
                                   const VmGpuPipelineDesc  *desc,
                                   const VmGpuBinding       *bindings,
                                   guint                     n_bindings,
                                   const void               *push,
                                   guint                     push_size,
                                   guint                     groups_x,
                                   guint                     groups_y,
                                   guint                     groups_z,
                                   GError                  **error);

/* Fills bytes [offset, offset+size) (multiples of 4) with @value. */
gboolean    vm_gpu_graph_fill (VmGpuGraph   *self,
                               VmGpuBuffer  *buffer,
                               guint64       offset,
                               guint64       size,
                               guint32       value,
                               GError      **error);
gboolean    vm_gpu_graph_copy (VmGpuGraph   *self,
                               VmGpuBuffer  *src,
                               guint64       src_offset,
                               VmGpuBuffer  *dst,
                               guint64       dst_offset,
                               guint64       size,
                               GError      **error);

/* Host data into @dst as a step of the graph, ordered with the steps
 * recorded around it, without a submission of its own: small data goes into
 * the command buffer, larger data through a staging buffer the graph keeps
 * (above 64 MiB, into a buffer no recorded step uses yet, it is copied at
 * once through the device's staging chunks).  @data may be freed on return.
 * Offsets and sizes are multiples of 4. */
gboolean    vm_gpu_graph_upload (VmGpuGraph   *self,
                                 VmGpuBuffer  *dst,
                                 guint64       offset,
                                 const void   *data,
                                 gsize         size,
                                 GError      **error);
/* Writes the @size bytes of vm_gpu_graph_upload_with() at @dst. */
typedef void (*VmGpuWriteFunc) (guint8   *dst,
                                gsize     size,
                                gpointer  user_data);

/* vm_gpu_graph_upload() with the bytes written by @write straight where
 * they go (the mapped buffer, the staging buffer or the command buffer's
 * copy), so a caller that assembles them (frames, rows) skips a copy. */
gboolean    vm_gpu_graph_upload_with (VmGpuGraph     *self,
                                      VmGpuBuffer    *dst,
                                      guint64         offset,
                                      gsize           size,
                                      VmGpuWriteFunc  write,
                                      gpointer        user_data,
                                      GError        **error);
/* @size bytes of @src into @data, as a step of the graph: @data is written
 * when the next vm_gpu_graph_submit() returns TRUE, and must stay valid
 * until then.  Not for reusable graphs (vm_gpu_graph_output()). */
gboolean    vm_gpu_graph_download (VmGpuGraph   *self,
                                   VmGpuBuffer  *src,
                                   guint64       offset,
                                   void         *data,
                                   gsize         size,
                                   GError      **error);

/* Host memory that becomes @size bytes of @dst at the start of each submit
 * (of a reusable graph: every submit): @dst's own mapping when no earlier
 * step uses it, else a staging buffer the graph copies from.  Write it
 * between submits, not while one runs; it lives as long as the graph. */
void       *vm_gpu_graph_input  (VmGpuGraph   *self,
                                 VmGpuBuffer  *dst,
                                 guint64       offset,
                                 gsize         size,
                                 GError      **error);
/* Host memory holding @size bytes of @src as they are at the end of each
 * submit (read it after vm_gpu_graph_submit() returned TRUE, before the
 * next one): @src's mapping or a staging buffer.  Lives as long as the
 * graph. */
const void *vm_gpu_graph_output (VmGpuGraph   *self,
                                 VmGpuBuffer  *src,
                                 guint64       offset,
                                 gsize         size,
                                 GError      **error);

/* A buffer that lives as long as the graph (intermediate results): taken
 * from the graph's scratch pool when it holds one of this size, and given
 * back to it when the graph is freed after its work completed.  Its
 * contents are undefined. */
VmGpuBuffer *vm_gpu_graph_scratch (VmGpuGraph   *self,
                                   guint64       size,
                                   GError      **error);

/* Scratch buffers kept between graphs that record the same work again (the
 * encoder's batches): allocating and freeing hundreds of megabytes of device
 * memory on each submission costs milliseconds on GPU drivers.  Buffers are
 * reused at their exact size and memory type; the pool holds at most
 * @max_bytes, dropping the least recently returned first.  Thread-safe. */
typedef struct _VmGpuScratchPool VmGpuScratchPool;

VmGpuScratchPool *vm_gpu_scratch_pool_new       (guint64           max_bytes);
void              vm_gpu_scratch_pool_free      (VmGpuScratchPool *pool);
/* Bytes held now, and buffers handed out again since creation (either may
 * be NULL). */
void              vm_gpu_scratch_pool_get_stats (VmGpuScratchPool *pool,
                                                 guint64          *bytes,
                                                 guint            *reuses);
/* @pool must outlive the graph. */
void              vm_gpu_graph_set_scratch_pool (VmGpuGraph       *self,
                                                 VmGpuScratchPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmGpuScratchPool, vm_gpu_scratch_pool_free)

/* Times each node with timestamp queries (also on with VIDMARK_GPU_PROFILE=1,
 * which prints a per-kernel table to stderr after each submit). */
void        vm_gpu_graph_set_profiling (VmGpuGraph *self,
                                        gboolean    profiling);

/* Submits what was recorded and waits up to @timeout_ns (0: 60 s).  The graph
 * is then empty and can record again, unless it is reusable: then each
 * later submit runs the same commands again, with the inputs as the host
 * left them (vm_gpu_graph_input()), and recording more is an error.
 * VM_GPU_ERROR_TIMEOUT or VM_GPU_ERROR_DEVICE_LOST on failure. */
gboolean    vm_gpu_graph_submit (VmGpuGraph  *self,
                                 guint64      timeout_ns,
                                 GError     **error);

/* Record once, submit many times: for work of a repeated shape (the
 * encoder's batches) whose recording costs the host more than the device's
 * work (a few microseconds per dispatch on GPU drivers).  Set before
 * recording.  Uploads (vm_gpu_graph_upload()) are then constants of the
 * recording; what changes between submits goes through
 * vm_gpu_graph_input() and vm_gpu_graph_output(). */
void        vm_gpu_graph_set_reusable (VmGpuGraph *self,
                                       gboolean    reusable);
/* Device memory of the graph's scratch buffers. */
guint64     vm_gpu_graph_get_scratch_bytes (VmGpuGraph *self);

/* Counters of the last submit. */
guint       vm_gpu_graph_get_n_dispatches (VmGpuGraph *self);
guint       vm_gpu_graph_get_n_barriers   (VmGpuGraph *self);

typedef struct {
  const char *name;     /* kernel (pipeline) name */
  guint       count;
  double      total_ms;
} VmGpuKernelTiming;

/* Per-kernel times of the last profiled submit (VmGpuKernelTiming elements,
 * owned by the graph; empty when profiling was off or unsupported). */
GArray     *vm_gpu_graph_get_timings (VmGpuGraph *self);
/* The table VIDMARK_GPU_PROFILE=1 prints. */
char       *vm_gpu_graph_format_timings (VmGpuGraph *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmGpuGraph, vm_gpu_graph_free)

G_END_DECLS
