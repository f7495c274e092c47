/* test-video-room.c: DiscoVideoRoom with real RTP over loopback.
 *
 * Every participant is a VideoPeer: a pipeline that sends a solid colour
 * (VP8 or H.264) to the room and decodes the composed stream it gets back.
 * The checks read pixels at the centres of the grid cells.  Sizes are tiny
 * (320x180 canvas, 160x120 senders, 10 fps) because the machine is shared.
 */
#include "disco-video-layout.h"
#include "disco-video-room.h"
#include "video-peer.h"

#include <gst/gst.h>
#include <string.h>

#define W 320
#define H 180
#define FPS 10
#define WAIT_MS 90000 /* generous: the machine is shared; never a timing check */

#define RED 0xff0000
#define GREEN 0x00ff00
#define BLUE 0x0000ff

/* ------------------------------------------------------------ helpers */

typedef gboolean (*CondFunc) (gpointer data);

/* Iterates the default context until @cond holds or @ms pass. */
static gboolean
wait_for (CondFunc cond, gpointer data, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (20000);
    }
  return TRUE;
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

static DiscoVideoRoom *
room_new (guint keyframe_s)
{
  g_autoptr (GError) error = NULL;
  DiscoVideoLayoutConfig cfg = {
    .width = W, .height = H, .fps = FPS, .bitrate_kbps = 300, .keyframe_interval_s = keyframe_s
  };
  DiscoVideoRoom *room = disco_video_room_new ("test", "127.0.0.1", &cfg, &error);
  g_assert_no_error (error);
  g_assert_nonnull (room);
  return room;
}

static GInetSocketAddress *
room_address (DiscoVideoRoom *room)
{
  return G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new_from_string ("127.0.0.1", disco_video_room_get_rtp_port (room)));
}

/* @color -1: receive only.  @decode FALSE: send only. */
static VideoPeer *
peer_new_kf (DiscoVideoRoom *room, DiscoVideoCodec codec, gint color, gboolean decode,
             guint keyframe_s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetSocketAddress) ra = room_address (room);
  VideoPeerParams p = { .codec = codec,
                        .payload_type = codec == DISCO_VIDEO_CODEC_VP8 ? 96 : 97,
                        .room = ra,
                        .color = color,
                        .width = 160,
                        .height = 120,
                        .fps = FPS,
                        .keyframe_s = keyframe_s,
                        .decode = decode };
  VideoPeer *peer = video_peer_new (&p, &error);
  g_assert_no_error (error);
  return peer;
}

static VideoPeer *
peer_new (DiscoVideoRoom *room, DiscoVideoCodec codec, gint color, gboolean decode)
{
  return peer_new_kf (room, codec, color, decode, 1);
}

