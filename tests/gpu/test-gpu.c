/* test-gpu.c — the gpu layer on a real Vulkan device (lavapipe in CI), with
 * the Khronos validation layer on: every kernel against a double-precision
 * CPU reference written here independently of the shaders, plus the fault
 * paths (no loader, no driver, out of memory, bad arguments).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu-kernels.h"

static VmGpuDevice *device;
static char *device_error;
static char *cache_dir;

#define REQUIRE_DEVICE() \
  G_STMT_START { \
    if (device == NULL) \
      { \
        g_test_skip (device_error); \
        return; \
      } \
  } G_STMT_END

/* Fails the test on any validation warning or error seen so far. */
static void
assert_no_validation_messages (void)
{
  g_autoptr(GPtrArray) messages = NULL;

  if (device == NULL)
    return;
  messages = vm_gpu_device_take_messages (device);
  for (guint i = 0; i < messages->len; i++)
    g_printerr ("# validation: %s\n", (char *) g_ptr_array_index (messages, i));
  g_assert_cmpuint (messages->len, ==, 0);
}

/* ---- helpers ----------------------------------------------------------- */

static float *
random_floats (GRand  *rand,
               gsize   n,
               double  lo,
               double  hi)
{
  float *v = g_new (float, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

static VmGpuBuffer *
upload (const void *data,
        gsize       size)
{
  g_autoptr(GError) error = NULL;
  VmGpuBuffer *buffer = vm_gpu_buffer_new_from_data (device, data, size, &error);

  g_assert_no_error (error);
  return buffer;
}

static VmGpuBuffer *
new_buffer (gsize size)
{
  g_autoptr(GError) error = NULL;
  VmGpuBuffer *buffer = vm_gpu_buffer_new (device, size, &error);

  g_assert_no_error (error);
  return buffer;
}

static float *
download_floats (VmGpuBuffer *buffer,
                 gsize        offset,
                 gsize        n)
{
  g_autoptr(GError) error = NULL;
  float *v = g_new (float, MAX (n, 1));

  vm_gpu_buffer_download (buffer, offset, v, n * sizeof (float), &error);
  g_assert_no_error (error);
  return v;
}

/* Weights as stored: fp32 copies, or fp16 (and the values the GPU will see). */
typedef struct {
  VmGpuBuffer *buffer;
  double      *seen;
} Weights;

static Weights
upload_weights (const float *w,
                gsize        n,
                VmGpuDType   type)
{
  Weights out = { NULL, g_new (double, MAX (n, 1)) };

  if (type == VM_GPU_F16)
    {
      g_autofree guint16 *h = g_new (guint16, MAX (n, 1));

      for (gsize i = 0; i < n; i++)
        {
          h[i] = vm_float_to_half (w[i]);
          out.seen[i] = vm_half_to_float (h[i]);
        }
      out.buffer = upload (h, MAX (n, 2) * 2);
    }
  else
    {
      for (gsize i = 0; i < n; i++)
        out.seen[i] = w[i];
      out.buffer = upload (w, n * 4);
    }
  return out;
}

static void
weights_clear (Weights *w)
{
  g_clear_pointer (&w->buffer, vm_gpu_buffer_unref);
  g_clear_pointer (&w->seen, g_free);
}

/* max |got - want| / max(1, max |want|) */
static double
normalised_error (const float  *got,
                  const double *want,
                  gsize         n)
{
  double max_diff = 0, max_ref = 1;

  for (gsize i = 0; i < n; i++)
    {
      g_assert_true (isfinite (got[i]));
      max_diff = MAX (max_diff, fabs (got[i] - want[i]));
      max_ref = MAX (max_ref, fabs (want[i]));
    }
  return max_diff / max_ref;
}

static void
submit (VmGpuGraph *graph)
{
  g_autoptr(GError) error = NULL;

  vm_gpu_graph_submit (graph, 0, &error);
  g_assert_no_error (error);
}

static gboolean
f16_types (guint *n_types)
{
  *n_types = vm_gpu_device_supports_f16 (device) ? 2 : 1;
  return TRUE;
}

/* ---- device ---------------------------------------------------------------- */

static void
test_device_info (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  const VmGpuDeviceInfo *info;
  g_autofree char *api = NULL;
  g_autofree char *ops = NULL;

  REQUIRE_DEVICE ();
  info = vm_gpu_device_get_info (device);
  g_assert_nonnull (info->name);
  g_assert_true (info->usable);
  g_assert_null (info->unusable_reason);
  g_assert_cmpuint (info->api_version, >=, (1u << 22) | (3u << 12));
  g_assert_cmpuint (info->n_heaps, >=, 1);
  g_assert_cmpuint (info->heaps[0].size, >, 0);
  g_assert_cmpuint (info->subgroup_size, >=, 1);
  g_assert_cmpuint (info->max_storage_buffer_range, >=, 1 << 20);
  api = vm_gpu_format_api_version (info->api_version);
  g_assert_true (g_str_has_prefix (api, "1.3"));
  ops = vm_gpu_format_subgroup_operations (info->subgroup_operations);
  g_assert_nonnull (ops);
  g_test_message ("device: %s (%s), driver %s, api %s, fp16 %d, 16-bit storage %d, subgroup %u [%s], coopmat %d",
                  info->name, vm_gpu_device_type_to_string (info->type), info->driver_name, api,
                  info->shader_float16, info->storage_16bit, info->subgroup_size, ops,
                  info->cooperative_matrix_nv);

  devices = vm_gpu_list_devices (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (devices->len, >=, 1);
  {
    gboolean found = FALSE;

    for (guint i = 0; i < devices->len; i++)
      {
        const VmGpuDeviceInfo *d = g_ptr_array_index (devices, i);
        found |= g_str_equal (d->name, info->name);
      }
    g_assert_true (found);
  }

  if (g_strcmp0 (g_getenv ("VIDMARK_VULKAN_VALIDATION"), "1") == 0)
    g_assert_true (vm_gpu_device_validation_enabled (device));
  assert_no_validation_messages ();
}

static void
test_device_select (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuDevice) other = NULL;
  const VmGpuDeviceInfo *info;
  g_autofree char *index = NULL;

  REQUIRE_DEVICE ();
  info = vm_gpu_device_get_info (device);

  other = vm_gpu_device_new_for ("no such GPU anywhere", &error);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE);
  g_assert_null (other);
  g_clear_error (&error);

  other = vm_gpu_device_new_for ("4000000", &error);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE);
  g_clear_error (&error);

  index = g_strdup_printf ("%u", info->index);
  other = vm_gpu_device_new_for (index, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (vm_gpu_device_get_info (other)->name, ==, info->name);
  g_clear_pointer (&other, vm_gpu_device_unref);

  /* A name substring, in another case. */
  {
    g_autofree char *upper = g_ascii_strup (info->name, 4);
    other = vm_gpu_device_new_for (upper, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (vm_gpu_device_get_info (other)->name, ==, info->name);
  }
  assert_no_validation_messages ();
}

static void
test_no_loader (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuDevice) d = NULL;
      g_autoptr(GPtrArray) list = NULL;

      g_setenv ("VIDMARK_VULKAN_LIBRARY", "/nonexistent/libvulkan.so.1", TRUE);
      d = vm_gpu_device_new (&error);
      g_assert_null (d);
      g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER);
      g_assert_nonnull (strstr (error->message, "libvulkan"));
      g_clear_error (&error);
      list = vm_gpu_list_devices (&error);
      g_assert_null (list);
      g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_no_driver (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuDevice) d = NULL;

      g_setenv ("VK_ICD_FILENAMES", "/nonexistent/vidmark_icd.json", TRUE);
      g_setenv ("VK_DRIVER_FILES", "/nonexistent/vidmark_icd.json", TRUE);
      g_unsetenv ("VIDMARK_VULKAN_VALIDATION");
      d = vm_gpu_device_new (&error);
      g_assert_null (d);
      g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE);
      g_test_message ("%s", error->message);
      return;
    }
  REQUIRE_DEVICE ();   /* needs a working loader to reach the driver step */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* ---- buffers --------------------------------------------------------------- */

