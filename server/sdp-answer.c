/* sdp-answer.c: offer/answer on GstSDPMessage; see sdp-answer.h. */
#define G_LOG_DOMAIN "disco-sdp"

#include "sdp-answer.h"

#include <gst/gst.h>
#include <gst/rtp/gstrtppayloads.h>
#include <gst/sdp/sdp.h>
#include <string.h>

G_DEFINE_QUARK (disco - sdp - error - quark, disco_sdp_error)

/* Dynamic payload types used in our own offers. */
#define OFFER_PT_OPUS 96
#define OFFER_PT_TE48 97
#define OFFER_PT_TE8 101

const char *
disco_sdp_codec_name (DiscoSdpCodec codec)
{
  switch (codec)
    {
      case DISCO_SDP_CODEC_OPUS:
        return "opus";
      case DISCO_SDP_CODEC_PCMU:
        return "PCMU";
      case DISCO_SDP_CODEC_PCMA:
        return "PCMA";
      case DISCO_SDP_CODEC_G722:
        return "G722";
      default:
        return "none";
    }
}

/* The RTP clock rate as written in rtpmap (G.722 keeps 8000, RFC 3551). */
static guint
codec_rtp_clock (DiscoSdpCodec codec)
{
  return codec == DISCO_SDP_CODEC_OPUS ? 48000 : 8000;
}

const char *
disco_sdp_video_codec_name (DiscoSdpVideoCodec codec)
{
  switch (codec)
    {
      case DISCO_SDP_VIDEO_VP8:
        return "VP8";
      case DISCO_SDP_VIDEO_H264:
        return "H264";
      default:
        return "none";
    }
}

void
disco_sdp_media_clear (DiscoSdpMedia *m)
{
  g_clear_pointer (&m->remote_address, g_free);
  g_clear_pointer (&m->video_remote_address, g_free);
  g_clear_pointer (&m->label, g_free);
  memset (m, 0, sizeof *m);
}

/* Flag attributes (a=sendonly) carry no value, so look at keys only. */
static gboolean
media_has_attr (const GstSDPMedia *m, const char *key)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (m); i++)
    if (g_strcmp0 (gst_sdp_media_get_attribute (m, i)->key, key) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
msg_has_attr (const GstSDPMessage *msg, const char *key)
{
  for (guint i = 0; i < gst_sdp_message_attributes_len (msg); i++)
    if (g_strcmp0 (gst_sdp_message_get_attribute (msg, i)->key, key) == 0)
      return TRUE;
  return FALSE;
}

/* The direction the offerer wrote ("sendrecv" when none). */
static const char *
direction_of (const GstSDPMessage *msg, const GstSDPMedia *m)
{
  static const char *dirs[] = { "sendrecv", "sendonly", "recvonly", "inactive" };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (media_has_attr (m, dirs[i]))
      return dirs[i];
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    if (msg_has_attr (msg, dirs[i]))
      return dirs[i];
  return "sendrecv";
}

static DiscoSdpCodec
codec_from_caps (const GstStructure *s, guint *clock)
{
  const char *name = gst_structure_get_string (s, "encoding-name");
  gint rate = 0, pt = -1;

  if (name == NULL && gst_structure_get_int (s, "payload", &pt) && pt >= 0 && pt < 96)
    {
      /* Static payload type without rtpmap (RFC 3551 table). */
      const GstRTPPayloadInfo *info = gst_rtp_payload_info_for_pt ((guint8)pt);
      if (info)
        name = info->encoding_name;
    }
  if (name == NULL || !gst_structure_get_int (s, "clock-rate", &rate))
    return DISCO_SDP_CODEC_NONE;
  *clock = (guint)rate;
  if (g_ascii_strcasecmp (name, "OPUS") == 0 && rate == 48000)
    return DISCO_SDP_CODEC_OPUS;
  if (g_ascii_strcasecmp (name, "PCMU") == 0 && rate == 8000)
    return DISCO_SDP_CODEC_PCMU;
  if (g_ascii_strcasecmp (name, "PCMA") == 0 && rate == 8000)
    return DISCO_SDP_CODEC_PCMA;
  if (g_ascii_strcasecmp (name, "G722") == 0 && rate == 8000)
    return DISCO_SDP_CODEC_G722;
  return DISCO_SDP_CODEC_NONE;
}

static gboolean
parse_message (const char *text, gsize len, GstSDPMessage **out, GError **error)
{
  g_autoptr (GstSDPMessage) msg = NULL;

  if (text == NULL || len == 0)
    {
      g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_MALFORMED, "empty SDP body");
      return FALSE;
    }
  gst_sdp_message_new (&msg);
  if (gst_sdp_message_parse_buffer ((const guint8 *)text, (guint)len, msg) != GST_SDP_OK)
    {
      g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_MALFORMED, "SDP does not parse");
      return FALSE;
    }
  if (g_strcmp0 (gst_sdp_message_get_version (msg), "0") != 0)
    {
      g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_MALFORMED, "SDP lacks v=0");
      return FALSE;
    }
  if (gst_sdp_message_medias_len (msg) == 0)
    {
      g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_MALFORMED, "SDP has no m= line");
      return FALSE;
    }
  *out = g_steal_pointer (&msg);
  return TRUE;
}

