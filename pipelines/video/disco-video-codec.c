/* disco-video-codec.c: decode/encode chains and key frame detection. */
#define G_LOG_DOMAIN "disco-video-room"

#include "disco-video-codec.h"

#include "disco-gst-util.h"

#include <string.h>

#define RTP_MTU 1200

const char *
disco_video_codec_to_string (DiscoVideoCodec codec)
{
  switch (codec)
    {
      case DISCO_VIDEO_CODEC_VP8:
        return "VP8";
      case DISCO_VIDEO_CODEC_H264:
        return "H264";
      default:
        return NULL;
    }
}

gboolean
disco_video_codec_from_string (const char *name, DiscoVideoCodec *codec)
{
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (name, "VP8") == 0)
    *codec = DISCO_VIDEO_CODEC_VP8;
  else if (g_ascii_strcasecmp (name, "H264") == 0)
    *codec = DISCO_VIDEO_CODEC_H264;
  else
    return FALSE;
  return TRUE;
}

GstCaps *
disco_video_codec_rtp_caps (DiscoVideoCodec codec, guint8 pt)
{
  return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video", "clock-rate",
                              G_TYPE_INT, DISCO_VIDEO_CLOCK_RATE, "encoding-name", G_TYPE_STRING,
                              disco_video_codec_to_string (codec), "payload", G_TYPE_INT, (gint)pt,
                              NULL);
}

/* First installed factory of the NULL-terminated @names. */
static GstElement *
make_first (const char *const *names, const char *elem_name, GError **error)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      GstElement *e = gst_element_factory_make (names[i], elem_name);
      if (e != NULL)
        return e;
    }
  g_autofree char *all = g_strjoinv (" or ", (char **)names);
  g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_MISSING_PLUGIN,
               "GStreamer element %s is not installed", all);
  return NULL;
}

static gboolean
is_factory (GstElement *e, const char *name)
{
  GstElementFactory *f = gst_element_get_factory (e);
  return f != NULL && g_strcmp0 (GST_OBJECT_NAME (f), name) == 0;
}

/* Links @elems in order inside a new bin with ghost sink/src pads.  Takes
 * the floating refs; on a missing element every other one is dropped. */
static GstElement *
chain_bin (GstElement **elems, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    if (elems[i] == NULL)
      {
        for (guint j = 0; j < n; j++)
          if (elems[j] != NULL)
            gst_object_unref (gst_object_ref_sink (elems[j]));
        if (error != NULL && *error == NULL)
          g_set_error_literal (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_MISSING_PLUGIN,
                               "a GStreamer element is not installed");
        return NULL;
      }
  return disco_gst_chain_bin (elems, n, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_FAILED,
                              error);
}

GstElement *
disco_video_codec_decode_bin (DiscoVideoCodec codec, guint jitter_ms, GError **error)
{
  static const char *const h264_decoders[] = { "avdec_h264", "openh264dec", NULL };
  GstElement *e[4] = { NULL };
  guint n = 0;

  e[n] = gst_element_factory_make ("rtpjitterbuffer", "jb");
  if (e[n] != NULL)
    g_object_set (e[n], "latency", jitter_ms, "do-lost", TRUE, "drop-on-latency", TRUE, NULL);
  n++;
  e[n++] = gst_element_factory_make (
      codec == DISCO_VIDEO_CODEC_VP8 ? "rtpvp8depay" : "rtph264depay", NULL);
  if (e[n - 1] != NULL)
    g_object_set (e[n - 1], "request-keyframe", TRUE, "wait-for-keyframe", TRUE, NULL);
  GstElement *dec = codec == DISCO_VIDEO_CODEC_VP8 ? gst_element_factory_make ("vp8dec", NULL)
                                                   : make_first (h264_decoders, NULL, error);
  if (dec != NULL)
    {
      /* A sender's corrupt frame must not end its input (default: error
       * after 10 in a row). */
      g_object_set (dec, "max-errors", -1, NULL);
      if (is_factory (dec, "avdec_h264"))
        /* Frame threading adds frames of latency; slices do not. */
        g_object_set (dec, "max-threads", 1, NULL);
      else if (is_factory (dec, "vp8dec"))
        g_object_set (dec, "threads", 1, NULL);
    }
  e[n++] = dec;
  return chain_bin (e, n, error);
}

