/* bench-ring.c: CHORD-RELOAD rings of real `disco peer --chord` processes
 * on loopback, 10, 50 and 100 peers by default.
 *
 * Per ring size N:
 *   - converge: seconds from the last peer's start until every peer's
 *     successor and predecessor lists match the sorted Node-ID list;
 *   - hops: `disco route` to random IDs from random peers (the RouteQuery
 *     walk is the path a Fetch for that ID takes), median and p99, against
 *     Chord's expected ½·log2(N);
 *   - Fetch latency: ring-client with one request in flight through random
 *     peers, median and p99, against the same Fetches on a 1-peer ring
 *     (0 hops) measured in this run as the baseline;
 *   - join: seconds until the ring converged again after one more peer;
 *   - heal: seconds until it converged again after a kill -9 of one peer;
 *   - RSS per peer (VmRSS, mean);
 *   - messages forwarded per CPU-second of the whole ring during the
 *     Fetch phase (a lower bound for one core's forwarding rate: the
 *     same CPU also answers, signs and sends Updates).
 *
 *   bench-ring [--sizes 10,50,100] [--fetches 100] [--routes 40]
 * Needs DISCO_BIN and DISCO_RING_CLIENT_BIN (set by meson). */
#include <gio/gio.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "ring-test-util.h"

#define STABILIZE_MS "1000"
#define SEEDS 5
#define TIMEOUT_S 300

typedef struct
{
  GSubprocess *proc;
  char *addr, *node_id, *status;
  int pid;
} Peer;

static const char *disco, *ring_client;
static char *tmp;
static gint fetches = 100, routes = 40;

static void
child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
ready_field (const char *line, const char *key)
{
  g_autofree char *k = g_strdup_printf ("%s=", key);
  const char *p = strstr (line, k);
  if (p == NULL)
    return NULL;
  p += strlen (k);
  const char *e = strchr (p, ' ');
  return e ? g_strndup (p, (gsize)(e - p)) : g_strdup (p);
}

static void
peer_start (Peer *p, guint n, guint i, const char *bootstrap)
{
  g_autofree char *dir = g_strdup_printf ("%s/r%u-p%u", tmp, n, i);
  g_autofree char *user = g_strdup_printf ("r%up%u@disco.example.org", n, i);
  p->status = g_strdup_printf ("%s/r%u-p%u.json", tmp, n, i);
  g_auto (GStrv) argv = disco_ring_test_peer_argv (&(DiscoRingTestPeerArgs){
      .disco = disco,
      .stabilize_ms = STABILIZE_MS,
      .listen = "127.0.0.1:0",
      .dir = dir,
      .user = user,
      .status = p->status,
      .bootstrap = bootstrap,
  });
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
  g_autoptr (GError) error = NULL;
  p->proc = g_subprocess_launcher_spawnv (l, (const char *const *)argv, &error);
  if (p->proc == NULL)
    g_error ("spawn: %s", error->message);
  g_autoptr (GDataInputStream) in
      = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->proc));
  g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  if (line == NULL)
    g_error ("peer %u gave no ready line", i);
  p->addr = ready_field (line, "overlay");
  p->node_id = ready_field (line, "node-id");
  g_autofree char *pid = ready_field (line, "pid");
  p->pid = pid ? atoi (pid) : 0;
}

static void
peer_stop (Peer *p, int sig)
{
  if (p->proc == NULL)
    return;
  g_subprocess_send_signal (p->proc, sig);
  g_subprocess_wait (p->proc, NULL, NULL);
  g_clear_object (&p->proc);
}

static void
peer_clear (Peer *p)
{
  peer_stop (p, SIGKILL);
  g_free (p->addr);
  g_free (p->node_id);
  g_free (p->status);
}

static gboolean
converged (Peer *peers, guint n_peers)
{
  g_autofree DiscoRingTestMember *m = g_new0 (DiscoRingTestMember, n_peers);
  for (guint i = 0; i < n_peers; i++)
    m[i] = (DiscoRingTestMember){ .node_id = peers[i].proc ? peers[i].node_id : NULL,
                                  .status = peers[i].status,
                                  .name = peers[i].node_id };
  return disco_ring_test_converged (m, n_peers, NULL) < 0;
}

static double
wait_converged (Peer *peers, guint n)
{
  gint64 t0 = g_get_monotonic_time ();
  while (!converged (peers, n))
    {
      if (g_get_monotonic_time () - t0 > TIMEOUT_S * G_USEC_PER_SEC)
        g_error ("a ring of %u did not converge within %d s", n, TIMEOUT_S);
      g_usleep (100 * 1000);
    }
  return (g_get_monotonic_time () - t0) / 1e6;
}

