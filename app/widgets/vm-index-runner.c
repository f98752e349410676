/* vm-index-runner.c — indexing in a worker process.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/resource.h>

#include "widgets/vm-index-runner.h"

struct _VmIndexRunner
{
  GObject           parent_instance;

  char             *cli_path;
  char             *catalog_path;
  GSubprocess      *process;
  GDataInputStream *out;
  GDataInputStream *err;
  GCancellable     *cancellable;
  char             *last_error;
  char             *message;
  double            fraction;
  double            eta;
  guint             n_failed;
  gboolean          cancelled;
  gboolean          exited;
  gboolean          out_eof;
  int               status;
  GError           *exit_error;
};

G_DEFINE_FINAL_TYPE (VmIndexRunner, vm_index_runner, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_FRACTION,
  PROP_ETA,
  PROP_MESSAGE,
  N_PROPS
};

enum {
  FILE_DONE,
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
vm_index_runner_dispose (GObject *object)
{
  VmIndexRunner *self = VM_INDEX_RUNNER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->process != NULL)
    g_subprocess_send_signal (self->process, SIGINT);
  g_clear_object (&self->process);
  g_clear_object (&self->out);
  g_clear_object (&self->err);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (vm_index_runner_parent_class)->dispose (object);
}

static void
vm_index_runner_finalize (GObject *object)
{
  VmIndexRunner *self = VM_INDEX_RUNNER (object);

  g_free (self->cli_path);
  g_free (self->catalog_path);
  g_free (self->last_error);
  g_free (self->message);
  g_clear_error (&self->exit_error);

  G_OBJECT_CLASS (vm_index_runner_parent_class)->finalize (object);
}

static void
vm_index_runner_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  VmIndexRunner *self = VM_INDEX_RUNNER (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, self->process != NULL);
      break;
    case PROP_FRACTION:
      g_value_set_double (value, self->fraction);
      break;
    case PROP_ETA:
      g_value_set_double (value, self->eta);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vm_index_runner_class_init (VmIndexRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = vm_index_runner_dispose;
  object_class->finalize = vm_index_runner_finalize;
  object_class->get_property = vm_index_runner_get_property;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, ro);
  properties[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_ETA] = g_param_spec_double ("eta", NULL, NULL, -1, G_MAXDOUBLE, -1, ro);
  properties[PROP_MESSAGE] = g_param_spec_string ("message", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (path, result, error message or NULL) for each file the worker is done with. */
  signals[FILE_DONE] = g_signal_new ("file-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                     0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                     G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  /* (exit status, GError* or NULL): 0 done, 3 some files failed, 130 cancelled. */
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                    G_TYPE_INT, G_TYPE_ERROR);
}

static void
vm_index_runner_init (VmIndexRunner *self)
{
  self->eta = -1;
}

VmIndexRunner *
vm_index_runner_new (const char *cli_path,
                     const char *catalog_path)
{
  VmIndexRunner *self = g_object_new (VM_TYPE_INDEX_RUNNER, NULL);

  if (cli_path != NULL)
    self->cli_path = g_strdup (cli_path);
  else if (g_getenv ("VIDMARK_CLI") != NULL)
    self->cli_path = g_strdup (g_getenv ("VIDMARK_CLI"));
  else
    {
      /* This program, when it is the vidmark program; never another one that
       * embeds the window (a test, a benchmark), which would run itself. */
      g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *base = self_exe ? g_path_get_basename (self_exe) : NULL;

      if (base != NULL && g_str_equal (base, "vidmark"))
        self->cli_path = g_steal_pointer (&self_exe);
    }
  if (self->cli_path == NULL)
    self->cli_path = g_strdup ("vidmark");
  self->catalog_path = g_strdup (catalog_path);
  return self;
}

static void
set_progress (VmIndexRunner *self,
              double         fraction,
              double         eta,
              const char    *message)
{
  fraction = CLAMP (fraction, 0.0, 1.0);
  if (fraction != self->fraction)
    {
      self->fraction = fraction;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
    }
  if (eta != self->eta)
    {
      self->eta = eta;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
    }
  if (message != NULL && g_strcmp0 (message, self->message) != 0)
    {
      g_free (self->message);
      self->message = g_strdup (message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
    }
}

static void
handle_line (VmIndexRunner *self,
             const char    *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *obj;
  const char *type, *path, *result, *message;
  double fraction, eta;
  g_autofree char *shown = NULL;

  /* Bounded: a line from the worker is never large. */
  if (strlen (line) > 65536 || !json_parser_load_from_data (parser, line, -1, NULL))
    return;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  obj = json_node_get_object (json_parser_get_root (parser));

  type = json_object_get_string_member_with_default (obj, "type", "");
  fraction = json_object_get_double_member_with_default (obj, "fraction", self->fraction);
  eta = json_object_get_double_member_with_default (obj, "eta", -1);
  path = json_object_get_string_member_with_default (obj, "path", NULL);
  result = json_object_get_string_member_with_default (obj, "result", NULL);
  message = json_object_get_string_member_with_default (obj, "message", NULL);

  if (g_str_equal (type, "progress"))
    set_progress (self, fraction, eta, message);
  else if (g_str_equal (type, "file") && path != NULL && result != NULL)
    {
      if (g_str_equal (result, "started"))
        {
          shown = g_path_get_basename (path);
          set_progress (self, fraction, eta, shown);
        }
      else
        {
          if (g_str_equal (result, "failed"))
            self->n_failed++;
          set_progress (self, fraction, eta, NULL);
          g_signal_emit (self, signals[FILE_DONE], 0, path, result, message);
        }
    }
}

static void read_out (VmIndexRunner *self);
static void maybe_finish (VmIndexRunner *self);
static void read_err (VmIndexRunner *self);

static void
read_out_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(VmIndexRunner) self = user_data;
  g_autofree char *line = NULL;

  g_autoptr(GError) error = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  if (G_DATA_INPUT_STREAM (source) != self->out)
    return;
  if (line == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->out_eof = TRUE;
          maybe_finish (self);
        }
      return;
    }
  handle_line (self, line);
  read_out (self);
}

