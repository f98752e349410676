/* vm-model-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-model-error.h"

G_DEFINE_QUARK (vm-model-error-quark, vm_model_error)
