/* test-mixer.c: the discomixer element, driven by GstHarness (deterministic
 * sample values, talker hysteresis) and by real pipelines (tones, pad churn
 * while PLAYING). */
#include "disco-mixer.h"
#include "disco-tone.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstharness.h>
#include <math.h>
#include <string.h>

#define RATE 48000
#define TICK_FRAMES 960 /* 20 ms */
#define TICK (20 * GST_MSECOND)
#define CAPS_STR                                                                                   \
  "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)48000, "               \
  "channels=(int)1"

static GstBuffer *
const_buffer (gint16 value, guint tick)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, TICK_FRAMES * sizeof (gint16), NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (guint i = 0; i < TICK_FRAMES; i++)
    ((gint16 *)map.data)[i] = value;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = tick * TICK;
  GST_BUFFER_DURATION (buf) = TICK;
  return buf;
}

/* A tick of a sine that continues across ticks (phase from the tick number). */
static GstBuffer *
sine_buffer (double amplitude, double freq, guint tick)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, TICK_FRAMES * sizeof (gint16), NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (guint i = 0; i < TICK_FRAMES; i++)
    {
      double t = (double)(tick * TICK_FRAMES + i) / RATE;
      ((gint16 *)map.data)[i] = (gint16)lrint (amplitude * sin (2 * G_PI * freq * t));
    }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = tick * TICK;
  GST_BUFFER_DURATION (buf) = TICK;
  return buf;
}

static void
assert_all (GstBuffer *buf, gint expected, guint tick)
{
  GstMapInfo map;

  g_assert_nonnull (buf);
  g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, tick * TICK);
  g_assert_cmpuint (GST_BUFFER_DURATION (buf), ==, TICK);
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
  g_assert_cmpuint (map.size, ==, TICK_FRAMES * sizeof (gint16));
  for (guint i = 0; i < TICK_FRAMES; i++)
    g_assert_cmpint (((const gint16 *)map.data)[i], ==, expected);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
}

static void
set_pad_property (GstElement *element, const char *pad_name, const char *prop, ...)
{
  GstPad *pad = gst_element_get_static_pad (element, pad_name);
  va_list ap;

  g_assert_nonnull (pad);
  va_start (ap, prop);
  g_object_set_valist (G_OBJECT (pad), prop, ap);
  va_end (ap);
  gst_object_unref (pad);
}

static void
test_register (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElementFactory) factory = NULL;
  g_autoptr (GstElement) mixer = NULL;
  gint rate = 0;
  guint64 duration = 0;

  g_assert_true (disco_mixer_plugin_register (&error));
  g_assert_no_error (error);
  g_assert_true (disco_mixer_plugin_register (&error)); /* idempotent */
  g_assert_no_error (error);

  factory = gst_element_factory_find ("discomixer");
  g_assert_nonnull (factory);
  mixer = gst_element_factory_create (factory, NULL);
  g_assert_true (DISCO_IS_MIXER (mixer));
  g_assert_true (GST_IS_AUDIO_AGGREGATOR (mixer));
  g_object_get (mixer, "rate", &rate, "output-buffer-duration", &duration, NULL);
  g_assert_cmpint (rate, ==, 48000);
  g_assert_cmpuint (duration, ==, 20 * GST_MSECOND);

  /* A minus pad needs an existing sink pad (GStreamer itself rejects a
   * second pad of the same name). */
  g_assert_null (gst_element_request_pad_simple (mixer, "minus_7"));
  g_assert_null (gst_element_request_pad_simple (mixer, "minus_%u"));
  GstPad *local = gst_element_request_pad_simple (mixer, "local");
  g_assert_nonnull (local);
  GstPad *sink = gst_element_request_pad_simple (mixer, "sink_%u");
  g_assert_nonnull (sink);
  g_autofree char *minus_name = g_strdup_printf ("minus_%s", GST_PAD_NAME (sink) + 5);
  GstPad *minus = gst_element_request_pad_simple (mixer, minus_name);
  g_assert_nonnull (minus);
  gst_element_release_request_pad (mixer, minus);
  gst_element_release_request_pad (mixer, local);
  gst_element_release_request_pad (mixer, sink);
  gst_object_unref (minus);
  gst_object_unref (local);
  gst_object_unref (sink);

  /* Disposing the element with extra pads still requested is safe. */
  GstElement *other = gst_element_factory_make ("discomixer", NULL);
  sink = gst_element_request_pad_simple (other, "sink_%u");
  gst_object_unref (sink);
  gst_object_unref (gst_element_request_pad_simple (other, "local"));
  gst_object_unref (gst_element_request_pad_simple (other, "minus_0"));
  g_assert_cmpuint (other->numsrcpads, ==, 3);
  gst_object_unref (other);
}

/* Three participants with known constant values (one with gain): the full
 * mix is their sum and each minus pad is the sum without its own input,
 * exactly, with the same timestamps and caps as "src". */
