/* vm-model-download.c — Hugging Face Hub downloads with libsoup 3.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "model/vm-model-download.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm-paths.h"
#include "core/vm-util.h"
#include "model/vm-digest-private.h"
#include "model/vm-model-error.h"
#include "model/vm-model-store.h"

#define API_MAX_BYTES     (16 * 1024 * 1024)
#define CHUNK             (256 * 1024)
#define MAX_REDIRECTS     10
#define MAX_ATTEMPTS      4      /* per file and run, when the connection drops */
#define PROGRESS_INTERVAL (G_USEC_PER_SEC / 10)

/* The supported models, pinned to commits of their repositories (what
 * https://huggingface.co/api/models/{repo}/revision/main reported as "sha"
 * when each was checked), so that installs are reproducible and the hashes
 * the Hub reports stay stable.  These machines cannot reach the Hub: each
 * commit is the one several independent public projects pin for the same
 * repository (docs/MODELS.md says how to re-check them). */
const VmKnownModel vm_known_models[] = {
  { "clip-vit-base-patch32", "openai/clip-vit-base-patch32", "d15b5f29721ca72dac15f8526b284be910de18be",
    N_("OpenAI CLIP ViT-B/32, 512-dimensional embeddings (recommended)"), 605u * 1000 * 1000 },
  { "clip-vit-base-patch16", "openai/clip-vit-base-patch16", "57c216476eefef5ab752ec549e440a49ae4ae5f3",
    N_("OpenAI CLIP ViT-B/16, 512-dimensional, finer and slower"), 599u * 1000 * 1000 },
  { "clip-vit-large-patch14", "openai/clip-vit-large-patch14", "32bd64288804d66eefd0ccbe215aa642df71cc41",
    N_("OpenAI CLIP ViT-L/14, 768-dimensional, best and slowest"), G_GUINT64_CONSTANT (1710) * 1000 * 1000 },
  { "laion-clip-vit-b-32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "1a25a446712ba5ee05982a381eed697ef9b435cf",
    N_("LAION-2B CLIP ViT-B/32, 512-dimensional"), 605u * 1000 * 1000 },
  { NULL }
};

const VmKnownModel *
vm_known_model_lookup (const char *name_or_repo)
{
  for (guint i = 0; vm_known_models[i].name != NULL; i++)
    if (g_ascii_strcasecmp (name_or_repo, vm_known_models[i].name) == 0 ||
        g_ascii_strcasecmp (name_or_repo, vm_known_models[i].repo) == 0)
      return &vm_known_models[i];

  return NULL;
}

/* Hugging Face ids: "org/name", each part of [A-Za-z0-9._-], 96 at most,
 * not starting with '.' or '-'. */
static gboolean
repo_id_is_valid (const char *id)
{
  g_auto(GStrv) parts = g_strsplit (id, "/", -1);

  if (g_strv_length (parts) != 2)
    return FALSE;
  for (guint i = 0; i < 2; i++)
    {
      gsize len = strlen (parts[i]);

      if (len == 0 || len > 96 || parts[i][0] == '.' || parts[i][0] == '-')
        return FALSE;
      for (const char *p = parts[i]; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
          return FALSE;
    }

  return TRUE;
}

static gboolean
resolve_spec (const char  *spec,
              const char  *name,
              char       **out_repo,
              char       **out_name,
              const char **out_pinned,
              GError     **error)
{
  const VmKnownModel *known = vm_known_model_lookup (spec);
  g_autofree char *repo = NULL;
  g_autofree char *model_name = NULL;

  if (known != NULL)
    {
      repo = g_strdup (known->repo);
      model_name = g_strdup (name ? name : known->name);
      *out_pinned = known->revision;
    }
  else if (repo_id_is_valid (spec))
    {
      repo = g_strdup (spec);
      model_name = g_strdup (name ? name : strchr (spec, '/') + 1);
      *out_pinned = "main";
    }
  else
    {
      GString *names = g_string_new (NULL);

      for (guint i = 0; vm_known_models[i].name != NULL; i++)
        g_string_append_printf (names, "%s%s", i ? ", " : "", vm_known_models[i].name);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is neither a known model (%s) nor a Hugging Face repository id “org/name”"),
                   spec, names->str);
      g_string_free (names, TRUE);
      return FALSE;
    }

  if (!vm_model_name_is_valid (model_name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not a valid model name: use letters, digits, “.”, “_”, “-” and “+”, "
                     "not starting with “.” or “-”"), model_name);
      return FALSE;
    }

  *out_repo = g_steal_pointer (&repo);
  *out_name = g_steal_pointer (&model_name);
  return TRUE;
}

char *
vm_model_install_name (const char  *spec,
                       const char  *name,
                       GError     **error)
{
  g_autofree char *repo = NULL;
  char *model_name = NULL;
  const char *pinned;

  if (!resolve_spec (spec, name, &repo, &model_name, &pinned, error))
    return NULL;

  return model_name;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
  SoupSession            *session;
  GUri                   *endpoint;
  char                   *endpoint_str;
  char                   *token;
  char                   *repo;
  char                   *commit;
  const char             *requested;   /* the revision asked for */
  GCancellable           *cancellable;
  VmDownloadProgressFunc  progress;
  gpointer                user_data;
  VmDownloadProgress      p;
  gint64                  last_report;
  gint64                  rate_time;
  guint64                 rate_bytes;
} Ctx;

