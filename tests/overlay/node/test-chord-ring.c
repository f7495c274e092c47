/* test-chord-ring.c: a CHORD-RELOAD ring of real `disco peer --chord`
 * processes on loopback, all bootstrapping through peer 1.  Checks, from
 * each peer's --status-file JSON: every peer's first successor and
 * predecessor match the sorted Node-ID list, every Join was answered and
 * Updates flowed; values stored through random peers are fetched through
 * every other peer; a peer that leaves (SIGTERM: Leave + handover) is
 * routed around and the data it held stays fetchable. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "disco-test.h"

#define RING_SIZE 16
#define RESOURCES 3
#define STABILIZE_MS "1000"
#define CONVERGE_TRIES 180 /* x 250 ms */

static char *tmp;
static const char *disco;

typedef struct
{
  char *dir;
  char *user;
  char *status;
  char *node_id;
  char *addr;
  DiscoTestDaemon *proc;
} Peer;

static Peer peers[RING_SIZE];
static volatile pid_t peer_pids[RING_SIZE];

/* A failed assertion aborts: take the peer processes down with us rather
 * than leave a ring running. */
static void
on_abort (int signo)
{
  for (guint i = 0; i < RING_SIZE; i++)
    if (peer_pids[i] > 0)
      kill (peer_pids[i], SIGKILL);
  signal (signo, SIG_DFL);
  raise (signo);
}

static void
start_peer (Peer *p, guint i, const char *bootstrap)
{
  p->dir = g_strdup_printf ("%s/p%u", tmp, i);
  p->user = g_strdup_printf ("p%u@disco.example.org", i);
  p->status = g_strdup_printf ("%s/p%u.json", tmp, i);
  const char *argv[] = { disco,         "peer",
                         "--chord",     "--stabilize-ms",
                         STABILIZE_MS,  "--listen",
                         "127.0.0.1:0", "--data-dir",
                         p->dir,        "--user",
                         p->user,       "--status-file",
                         p->status,     bootstrap ? "--bootstrap" : NULL,
                         bootstrap,     NULL };
  g_autoptr (GError) error = NULL;
  p->proc = disco_test_daemon_spawn_argv (argv, 20000, &error);
  g_assert_no_error (error);
  p->addr = g_strdup (g_hash_table_lookup (p->proc->ready, "overlay"));
  p->node_id = g_strdup (g_hash_table_lookup (p->proc->ready, "node-id"));
  g_assert_nonnull (p->addr);
  g_assert_nonnull (p->node_id);
  const char *pid = g_hash_table_lookup (p->proc->ready, "pid");
  g_assert_nonnull (pid);
  peer_pids[i - 1] = (pid_t)atoi (pid);
}

static gpointer
start_peer_thread (gpointer data)
{
  guint i = GPOINTER_TO_UINT (data);
  start_peer (&peers[i], i + 1, peers[0].addr);
  return NULL;
}

static void
stop_peer (Peer *p)
{
  if (p->proc == NULL)
    return;
  /* SIGTERM: Leave, then a clean exit leak-checked by LSan in the child. */
  int status = disco_test_daemon_stop (p->proc, SIGTERM, 10000);
  if (status != 0)
    {
      g_autofree char *err = disco_test_daemon_stderr (p->proc);
      g_test_message ("%s stderr:\n%s", p->user, err);
    }
  g_assert_cmpint (status, ==, 0);
  g_clear_pointer (&p->proc, disco_test_daemon_free);
  peer_pids[p - peers] = 0;
}

static void
peer_clear (Peer *p)
{
  stop_peer (p);
  g_free (p->dir);
  g_free (p->user);
  g_free (p->status);
  g_free (p->node_id);
  g_free (p->addr);
}

static json_object *
read_status (Peer *p)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (p->status, &text, NULL, NULL))
    return NULL;
  return json_tokener_parse (text);
}

static const char *
first_id (json_object *chord, const char *key)
{
  json_object *a = NULL;
  if (!json_object_object_get_ex (chord, key, &a) || json_object_array_length (a) == 0)
    return NULL;
  return json_object_get_string (json_object_array_get_idx (a, 0));
}

static gint64
jint (json_object *o, const char *key)
{
  json_object *v = NULL;
  g_assert_true (json_object_object_get_ex (o, key, &v));
  return json_object_get_int64 (v);
}

static int
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* TRUE when every live peer's first successor / predecessor is its ring
 * neighbour in the sorted Node-ID list; @why says which is not. */
static guint laggard; /* the peer ring_converged() complained about */

