/* test-chord-ring.c: a CHORD-RELOAD ring of 20 real `disco peer --chord`
 * processes on loopback (peer 1 first, four more through it, the rest
 * through a random one of those five).  From each peer's --status-file
 * JSON: after convergence every peer's successor and predecessor lists
 * match the sorted Node-ID list.  500 resources are stored through random
 * peers (ring-client: one process stores 100 values over one link), and
 * fetched back: every peer fetches every 5th resource (so each resource is
 * fetched through 4 different peers, 2000 fetches).  Then churn, each step
 * followed by convergence within RING_HEAL_S and a fetch of all 500
 * resources (every live peer fetches every 10th, from its own offset, so each
 * resource is fetched through 1-2 different peers):
 * kill -9 of 3 random peers that are not 3 ring neighbours in a row (the
 * guarantee is: nothing is lost while at most 2 of any 3 replica holders
 * fail at once); a graceful leave (SIGTERM: Leave + handover) of a peer
 * holding data; a new peer joining, which must receive its share.  After
 * the stores and after the crash and the leave, the live peers must hold
 * 3 copies of every value again ((re-)replication), and `disco route`
 * walks from random peers end at the right peer. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "disco-test.h"
#include "ring-test-util.h"

#define RING_START 20
#define RING_SIZE (RING_START + 1) /* + the peer that joins late */
#define SEEDS 5                    /* bootstrap peers for the others */
#define RESOURCES 500
#define BATCH 100
#define STABILIZE_MS "1000"
/* The documented bound: a ring converges (after start, a crash of 3
 * peers, a leave, a join) within RING_HEAL_S seconds on this loaded
 * 2-core machine under ASan; typical figures are logged. */
#define RING_HEAL_S 90

static char *tmp;
static const char *disco;
static const char *ring_client;
#define WRITER "w@disco.example.org"

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
  disco_ring_test_kill_all (peer_pids, RING_SIZE);
  signal (signo, SIG_DFL);
  raise (signo);
}

static void
start_peer (Peer *p, guint i, const char *bootstrap)
{
  p->dir = g_strdup_printf ("%s/p%u", tmp, i);
  p->user = g_strdup_printf ("p%u@disco.example.org", i);
  p->status = g_strdup_printf ("%s/p%u.json", tmp, i);
  g_auto (GStrv) argv = disco_ring_test_peer_argv (&(DiscoRingTestPeerArgs){
      .disco = disco,
      .stabilize_ms = STABILIZE_MS,
      .listen = "127.0.0.1:0",
      .dir = p->dir,
      .user = p->user,
      .status = p->status,
      .bootstrap = bootstrap,
  });
  g_autoptr (GError) error = NULL;
  p->proc = disco_test_daemon_spawn_argv ((const char *const *)argv, 60000, &error);
  g_assert_no_error (error);
  p->addr = g_strdup (g_hash_table_lookup (p->proc->ready, "overlay"));
  p->node_id = g_strdup (g_hash_table_lookup (p->proc->ready, "node-id"));
  g_assert_nonnull (p->addr);
  g_assert_nonnull (p->node_id);
  const char *pid = g_hash_table_lookup (p->proc->ready, "pid");
  g_assert_nonnull (pid);
  peer_pids[i - 1] = (pid_t)atoi (pid);
}

/* Starts peers [from, to), each through a random one of [0, seeds).
 * One after the other from the main thread: spawned daemons get
 * PR_SET_PDEATHSIG, which fires when the spawning *thread* ends. */
static void
start_peers (guint from, guint to, guint seeds)
{
  for (guint i = from; i < to; i++)
    {
      guint via;
      do
        via = (guint)g_random_int_range (0, (gint)seeds);
      while (peers[via].proc == NULL);
      start_peer (&peers[i], i + 1, peers[via].addr);
    }
}

