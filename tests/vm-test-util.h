/* vm-test-util.h — what the test programs share: temporary folders, the
 * PYTHON SCRIPT arguments meson passes, and the tiny random CLIP models that
 * tests/clip/make-tiny-clip.py writes.  GLib only; link vm_test_util_dep.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* In a test function: skips the test with @reason and returns unless @cond
 * holds. */
#define VM_TEST_SKIP_UNLESS(cond, reason) \
  G_STMT_START { \
    if (!(cond)) \
      { \
        g_test_skip (reason); \
        return; \
      } \
  } G_STMT_END

/* Deletes @path and everything below it.  Links are deleted, never
 * followed; a missing @path is not an error. */
void      vm_test_remove_tree      (const char   *path);

/* Makes a temporary folder from @tmpl (as g_dir_make_tmp) and points
 * XDG_CACHE_HOME, XDG_DATA_HOME and XDG_CONFIG_HOME at it, so that nothing
 * the test does reaches the user's own folders.  Call it before anything
 * reads those paths (before g_test_init).  Aborts when no folder can be
 * made.  Returns the folder; delete it with vm_test_remove_tree(). */
char     *vm_test_set_xdg_dirs     (const char   *tmpl);

/* Takes the leading “PYTHON SCRIPT” arguments of a test run as
 * `test-x PYTHON SCRIPT [GTest options]` out of @argc/@argv (the program
 * name stays first).  Returns FALSE, with @argc and @argv untouched, when
 * there are fewer than two arguments or the first is an option. */
gboolean  vm_test_take_script_args (int          *argc,
                                    char       ***argv,
                                    const char  **python,
                                    const char  **script);

/* Runs `@python @script @out_dir`: make-tiny-clip.py writes
 * @out_dir/tiny-quick-f32 and @out_dir/tiny-gelu-f16.  Aborts the test
 * program with the script's standard error when it fails. */
void      vm_test_make_tiny_clip   (const char   *python,
                                    const char   *script,
                                    const char   *out_dir);

/* A loopback fake of the Hugging Face Hub (tests/store/fakehub.py, run as
 * `@python @script`): it serves acme/tiny-clip and acme/slow (a throttled
 * model.safetensors) until vm_test_fakehub_stop ().  Aborts when it does
 * not start. */
typedef struct {
  char *endpoint;    /* http://127.0.0.1:PORT */
  GPid  pid;
  int   in_fd;       /* closing it ends the child */
} VmTestFakeHub;

void      vm_test_fakehub_start    (const char    *python,
                                    const char    *script,
                                    VmTestFakeHub *hub);
void      vm_test_fakehub_stop     (VmTestFakeHub *hub);

/* Copies @from to @to; fails the test when it cannot. */
void      vm_test_copy_file        (const char   *from,
                                    const char   *to);

/* Main loop helpers. */
typedef gboolean (*VmTestCondFunc) (gpointer data);

/* A source callback that sets the gboolean @data points at to TRUE. */
gboolean  vm_test_set_flag_cb      (gpointer      data);
/* Runs the default main context until @cond holds; aborts, naming @what,
 * after @seconds. */
void      vm_test_wait_for         (VmTestCondFunc cond,
                                    gpointer       data,
                                    guint          seconds,
                                    const char    *what);
/* Runs the default main context for @ms milliseconds. */
void      vm_test_spin             (guint         ms);

G_END_DECLS
