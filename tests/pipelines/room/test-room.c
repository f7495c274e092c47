/* test-room.c: DiscoMediaRoom with real RTP over loopback.
 *
 * Every participant is a DiscoRtpGen pipeline that sends a distinct sine and
 * decodes what the room sends back; Goertzel (disco_tone_power) tells which
 * voices a participant hears.  The cascade cases run each room in its own
 * process: this binary re-executes itself with --room-peer.
 */
#include "disco-media-jitter.h"
#include "disco-media-room.h"
#include "disco-rtp-gen.h"

#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>
#include "disco-tone.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RATE 48000

/* ------------------------------------------------------------ helpers */

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
run_for (guint ms)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (ms, quit_loop, loop);
  g_main_loop_run (loop);
}

static double
tone_db (const gint16 *s, gsize n, double freq)
{
  return 10.0 * log10 (disco_tone_power (s, n, RATE, freq) + 1e-3);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median over 100 ms blocks: robust against a lost-and-concealed packet on
 * a loaded machine, which is not what the level checks are about. */
static double
tone_db_median (const gint16 *s, gsize n, double freq)
{
  const gsize block = RATE / 10;
  guint nb = (guint)(n / block);
  g_assert_cmpuint (nb, >, 0);
  g_autofree double *v = g_new (double, nb);
  for (guint i = 0; i < nb; i++)
    v[i] = tone_db (s + i * block, block, freq);
  qsort (v, nb, sizeof (double), cmp_double);
  return v[nb / 2];
}

static GInetSocketAddress *
room_address (DiscoMediaRoom *room)
{
  return G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new_from_string ("127.0.0.1", disco_media_room_get_rtp_port (room)));
}

static DiscoRtpGen *
gen_new (DiscoMediaRoom *room, guint16 port, const char *codec, guint8 pt, double freq,
         double volume, guint loss)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) ra
      = room ? room_address (room)
             : G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string ("127.0.0.1", port));
  DiscoRtpGenParams p = { .codec = codec,
                          .payload_type = pt,
                          .freq = freq,
                          .volume = volume,
                          .remote = ra,
                          .loss_percent = loss,
                          .seed = 42 };
  DiscoRtpGen *g = disco_rtp_gen_new (&p, &error);
  g_assert_no_error (error);
  return g;
}