static void
stop_peer (Peer *p)
{
  if (p->proc == NULL)
    return;
  /* SIGTERM: Leave, then a clean exit leak-checked by LSan in the child. */
  int status = disco_test_daemon_stop (p->proc, SIGTERM, 30000);
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

static gint64
jint (json_object *o, const char *key)
{
  json_object *v = NULL;
  g_assert_true (json_object_object_get_ex (o, key, &v));
  return json_object_get_int64 (v);
}

/* The ring as ring-test-util sees it: the running peers. */
static void
ring_members (DiscoRingTestMember *m)
{
  for (guint i = 0; i < RING_SIZE; i++)
    m[i] = (DiscoRingTestMember){ .node_id = peers[i].proc ? peers[i].node_id : NULL,
                                  .status = peers[i].status,
                                  .name = peers[i].user };
}

/* TRUE when every live peer's successor and predecessor lists (up to 3
 * each) are its ring neighbours in the sorted Node-ID list, and every
 * peer has joined; @why says which is not. */
static guint laggard; /* the peer ring_converged() complained about */

static gboolean
ring_converged (char **why)
{
  DiscoRingTestMember m[RING_SIZE];
  ring_members (m);
  g_autoptr (GString) w = g_string_new (NULL);
  gint bad = disco_ring_test_converged (m, RING_SIZE, w);
  if (bad < 0)
    return TRUE;
  laggard = (guint)bad;
  g_free (*why);
  *why = g_string_free (g_steal_pointer (&w), FALSE);
  return FALSE;
}

/* Polls until the ring converged; returns the seconds it took. */
static double
wait_converged (const char *what)
{
  g_autofree char *why = NULL;
  gint64 t0 = g_get_monotonic_time ();
  while (g_get_monotonic_time () - t0 < RING_HEAL_S * G_USEC_PER_SEC)
    {
      if (ring_converged (&why))
        {
          double s = (g_get_monotonic_time () - t0) / 1e6;
          g_test_message ("%s: ring converged in %.1f s", what, s);
          return s;
        }
      g_usleep (250 * 1000);
    }
  g_autofree char *err = disco_test_daemon_stderr (peers[laggard].proc);
  g_test_message ("%s stderr:\n%s", peers[laggard].user, err);
  g_error ("%s: the ring did not converge within %d s: %s", what, RING_HEAL_S, why);
  return 0;
}

/* Runs ring-client jobs at once; fails naming the first that did not
 * deliver everything. */
typedef struct
{
  guint peer;
  char *argv[16];
  GSubprocess *proc;
} ClientJob;

static void
client_job_init (ClientJob *j, guint peer, const char *dir, gboolean store, guint from, guint step)
{
  memset (j, 0, sizeof *j);
  j->peer = peer;
  guint a = 0;
  j->argv[a++] = g_strdup (ring_client);
  j->argv[a++] = g_strdup ("--peer");
  j->argv[a++] = g_strdup (peers[peer].addr);
  j->argv[a++] = g_strdup ("--data-dir");
  j->argv[a++] = g_strdup (dir);
  j->argv[a++] = g_strdup (store ? "--store" : "--fetch");
  if (!store)
    j->argv[a++] = g_strdup (WRITER);
  else
    {
      j->argv[a++] = g_strdup ("--user");
      j->argv[a++] = g_strdup (WRITER);
    }
  j->argv[a++] = g_strdup_printf ("--from=%u", from);
  j->argv[a++] = g_strdup_printf ("--to=%u", store ? from + BATCH : RESOURCES);
  j->argv[a++] = g_strdup_printf ("--step=%u", store ? 1 : step);
}

static void
run_clients (ClientJob *jobs, guint n, const char *what)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      jobs[i].proc = g_subprocess_newv (
          (const char *const *)jobs[i].argv,
          G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
      g_assert_no_error (error);
    }
  guint ok = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (jobs[i].proc, NULL, NULL, &out, &err, &error));
      g_assert_no_error (error);
      json_object *o = json_tokener_parse (out ? out : ""), *v = NULL;
      if (o && json_object_object_get_ex (o, "ok", &v))
        ok += (guint)json_object_get_int (v);
      gboolean clean = g_subprocess_get_if_exited (jobs[i].proc)
                       && g_subprocess_get_exit_status (jobs[i].proc) == 0;
      json_object_put (o);
      if (!clean)
        g_error ("%s through %s failed: %s%s", what, peers[jobs[i].peer].user, out ? out : "",
                 err ? err : "");
      g_object_unref (jobs[i].proc);
      for (guint a = 0; jobs[i].argv[a]; a++)
        g_free (jobs[i].argv[a]);
    }
  g_test_message ("%s: %u values", what, ok);
}