static const char *
connection_address (const GstSDPMessage *msg, const GstSDPMedia *m)
{
  if (gst_sdp_media_connections_len (m) > 0)
    return gst_sdp_media_get_connection (m, 0)->address;
  const GstSDPConnection *c = gst_sdp_message_get_connection (msg);
  return c ? c->address : NULL;
}

static gboolean
proto_ok (const char *proto)
{
  /* Plain RTP only: the room has no SRTP. */
  return g_strcmp0 (proto, "RTP/AVP") == 0 || g_strcmp0 (proto, "RTP/AVPF") == 0;
}

/* The room decodes and encodes H.264 in packetization mode 1 only; mode 0
 * (the default, RFC 6184 §8.1) would need single-NAL packets. */
static DiscoSdpVideoCodec
video_codec_from_caps (const GstStructure *s)
{
  const char *name = gst_structure_get_string (s, "encoding-name");
  gint rate = 0;
  if (name == NULL || !gst_structure_get_int (s, "clock-rate", &rate) || rate != 90000)
    return DISCO_SDP_VIDEO_NONE;
  if (g_ascii_strcasecmp (name, "VP8") == 0)
    return DISCO_SDP_VIDEO_VP8;
  if (g_ascii_strcasecmp (name, "H264") == 0
      && g_strcmp0 (gst_structure_get_string (s, "packetization-mode"), "1") == 0)
    return DISCO_SDP_VIDEO_H264;
  return DISCO_SDP_VIDEO_NONE;
}

/* Picks the first video m-line with a codec the video room has; returns
 * its index or -1 (video is optional: no error). */
static int
analyse_video (const GstSDPMessage *msg, DiscoSdpMedia *out)
{
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++)
    {
      const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
      if (g_strcmp0 (gst_sdp_media_get_media (m), "video") != 0 || gst_sdp_media_get_port (m) == 0
          || !proto_ok (gst_sdp_media_get_proto (m)))
        continue;
      const char *addr = connection_address (msg, m);
      if (addr == NULL)
        continue;
      for (guint f = 0; f < gst_sdp_media_formats_len (m); f++)
        {
          guint64 pt;
          if (!g_ascii_string_to_unsigned (gst_sdp_media_get_format (m, f), 10, 0, 127, &pt, NULL))
            continue;
          /* Payload types 64-95 collide with muxed RTCP (RFC 5761 §4). */
          if (pt >= 64 && pt < 96)
            continue;
          GstCaps *caps = gst_sdp_media_get_caps_from_media (m, (gint)pt);
          if (caps == NULL)
            continue;
          DiscoSdpVideoCodec c = video_codec_from_caps (gst_caps_get_structure (caps, 0));
          gst_caps_unref (caps);
          if (c == DISCO_SDP_VIDEO_NONE)
            continue;
          const char *dir = direction_of (msg, m);
          gboolean null_addr = g_str_equal (addr, "0.0.0.0") || g_str_equal (addr, "::");
          out->video_codec = c;
          out->video_payload_type = (guint)pt;
          out->video_remote_port = gst_sdp_media_get_port (m);
          out->video_remote_address = null_addr ? NULL : g_strdup (addr);
          out->video_recv = g_str_equal (dir, "sendrecv") || g_str_equal (dir, "sendonly");
          out->video_send
              = (g_str_equal (dir, "sendrecv") || g_str_equal (dir, "recvonly")) && !null_addr;
          return (int)i;
        }
    }
  return -1;
}