static void
add_participant (DiscoMediaRoom *room, const char *id, DiscoRtpGen *g, DiscoMediaCodec codec,
                 guint8 pt)
{
  g_autoptr (GError) error = NULL;
  DiscoMediaParticipantParams p = { .codec = codec,
                                    .payload_type = pt,
                                    .telephone_event_pt = 101,
                                    .remote_rtp = disco_rtp_gen_get_address (g),
                                    .ptime_ms = 20,
                                    .opus_fec = TRUE,
                                    .send = TRUE,
                                    .recv = TRUE };
  gboolean ok = disco_media_room_add_participant (room, id, &p, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

/* The last @seconds of what @g received; fails if less was received. */
static gint16 *
tail (DiscoRtpGen *g, double seconds, gsize *n)
{
  gint16 *all = NULL;
  gsize total = disco_rtp_gen_get_samples (g, &all);
  gsize want = (gsize)(seconds * RATE);
  if (total < want)
    g_error ("only %" G_GSIZE_FORMAT " samples received, wanted %" G_GSIZE_FORMAT, total, want);
  gint16 *out = g_memdup2 (all + (total - want), want * sizeof (gint16));
  g_free (all);
  *n = want;
  return out;
}

/* Asserts that @g hears each of @freqs[i] (i != self) within @spread_db of
 * each other, and its own tone (if self < nf) at least 20 dB below the
 * quietest other. */
static void
assert_hears_others (const char *who, DiscoRtpGen *g, const double *freqs, guint nf, guint self,
                     double spread_db)
{
  gsize n;
  g_autofree gint16 *s = tail (g, 1.5, &n);
  double lo = 1e9, hi = -1e9;
  for (guint i = 0; i < nf; i++)
    {
      double db = tone_db_median (s, n, freqs[i]);
      g_test_message ("%s hears %.0f Hz at %.1f dB%s", who, freqs[i], db,
                      i == self ? " (own)" : "");
      if (i == self)
        continue;
      lo = MIN (lo, db);
      hi = MAX (hi, db);
    }
  g_assert_cmpfloat (lo, >, 50.0);           /* every other voice is there */
  g_assert_cmpfloat (hi - lo, <, spread_db); /* ... exactly once each */
  if (self < nf)
    g_assert_cmpfloat (tone_db_median (s, n, freqs[self]), <, lo - 20.0); /* no echo of itself */
}

/* Asserts @freq is present in every 100 ms block of the last @seconds. */
static void
assert_continuous (DiscoRtpGen *g, double seconds, double freq, double min_db)
{
  gsize n;
  g_autofree gint16 *s = tail (g, seconds, &n);
  const gsize block = RATE / 10;
  double worst = 1e9;
  GString *all = g_string_new (NULL);
  for (gsize off = 0; off + block <= n; off += block)
    {
      double db = tone_db (s + off, block, freq);
      g_string_append_printf (all, " %.0f", db);
      worst = MIN (worst, db);
    }
  g_test_message ("%.0f Hz per 100 ms block:%s", freq, all->str);
  g_string_free (all, TRUE);
  g_test_message ("weakest 100 ms block of %.0f Hz: %.1f dB", freq, worst);
  g_assert_cmpfloat (worst, >, min_db);
}

/* ------------------------------------------------------------ jitter */

static GstBuffer *
rtp_packet (guint16 seq, guint32 ts)
{
  GstBuffer *b = gst_rtp_buffer_new_allocate (4, 0, 0);
  GstRTPBuffer r = GST_RTP_BUFFER_INIT;
  g_assert_true (gst_rtp_buffer_map (b, GST_MAP_WRITE, &r));
  gst_rtp_buffer_set_seq (&r, seq);
  gst_rtp_buffer_set_timestamp (&r, ts);
  gst_rtp_buffer_set_ssrc (&r, 0xabcd);
  gst_rtp_buffer_set_payload_type (&r, 0);
  gst_rtp_buffer_unmap (&r);
  return b;
}

/* The reorder buffer alone, with explicit arrival times (no clock). */
static void
test_jitter (void)
{
  gst_init (NULL, NULL);
  DiscoJitter *j = disco_jitter_new (8000, 40);
  GstBuffer *out = NULL;
  guint64 ts = 0;
  guint samples = 0;
  gint64 t = 1000000;
  DiscoJitterStats st;

  /* Nothing yet; then one packet: still buffering until 40 ms passed. */
  g_assert_cmpint (disco_jitter_pop (j, t, &out, &ts, &samples), ==, DISCO_JITTER_WAITING);
  g_assert_true (disco_jitter_insert (j, rtp_packet (65534, 1000), t));
  g_assert_cmpint (disco_jitter_pop (j, t + 10000, &out, &ts, &samples), ==, DISCO_JITTER_WAITING);
  /* Reordered (65535 after 0, across the wrap) and one lost (1). */
  g_assert_true (disco_jitter_insert (j, rtp_packet (0, 1320), t + 20000));
  g_assert_true (disco_jitter_insert (j, rtp_packet (65535, 1160), t + 21000));
  g_assert_true (disco_jitter_insert (j, rtp_packet (2, 1640), t + 40000));
  g_assert_false (disco_jitter_insert (j, rtp_packet (2, 1640), t + 40000)); /* duplicate */
  const guint64 want_ts[] = { 0, 160, 320, 480, 640 };
  const DiscoJitterResult want[] = { DISCO_JITTER_PACKET, DISCO_JITTER_PACKET, DISCO_JITTER_PACKET,
                                     DISCO_JITTER_LOST, DISCO_JITTER_PACKET };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      DiscoJitterResult r = disco_jitter_pop (j, t + 45000, &out, &ts, &samples);
      g_assert_cmpint (r, ==, want[i]);
      g_assert_cmpuint (ts, ==, want_ts[i]);
      g_assert_cmpuint (samples, ==, 160);
      g_clear_pointer (&out, gst_buffer_unref);
    }
  /* Too late for its playout point. */
  g_assert_false (disco_jitter_insert (j, rtp_packet (1, 1480), t + 46000));
  /* Empty: underruns, then it re-buffers instead of skipping ahead. */
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (disco_jitter_pop (j, t + 60000, &out, &ts, &samples), ==,
                     DISCO_JITTER_UNDERRUN);
  g_assert_cmpint (disco_jitter_pop (j, t + 60000, &out, &ts, &samples), ==, DISCO_JITTER_WAITING);
  /* A burst far beyond the target: the delay stays bounded. */
  for (guint i = 0; i < 40; i++)
    disco_jitter_insert (j, rtp_packet ((guint16)(3 + i), 1800 + 160 * i), t + 100000);
  guint played = 0;
  while (disco_jitter_pop (j, t + 200000, &out, &ts, &samples) == DISCO_JITTER_PACKET)
    {
      played++;
      g_clear_pointer (&out, gst_buffer_unref);
    }
  disco_jitter_get_stats (j, &st);
  g_test_message ("received %" G_GUINT64_FORMAT " played %" G_GUINT64_FORMAT
                  " lost %" G_GUINT64_FORMAT " late %" G_GUINT64_FORMAT
                  " dropped %" G_GUINT64_FORMAT,
                  st.received, st.played, st.lost, st.late, st.dropped);
  g_assert_cmpuint (st.lost, ==, 1);
  g_assert_cmpuint (st.late, ==, 2);
  g_assert_cmpuint (st.dropped, >, 0);
  g_assert_cmpuint (played, <=, 6); /* 100 ms at 20 ms per packet, no more */
  g_assert_cmpuint (st.played, ==, 4 + played);
  /* A new SSRC or a huge jump starts over without crashing. */
  g_assert_true (disco_jitter_insert (j, rtp_packet (30000, 5), t + 300000));
  disco_jitter_free (j);
}

/* ------------------------------------------------------------ in-process */

static void
tones (const char *codec_name, DiscoMediaCodec codec, guint8 pt)
{
  g_autoptr (GError) error = NULL;
  const double freqs[] = { 440, 660, 1000, 1250 };
  DiscoRtpGen *g[G_N_ELEMENTS (freqs)];
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("tones", "127.0.0.1", &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (freqs); i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      g[i] = gen_new (room, 0, codec_name, pt, freqs[i], 0.1, 0);
      add_participant (room, id, g[i], codec, pt);
    }
  run_for (2500);
  for (guint i = 0; i < G_N_ELEMENTS (freqs); i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      DiscoMediaParticipantStats st;
      g_assert_true (disco_media_room_get_participant_stats (room, id, &st));
      g_test_message ("%s: in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
                      " private %d talking %d",
                      id, st.packets_in, st.packets_out, st.private_encoder, st.talking);
      g_assert_cmpuint (st.packets_in, >, 50);
      g_assert_cmpuint (st.packets_out, >, 50);
      g_assert_true (st.talking);
      assert_hears_others (id, g[i], freqs, G_N_ELEMENTS (freqs), i, 3.0);
    }
  DiscoMediaRoomStats rs;
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.participants, ==, G_N_ELEMENTS (freqs));
  for (guint i = 0; i < G_N_ELEMENTS (freqs); i++)
    disco_rtp_gen_free (g[i]);
}

static void
test_tones_opus (void)
{
  tones ("OPUS", DISCO_MEDIA_CODEC_OPUS, 111);
}

static void
test_tones_pcmu (void)
{
  tones ("PCMU", DISCO_MEDIA_CODEC_PCMU, 0);
}

/* Participants with different codecs in one room hear each other.  The
 * G.722 participant only listens: G.722 listeners stay on the shared full
 * mix (see disco-media-room.h), so as a talker it would hear itself. */
static void
test_tones_mixed_codecs (void)
{
  g_autoptr (GError) error = NULL;
  const double freqs[] = { 500, 800, 1200, 1500 };
  const char *names[] = { "OPUS", "PCMU", "PCMA", "G722" };
  const DiscoMediaCodec codecs[] = { DISCO_MEDIA_CODEC_OPUS, DISCO_MEDIA_CODEC_PCMU,
                                     DISCO_MEDIA_CODEC_PCMA, DISCO_MEDIA_CODEC_G722 };
  const guint8 pts[] = { 96, 0, 8, 9 };
  DiscoRtpGen *g[4];
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("mixed", "127.0.0.1", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      g[i] = gen_new (room, 0, names[i], pts[i], freqs[i], i == 3 ? 0.0 : 0.1, 0);
      add_participant (room, id, g[i], codecs[i], pts[i]);
    }
  run_for (2500);
  for (guint i = 0; i < 4; i++)
    {
      /* G.711/G.722 round trips differ in gain a little more than Opus. */
      assert_hears_others (names[i], g[i], freqs, 3, i, 4.0);
      disco_rtp_gen_free (g[i]);
    }
}

static gboolean
wait_private (DiscoMediaRoom *room, const char *id, gboolean want)
{
  for (guint i = 0; i < 100; i++)
    {
      DiscoMediaParticipantStats st;
      g_assert_true (disco_media_room_get_participant_stats (room, id, &st));
      if (st.private_encoder == want)
        return TRUE;
      run_for (50);
    }
  return FALSE;
}

