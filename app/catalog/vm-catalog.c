/* vm-catalog.c — opening and migrating the catalog, transactions, folders,
 * videos and statistics.  Frames, embeddings, timed text and annotations are
 * in vm-catalog-data.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "catalog/vm-catalog-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "core/vm-core.h"
#include "vm-catalog-resources.h"

#define MIGRATIONS_PATH "/io/github/vidmark/catalog/migrations/"
#define BUSY_TIMEOUT_MS 5000
/* Written with every migration; tells a Vidmark catalog from another
 * program's SQLite database ("Vmkc"). */
#define VM_CATALOG_APPLICATION_ID 0x566d6b63
/* After a checkpoint, the WAL file is truncated to at most this size. */
#define JOURNAL_SIZE_LIMIT 16777216 /* 16 MiB */

struct _VmCatalog
{
  GObject     parent_instance;

  sqlite3    *db;
  char       *path;
  int         schema_version;
  gboolean    in_memory;
  GHashTable *stmts;        /* SQL text → sqlite3_stmt */
  guint       tx_depth;
  gboolean    tx_failed;    /* an inner level rolled back */
};

G_DEFINE_FINAL_TYPE (VmCatalog, vm_catalog, G_TYPE_OBJECT)

G_DEFINE_QUARK (vm-catalog-error-quark, vm_catalog_error)

/* ---- Statement helpers ------------------------------------------------- */

void
_vm_cached_stmt_release (VmCachedStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

void
_vm_owned_stmt_free (VmOwnedStmt *stmt)
{
  sqlite3_finalize (stmt);
}

static void
stmt_finalize_cb (gpointer data)
{
  sqlite3_finalize (data);
}

sqlite3 *
_vm_catalog_get_db (VmCatalog *self)
{
  return self->db;
}

gboolean
_vm_catalog_set_error (VmCatalog   *self,
                       int          rc,
                       const char  *context,
                       GError     **error)
{
  const char *message = self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc);
  int code;

  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_BUSY,
                   _("%s: the catalog is in use by another program (%s)"), context, message);
      return FALSE;
    case SQLITE_CONSTRAINT:
      code = VM_CATALOG_ERROR_INVALID;
      break;
    default:
      code = VM_CATALOG_ERROR_SQL;
      break;
    }

  g_set_error (error, VM_CATALOG_ERROR, code, "%s: %s", context, message);
  return FALSE;
}

VmCachedStmt *
_vm_catalog_prepare (VmCatalog   *self,
                     const char  *sql,
                     GError     **error)
{
  sqlite3_stmt *stmt;
  int rc;

  stmt = g_hash_table_lookup (self->stmts, sql);
  if (stmt != NULL)
    {
      /* A statement still stepping here means a caller nested two uses of
       * the same SQL, which would silently reset the outer one. */
      g_warn_if_fail (!sqlite3_stmt_busy (stmt));
      return stmt;
    }

  rc = sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _vm_catalog_set_error (self, rc, _("Cannot prepare a catalog query"), error);
      sqlite3_finalize (stmt);
      return NULL;
    }

  g_hash_table_insert (self->stmts, g_strdup (sql), stmt);
  return stmt;
}

gboolean
_vm_catalog_step_done (VmCatalog    *self,
                       sqlite3_stmt *stmt,
                       const char   *context,
                       GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return TRUE;

  return _vm_catalog_set_error (self, rc, context, error);
}

gboolean
_vm_catalog_query_int64 (VmCatalog    *self,
                         sqlite3_stmt *stmt,
                         gint64       *out_value,
                         const char   *context,
                         GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    {
      *out_value = sqlite3_column_int64 (stmt, 0);
      return TRUE;
    }
  if (rc == SQLITE_DONE)
    {
      *out_value = 0;
      return TRUE;
    }

  return _vm_catalog_set_error (self, rc, context, error);
}

void
_vm_bind_text (sqlite3_stmt *stmt,
               int           index,
               const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

void
_vm_bind_id (sqlite3_stmt *stmt,
             int           index,
             gint64        id)
{
  if (id != 0)
    sqlite3_bind_int64 (stmt, index, id);
  else
    sqlite3_bind_null (stmt, index);
}

char *
_vm_column_strdup (sqlite3_stmt *stmt,
                   int           column)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

/* Runs SQL without parameters or results (transaction control, pragmas). */
static gboolean
exec_sql (VmCatalog   *self,
          const char  *sql,
          const char  *context,
          GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return _vm_catalog_set_error (self, rc, context, error);

  return TRUE;
}

/* Reads one integer with a statement prepared for this call only; returns
 * the SQLite result code. */
static int
read_int (sqlite3    *db,
          const char *sql,
          gint64     *out_value)
{
  g_autoptr(VmOwnedStmt) stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out_value = sqlite3_column_int64 (stmt, 0);
      return SQLITE_OK;
    }
  if (rc == SQLITE_DONE)
    {
      *out_value = 0;
      return SQLITE_OK;
    }

  /* The step's error code; the reset in the cleanup keeps the message. */
  return rc;
}

/* ---- Object ------------------------------------------------------------ */

static void
vm_catalog_finalize (GObject *object)
{
  VmCatalog *self = VM_CATALOG (object);

  g_clear_pointer (&self->stmts, g_hash_table_unref);
  if (self->db != NULL)
    {
      if (!sqlite3_get_autocommit (self->db))
        sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      sqlite3_close_v2 (self->db);
      self->db = NULL;
    }
  g_free (self->path);

  G_OBJECT_CLASS (vm_catalog_parent_class)->finalize (object);
}

