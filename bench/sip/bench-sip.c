/* bench-sip.c: SIP-side capacity of disco-focus against a bare sofia-sip
 * auto-answer UAS (bench-sofia-uas), measured in the same run with sipp.
 *
 *   bench-sip DISCO_FOCUS BASELINE SCENARIO [--quick]
 *
 * 1. Sustained joins: four sipp processes at increasing rates; every join
 *    is INVITE to media flowing (sipp streams PCMU RTP from the offered
 *    port for the 500 ms hold, the focus mixes and sends back).  Per step the
 *    success ratio and the target's CPU (utime+stime from /proc) give joins
 *    per second per core, the highest rate with zero failed calls, and for
 *    the step past it how the failures split: fast 503s (admission) or
 *    retransmission timeouts (collapse).
 * 2. Past capacity: disco-focus with [media] max-participants = 100 offered
 *    300 concurrent calls: how many are admitted, how many get a fast 503,
 *    how many time out (collapse); the baseline has no limit.
 * 3. Memory per call: RSS growth while 200 calls (with media) are held.
 */
#include <gio/gio.h>
#include <math.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct
{
  GSubprocess *proc;
  char *sip;
  int pid;
} Target;

static Target *
target_start (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  Target *t = g_new0 (Target, 1);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (l, "SU_DEBUG", "0", TRUE);
  t->proc = g_subprocess_launcher_spawnv (l, argv, &error);
  if (t->proc == NULL)
    g_error ("cannot start %s: %s", argv[0], error->message);
  g_autoptr (GDataInputStream) in
      = g_data_input_stream_new (g_subprocess_get_stdout_pipe (t->proc));
  char *line;
  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)))
    {
      if (g_str_has_prefix (line, "ready "))
        {
          g_auto (GStrv) parts = g_strsplit (line + 6, " ", -1);
          for (char **p = parts; *p; p++)
            if (g_str_has_prefix (*p, "sip="))
              t->sip = g_strdup (*p + 4);
            else if (g_str_has_prefix (*p, "pid="))
              t->pid = atoi (*p + 4);
          g_free (line);
          break;
        }
      g_free (line);
    }
  if (t->sip == NULL)
    g_error ("%s printed no ready line", argv[0]);
  return t;
}

static void
target_stop (Target *t)
{
  g_subprocess_send_signal (t->proc, SIGTERM);
  g_subprocess_wait (t->proc, NULL, NULL);
  g_object_unref (t->proc);
  g_free (t->sip);
  g_free (t);
}

static double
cpu_seconds (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  unsigned long ut = 0, st = 0;
  if (g_file_get_contents (path, &stat, NULL, NULL))
    {
      const char *p = strrchr (stat, ')');
      if (p)
        sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    }
  return (ut + st) / (double)sysconf (_SC_CLK_TCK);
}

static long
rss_kb (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *status = NULL;
  if (!g_file_get_contents (path, &status, NULL, NULL))
    return 0;
  const char *r = strstr (status, "VmRSS:");
  return r ? strtol (r + 6, NULL, 10) : 0;
}

static guint
free_port (void)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_socket_bind (s, any, FALSE, NULL);
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

/* G.711 mu-law encoder (the bias-and-segment form of ITU-T G.711). */
static guint8
ulaw_encode (gint16 pcm)
{
  int sign = pcm < 0 ? 0x80 : 0, v = pcm < 0 ? -(int)pcm : pcm;
  v = MIN (v, 32635) + 0x84;
  int exp = 7;
  for (int mask = 0x4000; !(v & mask) && exp > 0; mask >>= 1)
    exp--;
  int mant = (v >> (exp + 3)) & 0x0f;
  return (guint8) ~(sign | (exp << 4) | mant);
}

/* 2 s of a 440 Hz tone, raw mu-law, for the scenario's rtp_stream. */
static void
write_tone (const char *dir)
{
  guint8 buf[16000];
  for (guint i = 0; i < sizeof buf; i++)
    buf[i] = ulaw_encode ((gint16)(8000 * sin (2 * G_PI * 440 * i / 8000.0)));
  g_autofree char *path = g_build_filename (dir, "tone.pcmu", NULL);
  g_file_set_contents (path, (const char *)buf, sizeof buf, NULL);
}

typedef struct
{
  guint64 created, ok, failed, unexpected, retrans;
} Stats;

/* Adds the cumulative counters of the last row of a sipp -trace_stat CSV. */
static void
add_csv (const char *path, Stats *s)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (g_strstrip (text), "\n", -1);
  guint n = g_strv_length (lines);
  if (n < 2)
    return;
  g_auto (GStrv) head = g_strsplit (lines[0], ";", -1);
  g_auto (GStrv) last = g_strsplit (lines[n - 1], ";", -1);
  for (guint i = 0; head[i] && last[i]; i++)
    {
      guint64 v = g_ascii_strtoull (last[i], NULL, 10);
      if (g_str_equal (head[i], "TotalCallCreated"))
        s->created += v;
      else if (g_str_equal (head[i], "SuccessfulCall(C)"))
        s->ok += v;
      else if (g_str_equal (head[i], "FailedCall(C)"))
        s->failed += v;
      else if (g_str_equal (head[i], "FailedUnexpectedMessage(C)"))
        s->unexpected += v;
      else if (g_str_equal (head[i], "FailedMaxUDPRetrans(C)"))
        s->retrans += v;
    }
}