static void
test_talker_gating (void)
{
  g_autoptr (GError) error = NULL;
  const double freqs[] = { 300, 500, 700, 900, 1100 };
  DiscoRtpGen *g[G_N_ELEMENTS (freqs)];
  DiscoMediaRoomStats rs;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("gating", "127.0.0.1", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (freqs); i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      g[i] = gen_new (room, 0, "OPUS", 111, freqs[i], 0.0, 0);
      add_participant (room, id, g[i], DISCO_MEDIA_CODEC_OPUS, 111);
    }
  run_for (1500);
  /* All silent: five listeners, one encoder. */
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.encoders_in_use, ==, 1);

  disco_rtp_gen_set_tone (g[0], freqs[0], 0.2);
  g_assert_true (wait_private (room, "p0", TRUE));
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.encoders_in_use, ==, 2);
  run_for (300);
  disco_rtp_gen_clear (g[0]);
  disco_rtp_gen_clear (g[1]);
  run_for (1200);
  {
    gsize n;
    g_autofree gint16 *own = tail (g[0], 1.0, &n);
    g_autofree gint16 *other = tail (g[1], 1.0, &n);
    double heard_by_other = tone_db (other, n, freqs[0]);
    double heard_by_self = tone_db (own, n, freqs[0]);
    g_test_message ("talker tone: listener %.1f dB, talker itself %.1f dB", heard_by_other,
                    heard_by_self);
    g_assert_cmpfloat (heard_by_other, >, 50.0);
    g_assert_cmpfloat (heard_by_self, <, heard_by_other - 25.0);
  }

  /* A second talker gets its own private encode too. */
  disco_rtp_gen_set_tone (g[2], freqs[2], 0.2);
  g_assert_true (wait_private (room, "p2", TRUE));
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.encoders_in_use, ==, 3);

  disco_rtp_gen_set_tone (g[0], freqs[0], 0.0);
  disco_rtp_gen_set_tone (g[2], freqs[2], 0.0);
  g_assert_true (wait_private (room, "p0", FALSE));
  g_assert_true (wait_private (room, "p2", FALSE));
  run_for (300);
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.encoders_in_use, ==, 1);

  /* Switching encoders is invisible at RTP level: no sequence gap, and
   * timestamps advance 960 per packet. */
  for (guint i = 0; i < G_N_ELEMENTS (freqs); i++)
    {
      DiscoRtpGenStats gs;
      disco_rtp_gen_get_stats (g[i], &gs);
      g_test_message ("p%u: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
                      " seq gaps, %" G_GUINT64_FORMAT " ts jumps, %" G_GUINT64_FORMAT
                      " ssrc changes",
                      i, gs.packets, gs.seq_gaps, gs.ts_jumps, gs.ssrc_changes);
      g_assert_cmpuint (gs.packets, >, 100);
      g_assert_cmpuint (gs.seq_gaps, ==, 0);
      g_assert_cmpuint (gs.ts_jumps, ==, 0);
      g_assert_cmpuint (gs.ssrc_changes, ==, 0);
      disco_rtp_gen_free (g[i]);
    }
}

/* TRUE once the mixer hears @id (its decoded audio reached its mixer pad). */
static gboolean
wait_heard (DiscoMediaRoom *room, const char *id)
{
  for (guint i = 0; i < 1000; i++)
    {
      DiscoMediaParticipantStats st;
      g_assert_true (disco_media_room_get_participant_stats (room, id, &st));
      if (st.level_db > -60.0)
        return TRUE;
      run_for (10);
    }
  return FALSE;
}

/* 200 joins and leaves while PLAYING, each churner really sending audio
 * that reaches the mixer; a keeps hearing b in every 20 ms block. */
static void
test_churn (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("churn", "127.0.0.1", &error);
  g_assert_no_error (error);
  g_autoptr (DiscoRtpGen) a = gen_new (room, 0, "OPUS", 111, 440, 0.2, 0);
  g_autoptr (DiscoRtpGen) b = gen_new (room, 0, "OPUS", 111, 880, 0.2, 0);
  /* One generator per codec, alternating: each cycle's churner sends what
   * it negotiated. */
  g_autoptr (DiscoRtpGen) c_opus = gen_new (room, 0, "OPUS", 111, 1700, 0.2, 0);
  g_autoptr (DiscoRtpGen) c_pcmu = gen_new (room, 0, "PCMU", 0, 1300, 0.2, 0);
  add_participant (room, "a", a, DISCO_MEDIA_CODEC_OPUS, 111);
  add_participant (room, "b", b, DISCO_MEDIA_CODEC_OPUS, 111);
  g_assert_true (wait_heard (room, "b"));
  run_for (1000);
  disco_rtp_gen_clear (a);
  DiscoRtpGenStats before, after;
  disco_rtp_gen_get_stats (a, &before);
  DiscoMediaRoomStats rs;

  gint64 t0 = g_get_monotonic_time ();
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("churn%u", i);
      gboolean opus = i % 2 == 0;
      add_participant (room, id, opus ? c_opus : c_pcmu,
                       opus ? DISCO_MEDIA_CODEC_OPUS : DISCO_MEDIA_CODEC_PCMU, opus ? 111 : 0);
      if (!wait_heard (room, id))
        g_error ("cycle %u: the mixer never heard %s", i, id);
      disco_media_room_get_stats (room, &rs);
      g_assert_cmpuint (rs.participants, ==, 3);
      disco_media_room_remove_participant (room, id);
      g_assert_false (disco_media_room_has_participant (room, id));
    }
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("200 add/hear/remove cycles in %.2f s", secs);
  run_for (300);
  disco_rtp_gen_get_stats (a, &after);
  g_test_message ("a: longest gap between packets %" G_GINT64_FORMAT " ms",
                  after.max_gap_us / 1000);
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.participants, ==, 2);
  /* The mixer kept ticking (~50 packets/s), never stalled for a second. */
  g_assert_cmpuint (after.packets - before.packets, >, (guint64)(secs * 40));
  g_assert_cmpint (after.max_gap_us, <, G_USEC_PER_SEC);
  g_assert_cmpuint (after.seq_gaps, ==, 0);
  g_assert_cmpuint (after.ssrc_changes, ==, 0);

  /* b in every 20 ms block of what a received during the churn (the first
   * 200 ms are the generator's own jitter buffer settling), and the
   * churners' voices in some of them.  A block where a's generator itself
   * heard nothing at all (its 60 ms jitter buffer concealing with silence
   * because this loaded process ran it late) is counted, not failed; b
   * missing from a block where a churner is heard is the room's fault. */
  gint16 *all = NULL;
  gsize n = disco_rtp_gen_get_samples (a, &all);
  const gsize block = RATE / 50;
  g_assert_cmpuint (n, >, RATE);
  double worst = 1e9;
  guint blocks = 0, churners = 0, silent = 0;
  for (gsize off = RATE / 5; off + block <= n; off += block, blocks++)
    {
      double db = tone_db (all + off, block, 880);
      double cdb = MAX (tone_db (all + off, block, 1300), tone_db (all + off, block, 1700));
      if (cdb > 40.0)
        churners++;
      if (db > 40.0)
        worst = MIN (worst, db);
      else if (cdb > 40.0)
        g_error ("block %u (%.2f s): b missing (%.1f dB) but a churner heard (%.1f dB)", blocks,
                 (double)off / RATE, db, cdb);
      else
        silent++;
    }
  g_free (all);
  g_test_message ("b at 880 Hz: weakest of %u 20 ms blocks %.1f dB, %u silent blocks; churners "
                  "heard in %u",
                  blocks, worst, silent, churners);
  g_assert_cmpuint (silent, <=, blocks / 50);
  g_assert_cmpuint (churners, >, 0);
}