static void
ctx_clear (Ctx *ctx)
{
  g_clear_object (&ctx->session);
  g_clear_pointer (&ctx->endpoint, g_uri_unref);
  g_clear_pointer (&ctx->endpoint_str, g_free);
  g_clear_pointer (&ctx->token, g_free);
  g_clear_pointer (&ctx->repo, g_free);
  g_clear_pointer (&ctx->commit, g_free);
}

static void
report (Ctx             *ctx,
        VmDownloadStage  stage)
{
  ctx->p.stage = stage;
  ctx->p.repo = ctx->repo;
  ctx->p.revision = ctx->commit ? ctx->commit : ctx->requested;
  if (ctx->progress != NULL)
    ctx->progress (&ctx->p, ctx->user_data);
}

static void
report_bytes (Ctx      *ctx,
              gboolean  force)
{
  gint64 now = g_get_monotonic_time ();

  if (ctx->rate_time == 0)
    {
      ctx->rate_time = now;
      ctx->rate_bytes = ctx->p.transferred;
    }
  else if (now - ctx->rate_time >= G_USEC_PER_SEC / 2)
    {
      double inst = (ctx->p.transferred - ctx->rate_bytes) * (double) G_USEC_PER_SEC /
                    (now - ctx->rate_time);

      ctx->p.rate = ctx->p.rate > 0 ? 0.7 * ctx->p.rate + 0.3 * inst : inst;
      ctx->rate_time = now;
      ctx->rate_bytes = ctx->p.transferred;
    }

  if (force || now - ctx->last_report >= PROGRESS_INTERVAL)
    {
      ctx->last_report = now;
      report (ctx, VM_DOWNLOAD_PROGRESS);
    }
}

static gboolean
same_origin (GUri *a,
             GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_ascii_strcasecmp (g_uri_get_host (a) ? g_uri_get_host (a) : "",
                             g_uri_get_host (b) ? g_uri_get_host (b) : "") == 0 &&
         g_uri_get_port (a) == g_uri_get_port (b);
}

/* Sends a GET to @url, following redirects by hand so that the token only
 * goes to the endpoint's origin and Range goes to every hop.  Returns the
 * body stream of the final answer with *out_msg its message; any status. */
static GInputStream *
http_get (Ctx          *ctx,
          const char   *url,
          goffset       range_start,
          SoupMessage **out_msg,
          GError      **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;

  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Invalid address “%s”: %s"), url, local_error->message);
      return NULL;
    }

  for (guint hop = 0; hop <= MAX_REDIRECTS; hop++)
    {
      g_autoptr(SoupMessage) msg = soup_message_new_from_uri ("GET", uri);
      g_autoptr(GInputStream) stream = NULL;
      SoupMessageHeaders *req = soup_message_get_request_headers (msg);
      const char *location;
      guint status;
      GUri *next;

      soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
      if (range_start > 0)
        soup_message_headers_set_range (req, range_start, -1);
      if (ctx->token != NULL && same_origin (uri, ctx->endpoint))
        {
          g_autofree char *auth = g_strconcat ("Bearer ", ctx->token, NULL);

          soup_message_headers_replace (req, "Authorization", auth);
        }

      stream = soup_session_send (ctx->session, msg, ctx->cancellable, &local_error);
      if (stream == NULL)
        {
          g_autofree char *shown = g_uri_to_string_partial (uri, G_URI_HIDE_PASSWORD | G_URI_HIDE_QUERY);

          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
                         _("Cannot reach %s: %s"), shown, local_error->message);
          return NULL;
        }

      status = soup_message_get_status (msg);
      if (!SOUP_STATUS_IS_REDIRECTION (status) || status == 304)
        {
          *out_msg = g_steal_pointer (&msg);
          return g_steal_pointer (&stream);
        }

      location = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Location");
      g_input_stream_close (stream, NULL, NULL);
      if (location == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("The server redirected without a location (HTTP %u)"), status);
          return NULL;
        }
      next = g_uri_parse_relative (uri, location, SOUP_HTTP_URI_FLAGS, &local_error);
      if (next == NULL ||
          (g_ascii_strcasecmp (g_uri_get_scheme (next), "https") != 0 &&
           g_ascii_strcasecmp (g_uri_get_scheme (next), "http") != 0) ||
          (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 &&
           g_ascii_strcasecmp (g_uri_get_scheme (next), "http") == 0))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("The server redirected to an unusable location “%s”"), location);
          g_clear_pointer (&next, g_uri_unref);
          return NULL;
        }
      g_uri_unref (uri);
      uri = next;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               _("Too many redirects for %s"), url);
  return NULL;
}

/* @about_repo: the answer to an API call, where 401/403/404 mean the
 * repository is missing or closed to us. */