static void
add (DiscoVideoRoom *room, const char *id, VideoPeer *peer, DiscoVideoCodec codec, gboolean send,
     gboolean recv)
{
  g_autoptr (GError) error = NULL;
  DiscoVideoParticipantParams p = { .codec = codec,
                                    .payload_type = codec == DISCO_VIDEO_CODEC_VP8 ? 96 : 97,
                                    .remote_rtp = video_peer_get_address (peer),
                                    .send = send,
                                    .recv = recv };
  gboolean ok = disco_video_room_add_participant (room, id, &p, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static gboolean
color_near (const guint8 rgb[3], gint color)
{
  gint want[3] = { (color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff };
  for (guint i = 0; i < 3; i++)
    if (ABS ((gint)rgb[i] - want[i]) > 60)
      return FALSE;
  return TRUE;
}

typedef struct
{
  VideoPeer *peer;
  guint n;
  guint x[4], y[4];
  gint color[4];
} Expect;

/* The peer's last decoded frame is W x H and shows every expected colour. */
static gboolean
frame_matches (gpointer data)
{
  Expect *e = data;
  for (guint i = 0; i < e->n; i++)
    {
      guint8 rgb[3];
      guint w, h;
      if (!video_peer_pixel (e->peer, e->x[i], e->y[i], rgb, &w, &h) || w != W || h != H
          || !color_near (rgb, e->color[i]))
        return FALSE;
    }
  return TRUE;
}

static void
assert_sees (const char *who, VideoPeer *peer, guint n, const guint *xy, const gint *colors)
{
  Expect e = { .peer = peer, .n = n };
  for (guint i = 0; i < n; i++)
    {
      e.x[i] = xy[2 * i];
      e.y[i] = xy[2 * i + 1];
      e.color[i] = colors[i];
    }
  if (!wait_for (frame_matches, &e, WAIT_MS))
    {
      for (guint i = 0; i < n; i++)
        {
          guint8 rgb[3] = { 0 };
          guint w = 0, h = 0;
          gboolean got = video_peer_pixel (peer, e.x[i], e.y[i], rgb, &w, &h);
          g_printerr ("%s: frames %" G_GUINT64_FORMAT " (%ux%u, got %d) at %u,%u want %06x have "
                      "%02x%02x%02x\n",
                      who, video_peer_frames (peer), w, h, got, e.x[i], e.y[i], e.color[i], rgb[0],
                      rgb[1], rgb[2]);
        }
      g_error ("%s never saw the expected layout", who);
    }
}

static void
assert_cell (DiscoVideoRoom *room, const char *id, gint x, gint y, gint w, gint h)
{
  DiscoVideoParticipantStats st;
  g_assert_true (disco_video_room_get_participant_stats (room, id, &st));
  g_assert_true (st.has_cell);
  g_assert_cmpint (st.cell.x, ==, x);
  g_assert_cmpint (st.cell.y, ==, y);
  g_assert_cmpint (st.cell.width, ==, w);
  g_assert_cmpint (st.cell.height, ==, h);
}

/* -------------------------------------------------------------- layout */

static void
test_layout_grid (void)
{
  guint c, r;
  DiscoVideoRect rect;
  const guint expect[][3] = { { 0, 0, 0 }, { 1, 1, 1 }, { 2, 2, 1 }, { 3, 2, 2 },
                              { 4, 2, 2 }, { 5, 3, 2 }, { 9, 3, 3 }, { 10, 4, 3 } };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      disco_video_layout_grid (expect[i][0], &c, &r);
      g_assert_cmpuint (c, ==, expect[i][1]);
      g_assert_cmpuint (r, ==, expect[i][2]);
    }
  g_assert_false (disco_video_layout_cell (2, 2, 640, 360, &rect));
  g_assert_false (disco_video_layout_cell (0, 0, 640, 360, &rect));
  g_assert_true (disco_video_layout_cell (1, 0, 640, 360, &rect));
  g_assert_cmpint (rect.x, ==, 0);
  g_assert_cmpint (rect.width, ==, 640);
  g_assert_cmpint (rect.height, ==, 360);
  /* Three: 2x2 grid, the single last cell centred. */
  g_assert_true (disco_video_layout_cell (3, 2, 640, 360, &rect));
  g_assert_cmpint (rect.x, ==, 160);
  g_assert_cmpint (rect.y, ==, 180);
  g_assert_cmpint (rect.width, ==, 320);
  g_assert_cmpint (rect.height, ==, 180);
  /* Odd canvas splits stay even and inside the canvas. */
  for (guint n = 1; n <= 16; n++)
    for (guint i = 0; i < n; i++)
      {
        g_assert_true (disco_video_layout_cell (n, i, 1278, 718, &rect));
        g_assert_cmpint (rect.x % 2, ==, 0);
        g_assert_cmpint (rect.y % 2, ==, 0);
        g_assert_cmpint (rect.width % 2, ==, 0);
        g_assert_cmpint (rect.x + rect.width, <=, 1278);
        g_assert_cmpint (rect.y + rect.height, <=, 718);
      }
}

/* ------------------------------------------------------------- compose */

static void
test_two (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, TRUE);
  g_autoptr (VideoPeer) b = peer_new (room, DISCO_VIDEO_CODEC_VP8, GREEN, TRUE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);
  add (room, "b", b, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);
  assert_cell (room, "a", 0, 0, 160, 180);
  assert_cell (room, "b", 160, 0, 160, 180);

  /* 4:3 pictures letterboxed in 160x180 cells: rows 30..149 carry them. */
  const guint xy[] = { 80, 90, 240, 90, 80, 10, 240, 170 };
  const gint colors[] = { RED, GREEN, 0x000000, 0x000000 };
  assert_sees ("a", a, 4, xy, colors);
  assert_sees ("b", b, 4, xy, colors);

  DiscoVideoRoomStats st;
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.participants, ==, 2);
  g_assert_cmpuint (st.senders, ==, 2);
  g_assert_cmpuint (st.receivers, ==, 2);
  g_assert_cmpuint (st.layout_cells, ==, 2);
  g_assert_cmpuint (st.encoders_in_use, ==, 1);
  g_assert_cmpuint (st.frames_in, >, 0);
  g_assert_cmpuint (st.frames_out, >, 0);
  g_assert_cmpuint (st.frames_encoded, >, 0);
}