static void
test_sum_and_minus (void)
{
  GstHarness *h0 = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstHarness *h1 = gst_harness_new_with_element (h0->element, "sink_1", NULL);
  GstHarness *h2 = gst_harness_new_with_element (h0->element, "sink_2", NULL);
  GstHarness *m0 = gst_harness_new_with_element (h0->element, NULL, "minus_0");
  GstHarness *m1 = gst_harness_new_with_element (h0->element, NULL, "minus_1");
  GstHarness *m2 = gst_harness_new_with_element (h0->element, NULL, "minus_2");
  guint64 ticks = 0;

  gst_harness_set_src_caps_str (h0, CAPS_STR);
  gst_harness_set_src_caps_str (h1, CAPS_STR);
  gst_harness_set_src_caps_str (h2, CAPS_STR);
  set_pad_property (h0->element, "sink_1", "gain", 0.5, NULL);

  for (guint t = 0; t < 3; t++)
    {
      gst_harness_push (h0, const_buffer (1000, t));
      gst_harness_push (h1, const_buffer (4000, t)); /* x0.5 = 2000 */
      gst_harness_push (h2, const_buffer (-3500, t));

      assert_all (gst_harness_pull (h0), 1000 + 2000 - 3500, t);
      assert_all (gst_harness_pull (m0), 2000 - 3500, t);
      assert_all (gst_harness_pull (m1), 1000 - 3500, t);
      assert_all (gst_harness_pull (m2), 1000 + 2000, t);
    }

  GstCaps *expected = gst_caps_from_string (CAPS_STR);
  GstCaps *caps = gst_pad_get_current_caps (m2->sinkpad);
  g_assert_nonnull (caps);
  g_assert_true (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);

  /* Muting a participant removes it from every output. */
  set_pad_property (h0->element, "sink_2", "mute", TRUE, NULL);
  gst_harness_push (h0, const_buffer (1000, 3));
  gst_harness_push (h1, const_buffer (4000, 3));
  gst_harness_push (h2, const_buffer (-3500, 3));
  assert_all (gst_harness_pull (h0), 3000, 3);
  assert_all (gst_harness_pull (m0), 2000, 3);
  assert_all (gst_harness_pull (m1), 1000, 3);
  assert_all (gst_harness_pull (m2), 3000, 3);

  g_object_get (h0->element, "ticks", &ticks, NULL);
  g_assert_cmpuint (ticks, ==, 4);

  gst_harness_teardown (m0);
  gst_harness_teardown (m1);
  gst_harness_teardown (m2);
  gst_harness_teardown (h2);
  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
}

/* A talker's minus pad comes and goes while the mix runs: it starts with
 * events and the right content, and can be requested again after release. */
static void
test_minus_mid_stream (void)
{
  GstHarness *h0 = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstHarness *h1 = gst_harness_new_with_element (h0->element, "sink_1", NULL);
  guint t = 0;

  gst_harness_set_src_caps_str (h0, CAPS_STR);
  gst_harness_set_src_caps_str (h1, CAPS_STR);
  for (guint round = 0; round < 3; round++)
    {
      gst_harness_push (h0, const_buffer (1000, t));
      gst_harness_push (h1, const_buffer (2000, t));
      assert_all (gst_harness_pull (h0), 3000, t);
      t++;

      GstHarness *m0 = gst_harness_new_with_element (h0->element, NULL, "minus_0");
      for (guint i = 0; i < 2; i++, t++)
        {
          gst_harness_push (h0, const_buffer (1000, t));
          gst_harness_push (h1, const_buffer (2000, t));
          assert_all (gst_harness_pull (h0), 3000, t);
          assert_all (gst_harness_pull (m0), 2000, t);
        }
      GstCaps *caps = gst_pad_get_current_caps (m0->sinkpad);
      g_assert_nonnull (caps);
      gst_caps_unref (caps);
      gst_harness_teardown (m0);
    }

  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
}