static void
set_http_error (Ctx          *ctx,
                SoupMessage  *msg,
                const char   *what,
                gboolean      about_repo,
                GError      **error)
{
  guint status = soup_message_get_status (msg);
  const char *code = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                   "X-Error-Code");

  if (g_strcmp0 (code, "RevisionNotFound") == 0 ||
      g_strcmp0 (code, "EntryNotFound") == 0)
    g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                 _("Hugging Face repository “%s” has no %s"), ctx->repo, what);
  else if (!about_repo && (status == 401 || status == 403))
    g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                 ctx->token != NULL ?
                 _("Hugging Face refused access to %s of “%s” (HTTP %u): check that HF_TOKEN grants "
                   "access to it and that you accepted its conditions") :
                 _("Hugging Face refused access to %s of “%s” (HTTP %u): the repository is gated; "
                   "accept its conditions on the Hub and set HF_TOKEN to an access token"),
                 what, ctx->repo, status);
  else if (!about_repo)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 _("%s answered HTTP %u %s for %s of “%s”"), ctx->endpoint_str, status,
                 soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "",
                 what, ctx->repo);
  else if ((status == 401 || status == 403) && ctx->token != NULL)
    g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                 _("Hugging Face refused access to “%s” (HTTP %u): check that HF_TOKEN "
                   "grants access to it and that you accepted its conditions"), ctx->repo, status);
  else if (status == 401 || status == 403 || status == 404)
    g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                 _("Hugging Face has no model repository “%s” (HTTP %u; for a private or gated "
                   "repository set HF_TOKEN to an access token)"), ctx->repo, status);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 _("%s answered HTTP %u %s for %s of “%s”"), ctx->endpoint_str, status,
                 soup_message_get_reason_phrase (msg) ? soup_message_get_reason_phrase (msg) : "",
                 what, ctx->repo);
}

static JsonNode *
api_get_json (Ctx         *ctx,
              const char  *url,
              const char  *what,
              GError     **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  guint8 buf[16384];

  stream = http_get (ctx, url, 0, &msg, error);
  if (stream == NULL)
    return NULL;
  if (soup_message_get_status (msg) != 200)
    {
      set_http_error (ctx, msg, what, TRUE, error);
      return NULL;
    }

  for (;;)
    {
      gssize n = g_input_stream_read (stream, buf, sizeof buf, ctx->cancellable, error);

      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      if (body->len + n > API_MAX_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The %s of “%s” is too large"), what, ctx->repo);
          return NULL;
        }
      g_byte_array_append (body, buf, n);
    }

  if (!json_parser_load_from_data (parser, (const char *) body->data, body->len, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The %s of “%s” is not valid JSON: %s"), what, ctx->repo, local_error->message);
      return NULL;
    }

  return json_node_copy (json_parser_get_root (parser));
}

/* ---- the file list ---------------------------------------------------------- */

typedef struct {
  char    *path;
  guint64  size;
  char    *sha256;     /* LFS files: lowercase hex */
  char    *git_sha1;   /* other files: the git blob id */
} HubFile;

static void
hub_file_free (HubFile *f)
{
  g_free (f->path);
  g_free (f->sha256);
  g_free (f->git_sha1);
  g_free (f);
}

static gboolean
is_hex (const char *s,
        gsize       len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;

  return TRUE;
}

static gboolean
get_uint (JsonObject *o,
          const char *member,
          guint64    *out)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (n);

  return TRUE;
}

static const char *
get_str (JsonObject *o,
         const char *member)
{
  JsonNode *n = json_object_get_member (o, member);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (n);
}

static gboolean
wanted_file (const char *path,
             gboolean   *required)
{
  for (guint i = 0; vm_model_required_files[i] != NULL; i++)
    if (g_str_equal (path, vm_model_required_files[i]))
      {
        *required = TRUE;
        return TRUE;
      }
  for (guint i = 0; vm_model_optional_files[i] != NULL; i++)
    if (g_str_equal (path, vm_model_optional_files[i]))
      {
        *required = FALSE;
        return TRUE;
      }

  return FALSE;
}

static GPtrArray *
parse_tree (Ctx       *ctx,
            JsonNode  *root,
            GError   **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) hub_file_free);
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (root))
    goto bad;
  array = json_node_get_array (root);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *o, *lfs;
      const char *type, *path, *oid;
      HubFile *f;
      gboolean required;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        goto bad;
      o = json_node_get_object (node);
      type = get_str (o, "type");
      path = get_str (o, "path");
      if (type == NULL || path == NULL)
        goto bad;
      if (!g_str_equal (type, "file") || !wanted_file (path, &required))
        continue;

      f = g_new0 (HubFile, 1);
      f->path = g_strdup (path);
      g_ptr_array_add (files, f);
      if (!get_uint (o, "size", &f->size))
        goto bad;

      lfs = json_object_has_member (o, "lfs") &&
            JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "lfs")) ?
            json_object_get_object_member (o, "lfs") : NULL;
      if (lfs != NULL)
        {
          const char *sha = get_str (lfs, "oid");
          guint64 lfs_size;

          if (!is_hex (sha, 64))
            goto bad;
          f->sha256 = g_ascii_strdown (sha, -1);
          if (get_uint (lfs, "size", &lfs_size))
            f->size = lfs_size;
        }
      else
        {
          oid = get_str (o, "oid");
          if (!is_hex (oid, 40))
            goto bad;
          f->git_sha1 = g_ascii_strdown (oid, -1);
        }
    }

  return g_steal_pointer (&files);

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               _("The file list of “%s” from %s is malformed"), ctx->repo, ctx->endpoint_str);
  return NULL;
}