/* Three senders (two VP8, one H.264) plus receive-only VP8 listeners: one
 * encoder per codec whatever the number of receivers. */
static void
test_three_mixed (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, TRUE);
  g_autoptr (VideoPeer) b = peer_new (room, DISCO_VIDEO_CODEC_VP8, GREEN, TRUE);
  g_autoptr (VideoPeer) c = peer_new (room, DISCO_VIDEO_CODEC_H264, BLUE, TRUE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);
  add (room, "b", b, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);
  add (room, "c", c, DISCO_VIDEO_CODEC_H264, TRUE, TRUE);
  assert_cell (room, "a", 0, 0, 160, 90);
  assert_cell (room, "b", 160, 0, 160, 90);
  assert_cell (room, "c", 80, 90, 160, 90);

  const guint xy[] = { 80, 45, 240, 45, 160, 135, 20, 135 };
  const gint colors[] = { RED, GREEN, BLUE, 0x000000 };
  assert_sees ("a", a, 4, xy, colors);
  assert_sees ("b", b, 4, xy, colors);
  assert_sees ("c (H.264)", c, 4, xy, colors);

  DiscoVideoRoomStats st;
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.encoders_in_use, ==, 2);

  VideoPeer *extra[4];
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      g_autofree char *id = g_strdup_printf ("listener%u", i);
      extra[i] = peer_new (room, DISCO_VIDEO_CODEC_VP8, -1, i == 0);
      add (room, id, extra[i], DISCO_VIDEO_CODEC_VP8, TRUE, FALSE);
    }
  assert_sees ("listener0", extra[0], 3, xy, colors);
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.participants, ==, 7);
  g_assert_cmpuint (st.receivers, ==, 7);
  g_assert_cmpuint (st.senders, ==, 3);
  g_assert_cmpuint (st.encoders_in_use, ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      DiscoVideoParticipantStats ps;
      g_autofree char *id = g_strdup_printf ("listener%u", i);
      g_assert_true (disco_video_room_get_participant_stats (room, id, &ps));
      g_assert_false (ps.has_cell);
      disco_video_room_remove_participant (room, id);
      video_peer_free (extra[i]);
    }
  /* The H.264 receiver leaves: its encoder goes with it. */
  disco_video_room_remove_participant (room, "c");
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.encoders_in_use, ==, 1);
  g_assert_cmpuint (st.layout_cells, ==, 2);
}

static gboolean
has_rtp (gpointer data)
{
  return video_peer_rtp_packets (data) > 0;
}

static gboolean
has_frames (gpointer data)
{
  return video_peer_frames (data) > 0;
}

/* With periodic key frames an hour apart, a late joiner can only start at
 * the key frame it forced; its first packet must start one. */
