/* test-data.c — the installed data: GSettings schema, desktop file, metainfo, translations.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The schema is read from GSETTINGS_SCHEMA_DIR (the build's data/ folder); the merged
 * desktop and metainfo files come from VIDMARK_TEST_DESKTOP_FILE and
 * VIDMARK_TEST_METAINFO_FILE.
 */
#include <gio/gio.h>
#include <string.h>

static GSettingsSchema *
lookup_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();

  g_assert_nonnull (source);
  return g_settings_schema_source_lookup (source, APP_ID, TRUE);
}

static void
test_schema_keys (void)
{
  static const struct { const char *name; const char *type; } keys[] = {
    { "library-folders", "as" },
    { "sample-mode", "s" },
    { "sample-rate", "d" },
    { "max-keyframe-gap", "d" },
    { "thumbnail-height", "i" },
    { "ocr-enabled", "b" },
    { "ocr-frames-per-second", "d" },
    { "ocr-languages", "s" },
    { "speech-enabled", "b" },
    { "gpu-device", "s" },
    { "default-model", "s" },
    { "window-width", "i" },
    { "window-height", "i" },
    { "window-maximized", "b" },
    { "recent-exports", "a(ssx)" },
    { "search-result-limit", "i" },
  };
  g_autoptr(GSettingsSchema) schema = lookup_schema ();
  g_auto(GStrv) names = NULL;

  g_assert_nonnull (schema);
  g_assert_cmpstr (g_settings_schema_get_path (schema), ==, "/io/github/vidmark/Vidmark/");

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(GSettingsSchemaKey) key = NULL;

      g_test_message ("key %s", keys[i].name);
      g_assert_true (g_settings_schema_has_key (schema, keys[i].name));
      key = g_settings_schema_get_key (schema, keys[i].name);
      g_assert_cmpstr (g_variant_type_peek_string (g_settings_schema_key_get_value_type (key)),
                       ==, keys[i].type);
    }

  /* Every key, including ones added later, is documented. */
  names = g_settings_schema_list_keys (schema);
  g_assert_cmpuint (g_strv_length (names), >=, G_N_ELEMENTS (keys));
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GSettingsSchemaKey) key = g_settings_schema_get_key (schema, names[i]);
      const char *summary = g_settings_schema_key_get_summary (key);
      const char *description = g_settings_schema_key_get_description (key);

      g_test_message ("key %s", names[i]);
      g_assert_nonnull (summary);
      g_assert_cmpuint (strlen (summary), >, 0);
      g_assert_nonnull (description);
      g_assert_cmpuint (strlen (description), >, 0);
    }
}

static void
test_schema_defaults (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_auto(GStrv) folders = g_settings_get_strv (settings, "library-folders");
  g_autoptr(GVariant) exports = g_settings_get_value (settings, "recent-exports");
  g_autofree char *mode = g_settings_get_string (settings, "sample-mode");
  g_autofree char *gpu = g_settings_get_string (settings, "gpu-device");
  g_autofree char *model = g_settings_get_string (settings, "default-model");
  g_autofree char *langs = g_settings_get_string (settings, "ocr-languages");

  g_assert_cmpuint (g_strv_length (folders), ==, 0);
  g_assert_cmpuint (g_variant_n_children (exports), ==, 0);
  g_assert_cmpstr (mode, ==, "keyframes");
  g_assert_cmpint (g_settings_get_enum (settings, "sample-mode"), ==, 0);
  g_assert_cmpfloat (g_settings_get_double (settings, "sample-rate"), ==, 1.0);
  g_assert_cmpfloat (g_settings_get_double (settings, "max-keyframe-gap"), ==, 4.0);
  g_assert_cmpint (g_settings_get_int (settings, "thumbnail-height"), >, 0);
  g_assert_true (g_settings_get_boolean (settings, "ocr-enabled"));
  g_assert_cmpfloat (g_settings_get_double (settings, "ocr-frames-per-second"), >, 0.0);
  g_assert_cmpstr (langs, ==, "eng");
  g_assert_false (g_settings_get_boolean (settings, "speech-enabled"));
  g_assert_cmpstr (gpu, ==, "");
  g_assert_cmpstr (model, ==, "");
  g_assert_cmpint (g_settings_get_int (settings, "search-result-limit"), ==, 50);
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), >=, 360);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), >=, 294);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
}

/* Takes the floating reference of @value, which g_settings_schema_key_range_check() does not. */
static gboolean
in_range (GSettingsSchemaKey *key,
          GVariant           *value)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);

  return g_settings_schema_key_range_check (key, owned);
}