static void
vm_catalog_class_init (VmCatalogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vm_catalog_finalize;
}

static void
vm_catalog_init (VmCatalog *self)
{
  self->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, stmt_finalize_cb);
}

/* ---- Migrations -------------------------------------------------------- */

typedef struct {
  GPtrArray *texts;          /* char *, NULL-terminated */
  char      *error_message;  /* set when the compiled-in list is broken */
} BuiltinMigrations;

static guint64
migration_number (const char *name)
{
  return g_ascii_strtoull (name, NULL, 10);
}

static int
compare_migration_names (gconstpointer a,
                         gconstpointer b)
{
  guint64 na = migration_number (*(const char * const *) a);
  guint64 nb = migration_number (*(const char * const *) b);

  return na < nb ? -1 : na > nb ? 1 : 0;
}

/* The migrations compiled in as GResources, loaded once. */
static const BuiltinMigrations *
builtin_migrations (void)
{
  static BuiltinMigrations *builtin = NULL;

  if (g_once_init_enter (&builtin))
    {
      BuiltinMigrations *b = g_new0 (BuiltinMigrations, 1);
      g_autoptr(GError) local_error = NULL;
      g_auto(GStrv) names = NULL;
      g_autoptr(GPtrArray) sql_names = g_ptr_array_new ();

      b->texts = g_ptr_array_new_with_free_func (g_free);
      names = g_resource_enumerate_children (vm_catalog_get_resource (), MIGRATIONS_PATH,
                                             G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
      if (names == NULL)
        b->error_message = g_strdup (local_error->message);

      for (guint i = 0; names != NULL && names[i] != NULL; i++)
        if (g_str_has_suffix (names[i], ".sql"))
          g_ptr_array_add (sql_names, names[i]);
      g_ptr_array_sort (sql_names, compare_migration_names);

      for (guint i = 0; i < sql_names->len && b->error_message == NULL; i++)
        {
          const char *name = g_ptr_array_index (sql_names, i);
          g_autofree char *resource_path = g_strconcat (MIGRATIONS_PATH, name, NULL);
          g_autoptr(GBytes) bytes = NULL;

          if (migration_number (name) != i + 1)
            {
              b->error_message = g_strdup_printf ("migration %s is out of sequence (expected number %u)",
                                                  name, i + 1);
              break;
            }
          bytes = g_resource_lookup_data (vm_catalog_get_resource (), resource_path,
                                          G_RESOURCE_LOOKUP_FLAGS_NONE, &local_error);
          if (bytes == NULL)
            {
              b->error_message = g_strdup (local_error->message);
              break;
            }
          g_ptr_array_add (b->texts, g_strndup (g_bytes_get_data (bytes, NULL),
                                                g_bytes_get_size (bytes)));
        }

      if (b->error_message != NULL)
        g_ptr_array_set_size (b->texts, 0);
      g_ptr_array_add (b->texts, NULL);

      g_once_init_leave (&builtin, b);
    }

  return builtin;
}

int
vm_catalog_get_latest_version (void)
{
  const BuiltinMigrations *builtin = builtin_migrations ();

  return (int) builtin->texts->len - 1;
}

static void
rollback_now (VmCatalog *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
apply_migration (VmCatalog   *self,
                 int          target,
                 int          n_known,
                 const char  *sql,
                 GError     **error)
{
  g_autofree char *context = g_strdup_printf (_("Cannot upgrade the catalog “%s” to schema %d"),
                                              self->path, target);
  g_autofree char *set_version = NULL;
  gint64 current = 0;
  char *errmsg = NULL;
  int rc;

  if (!exec_sql (self, "BEGIN IMMEDIATE", context, error))
    return FALSE;

  /* Another process may have migrated since the first look. */
  rc = read_int (self->db, "PRAGMA user_version", &current);
  if (rc != SQLITE_OK)
    {
      _vm_catalog_set_error (self, rc, context, error);
      rollback_now (self);
      return FALSE;
    }
  if (current >= target)
    {
      rollback_now (self);
      if (current > n_known)
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_TOO_NEW,
                       _("The catalog “%s” was written by a newer version of Vidmark "
                         "(schema %d, this program knows %d); update Vidmark to open it"),
                       self->path, (int) current, n_known);
          return FALSE;
        }
      self->schema_version = (int) current;
      return TRUE;
    }

  rc = sqlite3_exec (self->db, sql, NULL, NULL, &errmsg);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION, "%s: %s",
                   context, errmsg != NULL ? errmsg : sqlite3_errstr (rc));
      sqlite3_free (errmsg);
      rollback_now (self);
      return FALSE;
    }

  /* Foreign keys are off while migrating (so that tables can be rebuilt);
   * check them before the change becomes visible. */
  {
    g_autoptr(VmOwnedStmt) check = NULL;

    rc = sqlite3_prepare_v2 (self->db, "PRAGMA foreign_key_check", -1, &check, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_step (check);
    if (rc == SQLITE_ROW)
      {
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION,
                     _("%s: a row of table “%s” refers to a missing row of “%s”"), context,
                     (const char *) sqlite3_column_text (check, 0),
                     (const char *) sqlite3_column_text (check, 2));
        g_clear_pointer (&check, _vm_owned_stmt_free);
        rollback_now (self);
        return FALSE;
      }
    if (rc != SQLITE_DONE)
      {
        g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION, "%s: %s",
                     context, sqlite3_errmsg (self->db));
        g_clear_pointer (&check, _vm_owned_stmt_free);
        rollback_now (self);
        return FALSE;
      }
  }

  set_version = g_strdup_printf ("PRAGMA user_version = %d; PRAGMA application_id = %d",
                                 target, VM_CATALOG_APPLICATION_ID);
  rc = sqlite3_exec (self->db, set_version, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, VM_CATALOG_ERROR,
                   (rc & 0xff) == SQLITE_BUSY ? VM_CATALOG_ERROR_BUSY : VM_CATALOG_ERROR_MIGRATION,
                   "%s: %s", context, sqlite3_errmsg (self->db));
      rollback_now (self);
      return FALSE;
    }

  self->schema_version = target;
  return TRUE;
}