/* ---- one file --------------------------------------------------------------- */

typedef struct {
  VmDigest *sha256;
  VmDigest *sha1;
} Sums;

static void
sums_reset (Sums          *s,
            const HubFile *f)
{
  g_clear_pointer (&s->sha256, vm_digest_free);
  g_clear_pointer (&s->sha1, vm_digest_free);
  s->sha256 = vm_digest_new (G_CHECKSUM_SHA256);
  if (f->git_sha1 != NULL)
    {
      g_autofree char *header = g_strdup_printf ("blob %" G_GUINT64_FORMAT, f->size);

      s->sha1 = vm_digest_new (G_CHECKSUM_SHA1);
      /* The NUL after the header is part of what git hashes. */
      vm_digest_update (s->sha1, header, strlen (header) + 1);
    }
}

static void
sums_update (Sums         *s,
             const guint8 *data,
             gsize         len)
{
  vm_digest_update (s->sha256, data, len);
  if (s->sha1 != NULL)
    vm_digest_update (s->sha1, data, len);
}

static void
sums_clear (Sums *s)
{
  g_clear_pointer (&s->sha256, vm_digest_free);
  g_clear_pointer (&s->sha1, vm_digest_free);
}

/* Feeds the first @length bytes of @path into @sums. */
static gboolean
hash_file (const char    *path,
           guint64        length,
           Sums          *sums,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree guint8 *buf = g_malloc (CHUNK);
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  guint64 done = 0;

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot read “%s”: %s"), path, g_strerror (saved_errno));
      return FALSE;
    }
  while (done < length)
    {
      gssize n = read (fd, buf, MIN ((guint64) CHUNK, length - done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved_errno = n < 0 ? errno : EIO;

          close (fd);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       _("Cannot read “%s”: %s"), path, g_strerror (saved_errno));
          return FALSE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          close (fd);
          return FALSE;
        }
      sums_update (sums, buf, n);
      done += n;
    }
  close (fd);

  return TRUE;
}

static gboolean
sums_match (Sums          *sums,
            const HubFile *f,
            char         **out_sha256,
            char         **out_problem)
{
  const char *sha256 = vm_digest_get_string (sums->sha256);

  *out_sha256 = g_strdup (sha256);
  if (f->sha256 != NULL && !g_str_equal (sha256, f->sha256))
    {
      *out_problem = g_strdup_printf (_("its SHA-256 is %s, the Hub says %s"), sha256, f->sha256);
      return FALSE;
    }
  if (f->git_sha1 != NULL && !g_str_equal (vm_digest_get_string (sums->sha1), f->git_sha1))
    {
      *out_problem = g_strdup_printf (_("its git blob id is %s, the Hub says %s"),
                                      vm_digest_get_string (sums->sha1), f->git_sha1);
      return FALSE;
    }

  return TRUE;
}

static guint64
file_size (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return G_MAXUINT64;

  return (guint64) st.st_size;
}

static char *
file_url (Ctx           *ctx,
          const HubFile *f)
{
  g_autofree char *path = g_uri_escape_string (f->path, "/", FALSE);

  return g_strdup_printf ("%s/%s/resolve/%s/%s", ctx->endpoint_str, ctx->repo, ctx->commit, path);
}

typedef enum {
  FETCH_OK,
  FETCH_RETRY,    /* the connection dropped: the .part holds what arrived */
  FETCH_FAILED,
} FetchResult;

