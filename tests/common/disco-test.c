/* disco-test.c: spawning daemons, HTTP requests and format checks for tests. */
#include "disco-test.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>

#include "disco-stdio.h"

/* Test programs spawn children with output redirected to files; with fd 0
 * closed (a runner without standard input) those files would land on fd 0
 * and the children's descriptors would cross. */
__attribute__ ((constructor)) static void
std_fds_open (void)
{
  disco_stdio_ensure_open ();
}

const char *
disco_test_program (const char *env_name)
{
  const char *path = g_getenv (env_name);
  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    g_error ("%s is not set to a built program (run the tests with meson test)", env_name);
  return path;
}

typedef struct
{
  GMainContext *ctx;
  char *line;
  gboolean done;
} LineWait;

static void
line_ready (GObject *src, GAsyncResult *res, gpointer user_data)
{
  LineWait *w = user_data;
  w->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (src), res, NULL, NULL);
  w->done = TRUE;
}

/* A test that aborts on a failed assertion must not leave its daemons
 * running: they die with the test process. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

DiscoTestDaemon *
disco_test_daemon_spawn_argv (const char *const *argv, guint timeout_ms, GError **error)
{
  g_autoptr (DiscoTestDaemon) d = g_new0 (DiscoTestDaemon, 1);
  g_autoptr (GSubprocessLauncher) launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  int fd = g_file_open_tmp ("disco-test-stderr-XXXXXX", &d->stderr_path, error);

  if (fd < 0)
    return NULL;
  close (fd);
  g_subprocess_launcher_set_stderr_file_path (launcher, d->stderr_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  d->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (d->proc == NULL)
    return NULL;

  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  g_autoptr (GDataInputStream) in
      = g_data_input_stream_new (g_subprocess_get_stdout_pipe (d->proc));
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  char *ready = NULL;

  while (ready == NULL && g_get_monotonic_time () < deadline)
    {
      LineWait w = { ctx, NULL, FALSE };
      g_data_input_stream_read_line_async (in, G_PRIORITY_DEFAULT, NULL, line_ready, &w);
      while (!w.done && g_get_monotonic_time () < deadline)
        if (!g_main_context_iteration (ctx, FALSE))
          g_usleep (2000);
      if (!w.done)
        break; /* the pending read is abandoned with the stream */
      if (w.line == NULL)
        break; /* EOF: the process died */
      if (g_str_has_prefix (w.line, "ready "))
        ready = w.line;
      else
        g_free (w.line);
    }
  g_main_context_pop_thread_default (ctx);

  if (ready == NULL)
    {
      g_autofree char *err = disco_test_daemon_stderr (d);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s printed no ready line; stderr:\n%s",
                   argv[0], err);
      return NULL;
    }

  d->ready = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) parts = g_strsplit (ready + 6, " ", -1);
  for (char **p = parts; *p; p++)
    {
      char *eq = strchr (*p, '=');
      if (eq)
        g_hash_table_insert (d->ready, g_strndup (*p, eq - *p), g_strdup (eq + 1));
    }
  g_free (ready);
  d->sip = g_hash_table_lookup (d->ready, "sip");
  d->http = g_hash_table_lookup (d->ready, "http");
  d->overlay = g_hash_table_lookup (d->ready, "overlay");
  return g_steal_pointer (&d);
}

DiscoTestDaemon *
disco_test_daemon_spawn (const char *const *extra_args, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *data_dir = g_dir_make_tmp ("disco-test-data-XXXXXX", NULL);

  g_ptr_array_add (argv, (char *)disco_test_program ("DISCO_FOCUS_BIN"));
  g_ptr_array_add (argv, "--sip-listen=127.0.0.1:0");
  g_ptr_array_add (argv, "--http-listen=127.0.0.1:0");
  g_ptr_array_add (argv, "--overlay-listen=127.0.0.1:0");
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, data_dir);
  for (const char *const *a = extra_args; a && *a; a++)
    g_ptr_array_add (argv, (char *)*a);
  g_ptr_array_add (argv, NULL);
  return disco_test_daemon_spawn_argv ((const char *const *)argv->pdata, 20000, error);
}