static gboolean
migrate (VmCatalog          *self,
         const char * const *migrations,
         int                 n_migrations,
         GError            **error)
{
  for (int i = 0; i < n_migrations; i++)
    {
      if (self->schema_version >= i + 1)
        continue;
      if (!apply_migration (self, i + 1, n_migrations, migrations[i], error))
        return FALSE;
    }

  return TRUE;
}

/* ---- Opening ----------------------------------------------------------- */

/* Looks at the file before anything is written to it: it must be a SQLite
 * database that is empty or a Vidmark catalog no newer than this program. */
static gboolean
check_existing (VmCatalog  *self,
                int         n_migrations,
                GError    **error)
{
  g_autoptr(VmOwnedStmt) stmt = NULL;
  gint64 version = 0, application_id = 0, n_objects = 0;
  int rc;

  /* One statement, so that the three values come from one snapshot even
   * while another connection is creating the catalog. */
  rc = sqlite3_prepare_v2 (self->db,
                           "SELECT (SELECT user_version FROM pragma_user_version), "
                           "(SELECT application_id FROM pragma_application_id), "
                           "(SELECT count(*) FROM sqlite_master)",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      version = sqlite3_column_int64 (stmt, 0);
      application_id = sqlite3_column_int64 (stmt, 1);
      n_objects = sqlite3_column_int64 (stmt, 2);
      rc = SQLITE_OK;
    }

  if (rc != SQLITE_OK)
    {
      switch (rc & 0xff)
        {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
          return _vm_catalog_set_error (self, rc, _("Cannot open the catalog"), error);
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                       _("“%s” is not a Vidmark catalog: %s"), self->path, sqlite3_errmsg (self->db));
          return FALSE;
        default:
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                       _("Cannot read the catalog “%s”: %s"), self->path, sqlite3_errmsg (self->db));
          return FALSE;
        }
    }

  if (version < 0 ||
      (version > 0 && application_id != VM_CATALOG_APPLICATION_ID) ||
      (version == 0 && n_objects > 0))
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("“%s” is not a Vidmark catalog: it is another program’s database"),
                   self->path);
      return FALSE;
    }

  if (version > n_migrations)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_TOO_NEW,
                   _("The catalog “%s” was written by a newer version of Vidmark "
                     "(schema %d, this program knows %d); update Vidmark to open it"),
                   self->path, (int) version, n_migrations);
      return FALSE;
    }

  self->schema_version = (int) version;
  return TRUE;
}

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Looks at the 100-byte header of an existing file with plain reads, before
 * SQLite opens it: SQLite would create -wal and -shm files beside a catalog in
 * WAL mode even to read it.  (The header may lag behind a WAL that was never
 * checkpointed; check_existing() looks again through SQLite.) */
static gboolean
check_header (VmCatalog  *self,
              int         n_migrations,
              GError    **error)
{
  static const char magic[16] = "SQLite format 3";
  guint8 header[100];
  gsize n_read;
  guint32 version, application_id;
  FILE *file;
  int saved_errno;

  file = g_fopen (self->path, "rb");
  if (file == NULL)
    {
      saved_errno = errno;
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("Cannot open the catalog “%s”: %s"), self->path, g_strerror (saved_errno));
      return FALSE;
    }
  n_read = fread (header, 1, sizeof header, file);
  fclose (file);

  /* An empty file becomes a new catalog. */
  if (n_read == 0)
    return TRUE;

  if (n_read < sizeof header || memcmp (header, magic, sizeof magic) != 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("“%s” is not a Vidmark catalog: it is not an SQLite database"), self->path);
      return FALSE;
    }

  version = read_be32 (header + 60);
  application_id = read_be32 (header + 68);
  /* Both are signed 32-bit numbers for SQLite. */
  if ((gint32) version < 0 || (version > 0 && application_id != VM_CATALOG_APPLICATION_ID))
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("“%s” is not a Vidmark catalog: it is another program’s database"),
                   self->path);
      return FALSE;
    }
  if (version > (guint32) n_migrations)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_TOO_NEW,
                   _("The catalog “%s” was written by a newer version of Vidmark "
                     "(schema %u, this program knows %d); update Vidmark to open it"),
                   self->path, version, n_migrations);
      return FALSE;
    }

  return TRUE;
}