/* One request continuing @part from *have bytes. */
static FetchResult
fetch (Ctx           *ctx,
       const HubFile *f,
       const char    *part,
       guint64       *have,
       Sums          *sums,
       GError       **error)
{
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autofree char *url = file_url (ctx, f);
  g_autofree guint8 *buf = NULL;
  g_autoptr(GError) local_error = NULL;
  FetchResult result = FETCH_FAILED;
  guint64 base = ctx->p.done - *have;   /* bytes of the files before this one */
  guint status;
  int fd = -1;

  stream = http_get (ctx, url, (goffset) *have, &msg, &local_error);
  if (stream == NULL)
    {
      gboolean cancelled = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

      g_propagate_error (error, g_steal_pointer (&local_error));
      return cancelled ? FETCH_FAILED : FETCH_RETRY;
    }

  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_PARTIAL_CONTENT && *have > 0)
    {
      goffset start = -1, end = -1, total = -1;

      if (!soup_message_headers_get_content_range (soup_message_get_response_headers (msg),
                                                   &start, &end, &total) ||
          start != (goffset) *have)
        {
          /* Not the range asked for: start over. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The server sent the wrong part of %s"), f->path);
          *have = 0;
          sums_reset (sums, f);
          g_unlink (part);
          return FETCH_RETRY;
        }
    }
  else if (status == SOUP_STATUS_OK)
    {
      if (*have > 0)
        {
          /* The server ignored the Range: the body is the whole file. */
          *have = 0;
          sums_reset (sums, f);
          if (g_unlink (part) != 0 && errno != ENOENT)
            {
              int saved_errno = errno;

              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           _("Cannot remove “%s”: %s"), part, g_strerror (saved_errno));
              return FETCH_FAILED;
            }
        }
    }
  else if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && *have > 0)
    {
      *have = 0;
      sums_reset (sums, f);
      g_unlink (part);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The server refused to continue %s"), f->path);
      return FETCH_RETRY;
    }
  else
    {
      g_autofree char *what = g_strdup_printf (_("file %s"), f->path);

      set_http_error (ctx, msg, what, FALSE, error);
      /* Server errors (a busy CDN) are worth another try. */
      return SOUP_STATUS_IS_SERVER_ERROR (status) ? FETCH_RETRY : FETCH_FAILED;
    }

  fd = g_open (part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot write “%s”: %s"), part, g_strerror (saved_errno));
      return FETCH_FAILED;
    }

  buf = g_malloc (CHUNK);
  for (;;)
    {
      gssize n = g_input_stream_read (stream, buf, CHUNK, ctx->cancellable, &local_error);

      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              result = FETCH_FAILED;
            }
          else
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           _("The download of %s was interrupted: %s"), f->path,
                           local_error->message);
              result = FETCH_RETRY;
            }
          goto out;
        }
      if (n == 0)
        break;
      if (*have + n > f->size)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The server sent more of %s than its %" PRIu64 " bytes"),
                       f->path, f->size);
          close (fd);
          fd = -1;
          g_unlink (part);
          *have = 0;
          return FETCH_FAILED;
        }
      for (gssize off = 0; off < n;)
        {
          gssize w = write (fd, buf + off, n - off);

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              int saved_errno = errno;

              g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                           _("Cannot write “%s”: %s"), part, g_strerror (saved_errno));
              goto out;
            }
          off += w;
        }
      sums_update (sums, buf, n);
      *have += n;
      ctx->p.done_file = *have;
      ctx->p.done = base + *have;
      ctx->p.transferred += n;
      report_bytes (ctx, FALSE);
    }

  if (*have < f->size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                   _("The download of %s was interrupted after %" PRIu64 " of %"
                     PRIu64 " bytes"), f->path, *have, f->size);
      result = FETCH_RETRY;
      goto out;
    }
  if (fsync (fd) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot write “%s”: %s"), part, g_strerror (saved_errno));
      goto out;
    }
  result = FETCH_OK;

out:
  g_input_stream_close (stream, NULL, NULL);
  if (fd >= 0)
    close (fd);

  return result;
}

static gboolean
download_file (Ctx            *ctx,
               const HubFile  *f,
               const char     *partial_dir,
               char          **out_sha256,
               GError        **error)
{
  g_autofree char *final = g_build_filename (partial_dir, f->path, NULL);
  g_autofree char *part = g_strconcat (final, ".part", NULL);
  g_autofree char *problem = NULL;
  Sums sums = { NULL, NULL };
  guint64 have;
  guint64 done_before = ctx->p.done;
  gboolean ok = FALSE;

  ctx->p.file = f->path;
  ctx->p.size_file = f->size;
  sums_reset (&sums, f);

  /* Complete from an earlier run: check it again. */
  if (file_size (final) == f->size)
    {
      if (!hash_file (final, f->size, &sums, ctx->cancellable, error))
        goto out;
      if (sums_match (&sums, f, out_sha256, &problem))
        {
          ctx->p.done_file = f->size;
          ctx->p.done = done_before + f->size;
          report (ctx, VM_DOWNLOAD_FILE_DONE);
          ok = TRUE;
          goto out;
        }
      g_clear_pointer (out_sha256, g_free);
      g_clear_pointer (&problem, g_free);
      sums_reset (&sums, f);
    }
  g_unlink (final);

  have = file_size (part);
  if (have == G_MAXUINT64 || have > f->size)
    {
      g_unlink (part);
      have = 0;
    }
  if (have > 0 && !hash_file (part, have, &sums, ctx->cancellable, error))
    goto out;

  ctx->p.done_file = have;
  ctx->p.done = done_before + have;
  report (ctx, VM_DOWNLOAD_FILE_START);

  if (have < f->size)
    {
      guint attempt = 0;

      for (;;)
        {
          g_autoptr(GError) local_error = NULL;
          guint64 before = have;
          FetchResult r = fetch (ctx, f, part, &have, &sums, &local_error);

          ctx->p.done = done_before + have;
          if (r == FETCH_OK)
            break;
          /* Count only tries in a row that made no progress, so a flaky
           * but working connection still finishes. */
          if (have <= before)
            attempt++;
          else
            attempt = 0;
          if (r == FETCH_FAILED || attempt >= MAX_ATTEMPTS)
            {
              if (r == FETCH_RETRY)
                g_set_error (error, local_error->domain, local_error->code,
                             _("%s; run the command again to continue the download"),
                             local_error->message);
              else
                g_propagate_error (error, g_steal_pointer (&local_error));
              goto out;
            }
          g_debug ("retrying %s from %" G_GUINT64_FORMAT ": %s", f->path, have, local_error->message);
          if (have <= before)
            g_usleep (G_USEC_PER_SEC / 4 * attempt);
          if (g_cancellable_set_error_if_cancelled (ctx->cancellable, error))
            goto out;
        }
    }
  else if (g_file_test (part, G_FILE_TEST_EXISTS) == FALSE)
    {
      /* An empty file. */
      if (!g_file_set_contents (part, "", 0, error))
        goto out;
    }

  if (!sums_match (&sums, f, out_sha256, &problem))
    {
      g_unlink (part);
      g_clear_pointer (out_sha256, g_free);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The downloaded %s of “%s” is damaged (%s); it was deleted, run the "
                     "command again to download it anew"), f->path, ctx->repo, problem);
      goto out;
    }

  if (g_rename (part, final) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot rename “%s”: %s"), part, g_strerror (saved_errno));
      goto out;
    }
  report_bytes (ctx, TRUE);
  report (ctx, VM_DOWNLOAD_FILE_DONE);
  ok = TRUE;