static void
test_loss (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("loss", "127.0.0.1", &error);
  g_assert_no_error (error);
  g_autoptr (DiscoRtpGen) a = gen_new (room, 0, "OPUS", 111, 600, 0.2, 5);
  g_autoptr (DiscoRtpGen) b = gen_new (room, 0, "OPUS", 111, 1000, 0.0, 0);
  add_participant (room, "a", a, DISCO_MEDIA_CODEC_OPUS, 111);
  add_participant (room, "b", b, DISCO_MEDIA_CODEC_OPUS, 111);
  run_for (5000);
  assert_continuous (b, 3.0, 600, 40.0);
  DiscoMediaParticipantStats st;
  DiscoRtpGenStats gs;
  g_assert_true (disco_media_room_get_participant_stats (room, "a", &st));
  disco_rtp_gen_get_stats (a, &gs);
  g_test_message ("generator dropped %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                  "; room counted %" G_GUINT64_FORMAT " lost, fraction %.3f",
                  gs.dropped, gs.dropped + gs.sent, st.packets_lost, st.loss_fraction);
  g_assert_cmpuint (gs.dropped, >, 0);
  g_assert_cmpuint (st.packets_lost, >, 0);
  g_assert_cmpfloat (st.loss_fraction, >, 0.01);
  g_assert_cmpfloat (st.loss_fraction, <, 0.2);
}

/* Level of @freq in the last second @g received. */
static double
heard_db (DiscoRtpGen *g, double freq)
{
  gsize n;
  g_autofree gint16 *s = tail (g, 1.0, &n);
  return tone_db_median (s, n, freq);
}

static guint64
packets_received (DiscoRtpGen *g)
{
  DiscoRtpGenStats st;
  disco_rtp_gen_get_stats (g, &st);
  return st.packets;
}

/* mute, gain, deaf, hold (send=FALSE) and recv=FALSE via update. */
static void
test_controls (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("controls", "127.0.0.1", &error);
  g_assert_no_error (error);
  g_autoptr (DiscoRtpGen) a = gen_new (room, 0, "PCMU", 0, 500, 0.1, 0);
  g_autoptr (DiscoRtpGen) b = gen_new (room, 0, "PCMU", 0, 900, 0.1, 0);
  g_autoptr (DiscoRtpGen) c = gen_new (room, 0, "PCMU", 0, 1300, 0.0, 0);
  add_participant (room, "a", a, DISCO_MEDIA_CODEC_PCMU, 0);
  add_participant (room, "b", b, DISCO_MEDIA_CODEC_PCMU, 0);
  add_participant (room, "c", c, DISCO_MEDIA_CODEC_PCMU, 0);
  run_for (1500);
  double full = heard_db (c, 500);
  g_assert_cmpfloat (full, >, 60.0);

  g_assert_true (disco_media_room_set_mute (room, "a", TRUE, &error));
  run_for (1200);
  g_assert_cmpfloat (heard_db (c, 500), <, full - 30.0);
  g_assert_cmpfloat (heard_db (c, 900), >, 60.0);
  g_assert_true (disco_media_room_set_mute (room, "a", FALSE, &error));
  g_assert_true (disco_media_room_set_gain (room, "a", 0.5, &error));
  run_for (1200);
  double half = heard_db (c, 500);
  g_test_message ("a at gain 1: %.1f dB, at gain 0.5: %.1f dB", full, half);
  g_assert_cmpfloat (fabs (half - (full - 6.02)), <, 1.5);

  /* deaf: c gets nothing more, but is still heard */
  g_assert_true (disco_media_room_set_deaf (room, "c", TRUE, &error));
  run_for (300);
  guint64 before = packets_received (c);
  run_for (800);
  g_assert_cmpuint (packets_received (c), ==, before);
  g_assert_true (disco_media_room_set_deaf (room, "c", FALSE, &error));
  run_for (500);
  g_assert_cmpuint (packets_received (c), >, before);

  /* hold (a=sendonly from the participant: the room must not send) and
   * recv=FALSE (the room ignores what b sends) */
  DiscoMediaParticipantParams p = { .codec = DISCO_MEDIA_CODEC_PCMU,
                                    .payload_type = 0,
                                    .telephone_event_pt = -1,
                                    .remote_rtp = disco_rtp_gen_get_address (b),
                                    .send = FALSE,
                                    .recv = FALSE };
  g_assert_true (disco_media_room_update_participant (room, "b", &p, &error));
  g_assert_no_error (error);
  run_for (300);
  before = packets_received (b);
  disco_rtp_gen_clear (c);
  run_for (1200);
  g_assert_cmpuint (packets_received (b), ==, before);
  g_assert_cmpfloat (heard_db (c, 900), <, 30.0);
  p.send = p.recv = TRUE;
  g_assert_true (disco_media_room_update_participant (room, "b", &p, &error));
  run_for (1200);
  g_assert_cmpfloat (heard_db (c, 900), >, 60.0);
  DiscoRtpGenStats st;
  disco_rtp_gen_get_stats (b, &st);
  /* the room's sequence space for b carried on across the hold */
  g_assert_cmpuint (st.seq_gaps, ==, 0);
  g_assert_cmpuint (st.ssrc_changes, ==, 0);
}