static gboolean
configure_connection (VmCatalog  *self,
                      GError    **error)
{
  const char *context = _("Cannot configure the catalog");

  /* Changing the journal mode needs the file to itself and does not wait
   * for the busy handler: retry while another connection is creating the
   * catalog. */
  if (!self->in_memory)
    {
      gint64 deadline = g_get_monotonic_time () + BUSY_TIMEOUT_MS * G_GINT64_CONSTANT (1000);

      for (;;)
        {
          g_autoptr(VmOwnedStmt) stmt = NULL;
          int rc;

          rc = sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
          if (rc == SQLITE_OK)
            rc = sqlite3_step (stmt);
          if (rc == SQLITE_ROW)
            {
              if (g_ascii_strcasecmp ((const char *) sqlite3_column_text (stmt, 0), "wal") != 0)
                g_debug ("Catalog %s: WAL mode unavailable, journal mode is %s",
                         self->path, sqlite3_column_text (stmt, 0));
              break;
            }
          if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
              g_get_monotonic_time () < deadline)
            {
              g_clear_pointer (&stmt, _vm_owned_stmt_free);
              g_usleep (5000);
              continue;
            }
          return _vm_catalog_set_error (self, rc, context, error);
        }
    }

  return exec_sql (self,
                   "PRAGMA synchronous = NORMAL;"
                   "PRAGMA journal_size_limit = " G_STRINGIFY (JOURNAL_SIZE_LIMIT) ";"
                   "PRAGMA temp_store = MEMORY;"
                   "PRAGMA foreign_keys = OFF;",
                   context, error);
}

static VmCatalog *
open_internal (const char          *path,
               const char * const  *migrations,
               int                  n_migrations,
               GError             **error)
{
  g_autoptr(VmCatalog) self = NULL;
  gint64 fk = 0;
  int rc;

  if (*path == '\0')
    {
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                           _("Cannot open the catalog: no path given"));
      return NULL;
    }

  self = g_object_new (VM_TYPE_CATALOG, NULL);
  self->path = g_strdup (path);
  self->in_memory = strcmp (path, ":memory:") == 0;

  if (!self->in_memory)
    {
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                       _("Cannot open the catalog “%s”: it is a folder"), path);
          return NULL;
        }
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        {
          if (!check_header (self, n_migrations, error))
            return NULL;
        }
      else
        {
          g_autofree char *dir = g_path_get_dirname (path);
          g_autoptr(GError) local_error = NULL;

          if (!vm_paths_ensure_dir (dir, &local_error))
            {
              g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                           _("Cannot create the catalog “%s”: %s"), path, local_error->message);
              return NULL;
            }
        }
    }

  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("Cannot open the catalog “%s”: %s"), path,
                   self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
      return NULL;
    }

  /* Until the file is known to be ours and not too new, nothing may write to
   * it, not even a checkpoint of someone else's WAL on close. */
  sqlite3_db_config (self->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);

  if (!check_existing (self, n_migrations, error))
    return NULL;

  sqlite3_db_config (self->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);

  if (!configure_connection (self, error))
    return NULL;

  if (!migrate (self, migrations, n_migrations, error))
    return NULL;

  if (!exec_sql (self, "PRAGMA foreign_keys = ON", _("Cannot configure the catalog"), error))
    return NULL;
  if (read_int (self->db, "PRAGMA foreign_keys", &fk) != SQLITE_OK || fk != 1)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_OPEN,
                   _("Cannot open the catalog “%s”: this SQLite has no foreign key support"), path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

VmCatalog *
vm_catalog_open (const char  *path,
                 GError     **error)
{
  const BuiltinMigrations *builtin;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  builtin = builtin_migrations ();
  if (builtin->error_message != NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_MIGRATION,
                   _("The catalog schema compiled into this program is broken: %s"),
                   builtin->error_message);
      return NULL;
    }

  return open_internal (path, (const char * const *) builtin->texts->pdata,
                        (int) builtin->texts->len - 1, error);
}

VmCatalog *
vm_catalog_open_with_migrations (const char          *path,
                                 const char * const  *migrations,
                                 GError             **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (migrations != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return open_internal (path, migrations, (int) g_strv_length ((char **) migrations), error);
}

const char *
vm_catalog_get_path (VmCatalog *self)
{
  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);

  return self->path;
}

void
vm_catalog_set_busy_timeout (VmCatalog *self,
                             guint      timeout_ms)
{
  g_return_if_fail (VM_IS_CATALOG (self));

  sqlite3_busy_timeout (self->db, (int) MIN (timeout_ms, (guint) G_MAXINT));
}

int
vm_catalog_get_schema_version (VmCatalog *self)
{
  g_return_val_if_fail (VM_IS_CATALOG (self), 0);

  return self->schema_version;
}

/* ---- Transactions ------------------------------------------------------ */

gboolean
vm_catalog_begin (VmCatalog  *self,
                  GError    **error)
{
  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);

  if (self->tx_depth == 0)
    {
      if (!exec_sql (self, "BEGIN IMMEDIATE", _("Cannot start a catalog transaction"), error))
        return FALSE;
      self->tx_failed = FALSE;
    }

  self->tx_depth++;
  return TRUE;
}

gboolean
vm_catalog_commit (VmCatalog  *self,
                   GError    **error)
{
  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (self->tx_depth > 0, FALSE);

  if (--self->tx_depth > 0)
    return TRUE;

  /* autocommit here means SQLite already rolled back (e.g. disk full). */
  if (self->tx_failed || sqlite3_get_autocommit (self->db))
    {
      rollback_now (self);
      self->tx_failed = FALSE;
      g_set_error_literal (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_SQL,
                           _("The catalog transaction was rolled back after an earlier error"));
      return FALSE;
    }

  if (!exec_sql (self, "COMMIT", _("Cannot save changes to the catalog"), error))
    {
      rollback_now (self);
      return FALSE;
    }

  return TRUE;
}