static gboolean
udp_free (guint port)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, port);
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  return s && g_socket_bind (s, sa, FALSE, NULL);
}

/* sipp binds -mp and [auto_media_port] walks up from it: start each
 * process in its own 10000-port block below the ephemeral range, at a port
 * that is free now. */
static guint
media_base (guint i)
{
  for (guint tries = 0; tries < 100; tries++)
    {
      guint port = 10000 + i * 10000 + g_random_int_range (0, 500) * 2;
      if (udp_free (port) && udp_free (port + 2))
        return port;
    }
  return 10000 + i * 10000;
}

typedef struct
{
  GSubprocess *p[8];
  char *dirs[8];
  guint procs, done;
} SippRun;

static void
sipp_done (GObject *src, GAsyncResult *res, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (src), res, NULL);
  ((SippRun *)data)->done++;
}

/* @procs sipp processes, each @rate calls/s, @calls calls, held @hold_ms. */
static SippRun *
sipp_start (const char *scenario, const char *target, guint procs, guint rate, guint calls,
            guint hold_ms)
{
  SippRun *run = g_new0 (SippRun, 1);
  run->procs = procs;
  for (guint i = 0; i < procs; i++)
    {
      run->dirs[i] = g_dir_make_tmp ("disco-bench-sipp-XXXXXX", NULL);
      write_tone (run->dirs[i]);
      g_autofree char *r = g_strdup_printf ("%u", rate);
      g_autofree char *m = g_strdup_printf ("%u", calls);
      g_autofree char *d = g_strdup_printf ("%u", hold_ms);
      g_autofree char *port = g_strdup_printf ("%u", free_port ());
      g_autofree char *cport = g_strdup_printf ("%u", free_port ());
      g_autofree char *mport = g_strdup_printf ("%u", media_base (i));
      g_autofree char *csv = g_build_filename (run->dirs[i], "stat.csv", NULL);
      const char *argv[]
          = { "sipp",      target, "-sf", scenario,   "-s",          "conf", "-i",
              "127.0.0.1", "-p",   port,  "-mp",      mport,         "-ci",  "127.0.0.1",
              "-cp",       cport,  "-r",  r,          "-m",          m,      "-l",
              "5000",      "-d",   d,     "-nostdin", "-timeout",    "120s", "-trace_stat",
              "-stf",      csv,    "-fd", "1",        "-max_socket", "4096", NULL };
      g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
          G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
      g_subprocess_launcher_set_cwd (l, run->dirs[i]);
      run->p[i] = g_subprocess_launcher_spawnv (l, argv, NULL);
      g_subprocess_wait_async (run->p[i], NULL, sipp_done, run);
    }
  return run;
}

static gboolean
sipp_running (SippRun *run)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return run->done < run->procs;
}

static void
sipp_finish (SippRun *run, Stats *st)
{
  memset (st, 0, sizeof *st);
  while (sipp_running (run))
    g_usleep (20 * 1000);
  for (guint i = 0; i < run->procs; i++)
    {
      g_object_unref (run->p[i]);
      g_autofree char *csv = g_build_filename (run->dirs[i], "stat.csv", NULL);
      if (!g_file_test (csv, G_FILE_TEST_EXISTS))
        printf ("  (warning: sipp process %u wrote no statistics; it did not start)\n", i);
      add_csv (csv, st);
      g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", run->dirs[i]);
      (void)!system (cmd);
      g_free (run->dirs[i]);
    }
  g_free (run);
}

static void
run_sipp (const char *scenario, const char *target, guint procs, guint rate, guint calls,
          guint hold_ms, Stats *st)
{
  sipp_finish (sipp_start (scenario, target, procs, rate, calls, hold_ms), st);
}