static void
test_bad_input (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (disco_media_room_new ("bad", "not-an-ip", &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID);
  g_clear_error (&error);

  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("bad", "127.0.0.1", &error);
  g_assert_no_error (error);
  g_autoptr (GInetSocketAddress) addr
      = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string ("127.0.0.1", 9));
  DiscoMediaParticipantParams p = { .codec = DISCO_MEDIA_CODEC_OPUS,
                                    .payload_type = 72,
                                    .telephone_event_pt = -1,
                                    .remote_rtp = addr,
                                    .send = TRUE,
                                    .recv = TRUE };
  g_assert_false (disco_media_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  p.payload_type = 111;
  p.ptime_ms = 30;
  g_assert_false (disco_media_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  p.ptime_ms = 20;
  p.codec = (DiscoMediaCodec)42;
  g_assert_false (disco_media_room_add_participant (room, "x", &p, &error));
  g_clear_error (&error);
  p.codec = DISCO_MEDIA_CODEC_OPUS;
  g_assert_true (disco_media_room_add_participant (room, "x", &p, &error));
  g_assert_false (disco_media_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_EXISTS);
  g_clear_error (&error);
  /* A second participant at x's address is fine (told apart by SSRC, see
   * /room/shared-address). */
  g_assert_false (disco_media_room_set_mute (room, "nobody", TRUE, &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (disco_media_room_set_gain (room, "x", 11.0, &error));
  g_clear_error (&error);

  /* Garbage datagrams at the shared port, from a participant's address and
   * from strangers, change nothing. */
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetSocketAddress) ra = room_address (room);
  guint8 junk[200];
  for (guint i = 0; i < 500; i++)
    {
      for (guint j = 0; j < sizeof junk; j++)
        junk[j] = (guint8)g_random_int ();
      if (i % 2)
        junk[0] = 0x80; /* looks like RTP v2 */
      g_socket_send_to (s, G_SOCKET_ADDRESS (ra), (const char *)junk, 1 + i % sizeof junk, NULL,
                        NULL);
    }
  run_for (300);
  DiscoMediaRoomStats rs;
  disco_media_room_get_stats (room, &rs);
  g_assert_cmpuint (rs.participants, ==, 1);
  disco_media_room_remove_participant (room, "x");
  disco_media_room_remove_participant (room, "x");
}

/* ------------------------------------------------------------ cascade */

typedef struct
{
  GSubprocess *proc;
  GDataInputStream *out;
  GOutputStream *in;
  guint16 port;
} Peer;

static char *
peer_line (Peer *p)
{
  g_autoptr (GError) error = NULL;
  char *line = g_data_input_stream_read_line (p->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  return line;
}

static Peer *
peer_spawn (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  Peer *p = g_new0 (Peer, 1);
  p->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                              &error, self, "--room-peer", name, NULL);
  g_assert_no_error (error);
  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->proc));
  p->in = g_subprocess_get_stdin_pipe (p->proc);
  g_autofree char *ready = peer_line (p);
  g_assert_true (g_str_has_prefix (ready, "ready "));
  p->port = (guint16)g_ascii_strtoull (ready + 6, NULL, 10);
  g_assert_cmpuint (p->port, >, 0);
  return p;
}

G_GNUC_PRINTF (2, 3)
static void
peer_cmd (Peer *p, const char *fmt, ...)
{
  g_autoptr (GError) error = NULL;
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *cmd = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autofree char *line = g_strconcat (cmd, "\n", NULL);
  g_output_stream_write_all (p->in, line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *reply = peer_line (p);
  if (g_strcmp0 (reply, "ok") != 0)
    g_error ("peer refused '%s': %s", cmd, reply);
}

static void
peer_free (Peer *p)
{
  g_autoptr (GError) error = NULL;
  g_output_stream_write_all (p->in, "q\n", 2, NULL, NULL, NULL);
  g_subprocess_wait_check (p->proc, NULL, &error);
  g_assert_no_error (error); /* exit 0: also means ASan found no leak in the peer */
  g_object_unref (p->out);
  g_object_unref (p->proc);
  g_free (p);
}

/* @nrooms rooms in separate processes, full mesh of cascade legs, two
 * participants per room. */
static void
cascade (guint nrooms, const char *codec_name, guint8 pt)
{
  const double freqs[] = { 300, 500, 700, 900, 1100, 1300 };
  Peer *peers[3];
  DiscoRtpGen *g[6];
  guint np = nrooms * 2;

  for (guint r = 0; r < nrooms; r++)
    {
      g_autofree char *name = g_strdup_printf ("room%u", r);
      peers[r] = peer_spawn (name);
    }
  for (guint i = 0; i < np; i++)
    {
      Peer *p = peers[i / 2];
      /* 0.05: five voices stay below the mixers' limiter knee (-6 dBov). */
      g[i] = gen_new (NULL, p->port, codec_name, pt, freqs[i], 0.05, 0);
      peer_cmd (p, "p p%u %s %u %u", i, codec_name, pt,
                g_inet_socket_address_get_port (disco_rtp_gen_get_address (g[i])));
    }
  for (guint a = 0; a < nrooms; a++)
    for (guint b = 0; b < nrooms; b++)
      if (a != b)
        peer_cmd (peers[a], "l room%u OPUS 100 %u", b, peers[b]->port);
  run_for (4000);
  for (guint i = 0; i < np; i++)
    {
      g_autofree char *who = g_strdup_printf ("p%u (room%u)", i, i / 2);
      /* An echo through a second path would add up to +6 dB or cancel. */
      assert_hears_others (who, g[i], freqs, np, i, 4.0);
    }
  for (guint i = 0; i < np; i++)
    disco_rtp_gen_free (g[i]);
  for (guint r = 0; r < nrooms; r++)
    peer_free (peers[r]);
}

static void
test_cascade_two (void)
{
  cascade (2, "PCMU", 0);
}

static void
test_cascade_three (void)
{
  cascade (3, "OPUS", 111);
}

/* ------------------------------------------------------ telephone-event */

typedef struct
{
  GSocket *sock;
  GInetSocketAddress *addr;
  GArray *pkts; /* RxPkt */
} RawPeer;

typedef struct
{
  guint8 pt, marker, event, end;
  guint16 seq, duration;
  guint32 ts, ssrc;
} RxPkt;

static RawPeer *
raw_new (void)
{
  g_autoptr (GError) error = NULL;
  RawPeer *r = g_new0 (RawPeer, 1);
  r->sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (r->sock, any, FALSE, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (r->sock, FALSE);
  r->addr = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (r->sock, &error));
  g_assert_no_error (error);
  r->pkts = g_array_new (FALSE, TRUE, sizeof (RxPkt));
  return r;
}

static void
raw_free (RawPeer *r)
{
  g_object_unref (r->sock);
  g_object_unref (r->addr);
  g_array_unref (r->pkts);
  g_free (r);
}

static void
raw_drain (RawPeer *r)
{
  guint8 b[1500];
  gssize n;
  while ((n = g_socket_receive (r->sock, (gchar *)b, sizeof b, NULL, NULL)) >= 12)
    {
      RxPkt p = { .pt = b[1] & 0x7f,
                  .marker = b[1] >> 7,
                  .seq = (guint16)(b[2] << 8 | b[3]),
                  .ts = (guint32)b[4] << 24 | (guint32)b[5] << 16 | (guint32)b[6] << 8 | b[7],
                  .ssrc = (guint32)b[8] << 24 | (guint32)b[9] << 16 | (guint32)b[10] << 8 | b[11] };
      if (n >= 16)
        {
          p.event = b[12];
          p.end = b[13] >> 7;
          p.duration = (guint16)(b[14] << 8 | b[15]);
        }
      g_array_append_val (r->pkts, p);
    }
}

/* RFC 4733 packets of one event: start (marker), two updates, three ends. */
static void
raw_send_event (RawPeer *from, guint16 room_port, guint8 pt, guint8 event, guint32 ts)
{
  g_autoptr (GSocketAddress) to = g_inet_socket_address_new_from_string ("127.0.0.1", room_port);
  const guint16 durs[] = { 160, 320, 480, 640, 640, 640 };
  for (guint i = 0; i < G_N_ELEMENTS (durs); i++)
    {
      guint16 seq = (guint16)(100 + i + event * 10);
      guint8 b[16] = { 0x80,
                       (guint8)((i == 0 ? 0x80 : 0) | pt),
                       seq >> 8,
                       seq & 0xff,
                       ts >> 24,
                       (ts >> 16) & 0xff,
                       (ts >> 8) & 0xff,
                       ts & 0xff,
                       0x12,
                       0x34,
                       0x56,
                       event,
                       event,
                       (guint8)((i >= 3 ? 0x80 : 0) | 10),
                       durs[i] >> 8,
                       durs[i] & 0xff };
      g_assert_cmpint (g_socket_send_to (from->sock, to, (const gchar *)b, sizeof b, NULL, NULL),
                       ==, sizeof b);
      run_for (20);
    }
}

static void
add_raw (DiscoMediaRoom *room, const char *id, RawPeer *r, DiscoMediaCodec codec, guint8 pt,
         gint te_pt, DiscoMediaTelephoneEventMode mode)
{
  g_autoptr (GError) error = NULL;
  DiscoMediaParticipantParams p = { .codec = codec,
                                    .payload_type = pt,
                                    .telephone_event_pt = te_pt,
                                    .remote_rtp = r->addr,
                                    .ptime_ms = 20,
                                    .send = TRUE,
                                    .recv = TRUE,
                                    .telephone_event_mode = mode };
  g_assert_true (disco_media_room_add_participant (room, id, &p, &error));
  g_assert_no_error (error);
}

/* Events of @r with payload type @pt. */
static guint
count_events (RawPeer *r, guint8 pt, guint8 event)
{
  guint n = 0;
  for (guint i = 0; i < r->pkts->len; i++)
    {
      RxPkt *p = &g_array_index (r->pkts, RxPkt, i);
      if (p->pt == pt && p->event == event)
        n++;
    }
  return n;
}

/* @r's whole stream (audio + events) has one SSRC and no sequence gap; its
 * events of @event carry the durations scaled by @scale, one timestamp,
 * the marker on the first and the end bit on the last three. */
static void
assert_event_stream (RawPeer *r, guint8 te_pt, guint8 event, guint scale)
{
  const guint16 durs[] = { 160, 320, 480, 640, 640, 640 };
  guint k = 0, audio = 0;
  guint32 ev_ts = 0;
  for (guint i = 0; i < r->pkts->len; i++)
    {
      RxPkt *p = &g_array_index (r->pkts, RxPkt, i);
      if (i > 0)
        {
          RxPkt *q = &g_array_index (r->pkts, RxPkt, i - 1);
          g_assert_cmpuint (p->ssrc, ==, q->ssrc);
          g_assert_cmpuint (p->seq, ==, (guint16)(q->seq + 1));
        }
      if (p->pt != te_pt)
        {
          audio++;
          continue;
        }
      g_assert_cmpuint (p->event, ==, event);
      g_assert_cmpuint (k, <, G_N_ELEMENTS (durs));
      g_assert_cmpuint (p->duration, ==, durs[k] * scale);
      g_assert_cmpuint (p->marker, ==, k == 0);
      g_assert_cmpuint (p->end, ==, k >= 3);
      if (k == 0)
        ev_ts = p->ts;
      g_assert_cmpuint (p->ts, ==, ev_ts);
      k++;
    }
  g_assert_cmpuint (k, ==, G_N_ELEMENTS (durs));
  g_assert_cmpuint (audio, >, 10);
}

static void
test_telephone_event (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("dtmf", "127.0.0.1", &error);
  g_assert_no_error (error);
  guint16 port = disco_media_room_get_rtp_port (room);
  RawPeer *x = raw_new (), *y = raw_new (), *z = raw_new (), *w = raw_new ();
  add_raw (room, "x", x, DISCO_MEDIA_CODEC_PCMU, 0, 101, DISCO_MEDIA_TELEPHONE_EVENT_PASSTHROUGH);
  add_raw (room, "y", y, DISCO_MEDIA_CODEC_PCMU, 0, 101, DISCO_MEDIA_TELEPHONE_EVENT_IGNORE);
  add_raw (room, "z", z, DISCO_MEDIA_CODEC_PCMU, 0, -1, DISCO_MEDIA_TELEPHONE_EVENT_IGNORE);
  add_raw (room, "w", w, DISCO_MEDIA_CODEC_OPUS, 111, 100, DISCO_MEDIA_TELEPHONE_EVENT_IGNORE);
  run_for (300);
  /* x (passthrough) presses 5; y (ignore) presses 9. */
  raw_send_event (x, port, 101, 5, 1000);
  raw_send_event (y, port, 101, 9, 2000);
  run_for (300);
  RawPeer *all[] = { x, y, z, w };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    raw_drain (all[i]);

  assert_event_stream (y, 101, 5, 1);
  assert_event_stream (w, 100, 5, 6);                 /* 8 kHz durations on a 48 kHz clock */
  g_assert_cmpuint (count_events (x, 101, 5), ==, 0); /* no echo to the sender */
  g_assert_cmpuint (count_events (z, 101, 5), ==, 0); /* z has no telephone-event */
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    {
      g_assert_cmpuint (count_events (all[i], 101, 9), ==, 0); /* ignored */
      g_assert_cmpuint (count_events (all[i], 100, 9), ==, 0);
    }
  DiscoMediaParticipantStats st;
  g_assert_true (disco_media_room_get_participant_stats (room, "x", &st));
  g_assert_cmpuint (st.events_in, ==, 6);
  g_assert_true (disco_media_room_get_participant_stats (room, "y", &st));
  g_assert_cmpuint (st.events_in, ==, 6);
  g_assert_cmpuint (st.events_out, ==, 6);
  g_assert_true (disco_media_room_get_participant_stats (room, "z", &st));
  g_assert_cmpuint (st.events_out, ==, 0);

  /* A bad mode is refused. */
  DiscoMediaParticipantParams bad = { .codec = DISCO_MEDIA_CODEC_PCMU,
                                      .telephone_event_pt = 101,
                                      .remote_rtp = z->addr,
                                      .send = TRUE,
                                      .telephone_event_mode = 7 };
  g_clear_error (&error);
  g_assert_false (disco_media_room_update_participant (room, "z", &bad, &error));
  g_assert_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    raw_free (all[i]);
}

/* Reply of a query command ("ok ..."/"no"), transfer full. */
static char *
peer_query (Peer *p, const char *cmd)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_strconcat (cmd, "\n", NULL);
  g_output_stream_write_all (p->in, line, strlen (line), NULL, NULL, &error);
  g_assert_no_error (error);
  return peer_line (p);
}

static guint
peer_threads (Peer *p)
{
  g_autofree char *r = peer_query (p, "t");
  g_assert_true (g_str_has_prefix (r, "ok "));
  return (guint)g_ascii_strtoull (r + 3, NULL, 10);
}

static void
peer_wait_heard (Peer *p, const char *id)
{
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *cmd = g_strdup_printf ("h %s", id);
      g_autofree char *r = peer_query (p, cmd);
      if (g_strcmp0 (r, "ok") == 0)
        return;
      run_for (10);
    }
  g_error ("the room never heard %s", id);
}

