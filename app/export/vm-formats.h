/* vm-formats.h — reading and writing the dataset file formats of
 * docs/FORMATS.md: QVHighlights JSON Lines, Charades-STA text, ActivityNet
 * Captions, TACoS, DiDeMo (read only) and Vidmark's own lossless JSON.
 *
 * Readers never trust their input: the size and the JSON nesting depth are
 * bounded before json-glib sees a byte, text must be UTF-8, and every record
 * is checked (required fields, types, finite numbers, start < end, times
 * inside the duration the file gives).  A bad record is reported in @issues
 * with where it is and why, and the others are kept.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "export/vm-dataset.h"

G_BEGIN_DECLS

#define VM_VIDMARK_FORMAT_VERSION 1

/* Bounds applied before parsing. */
#define VM_IMPORT_MAX_BYTES_DEFAULT (256 * 1024 * 1024)
#define VM_IMPORT_MAX_DEPTH_DEFAULT 16

typedef struct {
  char *where;    /* "line 3", "key “v_x”, item 2" */
  char *reason;
} VmIssue;

void     vm_issue_free    (VmIssue     *issue);
/* Appends a new issue to @issues (element type VmIssue*). */
void     vm_issues_add    (GPtrArray   *issues,
                           const char  *where,
                           const char  *format,
                           ...) G_GNUC_PRINTF (3, 4);
GPtrArray *vm_issues_new  (void);

typedef struct {
  gsize max_bytes;
  guint max_depth;
} VmReadLimits;

void     vm_read_limits_init (VmReadLimits *limits);

/* Checks the raw bytes of one JSON text: valid UTF-8 without NUL, nesting at
 * most @max_depth outside strings, no key twice in one object.  Sets @error
 * (VM_EXPORT_ERROR_INVALID) with the line of the first problem. */
gboolean vm_json_prescan  (const char  *data,
                           gsize        length,
                           guint        max_depth,
                           GError     **error);

/* Parses @data in @format.  Returns NULL with @error only when the file as a
 * whole cannot be read (too large, not JSON, wrong top-level shape, newer
 * Vidmark version); otherwise a dataset of the accepted records, with each
 * rejected one in @issues.  Queries without qid in the file get qid -1. */
VmDataset *vm_dataset_read  (VmFormat             format,
                             const char          *data,
                             gsize                length,
                             const VmReadLimits  *limits,
                             GPtrArray           *issues,
                             GError             **error);

/* Writes @dataset in @format.  Queries the format cannot carry (a negative
 * in a format without negatives, a vid with a space in Charades-STA, no fps
 * for TACoS...) are left out and reported in @issues.  @set_name goes into
 * the Vidmark format. */
char      *vm_dataset_write (VmFormat             format,
                             VmDataset           *dataset,
                             const char          *set_name,
                             GPtrArray           *issues,
                             GError             **error);

/* JSON string literal of @text, quotes included. */
void       vm_append_json_string (GString     *out,
                                  const char  *text);

G_END_DECLS