static guint
live_random (Peer *peers, guint n)
{
  guint i;
  do
    i = (guint)g_random_int_range (0, (gint)n);
  while (peers[i].proc == NULL);
  return i;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *v, double p)
{
  if (v->len == 0)
    return NAN;
  qsort (v->data, v->len, sizeof (double), cmp_double);
  guint i = (guint)MIN (v->len - 1, floor (p * (v->len - 1) + 0.5));
  return g_array_index (v, double, i);
}

static char *
run (const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (p == NULL || !g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error))
    g_error ("%s: %s", argv[0], error->message);
  if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
    g_error ("%s %s failed: %s%s", argv[0], argv[1], out ? out : "", err ? err : "");
  return g_steal_pointer (&out);
}

/* Stores 100 values through peer 0, then fetches them one at a time
 * through random peers; appends the answer times (ms) to @lat. */
static void
measure_fetch (Peer *peers, guint n, guint size, GArray *lat)
{
  g_autofree char *writer = g_strdup_printf ("%s/w%u", tmp, size);
  g_autofree char *reader = g_strdup_printf ("%s/reader", tmp);
  g_autofree char *wuser = g_strdup_printf ("w%u@disco.example.org", size);
  const char *sargv[] = { ring_client, "--peer",  peers[0].addr, "--data-dir", writer, "--user",
                          wuser,       "--store", "--from=0",    "--to=100",   NULL };
  g_free (run (sargv));
  guint per = 20;
  for (guint done = 0; done < (guint)fetches; done += per)
    {
      guint via = live_random (peers, n);
      g_autofree char *from = g_strdup_printf ("--from=%u", done % 100);
      g_autofree char *to = g_strdup_printf ("--to=%u", done % 100 + per);
      const char *fargv[] = { ring_client,
                              "--peer",
                              peers[via].addr,
                              "--data-dir",
                              reader,
                              "--user",
                              "reader@disco.example.org",
                              "--fetch",
                              wuser,
                              from,
                              to,
                              "--window=1",
                              NULL };
      g_autofree char *out = run (fargv);
      json_object *o = json_tokener_parse (out), *l = NULL;
      if (o && json_object_object_get_ex (o, "latency_us", &l))
        for (size_t i = 0; i < json_object_array_length (l); i++)
          {
            double ms = json_object_get_int64 (json_object_array_get_idx (l, i)) / 1000.0;
            g_array_append_val (lat, ms);
          }
      json_object_put (o);
    }
}

static void
measure_hops (Peer *peers, guint n, GArray *hops)
{
  g_autofree char *reader = g_strdup_printf ("%s/reader", tmp);
  for (gint r = 0; r < routes; r++)
    {
      guint via = live_random (peers, n);
      g_autofree char *target = g_strdup_printf ("%08x%08x%08x%08x", g_random_int (),
                                                 g_random_int (), g_random_int (), g_random_int ());
      const char *argv[] = { disco,    "route", "--peer", peers[via].addr, "--data-dir", reader,
                             "--json", target,  NULL };
      g_autofree char *out = run (argv);
      json_object *o = json_tokener_parse (out), *h = NULL;
      if (o && json_object_object_get_ex (o, "hops", &h))
        {
          double v = (double)json_object_array_length (h) - 1;
          g_array_append_val (hops, v);
        }
      json_object_put (o);
    }
}

/* Messages the peers forwarded (status files, rewritten each second) and
 * the CPU seconds they used (utime + stime), summed over the ring. */
static void
ring_load (Peer *peers, guint n, double *forwarded, double *cpu_s)
{
  *forwarded = 0;
  *cpu_s = 0;
  long hz = sysconf (_SC_CLK_TCK);
  for (guint i = 0; i < n; i++)
    {
      if (peers[i].proc == NULL)
        continue;
      g_autofree char *text = NULL;
      if (g_file_get_contents (peers[i].status, &text, NULL, NULL))
        {
          json_object *o = json_tokener_parse (text), *v = NULL;
          if (o && json_object_object_get_ex (o, "forwarded", &v))
            *forwarded += (double)json_object_get_int64 (v);
          json_object_put (o);
        }
      g_autofree char *path = g_strdup_printf ("/proc/%d/stat", peers[i].pid);
      g_autofree char *stat = NULL;
      if (g_file_get_contents (path, &stat, NULL, NULL))
        {
          const char *p = strrchr (stat, ')');
          unsigned long ut = 0, st = 0;
          /* fields after the name: state ppid pgrp session tty tpgid flags
           * minflt cminflt majflt cmajflt utime stime */
          if (p
              && sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st)
                     == 2)
            *cpu_s += (double)(ut + st) / (double)hz;
        }
    }
}

static long
rss_kb (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  const char *p = strstr (text, "VmRSS:");
  return p ? atol (p + 6) : 0;
}