out:
  sums_clear (&sums);
  return ok;
}

/* ---- install ------------------------------------------------------------------ */

static int
lock_partial (const char  *partial_dir,
              const char  *name,
              GError     **error)
{
  g_autofree char *path = g_build_filename (partial_dir, ".lock", NULL);
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create “%s”: %s"), path, g_strerror (saved_errno));
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   _("Another download of “%s” is running"), name);
      return -1;
    }

  return fd;
}

/* Keeps the partial folder when it holds files of the same commit, else
 * empties it. */
static gboolean
prepare_partial (const char  *partial_dir,
                 const char  *origin,
                 GError     **error)
{
  g_autofree char *path = g_build_filename (partial_dir, ".origin", NULL);
  g_autofree char *old = NULL;

  if (g_file_get_contents (path, &old, NULL, NULL) && g_str_equal (old, origin))
    return TRUE;

  {
    g_autoptr(GDir) dir = g_dir_open (partial_dir, 0, error);
    const char *entry;

    if (dir == NULL)
      return FALSE;
    while ((entry = g_dir_read_name (dir)) != NULL)
      if (!g_str_equal (entry, ".lock"))
        {
          g_autofree char *child = g_build_filename (partial_dir, entry, NULL);

          if (!vm_model_store_delete_tree (child, error))
            return FALSE;
        }
  }

  return vm_write_file_atomic (path, origin, -1, error);
}

