/* disco-media-codec.c: the per-codec element chains of a DiscoMediaRoom. */
#include "disco-media-codec.h"

#include "disco-gst-util.h"

#include <string.h>

static const char *const codec_names[] = { "OPUS", "PCMU", "PCMA", "G722" };

const char *
disco_media_codec_to_string (DiscoMediaCodec codec)
{
  if ((guint)codec >= G_N_ELEMENTS (codec_names))
    return NULL;
  return codec_names[codec];
}

gboolean
disco_media_codec_from_string (const char *name, DiscoMediaCodec *codec)
{
  g_return_val_if_fail (codec != NULL, FALSE);
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (codec_names); i++)
    if (g_ascii_strcasecmp (name, codec_names[i]) == 0)
      {
        *codec = (DiscoMediaCodec)i;
        return TRUE;
      }
  return FALSE;
}

guint
disco_media_codec_clock_rate (DiscoMediaCodec codec)
{
  return codec == DISCO_MEDIA_CODEC_OPUS ? 48000 : 8000;
}

guint
disco_media_codec_audio_rate (DiscoMediaCodec codec)
{
  switch (codec)
    {
      case DISCO_MEDIA_CODEC_OPUS:
        return 48000;
      case DISCO_MEDIA_CODEC_G722:
        return 16000;
      default:
        return 8000;
    }
}

GstCaps *
disco_media_codec_rtp_caps (DiscoMediaCodec codec, guint8 pt)
{
  return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio", "clock-rate",
                              G_TYPE_INT, (gint)disco_media_codec_clock_rate (codec),
                              "encoding-name", G_TYPE_STRING, disco_media_codec_to_string (codec),
                              "payload", G_TYPE_INT, (gint)pt, NULL);
}

gboolean
disco_media_codec_ptime_valid (DiscoMediaCodec codec, guint ptime_ms)
{
  if (codec == DISCO_MEDIA_CODEC_OPUS)
    return ptime_ms == 10 || ptime_ms == 20 || ptime_ms == 40 || ptime_ms == 60;
  /* The mixer produces 20 ms buffers; the payloader splits or joins them. */
  return ptime_ms >= 10 && ptime_ms <= 200 && ptime_ms % 10 == 0;
}

static GstElement *
make (const char *factory, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  if (e == NULL)
    g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_MISSING_PLUGIN,
                 "GStreamer element '%s' is not installed", factory);
  return e;
}

static GstElement *
finish (GstElement **elems, guint n, GError **error)
{
  for (guint i = 0; i < n; i++)
    if (elems[i] == NULL)
      {
        for (guint j = 0; j < n; j++)
          if (elems[j] != NULL)
            gst_object_unref (gst_object_ref_sink (elems[j]));
        return NULL;
      }
  return disco_gst_chain_bin (elems, n, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                              error);
}

static GstCaps *
raw_caps (guint rate)
{
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout",
                              G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, (gint)rate,
                              "channels", G_TYPE_INT, 1, NULL);
}

GstElement *
disco_media_codec_decode_bin (DiscoMediaCodec codec, gboolean opus_fec, guint mix_rate,
                              GError **error)
{
  static const char *const depay[]
      = { "rtpopusdepay", "rtppcmudepay", "rtppcmadepay", "rtpg722depay" };
  static const char *const dec[] = { "opusdec", "mulawdec", "alawdec", "avdec_g722" };
  GError *err = NULL;
  GstElement *e[5] = { NULL };

  g_return_val_if_fail ((guint)codec < G_N_ELEMENTS (depay), NULL);
  /* opusdec decodes straight to the mix rate: no convert/resample hops. */
  gboolean direct = disco_media_codec_audio_rate (codec) == mix_rate;
  guint n = direct ? 3 : 5;
  e[0] = make (depay[codec], &err);
  e[1] = make (dec[codec], err ? NULL : &err);
  if (!direct)
    {
      e[2] = make ("audioconvert", err ? NULL : &err);
      e[3] = make ("audioresample", err ? NULL : &err);
    }
  e[n - 1] = make ("capsfilter", err ? NULL : &err);
  if (err != NULL)
    {
      g_propagate_error (error, err);
      return finish (e, n, NULL);
    }
  /* Lost packets arrive as GstRTPPacketLost events, which the depayloader
   * turns into GAP events: opusdec conceals them (PLC, or in-band FEC from
   * the next packet). */
  if (codec == DISCO_MEDIA_CODEC_OPUS)
    g_object_set (e[1], "plc", TRUE, "use-inband-fec", opus_fec, NULL);
  g_autoptr (GstCaps) caps = raw_caps (mix_rate);
  g_object_set (e[n - 1], "caps", caps, NULL);
  return finish (e, n, error);
}

GstElement *
disco_media_codec_encode_bin (DiscoMediaCodec codec, guint ptime_ms, gboolean opus_fec,
                              gboolean mix_quality, guint mix_rate, GError **error)
{
  static const char *const enc[] = { "opusenc", "mulawenc", "alawenc", "avenc_g722" };
  static const char *const pay[] = { "rtpopuspay", "rtppcmupay", "rtppcmapay", "rtpg722pay" };
  GError *err = NULL;
  GstElement *e[5] = { NULL };
  guint n = 0;

  g_return_val_if_fail ((guint)codec < G_N_ELEMENTS (enc), NULL);
  guint rate = disco_media_codec_audio_rate (codec);
  if (rate != mix_rate)
    {
      e[n++] = make ("audioresample", &err);
      e[n++] = make ("capsfilter", err ? NULL : &err);
    }
  e[n++] = make (enc[codec], err ? NULL : &err);
  e[n++] = make (pay[codec], err ? NULL : &err);
  if (err != NULL)
    {
      g_propagate_error (error, err);
      return finish (e, n, NULL);
    }
  if (rate != mix_rate)
    {
      g_autoptr (GstCaps) caps = raw_caps (rate);
      g_object_set (e[1], "caps", caps, NULL);
    }
  GstElement *encoder = e[n - 2], *payloader = e[n - 1];
  if (codec == DISCO_MEDIA_CODEC_OPUS)
    {
      /* CELT ("generic"), complexity 5, 48 kb/s (64 kb/s on cascade legs):
       * about half the CPU of SILK/voice at 32 kb/s (setup.md 8.2) and
       * several voices keep their levels through two encode generations. */
      gst_util_set_object_arg (G_OBJECT (encoder), "audio-type", "generic");
      gst_util_set_object_arg (G_OBJECT (encoder), "frame-size",
                               ptime_ms == 10   ? "10"
                               : ptime_ms == 40 ? "40"
                               : ptime_ms == 60 ? "60"
                                                : "20");
      g_object_set (encoder, "complexity", 5, "bitrate", mix_quality ? 64000 : 48000, "inband-fec",
                    opus_fec, NULL);
      if (opus_fec)
        g_object_set (encoder, "packet-loss-percentage", 5, NULL);
    }
  else
    {
      gint64 ns = (gint64)ptime_ms * GST_MSECOND;
      g_object_set (payloader, "min-ptime", ns, "max-ptime", ns, NULL);
    }
  return finish (e, n, error);
}
