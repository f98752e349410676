/* fuzz-import.c — libFuzzer target for the dataset importers.
 *
 * The first byte picks the format (or the predictions reader); the rest is
 * the file.  Whatever is accepted is written back in every format and read
 * again, so the writers meet odd content too.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "export/vm-eval.h"
#include "export/vm-formats.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* Let the leak checker see json-glib's nodes (GLib 2.74 caches slices). */
  g_setenv ("G_SLICE", "always-malloc", TRUE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  VmReadLimits limits = { 1 << 20, VM_IMPORT_MAX_DEPTH_DEFAULT };
  g_autoptr(GPtrArray) issues = vm_issues_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(VmDataset) dataset = NULL;
  const char *text;
  unsigned choice;

  if (size < 1)
    return 0;
  choice = data[0] % (VM_FORMAT_LAST + 2);
  text = (const char *) data + 1;
  size--;

  if (choice == VM_FORMAT_LAST + 1)
    {
      g_autoptr(GHashTable) table = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                           (GDestroyNotify) vm_eval_query_free);
      g_autoptr(GPtrArray) queries = g_ptr_array_new ();
      VmEvalQuery *q = vm_eval_query_new (1);
      VmEvalWindow w = { 0, 10 };
      VmEvalResult result;
      guint unknown = 0;

      g_array_append_val (q->windows, w);
      g_hash_table_insert (table, &q->qid, q);
      if (vm_eval_read_predictions (text, size, &limits, table, &unknown, issues, &error))
        {
          g_ptr_array_add (queries, q);
          vm_eval_compute (queries, &result);
        }
      return 0;
    }

  dataset = vm_dataset_read (choice, text, size, &limits, issues, &error);
  if (dataset == NULL)
    return 0;

  for (VmFormat f = 0; f <= VM_FORMAT_LAST; f++)
    {
      g_autoptr(GPtrArray) more = vm_issues_new ();
      g_autofree char *written = NULL;

      if (!vm_format_can_export (f))
        continue;
      written = vm_dataset_write (f, dataset, "fuzz", more, NULL);
      if (written != NULL)
        vm_dataset_free (vm_dataset_read (f, written, strlen (written), &limits, more, NULL));
    }
  g_free (vm_dataset_to_canonical (dataset, TRUE, TRUE));
  return 0;
}
