/* disco-rtp-gen.c: see disco-rtp-gen.h. */
#include "disco-rtp-gen.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <string.h>

struct _DiscoRtpGen
{
  GSocket *socket;
  GInetSocketAddress *local;
  GstElement *pipeline, *src;
  GMutex lock;
  GArray *samples; /* gint16 */
  DiscoRtpGenStats stats;
  guint32 last_ssrc;
  guint16 last_seq;
  guint32 last_ts, last_step;
  gboolean have_last, have_step;
  gint64 last_rx_us;
  guint loss_percent;
  GRand *rand;
};

static GstPadProbeReturn
on_send (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DiscoRtpGen *gen = data;
  g_mutex_lock (&gen->lock);
  gboolean drop
      = gen->loss_percent > 0 && (guint)g_rand_int_range (gen->rand, 0, 100) < gen->loss_percent;
  if (drop)
    gen->stats.dropped++;
  else
    gen->stats.sent++;
  g_mutex_unlock (&gen->lock);
  return drop ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_receive (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DiscoRtpGen *gen = data;
  guint8 h[12];
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (gst_buffer_extract (buf, 0, h, 12) != 12)
    return GST_PAD_PROBE_OK;
  guint16 seq = (guint16)(h[2] << 8 | h[3]);
  guint32 ssrc = (guint32)h[8] << 24 | (guint32)h[9] << 16 | (guint32)h[10] << 8 | h[11];
  guint32 ts = (guint32)h[4] << 24 | (guint32)h[5] << 16 | (guint32)h[6] << 8 | h[7];
  gint64 now = g_get_monotonic_time ();
  g_mutex_lock (&gen->lock);
  if (gen->last_rx_us != 0)
    gen->stats.max_gap_us = MAX (gen->stats.max_gap_us, now - gen->last_rx_us);
  gen->last_rx_us = now;
  gen->stats.packets++;
  if (gen->have_last)
    {
      if (ssrc != gen->last_ssrc)
        gen->stats.ssrc_changes++;
      else if (seq != (guint16)(gen->last_seq + 1))
        gen->stats.seq_gaps++;
      else
        {
          guint32 step = ts - gen->last_ts;
          if (gen->have_step && step != gen->last_step)
            gen->stats.ts_jumps++;
          gen->last_step = step;
          gen->have_step = TRUE;
        }
    }
  gen->have_last = TRUE;
  gen->last_ts = ts;
  gen->last_seq = seq;
  gen->last_ssrc = ssrc;
  g_mutex_unlock (&gen->lock);
  return GST_PAD_PROBE_OK;
}

static GstFlowReturn
on_pcm (GstAppSink *sink, gpointer data)
{
  DiscoRtpGen *gen = data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  if (s == NULL)
    return GST_FLOW_EOS;
  GstMapInfo map;
  GstBuffer *buf = gst_sample_get_buffer (s);
  if (buf != NULL && gst_buffer_map (buf, &map, GST_MAP_READ))
    {
      g_mutex_lock (&gen->lock);
      g_array_append_vals (gen->samples, map.data, map.size / 2);
      g_mutex_unlock (&gen->lock);
      gst_buffer_unmap (buf, &map);
    }
  return GST_FLOW_OK;
}

DiscoRtpGen *
disco_rtp_gen_new (const DiscoRtpGenParams *p, GError **error)
{
  static const struct
  {
    const char *name, *enc, *pay, *depay, *dec;
    int audio_rate, clock_rate;
  } codecs[] = {
    { "OPUS", "opusenc bitrate=64000", "rtpopuspay", "rtpopusdepay", "opusdec plc=true", 48000,
      48000 },
    { "PCMU", "mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec", 8000, 8000 },
    { "PCMA", "alawenc", "rtppcmapay", "rtppcmadepay", "alawdec", 8000, 8000 },
    { "G722", "avenc_g722", "rtpg722pay", "rtpg722depay", "avdec_g722", 16000, 8000 },
  };
  guint c;

  gst_init (NULL, NULL);
  for (c = 0; c < G_N_ELEMENTS (codecs); c++)
    if (g_strcmp0 (codecs[c].name, p->codec) == 0)
      break;
  if (c == G_N_ELEMENTS (codecs))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown codec %s", p->codec);
      return NULL;
    }
  GInetAddress *rip = g_inet_socket_address_get_address (p->remote);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (g_inet_address_get_family (rip));
  g_autoptr (GSocketAddress) bind_addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocket) sock = g_socket_new (g_inet_address_get_family (rip), G_SOCKET_TYPE_DATAGRAM,
                                           G_SOCKET_PROTOCOL_UDP, error);
  if (sock == NULL || !g_socket_bind (sock, bind_addr, FALSE, error))
    return NULL;
  g_autofree char *rhost = g_inet_address_to_string (rip);
  g_autofree char *desc = g_strdup_printf (
      "audiotestsrc name=src is-live=true wave=sine samplesperbuffer=960 freq=%g volume=%g "
      "! audio/x-raw,format=S16LE,rate=48000,channels=1 ! audioresample "
      "! audio/x-raw,rate=%d ! %s ! %s pt=%u name=pay ! udpsink name=out host=%s port=%u "
      "sync=false async=false close-socket=false "
      "udpsrc name=in close-socket=false "
      "caps=\"application/x-rtp,media=audio,clock-rate=%d,encoding-name=%s,payload=%u\" "
      "! rtpjitterbuffer latency=60 do-lost=true ! %s ! %s ! audioconvert ! audioresample "
      "! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=pcm sync=false",
      p->freq, p->volume, codecs[c].audio_rate, codecs[c].enc, codecs[c].pay, p->payload_type,
      rhost, g_inet_socket_address_get_port (p->remote), codecs[c].clock_rate, codecs[c].name,
      p->payload_type, codecs[c].depay, codecs[c].dec);
  GstElement *pipeline = gst_parse_launch (desc, error);
  if (pipeline == NULL)
    return NULL;

  DiscoRtpGen *gen = g_new0 (DiscoRtpGen, 1);
  g_mutex_init (&gen->lock);
  gen->samples = g_array_new (FALSE, FALSE, sizeof (gint16));
  gen->loss_percent = p->loss_percent;
  gen->rand = g_rand_new_with_seed (p->seed);
  gen->pipeline = pipeline;
  gen->socket = g_steal_pointer (&sock);
  gen->local = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (gen->socket, NULL));
  gen->src = gst_bin_get_by_name (GST_BIN (pipeline), "src");

  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstElement *in = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  GstElement *pcm = gst_bin_get_by_name (GST_BIN (pipeline), "pcm");
  g_object_set (out, "socket", gen->socket, NULL);
  g_object_set (in, "socket", gen->socket, NULL);
  GstPad *pad = gst_element_get_static_pad (out, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_send, gen, NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (in, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_receive, gen, NULL);
  gst_object_unref (pad);
  GstAppSinkCallbacks cb = { .new_sample = on_pcm };
  gst_app_sink_set_callbacks (GST_APP_SINK (pcm), &cb, gen, NULL);
  gst_object_unref (out);
  gst_object_unref (in);
  gst_object_unref (pcm);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "generator pipeline failed");
      disco_rtp_gen_free (gen);
      return NULL;
    }
  return gen;
}