/* Picks the first acceptable audio m-line and, in it, the first codec we
 * support (the offerer's preference order, RFC 3264 §6.1).  Returns the
 * index of that m-line or -1. */
static int
analyse (const GstSDPMessage *msg, DiscoSdpMedia *out, GError **error)
{
  gboolean saw_audio = FALSE;
  int index = -1;

  memset (out, 0, sizeof *out);
  out->telephone_event_pt = -1;
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++)
    {
      const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
      if (g_strcmp0 (gst_sdp_media_get_media (m), "video") == 0)
        out->video_offered = TRUE;
      if (out->codec != DISCO_SDP_CODEC_NONE)
        continue;
      if (g_strcmp0 (gst_sdp_media_get_media (m), "audio") != 0 || gst_sdp_media_get_port (m) == 0
          || !proto_ok (gst_sdp_media_get_proto (m)))
        continue;
      saw_audio = TRUE;

      const char *addr = connection_address (msg, m);
      if (addr == NULL)
        {
          g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_MALFORMED,
                       "audio stream without a c= line");
          return -1;
        }

      DiscoSdpCodec chosen = DISCO_SDP_CODEC_NONE;
      guint chosen_pt = 0, chosen_clock = 0;
      for (guint f = 0; f < gst_sdp_media_formats_len (m) && chosen == DISCO_SDP_CODEC_NONE; f++)
        {
          guint64 pt;
          if (!g_ascii_string_to_unsigned (gst_sdp_media_get_format (m, f), 10, 0, 127, &pt, NULL))
            continue;
          GstCaps *caps = gst_sdp_media_get_caps_from_media (m, (gint)pt);
          if (caps == NULL)
            continue;
          guint clock = 0;
          DiscoSdpCodec c = codec_from_caps (gst_caps_get_structure (caps, 0), &clock);
          if (c != DISCO_SDP_CODEC_NONE)
            {
              chosen = c;
              chosen_pt = (guint)pt;
              chosen_clock = clock;
              const char *fec
                  = gst_structure_get_string (gst_caps_get_structure (caps, 0), "useinbandfec");
              out->opus_fec = c == DISCO_SDP_CODEC_OPUS && g_strcmp0 (fec, "1") == 0;
            }
          gst_caps_unref (caps);
        }
      if (chosen == DISCO_SDP_CODEC_NONE)
        continue;

      /* telephone-event at the codec's clock rate */
      for (guint f = 0; f < gst_sdp_media_formats_len (m); f++)
        {
          guint64 pt;
          if (!g_ascii_string_to_unsigned (gst_sdp_media_get_format (m, f), 10, 0, 127, &pt, NULL))
            continue;
          GstCaps *caps = gst_sdp_media_get_caps_from_media (m, (gint)pt);
          if (caps == NULL)
            continue;
          const GstStructure *s = gst_caps_get_structure (caps, 0);
          const char *name = gst_structure_get_string (s, "encoding-name");
          gint rate = 0;
          if (name && g_ascii_strcasecmp (name, "TELEPHONE-EVENT") == 0
              && gst_structure_get_int (s, "clock-rate", &rate) && (guint)rate == chosen_clock
              && out->telephone_event_pt < 0)
            out->telephone_event_pt = (int)pt;
          gst_caps_unref (caps);
        }

      out->codec = chosen;
      out->payload_type = chosen_pt;
      out->remote_rtp_port = gst_sdp_media_get_port (m);
      out->remote_rtcp_port = out->remote_rtp_port + 1;
      const char *rtcp = gst_sdp_media_get_attribute_val (m, "rtcp");
      guint64 v;
      if (rtcp)
        {
          g_auto (GStrv) parts = g_strsplit (rtcp, " ", 2);
          if (g_ascii_string_to_unsigned (parts[0], 10, 1, 65535, &v, NULL))
            out->remote_rtcp_port = (guint)v;
        }
      out->rtcp_mux = media_has_attr (m, "rtcp-mux");
      out->ptime_ms = 20;
      const char *ptime = gst_sdp_media_get_attribute_val (m, "ptime");
      if (ptime && g_ascii_string_to_unsigned (ptime, 10, 10, 120, &v, NULL))
        out->ptime_ms = (guint)v;
      const char *label = gst_sdp_media_get_attribute_val (m, "label");
      out->label = g_strdup (label);
      const char *ssrc = gst_sdp_media_get_attribute_val (m, "ssrc");
      if (ssrc)
        out->ssrc = (guint32)g_ascii_strtoull (ssrc, NULL, 10);

      const char *dir = direction_of (msg, m);
      gboolean null_addr = g_str_equal (addr, "0.0.0.0") || g_str_equal (addr, "::");
      /* Their sendonly means we only receive, and so on (RFC 3264 §6.1). */
      out->recv = g_str_equal (dir, "sendrecv") || g_str_equal (dir, "sendonly");
      out->send = (g_str_equal (dir, "sendrecv") || g_str_equal (dir, "recvonly")) && !null_addr;
      out->on_hold = null_addr || g_str_equal (dir, "sendonly") || g_str_equal (dir, "inactive");
      out->remote_address = null_addr ? NULL : g_strdup (addr);
      index = (int)i;
    }

  if (out->codec == DISCO_SDP_CODEC_NONE)
    {
      if (saw_audio)
        g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_NO_CODEC,
                     "none of the offered audio codecs is supported (want opus, G722, PCMU, PCMA)");
      else
        g_set_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_NO_AUDIO,
                     "no RTP/AVP audio stream offered");
      disco_sdp_media_clear (out);
      return -1;
    }
  out->rejected_streams = gst_sdp_message_medias_len (msg) - 1;
  return index;
}