static void
test_late_joiner (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (3600);
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, TRUE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);
  g_assert_true (wait_for (has_frames, a, WAIT_MS));
  run_for (1500); /* well past the encoder's first key frame */

  g_autoptr (VideoPeer) late = peer_new (room, DISCO_VIDEO_CODEC_VP8, -1, TRUE);
  add (room, "late", late, DISCO_VIDEO_CODEC_VP8, TRUE, FALSE);
  g_assert_true (wait_for (has_rtp, late, WAIT_MS));
  gboolean key = FALSE;
  g_assert_true (video_peer_first_packet (late, &key));
  g_assert_true (key);
  const guint xy[] = { 160, 90 };
  const gint colors[] = { RED };
  assert_sees ("late", late, 1, xy, colors);

  /* Same for H.264 (a second encoder, fresh, then one more joiner). */
  g_autoptr (VideoPeer) h1 = peer_new (room, DISCO_VIDEO_CODEC_H264, -1, TRUE);
  add (room, "h1", h1, DISCO_VIDEO_CODEC_H264, TRUE, FALSE);
  assert_sees ("h1", h1, 1, xy, colors);
  g_autoptr (VideoPeer) h2 = peer_new (room, DISCO_VIDEO_CODEC_H264, -1, TRUE);
  add (room, "h2", h2, DISCO_VIDEO_CODEC_H264, TRUE, FALSE);
  g_assert_true (wait_for (has_rtp, h2, WAIT_MS));
  g_assert_true (video_peer_first_packet (h2, &key));
  g_assert_true (key);
  assert_sees ("h2", h2, 1, xy, colors);

  g_autoptr (GError) error = NULL;
  g_assert_true (disco_video_room_request_keyframe (room, "late", &error));
  g_assert_no_error (error);
  DiscoVideoParticipantStats ps;
  g_assert_true (disco_video_room_get_participant_stats (room, "late", &ps));
  g_assert_cmpuint (ps.keyframe_requests, ==, 1);
  g_assert_cmpuint (ps.packets_out, >, 0);
}

/* A sender that joins mid-stream with key frames an hour apart: only the
 * room's RTCP PLI (answered by the peer) gets its picture decoded. */
static void
test_sender_pli (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (VideoPeer) obs = peer_new (room, DISCO_VIDEO_CODEC_VP8, -1, TRUE);
  add (room, "observer", obs, DISCO_VIDEO_CODEC_VP8, TRUE, FALSE);
  g_autoptr (VideoPeer) a = peer_new_kf (room, DISCO_VIDEO_CODEC_VP8, RED, FALSE, 3600);
  run_for (1500); /* its only key frame is gone (dropped as unknown) */
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, FALSE, TRUE);
  const guint xy[] = { 160, 90 };
  const gint red[] = { RED };
  assert_sees ("observer", obs, 1, xy, red);
  g_assert_cmpuint (video_peer_plis (a), >, 0);
  DiscoVideoParticipantStats ps;
  g_assert_true (disco_video_room_get_participant_stats (room, "a", &ps));
  g_assert_cmpuint (ps.plis_sent, >, 0);
  g_assert_cmpuint (ps.frames_in, >, 0);

  /* An explicit request for a sender is a PLI too (never rate-limited). */
  g_autoptr (GError) error = NULL;
  guint64 sent = ps.plis_sent;
  g_assert_true (disco_video_room_request_keyframe (room, "a", &error));
  g_assert_no_error (error);
  g_assert_true (disco_video_room_get_participant_stats (room, "a", &ps));
  g_assert_cmpuint (ps.plis_sent, >, sent);
}

/* Reads RTP from @sock until a packet starts a key frame; counts the
 * packets before it.  FALSE if none within @ms. */