/* "local" carries participants only; "src" and minus pads include cascades. */
static void
test_local_excludes_cascade (void)
{
  GstHarness *h0 = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstHarness *h1 = gst_harness_new_with_element (h0->element, "sink_1", NULL);
  GstHarness *hc = gst_harness_new_with_element (h0->element, "sink_2", NULL);
  GstHarness *local = gst_harness_new_with_element (h0->element, NULL, "local");
  GstHarness *m0 = gst_harness_new_with_element (h0->element, NULL, "minus_0");

  set_pad_property (h0->element, "sink_2", "kind", DISCO_MIXER_PAD_KIND_CASCADE, NULL);
  gst_harness_set_src_caps_str (h0, CAPS_STR);
  gst_harness_set_src_caps_str (h1, CAPS_STR);
  gst_harness_set_src_caps_str (hc, CAPS_STR);

  for (guint t = 0; t < 2; t++)
    {
      gst_harness_push (h0, const_buffer (1000, t));
      gst_harness_push (h1, const_buffer (2000, t));
      gst_harness_push (hc, const_buffer (5000, t));
      assert_all (gst_harness_pull (h0), 8000, t);
      assert_all (gst_harness_pull (local), 3000, t);
      assert_all (gst_harness_pull (m0), 7000, t);
    }

  /* Kind can change at runtime (a participant turned into a cascade leg). */
  set_pad_property (h0->element, "sink_1", "kind", DISCO_MIXER_PAD_KIND_CASCADE, NULL);
  gst_harness_push (h0, const_buffer (1000, 2));
  gst_harness_push (h1, const_buffer (2000, 2));
  gst_harness_push (hc, const_buffer (5000, 2));
  assert_all (gst_harness_pull (h0), 8000, 2);
  assert_all (gst_harness_pull (local), 1000, 2);
  assert_all (gst_harness_pull (m0), 7000, 2);

  gst_harness_teardown (local);
  gst_harness_teardown (m0);
  gst_harness_teardown (hc);
  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
}

/* Four loud in-phase sines: without a limiter the int16 sum would wrap.
 * Every output sample must keep the sign of the true sum, stay in range,
 * equal the true sum below the knee and be compressed (not clipped flat
 * below the knee) above it; quiet sums stay bit-exact. */
static void
test_limiter (void)
{
  GstHarness *h[4];
  GstHarness *m0;
  const double amp = 30000.0;
  gint16 prev = 0;

  h[0] = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  for (guint i = 1; i < 4; i++)
    {
      g_autofree char *name = g_strdup_printf ("sink_%u", i);
      h[i] = gst_harness_new_with_element (h[0]->element, name, NULL);
    }
  m0 = gst_harness_new_with_element (h[0]->element, NULL, "minus_0");
  for (guint i = 0; i < 4; i++)
    gst_harness_set_src_caps_str (h[i], CAPS_STR);

  for (guint t = 0; t < 3; t++)
    {
      GstBuffer *ref = sine_buffer (amp, 250.0, t);
      GstMapInfo rmap, omap, mmap;
      GstBuffer *out, *minus;
      guint loud = 0;

      for (guint i = 0; i < 4; i++)
        gst_harness_push (h[i], gst_buffer_ref (ref));
      out = gst_harness_pull (h[0]);
      minus = gst_harness_pull (m0);
      gst_buffer_map (ref, &rmap, GST_MAP_READ);
      gst_buffer_map (out, &omap, GST_MAP_READ);
      gst_buffer_map (minus, &mmap, GST_MAP_READ);
      for (guint s = 0; s < TICK_FRAMES; s++)
        {
          gint32 x = ((const gint16 *)rmap.data)[s];
          struct
          {
            gint32 sum;
            gint16 y;
          } c[2] = { { 4 * x, ((const gint16 *)omap.data)[s] },
                     { 3 * x, ((const gint16 *)mmap.data)[s] } };
          for (guint k = 0; k < 2; k++)
            {
              if (ABS (c[k].sum) <= 16384)
                g_assert_cmpint (c[k].y, ==, c[k].sum);
              else
                {
                  g_assert_cmpint (c[k].y > 0, ==, c[k].sum > 0);
                  g_assert_cmpint (ABS ((gint32)c[k].y), >, 16384);
                  g_assert_cmpint (ABS ((gint32)c[k].y), <=, 32767);
                  loud++;
                }
            }
          /* The limiter is monotonic, so the output follows the sine's
           * direction: no folding at the peaks. */
          if (s > 0)
            {
              gint32 px = ((const gint16 *)rmap.data)[s - 1];
              if (x > px)
                g_assert_cmpint (c[0].y, >=, prev);
              else if (x < px)
                g_assert_cmpint (c[0].y, <=, prev);
            }
          prev = c[0].y;
        }
      g_assert_cmpuint (loud, >, 0);
      gst_buffer_unmap (ref, &rmap);
      gst_buffer_unmap (out, &omap);
      gst_buffer_unmap (minus, &mmap);
      gst_buffer_unref (out);
      gst_buffer_unref (minus);
      gst_buffer_unref (ref);
    }

  /* Constant loud inputs: 4 x 30000 would wrap to -11072 in int16. */
  for (guint i = 0; i < 4; i++)
    gst_harness_push (h[i], const_buffer (30000, 3));
  GstBuffer *out = gst_harness_pull (h[0]);
  GstMapInfo map;
  gst_buffer_map (out, &map, GST_MAP_READ);
  for (guint s = 0; s < TICK_FRAMES; s++)
    {
      g_assert_cmpint (((const gint16 *)map.data)[s], >, 30000);
      g_assert_cmpint (((const gint16 *)map.data)[s], <=, 32767);
    }
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  gst_buffer_unref (gst_harness_pull (m0));

  /* Quiet inputs pass untouched. */
  for (guint i = 0; i < 4; i++)
    gst_harness_push (h[i], const_buffer (i == 3 ? -4000 : 4000, 4));
  assert_all (gst_harness_pull (h[0]), 8000, 4);
  assert_all (gst_harness_pull (m0), 4000, 4);

  gst_harness_teardown (m0);
  for (guint i = 4; i-- > 0;)
    gst_harness_teardown (h[i]);
}