void
vm_catalog_rollback (VmCatalog *self)
{
  g_return_if_fail (VM_IS_CATALOG (self));

  /* A failed commit has already ended the transaction; the usual
   * "if (!a || !b || !commit) rollback" must not trip over it. */
  if (self->tx_depth == 0)
    return;

  if (--self->tx_depth > 0)
    {
      self->tx_failed = TRUE;
      return;
    }

  rollback_now (self);
  self->tx_failed = FALSE;
}

/* ---- Folders ----------------------------------------------------------- */

void
vm_folder_free (VmFolder *folder)
{
  if (folder == NULL)
    return;

  g_free (folder->path);
  g_free (folder);
}

/* Absolute, without "." and ".." parts, doubled or trailing slashes. */
static char *
canonical_path (const char  *path,
                GError     **error)
{
  if (path == NULL || *path == '\0' || !g_path_is_absolute (path))
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("“%s” is not an absolute path"), path != NULL ? path : "");
      return NULL;
    }

  return g_canonicalize_filename (path, NULL);
}

static gboolean
lookup_folder (VmCatalog   *self,
               const char  *path,
               gint64      *out_id,
               GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  stmt = _vm_catalog_prepare (self, "SELECT id FROM folders WHERE path = ?1", error);
  if (stmt == NULL)
    return FALSE;
  _vm_bind_text (stmt, 1, path);

  return _vm_catalog_query_int64 (self, stmt, out_id, _("Cannot look up a library folder"), error);
}

gboolean
vm_catalog_add_folder (VmCatalog   *self,
                       const char  *path,
                       gint64      *out_id,
                       GError     **error)
{
  g_autofree char *canonical = NULL;
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  canonical = canonical_path (path, error);
  if (canonical == NULL)
    return FALSE;

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self,
                                "INSERT INTO folders (path, added_at) VALUES (?1, ?2) "
                                "ON CONFLICT (path) DO NOTHING",
                                error);
    if (stmt == NULL)
      return FALSE;
    _vm_bind_text (stmt, 1, canonical);
    sqlite3_bind_int64 (stmt, 2, g_get_real_time () / G_USEC_PER_SEC);
    if (!_vm_catalog_step_done (self, stmt, _("Cannot add a library folder"), error))
      return FALSE;
  }

  if (!lookup_folder (self, canonical, &id, error))
    return FALSE;

  if (out_id != NULL)
    *out_id = id;
  return TRUE;
}

gboolean
vm_catalog_remove_folder (VmCatalog   *self,
                          const char  *path,
                          GError     **error)
{
  static const char * const steps[] = {
    "DELETE FROM frames WHERE video_id IN (SELECT id FROM videos WHERE folder_id = ?1)",
    "DELETE FROM embeddings WHERE video_id IN (SELECT id FROM videos WHERE folder_id = ?1)",
    "DELETE FROM text_segments WHERE video_id IN (SELECT id FROM videos WHERE folder_id = ?1)",
    "UPDATE videos SET status = 'missing', folder_id = NULL, n_frames = 0, indexed_at = 0 "
    "WHERE folder_id = ?1 AND id IN (SELECT video_id FROM annotations)",
    "DELETE FROM videos WHERE folder_id = ?1",
    "DELETE FROM folders WHERE id = ?1",
  };
  g_autofree char *canonical = NULL;
  gint64 id = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  canonical = canonical_path (path, error);
  if (canonical == NULL)
    return FALSE;

  if (!vm_catalog_begin (self, error))
    return FALSE;

  if (!lookup_folder (self, canonical, &id, error))
    goto fail;
  if (id == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("“%s” is not a library folder"), canonical);
      goto fail;
    }

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autoptr(VmCachedStmt) stmt = _vm_catalog_prepare (self, steps[i], error);

      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, id);
      if (!_vm_catalog_step_done (self, stmt, _("Cannot remove a library folder"), error))
        goto fail;
    }

  return vm_catalog_commit (self, error);

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

GPtrArray *
vm_catalog_list_folders (VmCatalog  *self,
                         GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self, "SELECT id, path, added_at FROM folders ORDER BY path", error);
  if (stmt == NULL)
    return NULL;

  folders = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_folder_free);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      VmFolder *folder = g_new0 (VmFolder, 1);

      folder->id = sqlite3_column_int64 (stmt, 0);
      folder->path = _vm_column_strdup (stmt, 1);
      folder->added_at = sqlite3_column_int64 (stmt, 2);
      g_ptr_array_add (folders, folder);
    }
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot list library folders"), error);
      return NULL;
    }

  return g_steal_pointer (&folders);
}

/* ---- Videos ------------------------------------------------------------ */

static const char * const video_status_names[] = {
  [VM_VIDEO_STATUS_NEW] = "new",
  [VM_VIDEO_STATUS_PROBED] = "probed",
  [VM_VIDEO_STATUS_INDEXED] = "indexed",
  [VM_VIDEO_STATUS_ERROR] = "error",
  [VM_VIDEO_STATUS_MISSING] = "missing",
};

const char *
vm_video_status_to_string (VmVideoStatus status)
{
  if ((guint) status < G_N_ELEMENTS (video_status_names))
    return video_status_names[status];

  return NULL;
}