/* Every live peer fetches every @step-th resource, starting at a
 * different offset, so each resource is fetched through RING/step peers
 * and all of them together cover all 500. */
static void
fetch_all (const char *reader, guint step, const char *what)
{
  ClientJob jobs[RING_SIZE];
  guint n = 0, k = 0;
  for (guint i = 0; i < RING_SIZE; i++)
    if (peers[i].proc)
      {
        client_job_init (&jobs[n++], i, reader, FALSE, k % step, step);
        k++;
      }
  g_assert_cmpuint (n, >=, step); /* every offset taken */
  run_clients (jobs, n, what);
}

static gint64
status_int (guint i, const char *key, const char *sub)
{
  json_object *st = disco_ring_test_read_status (peers[i].status), *o = st;
  if (sub && st)
    g_assert_true (json_object_object_get_ex (st, sub, &o));
  gint64 v = st ? jint (o, key) : -1;
  json_object_put (st);
  return v;
}

/* Waits until the live peers together hold at least 3 copies of each
 * of the 500 values (primary + 2 replicas; stale extra copies may make
 * it more), i.e. (re-)replication has caught up. */
static void
wait_replicated (const char *what)
{
  gint64 t0 = g_get_monotonic_time (), total = 0;
  while (g_get_monotonic_time () - t0 < RING_HEAL_S * G_USEC_PER_SEC)
    {
      total = 0;
      for (guint i = 0; i < RING_SIZE; i++)
        if (peers[i].proc)
          total += MAX (status_int (i, "values", NULL), 0);
      if (total >= 3 * RESOURCES)
        {
          g_test_message ("%s: %" G_GINT64_FORMAT " copies of %u values after %.1f s", what, total,
                          RESOURCES, (g_get_monotonic_time () - t0) / 1e6);
          return;
        }
      g_usleep (250 * 1000);
    }
  g_error ("%s: only %" G_GINT64_FORMAT " copies of %u values after %d s", what, total, RESOURCES,
           RING_HEAL_S);
}

/* Ring order of the live peers, as indices into peers[]. */
static guint
ring_order (guint *order)
{
  guint n = 0;
  for (guint i = 0; i < RING_SIZE; i++)
    if (peers[i].proc)
      order[n++] = i;
  for (guint a = 0; a < n; a++)
    for (guint b = a + 1; b < n; b++)
      if (strcmp (peers[order[b]].node_id, peers[order[a]].node_id) < 0)
        {
          guint t = order[a];
          order[a] = order[b];
          order[b] = t;
        }
  return n;
}

/* `disco route` from random peers: to a live peer's Node-ID the path
 * ends at that peer; to a random ID it ends at the ID's successor on the
 * sorted ring; never a loop, never more hops than peers. */