/* Stereo: the mix is per channel, interleaving preserved. */
static void
test_stereo (void)
{
  const char *caps_str = "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, "
                         "rate=(int)48000, channels=(int)2";
  GstElement *mixer = gst_element_factory_make_full ("discomixer", "channels", 2, NULL);
  GstHarness *h0 = gst_harness_new_with_element (mixer, "sink_0", "src");
  GstHarness *h1 = gst_harness_new_with_element (mixer, "sink_1", NULL);
  GstHarness *m0 = gst_harness_new_with_element (mixer, NULL, "minus_0");
  const gint16 in0[2] = { 100, -200 }, in1[2] = { 10, 20 };
  GstHarness *hs[2] = { h0, h1 };
  const gint16 *ins[2] = { in0, in1 };

  gst_harness_set_src_caps_str (h0, caps_str);
  gst_harness_set_src_caps_str (h1, caps_str);
  for (guint k = 0; k < 2; k++)
    {
      GstBuffer *buf = gst_buffer_new_allocate (NULL, TICK_FRAMES * 2 * sizeof (gint16), NULL);
      GstMapInfo map;
      gst_buffer_map (buf, &map, GST_MAP_WRITE);
      for (guint i = 0; i < TICK_FRAMES; i++)
        {
          ((gint16 *)map.data)[2 * i] = ins[k][0];
          ((gint16 *)map.data)[2 * i + 1] = ins[k][1];
        }
      gst_buffer_unmap (buf, &map);
      GST_BUFFER_PTS (buf) = 0;
      GST_BUFFER_DURATION (buf) = TICK;
      gst_harness_push (hs[k], buf);
    }

  struct
  {
    GstHarness *h;
    gint16 l, r;
  } expect[2] = { { h0, 110, -180 }, { m0, 10, 20 } };
  for (guint k = 0; k < 2; k++)
    {
      GstBuffer *out = gst_harness_pull (expect[k].h);
      GstMapInfo map;
      g_assert_nonnull (out);
      gst_buffer_map (out, &map, GST_MAP_READ);
      g_assert_cmpuint (map.size, ==, TICK_FRAMES * 2 * sizeof (gint16));
      for (guint i = 0; i < TICK_FRAMES; i++)
        {
          g_assert_cmpint (((const gint16 *)map.data)[2 * i], ==, expect[k].l);
          g_assert_cmpint (((const gint16 *)map.data)[2 * i + 1], ==, expect[k].r);
        }
      gst_buffer_unmap (out, &map);
      gst_buffer_unref (out);
    }

  gst_harness_teardown (m0);
  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
  gst_object_unref (mixer);
}

/* Drains element messages of the talker kind; returns how many were seen
 * and the last "talking" value in @last. */
static guint
pop_talker_messages (GstBus *bus, const char *pad_name, gboolean *last)
{
  GstMessage *msg;
  guint count = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)))
    {
      const GstStructure *s = gst_message_get_structure (msg);
      if (gst_structure_has_name (s, DISCO_MIXER_TALKER_MESSAGE))
        {
          g_assert_cmpstr (gst_structure_get_string (s, "pad"), ==, pad_name);
          g_assert_true (gst_structure_get_boolean (s, "talking", last));
          count++;
        }
      gst_message_unref (msg);
    }
  return count;
}

static gboolean
tick_talker (GstHarness *h, GstBuffer *in, guint tick, gdouble *level)
{
  GstPad *pad = gst_element_get_static_pad (h->element, "sink_0");
  gboolean talking;

  gst_harness_push (h, in);
  gst_buffer_unref (gst_harness_pull (h));
  g_object_get (pad, "talking", &talking, "level", level, NULL);
  gst_object_unref (pad);
  (void)tick;
  return talking;
}

