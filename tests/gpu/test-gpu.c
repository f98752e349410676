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
#include <vulkan/vulkan.h>

#include "core/vm-util.h"
#include "gpu/vm-gpu.h"

#include "../vm-test-gpu.h"
#include "../vm-test-util.h"

static VmGpuDevice *device;
static char *device_error;
static char *cache_dir;

#define REQUIRE_DEVICE() VM_TEST_SKIP_UNLESS (device != NULL, device_error)

/* Fails the test on any validation warning or error seen so far. */
static void
assert_no_validation_messages (void)
{
  vm_test_assert_no_validation_messages (device);
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
      g_autofree guint16 *h = g_new0 (guint16, MAX (n, 2));

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
  {
    /* Drivers report 1.3 or later: "1.3.239", "1.4.312". */
    g_autofree char *want = g_strdup_printf ("%u.%u.", (info->api_version >> 22) & 0x7f,
                                             (info->api_version >> 12) & 0x3ff);

    g_assert_true (g_str_has_prefix (api, want));
  }
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
  g_autoptr(VmGpuBuffer) buffer = NULL;
  float patch[3] = { 1, 2, 3 };

  REQUIRE_DEVICE ();
  buffer = upload (data, n * 4);
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

  /* lavapipe has no NV cooperative matrices: the tiled kernel is chosen
   * (when the texel-buffer kernel for CPU drivers is turned off). */
  g_setenv ("VIDMARK_GPU_GEMM", "tiled", TRUE);
  if (!vm_gpu_device_get_info (device)->cooperative_matrix_nv)
    g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F16), ==, "gemm_f16");
  g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F32), ==, "gemm_f32");
  g_unsetenv ("VIDMARK_GPU_GEMM");
  if (vm_gpu_device_get_info (device)->type == VM_GPU_DEVICE_TYPE_CPU)
    {
      const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);

      /* llvmpipe: 8-lane subgroups with shuffles take the broadcast form. */
      if (info->subgroup_size == 8 && (info->subgroup_operations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT))
        g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F32), ==, "gemm_texel_bc_f32");
      else
        g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F32), ==, "gemm_texel_f32");
      g_setenv ("VIDMARK_GPU_GEMM", "texel-gather", TRUE);
      g_assert_cmpstr (vm_gpu_gemm_variant (device, VM_GPU_F32), ==, "gemm_texel_f32");
      g_unsetenv ("VIDMARK_GPU_GEMM");
    }

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

  /* Pipelines are cached per specialisation value (the CPU drivers' GEMM
   * fixes its epilogue that way).  Values no kernel uses, so that the
   * counts do not depend on which tests ran before. */
  {
    /* Texel buffers at bindings 0, 1 and 3, as vm-gpu-kernels.c declares it. */
    VmGpuPipelineDesc desc = { "gemm_texel_bc_f32", 5, 72, { 32, 1, 1 }, (1u << 0) | (1u << 1) | (1u << 3), 0, TRUE, 1000 };
    VmGpuPipeline *p1, *p2, *p3;

    n = vm_gpu_device_get_n_pipelines (device);
    p1 = vm_gpu_device_get_pipeline (device, &desc, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (vm_gpu_device_get_n_pipelines (device), ==, n + 1);
    g_assert_true (vm_gpu_device_get_pipeline (device, &desc, &error) == p1);
    g_assert_cmpuint (vm_gpu_device_get_n_pipelines (device), ==, n + 1);
    desc.spec = 1001;
    p2 = vm_gpu_device_get_pipeline (device, &desc, &error);
    g_assert_no_error (error);
    g_assert_true (p2 != NULL && p2 != p1);
    g_assert_cmpuint (vm_gpu_device_get_n_pipelines (device), ==, n + 2);
    desc.has_spec = FALSE;
    p3 = vm_gpu_device_get_pipeline (device, &desc, &error);
    g_assert_no_error (error);
    g_assert_true (p3 != NULL && p3 != p1 && p3 != p2);
  }

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

/* softmax (scale · x) of 16 values, then L2-normalised when @l2, in double. */
static void
softmax_l2_want (const float *x,
                 double       scale,
                 gboolean     l2,
                 double      *want)
{
  double sum = 0, norm = 0;

  for (guint i = 0; i < 16; i++)
    sum += want[i] = exp (scale * x[i]);
  for (guint i = 0; i < 16; i++)
    norm += (want[i] / sum) * (want[i] / sum);
  for (guint i = 0; i < 16; i++)
    want[i] = want[i] / sum / (l2 ? sqrt (norm) : 1.0);
}

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
    double want[16];
    g_autofree float *got = download_floats (a, 0, 16);

    softmax_l2_want (va, 0.1, TRUE, want);
    g_assert_cmpfloat (normalised_error (got, want, 16), <, 1e-5);
  }

  /* Bad arguments fail cleanly and leave the graph usable. */
  g_assert_false (vm_gpu_softmax (graph, 100, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (c, 0), &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  submit (graph);
  assert_no_validation_messages ();
}

/* The host's wait for a submission: the fence polled before the sleeping
 * wait (VIDMARK_GPU_SPIN_US forced to 5 s, off, and by default), each time
 * with the results of that submission, and the polling over as soon as the
 * work is: a submit returns long before the 5 s. */
static void
test_graph_wait (void)
{
  static const char *spins[] = { "5000000", "0", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL, b = NULL;
  float *in;
  const float *out;

  REQUIRE_DEVICE ();
  a = new_buffer (64);
  b = new_buffer (64);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_set_reusable (graph, TRUE);
  in = vm_gpu_graph_input (graph, a, 0, 64, &error);
  g_assert_no_error (error);
  g_assert_true (vm_gpu_l2_normalize (graph, 1, 16, VM_GPU_VIEW (a, 0), VM_GPU_VIEW (b, 0), &error));
  out = vm_gpu_graph_output (graph, b, 0, 64, &error);
  g_assert_no_error (error);
  for (guint s = 0; s < G_N_ELEMENTS (spins); s++)
    {
      if (spins[s] != NULL)
        g_setenv ("VIDMARK_GPU_SPIN_US", spins[s], TRUE);
      else
        g_unsetenv ("VIDMARK_GPU_SPIN_US");
      for (guint round = 0; round < 3; round++)
        {
          double norm = 0;
          gint64 start;

          for (guint i = 0; i < 16; i++)
            {
              in[i] = (float) i - 3.0f * round - s;
              norm += (double) in[i] * in[i];
            }
          norm = sqrt (norm);
          start = g_get_monotonic_time ();
          g_assert_true (vm_gpu_graph_submit (graph, 0, &error));
          g_assert_no_error (error);
          g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
          for (guint i = 0; i < 16; i++)
            g_assert_cmpfloat (fabs (out[i] - ((float) i - 3.0f * round - s) / norm), <, 1e-5);
        }
    }
  g_unsetenv ("VIDMARK_GPU_SPIN_US");
  assert_no_validation_messages ();
}

/* A reusable graph, recorded once and submitted three times with new
 * inputs: one written in the mapping of a buffer nothing used yet, one
 * through a staging copy (its buffer is written by an earlier step), a
 * constant upload that must hold at every submit; outputs read in place or
 * through staging.  Recording more after the first submit, and downloads,
 * are errors. */
static void
test_graph_reusable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL, b = NULL, c = NULL, d = NULL, e = NULL, f = NULL;
  float konst[16], scratch[16];
  float *in_a, *in_b;
  const float *out_c, *out_d, *out_f;

  REQUIRE_DEVICE ();
  a = new_buffer (64);
  b = new_buffer (64);
  c = new_buffer (64);
  d = new_buffer (64);
  e = new_buffer (64);
  f = new_buffer (64);
  for (guint i = 0; i < 16; i++)
    konst[i] = (i % 5) * 0.7f;

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_set_reusable (graph, TRUE);
  in_a = vm_gpu_graph_input (graph, a, 0, 64, &error);
  g_assert_no_error (error);
  g_assert_true (vm_gpu_graph_fill (graph, b, 0, 64, 0, &error));
  in_b = vm_gpu_graph_input (graph, b, 0, 64, &error);
  g_assert_no_error (error);
  g_assert_true (vm_gpu_graph_upload (graph, e, 0, konst, sizeof konst, &error));
  /* The caller's copy of the constant may go at once. */
  memset (konst, 0, sizeof konst);
  for (guint i = 0; i < 16; i++)
    konst[i] = (i % 5) * 0.7f;
  g_assert_true (vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (c, 0), &error));
  g_assert_true (vm_gpu_l2_normalize (graph, 1, 16, VM_GPU_VIEW (b, 0), VM_GPU_VIEW (d, 0), &error));
  g_assert_true (vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (e, 0), 0.5f, VM_GPU_VIEW (f, 0), &error));
  /* The constant's buffer is overwritten later: each submit uploads it again. */
  g_assert_true (vm_gpu_l2_normalize (graph, 1, 16, VM_GPU_VIEW (c, 0), VM_GPU_VIEW (e, 0), &error));
  g_assert_no_error (error);
  out_c = vm_gpu_graph_output (graph, c, 0, 64, &error);
  out_d = vm_gpu_graph_output (graph, d, 0, 64, &error);
  out_f = vm_gpu_graph_output (graph, f, 0, 64, &error);
  g_assert_no_error (error);
  g_assert_false (vm_gpu_graph_download (graph, c, 0, scratch, 64, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  for (guint round = 0; round < 3; round++)
    {
      float xa[16], xb[16], got[16];
      double want[16], norm = 0;

      for (guint i = 0; i < 16; i++)
        {
          xa[i] = (float) ((i * 7 + round * 3) % 11) * 0.3f;
          xb[i] = (float) i - 4.0f * round;
          norm += (double) xb[i] * xb[i];
        }
      memcpy (in_a, xa, sizeof xa);
      memcpy (in_b, xb, sizeof xb);
      g_assert_true (vm_gpu_graph_submit (graph, 0, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (vm_gpu_graph_get_n_dispatches (graph), ==, 4);

      memcpy (got, out_c, sizeof got);
      softmax_l2_want (xa, 1.0, FALSE, want);
      g_assert_cmpfloat (normalised_error (got, want, 16), <, 1e-5);
      memcpy (got, out_d, sizeof got);
      for (guint i = 0; i < 16; i++)
        want[i] = xb[i] / sqrt (norm);
      g_assert_cmpfloat (normalised_error (got, want, 16), <, 1e-5);
      memcpy (got, out_f, sizeof got);
      softmax_l2_want (konst, 0.5, FALSE, want);
      g_assert_cmpfloat (normalised_error (got, want, 16), <, 1e-5);
    }

  /* Recorded: no further work. */
  g_assert_false (vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (c, 0), &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (vm_gpu_graph_submit (graph, 0, &error));
  g_assert_no_error (error);
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

/* VIDMARK_GPU_PROFILE=1 prints the per-kernel table after each submit. */
static void
test_graph_profile_env (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuGraph) graph = NULL;
      g_autoptr(VmGpuBuffer) a = NULL;
      float v[16] = { 0 };

      g_setenv ("VIDMARK_GPU_PROFILE", "1", TRUE);
      device = vm_gpu_device_new (&error);
      g_assert_no_error (error);
      a = upload (v, sizeof v);
      graph = vm_gpu_graph_new (device, &error);
      g_assert_no_error (error);
      vm_gpu_softmax (graph, 1, 16, VM_GPU_VIEW (a, 0), 1.0f, VM_GPU_VIEW (a, 0), &error);
      g_assert_no_error (error);
      submit (graph);
      return;
    }
  REQUIRE_DEVICE ();
  if (!vm_gpu_device_get_info (device)->timestamps)
    {
      g_test_skip ("this device cannot time kernels");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*GPU profile*softmax_f32*");
}

/* Uploads and downloads as steps of one graph, ordered with the steps
 * around them: into a buffer a fill already wrote (so even mapped memory
 * takes the recorded paths), inline (≤ 64 KiB) and through staging, then
 * read back when the submission returns. */
static void
test_graph_transfers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) buffer = NULL;
  g_autoptr(VmGpuBuffer) fresh = NULL;
  const gsize n = 100000;   /* 400 kB: through staging */
  g_autofree guint32 *big = g_new (guint32, n);
  g_autofree guint32 *back = g_new0 (guint32, n);
  guint32 small[5] = { 11, 22, 33, 44, 55 };
  guint32 head[8] = { 0 };
  guint32 fresh_back[4] = { 0 };
  guint32 fresh_data[4] = { 7, 8, 9, 10 };

  REQUIRE_DEVICE ();
  for (gsize i = 0; i < n; i++)
    big[i] = (guint32) (i * 2654435761u);
  buffer = new_buffer (n * 4);
  fresh = new_buffer (16);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);

  g_assert_true (vm_gpu_graph_fill (graph, buffer, 0, n * 4, 0xdeadbeef, &error));
  g_assert_true (vm_gpu_graph_upload (graph, buffer, 0, big, n * 4, &error));
  g_assert_true (vm_gpu_graph_upload (graph, buffer, 8, small, sizeof small, &error));
  g_assert_true (vm_gpu_graph_upload (graph, fresh, 0, fresh_data, sizeof fresh_data, &error));
  g_assert_true (vm_gpu_graph_download (graph, buffer, 0, back, n * 4, &error));
  g_assert_true (vm_gpu_graph_download (graph, buffer, 0, head, sizeof head, &error));
  g_assert_true (vm_gpu_graph_download (graph, fresh, 0, fresh_back, sizeof fresh_back, &error));
  g_assert_no_error (error);
  /* Nothing is read before the submission. */
  g_assert_cmpuint (head[0], ==, 0);
  /* The host copies can go: the graph holds what it needs. */
  memset (big + 2, 0, 20);
  memset (small, 0, sizeof small);
  submit (graph);

  big[2] = 11, big[3] = 22, big[4] = 33, big[5] = 44, big[6] = 55;
  for (gsize i = 0; i < n; i++)
    if (i < 2 || i > 6)
      big[i] = (guint32) (i * 2654435761u);
  g_assert_cmpmem (back, n * 4, big, n * 4);
  g_assert_cmpmem (head, sizeof head, big, sizeof head);
  g_assert_cmpmem (fresh_back, sizeof fresh_back, fresh_data, sizeof fresh_data);

  /* Bad ranges are refused. */
  g_assert_false (vm_gpu_graph_upload (graph, buffer, 2, small, 4, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (vm_gpu_graph_download (graph, fresh, 8, head, 16, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_no_validation_messages ();
}

static guint64
pool_bytes (VmGpuScratchPool *pool)
{
  guint64 bytes;

  vm_gpu_scratch_pool_get_stats (pool, &bytes, NULL);
  return bytes;
}

static guint
pool_reuses (VmGpuScratchPool *pool)
{
  guint reuses;

  vm_gpu_scratch_pool_get_stats (pool, NULL, &reuses);
  return reuses;
}

/* vm_gpu_graph_upload_with(): the writer's bytes land in place on each path
 * (mapped buffer nothing touched yet, the command buffer for small data, a
 * staging buffer otherwise), each written exactly once. */
typedef struct {
  guint32 seed;
  guint   calls;
} Writer;

static void
write_pattern (guint8   *dst,
               gsize     size,
               gpointer  data)
{
  Writer *w = data;

  w->calls++;
  for (gsize i = 0; i < size / 4; i++)
    {
      guint32 v = (guint32) (i * 2654435761u) ^ w->seed;
      memcpy (dst + 4 * i, &v, 4);
    }
}

static void
test_graph_upload_with (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) fresh = NULL;
  g_autoptr(VmGpuBuffer) used = NULL;
  const gsize n = 100000;   /* 400 kB: above the command buffer's 64 KiB */
  g_autofree guint32 *want = g_new (guint32, n);
  g_autofree guint32 *back_fresh = g_new0 (guint32, n);
  g_autofree guint32 *back_used = g_new0 (guint32, n);
  Writer w[3] = { { 1, 0 }, { 2, 0 }, { 3, 0 } };

  REQUIRE_DEVICE ();
  fresh = new_buffer (n * 4);
  used = new_buffer (n * 4);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);

  g_assert_true (vm_gpu_graph_upload_with (graph, fresh, 0, n * 4, write_pattern, &w[0], &error));
  g_assert_true (vm_gpu_graph_fill (graph, used, 0, n * 4, 0, &error));
  /* After a recorded step on @used: staging, then the command buffer. */
  g_assert_true (vm_gpu_graph_upload_with (graph, used, 0, n * 4, write_pattern, &w[1], &error));
  g_assert_true (vm_gpu_graph_upload_with (graph, used, 64, 256, write_pattern, &w[2], &error));
  g_assert_true (vm_gpu_graph_download (graph, fresh, 0, back_fresh, n * 4, &error));
  g_assert_true (vm_gpu_graph_download (graph, used, 0, back_used, n * 4, &error));
  g_assert_no_error (error);
  submit (graph);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (w[i].calls, ==, 1);

  write_pattern ((guint8 *) want, n * 4, &(Writer) { 1, 0 });
  g_assert_cmpmem (back_fresh, n * 4, want, n * 4);
  write_pattern ((guint8 *) want, n * 4, &(Writer) { 2, 0 });
  write_pattern ((guint8 *) want + 64, 256, &(Writer) { 3, 0 });
  g_assert_cmpmem (back_used, n * 4, want, n * 4);

  g_assert_false (vm_gpu_graph_upload_with (graph, used, n * 4 - 4, 8, write_pattern, &w[0], &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (w[0].calls, ==, 1);
  assert_no_validation_messages ();
}

/* Scratch buffers go back to the pool when their graph is freed and come
 * out again at the same size and memory type; buffers held elsewhere stay
 * out; the pool keeps at most its budget, dropping the oldest. */
static void
test_graph_scratch_pool (void)
{
  g_autoptr(GError) error = NULL;
  /* 3 MiB, and room for the staging buffer of a GPU's download (it goes
   * back to the pool too; on CPU drivers the buffers are mapped). */
  g_autoptr(VmGpuScratchPool) pool = vm_gpu_scratch_pool_new ((3 << 20) + (64 << 10));
  g_autoptr(VmGpuBuffer) kept = NULL;
  VmGpuBuffer *a, *b, *c;
  VmGpuGraph *graph;
  float data[4] = { 1, 2, 3, 4 }, back[4] = { 0 };

  REQUIRE_DEVICE ();
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_set_scratch_pool (graph, pool);
  a = vm_gpu_graph_scratch (graph, 1 << 20, &error);
  b = vm_gpu_graph_scratch (graph, 2 << 20, &error);
  c = vm_gpu_graph_scratch (graph, 64 << 10, &error);
  g_assert_no_error (error);
  kept = vm_gpu_buffer_ref (c);
  g_assert_true (vm_gpu_graph_upload (graph, a, 0, data, sizeof data, &error));
  g_assert_true (vm_gpu_graph_download (graph, a, 0, back, sizeof back, &error));
  submit (graph);
  g_assert_cmpmem (back, sizeof back, data, sizeof data);
  g_assert_cmpuint (pool_bytes (pool), ==, 0);
  vm_gpu_graph_free (graph);
  /* a and b are back (and any staging buffers); c is still referenced here. */
  g_assert_cmpuint (pool_bytes (pool), >=, 3 << 20);
  g_assert_cmpuint (pool_bytes (pool), <, (3 << 20) + (64 << 10));

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_set_scratch_pool (graph, pool);
  g_assert_true (vm_gpu_graph_scratch (graph, 2 << 20, &error) == b);
  g_assert_true (vm_gpu_graph_scratch (graph, 1 << 20, &error) == a);
  g_assert_true (vm_gpu_graph_scratch (graph, 1 << 20, &error) != a);   /* taken already */
  g_assert_true (vm_gpu_graph_scratch (graph, 64 << 10, &error) != c);
  g_assert_no_error (error);
  g_assert_cmpuint (pool_reuses (pool), ==, 2);
  g_assert_cmpuint (pool_bytes (pool), <, 64 << 10);   /* a staging buffer at most */
  /* Never submitted: its buffers were never used and may go back too; the
   * budget keeps the most recent of the 4 MiB + 64 KiB. */
  vm_gpu_graph_free (graph);
  g_assert_cmpuint (pool_bytes (pool), <=, (3 << 20) + (64 << 10));
  g_assert_cmpuint (pool_bytes (pool), >, 0);
  assert_no_validation_messages ();
}

static void
test_graph_many_nodes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL;
  float v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  double norm = 0, want[8];

  REQUIRE_DEVICE ();
  for (guint i = 0; i < 8; i++)
    norm += v[i] * v[i];
  for (guint i = 0; i < 8; i++)
    want[i] = v[i] / sqrt (norm);
  a = upload (v, sizeof v);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);

  /* More nodes than one descriptor pool holds, twice (the pools are reused). */
  for (guint round = 0; round < 2; round++)
    {
      g_autofree float *got = NULL;

      for (guint i = 0; i < 600; i++)
        {
          vm_gpu_l2_normalize (graph, 1, 8, VM_GPU_VIEW (a, 0), VM_GPU_VIEW (a, 0), &error);
          g_assert_no_error (error);
        }
      submit (graph);
      g_assert_cmpuint (vm_gpu_graph_get_n_dispatches (graph), ==, 600);
      g_assert_cmpuint (vm_gpu_graph_get_n_barriers (graph), ==, 599);
      got = download_floats (a, 0, 8);
      g_assert_cmpfloat (normalised_error (got, want, 8), <, 1e-6);
    }
  assert_no_validation_messages ();
}

static void
test_graph_timeout (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) a = NULL, c = NULL;
  const guint n = 384;
  VmGpuGemm g = { .m = n, .n = n, .k = n };

  REQUIRE_DEVICE ();
  a = new_buffer ((gsize) n * n * 4);
  c = new_buffer ((gsize) n * n * 4);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_graph_fill (graph, a, 0, (gsize) n * n * 4, 0, &error);
  g_assert_no_error (error);
  g.a = g.b = VM_GPU_VIEW (a, 0);
  g.c = VM_GPU_VIEW (c, 0);
  for (guint i = 0; i < 4; i++)
    {
      vm_gpu_gemm (graph, &g, &error);
      g_assert_no_error (error);
    }
  /* Half a GFLOP cannot finish within a microsecond: a clear error, no hang. */
  g_assert_false (vm_gpu_graph_submit (graph, 1000, &error));
  g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_TIMEOUT);
  g_clear_error (&error);
  g_assert_false (vm_gpu_device_is_lost (device));
  /* Freeing the graph waits for the work it still owns. */
  g_clear_pointer (&graph, vm_gpu_graph_free);
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

/* The kernel the last run_gemm_case() ran ("" where the device has no
 * timestamps). */
static char last_gemm_kernel[64];
/* Where run_gemm_case() puts C in its buffer, in bytes (256: a multiple of
 * 16; others exercise the kernels' element-by-element epilogues). */
static guint gemm_c_offset = 256;

/* Returns the kernel that ran (last_gemm_kernel). */
static const char *
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
  g_autoptr(VmGpuBuffer) bc = new_buffer ((gsize) batch * m * n * 4 + gemm_c_offset);
  Weights wb = upload_weights (b, (gsize) nb * n * k, type);
  Weights wbias = upload_weights (bias, n, type);
  VmGpuGemm g = {
    .m = m, .n = n, .k = k, .batch = batch,
    .a = VM_GPU_VIEW (ba, 0), .a_batch_stride = m * k,
    .b = VM_GPU_VIEW (wb.buffer, 0), .b_batch_stride = share_b ? 0 : n * k, .b_type = type,
    .bias = VM_GPU_VIEW (with_bias ? wbias.buffer : NULL, 0),
    .residual = VM_GPU_VIEW (with_residual ? br : NULL, 0), .residual_batch_stride = m * n,
    .c = VM_GPU_VIEW (bc, gemm_c_offset), .c_batch_stride = m * n,
    .epilogue = epilogue,
  };
  GArray *timings;
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
  vm_gpu_graph_set_profiling (graph, TRUE);
  vm_gpu_gemm (graph, &g, &error);
  g_assert_no_error (error);
  submit (graph);
  timings = vm_gpu_graph_get_timings (graph);
  g_strlcpy (last_gemm_kernel, timings->len > 0 ? g_array_index (timings, VmGpuKernelTiming, 0).name : "",
             sizeof last_gemm_kernel);
  got = download_floats (bc, gemm_c_offset, (gsize) batch * m * n);
  err = normalised_error (got, want, (gsize) batch * m * n);
  /* fp32 accumulation of k products of magnitude ≤ 1: relative error ~ k·2⁻²⁴;
   * the cooperative-matrix kernels also round A to fp16 (2⁻¹¹ per element). */
  if (err > (m >= 16 && g_str_has_prefix (vm_gpu_gemm_variant (device, type), "gemm_coopmat") ? 1e-3 : 1e-5 * MAX (1.0, sqrt (k))))
    g_error ("GEMM %u×%u×%u batch %u epilogue %d type %d: error %g", m, n, k, batch, epilogue, type, err);
  weights_clear (&wb);
  weights_clear (&wbias);
  return last_gemm_kernel;
}

static void
test_gemm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  static const char *variants[] = { "tiled", "texel", "texel-gather", "skinny" };
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  /* The shared-memory tiled kernel and the texel-buffer kernels (CPU drivers;
   * shapes with k % 4 != 0 fall back to tiled): "texel" broadcasts A across
   * 8-lane subgroups, "texel-gather" is the plain form.  k = 200 and 520 run
   * whole blocks of 8 broadcast steps and a tail. */
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_setenv ("VIDMARK_GPU_GEMM", variants[v], TRUE);
      g_test_message ("GEMM kernel: %s / %s", vm_gpu_gemm_variant (device, VM_GPU_F32),
                      vm_gpu_gemm_variant (device, VM_GPU_F16));
      for (guint t = 0; t < n_types; t++)
        {
          VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;

          run_gemm_case (rand, 1, 1, 1, 1, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 1, 1, 4, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 64, 64, 16, 1, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 37, 53, 19, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 70, 130, 200, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, type);
          run_gemm_case (rand, 65, 97, 33, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
          run_gemm_case (rand, 50, 300, 64, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
          run_gemm_case (rand, 50, 77, 64, 1, FALSE, FALSE, TRUE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 17, 40, 24, 3, FALSE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 23, 31, 44, 4, TRUE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, type);
          run_gemm_case (rand, 30, 70, 520, 2, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 9, 200, 36, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          /* The broadcast kernel's block shapes: 40 × 192 outputs, or 32 × 128
           * where that pads less (n = 512: the text tower). */
          run_gemm_case (rand, 96, 512, 72, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, type);
          if (g_str_has_prefix (vm_gpu_gemm_variant (device, type), "gemm_texel_bc_") && *last_gemm_kernel)
            g_assert_cmpstr (last_gemm_kernel, ==, type == VM_GPU_F16 ? "gemm_texel_bc4_f16" : "gemm_texel_bc4_f32");
          run_gemm_case (rand, 72, 384, 40, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          if (g_str_has_prefix (vm_gpu_gemm_variant (device, type), "gemm_texel_bc_") && *last_gemm_kernel)
            g_assert_cmpstr (last_gemm_kernel, ==, type == VM_GPU_F16 ? "gemm_texel_bc_f16" : "gemm_texel_bc_f32");
          /* The broadcast kernel reads the residual as texels of 4 columns
           * (its 6 columns per lane: a group of 4 and a pair), batched too;
           * a residual not in whole texels (n = 390) takes the plain form. */
          run_gemm_case (rand, 72, 384, 40, 2, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, type);
          if (g_str_has_prefix (vm_gpu_gemm_variant (device, type), "gemm_texel_bc_") && *last_gemm_kernel)
            g_assert_cmpstr (last_gemm_kernel, ==, type == VM_GPU_F16 ? "gemm_texel_bc_f16" : "gemm_texel_bc_f32");
          run_gemm_case (rand, 72, 390, 40, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_NONE, type);
          if (g_str_has_prefix (vm_gpu_gemm_variant (device, type), "gemm_texel_bc_") && *last_gemm_kernel)
            g_assert_cmpstr (last_gemm_kernel, ==, type == VM_GPU_F16 ? "gemm_texel_f16" : "gemm_texel_f32");
          /* At most 16 rows, aligned: gemm_skinny on GPUs (and "skinny"). */
          run_gemm_case (rand, 1, 77, 512, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 4, 300, 64, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
          if (g_str_equal (variants[v], "skinny") && type == VM_GPU_F16)
            g_assert_cmpstr (last_gemm_kernel, ==, "gemm_skinny8_f16");
          run_gemm_case (rand, 8, 96, 1032, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_NONE, type);
          run_gemm_case (rand, 16, 130, 520, 2, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, type);
          if (g_str_equal (variants[v], "skinny") && type == VM_GPU_F16)
            g_assert_cmpstr (last_gemm_kernel, ==, "gemm_skinny_f16");
          run_gemm_case (rand, 11, 33, 8, 3, TRUE, FALSE, FALSE, VM_GPU_EPILOGUE_NONE, type);
        }
      /* Random shapes. */
      for (guint i = 0; i < 6; i++)
        run_gemm_case (rand, g_rand_int_range (rand, 1, 150), g_rand_int_range (rand, 1, 300),
                       g_rand_int_range (rand, 1, 80) * (g_rand_boolean (rand) ? 4 : 1),
                       g_rand_int_range (rand, 1, 3), g_rand_boolean (rand),
                       g_rand_boolean (rand), g_rand_boolean (rand), g_rand_int_range (rand, 0, 3),
                       (n_types == 2 && g_rand_boolean (rand)) ? VM_GPU_F16 : VM_GPU_F32);
    }
  g_unsetenv ("VIDMARK_GPU_GEMM");
  /* Products large enough for the large tiles of GPU kernels (aligned,
   * batched, with a k tail) and an unaligned one.  Epilogues as in cases
   * above, whose pipelines are compiled already on CPU drivers. */
  for (guint t = 0; t < n_types; t++)
    {
      VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;

      run_gemm_case (rand, 1300, 1280, 48, 1, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, type);
      run_gemm_case (rand, 520, 1290, 24, 2, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
      run_gemm_case (rand, 301, 259, 77, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, type);
    }
  assert_no_validation_messages ();
}

/* A product and the kernel that must run it, or with '!' one that must
 * not (test_gemm_splitk, test_gemm_wsplit). */
typedef struct {
  guint m, n, k, batch;
  gboolean residual;
  VmGpuEpilogue epilogue;
  const char *kernel;
} GemmKernelCase;

static void
run_gemm_kernel_cases (GRand                *rand,
                       const GemmKernelCase *cases,
                       guint                 n_cases)
{
  for (guint c = 0; c < n_cases; c++)
    {
      const char *kernel = run_gemm_case (rand, cases[c].m, cases[c].n, cases[c].k, cases[c].batch, FALSE, TRUE,
                                          cases[c].residual, cases[c].epilogue, VM_GPU_F16);

      if (cases[c].kernel[0] == '!')
        g_assert_cmpstr (kernel, !=, cases[c].kernel + 1);
      else
        g_assert_cmpstr (kernel, ==, cases[c].kernel);
    }
}

/* Whether the device has NV cooperative matrices; else the test skips. */
static gboolean
require_coopmat (void)
{
  if (!g_str_equal (vm_gpu_gemm_variant (device, VM_GPU_F16), "gemm_coopmat_f16"))
    {
      g_test_skip ("no NV cooperative matrices on this device");
      return FALSE;
    }
  return TRUE;
}

/* The forms of the cooperative-matrix GEMM (values of $VIDMARK_GPU_COOPMAT),
 * where the device has NV cooperative matrices: m off the 16-row grid (the
 * direct form's shifted last fragments), batched with a residual, k with a
 * tail of 16, and products the direct form cannot take (n or k off the
 * grid of 16), which fall back to the shared-memory form or small tiles. */
static void
test_gemm_coopmat_forms (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (44);
  static const struct {
    const char *form, *kernel;
  } forms[] = {
    { NULL, "gemm_coopmat_direct_f16" },
    { "direct", "gemm_coopmat_direct_f16" },
    { "shared", "gemm_coopmat_f16" },
    { "small", "gemm_coopmat_s_f16" },
  };

  REQUIRE_DEVICE ();
  if (!require_coopmat ())
    return;
  for (guint f = 0; f < G_N_ELEMENTS (forms); f++)
    {
      static const struct {
        guint m, n, k, batch;
        gboolean residual;
        VmGpuEpilogue epilogue;
        guint c_offset;   /* 260: off the 16-byte grid, the element-by-element epilogue */
      } large[] = {
        { 1300, 1280, 48, 1, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, 256 },
        { 520, 1296, 80, 2, TRUE, VM_GPU_EPILOGUE_GELU, 256 },
        { 1030, 1536, 784, 1, TRUE, VM_GPU_EPILOGUE_NONE, 256 },
        { 1030, 1536, 784, 1, TRUE, VM_GPU_EPILOGUE_GELU, 260 },
      };

      if (forms[f].form != NULL)
        g_setenv ("VIDMARK_GPU_COOPMAT", forms[f].form, TRUE);
      for (guint c = 0; c < G_N_ELEMENTS (large); c++)
        {
          gemm_c_offset = large[c].c_offset;
          run_gemm_case (rand, large[c].m, large[c].n, large[c].k, large[c].batch, FALSE, TRUE, large[c].residual,
                         large[c].epilogue, VM_GPU_F16);
          gemm_c_offset = 256;
          g_assert_cmpstr (last_gemm_kernel, ==, forms[f].kernel);
        }
      /* n off the grid of 16: never the direct form. */
      run_gemm_case (rand, 1300, 1288, 48, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_NONE, VM_GPU_F16);
      g_assert_cmpstr (last_gemm_kernel, !=, "gemm_coopmat_direct_f16");
      /* Too few 128 × 128 tiles: the direct form's 64 × 64, else 32 × 64. */
      run_gemm_case (rand, 400, 512, 768, 2, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, VM_GPU_F16);
      g_assert_cmpstr (last_gemm_kernel, ==,
                       g_str_has_prefix (forms[f].kernel, "gemm_coopmat_direct") ? "gemm_coopmat_direct_s_f16"
                                                                                 : "gemm_coopmat_s_f16");
      /* Unaligned: the small tiles' element-by-element form. */
      run_gemm_case (rand, 301, 259, 77, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, VM_GPU_F16);
      g_assert_cmpstr (last_gemm_kernel, ==, "gemm_coopmat_u_f16");
      g_unsetenv ("VIDMARK_GPU_COOPMAT");
    }
  assert_no_validation_messages ();
}

/* Products of few rows split over k on the cooperative-matrix path
 * (gemm_coopmat_splitk + gemm_splitk_reduce): CLIP's image tower at one
 * image (50 rows), every epilogue, a last slice shorter than the others,
 * and the products it leaves to the other kernels. */
static void
test_gemm_splitk (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (45);
  static const GemmKernelCase cases[] = {
    /* By default, where 64 × 64 tiles would leave the device idle. */
    { 50, 768, 768, 1, FALSE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_splitk_f16" },
    { 50, 3072, 768, 1, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, "gemm_coopmat_splitk_f16" },
    { 50, 768, 3072, 1, TRUE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_splitk_f16" },
    { 37, 512, 784, 1, TRUE, VM_GPU_EPILOGUE_GELU, "gemm_coopmat_splitk_f16" },
    /* Deep products at medium batches: in two. */
    { 800, 768, 3072, 1, TRUE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_splitk_f16" },
    { 1700, 768, 3072, 1, TRUE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_splitk_f16" },
    /* Not: batched, short k, n off the grid of 16, many tiles. */
    { 50, 768, 768, 2, TRUE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_splitk_f16" },
    { 50, 768, 128, 1, FALSE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_splitk_f16" },
    { 50, 520, 768, 1, FALSE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_splitk_f16" },
    { 1030, 1536, 784, 1, TRUE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_direct_f16" },
  };

  REQUIRE_DEVICE ();
  if (!require_coopmat ())
    return;
  /* Products of k ≤ 1024 without a LayerNorm take gemm_coopmat_wsplit by
   * default (test_gemm_wsplit): this test is the split's. */
  g_setenv ("VIDMARK_GPU_FEW_ROWS", "splitk", TRUE);
  run_gemm_kernel_cases (rand, cases, G_N_ELEMENTS (cases));
  /* Forced: a large product too. */
  g_setenv ("VIDMARK_GPU_COOPMAT", "splitk", TRUE);
  run_gemm_case (rand, 1030, 1536, 784, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, VM_GPU_F16);
  g_assert_cmpstr (last_gemm_kernel, ==, "gemm_coopmat_splitk_f16");
  g_unsetenv ("VIDMARK_GPU_COOPMAT");

  /* Two split products in a row, the second on the first's result, in a
   * reusable graph submitted three times with new A. */
  {
    const guint m = 50, n = 768, k = 768;
    g_autoptr(GError) error = NULL;
    g_autoptr(VmGpuGraph) graph = NULL;
    g_autofree float *b1 = random_floats (rand, (gsize) n * k, -1, 1);
    g_autofree float *b2 = random_floats (rand, (gsize) n * n, -1, 1);
    g_autofree float *bias = random_floats (rand, n, -1, 1);
    g_autofree double *c1 = g_new (double, (gsize) m * n);
    g_autofree double *want = g_new (double, (gsize) m * n);
    g_autofree float *got = g_new (float, (gsize) m * n);
    g_autoptr(VmGpuBuffer) ba = new_buffer ((gsize) m * k * 4);
    g_autoptr(VmGpuBuffer) bc1 = new_buffer ((gsize) m * n * 4);
    g_autoptr(VmGpuBuffer) bc2 = new_buffer ((gsize) m * n * 4);
    Weights w1 = upload_weights (b1, (gsize) n * k, VM_GPU_F16);
    Weights w2 = upload_weights (b2, (gsize) n * n, VM_GPU_F16);
    Weights wbias = upload_weights (bias, n, VM_GPU_F16);
    VmGpuGemm g1 = {
      .m = m, .n = n, .k = k, .a = VM_GPU_VIEW (ba, 0), .b = VM_GPU_VIEW (w1.buffer, 0), .b_type = VM_GPU_F16,
      .bias = VM_GPU_VIEW (wbias.buffer, 0), .c = VM_GPU_VIEW (bc1, 0), .epilogue = VM_GPU_EPILOGUE_GELU,
    };
    VmGpuGemm g2 = {
      .m = m, .n = n, .k = n, .a = VM_GPU_VIEW (bc1, 0), .b = VM_GPU_VIEW (w2.buffer, 0), .b_type = VM_GPU_F16,
      .residual = VM_GPU_VIEW (bc1, 0), .c = VM_GPU_VIEW (bc2, 0),
    };
    float *in;
    const float *out;

    graph = vm_gpu_graph_new (device, &error);
    g_assert_no_error (error);
    vm_gpu_graph_set_reusable (graph, TRUE);
    vm_gpu_graph_set_profiling (graph, TRUE);
    in = vm_gpu_graph_input (graph, ba, 0, (gsize) m * k * 4, &error);
    g_assert_no_error (error);
    g_assert_true (vm_gpu_gemm (graph, &g1, &error) && vm_gpu_gemm (graph, &g2, &error));
    out = vm_gpu_graph_output (graph, bc2, 0, (gsize) m * n * 4, &error);
    g_assert_no_error (error);
    for (guint round = 0; round < 3; round++)
      {
        g_autofree float *a = random_floats (rand, (gsize) m * k, -1, 1);
        GArray *timings;

        for (guint i = 0; i < m; i++)
          for (guint j = 0; j < n; j++)
            {
              double s = wbias.seen[j];

              for (guint l = 0; l < k; l++)
                s += (double) a[(gsize) i * k + l] * w1.seen[(gsize) j * k + l];
              c1[(gsize) i * n + j] = ref_activation (s, VM_GPU_EPILOGUE_GELU);
            }
        for (guint i = 0; i < m; i++)
          for (guint j = 0; j < n; j++)
            {
              double s = c1[(gsize) i * n + j];

              for (guint l = 0; l < n; l++)
                s += c1[(gsize) i * n + l] * w2.seen[(gsize) j * n + l];
              want[(gsize) i * n + j] = s;
            }
        memcpy (in, a, (gsize) m * k * 4);
        g_assert_true (vm_gpu_graph_submit (graph, 0, &error));
        g_assert_no_error (error);
        timings = vm_gpu_graph_get_timings (graph);
        g_assert_cmpuint (timings->len, ==, 2);
        g_assert_cmpstr (g_array_index (timings, VmGpuKernelTiming, 0).name, ==, "gemm_coopmat_splitk_f16");
        g_assert_cmpuint (g_array_index (timings, VmGpuKernelTiming, 0).count, ==, 2);
        memcpy (got, out, (gsize) m * n * 4);
        g_assert_cmpfloat (normalised_error (got, want, (gsize) m * n), <, 2e-3);
      }
    weights_clear (&w1);
    weights_clear (&w2);
    weights_clear (&wbias);
  }
  g_unsetenv ("VIDMARK_GPU_FEW_ROWS");
  assert_no_validation_messages ();
}

/* Products of few rows with k split over one workgroup's subgroups
 * (gemm_coopmat_wsplit, one pass): CLIP's image tower at one image (50
 * rows) and at two (100: two tiles of rows), every epilogue, with and
 * without a residual, m off the grid of 16, k whose steps do not share out
 * evenly, and the products it leaves to the split over slices (deep; a
 * LayerNorm in the same pass: test_gemm_layernorm) and to the other forms. */
static void
test_gemm_wsplit (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (47);
  static const GemmKernelCase cases[] = {
    { 50, 2304, 768, 1, FALSE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_wsplit_f16" },
    { 50, 3072, 768, 1, FALSE, VM_GPU_EPILOGUE_QUICK_GELU, "gemm_coopmat_wsplit_f16" },
    { 50, 768, 768, 1, TRUE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_wsplit_f16" },
    { 37, 512, 784, 1, TRUE, VM_GPU_EPILOGUE_GELU, "gemm_coopmat_wsplit_f16" },
    { 100, 1536, 1024, 1, TRUE, VM_GPU_EPILOGUE_GELU, "gemm_coopmat_wsplit_f16" },
    { 24, 96, 240, 1, FALSE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_wsplit_f16" },   /* k < 256: not split */
    { 50, 768, 3072, 1, TRUE, VM_GPU_EPILOGUE_NONE, "gemm_coopmat_splitk_f16" },   /* deep */
    { 50, 768, 768, 2, TRUE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_wsplit_f16" },   /* batched */
    { 200, 768, 768, 1, FALSE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_wsplit_f16" }, /* more rows */
    { 50, 520, 768, 1, FALSE, VM_GPU_EPILOGUE_NONE, "!gemm_coopmat_wsplit_f16" },  /* n off the grid */
  };

  REQUIRE_DEVICE ();
  if (!require_coopmat ())
    return;
  run_gemm_kernel_cases (rand, cases, G_N_ELEMENTS (cases));
  /* Pinned to the split over slices (benchmarks compare the two). */
  g_setenv ("VIDMARK_GPU_FEW_ROWS", "splitk", TRUE);
  run_gemm_case (rand, 50, 768, 768, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_GELU, VM_GPU_F16);
  g_assert_cmpstr (last_gemm_kernel, ==, "gemm_coopmat_splitk_f16");
  g_unsetenv ("VIDMARK_GPU_FEW_ROWS");
  /* A form forced for every product: never this one. */
  g_setenv ("VIDMARK_GPU_COOPMAT", "splitk", TRUE);
  run_gemm_case (rand, 50, 768, 768, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_NONE, VM_GPU_F16);
  g_assert_cmpstr (last_gemm_kernel, ==, "gemm_coopmat_splitk_f16");
  g_unsetenv ("VIDMARK_GPU_COOPMAT");
  assert_no_validation_messages ();
}

/* vm_gpu_gemm_layernorm() against vm_gpu_gemm() then vm_gpu_layernorm():
 * C bit for bit, the LayerNorm within rounding; where the product is split
 * over k (NV cooperative matrices, few rows) the sum of the slices writes
 * both (gemm_splitk_reduce_ln), elsewhere the two steps run. */
static void
test_gemm_layernorm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (46);
  static const struct { guint m, n, k; gboolean split; } cases[] = {
    { 50, 768, 768, TRUE }, { 50, 768, 3072, TRUE }, { 37, 512, 784, TRUE }, { 7, 96, 64, FALSE },
  };
  gboolean coop = g_str_equal (vm_gpu_gemm_variant (device, VM_GPU_F16), "gemm_coopmat_f16");
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint t = 0; t < n_types; t++)
      {
        guint m = cases[c].m, n = cases[c].n, k = cases[c].k;
        VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;
        g_autoptr(GError) error = NULL;
        g_autoptr(VmGpuGraph) fused = vm_gpu_graph_new (device, &error);
        g_autoptr(VmGpuGraph) apart = vm_gpu_graph_new (device, &error);
        g_autofree float *a = random_floats (rand, (gsize) m * k, -1, 1);
        g_autofree float *b = random_floats (rand, (gsize) n * k, -1, 1);
        g_autofree float *bias = random_floats (rand, n, -1, 1);
        g_autofree float *res = random_floats (rand, (gsize) m * n, -2, 2);
        g_autofree float *gamma = random_floats (rand, n, 0.5, 1.5);
        g_autofree float *beta = random_floats (rand, n, -1, 1);
        g_autoptr(VmGpuBuffer) ba = upload (a, (gsize) m * k * 4);
        g_autoptr(VmGpuBuffer) br = upload (res, (gsize) m * n * 4);
        g_autoptr(VmGpuBuffer) bc1 = new_buffer ((gsize) m * n * 4), by1 = new_buffer ((gsize) m * n * 4);
        g_autoptr(VmGpuBuffer) bc2 = new_buffer ((gsize) m * n * 4), by2 = new_buffer ((gsize) m * n * 4);
        Weights wb = upload_weights (b, (gsize) n * k, type);
        Weights wbias = upload_weights (bias, n, type);
        Weights wg = upload_weights (gamma, n, type);
        Weights wbeta = upload_weights (beta, n, type);
        VmGpuGemm g = {
          .m = m, .n = n, .k = k, .a = VM_GPU_VIEW (ba, 0), .b = VM_GPU_VIEW (wb.buffer, 0), .b_type = type,
          .bias = VM_GPU_VIEW (wbias.buffer, 0), .residual = VM_GPU_VIEW (br, 0), .c = VM_GPU_VIEW (bc1, 0),
        };
        g_autofree float *c1 = NULL, *c2 = NULL, *y1 = NULL, *y2 = NULL;
        GArray *timings;
        gboolean ran_fused = FALSE;
        double err = 0, big = 0;

        g_assert_no_error (error);
        vm_gpu_graph_set_profiling (fused, TRUE);
        g_assert_true (vm_gpu_gemm_layernorm (fused, &g, VM_GPU_VIEW (wg.buffer, 0), VM_GPU_VIEW (wbeta.buffer, 0),
                                              type, 1e-5f, VM_GPU_VIEW (by1, 0), &error));
        g_assert_no_error (error);
        submit (fused);
        g.c = VM_GPU_VIEW (bc2, 0);
        /* The product alone as the split too (its sum, not
         * gemm_coopmat_wsplit's), so that C is the same bit for bit. */
        g_setenv ("VIDMARK_GPU_FEW_ROWS", "splitk", TRUE);
        g_assert_true (vm_gpu_gemm (apart, &g, &error));
        g_unsetenv ("VIDMARK_GPU_FEW_ROWS");
        g_assert_true (vm_gpu_layernorm (apart, m, n, VM_GPU_VIEW (bc2, 0), VM_GPU_VIEW (wg.buffer, 0),
                                         VM_GPU_VIEW (wbeta.buffer, 0), type, 1e-5f, VM_GPU_VIEW (by2, 0), &error));
        g_assert_no_error (error);
        submit (apart);

        timings = vm_gpu_graph_get_timings (fused);
        for (guint i = 0; i < timings->len; i++)
          ran_fused |= g_str_equal (g_array_index (timings, VmGpuKernelTiming, i).name, "gemm_splitk_reduce_ln");
        if (vm_gpu_device_get_info (device)->timestamps)
          g_assert_true (ran_fused == (coop && cases[c].split && type == VM_GPU_F16));
        c1 = download_floats (bc1, 0, (gsize) m * n);
        c2 = download_floats (bc2, 0, (gsize) m * n);
        y1 = download_floats (by1, 0, (gsize) m * n);
        y2 = download_floats (by2, 0, (gsize) m * n);
        g_assert_cmpmem (c1, (gsize) m * n * 4, c2, (gsize) m * n * 4);
        for (gsize e = 0; e < (gsize) m * n; e++)
          {
            err = MAX (err, fabs (y1[e] - y2[e]));
            big = MAX (big, fabs (y2[e]));
          }
        if (err > 1e-6 * big)
          g_error ("GEMM with LayerNorm %u×%u×%u type %d: LayerNorm differs by %g of %g", m, n, k, type, err, big);
        weights_clear (&wb);
        weights_clear (&wbias);
        weights_clear (&wg);
        weights_clear (&wbeta);
      }

  /* C must be one packed batch. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (device, &error);
    g_autoptr(VmGpuBuffer) buf = new_buffer (4096);
    VmGpuGemm g = { .m = 4, .n = 4, .k = 4, .batch = 2, .a_batch_stride = 16, .c_batch_stride = 16,
                    .a = VM_GPU_VIEW (buf, 0), .b = VM_GPU_VIEW (buf, 0), .b_type = VM_GPU_F32,
                    .c = VM_GPU_VIEW (buf, 1024) };

    g_assert_false (vm_gpu_gemm_layernorm (graph, &g, VM_GPU_VIEW (buf, 0), VM_GPU_VIEW (buf, 0), VM_GPU_F32, 1e-5f,
                                           VM_GPU_VIEW (buf, 2048), &error));
    g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
  }
  assert_no_validation_messages ();
}

/* Sub-matrices: rows longer than the product needs (lda, ldb, ldc > k, n). */
static void
test_gemm_strided (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (43);
  static const guint pads[][3] = { { 3, 5, 7 }, { 4, 8, 4 } };   /* tiled, texel-friendly */

  REQUIRE_DEVICE ();
  for (guint p = 0; p < G_N_ELEMENTS (pads); p++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (device, &error);
      const guint m = 29, n = 70, k = 36;
      guint lda = k + pads[p][0], ldb = k + pads[p][1], ldc = n + pads[p][2];
      g_autofree float *a = random_floats (rand, (gsize) m * lda, -1, 1);
      g_autofree float *b = random_floats (rand, (gsize) n * ldb, -1, 1);
      g_autofree float *c = g_new0 (float, (gsize) m * ldc);
      g_autofree double *want = g_new (double, (gsize) m * n);
      g_autofree float *got = NULL;
      g_autofree float *sub = g_new (float, (gsize) m * n);
      g_autoptr(VmGpuBuffer) ba = upload (a, (gsize) m * lda * 4);
      g_autoptr(VmGpuBuffer) bb = upload (b, (gsize) n * ldb * 4);
      g_autoptr(VmGpuBuffer) bc = upload (c, (gsize) m * ldc * 4);
      VmGpuGemm g = {
        .m = m, .n = n, .k = k,
        .a = VM_GPU_VIEW (ba, 0), .lda = lda,
        .b = VM_GPU_VIEW (bb, 0), .ldb = ldb, .b_type = VM_GPU_F32,
        .c = VM_GPU_VIEW (bc, 0), .ldc = ldc,
      };

      for (guint i = 0; i < m; i++)
        for (guint j = 0; j < n; j++)
          {
            double sum = 0;
            for (guint l = 0; l < k; l++)
              sum += (double) a[i * lda + l] * b[j * ldb + l];
            want[i * n + j] = sum;
          }
      g_assert_no_error (error);
      vm_gpu_gemm (graph, &g, &error);
      g_assert_no_error (error);
      submit (graph);
      got = download_floats (bc, 0, (gsize) m * ldc);
      for (guint i = 0; i < m; i++)
        {
          memcpy (sub + i * n, got + i * ldc, n * 4);
          for (guint j = n; j < ldc; j++)
            g_assert_cmpfloat (got[i * ldc + j], ==, 0.0f);   /* the padding is untouched */
        }
      g_assert_cmpfloat (normalised_error (sub, want, (gsize) m * n), <, 1e-5 * sqrt (k));
    }
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
  static const guint shapes[][2] = { { 1, 1 }, { 3, 7 }, { 50, 768 }, { 5, 1000 }, { 257, 64 }, { 67, 12 } };
  /* both kernels: one row per invocation (CPU drivers) and per workgroup */
  static const char *variants[] = { "rows", "workgroup" };
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  for (guint i = 0; i < G_N_ELEMENTS (variants) * n_types * G_N_ELEMENTS (shapes); i++)
      {
        guint t = i / G_N_ELEMENTS (shapes) % n_types, s = i % G_N_ELEMENTS (shapes);
        gboolean env_set = g_setenv ("VIDMARK_GPU_LAYERNORM", variants[i / (n_types * G_N_ELEMENTS (shapes))], TRUE);
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
        g_assert_true (env_set);
        g_assert_cmpfloat (normalised_error (got, want, n), <, 2e-5);
        weights_clear (&wg);
        weights_clear (&wbeta);
      }
  g_unsetenv ("VIDMARK_GPU_LAYERNORM");
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

/* ---- GEMV (score curves) -------------------------------------------------------------- */

/* Scores @n_rows random fp16 rows of @dim against a random fp32 x, with the
 * rows, x and the output at non-zero offsets, against a double reference;
 * the output's neighbours must stay untouched. */
static void
run_gemv_case (GRand *rand,
               guint  n_rows,
               guint  dim)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  gsize n_db = (gsize) n_rows * dim;
  g_autofree guint16 *db = g_new (guint16, n_db);
  g_autofree float *db_seen = g_new (float, n_db);
  g_autofree float *x = random_floats (rand, dim, -1, 1);
  g_autofree float *sentinel = g_new (float, n_rows + 128);
  g_autoptr(VmGpuBuffer) bdb = NULL;
  g_autoptr(VmGpuBuffer) bx = new_buffer ((gsize) dim * 4 + 256);
  g_autoptr(VmGpuBuffer) by = NULL;
  g_autofree float *y = NULL;

  for (gsize i = 0; i < n_db; i++)
    {
      db[i] = vm_float_to_half ((float) g_rand_double_range (rand, -1, 1));
      db_seen[i] = vm_half_to_float (db[i]);
    }
  bdb = new_buffer (n_db * 2 + 1024);
  vm_gpu_buffer_upload (bdb, 1024, db, n_db * 2, &error);
  g_assert_no_error (error);
  vm_gpu_buffer_upload (bx, 256, x, (gsize) dim * 4, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n_rows + 128; i++)
    sentinel[i] = -12345.0f;
  by = upload (sentinel, ((gsize) n_rows + 128) * 4);

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuGemv g = {
      .x = VM_GPU_VIEW (bx, 256),
      .rows = VM_GPU_VIEW (bdb, 1024), .n_rows = n_rows, .dim = dim,
      .y = VM_GPU_VIEW (by, 4 * 64),
    };
    vm_gpu_gemv_f16 (graph, &g, &error);
    g_assert_no_error (error);
  }
  submit (graph);
  y = download_floats (by, 0, (gsize) n_rows + 128);

  for (guint i = 0; i < 64; i++)
    {
      g_assert_cmpfloat (y[i], ==, -12345.0f);
      g_assert_cmpfloat (y[64 + n_rows + i], ==, -12345.0f);
    }
  for (guint r = 0; r < n_rows; r++)
    {
      double s = 0;

      for (guint c = 0; c < dim; c++)
        s += (double) x[c] * db_seen[(gsize) r * dim + c];
      g_assert_cmpfloat (fabs (y[64 + r] - s), <, 1e-5 * sqrt (dim));
    }
}

static void
test_gemv (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (21);
  static const guint dims[] = { 24, 512, 768, 8, 136 };

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  for (guint pass = 0; pass < 2; pass++)
    {
      /* Pass 1: the generic GEMM path the other devices take. */
      if (pass == 1)
        g_setenv ("VIDMARK_GPU_GEMV", "gemm", TRUE);
      for (guint d = 0; d < G_N_ELEMENTS (dims); d++)
        {
          VmGpuGemv probe = { .x = VM_GPU_VIEW (NULL, 256), .rows = VM_GPU_VIEW (NULL, 1024), .n_rows = 1, .dim = dims[d] };
          const char *name = vm_gpu_gemv_variant (device, &probe);
          const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);

          g_test_message ("gemv kernel at %u: %s", dims[d], name);
          if (pass == 1)
            g_assert_false (g_str_has_prefix (name, "gemv_lanes"));
          else if (info->subgroup_size == 8 && (info->subgroup_operations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0)
            g_assert_cmpstr (name, ==, dims[d] == 512 ? "gemv_lanes_d512_f16" :
                                       dims[d] == 768 ? "gemv_lanes_d768_f16" : "gemv_lanes_f16");
          if (pass == 0)
            {
              run_gemv_case (rand, 1, dims[d]);
              run_gemv_case (rand, 7, dims[d]);
              run_gemv_case (rand, 64, dims[d]);
              run_gemv_case (rand, g_rand_int_range (rand, 1, 3000), dims[d]);
            }
          run_gemv_case (rand, g_rand_int_range (rand, 1, 3000), dims[d]);
        }
      g_unsetenv ("VIDMARK_GPU_GEMV");
    }
  /* More rows than a few workgroups per core take in one step each. */
  run_gemv_case (rand, 20011, 512);
  assert_no_validation_messages ();
}

static void
test_gemv_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  g_autoptr(VmGpuBuffer) b = NULL;

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  b = new_buffer (4096);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuGemv g = { VM_GPU_VIEW (b, 0), VM_GPU_VIEW (b, 0), 0, 512, VM_GPU_VIEW (b, 0) };

    g_assert_false (vm_gpu_gemv_f16 (graph, &g, &error));   /* no rows */
    g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g.n_rows = 100;                                           /* 100 KB of rows in 4 KB */
    g_assert_false (vm_gpu_gemv_f16 (graph, &g, &error));
    g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  assert_no_validation_messages ();
}

static void
test_similarity (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  static const char *variants[] = { "storage", "texel-generic", "texel" };

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  /* Both ways of reading the rows, every query-group width. */
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      VmGpuSimilarity probe = { .n_queries = 5, .dim = 8 };

      g_setenv ("VIDMARK_GPU_SIMILARITY", variants[v], TRUE);
      g_test_message ("similarity kernel: %s", vm_gpu_similarity_variant (device, &probe));
      if (v == 0)
        g_assert_cmpstr (vm_gpu_similarity_variant (device, &probe), ==, "sim_topk_q8_f16");
      {
        const VmGpuDeviceInfo *info = vm_gpu_device_get_info (device);
        VmGpuSimilarity clip = { .n_queries = 1, .dim = 512 };
        const char *name = vm_gpu_similarity_variant (device, &clip);

        g_test_message ("similarity kernel at 512: %s", name);
        if (v == 2 && info->subgroup_size == 8 && (info->subgroup_operations & (1u << 4)) != 0 /* shuffle */)
          g_assert_cmpstr (name, ==, "sim_topk_lanes_d512_q1_f16");
        else
          g_assert_false (g_str_has_prefix (name, "sim_topk_lanes"));
      }
      probe.n_queries = 16;
      g_assert_true (g_str_has_suffix (vm_gpu_similarity_variant (device, &probe), "q16_f16"));
      run_similarity_case (rand, 1, 4, 1, 1);
      run_similarity_case (rand, 10, 8, 2, 16);     /* fewer rows than k */
      run_similarity_case (rand, 5000, 64, 1, 10);
      run_similarity_case (rand, 3001, 36, 3, 64);
      run_similarity_case (rand, 20000, 128, 8, 20);
      run_similarity_case (rand, 7000, 96, 16, 20);   /* one pass of 16 */
      run_similarity_case (rand, 4099, 32, 37, 5);  /* three query groups */
      run_similarity_case (rand, 30000, 512, 1, 64);
      /* The CLIP dimensions (the row-per-subgroup kernels on CPU drivers):
       * every query width, rows that fill no tile evenly. */
      run_similarity_case (rand, 2999, 512, 4, 10);
      run_similarity_case (rand, 1237, 512, 7, 3);
      run_similarity_case (rand, 1500, 512, 19, 12);
      run_similarity_case (rand, 4001, 768, 1, 10);
      run_similarity_case (rand, 777, 768, 3, 33);
    }
  g_unsetenv ("VIDMARK_GPU_SIMILARITY");
  assert_no_validation_messages ();
}

/* What the one-pass similarity kernel needs: 20484 bytes of shared memory
 * (SIM_GEMM_SHARED) and workgroups of 256 (besides 16-bit storage). */
static gboolean
can_run_sim_gemm (const VmGpuDeviceInfo *info)
{
  return info->max_shared_memory >= 20484 && info->max_workgroup_invocations >= 256;
}

/* The one-pass kernel for large batches (a tiled GEMM whose output step
 * feeds the top-k), forced: every batch size of the issue, both CLIP
 * dimensions and odd ones, rows that fill no tile evenly. */
static void
test_similarity_gemm (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  static const guint queries[] = { 17, 33, 64, 100, 256 };
  const VmGpuDeviceInfo *info;

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device))
    {
      g_test_skip ("this device has no 16-bit storage");
      return;
    }
  info = vm_gpu_device_get_info (device);
  {
    VmGpuSimilarity probe = { .n_queries = 64, .dim = 512 };
    const char *name;

    g_unsetenv ("VIDMARK_GPU_SIMILARITY");
    name = vm_gpu_similarity_variant (device, &probe);
    g_test_message ("similarity kernel at 64 queries: %s", name);
    if (info->type == VM_GPU_DEVICE_TYPE_CPU)
      g_assert_false (g_str_has_prefix (name, "sim_topk_gemm"));
    else if (can_run_sim_gemm (info))
      g_assert_cmpstr (name, ==, "sim_topk_gemm_f16");
    probe.n_queries = 16;
    g_assert_false (g_str_has_prefix (vm_gpu_similarity_variant (device, &probe), "sim_topk_gemm"));
  }
  if (!can_run_sim_gemm (info))
    {
      g_test_skip ("this device has too little shared memory for the one-pass kernel");
      return;
    }
  g_setenv ("VIDMARK_GPU_SIMILARITY", "gemm", TRUE);
  {
    VmGpuSimilarity probe = { .n_queries = 3, .dim = 8 };

    g_assert_cmpstr (vm_gpu_similarity_variant (device, &probe), ==, "sim_topk_gemm_q32_f16");
    probe.n_queries = 33;
    g_assert_cmpstr (vm_gpu_similarity_variant (device, &probe), ==, "sim_topk_gemm_f16");
  }
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    {
      run_similarity_case (rand, g_rand_int_range (rand, 700, 2500), 512, queries[i],
                           g_rand_int_range (rand, 1, 65));
      run_similarity_case (rand, g_rand_int_range (rand, 300, 1500), 768, queries[i],
                           g_rand_int_range (rand, 1, 65));
    }
  run_similarity_case (rand, 1, 4, 17, 1);
  run_similarity_case (rand, 50, 36, 20, 64);      /* fewer rows than k, one partial tile */
  run_similarity_case (rand, 4099, 100, 33, 64);   /* k = 64; dim 100: stages of 32, 32, 32, 4 */
  run_similarity_case (rand, 3001, 132, 5, 10);    /* few queries, still one pass */
  run_similarity_case (rand, 20011, 8, 64, 20);    /* many tiles per workgroup */
  run_similarity_case (rand, 257, 24, 300, 7);     /* two passes: 256 + 44 */
  g_unsetenv ("VIDMARK_GPU_SIMILARITY");
  assert_no_validation_messages ();
}

/* Exact ties: rows repeat three patterns, so every query's best pattern
 * scores identically (bit for bit: the one-pass kernel sums every row in
 * the same order) on a third of the rows, across every workgroup.  The
 * top-k must be the lowest rows of that pattern, in ascending order. */
static void
test_similarity_gemm_ties (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  const guint n_rows = 3001, dim = 64, n_queries = 40, k = 20;
  guint16 pattern[3][64];
  g_autofree guint16 *db = g_new (guint16, (gsize) n_rows * dim);
  g_autofree float *q = random_floats (rand, (gsize) n_queries * dim, -1, 1);
  g_autoptr(VmGpuBuffer) bdb = NULL, bq = NULL;
  g_autoptr(VmGpuBuffer) bs = new_buffer ((gsize) n_queries * k * 4);
  g_autoptr(VmGpuBuffer) bi = new_buffer ((gsize) n_queries * k * 4);
  g_autofree float *scores = NULL;
  g_autofree guint32 *indices = g_new (guint32, (gsize) n_queries * k);

  REQUIRE_DEVICE ();
  if (!vm_gpu_device_supports_f16 (device) || !can_run_sim_gemm (vm_gpu_device_get_info (device)))
    {
      g_test_skip ("this device cannot run the one-pass similarity kernel");
      return;
    }
  for (guint p = 0; p < 3; p++)
    for (guint c = 0; c < dim; c++)
      pattern[p][c] = vm_float_to_half ((float) g_rand_double_range (rand, -1, 1));
  for (guint r = 0; r < n_rows; r++)
    memcpy (db + (gsize) r * dim, pattern[r % 3], dim * 2);
  bdb = upload (db, (gsize) n_rows * dim * 2);
  bq = upload (q, (gsize) n_queries * dim * 4);

  g_setenv ("VIDMARK_GPU_SIMILARITY", "gemm", TRUE);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuSimilarity s = {
      .queries = VM_GPU_VIEW (bq, 0), .n_queries = n_queries,
      .database = VM_GPU_VIEW (bdb, 0), .n_rows = n_rows, .dim = dim, .k = k,
      .scores = VM_GPU_VIEW (bs, 0), .indices = VM_GPU_VIEW (bi, 0),
    };
    g_assert_cmpstr (vm_gpu_similarity_variant (device, &s), ==, "sim_topk_gemm_f16");
    vm_gpu_similarity_topk (graph, &s, &error);
    g_assert_no_error (error);
  }
  g_unsetenv ("VIDMARK_GPU_SIMILARITY");
  submit (graph);
  scores = download_floats (bs, 0, (gsize) n_queries * k);
  vm_gpu_buffer_download (bi, 0, indices, (gsize) n_queries * k * 4, &error);
  g_assert_no_error (error);

  for (guint qi = 0; qi < n_queries; qi++)
    {
      double best = -G_MAXDOUBLE;
      guint best_p = 0;

      for (guint p = 0; p < 3; p++)
        {
          double sum = 0;

          for (guint c = 0; c < dim; c++)
            sum += (double) q[(gsize) qi * dim + c] * vm_half_to_float (pattern[p][c]);
          if (sum > best)
            best = sum, best_p = p;
        }
      for (guint e = 0; e < k; e++)
        {
          g_assert_cmpuint (indices[(gsize) qi * k + e], ==, best_p + 3 * e);
          g_assert_cmpfloat (scores[(gsize) qi * k + e], ==, scores[(gsize) qi * k]);
          g_assert_cmpfloat (fabs (scores[(gsize) qi * k + e] - best), <, 1e-5 * sqrt (dim));
        }
    }
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
  /* The one-pass kernel over the same chunks (its partials' slots). */
  if (can_run_sim_gemm (info))
    {
      g_setenv ("VIDMARK_GPU_SIMILARITY", "gemm", TRUE);
      run_similarity_case (rand, rows, 512, 17, 7);
      g_unsetenv ("VIDMARK_GPU_SIMILARITY");
    }
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

/* ---- attention ------------------------------------------------------------------------ */

/* Records one attention against a double-precision reference; inputs
 * uniform in [-@range, @range].  Returns the kernel that ran. */
static const char *
run_attention_case_range (GRand    *rand,
                          guint     batch,
                          guint     heads,
                          guint     lq,
                          guint     lk,
                          guint     dh,
                          gboolean  causal,
                          gboolean  packed,
                          double    range,
                          gboolean  fp16)
{
  const char *kernel;
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  guint width = heads * dh;
  /* Packed: one [batch][L][3·width] QKV tensor (self-attention, lq = lk). */
  guint ld = packed ? 3 * width : width;
  gsize nq = (gsize) batch * lq * ld, nk = (gsize) batch * lk * ld;
  g_autofree float *q = random_floats (rand, nq, -range, range);
  g_autofree float *k = packed ? NULL : random_floats (rand, nk, -range, range);
  g_autofree float *v = packed ? NULL : random_floats (rand, nk, -range, range);
  const float *kp = packed ? q + width : k;
  const float *vp = packed ? q + 2 * width : v;
  gsize no = (gsize) batch * lq * width;
  g_autofree double *want = g_new0 (double, no);
  g_autofree double *s = g_new (double, lk);
  g_autofree float *got = NULL;
  g_autoptr(VmGpuBuffer) bq = upload (q, nq * 4);
  g_autoptr(VmGpuBuffer) bk = packed ? NULL : upload (k, nk * 4);
  g_autoptr(VmGpuBuffer) bv = packed ? NULL : upload (v, nk * 4);
  g_autoptr(VmGpuBuffer) bo = new_buffer (no * 4);
  double scale = 1.0 / sqrt (dh);

  for (guint b = 0; b < batch; b++)
    for (guint h = 0; h < heads; h++)
      for (guint i = 0; i < lq; i++)
        {
          double m = -INFINITY, sum = 0;
          const float *qi = q + ((gsize) b * lq + i) * ld + h * dh;

          for (guint j = 0; j < lk; j++)
            {
              const float *kj = kp + ((gsize) b * lk + j) * ld + h * dh;
              double dot = 0;

              for (guint c = 0; c < dh; c++)
                dot += (double) qi[c] * kj[c];
              s[j] = (causal && j > i) ? -INFINITY : dot * scale;
              m = MAX (m, s[j]);
            }
          for (guint j = 0; j < lk; j++)
            sum += s[j] = exp (s[j] - m);
          for (guint j = 0; j < lk; j++)
            {
              const float *vj = vp + ((gsize) b * lk + j) * ld + h * dh;

              for (guint c = 0; c < dh; c++)
                want[((gsize) b * lq + i) * width + h * dh + c] += s[j] / sum * vj[c];
            }
        }

  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuAttention a = {
      .batch = batch, .heads = heads, .lq = lq, .lk = lk, .head_dim = dh,
      .q = VM_GPU_VIEW (bq, 0),
      .k = packed ? VM_GPU_VIEW (bq, width * 4) : VM_GPU_VIEW (bk, 0),
      .v = packed ? VM_GPU_VIEW (bq, 2 * width * 4) : VM_GPU_VIEW (bv, 0),
      .o = VM_GPU_VIEW (bo, 0),
      .q_ld = ld, .k_ld = ld, .v_ld = ld,
      .causal = causal,
      .fp16_products = fp16,
    };
    kernel = vm_gpu_attention_variant (device, &a);
    vm_gpu_attention (graph, &a, &error);
    g_assert_no_error (error);
  }
  submit (graph);
  got = download_floats (bo, 0, no);
  /* fp16 products: Q, K, P and V rounded to 11 significant bits. */
  g_assert_cmpfloat (normalised_error (got, want, no), <, fp16 ? 4e-3 : 1e-5);
  return kernel;
}

static void
run_attention_case (GRand    *rand,
                    guint     batch,
                    guint     heads,
                    guint     lq,
                    guint     lk,
                    guint     dh,
                    gboolean  causal,
                    gboolean  packed)
{
  run_attention_case_range (rand, batch, heads, lq, lk, dh, causal, packed, 1.0, FALSE);
}

static void
test_attention (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);

  REQUIRE_DEVICE ();
  run_attention_case (rand, 1, 1, 1, 1, 1, FALSE, FALSE);
  run_attention_case (rand, 2, 3, 50, 50, 32, FALSE, FALSE);
  run_attention_case (rand, 2, 3, 50, 50, 32, TRUE, FALSE);
  run_attention_case (rand, 1, 2, 77, 77, 64, TRUE, TRUE);     /* text encoder shape */
  run_attention_case (rand, 2, 4, 65, 65, 16, FALSE, TRUE);    /* vision encoder shape */
  run_attention_case (rand, 1, 2, 20, 131, 80, FALSE, FALSE);  /* cross, head_dim 80 */
  run_attention_case (rand, 1, 1, 3, 5, 128, FALSE, FALSE);
  assert_no_validation_messages ();
}

/* attention_cm (NV cooperative matrices, fp16 products): CLIP's image and
 * text shapes, a sequence of exactly one tile, and ones that end inside a
 * tile (its last tile loaded from L − 16), causal or not. */
static void
test_attention_coopmat (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  static const struct {
    guint batch, heads, l;
    gboolean causal;
  } cases[] = {
    { 3, 12, 50, FALSE },   /* ViT-B/32 */
    { 2, 8, 77, TRUE },     /* CLIP text */
    { 2, 3, 16, FALSE },
    { 1, 2, 33, TRUE },
    { 2, 2, 80, FALSE },
    { 1, 2, 64, TRUE },
  };
  VmGpuAttention probe = { .heads = 1, .lq = 50, .lk = 50, .head_dim = 64, .fp16_products = TRUE };

  REQUIRE_DEVICE ();
  if (!g_str_equal (vm_gpu_attention_variant (device, &probe), "attention_cm_d64"))
    {
      g_test_skip ("no NV cooperative matrices on this device");
      return;
    }
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const char *kernel = run_attention_case_range (rand, cases[c].batch, cases[c].heads, cases[c].l, cases[c].l, 64,
                                                     cases[c].causal, TRUE, 2.0, TRUE);

      g_assert_cmpstr (kernel, ==, "attention_cm_d64");
    }
  /* Not for 15 tokens, other head sizes or cross-attention. */
  g_assert_cmpstr (run_attention_case_range (rand, 1, 2, 15, 15, 64, FALSE, TRUE, 1.0, TRUE), !=, "attention_cm_d64");
  g_assert_cmpstr (run_attention_case_range (rand, 1, 2, 50, 50, 32, FALSE, TRUE, 1.0, TRUE), !=, "attention_cm_d64");
  g_assert_cmpstr (run_attention_case_range (rand, 1, 2, 20, 40, 64, FALSE, FALSE, 1.0, TRUE), !=, "attention_cm_d64");
  assert_no_validation_messages ();
}

/* Both kernels (attention_lanes for CPU drivers, attention_f32) at the head
 * sizes the lanes kernel is built for, odd lengths, causal and not. */
static void
test_attention_lanes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  static const struct {
    guint batch, heads, lq, lk, dh;
    gboolean packed;
    double range;
  } cases[] = {
    { 1, 1, 1, 1, 64, TRUE, 1 },
    { 3, 2, 7, 7, 64, TRUE, 1 },
    { 2, 3, 50, 50, 64, TRUE, 1 },      /* ViT-B/32 */
    { 2, 2, 77, 77, 64, TRUE, 1 },      /* CLIP text */
    { 1, 2, 257, 257, 64, TRUE, 1 },    /* ViT-L/14 at 224 */
    { 2, 3, 50, 50, 64, TRUE, 8 },      /* large scores: the running maximum matters */
    { 2, 2, 13, 13, 16, TRUE, 1 },
    { 2, 2, 19, 19, 32, FALSE, 2 },
    { 1, 2, 77, 77, 80, TRUE, 1 },
    { 2, 1, 9, 31, 64, FALSE, 1 },      /* cross: fewer queries than keys */
    { 5, 3, 1, 50, 64, FALSE, 1 },      /* one query per sequence: a ViT's last block */
    { 1, 3, 31, 9, 80, FALSE, 1 },      /* more queries than keys */
    { 2, 2, 17, 17, 48, TRUE, 1 },      /* no lanes variant: attention_f32 */
    { 2, 2, 21, 21, 30, FALSE, 1 },     /* nor here; attention_sg reads floats, not vec4 */
  };
  static const char *variants[] = { "lanes", "workgroup", "subgroup" };
  const VmGpuDeviceInfo *info;
  gboolean lanes_ok;

  REQUIRE_DEVICE ();
  info = vm_gpu_device_get_info (device);
  lanes_ok = info->subgroup_size == 8 && (info->subgroup_operations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
      for (guint causal = 0; causal < 2; causal++)
        {
          const char *kernel;
          gboolean want_lanes = g_str_equal (variants[v], "lanes") && lanes_ok &&
                                cases[c].dh != 48 && cases[c].dh != 30;
          /* attention_sg: at most 48 keys of at most 64 columns everywhere,
           * up to 80 keys where the device has 47 KiB of shared memory. */
          gboolean want_sg = g_str_equal (variants[v], "subgroup") && cases[c].lk <= 48 && cases[c].dh <= 64 &&
                             (info->subgroup_operations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
          gboolean may_sg = want_sg || (g_str_equal (variants[v], "subgroup") && cases[c].lk <= 80 &&
                                        cases[c].dh <= 64);

          g_assert_true (g_setenv ("VIDMARK_GPU_ATTENTION", variants[v], TRUE));
          kernel = run_attention_case_range (rand, cases[c].batch, cases[c].heads, cases[c].lq, cases[c].lk,
                                             cases[c].dh, causal, cases[c].packed, cases[c].range, FALSE);
          g_assert_cmpint (g_str_has_prefix (kernel, "attention_lanes_d"), ==, want_lanes);
          if (!may_sg || want_sg)
            g_assert_cmpint (g_str_has_prefix (kernel, "attention_sg_"), ==, want_sg);
        }
  g_unsetenv ("VIDMARK_GPU_ATTENTION");
  assert_no_validation_messages ();
}

/* ---- CLIP preprocessing ---------------------------------------------------------------- */

/* An independent PIL-like reference: antialiased bicubic (a = -0.5) in
 * doubles, 8-bit rounding after each pass, then /255 and normalisation. */
static double
ref_cubic (double x)
{
  x = fabs (x);
  if (x < 1)
    return 1.5 * x * x * x - 2.5 * x * x + 1;
  if (x < 2)
    return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
  return 0;
}

static guint8
ref_round8 (double v)
{
  v = floor (v + 0.5);
  return (guint8) CLAMP (v, 0, 255);
}

/* One output sample of a 1-D resize of @n inputs (stride @stride) to @m. */
static guint8
ref_sample (const guint8 *in,
            gsize         stride,
            guint         n,
            guint         m,
            guint         o)
{
  double scale = (double) n / m;
  double fs = MAX (scale, 1.0);
  double centre = (o + 0.5) * scale;
  double support = 2 * fs;
  double acc = 0, total = 0;
  int lo = MAX ((int) floor (centre - support + 0.5), 0);
  int hi = MIN ((int) floor (centre + support + 0.5), (int) n);

  for (int i = lo; i < hi; i++)
    {
      double w = ref_cubic ((i + 0.5 - centre) / fs);
      acc += w * in[i * stride];
      total += w;
    }
  return ref_round8 (acc / total);
}

static void
run_preprocess_case (GRand *rand,
                     guint  width,
                     guint  height,
                     guint  resize,
                     guint  crop,
                     guint  n_frames,
                     guint  row_pad)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  guint row_bytes = width * 3 + row_pad;
  gsize frame_bytes = (gsize) row_bytes * height;
  g_autofree guint8 *frames = g_new0 (guint8, frame_bytes * n_frames + 4);
  guint rw, rh, left, top;
  gsize n_out = (gsize) n_frames * 3 * crop * crop;
  g_autofree double *want = g_new (double, n_out);
  g_autofree guint8 *mid = NULL;
  g_autofree float *got = NULL;
  g_autoptr(VmGpuBuffer) bf = NULL;
  g_autoptr(VmGpuBuffer) bo = new_buffer (n_out * 4);
  const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
  const float std[3] = { 0.26862954f, 0.26130258f, 0.27577711f };
  double max_step = 0;

  /* Smooth content with some noise, like video. */
  for (guint f = 0; f < n_frames; f++)
    for (guint y = 0; y < height; y++)
      for (guint x = 0; x < width; x++)
        for (guint c = 0; c < 3; c++)
          {
            double v = 128 + 100 * sin (0.05 * x * (c + 1) + 0.07 * y + f) + g_rand_double_range (rand, -20, 20);
            frames[f * frame_bytes + (gsize) y * row_bytes + x * 3 + c] = (guint8) CLAMP (v, 0, 255);
          }

  if (width <= height)
    rw = resize, rh = (guint) ((guint64) resize * height / width);
  else
    rh = resize, rw = (guint) ((guint64) resize * width / height);
  left = (rw - crop) / 2;
  top = (rh - crop) / 2;

  /* Horizontal pass over every row, then vertical, as PIL does. */
  mid = g_new (guint8, (gsize) height * rw * 3);
  for (guint f = 0; f < n_frames; f++)
    {
      for (guint y = 0; y < height; y++)
        for (guint x = 0; x < rw; x++)
          for (guint c = 0; c < 3; c++)
            mid[((gsize) y * rw + x) * 3 + c] =
              rw == width ? frames[f * frame_bytes + (gsize) y * row_bytes + x * 3 + c]
                          : ref_sample (frames + f * frame_bytes + (gsize) y * row_bytes + c, 3, width, rw, x);
      for (guint y = 0; y < crop; y++)
        for (guint x = 0; x < crop; x++)
          for (guint c = 0; c < 3; c++)
            {
              guint8 v = rh == height ? mid[((gsize) (top + y) * rw + left + x) * 3 + c]
                                      : ref_sample (mid + (gsize) (left + x) * 3 + c, (gsize) rw * 3, height, rh, top + y);
              want[(((gsize) f * 3 + c) * crop + y) * crop + x] = (v / 255.0 - mean[c]) / std[c];
            }
    }

  bf = upload (frames, frame_bytes * n_frames + 4);
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  {
    VmGpuPreprocess pre = {
      .n_frames = n_frames, .width = width, .height = height, .row_bytes = row_bytes,
      .frames = VM_GPU_VIEW (bf, 0), .resize = resize, .crop = crop,
      .mean = { mean[0], mean[1], mean[2] }, .std = { std[0], std[1], std[2] },
      .out = VM_GPU_VIEW (bo, 0),
    };
    vm_gpu_preprocess_clip (graph, &pre, &error);
    g_assert_no_error (error);
  }
  submit (graph);
  got = download_floats (bo, 0, n_out);

  /* PIL rounds fixed-point weights; allow one 8-bit step, rarely. */
  {
    guint n_off = 0;

    for (gsize i = 0; i < n_out; i++)
      {
        double step = fabs (got[i] - want[i]) * 0.26 * 255;   /* in 8-bit units, about */
        max_step = MAX (max_step, step);
        n_off += step > 0.01;
      }
    g_test_message ("preprocess %ux%u to %u, crop %u: %u of %" G_GSIZE_FORMAT " values one 8-bit step off",
                    width, height, resize, crop, n_off, n_out);
    g_assert_cmpfloat (max_step, <, 1.1);
    g_assert_cmpuint (n_off, <=, n_out / 100);
  }
}

static void
test_preprocess (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (14);

  REQUIRE_DEVICE ();
  run_preprocess_case (rand, 67, 45, 32, 32, 1, 0);     /* landscape, odd sizes */
  run_preprocess_case (rand, 45, 67, 40, 32, 2, 1);     /* portrait, padded rows */
  run_preprocess_case (rand, 32, 32, 32, 32, 1, 0);     /* identity resize */
  run_preprocess_case (rand, 320, 180, 64, 56, 2, 4);   /* strong downscale */
  run_preprocess_case (rand, 20, 30, 48, 40, 1, 0);     /* upscale */
  assert_no_validation_messages ();
}

/* Both vertical passes: resize_v_texel (CPU drivers; crop a multiple of 4)
 * and resize_v, including a crop that is not a multiple of 4. */
static void
test_preprocess_variants (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (16);
  static const char *variants[] = { "texel", "storage" };

  REQUIRE_DEVICE ();
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_assert_true (g_setenv ("VIDMARK_GPU_RESIZE", variants[v], TRUE));
      run_preprocess_case (rand, 320, 240, 224, 224, 2, 0);  /* the benchmark's frames */
      run_preprocess_case (rand, 97, 61, 44, 36, 3, 3);      /* odd sizes, padded rows */
      run_preprocess_case (rand, 50, 70, 30, 30, 1, 1);      /* crop not a multiple of 4 */
    }
  g_unsetenv ("VIDMARK_GPU_RESIZE");
  assert_no_validation_messages ();
}

/* ---- embeddings and gathers --------------------------------------------------------- */

static void
test_patch_class_pos (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  guint n_types;

  REQUIRE_DEVICE ();
  f16_types (&n_types);
  for (guint t = 0; t < n_types; t++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(VmGpuGraph) graph = vm_gpu_graph_new (device, &error);
      VmGpuDType type = t == 0 ? VM_GPU_F32 : VM_GPU_F16;
      const guint n = 2, size = 28, patch = 7, dim = 70, side = size / patch, np = side * side;
      gsize n_img = (gsize) n * 3 * size * size, n_w = (gsize) dim * 3 * patch * patch;
      gsize n_out = (gsize) n * (np + 1) * dim;
      g_autofree float *img = random_floats (rand, n_img, -2, 2);
      g_autofree float *w = random_floats (rand, n_w, -0.1, 0.1);
      g_autofree float *cls = random_floats (rand, dim, -1, 1);
      g_autofree float *pos = random_floats (rand, (gsize) (np + 1) * dim, -1, 1);
      g_autofree double *want = g_new (double, n_out);
      g_autofree float *got = NULL;
      g_autoptr(VmGpuBuffer) bimg = upload (img, n_img * 4);
      g_autoptr(VmGpuBuffer) btok = new_buffer ((gsize) n * np * dim * 4);
      g_autoptr(VmGpuBuffer) bout = new_buffer (n_out * 4);
      Weights ww = upload_weights (w, n_w, type);
      Weights wcls = upload_weights (cls, dim, type);
      Weights wpos = upload_weights (pos, (gsize) (np + 1) * dim, type);

      for (guint b = 0; b < n; b++)
        for (guint tk = 0; tk < np + 1; tk++)
          for (guint d = 0; d < dim; d++)
            {
              double v = 0;

              if (tk == 0)
                v = wcls.seen[d];
              else
                {
                  guint py = (tk - 1) / side, px = (tk - 1) % side;

                  for (guint c = 0; c < 3; c++)
                    for (guint y = 0; y < patch; y++)
                      for (guint x = 0; x < patch; x++)
                        v += (double) img[(((gsize) b * 3 + c) * size + py * patch + y) * size + px * patch + x] *
                             ww.seen[(((gsize) d * 3 + c) * patch + y) * patch + x];
                }
              want[((gsize) b * (np + 1) + tk) * dim + d] = v + wpos.seen[(gsize) tk * dim + d];
            }

      g_assert_no_error (error);
      vm_gpu_patch_embed (graph, n, size, patch, dim, VM_GPU_VIEW (bimg, 0), VM_GPU_VIEW (ww.buffer, 0), type,
                          VM_GPU_VIEW (btok, 0), &error);
      g_assert_no_error (error);
      vm_gpu_class_pos (graph, n, np, dim, VM_GPU_VIEW (btok, 0), VM_GPU_VIEW (wcls.buffer, 0),
                        VM_GPU_VIEW (wpos.buffer, 0), type, VM_GPU_VIEW (bout, 0), &error);
      g_assert_no_error (error);
      submit (graph);
      got = download_floats (bout, 0, n_out);
      g_assert_cmpfloat (normalised_error (got, want, n_out), <, 1e-5);
      weights_clear (&ww);
      weights_clear (&wcls);
      weights_clear (&wpos);

      /* Size not a multiple of the patch. */
      g_assert_false (vm_gpu_patch_embed (graph, n, size, 5, dim, VM_GPU_VIEW (bimg, 0), VM_GPU_VIEW (bimg, 0),
                                          VM_GPU_F32, VM_GPU_VIEW (btok, 0), &error));
      g_assert_error (error, VM_GPU_ERROR, VM_GPU_ERROR_INVALID_ARGUMENT);
    }
  assert_no_validation_messages ();
}

static void
test_gather (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (16);
  g_autoptr(GError) error = NULL;
  g_autoptr(VmGpuGraph) graph = NULL;
  const guint n_src = 50, cols = 67, n_rows = 9;
  g_autofree float *src = random_floats (rand, (gsize) n_src * cols, -1, 1);
  guint32 idx[9] = { 3, 0, 49, 3, 77, 12, 12, 48, 1 };
  g_autofree float *got = NULL;
  g_autoptr(VmGpuBuffer) bs = upload (src, (gsize) n_src * cols * 4);
  g_autoptr(VmGpuBuffer) bi = upload (idx, sizeof idx);
  g_autoptr(VmGpuBuffer) bo = new_buffer ((gsize) n_rows * cols * 4);

  REQUIRE_DEVICE ();
  graph = vm_gpu_graph_new (device, &error);
  g_assert_no_error (error);
  vm_gpu_gather_rows (graph, n_rows, cols, n_src, VM_GPU_VIEW (bs, 0), VM_GPU_VIEW (bi, 0), VM_GPU_VIEW (bo, 0), &error);
  g_assert_no_error (error);
  submit (graph);
  got = download_floats (bo, 0, (gsize) n_rows * cols);
  for (guint i = 0; i < n_rows; i++)
    for (guint c = 0; c < cols; c++)
      g_assert_cmpfloat (got[i * cols + c], ==, idx[i] < n_src ? src[idx[i] * cols + c] : 0.0f);
  assert_no_validation_messages ();
}

/* ---- main ---------------------------------------------------------------------------- */

/* Without VK_KHR_push_descriptor (or with VIDMARK_GPU_NO_PUSH_DESCRIPTORS=1)
 * dispatches allocate and update descriptor sets: the same graphs on a
 * device opened that way, storage and texel-buffer bindings both. */
static void
test_graph_descriptor_sets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (46);
  VmGpuDevice *shared = device;

  REQUIRE_DEVICE ();
  g_setenv ("VIDMARK_GPU_NO_PUSH_DESCRIPTORS", "1", TRUE);
  device = vm_gpu_device_new (&error);
  g_unsetenv ("VIDMARK_GPU_NO_PUSH_DESCRIPTORS");
  g_assert_no_error (error);
  test_graph_many_nodes ();
  run_gemm_case (rand, 70, 130, 200, 1, FALSE, TRUE, TRUE, VM_GPU_EPILOGUE_QUICK_GELU, VM_GPU_F32);
  run_gemm_case (rand, 37, 53, 19, 2, FALSE, TRUE, FALSE, VM_GPU_EPILOGUE_NONE, VM_GPU_F32);
  run_attention_case (rand, 2, 3, 50, 50, 32, TRUE, TRUE);
  assert_no_validation_messages ();
  vm_gpu_device_unref (device);
  device = shared;
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  /* The pipeline cache goes to a private folder. */
  cache_dir = vm_test_set_xdg_dirs ("vm-gpu-cache-XXXXXX");

  g_test_init (&argc, &argv, NULL);

  /* Validation on unless the caller chose (VIDMARK_VULKAN_VALIDATION=0). */
  if (g_getenv ("VIDMARK_VULKAN_VALIDATION") == NULL)
    g_setenv ("VIDMARK_VULKAN_VALIDATION", "1", TRUE);

  if (!g_test_subprocess ())
    device = vm_test_open_device (TRUE, &device_error);

  g_test_add_func ("/gpu/device/info", test_device_info);
  g_test_add_func ("/gpu/device/select", test_device_select);
  g_test_add_func ("/gpu/device/no-loader", test_no_loader);
  g_test_add_func ("/gpu/device/no-driver", test_no_driver);
  g_test_add_func ("/gpu/buffer/roundtrip", test_buffer_roundtrip);
  g_test_add_func ("/gpu/buffer/suballocation", test_buffer_suballocation);
  g_test_add_func ("/gpu/buffer/out-of-memory", test_buffer_oom);
  g_test_add_func ("/gpu/pipeline/cache", test_pipeline_cache);
  g_test_add_func ("/gpu/graph/barriers", test_graph_barriers);
  g_test_add_func ("/gpu/graph/reusable", test_graph_reusable);
  g_test_add_func ("/gpu/graph/wait", test_graph_wait);
  g_test_add_func ("/gpu/graph/profile", test_graph_profile);
  g_test_add_func ("/gpu/graph/profile-env", test_graph_profile_env);
  g_test_add_func ("/gpu/graph/many-nodes", test_graph_many_nodes);
  g_test_add_func ("/gpu/graph/descriptor-sets", test_graph_descriptor_sets);
  g_test_add_func ("/gpu/graph/transfers", test_graph_transfers);
  g_test_add_func ("/gpu/graph/upload-with", test_graph_upload_with);
  g_test_add_func ("/gpu/graph/scratch-pool", test_graph_scratch_pool);
  g_test_add_func ("/gpu/graph/timeout", test_graph_timeout);
  g_test_add_func ("/gpu/kernel/gemm", test_gemm);
  g_test_add_func ("/gpu/kernel/gemm-coopmat-forms", test_gemm_coopmat_forms);
  g_test_add_func ("/gpu/kernel/gemm-splitk", test_gemm_splitk);
  g_test_add_func ("/gpu/kernel/gemm-wsplit", test_gemm_wsplit);
  g_test_add_func ("/gpu/kernel/gemm-layernorm", test_gemm_layernorm);
  g_test_add_func ("/gpu/kernel/gemm-strided", test_gemm_strided);
  g_test_add_func ("/gpu/kernel/gemm-invalid", test_gemm_invalid);
  g_test_add_func ("/gpu/kernel/layernorm", test_layernorm);
  g_test_add_func ("/gpu/kernel/softmax", test_softmax);
  g_test_add_func ("/gpu/kernel/l2norm", test_l2norm);
  g_test_add_func ("/gpu/kernel/attention", test_attention);
  g_test_add_func ("/gpu/kernel/attention-lanes", test_attention_lanes);
  g_test_add_func ("/gpu/kernel/attention-coopmat", test_attention_coopmat);
  g_test_add_func ("/gpu/kernel/preprocess", test_preprocess);
  g_test_add_func ("/gpu/kernel/preprocess-variants", test_preprocess_variants);
  g_test_add_func ("/gpu/kernel/patch-class-pos", test_patch_class_pos);
  g_test_add_func ("/gpu/kernel/gather", test_gather);
  g_test_add_func ("/gpu/kernel/gemv", test_gemv);
  g_test_add_func ("/gpu/kernel/gemv-invalid", test_gemv_invalid);
  g_test_add_func ("/gpu/kernel/similarity", test_similarity);
  g_test_add_func ("/gpu/kernel/similarity-gemm", test_similarity_gemm);
  g_test_add_func ("/gpu/kernel/similarity-gemm-ties", test_similarity_gemm_ties);
  g_test_add_func ("/gpu/kernel/similarity-chunked", test_similarity_chunked);
  g_test_add_func ("/gpu/kernel/similarity-invalid", test_similarity_invalid);

  ret = g_test_run ();
  g_clear_pointer (&device, vm_gpu_device_unref);
  vm_test_remove_tree (cache_dir);
  g_free (cache_dir);
  g_free (device_error);
  return ret;
}
