/* vm-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/vm-util.h"

#include <glib/gi18n.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *
vm_format_timestamp (gint64 ns)
{
  gboolean negative = ns < 0;
  guint64 v = negative ? (guint64) (-(ns + 1)) + 1 : (guint64) ns;
  /* Round to the nearest millisecond. */
  guint64 ms = (v + 500000) / 1000000;

  return g_strdup_printf ("%s%" G_GUINT64_FORMAT ":%02u:%02u.%03u",
                          negative ? "-" : "",
                          ms / 3600000,
                          (guint) (ms / 60000 % 60),
                          (guint) (ms / 1000 % 60),
                          (guint) (ms % 1000));
}

gboolean
vm_parse_timestamp (const char *text,
                    gint64     *out_ns)
{
  g_auto(GStrv) parts = NULL;
  double total = 0;
  guint n;

  if (text == NULL || *text == '\0')
    return FALSE;

  parts = g_strsplit (text, ":", -1);
  n = g_strv_length (parts);
  if (n < 1 || n > 3)
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      char *end = NULL;
      double v;

      if (parts[i][0] == '\0' || parts[i][0] == '-' || parts[i][0] == '+' ||
          g_ascii_isspace (parts[i][0]))
        return FALSE;
      v = g_ascii_strtod (parts[i], &end);
      if (end == NULL || *end != '\0' || !isfinite (v) || v < 0)
        return FALSE;
      /* Only the last field may carry a fraction. */
      if (i + 1 < n && v != floor (v))
        return FALSE;
      total = total * 60 + v;
    }

  if (total > (double) G_MAXINT64 / VM_NSEC_PER_SEC)
    return FALSE;

  *out_ns = (gint64) llround (total * VM_NSEC_PER_SEC);
  return TRUE;
}

char *
vm_format_size (guint64 bytes)
{
  return g_format_size (bytes);
}

char *
vm_format_duration (double seconds)
{
  guint64 s;

  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("?");

  s = (guint64) llround (seconds);
  if (s >= 3600)
    /* TRANSLATORS: a duration in hours and minutes, e.g. "2 h 05 min" */
    return g_strdup_printf (_("%" PRIu64 " h %02u min"), s / 3600, (guint) (s / 60 % 60));
  if (s >= 60)
    /* TRANSLATORS: a duration in minutes and seconds, e.g. "3 min 07 s" */
    return g_strdup_printf (_("%u min %02u s"), (guint) (s / 60), (guint) (s % 60));
  /* TRANSLATORS: a duration in seconds, e.g. "42 s" */
  return g_strdup_printf (_("%u s"), (guint) s);
}

gboolean
vm_write_file_atomic (const char  *path,
                      const char  *contents,
                      gssize       length,
                      GError     **error)
{
  /* CONSISTENT writes a temporary file and renames it over @path; DURABLE
   * fsyncs it first, so that a crash leaves the old file or the new one. */
  return g_file_set_contents_full (path, contents, length,
                                   G_FILE_SET_CONTENTS_CONSISTENT |
                                   G_FILE_SET_CONTENTS_DURABLE,
                                   0644, error);
}

guint16
vm_float_to_half (float f)
{
  union { float f; guint32 u; } in = { f };
  guint32 x = in.u;
  guint32 sign = (x >> 16) & 0x8000;
  guint32 exp = (x >> 23) & 0xff;
  guint32 mant = x & 0x7fffff;

  if (exp == 0xff)                      /* Inf or NaN */
    return sign | 0x7c00 | (mant ? 0x200 : 0);

  {
    int e = (int) exp - 127 + 15;

    if (e >= 0x1f)                      /* overflow → Inf */
      return sign | 0x7c00;

    if (e <= 0)
      {
        /* Subnormal half or zero. */
        guint32 m, shift, half, rem;

        if (e < -10)
          return sign;
        m = mant | 0x800000;
        shift = (guint32) (14 - e);
        half = m >> shift;
        rem = m & ((1u << shift) - 1);
        if (rem > (1u << (shift - 1)) || (rem == (1u << (shift - 1)) && (half & 1)))
          half++;
        return sign | half;
      }

    {
      guint32 h = sign | ((guint32) e << 10) | (mant >> 13);
      guint32 rem = mant & 0x1fff;

      /* Round to nearest even; a carry into the exponent is correct. */
      if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;
      return (guint16) h;
    }
  }
}

float
vm_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  union { guint32 u; float f; } out;

  if (exp == 0)
    {
      if (mant == 0)
        out.u = sign;
      else
        {
          /* Subnormal: normalise. */
          int e = -1;

          do
            {
              e++;
              mant <<= 1;
            }
          while ((mant & 0x400) == 0);
          out.u = sign | ((guint32) (127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    }
  else if (exp == 0x1f)
    out.u = sign | 0x7f800000 | (mant << 13);
  else
    out.u = sign | ((exp + 127 - 15) << 23) | (mant << 13);

  return out.f;
}