static void
test_talker_hysteresis (void)
{
  GstHarness *h = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstBus *bus = gst_bus_new ();
  guint t = 0;
  gboolean last = FALSE;
  gdouble level;

  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "talk-threshold", -40.0, "talk-attack", 60, "talk-release", 400, NULL);
  gst_harness_set_src_caps_str (h, CAPS_STR);

  /* Silence: level at the floor, not talking. */
  for (guint i = 0; i < 3; i++, t++)
    g_assert_false (tick_talker (h, const_buffer (0, t), t, &level));
  g_assert_cmpfloat (level, <=, -120.0);
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 0);

  /* A 40 ms blip is shorter than the 60 ms attack. */
  for (guint i = 0; i < 2; i++, t++)
    g_assert_false (tick_talker (h, sine_buffer (8000, 1000, t), t, &level));
  g_assert_cmpfloat (level, >, -20.0); /* 8000/sqrt(2) ~ -15 dBov */
  g_assert_false (tick_talker (h, const_buffer (0, t), t, &level));
  t++;
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 0);

  /* A tone: not talking after 40 ms, talking at 60 ms, with one message. */
  for (guint i = 0; i < 2; i++, t++)
    g_assert_false (tick_talker (h, sine_buffer (8000, 1000, t), t, &level));
  g_assert_true (tick_talker (h, sine_buffer (8000, 1000, t), t, &level));
  t++;
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 1);
  g_assert_true (last);

  /* A short pause (200 ms) does not end talking. */
  for (guint i = 0; i < 10; i++, t++)
    g_assert_true (tick_talker (h, const_buffer (0, t), t, &level));
  g_assert_true (tick_talker (h, sine_buffer (8000, 1000, t), t, &level));
  t++;

  /* Silence: still talking after 380 ms, stops at 400 ms, one message. */
  for (guint i = 0; i < 19; i++, t++)
    g_assert_true (tick_talker (h, const_buffer (0, t), t, &level));
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 0);
  g_assert_false (tick_talker (h, const_buffer (0, t), t, &level));
  t++;
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 1);
  g_assert_false (last);

  /* A quiet signal below the threshold never talks. */
  for (guint i = 0; i < 10; i++, t++)
    g_assert_false (tick_talker (h, sine_buffer (100, 1000, t), t, &level));
  g_assert_cmpfloat (level, <, -40.0);
  g_assert_cmpfloat (level, >, -60.0);

  /* Zero attack/release: the state follows each tick's level at once. */
  g_object_set (h->element, "talk-attack", 0, "talk-release", 0, NULL);
  g_assert_false (tick_talker (h, const_buffer (0, t), t, &level));
  t++;
  g_assert_true (tick_talker (h, sine_buffer (8000, 1000, t), t, &level));
  t++;
  g_assert_false (tick_talker (h, const_buffer (0, t), t, &level));
  t++;
  g_assert_cmpuint (pop_talker_messages (bus, "sink_0", &last), ==, 2);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Live operation: a pad without data (DTX, loss) does not stop the mix; the
 * aggregator times out on the clock and mixes what it has.  A tick produced
 * after its deadline counts as an overrun. */
static void
test_live_timeout (void)
{
  GstHarness *h0 = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstHarness *h1 = gst_harness_new_with_element (h0->element, "sink_1", NULL);
  GstHarness *m1 = gst_harness_new_with_element (h0->element, NULL, "minus_1");
  guint64 overruns = 1;

  gst_harness_set_src_caps_str (h0, CAPS_STR);
  gst_harness_set_src_caps_str (h1, CAPS_STR);

  gst_harness_push (h0, const_buffer (1000, 0));
  gst_harness_push (h1, const_buffer (2000, 0));
  assert_all (gst_harness_pull (h0), 3000, 0);
  assert_all (gst_harness_pull (m1), 1000, 0);

  /* sink_1 sends nothing for tick 1: the mixer waits for the deadline. */
  gst_harness_push (h0, const_buffer (1000, 1));
  gst_harness_crank_single_clock_wait (h0);
  assert_all (gst_harness_pull (h0), 1000, 1);
  assert_all (gst_harness_pull (m1), 1000, 1);

  g_object_get (h0->element, "tick-overruns", &overruns, NULL);
  g_assert_cmpuint (overruns, ==, 0);

  /* Both inputs for tick 2 arrive when the clock is long past its
   * deadline: mixed at once, counted late. */
  gst_harness_set_time (h0, 10 * GST_SECOND);
  gst_harness_push (h0, const_buffer (1000, 2));
  gst_harness_push (h1, const_buffer (2000, 2));
  assert_all (gst_harness_pull (h0), 3000, 2);
  assert_all (gst_harness_pull (m1), 1000, 2);
  g_object_get (h0->element, "tick-overruns", &overruns, NULL);
  g_assert_cmpuint (overruns, ==, 1);

  gst_harness_teardown (m1);
  gst_harness_teardown (h1);
  gst_harness_teardown (h0);
}

/* An idle room: force-live with no sink pad still ticks (silence with the
 * configured caps); a participant joining later is heard. */