static const char *
addrtype_of (const char *address)
{
  return strchr (address, ':') ? "IP6" : "IP4";
}

static void
start_message (GstSDPMessage *msg, const DiscoSdpLocal *local)
{
  g_autofree char *sid = g_strdup_printf ("%" G_GUINT64_FORMAT, local->session_id);
  g_autofree char *ver = g_strdup_printf ("%" G_GUINT64_FORMAT, local->session_version);
  const char *at = addrtype_of (local->address);

  gst_sdp_message_set_version (msg, "0");
  gst_sdp_message_set_origin (msg, "-", sid, ver, "IN", at, local->address);
  gst_sdp_message_set_session_name (msg, "disco");
  gst_sdp_message_set_connection (msg, "IN", at, local->address, 0, 0);
  gst_sdp_message_add_time (msg, "0", "0", NULL);
}

static void
add_format (GstSDPMedia *m, guint pt, const char *rtpmap, const char *fmtp)
{
  g_autofree char *f = g_strdup_printf ("%u", pt);
  g_autofree char *map = g_strdup_printf ("%u %s", pt, rtpmap);
  gst_sdp_media_add_format (m, f);
  gst_sdp_media_add_attribute (m, "rtpmap", map);
  if (fmtp)
    {
      g_autofree char *fm = g_strdup_printf ("%u %s", pt, fmtp);
      gst_sdp_media_add_attribute (m, "fmtp", fm);
    }
}

