/* vm-library.c — the library sidebar's model.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>

#include "core/vm-util.h"
#include "widgets/vm-library.h"

struct _VmLibraryItem
{
  GObject            parent_instance;

  VmLibraryItemKind  kind;
  char              *title;
  char              *subtitle;
  char              *path;
  char              *fingerprint;
  gint64             video_id;
  gint64             duration;
  VmVideoStatus      status;
};

G_DEFINE_FINAL_TYPE (VmLibraryItem, vm_library_item, G_TYPE_OBJECT)

static void
vm_library_item_finalize (GObject *object)
{
  VmLibraryItem *self = VM_LIBRARY_ITEM (object);

  g_free (self->title);
  g_free (self->subtitle);
  g_free (self->path);
  g_free (self->fingerprint);

  G_OBJECT_CLASS (vm_library_item_parent_class)->finalize (object);
}

static void
vm_library_item_class_init (VmLibraryItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = vm_library_item_finalize;
}

static void
vm_library_item_init (VmLibraryItem *self)
{
}

static VmLibraryItem *
folder_item (const char *title,
             const char *path)
{
  VmLibraryItem *item = g_object_new (VM_TYPE_LIBRARY_ITEM, NULL);

  item->kind = VM_LIBRARY_ITEM_FOLDER;
  item->title = g_strdup (title);
  item->path = g_strdup (path);
  item->subtitle = g_strdup (path);
  return item;
}

static VmLibraryItem *
video_item (const VmVideo *video)
{
  VmLibraryItem *item = g_object_new (VM_TYPE_LIBRARY_ITEM, NULL);

  item->kind = VM_LIBRARY_ITEM_VIDEO;
  item->title = g_path_get_basename (video->path);
  item->path = g_strdup (video->path);
  item->fingerprint = g_strdup (video->fingerprint);
  item->video_id = video->id;
  item->duration = video->duration_ns;
  item->status = video->status;
  if (video->status == VM_VIDEO_STATUS_ERROR && video->error_message != NULL)
    item->subtitle = g_strdup (video->error_message);
  else if (video->duration_ns > 0)
    item->subtitle = vm_format_duration (video->duration_ns / 1e9);
  else
    item->subtitle = g_strdup ("");
  return item;
}

VmLibraryItemKind
vm_library_item_get_kind (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), 0);
  return self->kind;
}

const char *
vm_library_item_get_title (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), NULL);
  return self->title;
}

const char *
vm_library_item_get_subtitle (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), NULL);
  return self->subtitle;
}

gboolean
vm_library_item_equal (VmLibraryItem *a,
                       VmLibraryItem *b)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (a) && VM_IS_LIBRARY_ITEM (b), FALSE);

  return a->kind == b->kind && a->video_id == b->video_id && a->duration == b->duration &&
         a->status == b->status && g_strcmp0 (a->path, b->path) == 0 &&
         g_strcmp0 (a->title, b->title) == 0 && g_strcmp0 (a->subtitle, b->subtitle) == 0 &&
         g_strcmp0 (a->fingerprint, b->fingerprint) == 0;
}

const char *
vm_library_item_get_path (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), NULL);
  return self->path;
}

const char *
vm_library_item_get_fingerprint (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), NULL);
  return self->fingerprint;
}

gint64
vm_library_item_get_video_id (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), 0);
  return self->video_id;
}

gint64
vm_library_item_get_duration (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), -1);
  return self->duration;
}

VmVideoStatus
vm_library_item_get_status (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), 0);
  return self->status;
}

const char *
vm_library_item_get_status_icon (VmLibraryItem *self)
{
  g_return_val_if_fail (VM_IS_LIBRARY_ITEM (self), NULL);

  if (self->kind == VM_LIBRARY_ITEM_FOLDER)
    return "folder-symbolic";
  switch (self->status)
    {
    case VM_VIDEO_STATUS_INDEXED:
      return "emblem-ok-symbolic";
    case VM_VIDEO_STATUS_ERROR:
      return "dialog-warning-symbolic";
    case VM_VIDEO_STATUS_MISSING:
      return "action-unavailable-symbolic";
    case VM_VIDEO_STATUS_NEW:
    case VM_VIDEO_STATUS_PROBED:
    default:
      return "content-loading-symbolic";
    }
}

GPtrArray *
vm_library_load (VmCatalog  *catalog,
                 GError    **error)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GPtrArray) videos = NULL;
  g_autoptr(GHashTable) by_folder = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                                            (GDestroyNotify) g_ptr_array_unref);
  GPtrArray *orphans;

  folders = vm_catalog_list_folders (catalog, error);
  if (folders == NULL)
    return NULL;
  videos = vm_catalog_list_videos (catalog, 0, error);
  if (videos == NULL)
    return NULL;

  for (guint i = 0; i < videos->len; i++)
    {
      VmVideo *v = g_ptr_array_index (videos, i);
      GPtrArray *list = g_hash_table_lookup (by_folder, &v->folder_id);

      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (by_folder, &v->folder_id, list);
        }
      g_ptr_array_add (list, v);
    }

  for (guint i = 0; i < folders->len; i++)
    {
      VmFolder *f = g_ptr_array_index (folders, i);
      g_autofree char *name = g_path_get_basename (f->path);
      GPtrArray *list = g_hash_table_lookup (by_folder, &f->id);

      g_ptr_array_add (items, folder_item (name, f->path));
      for (guint j = 0; list != NULL && j < list->len; j++)
        g_ptr_array_add (items, video_item (g_ptr_array_index (list, j)));
      g_hash_table_remove (by_folder, &f->id);
    }

  /* Videos whose folder is gone (kept for their annotations). */
  {
    GHashTableIter iter;
    gpointer value;
    gboolean header = FALSE;

    g_hash_table_iter_init (&iter, by_folder);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      {
        orphans = value;
        if (!header)
          {
            g_ptr_array_add (items, folder_item (_("Other Videos"), NULL));
            header = TRUE;
          }
        for (guint j = 0; j < orphans->len; j++)
          g_ptr_array_add (items, video_item (g_ptr_array_index (orphans, j)));
      }
  }

  return g_steal_pointer (&items);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  g_autoptr(VmCatalog) catalog = NULL;
  GError *error = NULL;
  GPtrArray *items;

  catalog = vm_catalog_open (task_data, &error);
  if (catalog == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  items = vm_library_load (catalog, &error);
  if (items == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, items, (GDestroyNotify) g_ptr_array_unref);
}

void
vm_library_load_async (const char          *catalog_path,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, vm_library_load_async);
  g_task_set_task_data (task, g_strdup (catalog_path), g_free);
  g_task_run_in_thread (task, load_thread);
}

GPtrArray *
vm_library_load_finish (GAsyncResult  *result,
                        GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