static void
test_schema_ranges (void)
{
  g_autoptr(GSettingsSchema) schema = lookup_schema ();
  g_autoptr(GSettings) settings = g_settings_new (APP_ID);
  g_autoptr(GSettingsSchemaKey) mode = g_settings_schema_get_key (schema, "sample-mode");
  g_autoptr(GSettingsSchemaKey) rate = g_settings_schema_get_key (schema, "sample-rate");
  g_autoptr(GSettingsSchemaKey) gap = g_settings_schema_get_key (schema, "max-keyframe-gap");
  g_autoptr(GSettingsSchemaKey) limit = g_settings_schema_get_key (schema, "search-result-limit");
  g_autoptr(GVariant) range = g_settings_schema_key_get_range (mode);
  const char *range_type = NULL;
  g_autoptr(GVariant) range_values = NULL;
  g_autofree const char **nicks = NULL;
  g_autofree char *back = NULL;

  /* The enum lists exactly the two sampling modes. */
  g_variant_get (range, "(&sv)", &range_type, &range_values);
  g_assert_cmpstr (range_type, ==, "enum");
  nicks = g_variant_get_strv (range_values, NULL);
  g_assert_cmpuint (g_strv_length ((char **) nicks), ==, 2);
  g_assert_cmpstr (nicks[0], ==, "keyframes");
  g_assert_cmpstr (nicks[1], ==, "rate");
  g_assert_false (in_range (mode, g_variant_new_string ("every-frame")));

  g_assert_true (g_settings_set_enum (settings, "sample-mode", 1));
  back = g_settings_get_string (settings, "sample-mode");
  g_assert_cmpstr (back, ==, "rate");

  /* Nonsense values are refused by the schema, not only by the UI. */
  g_assert_false (in_range (rate, g_variant_new_double (0.0)));
  g_assert_false (in_range (rate, g_variant_new_double (-1.0)));
  g_assert_true (in_range (rate, g_variant_new_double (2.5)));
  g_assert_false (in_range (gap, g_variant_new_double (0.0)));
  g_assert_false (in_range (limit, g_variant_new_int32 (0)));
  g_assert_true (in_range (limit, g_variant_new_int32 (200)));

  g_assert_true (g_settings_set_double (settings, "sample-rate", 2.5));
  g_assert_cmpfloat (g_settings_get_double (settings, "sample-rate"), ==, 2.5);
  g_settings_reset (settings, "sample-rate");
  g_assert_cmpfloat (g_settings_get_double (settings, "sample-rate"), ==, 1.0);
}

static const char *
require_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    g_error ("%s is not set; run this test through meson", name);
  return value;
}

static char *
desktop_string (GKeyFile   *kf,
                const char *key)
{
  g_autoptr(GError) error = NULL;
  char *value = g_key_file_get_string (kf, G_KEY_FILE_DESKTOP_GROUP, key, &error);

  g_assert_no_error (error);
  return value;
}

static void
test_desktop_file (void)
{
  const char *path = require_env ("VIDMARK_TEST_DESKTOP_FILE");
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *type = NULL;
  g_autofree char *name = NULL;
  g_autofree char *exec = NULL;
  g_autofree char *icon = NULL;
  g_autofree char *categories = NULL;
  g_autofree char *comment = NULL;
  g_autofree char *comment_de = NULL;
  g_autofree char *keywords_de = NULL;

  /* GDesktopAppInfo would refuse the file while vidmark is not installed in PATH,
   * so the keys are checked directly. */
  g_assert_true (g_str_has_suffix (path, "/" APP_ID ".desktop"));
  g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_TRANSLATIONS, &error);
  g_assert_no_error (error);

  type = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_TYPE);
  g_assert_cmpstr (type, ==, "Application");
  name = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_NAME);
  g_assert_cmpstr (name, ==, "Vidmark");
  icon = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_ICON);
  g_assert_cmpstr (icon, ==, APP_ID);
  categories = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_CATEGORIES);
  g_assert_nonnull (strstr (categories, "Video;"));

  exec = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_EXEC);
  g_assert_true (g_shell_parse_argv (exec, NULL, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (argv[0], ==, "vidmark");

  /* The German translation was merged in. */
  comment = desktop_string (kf, G_KEY_FILE_DESKTOP_KEY_COMMENT);
  comment_de = desktop_string (kf, "Comment[de]");
  g_assert_cmpstr (comment_de, !=, comment);
  keywords_de = desktop_string (kf, "Keywords[de]");
  g_assert_true (g_str_has_suffix (keywords_de, ";"));
}

static void
test_metainfo (void)
{
  const char *path = require_env ("VIDMARK_TEST_METAINFO_FILE");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_nonnull (strstr (text, "<id>" APP_ID "</id>"));
  g_assert_nonnull (strstr (text, "<launchable type=\"desktop-id\">" APP_ID ".desktop</launchable>"));
  g_assert_nonnull (strstr (text, "<binary>vidmark</binary>"));
  g_assert_nonnull (strstr (text, "<release version=\"" PACKAGE_VERSION "\""));
  /* The German translation was merged in. */
  g_assert_nonnull (strstr (text, "<summary xml:lang=\"de\">"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/schema/keys", test_schema_keys);
  g_test_add_func ("/data/schema/defaults", test_schema_defaults);
  g_test_add_func ("/data/schema/ranges", test_schema_ranges);
  g_test_add_func ("/data/desktop-file", test_desktop_file);
  g_test_add_func ("/data/metainfo", test_metainfo);

  return g_test_run ();
}
