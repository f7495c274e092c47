/* bench-mixer.c: CPU cost of discomixer per input per 20 ms tick, against
 * stock audiomixer in the same run.
 *
 * Every variant is fed by one thread pushing 20 ms S16LE mono 48 kHz buffers
 * into the mixers' sink pads as fast as they are consumed (non-live, so the
 * run is CPU bound); process CPU time (all threads) is divided by inputs x
 * ticks.  3 of the N inputs carry a tone ("talkers"), the rest silence.
 *
 *   disco      one discomixer, N sink pads, "src" + 3 "minus_%u" pads
 *   disco-full one discomixer, N sink pads, "src" only (like for like with
 *              "full")
 *   full       one audiomixer, N sink pads, full mix only (no mix-minus):
 *              the per-input cost of the stock element
 *   kurento    N audiomixers of N-1 inputs each (Kurento kmsaudiomixer
 *              style mix-minus), without the tee/queue threads Kurento adds,
 *              so it flatters audiomixer
 *
 * Each figure is the best of REPEATS runs: the machine is shared, and the
 * minimum is the least disturbed estimate.
 *
 * Usage: bench-mixer [--quick]
 *        bench-mixer --only disco|full|kurento N   (one variant, for perf)
 */
#include "disco-mixer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define RATE 48000
#define FRAMES 960
#define TICK (20 * GST_MSECOND)
#define TALKERS 3
#define REPEATS 3
#define CAPS_STR "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1"

typedef struct
{
  GstPad *pad; /* our src pad feeding a mixer sink pad */
  guint input; /* which participant's signal it carries */
} Feed;

typedef struct
{
  GstElement *pipeline;
  GArray *feeds;     /* Feed */
  GPtrArray *mixers; /* GstElement*, not owned */
  gint outputs;      /* atomic: buffers seen on the mixers' src pads */
  GstBuffer *tone[TALKERS];
  GstBuffer *silence;
} Bench;

static GstPadProbeReturn
count_output (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Bench *b = user_data;
  g_atomic_int_inc (&b->outputs);
  return GST_PAD_PROBE_OK;
}

static GstBuffer *
make_buffer (double amplitude, double freq)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, FRAMES * sizeof (gint16), NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (guint i = 0; i < FRAMES; i++)
    ((gint16 *)map.data)[i] = (gint16)lrint (amplitude * sin (2 * G_PI * freq * i / RATE));
  gst_buffer_unmap (buf, &map);
  return buf;
}

static GstElement *
add_sink (Bench *b, GstPad *srcpad)
{
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  GstPad *sinkpad;

  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (b->pipeline), sink);
  sinkpad = gst_element_get_static_pad (sink, "sink");
  if (gst_pad_link (srcpad, sinkpad) != GST_PAD_LINK_OK)
    g_error ("link to fakesink failed");
  gst_object_unref (sinkpad);
  return sink;
}

static GstElement *
add_mixer (Bench *b, const char *factory)
{
  GstElement *mixer = gst_element_factory_make (factory, NULL);
  GstPad *src;

  if (mixer == NULL)
    g_error ("no element %s", factory);
  /* "latency" also sizes the sink pad queues (here 5 ticks), so the feeding
   * thread does not ping-pong with the mixer thread on every buffer: that
   * handoff cost would otherwise swamp the mixing cost being measured. */
  g_object_set (mixer, "output-buffer-duration", (guint64)TICK, "latency", (guint64)(5 * TICK),
                NULL);
  gst_bin_add (GST_BIN (b->pipeline), mixer);
  src = gst_element_get_static_pad (mixer, "src");
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, count_output, b, NULL);
  add_sink (b, src);
  gst_object_unref (src);
  g_ptr_array_add (b->mixers, mixer);
  return mixer;
}

static GstPad *
add_feed (Bench *b, GstElement *mixer, guint input)
{
  GstPad *sinkpad = gst_element_request_pad_simple (mixer, "sink_%u");
  Feed f = { gst_pad_new (NULL, GST_PAD_SRC), input };

  if (gst_pad_link (f.pad, sinkpad) != GST_PAD_LINK_OK)
    g_error ("link feed failed");
  g_array_append_val (b->feeds, f);
  return sinkpad; /* caller unrefs */
}