GstElement *
disco_video_codec_encode_bin (DiscoVideoCodec codec, guint fps, guint bitrate_kbps,
                              guint keyframe_interval_s, GError **error)
{
  static const char *const h264_encoders[] = { "x264enc", "openh264enc", NULL };
  GstElement *e[4] = { NULL };
  guint n = 0;
  guint kf_frames = MAX (1, fps * keyframe_interval_s);

  /* A slow encoder drops frames here instead of holding the compositor
   * (and so every other encoder) back. */
  GstElement *q = gst_element_factory_make ("queue", NULL);
  if (q != NULL)
    g_object_set (q, "leaky", 2, "max-size-buffers", 2, "max-size-bytes", 0, "max-size-time",
                  (guint64)0, NULL);
  e[n++] = q;

  GstElement *enc = codec == DISCO_VIDEO_CODEC_VP8 ? gst_element_factory_make ("vp8enc", "enc")
                                                   : make_first (h264_encoders, "enc", error);
  if (enc != NULL)
    {
      if (is_factory (enc, "vp8enc"))
        g_object_set (enc, "deadline", (gint64)1, "cpu-used", 12, "end-usage", 1 /* cbr */,
                      "target-bitrate", (gint)(bitrate_kbps * 1000), "keyframe-max-dist",
                      (gint)kf_frames, "lag-in-frames", 0, "threads", 1, "error-resilient",
                      1 /* default */, "min-force-key-unit-interval", (guint64)200 * GST_MSECOND,
                      NULL);
      else if (is_factory (enc, "x264enc"))
        {
          gst_util_set_object_arg (G_OBJECT (enc), "tune", "zerolatency");
          gst_util_set_object_arg (G_OBJECT (enc), "speed-preset", "ultrafast");
          g_object_set (enc, "bitrate", bitrate_kbps, "key-int-max", kf_frames, "threads", 1,
                        "min-force-key-unit-interval", (guint64)200 * GST_MSECOND, NULL);
        }
      else
        g_object_set (enc, "bitrate", bitrate_kbps * 1000, "gop-size", kf_frames, NULL);
    }
  e[n++] = enc;

  if (codec == DISCO_VIDEO_CODEC_H264)
    {
      GstElement *cf = gst_element_factory_make ("capsfilter", NULL);
      if (cf != NULL)
        {
          g_autoptr (GstCaps) caps = gst_caps_from_string (
              "video/x-h264,profile=constrained-baseline,stream-format=byte-stream");
          g_object_set (cf, "caps", caps, NULL);
        }
      e[n++] = cf;
    }

  GstElement *pay = gst_element_factory_make (
      codec == DISCO_VIDEO_CODEC_VP8 ? "rtpvp8pay" : "rtph264pay", NULL);
  if (pay != NULL)
    {
      g_object_set (pay, "mtu", (guint)RTP_MTU, "pt", 96u, "timestamp-offset", 0u, "seqnum-offset",
                    0, NULL);
      if (codec == DISCO_VIDEO_CODEC_H264)
        /* SPS/PPS before every IDR: a joiner can start at any key frame. */
        g_object_set (pay, "config-interval", -1, NULL);
      else
        gst_util_set_object_arg (G_OBJECT (pay), "picture-id-mode", "15-bit");
    }
  e[n++] = pay;
  return chain_bin (e, n, error);
}

/* RTP payload of @rtp, skipping CSRCs and the header extension. */
static const guint8 *
rtp_payload (const guint8 *rtp, gsize len, gsize *plen)
{
  if (len < 12 || (rtp[0] >> 6) != 2)
    return NULL;
  gsize off = 12 + 4 * (rtp[0] & 0x0f);
  if (rtp[0] & 0x10)
    {
      if (len < off + 4)
        return NULL;
      off += 4 + 4 * (((gsize)rtp[off + 2] << 8) | rtp[off + 3]);
    }
  gsize end = len;
  if (rtp[0] & 0x20)
    {
      guint pad = rtp[len - 1];
      if (pad > len)
        return NULL;
      end = len - pad;
    }
  if (off >= end)
    return NULL;
  *plen = end - off;
  return rtp + off;
}

/* RFC 7741 section 4.2/4.3. */
static gboolean
vp8_starts_keyframe (const guint8 *p, gsize n)
{
  gsize off = 1;
  if (n < 2 || !(p[0] & 0x10) || (p[0] & 0x07) != 0)
    return FALSE;
  if (p[0] & 0x80)
    {
      guint8 x = p[1];
      off = 2;
      if (x & 0x80)
        {
          if (off >= n)
            return FALSE;
          off += (p[off] & 0x80) ? 2 : 1;
        }
      if (x & 0x40)
        off++;
      if (x & 0x30)
        off++;
    }
  return off < n && (p[off] & 0x01) == 0;
}

/* RFC 6184 section 5.7.1 (STAP-A). */
static gboolean
h264_starts_keyframe (const guint8 *p, gsize n)
{
  guint type = p[0] & 0x1f;
  if (type == 7)
    return TRUE;
  if (type != 24)
    return FALSE;
  for (gsize off = 1; off + 2 < n;)
    {
      gsize sz = ((gsize)p[off] << 8) | p[off + 1];
      if (sz == 0 || off + 2 + sz > n)
        return FALSE;
      if ((p[off + 2] & 0x1f) == 7)
        return TRUE;
      off += 2 + sz;
    }
  return FALSE;
}

gboolean
disco_video_codec_rtp_starts_keyframe (DiscoVideoCodec codec, const guint8 *rtp, gsize len)
{
  gsize n = 0;
  const guint8 *p = rtp_payload (rtp, len, &n);
  if (p == NULL)
    return FALSE;
  return codec == DISCO_VIDEO_CODEC_VP8 ? vp8_starts_keyframe (p, n) : h264_starts_keyframe (p, n);
}
