/* video-peer.c: see video-peer.h. */
#include "video-peer.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <string.h>

struct _VideoPeer
{
  VideoPeerParams p;
  GSocket *socket;
  GInetSocketAddress *local;
  GstElement *pipeline;
  GMutex lock;
  GstSample *last; /* under lock */
  GstElement *enc; /* the sender's encoder: answers PLI */
  guint64 frames, rtp, rtcp, plis;
  gboolean got_first, first_key;
};

/* RFC 7741 / RFC 6184, written separately from the room's parser so the
 * test does not trust the code it checks. */
gboolean
video_peer_rtp_starts_keyframe (DiscoVideoCodec codec, const guint8 *d, gsize n)
{
  if (n < 13)
    return FALSE;
  gsize off = 12 + 4 * (d[0] & 0x0f);
  if (d[0] & 0x10)
    {
      if (n < off + 4)
        return FALSE;
      off += 4 + 4 * ((d[off + 2] << 8) | d[off + 3]);
    }
  if (off >= n)
    return FALSE;
  const guint8 *p = d + off;
  gsize len = n - off;
  if (codec == DISCO_VIDEO_CODEC_H264)
    return (p[0] & 0x1f) == 7 || ((p[0] & 0x1f) == 24 && len > 3 && (p[3] & 0x1f) == 7);
  if (!(p[0] & 0x10) || (p[0] & 0x07))
    return FALSE; /* not the start of partition 0 */
  gsize h = 1;
  if (p[0] & 0x80)
    {
      h = 2;
      if (len < 2)
        return FALSE;
      if (p[1] & 0x80)
        h += (len > 2 && (p[2] & 0x80)) ? 2 : 1;
      if (p[1] & 0x40)
        h++;
      if (p[1] & 0x30)
        h++;
    }
  return h < len && !(p[h] & 0x01);
}

static GstPadProbeReturn
on_packet (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  VideoPeer *peer = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  gboolean rtcp = FALSE;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_DROP;
  rtcp = map.size >= 2 && map.data[1] >= 192 && map.data[1] <= 223;
  gboolean pli = rtcp && map.data[1] == 206 && (map.data[0] & 0x1f) == 1;
  if (pli && peer->enc != NULL)
    gst_element_send_event (
        peer->enc, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
  g_mutex_lock (&peer->lock);
  if (rtcp)
    peer->rtcp++;
  if (pli)
    peer->plis++;
  else
    {
      peer->rtp++;
      if (!peer->got_first)
        {
          peer->got_first = TRUE;
          peer->first_key = video_peer_rtp_starts_keyframe (peer->p.codec, map.data, map.size);
        }
    }
  g_mutex_unlock (&peer->lock);
  gst_buffer_unmap (buf, &map);
  return rtcp || !peer->p.decode ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static GstFlowReturn
on_frame (GstAppSink *sink, gpointer data)
{
  VideoPeer *peer = data;
  GstSample *s = gst_app_sink_pull_sample (sink);
  if (s == NULL)
    return GST_FLOW_EOS;
  g_mutex_lock (&peer->lock);
  if (peer->last != NULL)
    gst_sample_unref (peer->last);
  peer->last = s;
  peer->frames++;
  g_mutex_unlock (&peer->lock);
  return GST_FLOW_OK;
}

static const char *
enc_desc (DiscoVideoCodec codec)
{
  return codec == DISCO_VIDEO_CODEC_VP8
             ? "vp8enc name=enc deadline=1 cpu-used=16 threads=1 lag-in-frames=0 "
               "keyframe-max-dist=%u "
               "target-bitrate=200000 ! rtpvp8pay mtu=1200 pt=%u"
             : "x264enc name=enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max=%u "
               "bitrate=200 ! video/x-h264,profile=constrained-baseline ! "
               "rtph264pay mtu=1200 config-interval=-1 pt=%u";
}

VideoPeer *
video_peer_new (const VideoPeerParams *p, GError **error)
{
  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (sock == NULL)
    return NULL;
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  if (!g_socket_bind (sock, any, FALSE, error))
    return NULL;
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (sock, error);
  if (local == NULL)
    return NULL;

  const char *name = disco_video_codec_to_string (p->codec);
  GString *d = g_string_new (NULL);
  g_string_append_printf (d,
                          "udpsrc name=src close-socket=false buffer-size=2000000 "
                          "caps=\"application/x-rtp,media=video,clock-rate=90000,"
                          "encoding-name=%s,payload=%u\" ",
                          name, p->payload_type);
  if (p->decode)
    g_string_append_printf (
        d,
        "! rtpjitterbuffer latency=100 ! %s wait-for-keyframe=true ! %s ! videoconvert ! "
        "video/x-raw,format=RGB ! appsink name=sink sync=false max-buffers=2 drop=true ",
        p->codec == DISCO_VIDEO_CODEC_VP8 ? "rtpvp8depay" : "rtph264depay",
        p->codec == DISCO_VIDEO_CODEC_VP8 ? "vp8dec" : "avdec_h264");
  else
    g_string_append (d, "! fakesink sync=false ");
  if (p->color >= 0)
    {
      g_string_append_printf (d,
                              "videotestsrc is-live=true pattern=%s "
                              "foreground-color=0x%08x ! video/x-raw,format=I420,width=%u,"
                              "height=%u,framerate=%u/1 ! ",
                              p->pattern ? p->pattern : "solid-color",
                              0xff000000u | (guint)p->color, p->width, p->height, p->fps);
      g_string_append_printf (d, enc_desc (p->codec), p->fps * MAX (p->keyframe_s, 1u),
                              p->payload_type);
      g_string_append (d, " ! udpsink name=out sync=false async=false close-socket=false");
    }
  g_autofree char *desc = g_string_free (d, FALSE);
  GstElement *pipe = gst_parse_launch (desc, error);
  if (pipe == NULL)
    return NULL;

  VideoPeer *peer = g_new0 (VideoPeer, 1);
  peer->p = *p;
  peer->p.room = g_object_ref (p->room);
  peer->p.pattern = NULL; /* borrowed, used only above */
  g_mutex_init (&peer->lock);
  peer->socket = g_steal_pointer (&sock);
  peer->local = G_INET_SOCKET_ADDRESS (g_steal_pointer (&local));
  peer->pipeline = pipe;

  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  g_object_set (src, "socket", peer->socket, NULL);
  GstPad *srcpad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (srcpad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, peer, NULL);
  gst_object_unref (srcpad);
  gst_object_unref (src);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  if (sink != NULL)
    {
      GstAppSinkCallbacks cb = { .new_sample = on_frame };
      gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, peer, NULL);
      gst_object_unref (sink);
    }
  peer->enc = gst_bin_get_by_name (GST_BIN (pipe), "enc");
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipe), "out");
  if (out != NULL)
    {
      g_autofree char *host
          = g_inet_address_to_string (g_inet_socket_address_get_address (p->room));
      g_object_set (out, "socket", peer->socket, "host", host, "port",
                    (gint)g_inet_socket_address_get_port (p->room), NULL);
      gst_object_unref (out);
    }
  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "peer pipeline refused to play");
      video_peer_free (peer);
      return NULL;
    }
  return peer;
}