/* The room (alone in its process) must not spend a thread per participant:
 * 20 more talking participants, Opus and PCMU, all heard by the mixer. */
static void
test_threads (void)
{
  enum
  {
    EXTRA = 20
  };
  DiscoRtpGen *g[EXTRA + 1];
  Peer *p = peer_spawn ("threads");
  guint before = 0;
  for (guint i = 0; i <= EXTRA; i++)
    {
      gboolean opus = i % 2 == 0;
      g[i] = gen_new (NULL, p->port, opus ? "OPUS" : "PCMU", opus ? 111 : 0, 300 + 50 * i, 0.1, 0);
      peer_cmd (p, "p p%u %s %u %u", i, opus ? "OPUS" : "PCMU", opus ? 111 : 0,
                g_inet_socket_address_get_port (disco_rtp_gen_get_address (g[i])));
      if (i == 0)
        {
          /* Baseline with one participant in the mix: its encoder and
           * whatever GStreamer starts lazily exist already. */
          peer_wait_heard (p, "p0");
          run_for (500);
          before = peer_threads (p);
        }
    }
  for (guint i = 0; i <= EXTRA; i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);
      peer_wait_heard (p, id);
    }
  run_for (500);
  guint after = peer_threads (p);
  g_test_message ("room process threads: %u with 1 participant, %u with %u", before, after,
                  EXTRA + 1);
  /* Constant: a thread or two of slack for GLib/GStreamer housekeeping. */
  g_assert_cmpuint (after, <=, before + 2);
  for (guint i = 0; i <= EXTRA; i++)
    disco_rtp_gen_free (g[i]);
  peer_free (p);
}