void
disco_rtp_gen_free (DiscoRtpGen *gen)
{
  if (gen == NULL)
    return;
  gst_element_set_state (gen->pipeline, GST_STATE_NULL);
  gst_object_unref (gen->src);
  gst_object_unref (gen->pipeline);
  g_socket_close (gen->socket, NULL);
  g_object_unref (gen->socket);
  g_object_unref (gen->local);
  g_array_unref (gen->samples);
  g_rand_free (gen->rand);
  g_mutex_clear (&gen->lock);
  g_free (gen);
}

GInetSocketAddress *
disco_rtp_gen_get_address (DiscoRtpGen *gen)
{
  return gen->local;
}

void
disco_rtp_gen_set_tone (DiscoRtpGen *gen, gdouble freq, gdouble volume)
{
  g_object_set (gen->src, "freq", freq, "volume", volume, NULL);
}

void
disco_rtp_gen_clear (DiscoRtpGen *gen)
{
  g_mutex_lock (&gen->lock);
  g_array_set_size (gen->samples, 0);
  g_mutex_unlock (&gen->lock);
}

gsize
disco_rtp_gen_get_samples (DiscoRtpGen *gen, gint16 **samples)
{
  g_mutex_lock (&gen->lock);
  gsize n = gen->samples->len;
  *samples = g_memdup2 (gen->samples->data, n * sizeof (gint16));
  g_mutex_unlock (&gen->lock);
  return n;
}

void
disco_rtp_gen_get_stats (DiscoRtpGen *gen, DiscoRtpGenStats *stats)
{
  g_mutex_lock (&gen->lock);
  *stats = gen->stats;
  g_mutex_unlock (&gen->lock);
}