static void
test_buffer_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  const gsize n = 100003;
  g_autofree float *data = random_floats (rand, n, -1, 1);
  g_autofree float *back = NULL;
  g_autoptr(VmGpuBuffer) buffer = upload (data, n * 4);
  float patch[3] = { 1, 2, 3 };

  back = download_floats (buffer, 0, n);
  g_assert_cmpmem (back, n * 4, data, n * 4);

  vm_gpu_buffer_upload (buffer, 400, patch, sizeof patch, &error);
  g_assert_no_error (error);
  g_clear_pointer (&back, g_free);
  back = download_floats (buffer, 396, 5);
  g_assert_cmpfloat (back[0], ==, data[99]);
  g_assert_cmpfloat (back[1], ==, 1);
  g_assert_cmpfloat (back[3], ==, 3);
  g_assert_cmpfloat (back[4], ==, data[103]);

  /* Out of range. */
  g_assert_false (vm_gpu_buffer_upload (buffer, n * 4 - 4, patch, sizeof patch, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (vm_gpu_buffer_new (device, 0, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  assert_no_validation_messages ();
}

static void
test_buffer_suballocation (void)
{
  VmGpuMemoryStats before, during, after;
  VmGpuBuffer *buffers[200];
  g_autoptr(VmGpuBuffer) big = NULL;
  guint64 sizes = 0;

  REQUIRE_DEVICE ();
  vm_gpu_device_get_memory_stats (device, &before);
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    {
      gsize size = 1000 + 37 * i;
      guint32 tag = i;

      buffers[i] = new_buffer (size);
      sizes += size;
      vm_gpu_buffer_upload (buffers[i], 0, &tag, 4, NULL);
    }
  vm_gpu_device_get_memory_stats (device, &during);
  /* 200 buffers, but at most one new block. */
  g_assert_cmpuint (during.n_blocks, <=, before.n_blocks + 1);
  g_assert_cmpuint (during.used_bytes, >=, before.used_bytes + sizes);

  for (guint i = 0; i < G_N_ELEMENTS (buffers); i++)
    {
      guint32 tag = 0;

      vm_gpu_buffer_download (buffers[i], 0, &tag, 4, NULL);
      g_assert_cmpuint (tag, ==, i);   /* no two buffers overlap */
    }
  /* Free every other buffer, then all: the free list coalesces. */
  for (guint i = 0; i < G_N_ELEMENTS (buffers); i += 2)
    g_clear_pointer (&buffers[i], vm_gpu_buffer_unref);
  for (guint i = 1; i < G_N_ELEMENTS (buffers); i += 2)
    g_clear_pointer (&buffers[i], vm_gpu_buffer_unref);
  vm_gpu_device_get_memory_stats (device, &after);
  g_assert_cmpuint (after.used_bytes, ==, before.used_bytes);

  /* A large buffer gets a block of its own, released with it. */
  big = new_buffer (200 << 20);
  vm_gpu_device_get_memory_stats (device, &during);
  g_assert_cmpuint (during.block_bytes, >=, after.block_bytes + (200 << 20));
  g_clear_pointer (&big, vm_gpu_buffer_unref);
  vm_gpu_device_get_memory_stats (device, &during);
  g_assert_cmpuint (during.block_bytes, ==, after.block_bytes);
  assert_no_validation_messages ();
}

static void
test_buffer_oom (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuBuffer) huge = NULL;

  REQUIRE_DEVICE ();
  huge = vm_gpu_buffer_new (device, G_GUINT64_CONSTANT (1) << 42, &error);
  g_assert_null (huge);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY);
  g_clear_error (&error);

  /* Within maxBufferSize but beyond the heap. */
  {
    const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);
    guint64 heap_max = 0;

    for (guint i = 0; i < info->n_heaps; i++)
      heap_max = MAX (heap_max, info->heaps[i].size);
    if (heap_max + (1 << 20) <= info->max_buffer_size)
      {
        huge = vm_gpu_buffer_new (device, heap_max + (1 << 20), &error);
        g_assert_null (huge);
        g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_OUT_OF_MEMORY);
      }
  }
  assert_no_validation_messages ();
}