static void
test_force_live_idle (void)
{
  GstElement *mixer
      = gst_element_factory_make_full ("discomixer", "force-live", TRUE, "rate", 16000, NULL);
  GstHarness *h = gst_harness_new_with_element (mixer, NULL, "src");
  GstBuffer *buf;
  GstCaps *caps, *expected;
  guint64 ticks = 0;

  gst_harness_play (h);
  for (guint t = 0; t < 3; t++)
    {
      gst_harness_crank_single_clock_wait (h);
      buf = gst_harness_pull (h);
      g_assert_nonnull (buf);
      g_assert_cmpuint (GST_BUFFER_PTS (buf), ==, t * TICK);
      g_assert_cmpuint (gst_buffer_get_size (buf), ==, 320 * sizeof (gint16));
      gst_buffer_unref (buf);
    }
  caps = gst_pad_get_current_caps (h->sinkpad);
  expected = gst_caps_from_string ("audio/x-raw, format=(string)S16LE, "
                                   "layout=(string)interleaved, rate=(int)16000, channels=(int)1");
  g_assert_nonnull (caps);
  g_assert_true (gst_caps_is_equal (caps, expected));
  gst_caps_unref (caps);
  gst_caps_unref (expected);
  g_object_get (mixer, "ticks", &ticks, NULL);
  g_assert_cmpuint (ticks, ==, 3);

  gst_object_unref (mixer);
  gst_harness_teardown (h);
}

/* Caps other than the configured format are refused with a clear failure,
 * not mixed as garbage. */
static void
test_bad_caps (void)
{
  GstElement *mixer = gst_element_factory_make ("discomixer", NULL);
  GstPad *sinkpad = gst_element_request_pad_simple (mixer, "sink_%u");
  GstPad *src = gst_pad_new ("feed", GST_PAD_SRC);
  GstSegment segment;
  static const char *bad[] = {
    "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)8000, "
    "channels=(int)1",
    "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)48000, "
    "channels=(int)1",
    "audio/x-raw, format=(string)S16LE, layout=(string)interleaved, rate=(int)48000, "
    "channels=(int)2",
    "video/x-raw",
  };

  g_assert_cmpint (gst_pad_link (src, sinkpad), ==, GST_PAD_LINK_OK);
  g_assert_cmpint (gst_element_set_state (mixer, GST_STATE_PAUSED), !=, GST_STATE_CHANGE_FAILURE);
  gst_pad_set_active (src, TRUE);
  g_assert_true (gst_pad_push_event (src, gst_event_new_stream_start ("bad-caps")));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GstCaps *caps = gst_caps_from_string (bad[i]);
      /* gst_pad_push_event() ignores sticky event failures; ask the pad. */
      g_assert_false (gst_pad_query_accept_caps (sinkpad, caps));
      g_assert_false (gst_pad_send_event (sinkpad, gst_event_new_caps (caps)));
      gst_caps_unref (caps);
    }
  GstCaps *good = gst_caps_from_string (CAPS_STR);
  g_assert_true (gst_pad_push_event (src, gst_event_new_caps (good)));
  gst_caps_unref (good);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  g_assert_true (gst_pad_push_event (src, gst_event_new_segment (&segment)));

  gst_pad_set_active (src, FALSE);
  gst_element_set_state (mixer, GST_STATE_NULL);
  gst_element_release_request_pad (mixer, sinkpad);
  gst_object_unref (sinkpad);
  gst_object_unref (src);
  gst_object_unref (mixer);
}

/* Malformed buffers (odd size, empty, no timestamp) must not crash or stop
 * the mixer; the next good buffer is mixed normally. */
static void
test_bad_buffers (void)
{
  GstHarness *h = gst_harness_new_with_padnames ("discomixer", "sink_0", "src");
  GstBuffer *odd = gst_buffer_new_allocate (NULL, 1001, NULL);
  GstBuffer *empty = gst_buffer_new ();
  GstBuffer *untimed = const_buffer (5, 0);

  gst_harness_set_src_caps_str (h, CAPS_STR);
  gst_buffer_memset (odd, 0, 0x7f, 1001);
  GST_BUFFER_PTS (odd) = 0;
  GST_BUFFER_PTS (empty) = 10 * GST_MSECOND;
  GST_BUFFER_PTS (untimed) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (untimed) = GST_CLOCK_TIME_NONE;

  gst_harness_push (h, odd);
  gst_harness_push (h, empty);
  gst_harness_push (h, untimed);
  /* DISCONT: resync to this timestamp now instead of after discont-wait. */
  GstBuffer *good = const_buffer (777, 5);
  GST_BUFFER_FLAG_SET (good, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, good);
  gst_harness_push (h, const_buffer (777, 6));

  /* Whatever the malformed input became, output continues in order and
   * tick 5 holds exactly the good buffer. */
  for (guint i = 0;; i++)
    {
      GstBuffer *buf = gst_harness_try_pull (h);

      g_assert_cmpuint (i, <, 1000);
      if (buf == NULL)
        {
          /* Partial ticks wait for the live deadline: advance the clock. */
          if (gst_harness_wait_for_clock_id_waits (h, 1, 1))
            gst_harness_crank_single_clock_wait (h);
          continue;
        }
      g_assert_cmpuint (GST_BUFFER_PTS (buf), <=, 5 * TICK);
      if (GST_BUFFER_PTS (buf) == 5 * TICK)
        {
          assert_all (buf, 777, 5);
          break;
        }
      gst_buffer_unref (buf);
    }
  gst_harness_teardown (h);
}

