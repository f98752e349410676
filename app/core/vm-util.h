/* vm-util.h — small helpers shared by every layer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define VM_NSEC_PER_SEC G_GINT64_CONSTANT (1000000000)

/* "h:mm:ss.mmm" for a time in nanoseconds (negative values get a '-'). */
char    *vm_format_timestamp (gint64 ns);
/* Parses "h:mm:ss.mmm", "mm:ss", "ss.sss"; FALSE on malformed input. */
gboolean vm_parse_timestamp  (const char *text,
                              gint64     *out_ns);

/* "1.2 GB", "300 kB" */
char    *vm_format_size      (guint64 bytes);
/* "1 h 02 min", "3 min 05 s", "12 s" */
char    *vm_format_duration  (double seconds);

/* Writes @contents to @path atomically: a temporary file in the same folder,
 * fsync, rename.  A crash leaves either the old file or the new one. */
gboolean vm_write_file_atomic (const char  *path,
                               const char  *contents,
                               gssize       length,
                               GError     **error);

/* Converts between IEEE binary32 and binary16 (round to nearest even). */
guint16  vm_float_to_half   (float   f);
float    vm_half_to_float   (guint16 h);

G_END_DECLS