/* ---- pipelines ---------------------------------------------------------------- */

static void
test_pipeline_cache (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) spirv = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) x = NULL;
  float ones[64];
  guint n;

  REQUIRE_DEVICE ();

  /* Every variant is embedded, the cooperative-matrix GEMM included. */
  spirv = vm_gpu_shader_lookup ("gemm_coopmat_f16", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (spirv), >, 100);
  g_assert_cmphex (((const guint32 *) g_bytes_get_data (spirv, NULL))[0], ==, 0x07230203);
  g_assert_null (vm_gpu_shader_lookup ("no_such_kernel", &error));
  g_clear_pointer (&spirv, g_bytes_unref);
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_SHADER);
  g_clear_error (&error);

  /* lavapipe has no NV cooperative matrices: the tiled kernel is chosen. */
  if (!vm_gpu_device_get_info (device)->cooperative_matrix_nv)
    g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F16), ==, "gemm_f16");
  g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F32), ==, "gemm_f32");

  for (guint i = 0; i < 64; i++)
    ones[i] = 1;
  x = upload (ones, sizeof ones);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);

  vm_gpu_l2_normalize (graph, 1, 64, VM_GPU_VIEW (x, 0), VM_GPU_VIEW (x, 0), &error);
  g_assert_no_error (error);
  n = vm_gpu_device_get_n_pipelines (device);
  vm_gpu_l2_normalize (graph, 2, 32, VM_GPU_VIEW (x, 0), VM_GPU_VIEW (x, 0), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vm_gpu_device_get_n_pipelines (device), ==, n);   /* cached */
  submit (graph);

  vm_gpu_device_save_pipeline_cache (device, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (vm_gpu_device_get_pipeline_cache_path (device), cache_dir));
  g_assert_true (g_file_test (vm_gpu_device_get_pipeline_cache_path (device), G_FILE_TEST_IS_REGULAR));

  /* A second device loads the cache (and would refuse a foreign one). */
  {
    g_autoptr(VmGpuDevice) again = vm_gpu_device_new (&error);
    g_assert_no_error (error);
  }
  assert_no_validation_messages ();
}

