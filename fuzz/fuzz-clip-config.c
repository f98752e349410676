/* fuzz-clip-config.c — libFuzzer target: config.json and
 * preprocessor_config.json parsing (and so the bounded JSON reader).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-clip-config.h"
#include "fuzz/vm-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  VmClipConfig config;
  VmClipPreprocessConfig pre;

  if (vm_clip_config_parse ((const char *) data, size, &config, &error))
    {
      if (config.text.hidden_size % config.text.num_attention_heads != 0 ||
          config.vision.image_size % config.vision.patch_size != 0)
        abort ();
    }
  g_clear_error (&error);
  vm_clip_preprocess_config_parse ((const char *) data, size, 224, &pre, &error);
  return 0;
}