char *
vm_model_install (const char              *models_dir,
                  const VmInstallOptions  *options,
                  VmDownloadProgressFunc   progress,
                  gpointer                 user_data,
                  GCancellable            *cancellable,
                  GError                 **error)
{
  Ctx ctx = { 0 };
  g_autofree char *dir = models_dir ? g_strdup (models_dir) : vm_paths_models_dir ();
  g_autofree char *name = NULL;
  g_autofree char *target = NULL;
  g_autofree char *partial_dir = NULL;
  g_autofree char *partial_base = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *url = NULL;
  g_autofree char *origin = NULL;
  g_autofree char *source = NULL;
  g_autoptr(JsonNode) rev_json = NULL;
  g_autoptr(JsonNode) tree_json = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *revision, *pinned = NULL, *endpoint, *sha;
  char *result = NULL;
  int lock_fd = -1;

  if (!resolve_spec (options->spec, options->name, &ctx.repo, &name, &pinned, error))
    goto out;
  revision = options->revision ? options->revision : pinned;
  ctx.requested = revision;

  target = g_build_filename (dir, name, NULL);
  if (g_file_test (target, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("A model named “%s” is already installed; remove it first with "
                     "“vidmark model remove %s”"), name, name);
      goto out;
    }

  endpoint = options->endpoint ? options->endpoint : g_getenv ("VIDMARK_HF_ENDPOINT");
  if (endpoint == NULL || *endpoint == '\0')
    endpoint = VM_HF_DEFAULT_ENDPOINT;
  ctx.endpoint_str = g_strdup (endpoint);
  while (g_str_has_suffix (ctx.endpoint_str, "/"))
    ctx.endpoint_str[strlen (ctx.endpoint_str) - 1] = '\0';
  ctx.endpoint = g_uri_parse (ctx.endpoint_str, SOUP_HTTP_URI_FLAGS, NULL);
  if (ctx.endpoint == NULL ||
      (g_strcmp0 (g_uri_get_scheme (ctx.endpoint), "https") != 0 &&
       g_strcmp0 (g_uri_get_scheme (ctx.endpoint), "http") != 0))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("The Hugging Face endpoint “%s” is not an http(s) address"), endpoint);
      goto out;
    }
  ctx.token = g_strdup (options->token ? options->token : g_getenv ("HF_TOKEN"));
  if (ctx.token != NULL && *ctx.token == '\0')
    g_clear_pointer (&ctx.token, g_free);
  ctx.cancellable = cancellable;
  ctx.progress = progress;
  ctx.user_data = user_data;
  ctx.session = soup_session_new_with_options ("user-agent", "vidmark/" PACKAGE_VERSION " ",
                                               "timeout", 60,
                                               NULL);
  soup_session_remove_feature_by_type (ctx.session, SOUP_TYPE_CONTENT_DECODER);

  /* 1. The commit. */
  report (&ctx, VM_DOWNLOAD_RESOLVING);
  escaped = g_uri_escape_string (revision, NULL, FALSE);
  url = g_strdup_printf ("%s/api/models/%s/revision/%s", ctx.endpoint_str, ctx.repo, escaped);
  {
    g_autofree char *what = g_strdup_printf (_("revision “%s”"), revision);

    rev_json = api_get_json (&ctx, url, what, error);
  }
  if (rev_json == NULL)
    goto out;
  sha = JSON_NODE_HOLDS_OBJECT (rev_json) ? get_str (json_node_get_object (rev_json), "sha") : NULL;
  if (!is_hex (sha, 40))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("%s gave no commit for revision “%s” of “%s”"), ctx.endpoint_str,
                   revision, ctx.repo);
      goto out;
    }
  ctx.commit = g_ascii_strdown (sha, -1);

  /* 2. The files. */
  g_free (url);
  url = g_strdup_printf ("%s/api/models/%s/tree/%s", ctx.endpoint_str, ctx.repo, ctx.commit);
  tree_json = api_get_json (&ctx, url, _("file list"), error);
  if (tree_json == NULL)
    goto out;
  files = parse_tree (&ctx, tree_json, error);
  if (files == NULL)
    goto out;
  for (guint i = 0; vm_model_required_files[i] != NULL; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < files->len && !found; j++)
        found = g_str_equal (((HubFile *) g_ptr_array_index (files, j))->path,
                             vm_model_required_files[i]);
      if (!found)
        {
          g_set_error (error, VM_MODEL_ERROR, VM_MODEL_ERROR_NOT_FOUND,
                       _("“%s” at %.12s has no %s: it is not a Hugging Face CLIP model in "
                         "safetensors format"), ctx.repo, ctx.commit, vm_model_required_files[i]);
          goto out;
        }
    }
  ctx.p.n_files = files->len;
  for (guint i = 0; i < files->len; i++)
    ctx.p.total += ((HubFile *) g_ptr_array_index (files, i))->size;

  /* 3. The downloads. */
  if (!vm_paths_ensure_dir (dir, error))
    goto out;
  vm_model_store_cleanup (dir, 3600);
  partial_base = g_strconcat (".partial-", name, NULL);
  partial_dir = g_build_filename (dir, partial_base, NULL);
  if (g_mkdir (partial_dir, 0755) != 0 && errno != EEXIST)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create folder “%s”: %s"), partial_dir, g_strerror (saved_errno));
      goto out;
    }
  lock_fd = lock_partial (partial_dir, name, error);
  if (lock_fd < 0)
    goto out;
  origin = g_strdup_printf ("%s\n%s\n%s\n", ctx.endpoint_str, ctx.repo, ctx.commit);
  if (!prepare_partial (partial_dir, origin, error))
    goto out;

  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_model_file_entry_free);
  for (guint i = 0; i < files->len; i++)
    {
      const HubFile *f = g_ptr_array_index (files, i);
      VmModelFileEntry *entry = g_new0 (VmModelFileEntry, 1);

      entry->path = g_strdup (f->path);
      entry->size = f->size;
      g_ptr_array_add (entries, entry);
      ctx.p.file_index = i;
      if (!download_file (&ctx, f, partial_dir, &entry->sha256, error))
        goto out;
    }

  /* 4. Check, record, move into place. */
  report (&ctx, VM_DOWNLOAD_VERIFYING);
  if (!vm_model_store_validate_dir (partial_dir, NULL, &local_error))
    {
      /* The files are what the Hub holds, so they will not get better. */
      vm_model_store_delete_tree (partial_dir, NULL);
      g_set_error (error, VM_MODEL_ERROR, local_error->code,
                   _("“%s” is not a usable CLIP model: %s"), ctx.repo, local_error->message);
      goto out;
    }
  source = g_strconcat ("hf:", ctx.repo, NULL);
  if (!vm_model_store_write_manifest (partial_dir, name, source, ctx.commit, entries, error))
    goto out;
  {
    g_autofree char *origin_path = g_build_filename (partial_dir, ".origin", NULL);
    g_autofree char *lock_path = g_build_filename (partial_dir, ".lock", NULL);

    g_unlink (origin_path);
    g_unlink (lock_path);
  }
  if (!vm_model_store_commit_dir (dir, partial_dir, name, error))
    goto out;

  result = g_steal_pointer (&name);

out:
  if (lock_fd >= 0)
    close (lock_fd);
  ctx_clear (&ctx);

  return result;
}

/* ---- interrupted downloads -------------------------------------------------------- */

void
vm_interrupted_download_free (VmInterruptedDownload *download)
{
  if (download == NULL)
    return;
  g_free (download->name);
  g_free (download->repo);
  g_free (download->revision);
  g_free (download);
}

static int
compare_downloads (gconstpointer a,
                   gconstpointer b)
{
  const VmInterruptedDownload *da = *(VmInterruptedDownload * const *) a;
  const VmInterruptedDownload *db = *(VmInterruptedDownload * const *) b;

  return strcmp (da->name, db->name);
}