typedef struct
{
  guint n;
  double converge, join, heal, hops_med, hops_p99, lat_med, lat_p99, rss_mb, fwd_per_cpu_s;
} Result;

static Result
bench_ring (guint n)
{
  Result res = { .n = n };
  Peer *peers = g_new0 (Peer, n + 1);
  peer_start (&peers[0], n, 0, NULL);
  for (guint i = 1; i < n; i++)
    peer_start (&peers[i], n, i, peers[g_random_int_range (0, (gint)MIN (i, SEEDS))].addr);
  res.converge = wait_converged (peers, n);

  g_autoptr (GArray) lat = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) hops = g_array_new (FALSE, FALSE, sizeof (double));
  double f0, c0, f1, c1;
  g_usleep (1200 * 1000); /* fresh status files */
  ring_load (peers, n, &f0, &c0);
  measure_fetch (peers, n, n, lat);
  g_usleep (1200 * 1000);
  ring_load (peers, n, &f1, &c1);
  /* Forwarding throughput per CPU-second the ring spent in that phase
   * (which includes answering, signing and the Updates: a lower bound). */
  res.fwd_per_cpu_s = c1 > c0 ? (f1 - f0) / (c1 - c0) : 0;
  if (n > 1)
    measure_hops (peers, n, hops);
  res.lat_med = percentile (lat, 0.5);
  res.lat_p99 = percentile (lat, 0.99);
  res.hops_med = hops->len ? percentile (hops, 0.5) : 0;
  res.hops_p99 = hops->len ? percentile (hops, 0.99) : 0;
  long rss = 0;
  for (guint i = 0; i < n; i++)
    rss += rss_kb (peers[i].pid);
  res.rss_mb = rss / 1024.0 / n;

  if (n > 1)
    {
      peer_start (&peers[n], n, n, peers[live_random (peers, n)].addr);
      res.join = wait_converged (peers, n + 1);
      guint victim = 1 + (guint)g_random_int_range (0, (gint)n);
      peer_stop (&peers[victim], SIGKILL);
      res.heal = wait_converged (peers, n + 1);
    }
  for (guint i = 0; i <= n; i++)
    peer_clear (&peers[i]);
  g_free (peers);
  return res;
}

int
main (int argc, char **argv)
{
  g_autofree char *sizes = NULL; /* a default set here would leak when --sizes replaces it */
  GOptionEntry entries[]
      = { { "sizes", 0, 0, G_OPTION_ARG_STRING, &sizes, "Ring sizes (10,50,100)", "N,N" },
          { "fetches", 0, 0, G_OPTION_ARG_INT, &fetches, "Fetches per ring (100)", "N" },
          { "routes", 0, 0, G_OPTION_ARG_INT, &routes, "Routes per ring (40)", "N" },
          { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- Chord ring benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, NULL) || fetches < 20 || routes < 1)
    return 2;
  if (sizes == NULL)
    sizes = g_strdup ("10,50,100");
  disco = g_getenv ("DISCO_BIN");
  ring_client = g_getenv ("DISCO_RING_CLIENT_BIN");
  if (disco == NULL || ring_client == NULL)
    {
      g_printerr ("bench-ring: DISCO_BIN and DISCO_RING_CLIENT_BIN must be set\n");
      return 2;
    }
  tmp = g_dir_make_tmp ("disco-bench-ring-XXXXXX", NULL);

  /* Baseline: the same Fetches answered by a lone peer (0 hops). */
  Result base = bench_ring (1);
  printf ("baseline (1 peer): Fetch median %.2f ms, p99 %.2f ms, RSS %.1f MB\n", base.lat_med,
          base.lat_p99, base.rss_mb);
  printf ("%5s %9s %7s %7s %9s %9s %9s %9s %7s %7s %7s %11s\n", "N", "converge", "hops50", "hops99",
          "½log2N", "fetch50", "fetch99", "x base", "join", "heal", "RSS MB", "fwd/cpu-s");
  g_auto (GStrv) list = g_strsplit (sizes, ",", -1);
  for (char **s = list; *s; s++)
    {
      guint n = (guint)atoi (*s);
      if (n < 2)
        continue;
      Result r = bench_ring (n);
      printf ("%5u %8.1fs %7.1f %7.1f %9.2f %7.2fms %7.2fms %8.2fx %6.1fs %6.1fs %7.1f %11.0f\n",
              r.n, r.converge, r.hops_med, r.hops_p99, 0.5 * log2 (n), r.lat_med, r.lat_p99,
              r.lat_med / base.lat_med, r.join, r.heal, r.rss_mb, r.fwd_per_cpu_s);
      fflush (stdout);
    }
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (rm) != 0)
    g_printerr ("could not remove %s\n", tmp);
  g_free (tmp);
  return 0;
}