static const char *
rtpmap_of (DiscoSdpCodec codec)
{
  switch (codec)
    {
      case DISCO_SDP_CODEC_OPUS:
        return "opus/48000/2";
      case DISCO_SDP_CODEC_PCMU:
        return "PCMU/8000";
      case DISCO_SDP_CODEC_PCMA:
        return "PCMA/8000";
      case DISCO_SDP_CODEC_G722:
        return "G722/8000";
      default:
        return NULL;
    }
}

char *
disco_sdp_answer (const char *offer, gsize len, const DiscoSdpLocal *local, DiscoSdpMedia *out,
                  GError **error)
{
  g_autoptr (GstSDPMessage) msg = NULL;
  g_autoptr (GstSDPMessage) ans = NULL;

  if (!parse_message (offer, len, &msg, error))
    return NULL;
  int chosen = analyse (msg, out, error);
  if (chosen < 0)
    return NULL;
  int video = local->video_port ? analyse_video (msg, out) : -1;
  if (video >= 0)
    out->rejected_streams--;

  gst_sdp_message_new (&ans);
  start_message (ans, local);
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++)
    {
      const GstSDPMedia *om = gst_sdp_message_get_media (msg, i);
      GstSDPMedia am;
      memset (&am, 0, sizeof am); /* _init frees what it finds */
      gst_sdp_media_init (&am);
      gst_sdp_media_set_media (&am, gst_sdp_media_get_media (om));
      gst_sdp_media_set_proto (&am, gst_sdp_media_get_proto (om));
      if ((int)i == chosen)
        {
          gst_sdp_media_set_port_info (&am, local->port, 1);
          const char *fmtp = NULL;
          if (out->codec == DISCO_SDP_CODEC_OPUS)
            fmtp = out->opus_fec ? "minptime=10;useinbandfec=1" : "minptime=10";
          add_format (&am, out->payload_type, rtpmap_of (out->codec), fmtp);
          if (out->telephone_event_pt >= 0)
            {
              g_autofree char *te
                  = g_strdup_printf ("telephone-event/%u", codec_rtp_clock (out->codec));
              add_format (&am, (guint)out->telephone_event_pt, te, "0-16");
            }
          /* The room muxes RTCP on its one port (RFC 5761). */
          g_autofree char *rtcp = g_strdup_printf ("%u", local->port);
          gst_sdp_media_add_attribute (&am, "rtcp", rtcp);
          if (out->rtcp_mux)
            gst_sdp_media_add_attribute (&am, "rtcp-mux", NULL);
          if (out->codec == DISCO_SDP_CODEC_OPUS)
            out->ptime_ms = 20; /* the room encodes Opus in 20 ms frames only */
          g_autofree char *ptime = g_strdup_printf ("%u", out->ptime_ms);
          gst_sdp_media_add_attribute (&am, "ptime", ptime);
          const char *dir = out->send && out->recv ? "sendrecv"
                            : out->send            ? "sendonly"
                            : out->recv            ? "recvonly"
                                                   : "inactive";
          gst_sdp_media_add_attribute (&am, dir, NULL);
          if (out->label)
            gst_sdp_media_add_attribute (&am, "label", out->label);
        }
      else if ((int)i == video)
        {
          gst_sdp_media_set_port_info (&am, local->video_port, 1);
          if (out->video_codec == DISCO_SDP_VIDEO_VP8)
            add_format (&am, out->video_payload_type, "VP8/90000", NULL);
          else
            add_format (&am, out->video_payload_type, "H264/90000",
                        "packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1");
          /* The video room muxes RTCP too, and answers PLI/FIR. */
          g_autofree char *rtcp = g_strdup_printf ("%u", local->video_port);
          gst_sdp_media_add_attribute (&am, "rtcp", rtcp);
          gst_sdp_media_add_attribute (&am, "rtcp-mux", NULL);
          g_autofree char *fb = g_strdup_printf ("%u nack pli", out->video_payload_type);
          gst_sdp_media_add_attribute (&am, "rtcp-fb", fb);
          g_autofree char *fir = g_strdup_printf ("%u ccm fir", out->video_payload_type);
          gst_sdp_media_add_attribute (&am, "rtcp-fb", fir);
          const char *dir = out->video_send && out->video_recv ? "sendrecv"
                            : out->video_send                  ? "sendonly"
                            : out->video_recv                  ? "recvonly"
                                                               : "inactive";
          gst_sdp_media_add_attribute (&am, dir, NULL);
        }
      else
        {
          /* Declined stream (RFC 3264 §6): port 0, one format copied. */
          gst_sdp_media_set_port_info (&am, 0, 1);
          const char *f = gst_sdp_media_formats_len (om) ? gst_sdp_media_get_format (om, 0) : "0";
          gst_sdp_media_add_format (&am, f);
        }
      gst_sdp_message_add_media (ans, &am);
    }
  return gst_sdp_message_as_text (ans);
}