static void
bench_init (Bench *b)
{
  memset (b, 0, sizeof *b);
  b->pipeline = gst_pipeline_new (NULL);
  b->feeds = g_array_new (FALSE, FALSE, sizeof (Feed));
  b->mixers = g_ptr_array_new ();
  for (guint i = 0; i < TALKERS; i++)
    b->tone[i] = make_buffer (6000, 300.0 + 200.0 * i);
  b->silence = make_buffer (0, 100);
}

static void
bench_clear (Bench *b)
{
  gst_element_set_state (b->pipeline, GST_STATE_NULL);
  for (guint i = 0; i < b->feeds->len; i++)
    {
      Feed *f = &g_array_index (b->feeds, Feed, i);
      gst_pad_set_active (f->pad, FALSE);
      gst_object_unref (f->pad);
    }
  g_array_free (b->feeds, TRUE);
  g_ptr_array_free (b->mixers, TRUE);
  for (guint i = 0; i < TALKERS; i++)
    gst_buffer_unref (b->tone[i]);
  gst_buffer_unref (b->silence);
  gst_object_unref (b->pipeline);
}

static void
bench_start (Bench *b)
{
  GstCaps *caps = gst_caps_from_string (CAPS_STR);
  GstSegment segment;

  gst_segment_init (&segment, GST_FORMAT_TIME);
  if (gst_element_set_state (b->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    g_error ("pipeline failed to start");
  for (guint i = 0; i < b->feeds->len; i++)
    {
      Feed *f = &g_array_index (b->feeds, Feed, i);
      g_autofree char *id = g_strdup_printf ("bench-feed-%u", i);

      gst_pad_set_active (f->pad, TRUE);
      gst_pad_push_event (f->pad, gst_event_new_stream_start (id));
      gst_pad_push_event (f->pad, gst_event_new_caps (caps));
      gst_pad_push_event (f->pad, gst_event_new_segment (&segment));
    }
  gst_caps_unref (caps);
}

static void
bench_push_tick (Bench *b, guint tick)
{
  for (guint i = 0; i < b->feeds->len; i++)
    {
      Feed *f = &g_array_index (b->feeds, Feed, i);
      GstBuffer *src = f->input < TALKERS ? b->tone[f->input] : b->silence;
      GstBuffer *buf = gst_buffer_copy (src); /* shares the memory */

      GST_BUFFER_PTS (buf) = tick * TICK;
      GST_BUFFER_DURATION (buf) = TICK;
      if (gst_pad_push (f->pad, buf) != GST_FLOW_OK)
        g_error ("push failed");
    }
}

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Runs @ticks measured ticks after a warm-up; returns CPU seconds. */
static double
bench_run (Bench *b, guint ticks, double *wall)
{
  const guint warmup = 5;
  gint expected;
  double c0;
  gint64 t0;

  bench_start (b);
  for (guint t = 0; t < warmup; t++)
    bench_push_tick (b, t);
  expected = (gint)(b->mixers->len * warmup);
  while (g_atomic_int_get (&b->outputs) < expected)
    g_usleep (200);

  c0 = cpu_seconds ();
  t0 = g_get_monotonic_time ();
  for (guint t = warmup; t < warmup + ticks; t++)
    bench_push_tick (b, t);
  expected = (gint)(b->mixers->len * (warmup + ticks));
  while (g_atomic_int_get (&b->outputs) < expected)
    g_usleep (200);
  *wall = (g_get_monotonic_time () - t0) / 1e6;
  return cpu_seconds () - c0;
}

static double
run_disco_outputs (guint n, guint ticks, double *wall, guint minus_pads)
{
  Bench b;
  GstElement *mix;
  double cpu;

  bench_init (&b);
  mix = add_mixer (&b, "discomixer");
  for (guint i = 0; i < n; i++)
    {
      GstPad *sinkpad = add_feed (&b, mix, i);
      if (i < minus_pads)
        {
          g_autofree char *name = g_strdup_printf ("minus_%s", GST_PAD_NAME (sinkpad) + 5);
          GstPad *minus = gst_element_request_pad_simple (mix, name);
          add_sink (&b, minus);
          gst_object_unref (minus);
        }
      gst_object_unref (sinkpad);
    }
  cpu = bench_run (&b, ticks, wall);
  bench_clear (&b);
  return cpu;
}

static double
run_disco (guint n, guint ticks, double *wall)
{
  return run_disco_outputs (n, ticks, wall, TALKERS);
}

/* Full mix only: like for like with "full". */
static double
run_disco_full (guint n, guint ticks, double *wall)
{
  return run_disco_outputs (n, ticks, wall, 0);
}

static double
run_full (guint n, guint ticks, double *wall)
{
  Bench b;
  GstElement *mix;
  double cpu;

  bench_init (&b);
  mix = add_mixer (&b, "audiomixer");
  for (guint i = 0; i < n; i++)
    gst_object_unref (add_feed (&b, mix, i));
  cpu = bench_run (&b, ticks, wall);
  bench_clear (&b);
  return cpu;
}

static double
run_kurento (guint n, guint ticks, double *wall)
{
  Bench b;
  double cpu;

  bench_init (&b);
  for (guint j = 0; j < n; j++)
    {
      GstElement *mix = add_mixer (&b, "audiomixer");
      for (guint i = 0; i < n; i++)
        if (i != j)
          gst_object_unref (add_feed (&b, mix, i));
    }
  cpu = bench_run (&b, ticks, wall);
  bench_clear (&b);
  return cpu;
}

typedef double (*RunFunc) (guint n, guint ticks, double *wall);

static double
best_of (RunFunc run, guint n, guint ticks, double *wall)
{
  double best = G_MAXDOUBLE;

  for (guint r = 0; r < REPEATS; r++)
    {
      double w, cpu = run (n, ticks, &w);
      if (cpu < best)
        {
          best = cpu;
          *wall = w;
        }
    }
  return best;
}

static void
report (const char *variant, guint n, guint ticks, double cpu, double wall)
{
  double per_input = cpu * 1e6 / ((double)n * ticks);
  double per_tick = cpu * 1e6 / ticks;

  printf ("%-10s N=%-5u ticks=%-5u cpu=%7.3f s wall=%7.3f s  %8.2f us/input/tick  %9.1f us/tick "
          "(%5.1f%% of a core in real time)\n",
          variant, n, ticks, cpu, wall, per_input, per_tick, per_tick / 200.0);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gboolean quick = argc > 1 && strcmp (argv[1], "--quick") == 0;
  static const guint sizes[] = { 10, 100, 1000 };
  static const guint kurento_sizes[] = { 10, 30 };

  gst_init (&argc, &argv);
  if (!disco_mixer_plugin_register (&error))
    g_error ("%s", error->message);

  if (argc == 4 && strcmp (argv[1], "--only") == 0)
    {
      RunFunc run = strcmp (argv[2], "disco") == 0        ? run_disco
                    : strcmp (argv[2], "disco-full") == 0 ? run_disco_full
                    : strcmp (argv[2], "full") == 0       ? run_full
                                                          : run_kurento;
      guint n = (guint)g_ascii_strtoull (argv[3], NULL, 10);
      guint ticks = n ? MIN (2000, 200000 / n) : 0;
      double wall;

      if (n < 2)
        g_error ("N must be at least 2");
      double cpu = run (n, ticks, &wall);
      report (argv[2], n, ticks, cpu, wall);
      return 0;
    }

  printf ("# discomixer vs audiomixer, 20 ms ticks, S16LE mono 48 kHz, %d talkers\n", TALKERS);
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      guint n = sizes[k];
      guint ticks = (quick ? 20000 : 100000) / n;
      double wd, wdf, wf;

      if (ticks > 1000)
        ticks = 1000;
      double disco = best_of (run_disco, n, ticks, &wd);
      double disco_full = best_of (run_disco_full, n, ticks, &wdf);
      double full = best_of (run_full, n, ticks, &wf);
      report ("disco", n, ticks, disco, wd);
      report ("disco-full", n, ticks, disco_full, wdf);
      report ("full", n, ticks, full, wf);
      printf ("ratio    N=%-5u audiomixer-full-mix / discomixer(full only) = %.2f\n", n,
              full / disco_full);
      printf ("ratio    N=%-5u audiomixer-full-mix / discomixer(full+3 minus) = %.2f\n", n,
              full / disco);
    }
  for (guint k = 0; k < G_N_ELEMENTS (kurento_sizes); k++)
    {
      guint n = kurento_sizes[k];
      guint ticks = quick ? 100 : 500;
      double wd, wk;
      double disco = best_of (run_disco, n, ticks, &wd);
      double kurento = best_of (run_kurento, n, ticks, &wk);

      report ("disco", n, ticks, disco, wd);
      report ("kurento", n, ticks, kurento, wk);
      printf ("ratio    N=%-5u kurento(N x audiomixer of N-1) / discomixer = %.1f\n", n,
              kurento / disco);
    }
  return 0;
}