static void
phase_joins (const char *name, Target *t, const char *scenario, gboolean quick)
{
  static const guint rates[] = { 50, 100, 200, 400, 800, 1200, 1600 };
  const guint seconds = quick ? 3 : 6, procs = 4;
  guint best = 0, past = 0;
  double best_per_core = 0;
  printf ("\n[%s] sustained joins with media (%u sipp processes, calls held 500 ms with RTP,"
          " %u s per step)\n",
          name, procs, seconds);
  printf ("  %8s %8s %8s %8s %8s %8s %10s %14s\n", "cps", "created", "ok", "failed", "503s",
          "timeouts", "cpu-s", "joins/s/core");
  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    {
      Stats st;
      double c0 = cpu_seconds (t->pid);
      run_sipp (scenario, t->sip, procs, rates[i] / procs, rates[i] / procs * seconds, 500, &st);
      double cpu = cpu_seconds (t->pid) - c0;
      double per_core = cpu > 0 ? st.ok / cpu : 0;
      printf ("  %8u %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT
              " %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %10.2f %14.0f\n",
              rates[i], st.created, st.ok, st.failed, st.unexpected, st.retrans, cpu, per_core);
      fflush (stdout);
      g_usleep (1500 * 1000); /* let held calls end */
      if (st.failed == 0 && st.ok == st.created && st.created > 0 && past == 0)
        {
          best = rates[i];
          best_per_core = per_core;
        }
      else if (st.failed > 0 && ++past >= 2)
        break; /* two steps past the limit show how it degrades */
    }
  printf ("  => highest 100%%-success rate: %u joins/s; %.0f joins per CPU-second at that rate\n",
          best, best_per_core);
}

static void
phase_capacity (const char *name, Target *t, const char *scenario)
{
  Stats st;
  /* 60 calls/s held 5 s = 300 concurrent offered. */
  run_sipp (scenario, t->sip, 1, 60, 600, 5000, &st);
  printf ("\n[%s] 300 concurrent offered (60 cps, held 5 s, 600 calls)\n", name);
  printf ("  ok %" G_GUINT64_FORMAT ", failed %" G_GUINT64_FORMAT
          " (fast rejections %" G_GUINT64_FORMAT ", retransmission timeouts %" G_GUINT64_FORMAT
          ")\n",
          st.ok, st.failed, st.unexpected, st.retrans);
  fflush (stdout);
}

static void
phase_memory (const char *name, Target *t, const char *scenario)
{
  Stats st;
  long before = rss_kb (t->pid), peak = before;
  /* 200 calls set up in 2 s and held 8 s; sample RSS meanwhile. */
  SippRun *run = sipp_start (scenario, t->sip, 1, 100, 200, 8000);
  while (sipp_running (run))
    {
      long r = rss_kb (t->pid);
      if (r > peak)
        peak = r;
      g_usleep (200 * 1000);
    }
  sipp_finish (run, &st);
  g_usleep (2 * G_USEC_PER_SEC);
  printf ("\n[%s] memory: RSS %ld kB idle, %ld kB with 200 calls held => %.1f kB per call"
          " (%" G_GUINT64_FORMAT "/200 calls ok); %ld kB after they ended\n",
          name, before, peak, (peak - before) / 200.0, st.ok, rss_kb (t->pid));
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  if (argc < 4)
    {
      fprintf (stderr, "usage: %s DISCO_FOCUS BASELINE SCENARIO [--quick]\n", argv[0]);
      return 2;
    }
  gboolean quick = argc > 4 && g_str_equal (argv[4], "--quick");
  /* sipp runs in temporary directories: absolute paths only. */
  for (int i = 1; i <= 3; i++)
    argv[i] = g_canonicalize_filename (argv[i], NULL);
  g_autofree char *data = g_dir_make_tmp ("disco-bench-XXXXXX", NULL);
  const char *base_argv[] = { argv[2], NULL };
  const char *focus_argv[] = { argv[1],
                               "--sip-listen=127.0.0.1:0",
                               "--http-listen=127.0.0.1:0",
                               "--overlay-listen=127.0.0.1:0",
                               "--data-dir",
                               data,
                               "--conference=sip:conf@127.0.0.1",
                               "--max-participants=100000",
                               NULL };
  const char *capped_argv[] = { argv[1],
                                "--sip-listen=127.0.0.1:0",
                                "--http-listen=127.0.0.1:0",
                                "--overlay-listen=127.0.0.1:0",
                                "--data-dir",
                                data,
                                "--conference=sip:conf@127.0.0.1",
                                "--max-participants=100",
                                NULL };
  printf (
      "SIP benchmark: disco-focus vs bare sofia-sip auto-answer (same run, loopback, %ld CPUs)\n",
      sysconf (_SC_NPROCESSORS_ONLN));

  /* Memory first, on a fresh process; then the join ladder. */
  Target *base = target_start (base_argv);
  phase_memory ("baseline", base, argv[3]);
  phase_joins ("baseline", base, argv[3], quick);
  phase_capacity ("baseline", base, argv[3]);
  target_stop (base);

  Target *focus = target_start (focus_argv);
  phase_memory ("disco-focus", focus, argv[3]);
  phase_joins ("disco-focus", focus, argv[3], quick);
  printf ("  RSS after the ladder: %ld kB\n", rss_kb (focus->pid));
  target_stop (focus);

  Target *capped = target_start (capped_argv);
  phase_capacity ("disco-focus max-participants=100", capped, argv[3]);
  target_stop (capped);

  g_rmdir (data);
  return 0;
}