static gboolean
ring_converged (char **why)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  for (guint i = 0; i < RING_SIZE; i++)
    if (peers[i].proc)
      g_ptr_array_add (ids, peers[i].node_id);
  g_ptr_array_sort (ids, cmp_str);
  for (guint i = 0; i < RING_SIZE; i++)
    {
      if (peers[i].proc == NULL)
        continue;
      json_object *st = read_status (&peers[i]);
      json_object *chord = NULL;
      if (st == NULL || !json_object_object_get_ex (st, "chord", &chord))
        {
          g_free (*why);
          *why = g_strdup_printf ("%s: no status yet", peers[i].user);
          json_object_put (st);
          return FALSE;
        }
      guint k = 0;
      while (strcmp (ids->pdata[k], peers[i].node_id) != 0)
        k++;
      const char *want_succ = ids->pdata[(k + 1) % ids->len];
      const char *want_pred = ids->pdata[(k + ids->len - 1) % ids->len];
      const char *succ = first_id (chord, "successors");
      const char *pred = first_id (chord, "predecessors");
      gboolean ok = succ && pred && strcmp (succ, want_succ) == 0 && strcmp (pred, want_pred) == 0;
      if (!ok)
        {
          laggard = i;
          g_free (*why);
          *why = g_strdup_printf ("%s (%s): successor %s (want %s), predecessor %s (want %s)",
                                  peers[i].user, peers[i].node_id, succ ? succ : "-", want_succ,
                                  pred ? pred : "-", want_pred);
        }
      json_object_put (st);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static void
wait_converged (void)
{
  g_autofree char *why = NULL;
  for (int t = 0; t < CONVERGE_TRIES; t++)
    {
      if (ring_converged (&why))
        return;
      g_usleep (250 * 1000);
    }
  g_autofree char *err = disco_test_daemon_stderr (peers[laggard].proc);
  g_test_message ("%s stderr:\n%s", peers[laggard].user, err);
  g_error ("the ring did not converge: %s", why);
}

static json_object *
run_json (const char *const *argv, int *status_out)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = disco_test_run (argv, 30000, &out, &err);
  *status_out = status;
  if (status != 0)
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **)argv);
      g_test_message ("%s -> %d\n%s%s", cmd, status, out ? out : "", err ? err : "");
    }
  return json_tokener_parse (out ? out : "");
}

/* TRUE when @out (a `disco fetch --json` answer) holds one verified value
 * signed by @user. */
static gboolean
fetched_ok (const char *out, const char *user)
{
  json_object *o = json_tokener_parse (out ? out : "");
  json_object *values = NULL;
  gboolean ok = o && json_object_object_get_ex (o, "values", &values)
                && json_object_array_length (values) == 1;
  if (ok)
    {
      json_object *v = json_object_array_get_idx (values, 0), *signer = NULL, *verified = NULL;
      ok = json_object_object_get_ex (v, "signer_user", &signer)
           && g_strcmp0 (json_object_get_string (signer), user) == 0
           && json_object_object_get_ex (v, "verified", &verified)
           && json_object_get_boolean (verified);
    }
  json_object_put (o);
  return ok;
}

/* Fetches @user's certificate through every @stride-th live peer except
 * @skip, all at once; fails the test naming the first peer that did not
 * deliver. */
static void
fetch_everywhere (const char *reader_dir, const char *user, guint skip, guint stride)
{
  GSubprocess *procs[RING_SIZE] = { 0 };
  for (guint i = 0; i < RING_SIZE; i += stride)
    {
      if (i == skip || peers[i].proc == NULL)
        continue;
      const char *argv[] = { disco,        "fetch",    "--peer",    peers[i].addr,
                             "--data-dir", reader_dir, "--user",    "reader@disco.example.org",
                             "--resource", user,       "--timeout", "15",
                             "--json",     NULL };
      g_autoptr (GError) error = NULL;
      procs[i] = g_subprocess_newv (
          argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < RING_SIZE; i++)
    {
      if (procs[i] == NULL)
        continue;
      g_autofree char *out = NULL, *err = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (procs[i], NULL, NULL, &out, &err, &error));
      g_assert_no_error (error);
      gboolean ok = g_subprocess_get_exit_status (procs[i]) == 0 && fetched_ok (out, user);
      if (!ok)
        g_error ("%s not fetchable through %s: %s%s", user, peers[i].user, out ? out : "",
                 err ? err : "");
      g_object_unref (procs[i]);
    }
}

