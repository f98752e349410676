/* vm-fingerprint.h — a quick content fingerprint for video files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Bytes read from each of the head, the middle and the tail of a file. */
#define VM_FINGERPRINT_BLOCK (64 * 1024)

/* Returns a hex SHA-256 over the file size and three 64 KiB blocks (head,
 * middle, tail), so that a moved or renamed file is recognised without reading
 * it whole.  Files no larger than three blocks are hashed entirely.
 * @out_size (optional) receives the file size. */
char *vm_fingerprint_file (const char    *path,
                           goffset       *out_size,
                           GCancellable  *cancellable,
                           GError       **error);

G_END_DECLS