static gboolean
read_until_keyframe (GSocket *sock, DiscoVideoCodec codec, guint ms, guint *before)
{
  guint8 buf[2048];
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  *before = 0;
  while (g_get_monotonic_time () < end)
    {
      if (!g_socket_condition_timed_wait (sock, G_IO_IN, 100000, NULL, NULL))
        continue;
      gssize n = g_socket_receive (sock, (gchar *)buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        continue;
      if (video_peer_rtp_starts_keyframe (codec, buf, (gsize)n))
        return TRUE;
      (*before)++;
    }
  return FALSE;
}

/* A receiver's RTCP PLI makes the shared encoder produce a key frame even
 * though periodic ones are an hour apart. */
static void
test_receiver_pli (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (3600);
  g_autoptr (GInetSocketAddress) ra = room_address (room);
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, TRUE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, TRUE, TRUE);

  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (sock, any, FALSE, NULL));
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (sock, NULL);
  DiscoVideoParticipantParams p = { .codec = DISCO_VIDEO_CODEC_VP8,
                                    .payload_type = 100,
                                    .remote_rtp = G_INET_SOCKET_ADDRESS (local),
                                    .send = TRUE };
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_video_room_add_participant (room, "raw", &p, &error));
  g_assert_no_error (error);

  guint before = 0;
  g_assert_true (read_until_keyframe (sock, DISCO_VIDEO_CODEC_VP8, WAIT_MS, &before));
  g_assert_cmpuint (before, ==, 0); /* joiners start at a key frame */
  /* Let delta frames flow, then ask. */
  guint8 buf[2048];
  for (guint i = 0; i < 20; i++)
    g_assert_cmpint (g_socket_receive (sock, (gchar *)buf, sizeof buf, NULL, NULL), >, 0);
  g_assert_cmpuint (buf[1] & 0x7f, ==, 100); /* its own payload type */
  const guint8 pli[] = { 0x81, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8 };
  g_socket_send_to (sock, G_SOCKET_ADDRESS (ra), (const gchar *)pli, sizeof pli, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (read_until_keyframe (sock, DISCO_VIDEO_CODEC_VP8, WAIT_MS, &before));
  DiscoVideoParticipantStats ps;
  g_assert_true (disco_video_room_get_participant_stats (room, "raw", &ps));
  g_assert_cmpuint (ps.keyframe_requests, ==, 1);

  /* A second receiver of the same encode: own SSRC, PT and sequence. */
  g_autoptr (GSocket) sock2
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_assert_true (g_socket_bind (sock2, any, FALSE, NULL));
  g_autoptr (GSocketAddress) local2 = g_socket_get_local_address (sock2, NULL);
  p.payload_type = 101;
  p.remote_rtp = G_INET_SOCKET_ADDRESS (local2);
  g_assert_true (disco_video_room_add_participant (room, "raw2", &p, &error));
  g_assert_no_error (error);
  g_assert_true (read_until_keyframe (sock2, DISCO_VIDEO_CODEC_VP8, WAIT_MS, &before));
  guint8 buf2[2048];
  gssize n1 = g_socket_receive (sock, (gchar *)buf, sizeof buf, NULL, NULL);
  gssize n2 = g_socket_receive (sock2, (gchar *)buf2, sizeof buf2, NULL, NULL);
  g_assert_cmpint (n1, >=, 12);
  g_assert_cmpint (n2, >=, 12);
  g_assert_cmpuint (buf[1] & 0x7f, ==, 100);
  g_assert_cmpuint (buf2[1] & 0x7f, ==, 101);
  g_assert_true (memcmp (buf + 8, buf2 + 8, 4) != 0); /* SSRC */
  DiscoVideoRoomStats st;
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.receivers, ==, 3);
  g_assert_cmpuint (st.encoders_in_use, ==, 1);
}

typedef struct
{
  VideoPeer *peer;
  guint64 above;
} FramesAbove;

static gboolean
frames_above (gpointer data)
{
  FramesAbove *f = data;
  return video_peer_frames (f->peer) > f->above;
}

typedef struct
{
  DiscoVideoRoom *room;
  const char *id;
} SenderRef;

static gboolean
sender_has_frames (gpointer data)
{
  SenderRef *s = data;
  DiscoVideoParticipantStats ps;
  return disco_video_room_get_participant_stats (s->room, s->id, &ps) && ps.frames_in > 0;
}

