/* vm-catalog-private.h — shared between the vm-catalog*.c files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <sqlite3.h>

#include "catalog/vm-catalog.h"

G_BEGIN_DECLS

/* A statement from the connection's cache: g_autoptr() resets it and clears
 * its bindings on every return path; the cache finalizes it. */
typedef sqlite3_stmt VmCachedStmt;

void          _vm_cached_stmt_release (VmCachedStmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmCachedStmt, _vm_cached_stmt_release)

/* A statement owned by its user: g_autoptr() finalizes it. */
typedef sqlite3_stmt VmOwnedStmt;

void          _vm_owned_stmt_free     (VmOwnedStmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VmOwnedStmt, _vm_owned_stmt_free)

sqlite3      *_vm_catalog_get_db      (VmCatalog   *self);

/* Returns the cached prepared statement for @sql (a string literal is
 * expected; it is copied as the key). */
VmCachedStmt *_vm_catalog_prepare     (VmCatalog   *self,
                                       const char  *sql,
                                       GError     **error);

/* Sets @error from SQLite's last error on the connection, with @context
 * ("Cannot save the video") in front.  SQLITE_BUSY/LOCKED give
 * VM_CATALOG_ERROR_BUSY, constraint failures VM_CATALOG_ERROR_INVALID,
 * everything else VM_CATALOG_ERROR_SQL.  Always returns FALSE. */
gboolean      _vm_catalog_set_error   (VmCatalog   *self,
                                       int          rc,
                                       const char  *context,
                                       GError     **error);

/* Steps @stmt expecting SQLITE_DONE (a statement without rows). */
gboolean      _vm_catalog_step_done   (VmCatalog    *self,
                                       sqlite3_stmt *stmt,
                                       const char   *context,
                                       GError      **error);

/* Runs a statement that returns one integer (0 when it returns no row). */
gboolean      _vm_catalog_query_int64 (VmCatalog    *self,
                                       sqlite3_stmt *stmt,
                                       gint64       *out_value,
                                       const char   *context,
                                       GError      **error);

/* Binds a string, or NULL. */
void          _vm_bind_text           (sqlite3_stmt *stmt,
                                       int           index,
                                       const char   *text);
/* Binds an id, 0 as NULL. */
void          _vm_bind_id             (sqlite3_stmt *stmt,
                                       int           index,
                                       gint64        id);
char         *_vm_column_strdup       (sqlite3_stmt *stmt,
                                       int           column);

gboolean      _vm_catalog_video_exists (VmCatalog  *self,
                                        gint64      video_id,
                                        GError    **error);

G_END_DECLS