static void
check_routes (const char *reader)
{
  DiscoRingTestMember m[RING_SIZE];
  ring_members (m);
  g_autoptr (GPtrArray) ids = disco_ring_test_sorted_ids (m, RING_SIZE);
  guint total = 0;
  for (guint r = 0; r < 6; r++)
    {
      g_autofree char *target = NULL;
      const char *want;
      if (r % 2 == 0)
        {
          want = ids->pdata[g_random_int_range (0, (gint)ids->len)];
          target = g_strdup (want);
        }
      else
        {
          target = g_strdup_printf ("%08x%08x%08x%08x", g_random_int (), g_random_int (),
                                    g_random_int (), g_random_int ());
          guint k = 0;
          while (k < ids->len && strcmp (ids->pdata[k], target) < 0)
            k++;
          want = ids->pdata[k % ids->len];
        }
      guint from;
      do
        from = (guint)g_random_int_range (0, RING_SIZE);
      while (peers[from].proc == NULL);
      const char *argv[] = { disco,    "route", "--peer", peers[from].addr, "--data-dir", reader,
                             "--json", target,  NULL };
      g_autofree char *out = NULL, *err = NULL;
      int status = disco_test_run (argv, 60000, &out, &err);
      if (status != 0)
        g_error ("disco route %s -> %d: %s%s", target, status, out ? out : "", err ? err : "");
      json_object *o = json_tokener_parse (out), *hops = NULL;
      g_assert_true (json_object_object_get_ex (o, "hops", &hops));
      guint n = (guint)json_object_array_length (hops);
      g_assert_cmpuint (n, >=, 1);
      g_assert_cmpuint (n, <=, ids->len);
      g_assert_cmpstr (json_object_get_string (json_object_array_get_idx (hops, 0)), ==,
                       peers[from].node_id);
      g_assert_cmpstr (json_object_get_string (json_object_array_get_idx (hops, n - 1)), ==, want);
      total += n - 1;
      json_object_put (o);
    }
  g_test_message ("disco route: %u hops in 6 routes", total);
}