GPtrArray *
vm_model_list_interrupted (const char *models_dir)
{
  g_autofree char *dir = models_dir ? g_strdup (models_dir) : vm_paths_models_dir ();
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_interrupted_download_free);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  if (d == NULL)
    return list;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *origin_path = NULL;
      g_autofree char *origin = NULL;
      g_autoptr(GDir) files = NULL;
      VmInterruptedDownload *download;
      const char *file;

      if (!g_str_has_prefix (entry, ".partial-") ||
          !vm_model_name_is_valid (entry + strlen (".partial-")))
        continue;
      path = g_build_filename (dir, entry, NULL);
      if ((files = g_dir_open (path, 0, NULL)) == NULL)
        continue;

      download = g_new0 (VmInterruptedDownload, 1);
      download->name = g_strdup (entry + strlen (".partial-"));
      origin_path = g_build_filename (path, ".origin", NULL);
      if (g_file_get_contents (origin_path, &origin, NULL, NULL))
        {
          g_auto(GStrv) lines = g_strsplit (origin, "\n", 4);

          if (g_strv_length (lines) >= 3)
            {
              download->repo = g_strdup (lines[1]);
              download->revision = g_strdup (lines[2]);
            }
        }
      while ((file = g_dir_read_name (files)) != NULL)
        if (file[0] != '.')
          {
            g_autofree char *file_path = g_build_filename (path, file, NULL);
            guint64 size = file_size (file_path);

            if (size != G_MAXUINT64)
              download->size += size;
          }
      g_ptr_array_add (list, download);
    }
  g_ptr_array_sort (list, compare_downloads);

  return list;
}

gboolean
vm_model_discard_interrupted (const char  *models_dir,
                              const char  *name,
                              GError     **error)
{
  g_autofree char *dir = models_dir ? g_strdup (models_dir) : vm_paths_models_dir ();
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  gboolean ok;
  int lock_fd;

  if (!vm_model_name_is_valid (name))
    goto none;
  base = g_strconcat (".partial-", name, NULL);
  path = g_build_filename (dir, base, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    goto none;

  lock_fd = lock_partial (path, name, error);
  if (lock_fd < 0)
    return FALSE;
  ok = vm_model_store_delete_tree (path, error);
  close (lock_fd);

  return ok;

none:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("There is no interrupted download of “%s”"), name);
  return FALSE;
}

/* ---- async ---------------------------------------------------------------------- */

typedef struct {
  char             *models_dir;
  char             *spec;
  char             *name;
  char             *revision;
  char             *endpoint;
  char             *token;
  VmJob            *job;
} InstallData;

static void
install_data_free (InstallData *data)
{
  g_free (data->models_dir);
  g_free (data->spec);
  g_free (data->name);
  g_free (data->revision);
  g_free (data->endpoint);
  g_free (data->token);
  g_clear_object (&data->job);
  g_free (data);
}

/* Runs in the worker; VmJob's setters may be called from any thread. */
static void
job_progress_cb (const VmDownloadProgress *p,
                 gpointer                  user_data)
{
  VmJob *job = user_data;
  g_autofree char *message = NULL;

  switch (p->stage)
    {
    case VM_DOWNLOAD_RESOLVING:
      message = g_strdup_printf (_("Looking up %s"), p->repo);
      break;
    case VM_DOWNLOAD_VERIFYING:
      message = g_strdup (_("Checking the model"));
      break;
    case VM_DOWNLOAD_FILE_START:
    case VM_DOWNLOAD_PROGRESS:
    case VM_DOWNLOAD_FILE_DONE:
    default:
      {
        g_autofree char *done = vm_format_size (p->done);
        g_autofree char *total = vm_format_size (p->total);

        if (p->rate > 0)
          {
            g_autofree char *rate = vm_format_size ((guint64) p->rate);

            message = g_strdup_printf (_("%s — %s of %s, %s/s"), p->file, done, total, rate);
          }
        else
          message = g_strdup_printf (_("%s — %s of %s"), p->file, done, total);
      }
      break;
    }

  vm_job_set_message (job, message);
  if (p->total > 0)
    vm_job_set_fraction (job, (double) p->done / p->total);
}

static void
install_thread_cb (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  InstallData *data = task_data;
  VmInstallOptions options = {
    .spec = data->spec,
    .name = data->name,
    .revision = data->revision,
    .endpoint = data->endpoint,
    .token = data->token,
  };
  GError *error = NULL;
  char *name;

  name = vm_model_install (data->models_dir, &options,
                           data->job ? job_progress_cb : NULL, data->job,
                           cancellable, &error);
  if (name == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, name, g_free);
}

void
vm_model_install_async (const char              *models_dir,
                        const VmInstallOptions  *options,
                        VmJob                   *job,
                        GAsyncReadyCallback      callback,
                        gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  InstallData *data;

  g_return_if_fail (options != NULL && options->spec != NULL);
  g_return_if_fail (job == NULL || VM_IS_JOB (job));

  data = g_new0 (InstallData, 1);
  data->models_dir = g_strdup (models_dir);
  data->spec = g_strdup (options->spec);
  data->name = g_strdup (options->name);
  data->revision = g_strdup (options->revision);
  data->endpoint = g_strdup (options->endpoint);
  data->token = g_strdup (options->token);
  data->job = job ? g_object_ref (job) : NULL;

  task = g_task_new (NULL, job ? vm_job_get_cancellable (job) : NULL, callback, user_data);
  g_task_set_source_tag (task, vm_model_install_async);
  g_task_set_task_data (task, data, (GDestroyNotify) install_data_free);
  g_task_run_in_thread (task, install_thread_cb);
}

char *
vm_model_install_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vm_model_install_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