/* --- real pipelines ------------------------------------------------------ */

static void
run_to_eos (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) err = NULL;
      g_autofree char *dbg = NULL;
      gst_message_parse_error (msg, &err, &dbg);
      g_error ("pipeline error: %s (%s)", err->message, dbg);
    }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}

static GstFlowReturn
collect_sample (GstAppSink *sink, gpointer user_data)
{
  GByteArray *data = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstMapInfo map;

  if (sample == NULL)
    return GST_FLOW_EOS;
  gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
  g_byte_array_append (data, map.data, map.size);
  gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* Three audiotestsrc tones at distinct frequencies into sink_0..2; each
 * minus_N must contain the two other tones and not its own, and "src" all
 * three. */
static void
test_tones_pipeline (void)
{
  static const double freqs[3] = { 440.0, 1000.0, 2500.0 };
  const double amp = 8192.0; /* volume 0.25 */
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (
      "discomixer name=mix ! appsink name=full sync=false "
      "audiotestsrc num-buffers=50 samplesperbuffer=960 freq=440 volume=0.25 ! " CAPS_STR
      " ! mix.sink_0 "
      "audiotestsrc num-buffers=50 samplesperbuffer=960 freq=1000 volume=0.25 ! " CAPS_STR
      " ! mix.sink_1 "
      "audiotestsrc num-buffers=50 samplesperbuffer=960 freq=2500 volume=0.25 ! " CAPS_STR
      " ! mix.sink_2 "
      "mix.minus_0 ! queue ! appsink name=out0 sync=false "
      "mix.minus_1 ! queue ! appsink name=out1 sync=false "
      "mix.minus_2 ! queue ! appsink name=out2 sync=false",
      &error);
  GByteArray *data[4];
  GstAppSinkCallbacks cb = { .new_sample = collect_sample };

  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *name = i < 3 ? g_strdup_printf ("out%u", i) : g_strdup ("full");
      GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), name);
      data[i] = g_byte_array_new ();
      gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, data[i], NULL);
      gst_object_unref (sink);
    }

  run_to_eos (pipeline);

  for (guint i = 0; i < 4; i++)
    {
      /* 100 ms from the middle: whole periods of every tone. */
      const gsize n = 4800;
      g_assert_cmpuint (data[i]->len, >=, (20 * TICK_FRAMES + n) * sizeof (gint16));
      const gint16 *s = (const gint16 *)data[i]->data + 20 * TICK_FRAMES;

      for (guint f = 0; f < 3; f++)
        {
          double p = disco_tone_power (s, n, RATE, freqs[f]);
          double expected = amp * amp / 2;
          g_test_message ("output %u, %.0f Hz: %.3g (expected %s)", i, freqs[f], p,
                          i == f ? "none" : "tone");
          if (i == f)
            g_assert_cmpfloat (p, <, expected * 1e-4);
          else if (i < 3)
            g_assert_cmpfloat (fabs (p - expected), <, expected * 0.05);
          else
            g_assert_cmpfloat (p, >, expected * 0.5); /* full mix peaks are limited */
        }
    }

  for (guint i = 0; i < 4; i++)
    g_byte_array_unref (data[i]);
  gst_object_unref (pipeline);
}

typedef struct
{
  guint buffers;
  guint quiet; /* output buffers without the persistent tone */
} ChurnStats;

static GstPadProbeReturn
count_tone (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  ChurnStats *st = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;

  if (gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      /* The persistent 500 Hz tone, amplitude ~9830: expect ~4.8e7.  Skip
       * the first buffers, the source may start mid-tick. */
      double p = disco_tone_power ((const gint16 *)map.data, map.size / 2, RATE, 500.0);
      if (++st->buffers > 5 && p < 1e7)
        st->quiet++;
      gst_buffer_unmap (buf, &map);
    }
  return GST_PAD_PROBE_OK;
}

static guint64
get_ticks (GstElement *mix)
{
  guint64 ticks;
  g_object_get (mix, "ticks", &ticks, NULL);
  return ticks;
}

static void
wait_ticks (GstElement *mix, guint64 from, guint64 count)
{
  /* Liveness, not timing: fail only when the mixer is clearly stuck. */
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (get_ticks (mix) < from + count)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("mixer stalled at %" G_GUINT64_FORMAT " ticks", get_ticks (mix));
      g_usleep (1000);
    }
}

/* 200 cycles of: add a live source on a new sink pad plus its minus pad
 * into a fakesink, let at least one tick pass, remove both.  A persistent
 * tone must be in every output buffer (no glitch for others), the mixer must
 * keep ticking, and ASan must find no leak. */