static void
wait_done (GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (src), res, NULL);
  *(gboolean *)user_data = TRUE;
}

static gboolean
wait_for (GSubprocess *proc, guint timeout_ms)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;

  g_main_context_push_thread_default (ctx);
  g_subprocess_wait_async (proc, NULL, wait_done, &done);
  while (!done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (ctx, FALSE))
      g_usleep (2000);
  if (!done)
    {
      g_subprocess_force_exit (proc);
      while (!done)
        g_main_context_iteration (ctx, TRUE);
    }
  g_main_context_pop_thread_default (ctx);
  return done && g_get_monotonic_time () <= deadline;
}

int
disco_test_daemon_stop (DiscoTestDaemon *d, int signum, guint timeout_ms)
{
  if (d->proc == NULL)
    return -1;
  if (g_subprocess_get_identifier (d->proc))
    g_subprocess_send_signal (d->proc, signum);
  gboolean in_time = wait_for (d->proc, timeout_ms);
  int status;
  if (!in_time)
    status = -1;
  else if (g_subprocess_get_if_exited (d->proc))
    status = g_subprocess_get_exit_status (d->proc);
  else
    status = -2 - g_subprocess_get_term_sig (d->proc);
  g_clear_object (&d->proc);
  return status;
}

char *
disco_test_daemon_stderr (DiscoTestDaemon *d)
{
  char *text = NULL;
  if (!d->stderr_path || !g_file_get_contents (d->stderr_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

void
disco_test_daemon_free (DiscoTestDaemon *d)
{
  if (d == NULL)
    return;
  if (d->proc)
    disco_test_daemon_stop (d, SIGKILL, 5000);
  if (d->stderr_path)
    g_unlink (d->stderr_path);
  g_free (d->stderr_path);
  g_clear_pointer (&d->ready, g_hash_table_unref);
  g_free (d);
}

guint
disco_test_http (const char *hostport, const char *method, const char *path, char **body,
                 char **content_type)
{
  g_autofree char *url = g_strdup_printf ("http://%s%s", hostport, path);
  g_autoptr (SoupSession) session = soup_session_new_with_options ("timeout", 10, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  g_autoptr (GError) error = NULL;

  if (msg == NULL)
    return 0;
  g_autoptr (GBytes) bytes = soup_session_send_and_read (session, msg, NULL, &error);
  if (bytes == NULL)
    {
      g_test_message ("HTTP %s %s failed: %s", method, url, error->message);
      return 0;
    }
  if (body)
    {
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);
      *body = g_strndup (data, len);
    }
  if (content_type)
    *content_type = g_strdup (
        soup_message_headers_get_one (soup_message_get_response_headers (msg), "Content-Type"));
  return soup_message_get_status (msg);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  char *out, *err;
  GError *error;
} RunState;

static void
run_done (GObject *src, GAsyncResult *res, gpointer user_data)
{
  RunState *st = user_data;
  st->ok = g_subprocess_communicate_utf8_finish (G_SUBPROCESS (src), res, &st->out, &st->err,
                                                 &st->error);
  st->done = TRUE;
}

/* The synchronous g_subprocess_communicate_utf8() runs a private main
 * context, so a timer on the default context could never cancel it: a hung
 * child would hang the test until meson kills it.  Drive the async variant
 * on a private context and enforce the deadline ourselves. */
int
disco_test_run (const char *const *argv, guint timeout_ms, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (proc == NULL)
    {
      g_test_message ("cannot run %s: %s", argv[0], error->message);
      return -1;
    }
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  RunState st = { 0 };
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  g_main_context_push_thread_default (ctx);
  g_subprocess_communicate_utf8_async (proc, NULL, cancel, run_done, &st);
  while (!st.done)
    {
      if (g_get_monotonic_time () >= deadline && !g_cancellable_is_cancelled (cancel))
        {
          g_test_message ("%s: no exit within %u ms, killing it", argv[0], timeout_ms);
          g_subprocess_force_exit (proc);
          g_cancellable_cancel (cancel);
        }
      if (!g_main_context_iteration (ctx, FALSE))
        g_usleep (2000);
    }
  g_main_context_pop_thread_default (ctx);
  gboolean timed_out = g_cancellable_is_cancelled (cancel);
  if (!st.ok || timed_out)
    {
      if (!timed_out)
        g_subprocess_force_exit (proc);
      wait_for (proc, 5000);
      g_test_message ("%s: %s", argv[0], st.error ? st.error->message : "timed out");
      g_clear_error (&st.error);
      g_free (st.out);
      g_free (st.err);
      return -1;
    }
  if (out)
    *out = g_steal_pointer (&st.out);
  if (err)
    *err = g_steal_pointer (&st.err);
  g_free (st.out);
  g_free (st.err);
  return g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

/* Exposition format 0.0.4: comment lines "# HELP name text" / "# TYPE name
 * type", sample lines "name{l="v",...} value [timestamp]". */
static gboolean
valid_metric_name (const char *s, gsize len)
{
  if (len == 0 || !(g_ascii_isalpha (s[0]) || s[0] == '_' || s[0] == ':'))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!(g_ascii_isalnum (s[i]) || s[i] == '_' || s[i] == ':'))
      return FALSE;
  return TRUE;
}

static gboolean
parse_metrics_line (const char *l, GHashTable *types, GHashTable *samples)
{
  if (l[0] == '#')
    {
      g_auto (GStrv) f = g_strsplit (l, " ", 4);
      guint n = g_strv_length (f);
      const char *known[] = { "counter", "gauge", "histogram", "summary", "untyped", NULL };

      if (n >= 3 && g_str_equal (f[1], "TYPE"))
        {
          if (n != 4 || !g_strv_contains (known, f[3]) || g_hash_table_contains (types, f[2]))
            return FALSE;
          g_hash_table_insert (types, g_strdup (f[2]), g_strdup (f[3]));
        }
      else if (n >= 3 && g_str_equal (f[1], "HELP"))
        return valid_metric_name (f[2], strlen (f[2]));
      return TRUE;
    }

  gsize name_len = strcspn (l, "{ ");
  if (!valid_metric_name (l, name_len))
    return FALSE;
  const char *p = l + name_len;
  if (*p == '{')
    {
      p++;
      while (*p != '}')
        {
          gsize k = strcspn (p, "=");
          if (!valid_metric_name (p, k) || p[k] != '=' || p[k + 1] != '"')
            return FALSE;
          p += k + 2;
          while (*p && *p != '"')
            p += (*p == '\\' && p[1]) ? 2 : 1;
          if (*p != '"')
            return FALSE;
          p++;
          if (*p == ',')
            p++;
          else if (*p != '}')
            return FALSE;
        }
      p++;
    }
  if (*p != ' ')
    return FALSE;
  g_auto (GStrv) rest = g_strsplit (p + 1, " ", -1);
  guint rn = g_strv_length (rest);
  if (rn < 1 || rn > 2)
    return FALSE;
  char *end;
  double v = g_ascii_strtod (rest[0], &end);
  if (*end != '\0' && !g_str_equal (rest[0], "NaN") && !g_str_equal (rest[0], "+Inf")
      && !g_str_equal (rest[0], "-Inf"))
    return FALSE;
  if (samples)
    {
      double *val = g_new (double, 1);
      *val = v;
      g_hash_table_insert (samples, g_strndup (l, p - l), val);
    }
  return TRUE;
}

gboolean
disco_test_parse_metrics (const char *text, GHashTable *samples, char **why)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n = g_strv_length (lines);

  if (n == 0 || lines[n - 1][0] != '\0')
    {
      *why = g_strdup ("output does not end with a newline");
      return FALSE;
    }
  for (guint i = 0; i + 1 < n; i++)
    if (lines[i][0] == '\0' || !parse_metrics_line (lines[i], types, samples))
      {
        *why = g_strdup_printf ("line %u: '%s'", i + 1, lines[i]);
        return FALSE;
      }
  return TRUE;
}