static void
test_ring (void)
{
  gint64 t0 = g_get_monotonic_time ();
  start_peer (&peers[0], 1, NULL);
  /* The others start in parallel (each makes its key pair first). */
  GThread *starters[RING_SIZE] = { 0 };
  for (guint i = 1; i < RING_SIZE; i++)
    starters[i] = g_thread_new ("start-peer", start_peer_thread, GUINT_TO_POINTER (i));
  for (guint i = 1; i < RING_SIZE; i++)
    g_thread_join (starters[i]);
  g_test_message ("started: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  wait_converged ();
  g_test_message ("converged: %.1f s", (g_get_monotonic_time () - t0) / 1e6);

  /* Every joining peer's Join was answered, and Updates flow. */
  gint64 joins = 0;
  for (guint i = 0; i < RING_SIZE; i++)
    {
      json_object *st = read_status (&peers[i]), *chord = NULL, *joined = NULL;
      g_assert_nonnull (st);
      g_assert_true (json_object_object_get_ex (st, "chord", &chord));
      g_assert_true (json_object_object_get_ex (chord, "joined", &joined));
      g_assert_true (json_object_get_boolean (joined));
      g_assert_cmpint (jint (chord, "updates_answered"), >, 0);
      joins += jint (chord, "joins_answered");
      json_object_put (st);
    }
  g_assert_cmpint (joins, >=, RING_SIZE - 1);

  /* Values stored through random peers (each client stores its own
   * certificate under its user name) are fetched through every other. */
  g_autofree char *reader = g_build_filename (tmp, "reader", NULL);
  guint stored_via[RESOURCES];
  char *users[RESOURCES];
  for (guint r = 0; r < RESOURCES; r++)
    {
      stored_via[r] = g_random_int_range (0, RING_SIZE);
      users[r] = g_strdup_printf ("c%u@disco.example.org", r);
      g_autofree char *dir = g_strdup_printf ("%s/c%u", tmp, r);
      const char *argv[]
          = { disco,    "store",  "--peer", peers[stored_via[r]].addr, "--data-dir", dir, "--user",
              users[r], "--json", NULL };
      int status;
      json_object *o = run_json (argv, &status);
      g_assert_cmpint (status, ==, 0);
      json_object_put (o);
    }
  /* The reader's identity first, so parallel fetches share it. */
  {
    const char *argv[] = { disco,        "ping", "--peer", peers[0].addr,
                           "--data-dir", reader, "--user", "reader@disco.example.org",
                           "--json",     NULL };
    int status;
    json_object *o = run_json (argv, &status);
    g_assert_cmpint (status, ==, 0);
    json_object_put (o);
  }
  for (guint r = 0; r < RESOURCES; r++)
    fetch_everywhere (reader, users[r], stored_via[r], 1);

  g_test_message ("fetched everywhere: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  /* A peer holding data leaves: the ring closes around it and its data
   * went to its successor. */
  g_usleep (1100 * 1000); /* a fresh status file */
  guint holder = RING_SIZE;
  for (guint i = 1; i < RING_SIZE && holder == RING_SIZE; i++)
    {
      json_object *st = read_status (&peers[i]);
      if (st && jint (st, "values") > 0)
        holder = i;
      json_object_put (st);
    }
  if (holder < RING_SIZE)
    {
      g_test_message ("%s holds data and leaves", peers[holder].user);
      stop_peer (&peers[holder]);
      wait_converged ();
      for (guint r = 0; r < RESOURCES; r++)
        fetch_everywhere (reader, users[r], RING_SIZE, 3);
    }
  else
    g_test_message ("only peer 1 holds data; leave check skipped");

  for (guint r = 0; r < RESOURCES; r++)
    g_free (users[r]);
  /* Everyone leaves at once (each waits a moment for its Leave to go). */
  for (guint i = 0; i < RING_SIZE; i++)
    if (peers[i].proc)
      g_subprocess_send_signal (peers[i].proc->proc, SIGTERM);
  for (guint i = 0; i < RING_SIZE; i++)
    {
      if (peers[i].proc == NULL)
        continue;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_subprocess_wait (peers[i].proc->proc, NULL, &error));
      g_assert_no_error (error);
      GSubprocess *sp = peers[i].proc->proc;
      gboolean clean = g_subprocess_get_if_exited (sp) && g_subprocess_get_exit_status (sp) == 0;
      if (!clean)
        {
          g_autofree char *err = disco_test_daemon_stderr (peers[i].proc);
          g_test_message ("%s stderr:\n%s", peers[i].user, err);
        }
      g_assert_true (clean);
      g_clear_pointer (&peers[i].proc, disco_test_daemon_free);
      peer_pids[i] = 0;
    }
  g_test_message ("all peers left: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  for (guint i = 0; i < RING_SIZE; i++)
    peer_clear (&peers[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGABRT, on_abort);
  signal (SIGTRAP, on_abort); /* g_error() */
  disco = disco_test_program ("DISCO_BIN");
  tmp = g_dir_make_tmp ("disco-chord-ring-XXXXXX", NULL);
  g_test_add_func ("/node/chord-ring/join-route-leave", test_ring);
  int rc = g_test_run ();
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (rm) != 0)
    g_message ("could not remove %s", tmp);
  g_free (tmp);
  return rc;
}
