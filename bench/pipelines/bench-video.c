/* bench-video.c: CPU of one DiscoVideoRoom layout for N receivers, encode
 * once per codec (the room) versus a naive encode per receiver (the room's
 * encode_per_receiver baseline), in the same run.
 *
 * Two senders (moving videotestsrc patterns, VP8) feed a 640x360@15 canvas;
 * N receivers are plain UDP sockets that never read (the kernel drops what
 * overflows), so the figures are the room's cost plus the constant cost of
 * the two in-process senders.  The "room" column subtracts the N=0 figure
 * of the same mode (senders + compositing, no encoder).
 *
 *   bench-video [--n 1,2,4,8] [--seconds 5] [--codec VP8|H264] [--size 640x360] [--fps 15]
 */
#include "disco-video-room.h"
#include "video-peer.h"

#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Threads of this process: shows that receivers add none. */
static guint
thread_count (void)
{
  guint n = 0;
  GDir *d = g_dir_open ("/proc/self/task", 0, NULL);
  if (d == NULL)
    return 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

static void
run_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (20000);
    }
}

typedef struct
{
  double cpu_pct;
  guint encoders;
  guint64 frames_encoded;
  guint64 packets_out;
  guint threads;
} Result;

static gboolean
measure (const DiscoVideoLayoutConfig *cfg, DiscoVideoCodec codec, guint n, double seconds,
         Result *out, GError **error)
{
  g_autoptr (DiscoVideoRoom) room = disco_video_room_new ("bench", "127.0.0.1", cfg, error);
  if (room == NULL)
    return FALSE;
  g_autoptr (GInetSocketAddress) ra = G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new_from_string ("127.0.0.1", disco_video_room_get_rtp_port (room)));
  const char *patterns[] = { "ball", "smpte" };
  VideoPeer *senders[2];
  for (guint i = 0; i < 2; i++)
    {
      VideoPeerParams vp = { .codec = DISCO_VIDEO_CODEC_VP8,
                             .payload_type = 96,
                             .room = ra,
                             .color = 0xffffff,
                             .pattern = patterns[i],
                             .width = 320,
                             .height = 240,
                             .fps = cfg->fps,
                             .keyframe_s = 1,
                             .decode = FALSE };
      senders[i] = video_peer_new (&vp, error);
      g_assert_nonnull (senders[i]);
      g_autofree char *id = g_strdup_printf ("sender%u", i);
      DiscoVideoParticipantParams p = { .codec = DISCO_VIDEO_CODEC_VP8,
                                        .payload_type = 96,
                                        .remote_rtp = video_peer_get_address (senders[i]),
                                        .recv = TRUE };
      if (!disco_video_room_add_participant (room, id, &p, error))
        return FALSE;
    }
  GPtrArray *socks = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n; i++)
    {
      GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                 G_SOCKET_PROTOCOL_UDP, error);
      g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
      if (s == NULL || !g_socket_bind (s, any, FALSE, error))
        return FALSE;
      g_ptr_array_add (socks, s);
      g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, error);
      g_autofree char *id = g_strdup_printf ("receiver%u", i);
      DiscoVideoParticipantParams p = { .codec = codec,
                                        .payload_type = 96,
                                        .remote_rtp = G_INET_SOCKET_ADDRESS (local),
                                        .send = TRUE };
      if (!disco_video_room_add_participant (room, id, &p, error))
        return FALSE;
    }
  run_for (3.0); /* warm-up: encoders start, senders reach a key frame */
  DiscoVideoRoomStats before, after;
  disco_video_room_get_stats (room, &before);
  double c0 = cpu_seconds ();
  gint64 t0 = g_get_monotonic_time ();
  run_for (seconds);
  double c1 = cpu_seconds ();
  gint64 t1 = g_get_monotonic_time ();
  disco_video_room_get_stats (room, &after);
  if (g_getenv ("BENCH_VIDEO_DEBUG"))
    g_printerr ("n=%u frames_in %" G_GUINT64_FORMAT " frames_out %" G_GUINT64_FORMAT
                " encoded %" G_GUINT64_FORMAT " dropped %" G_GUINT64_FORMAT "\n",
                n, after.frames_in, after.frames_out, after.frames_encoded, after.dropped_packets);
  out->cpu_pct = 100.0 * (c1 - c0) / ((t1 - t0) / 1e6);
  out->threads = thread_count ();
  out->encoders = after.encoders_in_use;
  out->frames_encoded = after.frames_encoded - before.frames_encoded;
  out->packets_out = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("receiver%u", i);
      DiscoVideoParticipantStats ps;
      if (disco_video_room_get_participant_stats (room, id, &ps))
        out->packets_out += ps.packets_out;
      if (g_getenv ("BENCH_VIDEO_DEBUG"))
        g_printerr ("%s: %" G_GUINT64_FORMAT " packets\n", id, ps.packets_out);
    }
  g_clear_pointer (&room, disco_video_room_free);
  for (guint i = 0; i < 2; i++)
    video_peer_free (senders[i]);
  g_ptr_array_unref (socks);
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *n_list = NULL, *codec_name = NULL, *size = NULL;
  double seconds = 5;
  gint fps = 15;
  GOptionEntry entries[]
      = { { "n", 0, 0, G_OPTION_ARG_STRING, &n_list, "receiver counts (default 1,2,4,8)", "LIST" },
          { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "measured seconds per point", "S" },
          { "codec", 0, 0, G_OPTION_ARG_STRING, &codec_name, "VP8 (default) or H264", "NAME" },
          { "size", 0, 0, G_OPTION_ARG_STRING, &size, "canvas WxH (default 640x360)", "WxH" },
          { "fps", 0, 0, G_OPTION_ARG_INT, &fps, "canvas frame rate", "N" },
          { NULL } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- DiscoVideoRoom encode-once bench");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  DiscoVideoCodec codec = DISCO_VIDEO_CODEC_VP8;
  if (codec_name != NULL && !disco_video_codec_from_string (codec_name, &codec))
    {
      g_printerr ("unknown codec %s\n", codec_name);
      return 2;
    }
  guint w = 640, h = 360;
  if (size != NULL && sscanf (size, "%ux%u", &w, &h) != 2)
    {
      g_printerr ("bad --size %s\n", size);
      return 2;
    }
  g_auto (GStrv) ns = g_strsplit (n_list ? n_list : "1,2,4,8", ",", -1);

  printf ("# bench-video: %s %ux%u@%d, 2 VP8 senders 320x240, %.1f s per point\n",
          disco_video_codec_to_string (codec), w, h, fps, seconds);
  printf ("# cpu%% = whole process (room + 2 senders); room%% = cpu%% minus the N=0 point\n");
  printf ("%-8s %4s %8s %8s %8s %9s %10s %7s\n", "mode", "N", "cpu%", "room%", "encoders", "frames",
          "pkts_out", "threads");
  double base[2] = { 0, 0 };
  double last[2][64];
  guint count = 0;
  for (guint mode = 0; mode < 2; mode++)
    {
      DiscoVideoLayoutConfig cfg
          = { .width = w, .height = h, .fps = (guint)fps, .encode_per_receiver = mode == 1 };
      Result r;
      if (!measure (&cfg, codec, 0, seconds, &r, &error))
        {
          g_printerr ("bench failed: %s\n", error->message);
          return 1;
        }
      base[mode] = r.cpu_pct;
      printf ("%-8s %4u %8.1f %8.1f %8u %9" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT " %7u\n",
              mode ? "naive" : "shared", 0u, r.cpu_pct, 0.0, r.encoders, r.frames_encoded,
              r.packets_out, r.threads);
      count = 0;
      for (guint i = 0; ns[i] != NULL && count < G_N_ELEMENTS (last[0]); i++)
        {
          guint n = (guint)g_ascii_strtoull (ns[i], NULL, 10);
          if (n == 0 || n > 500)
            continue;
          if (!measure (&cfg, codec, n, seconds, &r, &error))
            {
              g_printerr ("bench failed: %s\n", error->message);
              return 1;
            }
          last[mode][count++] = r.cpu_pct;
          printf ("%-8s %4u %8.1f %8.1f %8u %9" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT " %7u\n",
                  mode ? "naive" : "shared", n, r.cpu_pct, r.cpu_pct - base[mode], r.encoders,
                  r.frames_encoded, r.packets_out, r.threads);
          fflush (stdout);
        }
    }
  printf ("# ratio naive/shared (whole process; room share above N=0 in brackets)\n");
  count = 0;
  for (guint i = 0; ns[i] != NULL && count < G_N_ELEMENTS (last[0]); i++)
    {
      guint n = (guint)g_ascii_strtoull (ns[i], NULL, 10);
      if (n == 0 || n > 500)
        continue;
      double sh = last[0][count], nv = last[1][count];
      double shr = MAX (sh - base[0], 0.1), nvr = MAX (nv - base[1], 0.1);
      printf ("ratio N=%-4u %.2f  (%.2f)\n", n, nv / MAX (sh, 0.1), nvr / shr);
      count++;
    }
  gst_deinit ();
  return 0;
}