gboolean
vm_video_status_from_string (const char    *text,
                             VmVideoStatus *out_status)
{
  if (text == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (video_status_names); i++)
    if (strcmp (text, video_status_names[i]) == 0)
      {
        if (out_status != NULL)
          *out_status = (VmVideoStatus) i;
        return TRUE;
      }

  return FALSE;
}

VmVideo *
vm_video_new (void)
{
  VmVideo *video = g_new0 (VmVideo, 1);

  video->duration_ns = -1;
  video->fps_num = 0;
  video->fps_den = 1;
  video->status = VM_VIDEO_STATUS_NEW;

  return video;
}

VmVideo *
vm_video_copy (const VmVideo *video)
{
  VmVideo *copy;

  if (video == NULL)
    return NULL;

  copy = g_memdup2 (video, sizeof *video);
  copy->path = g_strdup (video->path);
  copy->fingerprint = g_strdup (video->fingerprint);
  copy->container = g_strdup (video->container);
  copy->video_codec = g_strdup (video->video_codec);
  copy->audio_codec = g_strdup (video->audio_codec);
  copy->error_message = g_strdup (video->error_message);

  return copy;
}

void
vm_video_free (VmVideo *video)
{
  if (video == NULL)
    return;

  g_free (video->path);
  g_free (video->fingerprint);
  g_free (video->container);
  g_free (video->video_codec);
  g_free (video->audio_codec);
  g_free (video->error_message);
  g_free (video);
}

#define VIDEO_COLUMNS \
  "id, folder_id, path, size, mtime_us, fingerprint, duration_ns, width, height, " \
  "fps_num, fps_den, container, video_codec, audio_codec, has_audio, status, " \
  "error_message, indexed_at, added_at, n_frames"

static VmVideo *
video_from_row (sqlite3_stmt *stmt)
{
  VmVideo *video = g_new0 (VmVideo, 1);

  video->id = sqlite3_column_int64 (stmt, 0);
  video->folder_id = sqlite3_column_int64 (stmt, 1);
  video->path = _vm_column_strdup (stmt, 2);
  video->size = sqlite3_column_int64 (stmt, 3);
  video->mtime_us = sqlite3_column_int64 (stmt, 4);
  video->fingerprint = _vm_column_strdup (stmt, 5);
  video->duration_ns = sqlite3_column_int64 (stmt, 6);
  video->width = sqlite3_column_int (stmt, 7);
  video->height = sqlite3_column_int (stmt, 8);
  video->fps_num = sqlite3_column_int (stmt, 9);
  video->fps_den = sqlite3_column_int (stmt, 10);
  video->container = _vm_column_strdup (stmt, 11);
  video->video_codec = _vm_column_strdup (stmt, 12);
  video->audio_codec = _vm_column_strdup (stmt, 13);
  video->has_audio = sqlite3_column_int (stmt, 14) != 0;
  if (!vm_video_status_from_string ((const char *) sqlite3_column_text (stmt, 15), &video->status))
    video->status = VM_VIDEO_STATUS_NEW;
  video->error_message = _vm_column_strdup (stmt, 16);
  video->indexed_at = sqlite3_column_int64 (stmt, 17);
  video->added_at = sqlite3_column_int64 (stmt, 18);
  video->n_frames = (guint) sqlite3_column_int64 (stmt, 19);

  return video;
}