void
video_peer_free (VideoPeer *peer)
{
  if (peer == NULL)
    return;
  gst_element_set_state (peer->pipeline, GST_STATE_NULL);
  gst_clear_object (&peer->enc);
  gst_object_unref (peer->pipeline);
  if (peer->last != NULL)
    gst_sample_unref (peer->last);
  g_mutex_clear (&peer->lock);
  g_object_unref (peer->p.room);
  g_object_unref (peer->local);
  g_object_unref (peer->socket);
  g_free (peer);
}

GInetSocketAddress *
video_peer_get_address (VideoPeer *peer)
{
  return peer->local;
}

guint64
video_peer_frames (VideoPeer *peer)
{
  g_mutex_lock (&peer->lock);
  guint64 n = peer->frames;
  g_mutex_unlock (&peer->lock);
  return n;
}

guint64
video_peer_rtp_packets (VideoPeer *peer)
{
  g_mutex_lock (&peer->lock);
  guint64 n = peer->rtp;
  g_mutex_unlock (&peer->lock);
  return n;
}

guint64
video_peer_rtcp_packets (VideoPeer *peer)
{
  g_mutex_lock (&peer->lock);
  guint64 n = peer->rtcp;
  g_mutex_unlock (&peer->lock);
  return n;
}

guint64
video_peer_plis (VideoPeer *peer)
{
  g_mutex_lock (&peer->lock);
  guint64 n = peer->plis;
  g_mutex_unlock (&peer->lock);
  return n;
}

gboolean
video_peer_first_packet (VideoPeer *peer, gboolean *keyframe)
{
  g_mutex_lock (&peer->lock);
  gboolean got = peer->got_first;
  *keyframe = peer->first_key;
  g_mutex_unlock (&peer->lock);
  return got;
}

gboolean
video_peer_pixel (VideoPeer *peer, guint x, guint y, guint8 rgb[3], guint *w, guint *h)
{
  g_mutex_lock (&peer->lock);
  GstSample *s = peer->last ? gst_sample_ref (peer->last) : NULL;
  g_mutex_unlock (&peer->lock);
  if (s == NULL)
    return FALSE;
  GstVideoInfo info;
  gboolean ok = gst_video_info_from_caps (&info, gst_sample_get_caps (s));
  GstVideoFrame frame;
  if (ok)
    ok = gst_video_frame_map (&frame, &info, gst_sample_get_buffer (s), GST_MAP_READ);
  if (ok)
    {
      *w = GST_VIDEO_INFO_WIDTH (&info);
      *h = GST_VIDEO_INFO_HEIGHT (&info);
      if (x < *w && y < *h)
        {
          const guint8 *row = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
                              + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
          memcpy (rgb, row + 3 * x, 3);
        }
      else
        ok = FALSE;
      gst_video_frame_unmap (&frame);
    }
  gst_sample_unref (s);
  return ok;
}