/* Senders come and go while an observer keeps receiving. */
static void
test_churn (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (VideoPeer) obs = peer_new (room, DISCO_VIDEO_CODEC_VP8, -1, TRUE);
  add (room, "observer", obs, DISCO_VIDEO_CODEC_VP8, TRUE, FALSE);
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, FALSE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, FALSE, TRUE);
  const guint xy1[] = { 160, 90 };
  const gint red[] = { RED };
  assert_sees ("observer", obs, 1, xy1, red);

  for (guint round = 0; round < 4; round++)
    {
      g_autofree char *id = g_strdup_printf ("x%u", round);
      gint color = round % 2 ? BLUE : GREEN;
      g_autoptr (VideoPeer) x = peer_new (room, DISCO_VIDEO_CODEC_VP8, color, round == 0);
      add (room, id, x, DISCO_VIDEO_CODEC_VP8, round == 0, TRUE);
      SenderRef s = { room, id };
      g_assert_true (wait_for (sender_has_frames, &s, WAIT_MS));
      if (round == 0)
        {
          const guint xy2[] = { 80, 90, 240, 90 };
          const gint colors[] = { RED, color };
          assert_sees ("observer", obs, 2, xy2, colors);
        }
      /* A short-lived one that never sends anything. */
      g_autoptr (VideoPeer) q = peer_new (room, DISCO_VIDEO_CODEC_H264, -1, FALSE);
      add (room, "quiet", q, DISCO_VIDEO_CODEC_H264, FALSE, TRUE);
      disco_video_room_remove_participant (room, "quiet");
      disco_video_room_remove_participant (room, id);
    }
  /* Back to one picture filling the canvas, and still flowing. */
  assert_sees ("observer", obs, 1, xy1, red);
  FramesAbove f = { obs, video_peer_frames (obs) + 5 };
  g_assert_true (wait_for (frames_above, &f, WAIT_MS));
  DiscoVideoRoomStats st;
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.participants, ==, 2);
  g_assert_cmpuint (st.senders, ==, 1);
  g_assert_cmpuint (st.encoders_in_use, ==, 1);

  /* Everyone gone: the canvas goes on, black. */
  disco_video_room_remove_participant (room, "a");
  const gint black[] = { 0x000000 };
  assert_sees ("observer", obs, 1, xy1, black);
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.layout_cells, ==, 0);
}

/* ------------------------------------------------------------- bad input */

static void
send_bytes (GSocket *sock, GSocketAddress *to, const guint8 *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_socket_send_to (sock, to, (const gchar *)data, len, NULL, &error);
  g_assert_no_error (error);
}

static void
test_malformed (void)
{
  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (GInetSocketAddress) ra = room_address (room);
  g_autoptr (VideoPeer) obs = peer_new (room, DISCO_VIDEO_CODEC_VP8, -1, TRUE);
  add (room, "observer", obs, DISCO_VIDEO_CODEC_VP8, TRUE, FALSE);

  /* A participant whose address is ours: we send it garbage by hand. */
  g_autoptr (GSocket) evil
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (evil, any, FALSE, NULL));
  g_autoptr (GSocketAddress) evil_addr = g_socket_get_local_address (evil, NULL);
  for (guint codec = 0; codec < 2; codec++)
    {
      const char *id = codec ? "evil264" : "evil";
      DiscoVideoParticipantParams p = { .codec = codec,
                                        .payload_type = 96,
                                        .remote_rtp = G_INET_SOCKET_ADDRESS (evil_addr),
                                        .send = FALSE,
                                        .recv = TRUE };
      g_autoptr (GError) error = NULL;
      g_assert_true (disco_video_room_add_participant (room, id, &p, &error));
      g_assert_no_error (error);

      GRand *rnd = g_rand_new_with_seed (7 + codec);
      guint8 pkt[1500];
      for (guint i = 0; i < 600; i++)
        {
          gsize len = g_rand_int_range (rnd, 0, sizeof pkt);
          for (gsize j = 0; j < len; j++)
            pkt[j] = (guint8)g_rand_int (rnd);
          if (i % 3 != 0 && len >= 12)
            {
              /* Valid-looking header, random payload: reaches the decoder. */
              pkt[0] = 0x80 | (pkt[0] & 0x30 ? 0x10 * (i % 2) : 0);
              pkt[1] = 96 | (i % 7 == 0 ? 0x80 : 0);
              pkt[2] = (guint8)(i >> 8);
              pkt[3] = (guint8)i;
            }
          if (i % 50 == 0)
            {
              /* RTCP PSFB with lengths pointing past the end. */
              memset (pkt, 0, 16);
              pkt[0] = 0x81;
              pkt[1] = 206;
              pkt[3] = (guint8)(i / 50 + 1);
              len = 12;
            }
          send_bytes (evil, G_SOCKET_ADDRESS (ra), pkt, len);
          if (i % 100 == 0)
            run_for (20);
        }
      g_rand_free (rnd);
      run_for (300);
      disco_video_room_remove_participant (room, id);
    }
  /* Strangers: unknown address, runts, wrong version. */
  g_autoptr (GSocket) stranger
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  const guint8 runt[] = { 0x80 }, v1[] = { 0x40, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
  send_bytes (stranger, G_SOCKET_ADDRESS (ra), runt, sizeof runt);
  send_bytes (stranger, G_SOCKET_ADDRESS (ra), v1, sizeof v1);
  send_bytes (evil, G_SOCKET_ADDRESS (ra), v1, sizeof v1);

  /* The room still works: a real sender shows up for the observer. */
  g_autoptr (VideoPeer) a = peer_new (room, DISCO_VIDEO_CODEC_VP8, RED, FALSE);
  add (room, "a", a, DISCO_VIDEO_CODEC_VP8, FALSE, TRUE);
  const guint xy[] = { 160, 90 };
  const gint red[] = { RED };
  assert_sees ("observer", obs, 1, xy, red);
  DiscoVideoRoomStats st;
  disco_video_room_get_stats (room, &st);
  g_assert_cmpuint (st.dropped_packets, >=, 3);
}