/* Collects every row of @stmt as VmVideo; NULL on error. */
static GPtrArray *
collect_videos (VmCatalog     *self,
                sqlite3_stmt  *stmt,
                GError       **error)
{
  g_autoptr(GPtrArray) videos = g_ptr_array_new_with_free_func ((GDestroyNotify) vm_video_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (videos, video_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read videos from the catalog"), error);
      return NULL;
    }

  return g_steal_pointer (&videos);
}

gboolean
vm_catalog_save_video (VmCatalog   *self,
                       VmVideo     *video,
                       GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *context = NULL;
  const char *status;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (video != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  canonical = canonical_path (video->path, error);
  if (canonical == NULL)
    return FALSE;
  status = vm_video_status_to_string (video->status);
  if (status == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid status %d for the video “%s”"), (int) video->status, canonical);
      return FALSE;
    }
  if (video->id < 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid video id %" PRId64), video->id);
      return FALSE;
    }

  if (video->id == 0)
    stmt = _vm_catalog_prepare (self,
                                "INSERT INTO videos (folder_id, path, size, mtime_us, fingerprint, "
                                "duration_ns, width, height, fps_num, fps_den, container, "
                                "video_codec, audio_codec, has_audio, status, error_message, "
                                "indexed_at, added_at) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                "?14, ?15, ?16, ?17, ?18)",
                                error);
  else
    stmt = _vm_catalog_prepare (self,
                                "UPDATE videos SET folder_id = ?1, path = ?2, size = ?3, "
                                "mtime_us = ?4, fingerprint = ?5, duration_ns = ?6, width = ?7, "
                                "height = ?8, fps_num = ?9, fps_den = ?10, container = ?11, "
                                "video_codec = ?12, audio_codec = ?13, has_audio = ?14, "
                                "status = ?15, error_message = ?16, indexed_at = ?17, "
                                "added_at = CASE WHEN ?18 = 0 THEN added_at ELSE ?18 END "
                                "WHERE id = ?19",
                                error);
  if (stmt == NULL)
    return FALSE;

  if (video->id == 0 && video->added_at == 0)
    video->added_at = g_get_real_time () / G_USEC_PER_SEC;

  _vm_bind_id (stmt, 1, video->folder_id);
  _vm_bind_text (stmt, 2, canonical);
  sqlite3_bind_int64 (stmt, 3, video->size);
  sqlite3_bind_int64 (stmt, 4, video->mtime_us);
  _vm_bind_text (stmt, 5, video->fingerprint);
  sqlite3_bind_int64 (stmt, 6, video->duration_ns);
  sqlite3_bind_int (stmt, 7, video->width);
  sqlite3_bind_int (stmt, 8, video->height);
  sqlite3_bind_int (stmt, 9, video->fps_num);
  sqlite3_bind_int (stmt, 10, video->fps_den);
  _vm_bind_text (stmt, 11, video->container);
  _vm_bind_text (stmt, 12, video->video_codec);
  _vm_bind_text (stmt, 13, video->audio_codec);
  sqlite3_bind_int (stmt, 14, video->has_audio ? 1 : 0);
  _vm_bind_text (stmt, 15, status);
  _vm_bind_text (stmt, 16, video->error_message);
  sqlite3_bind_int64 (stmt, 17, video->indexed_at);
  sqlite3_bind_int64 (stmt, 18, video->added_at);
  if (video->id != 0)
    sqlite3_bind_int64 (stmt, 19, video->id);

  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE)
    {
      context = g_strdup_printf (_("Cannot save the video “%s”"), canonical);
      return _vm_catalog_set_error (self, rc, context, error);
    }

  if (video->id == 0)
    {
      video->id = sqlite3_last_insert_rowid (self->db);
    }
  else if (sqlite3_changes (self->db) > 0 && video->added_at == 0)
    {
      g_autoptr(VmCachedStmt) added = NULL;

      g_clear_pointer (&stmt, _vm_cached_stmt_release);
      added = _vm_catalog_prepare (self, "SELECT added_at FROM videos WHERE id = ?1", error);
      if (added == NULL)
        return FALSE;
      sqlite3_bind_int64 (added, 1, video->id);
      if (!_vm_catalog_query_int64 (self, added, &video->added_at,
                                    _("Cannot read a video from the catalog"), error))
        return FALSE;
    }
  else if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No video with id %" PRId64 " in the catalog"), video->id);
      return FALSE;
    }

  if (strcmp (canonical, video->path) != 0)
    {
      g_free (video->path);
      video->path = g_steal_pointer (&canonical);
    }

  return TRUE;
}

VmVideo *
vm_catalog_get_video (VmCatalog  *self,
                      gint64      id,
                      GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self, "SELECT " VIDEO_COLUMNS " FROM videos WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return video_from_row (stmt);
  if (rc != SQLITE_DONE)
    {
      _vm_catalog_set_error (self, rc, _("Cannot read a video from the catalog"), error);
      return NULL;
    }

  g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
               _("No video with id %" PRId64 " in the catalog"), id);
  return NULL;
}

VmVideo *
vm_catalog_find_video_by_path (VmCatalog   *self,
                               const char  *path,
                               GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  g_autofree char *canonical = NULL;
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Stored paths are canonical; a relative path matches nothing. */
  if (!g_path_is_absolute (path))
    return NULL;
  canonical = g_canonicalize_filename (path, NULL);

  stmt = _vm_catalog_prepare (self, "SELECT " VIDEO_COLUMNS " FROM videos WHERE path = ?1", error);
  if (stmt == NULL)
    return NULL;
  _vm_bind_text (stmt, 1, canonical);

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return video_from_row (stmt);
  if (rc != SQLITE_DONE)
    _vm_catalog_set_error (self, rc, _("Cannot read a video from the catalog"), error);

  return NULL;
}