/* ---- graphs --------------------------------------------------------------------- */

static void
test_graph_barriers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL, b = NULL, c = NULL, d = NULL;
  float va[16], vb[16];
  g_autofree float *out = NULL;

  REQUIRE_DEVICE ();
  for (guint i = 0; i < 16; i++)
    {
      va[i] = i + 1;
      vb[i] = 2 * i + 1;
    }
  a = upload (va, sizeof va);
  b = upload (vb, sizeof vb);
  c = new_buffer (sizeof va);
  d = new_buffer (sizeof va);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);

  /* Two independent writes: no barrier. */
  vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (a, 0), 0.1f, VM_GPU_VIEW (c, 0), &error);
  g_assert_no_error (error);
  vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (b, 0), 0.1f, VM_GPU_VIEW (d, 0), &error);
  g_assert_no_error (error);
  /* Reads c (written): one barrier.  Writes a, read by the first node. */
  vm_gpu_l2_normalize (graph, 1, 16, VM_GPU_VIEW (c, 0), VM_GPU_VIEW (a, 0), &error);
  g_assert_no_error (error);
  /* Reads d: its write was already made visible by that barrier → none. */
  vm_gpu_l2_normalize (graph, 1, 16, VM_GPU_VIEW (d, 0), VM_GPU_VIEW (b, 0), &error);
  g_assert_no_error (error);
  submit (graph);
  g_assert_cmpuint (vm_gpu_graph_get_n_dispatches (graph), ==, 4);
  g_assert_cmpuint (vm_gpu_graph_get_n_barriers (graph), ==, 1);

  /* A chain: each step reads the previous result. */
  vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (c, 0), &error);
  vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (c, 0), 1.0f, VM_GPU_VIEW (d, 0), &error);
  vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (d, 0), 1.0f, VM_GPU_VIEW (c, 0), &error);
  g_assert_no_error (error);
  submit (graph);
  g_assert_cmpuint (vm_gpu_graph_get_n_barriers (graph), ==, 2);

  /* The results are right: a = l2(softmax(0.1·va)). */
  {
    double sm[16], sum = 0, norm = 0, want[16];
    g_autofree float *got = download_floats (a, 0, 16);

    for (guint i = 0; i < 16; i++)
      sum += sm[i] = exp (0.1 * va[i]);
    for (guint i = 0; i < 16; i++)
      norm += (sm[i] / sum) * (sm[i] / sum);
    for (guint i = 0; i < 16; i++)
      want[i] = sm[i] / sum / sqrt (norm);
    g_assert_cmpfloat (normalised_error (got, want, 16), <, 1e-5);
  }

  /* Bad arguments fail cleanly and leave the graph usable. */
  g_assert_false (vm_gpu_softmax (graph, 100, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (c, 0), &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  submit (graph);
  assert_no_validation_messages ();
}

static void
test_graph_profile (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL;
  float va[256] = { 0 };
  GArray *timings;
  g_autofree char *table = NULL;

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_get_info (device)->timestamps)
    {
      g_test_skip ("this device cannot time kernels");
      return;
    }
  a = upload (va, sizeof va);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_set_profiling (graph, TRUE);
  for (guint i = 0; i < 3; i++)
    vm_gpu_softmax (graph, 16, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (a, 0), &error);
  vm_gpu_l2_normalize (graph, 16, 16, VM_GPU_VIEW (a, 0), VM_GPU_VIEW (a, 0), &error);
  g_assert_no_error (error);
  submit (graph);
  timings = vm_gpu_graph_get_timings (graph);
  g_assert_cmpuint (timings->len, ==, 2);
  g_assert_cmpstr (g_array_index (timings, VmGpuKernelTiming, 0).name, ==, "softmax_f32");
  g_assert_cmpuint (g_array_index (timings, VmGpuKernelTiming, 0).count, ==, 3);
  g_assert_cmpfloat (g_array_index (timings, VmGpuKernelTiming, 0).total_ms, >=, 0);
  table = vm_gpu_graph_format_timings (graph);
  g_assert_nonnull (strstr (table, "l2norm_f32"));
  assert_no_validation_messages ();
}

/* ---- GEMM --------------------------------------------------------------------------- */

static double
ref_activation (double x,
                VmGpuEpilogue e)
{
  if (e == VM_GPU_EPILOGUE_QUICK_GELU)
    return x / (1.0 + exp (-1.702 * x));
  if (e == VM_GPU_EPILOGUE_GELU)
    return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
  return x;
}