static void
test_invalid (void)
{
  g_autoptr (GError) error = NULL;
  DiscoVideoLayoutConfig bad = { .width = 321, .height = 180, .fps = 10 };
  g_assert_null (disco_video_room_new ("bad", "127.0.0.1", &bad, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  DiscoVideoLayoutConfig ok = { .width = W, .height = H, .fps = FPS };
  g_assert_null (disco_video_room_new ("bad", "not-an-ip", &ok, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID);
  g_clear_error (&error);

  g_autoptr (DiscoVideoRoom) room = room_new (0);
  g_autoptr (GInetSocketAddress) addr
      = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new_from_string ("127.0.0.1", 9));
  DiscoVideoParticipantParams p
      = { .codec = DISCO_VIDEO_CODEC_VP8, .payload_type = 72, .remote_rtp = addr, .send = TRUE };
  g_assert_false (disco_video_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  p.payload_type = 96;
  p.codec = 7;
  g_assert_false (disco_video_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  p.codec = DISCO_VIDEO_CODEC_VP8;
  g_assert_true (disco_video_room_add_participant (room, "x", &p, &error));
  g_assert_no_error (error);
  g_assert_false (disco_video_room_add_participant (room, "x", &p, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (disco_video_room_add_participant (room, "y", &p, &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (disco_video_room_request_keyframe (room, "nobody", &error));
  g_assert_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_NOT_FOUND);
  g_clear_error (&error);
  disco_video_room_remove_participant (room, "nobody");
  g_assert_true (disco_video_room_has_participant (room, "x"));
  disco_video_room_remove_participant (room, "x");
  g_assert_false (disco_video_room_has_participant (room, "x"));

  DiscoVideoCodec c;
  g_assert_true (disco_video_codec_from_string ("h264", &c));
  g_assert_cmpint (c, ==, DISCO_VIDEO_CODEC_H264);
  g_assert_false (disco_video_codec_from_string ("VP9", &c));
  g_assert_null (disco_video_codec_to_string (9));
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/video/layout/grid", test_layout_grid);
  g_test_add_func ("/video/invalid", test_invalid);
  g_test_add_func ("/video/compose/two", test_two);
  g_test_add_func ("/video/compose/three-mixed", test_three_mixed);
  g_test_add_func ("/video/late-joiner", test_late_joiner);
  g_test_add_func ("/video/churn", test_churn);
  g_test_add_func ("/video/pli/sender", test_sender_pli);
  g_test_add_func ("/video/pli/receiver", test_receiver_pli);
  g_test_add_func ("/video/malformed", test_malformed);
  int rc = g_test_run ();
  gst_deinit ();
  return rc;
}
