/* disco-test.h: helpers shared by integration tests.
 *
 * disco_test_daemon_spawn() starts a real disco-focus on ephemeral loopback
 * ports, waits for its "ready ..." line and parses it.  Always stop it with
 * disco_test_daemon_stop() or free it (which kills with SIGKILL and reaps).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  GSubprocess *proc;
  GHashTable *ready; /* key -> value from the ready line */
  const char *sip;   /* "127.0.0.1:PORT", owned by ready */
  const char *http;
  const char *overlay;
  char *stderr_path; /* daemon's stderr, kept for failure messages */
} DiscoTestDaemon;

/* Path of a built program, from the environment meson sets (e.g.
 * DISCO_FOCUS_BIN), failing the test when it is missing. */
const char *disco_test_program (const char *env_name);

/* @extra_args: NULL-terminated, appended after the ephemeral-port flags. */
DiscoTestDaemon *disco_test_daemon_spawn (const char *const *extra_args, GError **error);

/* Spawns any command and waits for a line starting with "ready " on stdout. */
DiscoTestDaemon *disco_test_daemon_spawn_argv (const char *const *argv, guint timeout_ms,
                                               GError **error);

/* Sends @signum, waits up to @timeout_ms.  Returns the exit status as from
 * g_subprocess_get_exit_status(), or -1 if it had to be killed, or -2 - signo
 * if it died from a signal. */
int disco_test_daemon_stop (DiscoTestDaemon *d, int signum, guint timeout_ms);

/* The daemon's stderr so far; caller frees. */
char *disco_test_daemon_stderr (DiscoTestDaemon *d);

void disco_test_daemon_free (DiscoTestDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoTestDaemon, disco_test_daemon_free)

/* A blocking HTTP request to "ADDR:PORT" + @path.  Returns the status code
 * (0 on transport failure) and the body (NUL-terminated) and Content-Type. */
guint disco_test_http (const char *hostport, const char *method, const char *path, char **body,
                       char **content_type);

/* Runs @argv to completion with a timeout, capturing output. Returns exit status or -1. */
int disco_test_run (const char *const *argv, guint timeout_ms, char **out, char **err);

/* Validates Prometheus text exposition format; on failure returns FALSE and
 * sets @why to the offending line.  @samples (optional) gets name{labels} -> value. */
gboolean disco_test_parse_metrics (const char *text, GHashTable *samples, char **why);

G_END_DECLS