static void
test_pad_churn (void)
{
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_parse_launch (
      "audiotestsrc is-live=true samplesperbuffer=960 freq=500 volume=0.3 ! " CAPS_STR " ! "
      "discomixer name=mix latency=200000000 ! fakesink name=out sync=true",
      &error);
  GstElement *mix;
  ChurnStats st = { 0 };
  GstPad *srcpad;

  g_assert_no_error (error);
  mix = gst_bin_get_by_name (GST_BIN (pipeline), "mix");
  srcpad = gst_element_get_static_pad (mix, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, count_tone, &st, NULL);
  gst_object_unref (srcpad);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  wait_ticks (mix, 0, 3);

  for (guint cycle = 0; cycle < 200; cycle++)
    {
      GstElement *bin = gst_parse_bin_from_description (
          "audiotestsrc is-live=true wave=silence samplesperbuffer=960 ! capsfilter "
          "caps=\"" CAPS_STR "\"",
          TRUE, &error);
      g_assert_no_error (error);
      GstElement *fsink = gst_element_factory_make ("fakesink", NULL);
      g_object_set (fsink, "sync", FALSE, "async", FALSE, NULL);
      gst_bin_add_many (GST_BIN (pipeline), bin, fsink, NULL);

      GstPad *sinkpad = gst_element_request_pad_simple (mix, "sink_%u");
      g_assert_nonnull (sinkpad);
      GstPad *ghost = gst_element_get_static_pad (bin, "src");
      g_assert_cmpint (gst_pad_link (ghost, sinkpad), ==, GST_PAD_LINK_OK);
      gst_object_unref (ghost);

      g_autofree char *minus_name = g_strdup_printf ("minus_%s", GST_PAD_NAME (sinkpad) + 5);
      GstPad *minus = gst_element_request_pad_simple (mix, minus_name);
      g_assert_nonnull (minus);
      GstPad *fpad = gst_element_get_static_pad (fsink, "sink");
      g_assert_cmpint (gst_pad_link (minus, fpad), ==, GST_PAD_LINK_OK);
      gst_object_unref (fpad);

      g_assert_true (gst_element_sync_state_with_parent (fsink));
      g_assert_true (gst_element_sync_state_with_parent (bin));
      /* Every other cycle also a "local" pad, left unlinked. */
      GstPad *local = cycle % 2 ? gst_element_request_pad_simple (mix, "local") : NULL;
      wait_ticks (mix, get_ticks (mix), 1);
      if (local)
        {
          gst_element_release_request_pad (mix, local);
          gst_object_unref (local);
        }

      /* Release first: the pad goes flushing, which unblocks the source's
       * streaming thread, then the source can stop. */
      gst_element_release_request_pad (mix, minus);
      gst_object_unref (minus);
      gst_element_release_request_pad (mix, sinkpad);
      gst_object_unref (sinkpad);
      gst_element_set_state (bin, GST_STATE_NULL);
      gst_element_set_state (fsink, GST_STATE_NULL);
      gst_bin_remove_many (GST_BIN (pipeline), bin, fsink, NULL);
    }

  guint64 before = get_ticks (mix);
  wait_ticks (mix, before, 5);
  g_assert_cmpuint (GST_ELEMENT (mix)->numsinkpads, ==, 1);
  g_assert_cmpuint (GST_ELEMENT (mix)->numsrcpads, ==, 1);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_test_message ("%u output buffers, %u without the persistent tone", st.buffers, st.quiet);
  g_assert_cmpuint (st.buffers, >, 200);
  g_assert_cmpuint (st.quiet, ==, 0);
  gst_object_unref (mix);
  gst_object_unref (pipeline);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  if (!disco_mixer_plugin_register (&error))
    g_error ("%s", error->message);

  g_test_add_func ("/mixer/register", test_register);
  g_test_add_func ("/mixer/sum-and-minus", test_sum_and_minus);
  g_test_add_func ("/mixer/minus-mid-stream", test_minus_mid_stream);
  g_test_add_func ("/mixer/local-excludes-cascade", test_local_excludes_cascade);
  g_test_add_func ("/mixer/limiter", test_limiter);
  g_test_add_func ("/mixer/stereo", test_stereo);
  g_test_add_func ("/mixer/talker-hysteresis", test_talker_hysteresis);
  g_test_add_func ("/mixer/live-timeout", test_live_timeout);
  g_test_add_func ("/mixer/force-live-idle", test_force_live_idle);
  g_test_add_func ("/mixer/bad-caps", test_bad_caps);
  g_test_add_func ("/mixer/bad-buffers", test_bad_buffers);
  g_test_add_func ("/mixer/tones-pipeline", test_tones_pipeline);
  g_test_add_func ("/mixer/pad-churn", test_pad_churn);

  int ret = g_test_run ();
  gst_deinit ();
  return ret;
}