char *
disco_sdp_offer (const DiscoSdpLocal *local)
{
  g_autoptr (GstSDPMessage) msg = NULL;
  GstSDPMedia m;

  memset (&m, 0, sizeof m); /* _init frees what it finds */
  gst_sdp_message_new (&msg);
  start_message (msg, local);
  gst_sdp_media_init (&m);
  gst_sdp_media_set_media (&m, "audio");
  gst_sdp_media_set_proto (&m, "RTP/AVP");
  gst_sdp_media_set_port_info (&m, local->port, 1);
  add_format (&m, OFFER_PT_OPUS, "opus/48000/2", "minptime=10;useinbandfec=1");
  add_format (&m, 9, "G722/8000", NULL);
  add_format (&m, 0, "PCMU/8000", NULL);
  add_format (&m, 8, "PCMA/8000", NULL);
  add_format (&m, OFFER_PT_TE48, "telephone-event/48000", "0-16");
  add_format (&m, OFFER_PT_TE8, "telephone-event/8000", "0-16");
  g_autofree char *rtcp = g_strdup_printf ("%u", local->port);
  gst_sdp_media_add_attribute (&m, "rtcp", rtcp);
  gst_sdp_media_add_attribute (&m, "rtcp-mux", NULL);
  gst_sdp_media_add_attribute (&m, "ptime", "20");
  gst_sdp_media_add_attribute (&m, "sendrecv", NULL);
  gst_sdp_message_add_media (msg, &m);
  return gst_sdp_message_as_text (msg);
}

gboolean
disco_sdp_offers_video (const char *offer, gsize len)
{
  g_autoptr (GstSDPMessage) msg = NULL;
  if (!parse_message (offer, len, &msg, NULL))
    return FALSE;
  for (guint i = 0; i < gst_sdp_message_medias_len (msg); i++)
    {
      const GstSDPMedia *m = gst_sdp_message_get_media (msg, i);
      if (g_strcmp0 (gst_sdp_media_get_media (m), "video") == 0 && gst_sdp_media_get_port (m) != 0)
        return TRUE;
    }
  return FALSE;
}

gboolean
disco_sdp_parse_answer (const char *answer, gsize len, DiscoSdpMedia *out, GError **error)
{
  g_autoptr (GstSDPMessage) msg = NULL;

  if (!parse_message (answer, len, &msg, error))
    return FALSE;
  if (analyse (msg, out, error) < 0)
    return FALSE;
  /* Video only appears in answers to our repeated SDP (offerless
   * re-INVITE) when the call had video. */
  if (analyse_video (msg, out) >= 0)
    out->rejected_streams--;
  return TRUE;
}