static void
run_gemm_case (GRand         *rand,
               guint          m,
               guint          n,
               guint          k,
               guint          batch,
               gboolean       share_b,
               gboolean       with_bias,
               gboolean       with_residual,
               VmGpuEpilogue  epilogue,
               VmGpuDType     type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  guint nb = share_b ? 1 : batch;
  g_autofree float *a = random_floats (rand, (gsize) batch * m * k, -1, 1);
  g_autofree float *b = random_floats (rand, (gsize) nb * n * k, -1, 1);
  g_autofree float *bias = random_floats (rand, n, -1, 1);
  g_autofree float *res = random_floats (rand, (gsize) batch * m * n, -1, 1);
  g_autofree double *want = g_new (double, (gsize) batch * m * n);
  g_autofree float *got = NULL;
  g_autoptr(VmGpuBuffer) ba = upload (a, (gsize) batch * m * k * 4);
  g_autoptr(VmGpuBuffer) br = upload (res, (gsize) batch * m * n * 4);
  /* C at a non-zero offset, to exercise offsets. */
  g_autoptr(VmGpuBuffer) bc = new_buffer ((gsize) batch * m * n * 4 + 256);
  Weights wb = upload_weights (b, (gsize) nb * n * k, type);
  Weights wbias = upload_weights (bias, n, type);
  VmGpuGemm g = {
    .m = m, .n = n, .k = k, .batch = batch,
    .a = VM_GPU_VIEW (ba, 0), .a_batch_stride = m * k,
    .b = VM_GPU_VIEW (wb.buffer, 0), .b_batch_stride = share_b ? 0 : n * k, .b_type = type,
    .bias = VM_GPU_VIEW (with_bias ? wbias.buffer : NULL, 0),
    .residual = VM_GPU_VIEW (with_residual ? br : NULL, 0), .residual_batch_stride = m * n,
    .c = VM_GPU_VIEW (bc, 256), .c_batch_stride = m * n,
    .epilogue = epilogue,
  };
  double err;

  for (guint z = 0; z < batch; z++)
    for (guint i = 0; i < m; i++)
      for (guint j = 0; j < n; j++)
        {
          double s = 0;
          const double *brow = wb.seen + (gsize) (share_b ? 0 : z) * n * k + (gsize) j * k;

          for (guint l = 0; l < k; l++)
            s += (double) a[(gsize) z * m * k + (gsize) i * k + l] * brow[l];
          if (with_bias)
            s += wbias.seen[j];
          s = ref_activation (s, epilogue);
          if (with_residual)
            s += res[(gsize) z * m * n + (gsize) i * n + j];
          want[(gsize) z * m * n + (gsize) i * n + j] = s;
        }

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_gemm (graph, &g, &error);
  g_assert_no_error (error);
  submit (graph);
  got = download_floats (bc, 256, (gsize) batch * m * n);
  err = normalised_error (got, want, (gsize) batch * m * n);
  /* fp32 accumulation of k products of magnitude ≤ 1: relative error ~ k·2⁻²⁴. */
  if (err > 1e-5 * MAX (1.0, sqrt (k)))
    g_error ("GEMM %u×%u×%u batch %u epilogue %d type %d: error %g", m, n, k, batch, epilogue, type, err);
  weights_clear (&wb);
  weights_clear (&wbias);
}

