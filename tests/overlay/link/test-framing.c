/* test-framing.c: RELOAD framing header, ACK bitmap and RTT/RTO logic. */
#include <string.h>

#include "reload-framing.h"

static void
test_data_round_trip (void)
{
  const guint8 payload[] = { 0xd2, 0x45, 0x4c, 0x4f, 1, 2, 3 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame
      = disco_reload_frame_encode_data (0x01020304, payload, sizeof payload, &error);
  g_assert_no_error (error);

  gsize len;
  const guint8 *b = g_bytes_get_data (frame, &len);
  g_assert_cmpuint (len, ==, 8 + sizeof payload);
  const guint8 expect_hdr[] = { 128, 1, 2, 3, 4, 0, 0, 7 };
  g_assert_cmpmem (b, 8, expect_hdr, 8);

  /* Every strict prefix asks for more. */
  DiscoReloadFrame f;
  for (gsize i = 0; i < len; i++)
    g_assert_cmpint (disco_reload_frame_parse (b, i, 5000, &f, &error), ==, 0);
  g_assert_cmpint (disco_reload_frame_parse (b, len, 5000, &f, &error), ==, (gssize)len);
  g_assert_no_error (error);
  g_assert_cmpuint (f.type, ==, DISCO_RELOAD_FRAME_DATA);
  g_assert_cmpuint (f.sequence, ==, 0x01020304);
  g_assert_cmpmem (f.payload, f.payload_len, payload, sizeof payload);

  /* Empty payload is a legal frame. */
  g_autoptr (GBytes) empty = disco_reload_frame_encode_data (0, NULL, 0, &error);
  b = g_bytes_get_data (empty, &len);
  g_assert_cmpint (disco_reload_frame_parse (b, len, 5000, &f, &error), ==, 8);
  g_assert_cmpuint (f.payload_len, ==, 0);
}

static void
test_max_lengths (void)
{
  g_autoptr (GError) error = NULL;
  guint8 hdr[8];
  disco_reload_frame_write_data_header (hdr, 7, 0xFFFFFF);
  const guint8 expect[] = { 128, 0, 0, 0, 7, 0xff, 0xff, 0xff };
  g_assert_cmpmem (hdr, 8, expect, 8);

  DiscoReloadFrame f;
  g_assert_cmpint (disco_reload_frame_parse (hdr, 8, 5000, &f, &error), ==, -1);
  g_assert_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE);
  g_assert_cmpuint (f.payload_len, ==, 0xFFFFFF);
  g_assert_cmpuint (f.sequence, ==, 7);
  g_clear_error (&error);

  /* Exactly the maximum is fine (and waits for the bytes). */
  disco_reload_frame_write_data_header (hdr, 7, 5000);
  g_assert_cmpint (disco_reload_frame_parse (hdr, 8, 5000, &f, &error), ==, 0);
  g_assert_no_error (error);

  gsize big = DISCO_RELOAD_FRAME_MAX_PAYLOAD + 1;
  g_autofree guint8 *p = g_malloc0 (big);
  g_assert_null (disco_reload_frame_encode_data (0, p, big, &error));
  g_assert_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE);
}

static void
test_bad_type (void)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadFrame f;
  const guint8 junk[] = { 0x16, 3, 1, 0, 5 }; /* a TLS record header */
  g_assert_cmpint (disco_reload_frame_parse (junk, sizeof junk, 5000, &f, &error), ==, -1);
  g_assert_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_BAD_TYPE);
  g_clear_error (&error);
  const guint8 none[] = { 0 };
  g_assert_cmpint (disco_reload_frame_parse (none, 0, 5000, &f, &error), ==, 0);
  g_assert_cmpint (disco_reload_frame_parse (none, 1, 5000, &f, &error), ==, -1);
}

static void
test_ack_round_trip (void)
{
  guint8 ack[9];
  disco_reload_frame_write_ack (ack, 0xdeadbeef, 0x80000002);
  const guint8 expect[] = { 129, 0xde, 0xad, 0xbe, 0xef, 0x80, 0, 0, 2 };
  g_assert_cmpmem (ack, 9, expect, 9);
  DiscoReloadFrame f;
  g_autoptr (GError) error = NULL;
  for (gsize i = 0; i < 9; i++)
    g_assert_cmpint (disco_reload_frame_parse (ack, i, 5000, &f, &error), ==, 0);
  g_assert_cmpint (disco_reload_frame_parse (ack, 9, 5000, &f, &error), ==, 9);
  g_assert_cmpuint (f.type, ==, DISCO_RELOAD_FRAME_ACK);
  g_assert_cmpuint (f.sequence, ==, 0xdeadbeef);
  g_assert_cmpuint (f.received, ==, 0x80000002);
}