/* Peer mode: one room in this process, driven by lines on stdin:
 *   p ID CODEC PT PORT   add participant at 127.0.0.1:PORT
 *   l ID CODEC PT PORT   add cascade leg to the room at 127.0.0.1:PORT
 *   h ID                 "ok" if the mixer hears ID, else "no"
 *   t                    "ok N": threads of this process
 *   q                    quit                                          */
static GMainLoop *peer_loop;

static guint
thread_count (void)
{
  g_autoptr (GDir) d = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;
  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static gboolean
peer_command (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  DiscoMediaRoom *room = data;
  g_autofree char *line = NULL;
  g_autoptr (GError) error = NULL;
  if (g_io_channel_read_line (ch, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL || line[0] == 'q')
    {
      g_main_loop_quit (peer_loop);
      return G_SOURCE_REMOVE;
    }
  g_strchomp (line);
  g_auto (GStrv) f = g_strsplit (line, " ", 0);
  DiscoMediaCodec codec;
  gboolean ok = FALSE;
  if (g_strv_length (f) == 5 && disco_media_codec_from_string (f[2], &codec))
    {
      guint8 pt = (guint8)g_ascii_strtoull (f[3], NULL, 10);
      g_autoptr (GInetSocketAddress) ra
          = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string (
              "127.0.0.1", (guint)g_ascii_strtoull (f[4], NULL, 10)));
      if (f[0][0] == 'p')
        {
          DiscoMediaParticipantParams p = { .codec = codec,
                                            .payload_type = pt,
                                            .telephone_event_pt = -1,
                                            .remote_rtp = ra,
                                            .ptime_ms = 20,
                                            .send = TRUE,
                                            .recv = TRUE };
          ok = disco_media_room_add_participant (room, f[1], &p, &error);
        }
      else if (f[0][0] == 'l')
        ok = disco_media_room_add_cascade_leg (room, f[1], ra, codec, pt, &error);
    }
  else if (g_strv_length (f) == 1 && f[0][0] == 't')
    {
      printf ("ok %u\n", thread_count ());
      fflush (stdout);
      return G_SOURCE_CONTINUE;
    }
  else if (g_strv_length (f) == 2 && f[0][0] == 'h')
    {
      DiscoMediaParticipantStats st;
      ok = disco_media_room_get_participant_stats (room, f[1], &st) && st.level_db > -60.0;
      printf ("%s\n", ok ? "ok" : "no");
      fflush (stdout);
      return G_SOURCE_CONTINUE;
    }
  printf ("%s\n", ok ? "ok" : error ? error->message : "err syntax");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static int
peer_main (const char *name)
{
  g_autoptr (GError) error = NULL;
  DiscoMediaRoom *room = disco_media_room_new (name, "127.0.0.1", &error);
  if (room == NULL)
    {
      fprintf (stderr, "peer %s: %s\n", name, error->message);
      return 1;
    }
  printf ("ready %u\n", disco_media_room_get_rtp_port (room));
  fflush (stdout);
  peer_loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *ch = g_io_channel_unix_new (0);
  g_io_add_watch (ch, G_IO_IN | G_IO_HUP | G_IO_ERR, peer_command, room);
  g_main_loop_run (peer_loop);
  g_io_channel_unref (ch);
  g_main_loop_unref (peer_loop);
  disco_media_room_free (room);
  return 0;
}

/* Two senders behind one address (one sipp process places all its calls
 * from one media socket): a raw socket sends two PCMU streams, 500 Hz and
 * 900 Hz, with their own SSRCs.  The room must tell them apart by SSRC:
 * each participant counts only its own packets and a third participant
 * hears both tones. */
typedef struct
{
  GSocket *sock;
  GSocketAddress *room;
  GBytes *tone[2]; /* mu-law, 8 kHz */
  gsize off[2];
  guint16 seq[2];
  guint sent[2];
} TwoStreams;

static GBytes *
mulaw_tone (double freq, guint seconds)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "audiotestsrc freq=%g volume=0.3 num-buffers=%u samplesperbuffer=160 ! "
      "audio/x-raw,rate=8000,channels=1,format=S16LE ! mulawenc ! appsink name=out sync=false",
      freq, seconds * 50);
  g_autoptr (GstElement) pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  g_autoptr (GByteArray) all = g_byte_array_new ();
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GstSample *sample;
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (out))) != NULL)
    {
      GstMapInfo map;
      GstBuffer *b = gst_sample_get_buffer (sample);
      gst_buffer_map (b, &map, GST_MAP_READ);
      g_byte_array_append (all, map.data, map.size);
      gst_buffer_unmap (b, &map);
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&all));
}