static void
read_out (VmIndexRunner *self)
{
  if (self->out == NULL)
    return;
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable,
                                       read_out_cb, g_object_ref (self));
}

static void
read_err_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(VmIndexRunner) self = user_data;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);
  if (line == NULL)
    return;
  g_strstrip (line);
  if (*line != '\0')
    {
      g_free (self->last_error);
      self->last_error = g_steal_pointer (&line);
    }
  read_err (self);
}

static void
read_err (VmIndexRunner *self)
{
  if (self->err == NULL)
    return;
  g_data_input_stream_read_line_async (self->err, G_PRIORITY_DEFAULT, self->cancellable,
                                       read_err_cb, g_object_ref (self));
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(VmIndexRunner) self = user_data;
  g_autoptr(GError) error = NULL;
  GSubprocess *process = G_SUBPROCESS (source);
  int status = -1;

  if (!g_subprocess_wait_finish (process, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    }
  else if (g_subprocess_get_if_exited (process))
    {
      status = g_subprocess_get_exit_status (process);
      if (status != 0 && status != 3 && status != 130)
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, _("Indexing failed: %s"),
                             self->last_error ? self->last_error : _("unknown error"));
    }
  else
    {
      int sig = g_subprocess_get_term_sig (process);

      if (self->cancelled && (sig == SIGINT || sig == SIGTERM))
        status = 130;
      else
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                             _("The indexing worker stopped unexpectedly (signal %d)"), sig);
    }

  if (process != self->process)
    return;
  self->exited = TRUE;
  self->status = status;
  self->exit_error = g_steal_pointer (&error);
  maybe_finish (self);
}

/* Once the worker has exited and all its output was read. */
static void
maybe_finish (VmIndexRunner *self)
{
  g_autoptr(GError) error = NULL;
  int status = self->status;

  if (!self->exited || !self->out_eof || self->process == NULL)
    return;

  error = g_steal_pointer (&self->exit_error);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->process);
  g_clear_object (&self->out);
  g_clear_object (&self->err);
  if (status == 0 || status == 3)
    set_progress (self, 1.0, 0, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[FINISHED], 0, status, error);
}

/* In the worker, before exec: a lower CPU priority, so that decoding and
 * recognition on every core never starve the window's main loop. */
static void
lower_priority_cb (gpointer user_data)
{
  if (setpriority (PRIO_PROCESS, 0, 10) != 0)
    {
      /* Not fatal: the worker runs at normal priority. */
    }
}

gboolean
vm_index_runner_start (VmIndexRunner       *self,
                       const char * const  *extra_args,
                       GError             **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), FALSE);

  if (self->process != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, _("Indexing is already running"));
      return FALSE;
    }

  g_ptr_array_add (argv, self->cli_path);
  if (self->catalog_path != NULL)
    {
      g_ptr_array_add (argv, (char *) "--catalog");
      g_ptr_array_add (argv, self->catalog_path);
    }
  g_ptr_array_add (argv, (char *) "index");
  g_ptr_array_add (argv, (char *) "--progress-json");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  {
    g_autoptr(GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);

    g_subprocess_launcher_set_child_setup (launcher, lower_priority_cb, NULL, NULL);
    self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  }
  if (self->process == NULL)
    return FALSE;

  self->cancellable = g_cancellable_new ();
  self->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  self->err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (self->process));
  self->n_failed = 0;
  self->cancelled = FALSE;
  self->exited = FALSE;
  self->out_eof = FALSE;
  self->status = -1;
  g_clear_pointer (&self->last_error, g_free);
  set_progress (self, 0, -1, _("Starting…"));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);

  read_out (self);
  read_err (self);
  g_subprocess_wait_async (self->process, NULL, wait_cb, g_object_ref (self));
  return TRUE;
}

void
vm_index_runner_cancel (VmIndexRunner *self)
{
  g_return_if_fail (VM_IS_INDEX_RUNNER (self));

  if (self->process == NULL)
    return;
  self->cancelled = TRUE;
  g_subprocess_send_signal (self->process, SIGINT);
}

gboolean
vm_index_runner_get_running (VmIndexRunner *self)
{
  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), FALSE);
  return self->process != NULL;
}

double
vm_index_runner_get_fraction (VmIndexRunner *self)
{
  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), 0);
  return self->fraction;
}

double
vm_index_runner_get_eta (VmIndexRunner *self)
{
  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), -1);
  return self->eta;
}

const char *
vm_index_runner_get_message (VmIndexRunner *self)
{
  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), NULL);
  return self->message;
}

guint
vm_index_runner_get_n_failed (VmIndexRunner *self)
{
  g_return_val_if_fail (VM_IS_INDEX_RUNNER (self), 0);
  return self->n_failed;
}
