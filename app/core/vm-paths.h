/* vm-paths.h — where Vidmark keeps its files (see docs/ARCHITECTURE.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* $XDG_DATA_HOME/vidmark */
char *vm_paths_data_dir       (void);
/* $XDG_CACHE_HOME/vidmark */
char *vm_paths_cache_dir      (void);
/* $VIDMARK_CATALOG, else $XDG_DATA_HOME/vidmark/catalog.sqlite */
char *vm_paths_default_catalog (void);
/* $XDG_DATA_HOME/vidmark/models */
char *vm_paths_models_dir     (void);
/* $XDG_DATA_HOME/vidmark/demo */
char *vm_paths_demo_dir       (void);
/* $XDG_CACHE_HOME/vidmark/thumbnails */
char *vm_paths_thumbnail_dir  (void);

/* Creates @path and its parents with mode 0700 where missing. */
gboolean vm_paths_ensure_dir  (const char  *path,
                               GError     **error);

G_END_DECLS
