/* vm-indexer-private.h — test hooks of the indexing job.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Makes the encoder fail the @n-th batch (1-based) of every file with
 * VM_GPU_ERROR_OUT_OF_MEMORY; 0 turns this off. */
void _vm_indexer_set_encoder_failure (guint n);

G_END_DECLS