static void
test_ring (void)
{
  gint64 t0 = g_get_monotonic_time ();
  start_peer (&peers[0], 1, NULL);
  start_peers (1, SEEDS, 1);
  start_peers (SEEDS, RING_START, SEEDS);
  g_test_message ("started %u peers: %.1f s", RING_START, (g_get_monotonic_time () - t0) / 1e6);
  wait_converged ("start");
  gint64 joins = 0;
  for (guint i = 0; i < RING_START; i++)
    {
      joins += status_int (i, "joins_answered", "chord");
      g_assert_cmpint (status_int (i, "updates_answered", "chord"), >, 0);
    }
  g_assert_cmpint (joins, >=, RING_START - 1);

  /* 500 resources, 100 through each of 5 random peers (the writer's
   * identity made first, so the batches share it). */
  g_autofree char *writer = g_build_filename (tmp, "writer", NULL);
  g_autofree char *reader = g_build_filename (tmp, "reader", NULL);
  {
    const char *argv[] = { ring_client,
                           "--peer",
                           peers[0].addr,
                           "--data-dir",
                           reader,
                           "--user",
                           "reader@disco.example.org",
                           "--fetch",
                           WRITER,
                           "--from=0",
                           "--to=0",
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    if (disco_test_run (argv, 60000, &out, &err) != 0)
      g_error ("reader identity: %s%s", out ? out : "", err ? err : "");
    const char *wargv[] = { ring_client, "--peer",  peers[0].addr, "--data-dir", writer, "--user",
                            WRITER,      "--store", "--from=0",    "--to=0",     NULL };
    g_autofree char *wout = NULL, *werr = NULL;
    if (disco_test_run (wargv, 60000, &wout, &werr) != 0)
      g_error ("writer identity: %s%s", wout ? wout : "", werr ? werr : "");
  }
  check_routes (reader);
  ClientJob stores[RESOURCES / BATCH];
  for (guint b = 0; b < RESOURCES / BATCH; b++)
    client_job_init (&stores[b], (guint)g_random_int_range (0, RING_START), writer, TRUE, b * BATCH,
                     1);
  run_clients (stores, RESOURCES / BATCH, "store");
  wait_replicated ("store");
  g_test_message ("stored: %.1f s", (g_get_monotonic_time () - t0) / 1e6);
  fetch_all (reader, 5, "fetch after start");
  g_test_message ("fetched: %.1f s", (g_get_monotonic_time () - t0) / 1e6);

  /* Three peers crash at once, never three ring neighbours in a row. */
  guint order[RING_SIZE], n = ring_order (order), victims[3];
  for (;;)
    {
      guint pos[3];
      for (guint v = 0; v < 3; v++)
        {
          gboolean dup;
          do
            {
              pos[v] = (guint)g_random_int_range (0, (gint)n);
              dup = FALSE;
              for (guint w = 0; w < v; w++)
                dup = dup || pos[w] == pos[v];
            }
          while (dup);
        }
      gboolean run_of_three = FALSE;
      for (guint v = 0; v < 3; v++)
        {
          guint a = pos[v], b = (a + 1) % n, c = (a + 2) % n;
          gboolean hb = FALSE, hc = FALSE;
          for (guint w = 0; w < 3; w++)
            {
              hb = hb || pos[w] == b;
              hc = hc || pos[w] == c;
            }
          run_of_three = run_of_three || (hb && hc);
        }
      if (run_of_three)
        continue;
      for (guint v = 0; v < 3; v++)
        victims[v] = order[pos[v]];
      break;
    }
  for (guint v = 0; v < 3; v++)
    {
      g_test_message ("kill -9 %s", peers[victims[v]].user);
      disco_test_daemon_free (peers[victims[v]].proc); /* SIGKILL and reap */
      peers[victims[v]].proc = NULL;
      peer_pids[victims[v]] = 0;
    }
  wait_converged ("crash of 3");
  wait_replicated ("crash of 3");
  fetch_all (reader, 10, "fetch after the crash");

  /* A peer holding data leaves gracefully. */
  guint leaver = RING_SIZE;
  for (guint i = 1; i < RING_START && leaver == RING_SIZE; i++)
    if (peers[i].proc && status_int (i, "values", NULL) > 0)
      leaver = i;
  g_assert_cmpuint (leaver, <, RING_SIZE);
  g_test_message ("%s holds %" G_GINT64_FORMAT " values and leaves", peers[leaver].user,
                  status_int (leaver, "values", NULL));
  stop_peer (&peers[leaver]);
  wait_converged ("leave");
  wait_replicated ("leave");
  fetch_all (reader, 10, "fetch after the leave");

  /* A new peer joins and receives its share (handover from its successor,
   * replicas from its predecessors). */
  start_peers (RING_START, RING_SIZE, RING_START);
  wait_converged ("join");
  gint64 got = 0;
  for (int t = 0; t < RING_HEAL_S * 4 && got == 0; t++)
    {
      got = status_int (RING_START, "values", NULL);
      if (got == 0)
        g_usleep (250 * 1000);
    }
  g_test_message ("the new peer holds %" G_GINT64_FORMAT " values", got);
  g_assert_cmpint (got, >, 0);
  g_assert_cmpint (status_int (RING_START, "replica_stores_in", "chord"), >, 0);
  fetch_all (reader, 10, "fetch after the join");

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
  /* 20+ sanitized processes on 2 shared cores: full stack unwinding on
   * every malloc (the suite's ASAN_OPTIONS, for precise leak stacks)
   * makes each peer several times slower and the ring test minutes
   * longer.  Leaks are still detected, with shorter stacks. */
  const char *asan = g_getenv ("ASAN_OPTIONS");
  if (asan && strstr (asan, "fast_unwind_on_malloc=0"))
    {
      g_autoptr (GString) o = g_string_new (asan);
      g_string_replace (o, "fast_unwind_on_malloc=0", "fast_unwind_on_malloc=1", 0);
      g_setenv ("ASAN_OPTIONS", o->str, TRUE);
    }
  disco = disco_test_program ("DISCO_BIN");
  ring_client = disco_test_program ("DISCO_RING_CLIENT_BIN");
  tmp = g_dir_make_tmp ("disco-chord-ring-XXXXXX", NULL);
  g_test_add_func ("/node/chord-ring/converge-store-churn", test_ring);
  int rc = g_test_run ();
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (rm) != 0)
    g_message ("could not remove %s", tmp);
  g_free (tmp);
  return rc;
}