static gboolean
two_streams_tick (gpointer data)
{
  TwoStreams *t = data;
  for (guint k = 0; k < 2; k++)
    {
      gsize len;
      const guint8 *tone = g_bytes_get_data (t->tone[k], &len);
      if (t->off[k] + 160 > len)
        t->off[k] = 0;
      GstBuffer *b = gst_rtp_buffer_new_allocate (160, 0, 0);
      GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
      g_assert_true (gst_rtp_buffer_map (b, GST_MAP_WRITE, &rtp));
      gst_rtp_buffer_set_payload_type (&rtp, 0);
      gst_rtp_buffer_set_ssrc (&rtp, 0x1000 + k);
      gst_rtp_buffer_set_seq (&rtp, t->seq[k]++);
      gst_rtp_buffer_set_timestamp (&rtp, t->sent[k] * 160);
      memcpy (gst_rtp_buffer_get_payload (&rtp), tone + t->off[k], 160);
      gst_rtp_buffer_unmap (&rtp);
      GstMapInfo map;
      gst_buffer_map (b, &map, GST_MAP_READ);
      if (g_socket_send_to (t->sock, t->room, (const char *)map.data, map.size, NULL, NULL) > 0)
        t->sent[k]++;
      gst_buffer_unmap (b, &map);
      gst_buffer_unref (b);
      t->off[k] += 160;
    }
  return G_SOURCE_CONTINUE;
}

static void
test_shared_address (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoMediaRoom) room = disco_media_room_new ("shared", "127.0.0.1", &error);
  g_assert_no_error (error);
  TwoStreams t = { 0 };
  t.tone[0] = mulaw_tone (500, 2);
  t.tone[1] = mulaw_tone (900, 2);
  t.sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (t.sock, any, FALSE, &error));
  g_autoptr (GSocketAddress) here = g_socket_get_local_address (t.sock, &error);
  g_assert_no_error (error);
  t.room = G_SOCKET_ADDRESS (room_address (room));

  g_autoptr (DiscoRtpGen) c = gen_new (room, 0, "PCMU", 0, 1300, 0.0, 0);
  DiscoMediaParticipantParams p = { .codec = DISCO_MEDIA_CODEC_PCMU,
                                    .payload_type = 0,
                                    .telephone_event_pt = -1,
                                    .remote_rtp = G_INET_SOCKET_ADDRESS (here),
                                    .ptime_ms = 20,
                                    .send = TRUE,
                                    .recv = TRUE };
  g_assert_true (disco_media_room_add_participant (room, "x", &p, &error));
  g_assert_no_error (error);
  g_assert_true (disco_media_room_add_participant (room, "y", &p, &error));
  g_assert_no_error (error);
  add_participant (room, "c", c, DISCO_MEDIA_CODEC_PCMU, 0);

  guint tick = g_timeout_add (20, two_streams_tick, &t);
  run_for (3000);
  g_source_remove (tick);

  DiscoMediaParticipantStats sx, sy;
  g_assert_true (disco_media_room_get_participant_stats (room, "x", &sx));
  g_assert_true (disco_media_room_get_participant_stats (room, "y", &sy));
  g_test_message ("sent %u + %u, room counted x %" G_GUINT64_FORMAT ", y %" G_GUINT64_FORMAT,
                  t.sent[0], t.sent[1], sx.packets_in, sy.packets_in);
  /* Each counts its own stream only: neither got the other's packets. */
  g_assert_cmpuint (sx.packets_in, <=, t.sent[0]);
  g_assert_cmpuint (sy.packets_in, <=, t.sent[1]);
  g_assert_cmpuint (sx.packets_in, >, t.sent[0] / 2);
  g_assert_cmpuint (sy.packets_in, >, t.sent[1] / 2);
  double h500 = heard_db (c, 500), h900 = heard_db (c, 900), h1300 = heard_db (c, 1300);
  g_test_message ("c heard 500 Hz %.1f dB, 900 Hz %.1f dB, its own 1300 Hz %.1f dB", h500, h900,
                  h1300);
  g_assert_cmpfloat (h500, >, 60.0);
  g_assert_cmpfloat (h900, >, 60.0);
  g_assert_cmpfloat (fabs (h500 - h900), <, 6.0);

  disco_media_room_remove_participant (room, "x");
  disco_media_room_remove_participant (room, "y");
  g_object_unref (t.room);
  g_object_unref (t.sock);
  g_bytes_unref (t.tone[0]);
  g_bytes_unref (t.tone[1]);
}

/* Every case runs in its own process (g_test_trap_subprocess): a room
 * case must not inherit GStreamer threads or timing from the one before. */
typedef struct
{
  const char *path;
  void (*fn) (void);
} RoomCase;

static const RoomCase room_cases[] = {
  { "/room/bad-input", test_bad_input },
  { "/room/talker-gating", test_talker_gating },
  { "/room/controls", test_controls },
  { "/room/shared-address", test_shared_address },
  { "/room/loss", test_loss },
  { "/room/churn", test_churn },
  { "/room/threads", test_threads },
  { "/room/jitter", test_jitter },
  { "/room/telephone-event", test_telephone_event },
  { "/room/tones/opus", test_tones_opus },
  { "/room/tones/pcmu", test_tones_pcmu },
  { "/room/tones/mixed-codecs", test_tones_mixed_codecs },
  { "/room/cascade/two-processes", test_cascade_two },
  { "/room/cascade/three-processes", test_cascade_three },
};

static void
run_isolated (gconstpointer data)
{
  const RoomCase *c = data;
  if (g_test_subprocess ())
    {
      c->fn ();
      return;
    }
  g_test_trap_subprocess (NULL, 240 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--room-peer") == 0)
    return peer_main (argv[2]);
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (room_cases); i++)
    g_test_add_data_func (room_cases[i].path, &room_cases[i], run_isolated);
  return g_test_run ();
}
