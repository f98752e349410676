/* vm-fingerprint.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/vm-fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
hash_range (int         fd,
            GChecksum  *sum,
            goffset     offset,
            gsize       length,
            guchar     *buf,
            GError    **error)
{
  while (length > 0)
    {
      gssize n = pread (fd, buf, MIN (length, VM_FINGERPRINT_BLOCK), offset);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "Read error: %s", g_strerror (saved_errno));
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "File shrank while it was read");
          return FALSE;
        }
      g_checksum_update (sum, buf, n);
      offset += n;
      length -= n;
    }

  return TRUE;
}

char *
vm_fingerprint_file (const char    *path,
                     goffset       *out_size,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GChecksum) sum = NULL;
  g_autofree guchar *buf = NULL;
  struct stat st;
  goffset size;
  char header[32];
  int fd;
  gboolean ok = TRUE;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open: %s", g_strerror (saved_errno));
      return NULL;
    }

  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot stat: %s", g_strerror (saved_errno));
      return NULL;
    }

  size = st.st_size;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  buf = g_malloc (VM_FINGERPRINT_BLOCK);

  g_snprintf (header, sizeof header, "vmfp1:%" G_GINT64_FORMAT ":", (gint64) size);
  g_checksum_update (sum, (const guchar *) header, -1);

  if (size <= 3 * VM_FINGERPRINT_BLOCK)
    ok = hash_range (fd, sum, 0, size, buf, error);
  else
    ok = hash_range (fd, sum, 0, VM_FINGERPRINT_BLOCK, buf, error) &&
         hash_range (fd, sum, size / 2 - VM_FINGERPRINT_BLOCK / 2, VM_FINGERPRINT_BLOCK, buf, error) &&
         hash_range (fd, sum, size - VM_FINGERPRINT_BLOCK, VM_FINGERPRINT_BLOCK, buf, error);

  close (fd);

  if (!ok)
    return NULL;

  if (out_size != NULL)
    *out_size = size;

  return g_strdup (g_checksum_get_string (sum));
}