GPtrArray *
vm_catalog_find_videos_by_fingerprint (VmCatalog   *self,
                                       const char  *fingerprint,
                                       GError     **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (fingerprint != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  stmt = _vm_catalog_prepare (self,
                              "SELECT " VIDEO_COLUMNS " FROM videos WHERE fingerprint = ?1 "
                              "ORDER BY path",
                              error);
  if (stmt == NULL)
    return NULL;
  _vm_bind_text (stmt, 1, fingerprint);

  return collect_videos (self, stmt, error);
}

GPtrArray *
vm_catalog_list_videos (VmCatalog  *self,
                        gint64      folder_id,
                        GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;

  g_return_val_if_fail (VM_IS_CATALOG (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (folder_id == 0)
    stmt = _vm_catalog_prepare (self, "SELECT " VIDEO_COLUMNS " FROM videos ORDER BY path", error);
  else
    stmt = _vm_catalog_prepare (self,
                                "SELECT " VIDEO_COLUMNS " FROM videos WHERE folder_id = ?1 "
                                "ORDER BY path",
                                error);
  if (stmt == NULL)
    return NULL;
  if (folder_id != 0)
    sqlite3_bind_int64 (stmt, 1, folder_id);

  return collect_videos (self, stmt, error);
}

gboolean
vm_catalog_set_video_status (VmCatalog      *self,
                             gint64          video_id,
                             VmVideoStatus   status,
                             const char     *error_message,
                             GError        **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  const char *name;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  name = vm_video_status_to_string (status);
  if (name == NULL)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   _("Invalid video status %d"), (int) status);
      return FALSE;
    }

  /* Becoming indexed stamps indexed_at. */
  stmt = _vm_catalog_prepare (self,
                              "UPDATE videos SET status = ?2, error_message = ?3, "
                              "indexed_at = CASE WHEN ?2 = 'indexed' THEN ?4 ELSE indexed_at END "
                              "WHERE id = ?1",
                              error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  _vm_bind_text (stmt, 2, name);
  _vm_bind_text (stmt, 3, error_message);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time () / G_USEC_PER_SEC);

  if (!_vm_catalog_step_done (self, stmt, _("Cannot change the status of a video"), error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No video with id %" PRId64 " in the catalog"), video_id);
      return FALSE;
    }

  return TRUE;
}

gboolean
_vm_catalog_video_exists (VmCatalog  *self,
                          gint64      video_id,
                          GError    **error)
{
  g_autoptr(VmCachedStmt) stmt = NULL;
  gint64 found = 0;

  stmt = _vm_catalog_prepare (self, "SELECT 1 FROM videos WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, video_id);
  if (!_vm_catalog_query_int64 (self, stmt, &found, _("Cannot read a video from the catalog"), error))
    return FALSE;
  if (!found)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_NOT_FOUND,
                   _("No video with id %" PRId64 " in the catalog"), video_id);
      return FALSE;
    }

  return TRUE;
}

gboolean
vm_catalog_delete_video (VmCatalog  *self,
                         gint64      video_id,
                         GError    **error)
{
  gint64 n_annotations = 0;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!vm_catalog_begin (self, error))
    return FALSE;

  if (!_vm_catalog_video_exists (self, video_id, error))
    goto fail;

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "SELECT count(*) FROM annotations WHERE video_id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, video_id);
    if (!_vm_catalog_query_int64 (self, stmt, &n_annotations, _("Cannot count annotations"), error))
      goto fail;
  }

  if (n_annotations > 0)
    {
      g_set_error (error, VM_CATALOG_ERROR, VM_CATALOG_ERROR_INVALID,
                   g_dngettext (GETTEXT_PACKAGE,
                                "The video has %" PRId64 " annotation; delete it first",
                                "The video has %" PRId64 " annotations; delete them first",
                                (gulong) n_annotations),
                   n_annotations);
      goto fail;
    }

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "DELETE FROM videos WHERE id = ?1", error);
    if (stmt == NULL)
      goto fail;
    sqlite3_bind_int64 (stmt, 1, video_id);
    if (!_vm_catalog_step_done (self, stmt, _("Cannot delete a video"), error))
      goto fail;
  }

  return vm_catalog_commit (self, error);

fail:
  vm_catalog_rollback (self);
  return FALSE;
}

/* ---- Statistics -------------------------------------------------------- */

static gint64
file_size_or_zero (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;

  return (gint64) st.st_size;
}

gboolean
vm_catalog_get_stats (VmCatalog       *self,
                      VmCatalogStats  *out_stats,
                      GError         **error)
{
  const char *context = _("Cannot read catalog statistics");
  VmCatalogStats stats = { 0, };
  int rc;

  g_return_val_if_fail (VM_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (out_stats != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self,
                                "SELECT (SELECT count(*) FROM folders), "
                                "(SELECT count(*) FROM videos), "
                                "(SELECT coalesce(sum(n_frames), 0) FROM videos), "
                                "(SELECT coalesce(sum(n_frames), 0) FROM embeddings), "
                                "(SELECT count(*) FROM text_segments), "
                                "(SELECT count(*) FROM annotations), "
                                "(SELECT coalesce(sum(duration_ns), 0) FROM videos "
                                "WHERE duration_ns > 0)",
                                error);
    if (stmt == NULL)
      return FALSE;
    rc = sqlite3_step (stmt);
    if (rc != SQLITE_ROW)
      return _vm_catalog_set_error (self, rc, context, error);

    stats.n_folders = (guint) sqlite3_column_int64 (stmt, 0);
    stats.n_videos = (guint) sqlite3_column_int64 (stmt, 1);
    stats.n_frames = (guint64) sqlite3_column_int64 (stmt, 2);
    stats.n_embeddings = (guint64) sqlite3_column_int64 (stmt, 3);
    stats.n_text_segments = (guint64) sqlite3_column_int64 (stmt, 4);
    stats.n_annotations = (guint64) sqlite3_column_int64 (stmt, 5);
    stats.total_duration_ns = sqlite3_column_int64 (stmt, 6);
  }

  {
    g_autoptr(VmCachedStmt) stmt = NULL;

    stmt = _vm_catalog_prepare (self, "SELECT status, count(*) FROM videos GROUP BY status", error);
    if (stmt == NULL)
      return FALSE;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        VmVideoStatus status;

        if (vm_video_status_from_string ((const char *) sqlite3_column_text (stmt, 0), &status))
          stats.n_by_status[status] = (guint) sqlite3_column_int64 (stmt, 1);
      }
    if (rc != SQLITE_DONE)
      return _vm_catalog_set_error (self, rc, context, error);
  }

  if (self->in_memory)
    {
      gint64 page_count = 0, page_size = 0;

      rc = read_int (self->db, "PRAGMA page_count", &page_count);
      if (rc == SQLITE_OK)
        rc = read_int (self->db, "PRAGMA page_size", &page_size);
      if (rc != SQLITE_OK)
        return _vm_catalog_set_error (self, rc, context, error);
      stats.file_size = page_count * page_size;
    }
  else
    {
      g_autofree char *wal = g_strconcat (self->path, "-wal", NULL);

      stats.file_size = file_size_or_zero (self->path) + file_size_or_zero (wal);
    }

  *out_stats = stats;
  return TRUE;
}