static void
test_ack_bitmap (void)
{
  DiscoReloadAckTracker t;
  gboolean dup;
  disco_reload_ack_tracker_init (&t);

  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 0, &dup), ==, 0);
  g_assert_false (dup);
  /* 0 received: ACK for 1 has bit 0 (bit k: sequence 1 - 1 - k). */
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 1, &dup), ==, 1u << 0);
  /* 2 lost; ACK for 3 says 1 (bit 1) and 0 (bit 2), bit 0 unknown. */
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 3, &dup), ==, (1u << 1) | (1u << 2));
  /* 2 arrives late: ACK for 2 reports 1 and 0 (bits 0, 1). */
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 2, &dup), ==, (1u << 0) | (1u << 1));
  g_assert_false (dup);
  /* A duplicate of 3. */
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 3, &dup), ==, 0x7u);
  g_assert_true (dup);

  /* Jump ahead by 40: nothing in the window any more. */
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 43, &dup), ==, 0);
  /* 31 consecutive frames later the bitmap is full: 43..74 (bits 31..0). */
  for (guint32 s = 44; s < 44 + 31; s++)
    disco_reload_ack_tracker_receive (&t, s, NULL);
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 75, NULL), ==, 0xFFFFFFFFu);
  /* With 74 missing, bit 0 is clear. */
  disco_reload_ack_tracker_init (&t);
  for (guint32 s = 43; s < 74; s++)
    disco_reload_ack_tracker_receive (&t, s, NULL);
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 75, NULL), ==, 0xFFFFFFFEu);

  /* Wrap-around of the 32-bit sequence space. */
  disco_reload_ack_tracker_init (&t);
  disco_reload_ack_tracker_receive (&t, 0xFFFFFFFE, NULL);
  disco_reload_ack_tracker_receive (&t, 0xFFFFFFFF, NULL);
  g_assert_cmpuint (disco_reload_ack_tracker_receive (&t, 0, &dup), ==, (1u << 0) | (1u << 1));
  g_assert_false (dup);

  /* The sender reads it back the same way. */
  g_assert_true (disco_reload_ack_covers (5, 0, 5));
  g_assert_true (disco_reload_ack_covers (5, 1u << 0, 4));
  g_assert_false (disco_reload_ack_covers (5, 1u << 0, 3));
  g_assert_true (disco_reload_ack_covers (40, 1u << 31, 8));
  g_assert_false (disco_reload_ack_covers (40, 0xFFFFFFFFu, 7));
  g_assert_true (disco_reload_ack_covers (1, 1u << 1, 0xFFFFFFFFu));
}

static void
test_rtt (void)
{
  DiscoReloadRtt r;
  disco_reload_rtt_init (&r);
  g_assert_cmpint (r.rto_us, ==, 500 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (disco_reload_rtt_oldest_unacked (&r), ==, -1);

  /* First sample 100 ms: SRTT = 100, RTTVAR = 50, RTO = 100 + 200 = 300 ms. */
  disco_reload_rtt_sent (&r, 0, 1000000);
  g_assert_cmpint (disco_reload_rtt_oldest_unacked (&r), ==, 1000000);
  g_assert_cmpuint (disco_reload_rtt_ack (&r, 0, 0, 1100000), ==, 1);
  g_assert_cmpint (r.srtt_us, ==, 100000);
  g_assert_cmpint (r.rttvar_us, ==, 50000);
  g_assert_cmpint (r.rto_us, ==, 300000);

  /* Second sample 200 ms: RTTVAR = 3/4*50 + 1/4*100 = 62.5, SRTT = 112.5, RTO = 362.5 ms. */
  disco_reload_rtt_sent (&r, 1, 2000000);
  disco_reload_rtt_ack (&r, 1, 1u << 0, 2200000);
  g_assert_cmpint (r.rttvar_us, ==, 62500);
  g_assert_cmpint (r.srtt_us, ==, 112500);
  g_assert_cmpint (r.rto_us, ==, 362500);
  g_assert_cmpuint (r.samples, ==, 2);

  /* Tiny RTTs clamp at the minimum RTO. */
  for (int i = 0; i < 50; i++)
    disco_reload_rtt_sample (&r, 10);
  g_assert_cmpint (r.rto_us, ==, DISCO_RELOAD_RTO_MIN_US);

  /* An ACK whose own frame is unknown acks others through the bitmap, no sample. */
  disco_reload_rtt_sent (&r, 10, 5000000);
  disco_reload_rtt_sent (&r, 11, 5000001);
  disco_reload_rtt_sent (&r, 12, 5000002);
  guint64 samples = r.samples;
  g_assert_cmpuint (disco_reload_rtt_ack (&r, 13, (1u << 2) | (1u << 0), 6000000), ==, 2);
  g_assert_cmpuint (r.samples, ==, samples);
  g_assert_cmpint (disco_reload_rtt_oldest_unacked (&r), ==, 5000001);
  g_assert_cmpuint (disco_reload_rtt_ack (&r, 11, 0, 6000000), ==, 1);
  g_assert_cmpint (disco_reload_rtt_oldest_unacked (&r), ==, -1);

  /* The pending ring forgets the oldest frames instead of growing. */
  for (guint32 s = 100; s < 100 + 2 * DISCO_RELOAD_RTT_PENDING; s++)
    disco_reload_rtt_sent (&r, s, s);
  g_assert_cmpuint (r.pending_count, ==, DISCO_RELOAD_RTT_PENDING);
  g_assert_cmpint (disco_reload_rtt_oldest_unacked (&r), ==, 100 + DISCO_RELOAD_RTT_PENDING);
  g_assert_cmpuint (disco_reload_rtt_ack (&r, 100, 0, 1000), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/link/framing/data-round-trip", test_data_round_trip);
  g_test_add_func ("/link/framing/max-lengths", test_max_lengths);
  g_test_add_func ("/link/framing/bad-type", test_bad_type);
  g_test_add_func ("/link/framing/ack-round-trip", test_ack_round_trip);
  g_test_add_func ("/link/framing/ack-bitmap", test_ack_bitmap);
  g_test_add_func ("/link/framing/rtt", test_rtt);
  return g_test_run ();
}
