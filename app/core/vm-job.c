/* vm-job.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "core/vm-job.h"

struct _VmJob
{
  GObject       parent_instance;

  GMutex        lock;
  char         *title;
  char         *message;
  double        fraction;
  gint64        started_at;     /* monotonic µs when fraction first moved */
  double        started_fraction;
  GCancellable *cancellable;
  GMainContext *context;
  guint         pending_notify; /* bitmask of PROP_* awaiting notification */
  gboolean      notify_queued;
};

enum {
  PROP_0,
  PROP_TITLE,
  PROP_MESSAGE,
  PROP_FRACTION,
  PROP_CANCELLED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (VmJob, vm_job, G_TYPE_OBJECT)

static gboolean
vm_job_notify_idle_cb (gpointer user_data)
{
  VmJob *self = user_data;
  guint pending;

  g_mutex_lock (&self->lock);
  pending = self->pending_notify;
  self->pending_notify = 0;
  self->notify_queued = FALSE;
  g_mutex_unlock (&self->lock);

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 1; i < N_PROPS; i++)
    if (pending & (1u << i))
      g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* Called with the lock held. */
static void
vm_job_queue_notify_locked (VmJob *self,
                            guint  prop_id)
{
  self->pending_notify |= 1u << prop_id;

  if (!self->notify_queued)
    {
      GSource *source = g_idle_source_new ();

      self->notify_queued = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
      g_source_set_callback (source, vm_job_notify_idle_cb,
                             g_object_ref (self), g_object_unref);
      g_source_set_static_name (source, "[vidmark] job notify");
      g_source_attach (source, self->context);
      g_source_unref (source);
    }
}

static void
vm_job_cancelled_cb (GCancellable *cancellable,
                     VmJob        *self)
{
  g_mutex_lock (&self->lock);
  vm_job_queue_notify_locked (self, PROP_CANCELLED);
  g_mutex_unlock (&self->lock);
}

static void
vm_job_finalize (GObject *object)
{
  VmJob *self = (VmJob *) object;

  g_cancellable_disconnect (self->cancellable, 0);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->message, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (vm_job_parent_class)->finalize (object);
}

static void
vm_job_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  VmJob *self = VM_JOB (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_MESSAGE:
      g_value_take_string (value, vm_job_dup_message (self));
      break;
    case PROP_FRACTION:
      g_value_set_double (value, vm_job_get_fraction (self));
      break;
    case PROP_CANCELLED:
      g_value_set_boolean (value, vm_job_is_cancelled (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_job_set_property (GObject      *object,
                     guint         prop_id,
                     const GValue *value,
                     GParamSpec   *pspec)
{
  VmJob *self = VM_JOB (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_free (self->title);
      self->title = g_value_dup_string (value);
      break;
    case PROP_MESSAGE:
      vm_job_set_message (self, g_value_get_string (value));
      break;
    case PROP_FRACTION:
      vm_job_set_fraction (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_job_class_init (VmJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = vm_job_finalize;
  object_class->get_property = vm_job_get_property;
  object_class->set_property = vm_job_set_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, 0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CANCELLED] =
    g_param_spec_boolean ("cancelled", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vm_job_init (VmJob *self)
{
  g_mutex_init (&self->lock);
  self->cancellable = g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
  self->started_at = -1;
  g_cancellable_connect (self->cancellable, G_CALLBACK (vm_job_cancelled_cb), self, NULL);
}

VmJob *
vm_job_new (const char *title)
{
  return g_object_new (VM_TYPE_JOB, "title", title, NULL);
}

const char *
vm_job_get_title (VmJob *self)
{
  g_return_val_if_fail (VM_IS_JOB (self), NULL);
  return self->title;
}

char *
vm_job_dup_message (VmJob *self)
{
  char *ret;

  g_return_val_if_fail (VM_IS_JOB (self), NULL);

  g_mutex_lock (&self->lock);
  ret = g_strdup (self->message);
  g_mutex_unlock (&self->lock);

  return ret;
}

double
vm_job_get_fraction (VmJob *self)
{
  double ret;

  g_return_val_if_fail (VM_IS_JOB (self), 0);

  g_mutex_lock (&self->lock);
  ret = self->fraction;
  g_mutex_unlock (&self->lock);

  return ret;
}

double
vm_job_get_eta (VmJob *self)
{
  double ret = -1;

  g_return_val_if_fail (VM_IS_JOB (self), -1);

  g_mutex_lock (&self->lock);
  if (self->started_at >= 0 && self->fraction > self->started_fraction)
    {
      double elapsed = (g_get_monotonic_time () - self->started_at) / (double) G_USEC_PER_SEC;
      double done = self->fraction - self->started_fraction;

      if (elapsed >= 1.0 && done >= 0.001)
        ret = elapsed * (1.0 - self->fraction) / done;
    }
  g_mutex_unlock (&self->lock);

  return ret;
}

GCancellable *
vm_job_get_cancellable (VmJob *self)
{
  g_return_val_if_fail (VM_IS_JOB (self), NULL);
  return self->cancellable;
}

gboolean
vm_job_is_cancelled (VmJob *self)
{
  g_return_val_if_fail (VM_IS_JOB (self), FALSE);
  return g_cancellable_is_cancelled (self->cancellable);
}

void
vm_job_set_message (VmJob      *self,
                    const char *message)
{
  g_return_if_fail (VM_IS_JOB (self));

  g_mutex_lock (&self->lock);
  if (g_strcmp0 (self->message, message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
      vm_job_queue_notify_locked (self, PROP_MESSAGE);
    }
  g_mutex_unlock (&self->lock);
}

void
vm_job_set_fraction (VmJob  *self,
                     double  fraction)
{
  g_return_if_fail (VM_IS_JOB (self));

  fraction = CLAMP (fraction, 0.0, 1.0);

  g_mutex_lock (&self->lock);
  if (self->started_at < 0)
    {
      self->started_at = g_get_monotonic_time ();
      self->started_fraction = fraction;
    }
  if (self->fraction != fraction)
    {
      self->fraction = fraction;
      vm_job_queue_notify_locked (self, PROP_FRACTION);
    }
  g_mutex_unlock (&self->lock);
}

void
vm_job_cancel (VmJob *self)
{
  g_return_if_fail (VM_IS_JOB (self));
  g_cancellable_cancel (self->cancellable);
}
