/* vm-model-error.h — the model layer's error domain.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VM_MODEL_ERROR (vm_model_error_quark ())

typedef enum {
  VM_MODEL_ERROR_IO,          /* a file cannot be opened or read */
  VM_MODEL_ERROR_HEADER,      /* safetensors header: length, encoding, JSON syntax or nesting */
  VM_MODEL_ERROR_DTYPE,       /* a tensor entry names no known dtype, or dtype is missing */
  VM_MODEL_ERROR_SHAPE,       /* shape missing, not an array of non-negative integers, or overflowing */
  VM_MODEL_ERROR_OFFSETS,     /* data_offsets missing, malformed, reversed, or not matching the shape */
  VM_MODEL_ERROR_LAYOUT,      /* tensors leave gaps, overlap or run past the data section */
  VM_MODEL_ERROR_SIZE,        /* the file is longer or shorter than its header says */
  VM_MODEL_ERROR_DUPLICATE,   /* the same name twice */
  VM_MODEL_ERROR_METADATA,    /* __metadata__ is not a string → string object */
  VM_MODEL_ERROR_NOT_FOUND,   /* no tensor (or file) of that name */
  VM_MODEL_ERROR_WRONG_DTYPE, /* a tensor's dtype does not suit the operation */
  VM_MODEL_ERROR_WRONG_SHAPE, /* a tensor's shape does not suit the model */
  VM_MODEL_ERROR_CONFIG,      /* config.json / preprocessor_config.json invalid */
  VM_MODEL_ERROR_TOKENIZER,   /* vocab.json / merges.txt invalid */
} VmModelError;

GQuark vm_model_error_quark (void);

G_END_DECLS
