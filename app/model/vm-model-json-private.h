/* vm-model-json-private.h — bounded JSON parsing for untrusted model files.
 *
 * json-glib 1.6 has no nesting limit (it recurses and crashes on very deep
 * input), accepts some non-JSON (single quotes, comments) and wraps integers
 * that do not fit 64 bits.  Every JSON file the model layer reads goes
 * through _vm_model_json_parse(), which first checks the bytes itself.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define VM_MODEL_JSON_MAX_DEPTH 64

/* Parses @length bytes of @data (need not be NUL-terminated) and returns the
 * root node.  Fails with @error_code of VM_MODEL_ERROR, the message starting
 * with @what, when the text is not valid UTF-8, nests [ and { deeper than
 * @max_depth, holds anything outside strings that JSON does not allow, has an
 * integer outside the gint64 range, is not valid JSON, or (when
 * @reject_duplicates) names the same member twice in one object; the name of
 * the first duplicate is reported. */
JsonNode *_vm_model_json_parse (const char  *data,
                                gsize        length,
                                guint        max_depth,
                                gboolean     reject_duplicates,
                                const char  *what,
                                int          error_code,
                                GError     **error);

/* Reads and parses a JSON file of at most @max_size bytes. */
JsonNode *_vm_model_json_parse_file (const char  *path,
                                     gsize        max_size,
                                     int          error_code,
                                     GError     **error);

G_END_DECLS