static void
test_gemm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  for (guint t = 0; t < n_types; t++)
    {
      VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;

      run_gemm_case (rand, 1, 1, 1, 1, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
      run_gemm_case (rand, 64, 64, 16, 1, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
      run_gemm_case (rand, 37, 53, 19, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
      run_gemm_case (rand, 70, 130, 200, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, type);
      run_gemm_case (rand, 65, 97, 33, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
      run_gemm_case (rand, 50, 77, 64, 1, FALSE, FALSE, TRUE, VM_GPU_EPILOGUE_NONE, type);
      run_gemm_case (rand, 17, 40, 24, 3, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
      run_gemm_case (rand, 23, 31, 45, 4, TRUE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, type);
    }
  /* Random shapes. */
  for (guint i = 0; i < 6; i++)
    run_gemm_case (rand, g_rand_int_range (rand, 1, 150), g_rand_int_range (rand, 1, 150),
                   g_rand_int_range (rand, 1, 300), g_rand_int_range (rand, 1, 3), g_rand_boolean (rand),
                   g_rand_boolean (rand), g_rand_boolean (rand), g_rand_int_range (rand, 0, 3),
                   (n_types == 2 && g_rand_boolean (rand)) ? VM_GPU_F16 : VM_GPU_F32);
  assert_no_validation_messages ();
}

static void
test_gemm_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) small = NULL;
  VmGpuGemm g = { .m = 10, .n = 10, .k = 10 };

  REQUIRE_DEVICE ();
  small = new_buffer (64);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  g.a = g.b = g.c = VM_GPU_VIEW (small, 0);
  g_assert_false (vm_gpu_gemm (graph, &g, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g.m = 0;
  g_assert_false (vm_gpu_gemm (graph, &g, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  submit (graph);
  assert_no_validation_messages ();
}

/* ---- row operations ------------------------------------------------------------------ */

static void
test_layernorm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  static const guint shapes[][2] = { { 1, 1 }, { 3, 7 }, { 50, 768 }, { 5, 1000 }, { 257, 64 } };
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  for (guint t = 0; t < n_types; t++)
    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (device, &error);
        VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;
        guint rows = shapes[s][0], cols = shapes[s][1];
        gsize n = (gsize) rows * cols;
        g_autofree float *x = random_floats (rand, n, -3, 5);
        g_autofree float *gamma = random_floats (rand, cols, 0.5, 1.5);
        g_autofree float *beta = random_floats (rand, cols, -1, 1);
        g_autofree double *want = g_new (double, n);
        g_autofree float *got = NULL;
        g_autoptr(VmGpuBuffer) bx = upload (x, n * 4);
        g_autoptr(VmGpuBuffer) by = new_buffer (n * 4);
        Weights wg = upload_weights (gamma, cols, type);
        Weights wbeta = upload_weights (beta, cols, type);

        for (guint r = 0; r < rows; r++)
          {
            double mean = 0, var = 0;

            for (guint c = 0; c < cols; c++)
              mean += x[r * cols + c];
            mean /= cols;
            for (guint c = 0; c < cols; c++)
              var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
            var /= cols;
            for (guint c = 0; c < cols; c++)
              want[r * cols + c] = (x[r * cols + c] - mean) / sqrt (var + 1e-5) * wg.seen[c] + wbeta.seen[c];
          }

        g_assert_no_error (error);
        vm_gpu_layernorm (graph, rows, cols, VM_GPU_VIEW (bx, 0), VM_GPU_VIEW (wg.buffer, 0),
                          VM_GPU_VIEW (wbeta.buffer, 0), type, 1e-5f, VM_GPU_VIEW (by, 0), &error);
        g_assert_no_error (error);
        submit (graph);
        got = download_floats (by, 0, n);
        g_assert_cmpfloat (normalised_error (got, want, n), <, 2e-5);
        weights_clear (&wg);
        weights_clear (&wbeta);
      }
  assert_no_validation_messages ();
}

static void
test_softmax (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  static const guint shapes[][2] = { { 1, 1 }, { 4, 3 }, { 12, 77 }, { 3, 2000 }, { 300, 50 } };

  REQUIRE_DEVICE ();
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (device, &error);
      guint rows = shapes[s][0], cols = shapes[s][1];
      gsize n = (gsize) rows * cols;
      double scale = 0.125;
      g_autofree float *x = random_floats (rand, n, -40, 40);
      g_autofree double *want = g_new (double, n);
      g_autofree float *got = NULL;
      g_autoptr(VmGpuBuffer) bx = upload (x, n * 4);

      for (guint r = 0; r < rows; r++)
        {
          double m = -INFINITY, sum = 0;

          for (guint c = 0; c < cols; c++)
            m = MAX (m, scale * x[r * cols + c]);
          for (guint c = 0; c < cols; c++)
            sum += exp (scale * x[r * cols + c] - m);
          for (guint c = 0; c < cols; c++)
            want[r * cols + c] = exp (scale * x[r * cols + c] - m) / sum;
        }

      g_assert_no_error (error);
      /* In place. */
      vm_gpu_softmax (graph, rows, cols, VM_GPU_VIEW (bx, 0), scale, VM_GPU_VIEW (bx, 0), &error);
      g_assert_no_error (error);
      submit (graph);
      got = download_floats (bx, 0, n);
      g_assert_cmpfloat (normalised_error (got, want, n), <, 1e-5);
      for (guint r = 0; r < rows; r++)
        {
          double sum = 0;
          for (guint c = 0; c < cols; c++)
            sum += got[r * cols + c];
          g_assert_cmpfloat (fabs (sum - 1), <, 1e-4);
        }
    }
  assert_no_validation_messages ();
}

static void
test_l2norm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  const guint rows = 33, cols = 515;
  gsize n = (gsize) rows * cols;
  g_autofree float *x = random_floats (rand, n, -2, 2);
  g_autofree double *want = g_new (double, n);
  g_autofree float *got = NULL;
  g_autoptr(VmGpuBuffer) bx = NULL;
  g_autoptr(VmGpuBuffer) by = NULL;

  REQUIRE_DEVICE ();
  for (guint c = 0; c < cols; c++)
    x[c] = 0;   /* a zero row stays zero */
  for (guint r = 0; r < rows; r++)
    {
      double s = 0;
      for (guint c = 0; c < cols; c++)
        s += (double) x[r * cols + c] * x[r * cols + c];
      for (guint c = 0; c < cols; c++)
        want[r * cols + c] = s > 0 ? x[r * cols + c] / sqrt (s) : 0;
    }
  bx = upload (x, n * 4);
  by = new_buffer (n * 4 + 64);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_l2_normalize (graph, rows, cols, VM_GPU_VIEW (bx, 0), VM_GPU_VIEW (by, 64), &error);
  g_assert_no_error (error);
  submit (graph);
  got = download_floats (by, 64, n);
  g_assert_cmpfloat (normalised_error (got, want, n), <, 1e-6);
  assert_no_validation_messages ();
}

/* ---- similarity ------------------------------------------------------------------------- */

typedef struct {
  double score;
  guint  index;
} Scored;

static int
scored_cmp (gconstpointer a,
            gconstpointer b)
{
  const Scored *x = a, *y = b;

  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

static void
run_similarity_case (GRand *rand,
                     guint  n_rows,
                     guint  dim,
                     guint  n_queries,
                     guint  k)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  gsize n_db = (gsize) n_rows * dim;
  g_autofree guint16 *db = g_new (guint16, n_db);
  g_autofree float *db_seen = g_new (float, n_db);
  g_autofree float *q = random_floats (rand, (gsize) n_queries * dim, -1, 1);
  g_autoptr(VmGpuBuffer) bdb = NULL;
  g_autoptr(VmGpuBuffer) bq = NULL;
  g_autoptr(VmGpuBuffer) bs = new_buffer ((gsize) n_queries * k * 4);
  g_autoptr(VmGpuBuffer) bi = new_buffer ((gsize) n_queries * k * 4);
  g_autofree float *scores = NULL;
  g_autofree guint32 *indices = g_new (guint32, (gsize) n_queries * k);
  g_autofree Scored *all = g_new (Scored, n_rows);

  for (gsize i = 0; i < n_db; i++)
    {
      db[i] = vm_float_to_half ((float) g_rand_double_range (rand, -1, 1));
      db_seen[i] = vm_half_to_float (db[i]);
    }
  /* Database at a non-zero offset. */
  bdb = new_buffer (n_db * 2 + 1024);
  vm_gpu_buffer_upload (bdb, 1024, db, n_db * 2, &error);
  g_assert_no_error (error);
  bq = upload (q, (gsize) n_queries * dim * 4);

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuSimilarity s = {
      .queries = VM_GPU_VIEW (bq, 0), .n_queries = n_queries,
      .database = VM_GPU_VIEW (bdb, 1024), .n_rows = n_rows, .dim = dim, .k = k,
      .scores = VM_GPU_VIEW (bs, 0), .indices = VM_GPU_VIEW (bi, 0),
    };
    vm_gpu_similarity_topk (graph, &s, &error);
    g_assert_no_error (error);
  }
  submit (graph);
  scores = download_floats (bs, 0, (gsize) n_queries * k);
  vm_gpu_buffer_download (bi, 0, indices, (gsize) n_queries * k * 4, &error);
  g_assert_no_error (error);

  for (guint qi = 0; qi < n_queries; qi++)
    {
      double tol = 1e-5 * sqrt (dim);
      guint valid = MIN (k, n_rows);

      for (guint r = 0; r < n_rows; r++)
        {
          double s = 0;
          for (guint c = 0; c < dim; c++)
            s += (double) q[(gsize) qi * dim + c] * db_seen[(gsize) r * dim + c];
          all[r] = (Scored) { s, r };
        }
      qsort (all, n_rows, sizeof (Scored), scored_cmp);

      for (guint e = 0; e < valid; e++)
        {
          guint32 idx = indices[(gsize) qi * k + e];
          float got = scores[(gsize) qi * k + e];
          double exact;

          /* Same k-th best score; the index may differ only among near ties. */
          g_assert_cmpfloat (fabs (got - all[e].score), <, tol);
          g_assert_cmpuint (idx, <, n_rows);
          exact = 0;
          for (guint c = 0; c < dim; c++)
            exact += (double) q[(gsize) qi * dim + c] * db_seen[(gsize) idx * dim + c];
          g_assert_cmpfloat (fabs (got - exact), <, tol);
          if (e > 0)
            {
              g_assert_cmpfloat (got, <=, scores[(gsize) qi * k + e - 1]);
              g_assert_cmpuint (idx, !=, indices[(gsize) qi * k + e - 1]);
            }
        }
      for (guint e = valid; e < k; e++)
        {
          g_assert_true (isinf (scores[(gsize) qi * k + e]) && scores[(gsize) qi * k + e] < 0);
          g_assert_cmpuint (indices[(gsize) qi * k + e], ==, G_MAXUINT32);
        }
    }
}

static void
test_similarity (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  run_similarity_case (rand, 1, 4, 1, 1);
  run_similarity_case (rand, 10, 8, 2, 16);     /* fewer rows than k */
  run_similarity_case (rand, 5000, 64, 1, 10);
  run_similarity_case (rand, 3001, 36, 3, 64);
  run_similarity_case (rand, 20000, 128, 16, 20);
  run_similarity_case (rand, 4099, 32, 37, 5);  /* three query groups */
  assert_no_validation_messages ();
}

static void
test_similarity_chunked (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  const VmGpuDeviceInfo *info;
  guint rows;

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  info = vm_gpu_device_get_info (device);
  /* Just over one binding's worth of 512-wide rows. */
  rows = (guint) (info->max_storage_buffer_range / 1024) + 777;
  if ((guint64) rows * 1024 > (guint64) 1 << 30)
    {
      g_test_skip ("maxStorageBufferRange too large to test chunking quickly");
      return;
    }
  run_similarity_case (rand, rows, 512, 2, 7);
  assert_no_validation_messages ();
}

static void
test_similarity_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) buf = NULL;
  VmGpuSimilarity s = { .n_queries = 1, .n_rows = 10, .dim = 6, .k = 5 };

  REQUIRE_DEVICE ();
  buf = new_buffer (4096);
  graph = vm_gpu_graph_new (device, &error);
  s.queries = s.database = s.scores = s.indices = VM_GPU_VIEW (buf, 0);
  g_assert_false (vm_gpu_similarity_topk (graph, &s, &error));   /* dim % 4 */
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  s.dim = 8;
  s.k = 65;
  g_assert_false (vm_gpu_similarity_topk (graph, &s, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  s.k = 5;
  s.n_rows = 1000;   /* overruns the buffer */
  g_assert_false (vm_gpu_similarity_topk (graph, &s, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  assert_no_validation_messages ();
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (path);
}

/* ---- main ---------------------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  /* The pipeline cache goes to a private folder. */
  cache_dir = g_dir_make_tmp ("vm-gpu-cache-XXXXXX", NULL);
  g_setenv ("XDG_CACHE_HOME", cache_dir, TRUE);

  g_test_init (&argc, &argv, NULL);

  if (!g_test_subprocess ())
    {
      device = vm_gpu_device_new (&error);
      if (device == NULL)
        {
          if (g_error_matches (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_LOADER) ||
              g_error_matches (error, VM_GPU_ERROR, VM_GPU_ERROR_NO_DEVICE))
            device_error = g_strdup_printf ("no Vulkan device: %s", error->message);
          else
            g_error ("opening the Vulkan device failed: %s", error->message);
        }
    }

  g_test_add_func ("/gpu/device/info", test_device_info);
  g_test_add_func ("/gpu/device/select", test_device_select);
  g_test_add_func ("/gpu/device/no-loader", test_no_loader);
  g_test_add_func ("/gpu/device/no-driver", test_no_driver);
  g_test_add_func ("/gpu/buffer/roundtrip", test_buffer_roundtrip);
  g_test_add_func ("/gpu/buffer/suballocation", test_buffer_suballocation);
  g_test_add_func ("/gpu/buffer/out-of-memory", test_buffer_oom);
  g_test_add_func ("/gpu/pipeline/cache", test_pipeline_cache);
  g_test_add_func ("/gpu/graph/barriers", test_graph_barriers);
  g_test_add_func ("/gpu/graph/profile", test_graph_profile);
  g_test_add_func ("/gpu/kernel/gemm", test_gemm);
  g_test_add_func ("/gpu/kernel/gemm-invalid", test_gemm_invalid);
  g_test_add_func ("/gpu/kernel/layernorm", test_layernorm);
  g_test_add_func ("/gpu/kernel/softmax", test_softmax);
  g_test_add_func ("/gpu/kernel/l2norm", test_l2norm);
  g_test_add_func ("/gpu/kernel/similarity", test_similarity);
  g_test_add_func ("/gpu/kernel/similarity-chunked", test_similarity_chunked);
  g_test_add_func ("/gpu/kernel/similarity-invalid", test_similarity_invalid);

  ret = g_test_run ();
  g_clear_pointer (&device, vm_gpu_device_unref);
  remove_tree (cache_dir);
  g_free (cache_dir);
  g_free (device_error);
  return ret;
}
