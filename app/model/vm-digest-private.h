/* vm-digest-private.h — SHA-256 and SHA-1 for checking model files.
 *
 * GLib's GChecksum hashes SHA-256 at about 65 MB/s here; GnuTLS uses the
 * CPU's SHA instructions (about 600 MB/s), which matters for 0.6–1.7 GB
 * models.  GChecksum stays as the fallback when GnuTLS refuses a digest.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _VmDigest VmDigest;

/* G_CHECKSUM_SHA256 or G_CHECKSUM_SHA1. */
VmDigest   *vm_digest_new        (GChecksumType  type);
void        vm_digest_update     (VmDigest      *self,
                                  const void    *data,
                                  gsize          length);
/* Lowercase hex; ends the digest (no updates after). */
const char *vm_digest_get_string (VmDigest      *self);
void        vm_digest_free       (VmDigest      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmDigest, vm_digest_free)

G_END_DECLS
