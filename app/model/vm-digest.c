/* vm-digest.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-digest-private.h"

#include <gnutls/crypto.h>

struct _VmDigest {
  gnutls_hash_hd_t  hash;      /* NULL when GnuTLS refused: then checksum */
  GChecksum        *checksum;
  gsize             length;
  char             *hex;
};

VmDigest *
vm_digest_new (GChecksumType type)
{
  VmDigest *self = g_new0 (VmDigest, 1);
  gnutls_digest_algorithm_t algo = type == G_CHECKSUM_SHA1 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_SHA256;

  g_return_val_if_fail (type == G_CHECKSUM_SHA1 || type == G_CHECKSUM_SHA256, NULL);

  self->length = type == G_CHECKSUM_SHA1 ? 20 : 32;
  if (gnutls_hash_init (&self->hash, algo) < 0)
    {
      self->hash = NULL;
      self->checksum = g_checksum_new (type);
    }

  return self;
}

void
vm_digest_update (VmDigest   *self,
                  const void *data,
                  gsize       length)
{
  g_return_if_fail (self->hex == NULL);

  if (self->hash != NULL)
    gnutls_hash (self->hash, data, length);
  else
    g_checksum_update (self->checksum, data, length);
}

const char *
vm_digest_get_string (VmDigest *self)
{
  if (self->hex != NULL)
    return self->hex;

  if (self->hash != NULL)
    {
      guint8 out[32];
      static const char digits[] = "0123456789abcdef";

      gnutls_hash_deinit (self->hash, out);
      self->hash = NULL;
      self->hex = g_malloc (self->length * 2 + 1);
      for (gsize i = 0; i < self->length; i++)
        {
          self->hex[2 * i] = digits[out[i] >> 4];
          self->hex[2 * i + 1] = digits[out[i] & 15];
        }
      self->hex[self->length * 2] = '\0';
    }
  else
    self->hex = g_strdup (g_checksum_get_string (self->checksum));

  return self->hex;
}

void
vm_digest_free (VmDigest *self)
{
  if (self == NULL)
    return;
  if (self->hash != NULL)
    gnutls_hash_deinit (self->hash, NULL);
  g_clear_pointer (&self->checksum, g_checksum_free);
  g_free (self->hex);
  g_free (self);
}
