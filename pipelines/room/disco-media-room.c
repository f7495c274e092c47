/* disco-media-room.c: one conference's audio pipeline around a discomixer.
 *
 *   udpsrc(shared socket) --probe: demux by source address--> DiscoJitter of
 *   the member (reorder buffer, no thread)
 *   pump thread, every 20 ms, per member: pop --> decode --> PCM adapter -->
 *   exactly 20 ms --> mix pad --> sink_%u.  Opus decodes with libopus
 *   (PLC, in-band FEC), G.711 by table plus a GstAudioResampler; G.722
 *   through feed pad --> [depay ! dec ! convert ! resample] --> capture
 *   pad, synchronously on the pump.
 *
 *   discomixer.src   --> tee --> shared encode branch per codec config --> fan-out
 *   discomixer.local --> tee --> shared encode branch per codec config --> fan-out (legs)
 *   discomixer.minus_%u (only while talking) --> private encode --> fan-out
 *
 * The fan-out (an appsink callback on the encoding thread) rewrites SSRC,
 * sequence number, timestamp and payload type per listener and sends with
 * g_socket_send_to() on the shared socket, so no per-listener sink element or
 * thread exists and a listener can move between encodes without an RTP-level
 * discontinuity.  The RTP timestamp is derived from the buffer PTS, which is
 * the same mixer timeline for every encode.
 *
 * Threads: udpsrc (1), pump (1), mixer (1), whatever the number of members.
 * Decoders run on the pump thread, encoders on the mixer thread.  The pump
 * pushes one 20 ms buffer per tick into every joined member's mixer pad
 * (silence if nothing arrived), so the mixer never waits for a timeout.
 */
#define G_LOG_DOMAIN "disco-media-room"

#include "disco-media-room.h"

#include "disco-gst-util.h"
#include "disco-media-codec.h"
#include "disco-media-jitter.h"
#include "disco-mixer.h"

#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/net/gstnetaddressmeta.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <opus.h>
#include <string.h>

#define MIX_RATE 48000
#define JITTER_MS 40
#define RTP_MAX 1500
#define TICK (20 * GST_MSECOND)
#define FRAME_BYTES (MIX_RATE / 50 * 2)

G_DEFINE_QUARK (disco - media - room - error - quark, disco_media_room_error)

/* Family-tagged address+port, hashable by bytes. */
typedef struct
{
  guint8 len;
  guint8 port[2];
  guint8 addr[16];
} AddrKey;

typedef enum
{
  SOURCE_FULL,  /* discomixer "src" */
  SOURCE_LOCAL, /* discomixer "local" */
  SOURCE_MINUS  /* discomixer "minus_%u" */
} BranchSource;

typedef struct _Member Member;

typedef struct
{
  DiscoMediaRoom *room;
  BranchSource source;
  DiscoMediaCodec codec;
  guint ptime_ms;
  gboolean fec;
  guint clock_rate;
  GstElement *bin;    /* encode bin + appsink */
  GstPad *src_pad;    /* tee src pad or mixer minus pad */
  GPtrArray *members; /* shared: listeners (borrowed), under room->lock */
  Member *owner;      /* private: the talker, under room->lock */
} Branch;

struct _Member
{
  DiscoMediaRoom *room;
  char *id;
  gboolean is_leg;
  DiscoMediaParticipantParams p; /* remote addresses ref'd */
  AddrKey rtp_key, rtcp_key;
  gboolean has_rtcp_key;
  /* The SSRC this member's RTP arrives with, learnt from its first packet:
   * what tells apart members behind one address (under room->lock). */
  guint32 in_ssrc;
  gboolean in_ssrc_known;

  /* Input.  jb under room->lock; the rest is the pump's (pump_lock). */
  DiscoJitter *jb;
  GstPad *feed;    /* parentless src pad, RTP in playout order -> dec_bin */
  GstPad *capture; /* parentless sink pad, dec_bin's PCM -> pcm */
  GstPad *mix_src; /* parentless src pad -> mixer_sink */
  GstAdapter *pcm;
  GstElement *dec_bin;     /* G.711/G.722: depay ! dec ! resample, on the pump */
  OpusDecoder *opus;       /* Opus: libopus straight to 48 kHz, no elements */
  GstAudioResampler *g711; /* PCMU/PCMA: table decode, 8 -> 48 kHz here */
  GstPad *mixer_sink;      /* set with the first decoded audio, under room->lock */
  gboolean mute;
  gdouble gain;

  Branch *shared;
  Branch *priv;
  guint32 ssrc, ts_base, ts_off;
  guint16 seq;
  gboolean sent_any;
  GstClockTime last_pts;
  gboolean private_active, deaf, talking;
  /* Private -> shared: both encodes serve the listener until the shared one
   * has sent it a packet, so no tick goes missing (under room->lock). */
  gboolean private_leaving, handed_over;

  guint64 packets_in, bytes_in, packets_out, bytes_out, rtcp_in;
  guint64 events_in, events_out;
  /* The telephone-event this member is sending (under room->lock). */
  gboolean te_active;
  guint32 te_src_ts;
  GstClockTime te_start; /* room running time when it began */
  guint64 send_errors;   /* failed sends (ICMP errors, full socket buffer) */
};

struct _DiscoMediaRoom
{
  char *name;
  GSocket *socket;
  guint16 port;
  GstElement *pipeline, *udpsrc, *mixer, *tee_full, *tee_local;
  guint bus_watch;

  GMutex lock;         /* tables, counters, branch membership */
  GCond handover;      /* with lock: a leaving private listener is served */
  GHashTable *members; /* id -> Member (owned) */
  /* AddrKey (owned) -> GPtrArray of Member (borrowed), RTP and RTCP keys.
   * Several members may share an address (one sipp process places all its
   * calls from one media socket; phones behind one NAT binding). */
  GHashTable *by_addr;
  GPtrArray *branches; /* shared Branch (owned) */
  guint64 unknown_packets;

  GMutex pump_lock;  /* held by the pump for a whole tick */
  GPtrArray *inputs; /* Member with input (borrowed), under pump_lock */
  GThread *pump;
  GstClock *clock;
  GstClockID pump_wait; /* under lock */
  gboolean pump_stop;   /* under lock */
};

static void
addr_key_init (AddrKey *k, GInetSocketAddress *sa)
{
  memset (k, 0, sizeof *k);
  GInetAddress *ia = g_inet_socket_address_get_address (sa);
  gsize n = g_inet_address_get_native_size (ia);
  guint16 port = g_inet_socket_address_get_port (sa);
  k->len = (guint8)n;
  k->port[0] = port >> 8;
  k->port[1] = port & 0xff;
  memcpy (k->addr, g_inet_address_to_bytes (ia), MIN (n, sizeof k->addr));
}

static guint
addr_key_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 5381;
  for (gsize i = 0; i < sizeof (AddrKey); i++)
    h = h * 33 + b[i];
  return h;
}

static gboolean
addr_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (AddrKey)) == 0;
}

/* New ref to the member's mixer pad, or NULL if it has none yet. */
static GstPad *
member_mixer_pad (DiscoMediaRoom *room, Member *m)
{
  g_mutex_lock (&room->lock);
  GstPad *pad = m->mixer_sink ? gst_object_ref (m->mixer_sink) : NULL;
  g_mutex_unlock (&room->lock);
  return pad;
}

/* ---------------------------------------------------------------- fan-out */

/* Called with room->lock held.  FALSE if nothing was sent. */
static gboolean
send_to_member (DiscoMediaRoom *room, Member *m, const guint8 *data, gsize size, GstClockTime pts,
                guint clock_rate)
{
  guint8 pkt[RTP_MAX];

  if (m->p.remote_rtp == NULL)
    return FALSE;
  /* Encoders stamp packets a lookahead early (Opus: 312 samples) except
   * their very first one, and two encoders started at different ticks may
   * disagree on the phase: on the ptime grid they all agree, so moving
   * between encodes never bends the listener's RTP timestamps. */
  GstClockTime grid = (GstClockTime)m->p.ptime_ms * GST_MSECOND;
  pts = (pts + grid / 2) / grid * grid;
  /* A listener moving between encodes may see the same tick twice.  A jump
   * back of a second or more is not a duplicate but a new timeline: resync
   * rather than mute the listener for good. */
  if (m->sent_any && GST_CLOCK_TIME_IS_VALID (pts) && pts <= m->last_pts
      && m->last_pts - pts < GST_SECOND)
    return FALSE;
  memcpy (pkt, data, size);
  /* One packet skipped at a switch (the encodes run a tick apart): the
   * listener's timeline advances by one packet anyway, as its sequence
   * number does.  Longer gaps keep their real length. */
  if (m->sent_any && pts > m->last_pts && pts - m->last_pts <= 2 * grid
      && pts - m->last_pts != grid)
    m->ts_off -= (guint32)gst_util_uint64_scale (pts - m->last_pts - grid, clock_rate, GST_SECOND);
  guint32 ts
      = m->ts_base + m->ts_off + (guint32)gst_util_uint64_scale (pts, clock_rate, GST_SECOND);
  pkt[1] = (m->sent_any ? (data[1] & 0x80) : 0x80) | (m->p.payload_type & 0x7f);
  pkt[2] = m->seq >> 8;
  pkt[3] = m->seq & 0xff;
  pkt[4] = ts >> 24;
  pkt[5] = (ts >> 16) & 0xff;
  pkt[6] = (ts >> 8) & 0xff;
  pkt[7] = ts & 0xff;
  pkt[8] = m->ssrc >> 24;
  pkt[9] = (m->ssrc >> 16) & 0xff;
  pkt[10] = (m->ssrc >> 8) & 0xff;
  pkt[11] = m->ssrc & 0xff;
  m->seq++;
  m->sent_any = TRUE;
  m->last_pts = pts;
  /* Errors (ICMP unreachable, full buffer) are the listener's problem and
   * must not disturb the others. */
  GError *err = NULL;
  if (g_socket_send_to (room->socket, G_SOCKET_ADDRESS (m->p.remote_rtp), (const gchar *)pkt, size,
                        NULL, &err)
      >= 0)
    {
      m->packets_out++;
      m->bytes_out += size;
    }
  else
    {
      m->send_errors++;
      g_error_free (err);
    }
  return TRUE;
}

static gboolean
member_listens (Member *m)
{
  return m->p.send && !m->deaf && !m->private_active;
}

static GstFlowReturn
on_encoded (GstAppSink *sink, gpointer data)
{
  Branch *b = data;
  DiscoMediaRoom *room = b->room;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  if (sample == NULL)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  if (map.size >= 12 && map.size <= RTP_MAX && GST_CLOCK_TIME_IS_VALID (pts))
    {
      g_mutex_lock (&room->lock);
      if (b->source == SOURCE_MINUS)
        {
          Member *m = b->owner;
          if (m != NULL && m->p.send && !m->deaf)
            {
              m->private_active = TRUE;
              send_to_member (room, m, map.data, map.size, pts, b->clock_rate);
            }
        }
      else
        {
          for (guint i = 0; i < b->members->len; i++)
            {
              Member *m = g_ptr_array_index (b->members, i);
              if ((member_listens (m) || m->private_leaving)
                  && send_to_member (room, m, map.data, map.size, pts, b->clock_rate)
                  && m->private_leaving)
                {
                  m->handed_over = TRUE;
                  g_cond_broadcast (&room->handover);
                }
            }
        }
      g_mutex_unlock (&room->lock);
    }
  gst_buffer_unmap (buf, &map);
  return GST_FLOW_OK;
}

/* Called with room->lock held. */
static gboolean
branch_in_use (Branch *b)
{
  if (b->source == SOURCE_MINUS)
    return b->owner != NULL;
  for (guint i = 0; i < b->members->len; i++)
    {
      Member *m = g_ptr_array_index (b->members, i);
      if (member_listens (m) || m->private_leaving)
        return TRUE;
    }
  return FALSE;
}

/* Nobody listening: do not feed the encoder at all. */
static GstPadProbeReturn
branch_gate (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Branch *b = data;
  g_mutex_lock (&b->room->lock);
  gboolean open = branch_in_use (b);
  g_mutex_unlock (&b->room->lock);
  return open ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static Branch *
branch_new (DiscoMediaRoom *room, BranchSource source, DiscoMediaCodec codec, guint ptime_ms,
            gboolean fec, GError **error)
{
  GstElement *enc = disco_media_codec_encode_bin (codec, ptime_ms, fec, source == SOURCE_LOCAL,
                                                  MIX_RATE, error);
  if (enc == NULL)
    return NULL;
  Branch *b = g_new0 (Branch, 1);
  b->room = room;
  b->source = source;
  b->codec = codec;
  b->ptime_ms = ptime_ms;
  b->fec = fec;
  b->clock_rate = disco_media_codec_clock_rate (codec);
  b->members = g_ptr_array_new ();

  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  /* Not synchronised, no preroll: a new branch is PLAYING at once and the
   * callback runs on the mixer thread. */
  g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, "max-buffers",
                (guint)2, "drop", TRUE, NULL);
  GstAppSinkCallbacks cb = { .new_sample = on_encoded };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, b, NULL);
  b->bin = gst_bin_new (NULL);
  gst_bin_add_many (GST_BIN (b->bin), enc, sink, NULL);
  gst_element_link (enc, sink);
  GstPad *enc_sink = gst_element_get_static_pad (enc, "sink");
  gst_element_add_pad (b->bin, gst_ghost_pad_new ("sink", enc_sink));
  gst_object_unref (enc_sink);
  gst_object_ref (b->bin);
  gst_bin_add (GST_BIN (room->pipeline), b->bin);
  gst_element_set_state (b->bin, GST_STATE_PLAYING);
  return b;
}

/* Links @src (a pad of the mixer or a tee) to the PLAYING branch. */
static gboolean
branch_link (Branch *b, GstPad *src, GError **error)
{
  GstPad *sink = gst_element_get_static_pad (b->bin, "sink");
  GstPadLinkReturn r = gst_pad_link (src, sink);
  gst_object_unref (sink);
  if (r != GST_PAD_LINK_OK)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                   "cannot link encoder branch: %s", gst_pad_link_get_name (r));
      return FALSE;
    }
  b->src_pad = gst_object_ref (src);
  return TRUE;
}

/* Unlinks and tears down; the branch must no longer be in any table. */
static void
branch_free (DiscoMediaRoom *room, Branch *b)
{
  if (b->src_pad != NULL)
    {
      GstElement *owner = GST_ELEMENT (gst_pad_get_parent (b->src_pad));
      /* Unlink while the pad is idle (no encode in flight), then release
       * the request pad (tee src or mixer minus), then stop the branch. */
      if (!disco_gst_pad_unlink_idle (b->src_pad, 1000))
        g_warning ("room %s: encoder branch still busy after 1 s", room->name);
      if (owner != NULL)
        {
          gst_element_release_request_pad (owner, b->src_pad);
          gst_object_unref (owner);
        }
      gst_object_unref (b->src_pad);
    }
  gst_element_set_state (b->bin, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (room->pipeline), b->bin);
  gst_object_unref (b->bin);
  g_ptr_array_unref (b->members);
  g_free (b);
}

static GstElement *
ensure_local_tee (DiscoMediaRoom *room, GError **error)
{
  if (room->tee_local != NULL)
    return room->tee_local;
  GstPad *local = gst_element_request_pad_simple (room->mixer, "local");
  if (local == NULL)
    {
      g_set_error_literal (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                           "discomixer refused a \"local\" pad");
      return NULL;
    }
  GstElement *tee = gst_element_factory_make ("tee", "tee_local");
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add (GST_BIN (room->pipeline), tee);
  gst_element_set_state (tee, GST_STATE_PLAYING);
  GstPad *tsink = gst_element_get_static_pad (tee, "sink");
  gst_pad_link (local, tsink);
  gst_object_unref (tsink);
  gst_object_unref (local);
  room->tee_local = tee;
  return tee;
}

/* The shared branch of @source for this codec configuration, made on demand. */
static Branch *
shared_branch (DiscoMediaRoom *room, BranchSource source, DiscoMediaCodec codec, guint ptime_ms,
               gboolean fec, GError **error)
{
  for (guint i = 0; i < room->branches->len; i++)
    {
      Branch *b = g_ptr_array_index (room->branches, i);
      if (b->source == source && b->codec == codec && b->ptime_ms == ptime_ms && b->fec == fec)
        return b;
    }
  GstElement *tee = source == SOURCE_LOCAL ? ensure_local_tee (room, error) : room->tee_full;
  if (tee == NULL)
    return NULL;
  Branch *b = branch_new (room, source, codec, ptime_ms, fec, error);
  if (b == NULL)
    return NULL;
  GstPad *tsrc = gst_element_request_pad_simple (tee, "src_%u");
  gst_pad_add_probe (tsrc, GST_PAD_PROBE_TYPE_BUFFER, branch_gate, b, NULL);
  gboolean ok = branch_link (b, tsrc, error);
  gst_object_unref (tsrc);
  if (!ok)
    {
      branch_free (room, b);
      return NULL;
    }
  g_ptr_array_add (room->branches, b);
  return b;
}

/* G.722 is ADPCM: a decoder fed by a different encoder instance stays
 * garbled, so G.722 listeners never switch encodes.  They stay on the shared
 * full mix (and hear themselves while talking): a private mix-minus would be
 * the right answer, but G.722 encodes of discomixer's minus pad currently
 * come out garbled (see the report; the full mix encodes fine). */
static gboolean
member_wants_private (Member *m)
{
  return !m->is_leg && m->talking && m->p.codec != DISCO_MEDIA_CODEC_G722;
}

/* @handover: keep serving the listener until the shared encode took over
 * (a talker going quiet); not when it leaves or changes codec anyway. */
static void
private_stop (DiscoMediaRoom *room, Member *m, gboolean handover)
{
  Branch *b = m->priv;
  if (b == NULL)
    return;
  g_mutex_lock (&room->lock);
  if (handover && m->private_active && m->p.send && !m->deaf && m->shared != NULL)
    {
      m->private_leaving = TRUE;
      m->handed_over = FALSE;
      gint64 end = g_get_monotonic_time () + 500 * G_TIME_SPAN_MILLISECOND;
      while (!m->handed_over)
        if (!g_cond_wait_until (&room->handover, &room->lock, end))
          break;
      m->private_leaving = FALSE;
    }
  b->owner = NULL;
  m->priv = NULL;
  m->private_active = FALSE; /* the shared encode serves it from the next tick */
  g_mutex_unlock (&room->lock);
  branch_free (room, b);
}

static void
private_start (DiscoMediaRoom *room, Member *m)
{
  g_autoptr (GError) error = NULL;
  if (m->priv != NULL || m->is_leg || !m->p.send || m->deaf)
    return;
  GstPad *msink = member_mixer_pad (room, m);
  if (msink == NULL)
    return;
  g_autofree char *name = g_strdup_printf ("minus_%s", GST_PAD_NAME (msink) + strlen ("sink_"));
  gst_object_unref (msink);
  Branch *b = branch_new (room, SOURCE_MINUS, m->p.codec, m->p.ptime_ms, m->p.opus_fec, &error);
  if (b == NULL)
    {
      g_warning ("room %s: no private encoder for %s: %s", room->name, m->id, error->message);
      return;
    }
  GstPadTemplate *templ
      = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (room->mixer), "minus_%u");
  GstPad *minus = templ ? gst_element_request_pad (room->mixer, templ, name, NULL) : NULL;
  if (minus == NULL || !branch_link (b, minus, &error))
    {
      g_warning ("room %s: no mix-minus pad %s for %s", room->name, name, m->id);
      if (minus != NULL)
        gst_element_release_request_pad (room->mixer, minus);
      branch_free (room, b);
      g_clear_object (&minus);
      return;
    }
  gst_object_unref (minus);
  g_mutex_lock (&room->lock);
  b->owner = m;
  m->priv = b;
  g_mutex_unlock (&room->lock);
}

/* ------------------------------------------------------------------ input */

/* RFC 4733 event from @src to every other listener that negotiated
 * telephone-event, in the listener's RTP space.  Called with room->lock. */
static void
forward_event (DiscoMediaRoom *room, Member *src, GstBuffer *buf)
{
  guint8 in[RTP_MAX], out[RTP_MAX];
  gsize size = gst_buffer_get_size (buf);
  if (size < 16 || size > RTP_MAX || gst_buffer_extract (buf, 0, in, size) != size)
    return;
  gsize off = 12 + 4 * (in[0] & 0x0f);
  if ((in[0] & 0x10) && off + 4 <= size)
    off += 4 + 4 * (gsize)(in[off + 2] << 8 | in[off + 3]);
  if ((in[0] & 0x20) && in[size - 1] <= size)
    size -= in[size - 1];
  if (off >= size || (size - off) % 4 != 0)
    return; /* not an RFC 4733 payload (4-byte blocks) */
  gsize plen = size - off;
  guint32 sts = (guint32)in[4] << 24 | (guint32)in[5] << 16 | (guint32)in[6] << 8 | in[7];
  if (!src->te_active || sts != src->te_src_ts)
    {
      GstClockTime now = room->clock ? gst_clock_get_time (room->clock) : 0;
      GstClockTime base = gst_element_get_base_time (room->pipeline);
      src->te_active = TRUE;
      src->te_src_ts = sts;
      src->te_start = now > base ? now - base : 0;
    }
  guint src_rate = disco_media_codec_clock_rate (src->p.codec);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Member *l = v;
      if (l == src || l->is_leg || l->p.telephone_event_pt < 0 || !l->p.send || l->deaf
          || l->p.remote_rtp == NULL)
        continue;
      guint rate = disco_media_codec_clock_rate (l->p.codec);
      guint32 ts = l->ts_base + (guint32)gst_util_uint64_scale (src->te_start, rate, GST_SECOND);
      out[0] = 0x80;
      out[1] = (in[1] & 0x80) | (guint8)(l->p.telephone_event_pt & 0x7f);
      out[2] = l->seq >> 8;
      out[3] = l->seq & 0xff;
      out[4] = ts >> 24;
      out[5] = (ts >> 16) & 0xff;
      out[6] = (ts >> 8) & 0xff;
      out[7] = ts & 0xff;
      out[8] = l->ssrc >> 24;
      out[9] = (l->ssrc >> 16) & 0xff;
      out[10] = (l->ssrc >> 8) & 0xff;
      out[11] = l->ssrc & 0xff;
      memcpy (out + 12, in + off, plen);
      for (gsize b = 0; b < plen; b += 4)
        {
          guint64 d = (guint64)(in[off + b + 2] << 8 | in[off + b + 3]) * rate / src_rate;
          d = MIN (d, 0xffff);
          out[12 + b + 2] = (guint8)(d >> 8);
          out[12 + b + 3] = (guint8)(d & 0xff);
        }
      l->seq++; /* like audio: a failed send is a loss, not a gap */
      if (g_socket_send_to (room->socket, G_SOCKET_ADDRESS (l->p.remote_rtp), (const gchar *)out,
                            12 + plen, NULL, NULL)
          >= 0)
        l->events_out++;
    }
}

/* Called with room->lock held.  The member a packet from @key belongs to:
 * the only one at that address, else the one latched to the packet's SSRC
 * (RTP header, or the RTCP sender's), else - for RTP - the first one at that
 * address that has not latched yet. */
static Member *
member_for_packet (DiscoMediaRoom *room, const AddrKey *key, GstBuffer *buf, gboolean rtcp)
{
  GPtrArray *at = g_hash_table_lookup (room->by_addr, key);
  guint8 b[4];
  if (at == NULL || gst_buffer_extract (buf, rtcp ? 4 : 8, b, 4) != 4)
    return NULL;
  guint32 ssrc = GST_READ_UINT32_BE (b);
  Member *m = NULL, *unlatched = NULL;
  for (guint i = 0; i < at->len && m == NULL; i++)
    {
      Member *o = at->pdata[i];
      if (o->in_ssrc_known && o->in_ssrc == ssrc)
        m = o;
      else if (!o->in_ssrc_known && unlatched == NULL)
        unlatched = o;
    }
  if (m == NULL && at->len == 1)
    m = at->pdata[0]; /* alone there: a new SSRC is the same sender restarting */
  if (m == NULL && !rtcp)
    m = unlatched;
  if (m != NULL && !rtcp)
    {
      m->in_ssrc = ssrc;
      m->in_ssrc_known = TRUE;
    }
  return m;
}

static GstPadProbeReturn
on_udp_packet (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DiscoMediaRoom *room = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 hdr[2];
  AddrKey key;

  GstNetAddressMeta *meta = gst_buffer_get_net_address_meta (buf);
  if (meta == NULL || !G_IS_INET_SOCKET_ADDRESS (meta->addr))
    return GST_PAD_PROBE_DROP;
  gsize size = gst_buffer_get_size (buf);
  if (size < 12 || gst_buffer_extract (buf, 0, hdr, 2) != 2 || (hdr[0] >> 6) != 2)
    return GST_PAD_PROBE_DROP;
  addr_key_init (&key, G_INET_SOCKET_ADDRESS (meta->addr));
  gboolean rtcp = hdr[1] >= 192 && hdr[1] <= 223; /* RFC 5761 section 4 */

  g_mutex_lock (&room->lock);
  Member *m = member_for_packet (room, &key, buf, rtcp);
  if (m == NULL)
    {
      room->unknown_packets++;
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  if (rtcp)
    {
      m->rtcp_in++;
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  guint pt = hdr[1] & 0x7f;
  if (m->p.telephone_event_pt >= 0 && pt == (guint)m->p.telephone_event_pt)
    {
      m->events_in++;
      if (m->p.telephone_event_mode == DISCO_MEDIA_TELEPHONE_EVENT_PASSTHROUGH && m->p.recv
          && !m->mute && !m->is_leg)
        forward_event (room, m, buf);
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  if (m->jb == NULL || !m->p.recv || pt != m->p.payload_type)
    {
      /* telephone-event and anything not negotiated are ignored. */
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  m->packets_in++;
  m->bytes_in += size;
  /* A private copy: udpsrc's pooled buffer goes straight back to its pool
   * on this thread instead of waiting in the reorder buffer. */
  if (m->jb != NULL)
    disco_jitter_insert (m->jb, gst_buffer_copy_deep (buf), g_get_monotonic_time ());
  g_mutex_unlock (&room->lock);
  return GST_PAD_PROBE_DROP;
}

/* The feed and mix pads stand in for live sources with no latency of their
 * own, so the decoders' and the mixer's latency queries succeed. */
static gboolean
feed_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    {
      gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    }
  return gst_pad_query_default (pad, parent, query);
}

/* Decoded audio lands here, synchronously on the pump thread. */
static GstFlowReturn
capture_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  Member *m = gst_pad_get_element_private (pad);
  gst_adapter_push (m->pcm, buf);
  return GST_FLOW_OK;
}

static gboolean
capture_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  Member *m = gst_pad_get_element_private (pad);
  if (GST_EVENT_TYPE (event) == GST_EVENT_GAP)
    {
      /* A concealed loss of a codec without PLC: silence of its length. */
      GstClockTime ts, dur;
      gst_event_parse_gap (event, &ts, &dur);
      if (GST_CLOCK_TIME_IS_VALID (dur) && dur <= 200 * GST_MSECOND)
        {
          gsize bytes = (gsize)gst_util_uint64_scale (dur, MIX_RATE, GST_SECOND) * 2;
          GstBuffer *z = gst_buffer_new_allocate (NULL, bytes, NULL);
          gst_buffer_memset (z, 0, 0, bytes);
          gst_adapter_push (m->pcm, z);
        }
    }
  gst_event_unref (event);
  return TRUE;
}

/* The mixer pad is requested only when the member's first decoded audio is
 * ready: GstAggregator waits (up to its latency) for a new pad that has no
 * data yet.  Runs on the pump thread. */
static gboolean
input_join_mixer (DiscoMediaRoom *room, Member *m)
{
  GstPad *msink = gst_element_request_pad_simple (room->mixer, "sink_%u");
  if (msink == NULL)
    return FALSE;
  g_object_set (msink, "kind",
                m->is_leg ? DISCO_MIXER_PAD_KIND_CASCADE : DISCO_MIXER_PAD_KIND_PARTICIPANT, NULL);
  gst_pad_set_active (m->mix_src, TRUE);
  if (gst_pad_link (m->mix_src, msink) != GST_PAD_LINK_OK)
    {
      gst_pad_set_active (m->mix_src, FALSE);
      gst_element_release_request_pad (room->mixer, msink);
      gst_object_unref (msink);
      return FALSE;
    }
  g_autofree char *stream_id = g_strdup_printf ("%s/%s/pcm", room->name, m->id);
  g_autoptr (GstCaps) caps = gst_caps_new_simple (
      "audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING, "interleaved",
      "rate", G_TYPE_INT, MIX_RATE, "channels", G_TYPE_INT, 1, NULL);
  disco_gst_feed_begin (m->mix_src, stream_id, caps);
  g_mutex_lock (&room->lock);
  g_object_set (msink, "mute", m->mute, "gain", m->gain, NULL);
  m->mixer_sink = msink;
  g_mutex_unlock (&room->lock);
  return TRUE;
}

/* Decodes @pkt (transfer full; NULL: conceal @samples) into m->pcm.  With
 * @fec, @pkt is the packet after a loss and its redundant copy of the lost
 * one is decoded. */
static void
opus_decode_rtp (Member *m, GstBuffer *pkt, gboolean fec, guint samples)
{
  enum
  {
    MAX_SAMPLES = 5760
  }; /* 120 ms at 48 kHz */
  GstRTPBuffer r = GST_RTP_BUFFER_INIT;
  const guchar *data = NULL;
  opus_int32 len = 0;
  if (pkt != NULL && gst_rtp_buffer_map (pkt, GST_MAP_READ, &r))
    {
      data = gst_rtp_buffer_get_payload (&r);
      len = (opus_int32)gst_rtp_buffer_get_payload_len (&r);
    }
  /* Concealment lengths must be whole 2.5 ms units. */
  int frame
      = data == NULL || fec ? (int)MIN (MAX (samples / 120, 1) * 120, MAX_SAMPLES) : MAX_SAMPLES;
  GstBuffer *out = gst_buffer_new_allocate (NULL, MAX_SAMPLES * 2, NULL);
  GstMapInfo map;
  gst_buffer_map (out, &map, GST_MAP_WRITE);
  int ns = opus_decode (m->opus, len > 0 ? data : NULL, len, (opus_int16 *)map.data, frame, fec);
  gst_buffer_unmap (out, &map);
  if (pkt != NULL && r.buffer != NULL)
    gst_rtp_buffer_unmap (&r);
  if (pkt != NULL)
    gst_buffer_unref (pkt);
  if (ns > 0)
    {
      gst_buffer_set_size (out, (gsize)ns * 2);
      gst_adapter_push (m->pcm, out);
    }
  else
    gst_buffer_unref (out); /* a corrupt packet: nothing, the tick pads */
}

/* G.711 expansion (ITU-T G.711, as in the classic reference decoder). */
static gint16
ulaw_to_linear (guint8 u)
{
  u = (guint8)~u;
  gint t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (gint16)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

static gint16
alaw_to_linear (guint8 a)
{
  a ^= 0x55;
  gint t = (a & 0x0f) << 4;
  gint seg = (a & 0x70) >> 4;
  if (seg == 0)
    t += 8;
  else
    {
      t += 0x108;
      if (seg > 1)
        t <<= seg - 1;
    }
  return (gint16)((a & 0x80) ? t : -t);
}

/* Decodes @pkt (transfer full; NULL: @samples of silence for a loss, run
 * through the resampler so its filter state stays continuous). */
static void
g711_decode_rtp (Member *m, GstBuffer *pkt, guint samples)
{
  enum
  {
    MAX_IN = 1600
  }; /* 200 ms at 8 kHz */
  gint16 in[MAX_IN];
  gsize n = 0;
  GstRTPBuffer r = GST_RTP_BUFFER_INIT;
  if (pkt != NULL)
    {
      if (gst_rtp_buffer_map (pkt, GST_MAP_READ, &r))
        {
          const guint8 *d = gst_rtp_buffer_get_payload (&r);
          n = MIN (gst_rtp_buffer_get_payload_len (&r), MAX_IN);
          gboolean ulaw = m->p.codec == DISCO_MEDIA_CODEC_PCMU;
          for (gsize i = 0; i < n; i++)
            in[i] = ulaw ? ulaw_to_linear (d[i]) : alaw_to_linear (d[i]);
          gst_rtp_buffer_unmap (&r);
        }
      gst_buffer_unref (pkt);
    }
  else
    {
      n = MIN (samples, MAX_IN);
      memset (in, 0, n * sizeof in[0]);
    }
  if (n == 0)
    return;
  gsize out_n = gst_audio_resampler_get_out_frames (m->g711, n);
  if (out_n == 0)
    return;
  GstBuffer *out = gst_buffer_new_allocate (NULL, out_n * 2, NULL);
  GstMapInfo map;
  gst_buffer_map (out, &map, GST_MAP_WRITE);
  gpointer ins[1] = { in }, outs[1] = { map.data };
  gst_audio_resampler_resample (m->g711, ins, n, outs, out_n);
  gst_buffer_unmap (out, &map);
  gst_adapter_push (m->pcm, out);
}

static void
push_lost (Member *m, guint64 ts, guint samples)
{
  guint rate = disco_media_codec_clock_rate (m->p.codec);
  GstStructure *s = gst_structure_new (
      "GstRTPPacketLost", "timestamp", G_TYPE_UINT64, gst_util_uint64_scale (ts, GST_SECOND, rate),
      "duration", G_TYPE_UINT64, gst_util_uint64_scale (samples, GST_SECOND, rate),
      "might-have-been-fec", G_TYPE_BOOLEAN, m->p.opus_fec, NULL);
  gst_pad_push_event (m->feed, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s));
}

/* One tick of one member, on the pump thread: decode until 20 ms of PCM
 * are there, then hand exactly 20 ms (padded with silence) to the mixer. */
static void
input_tick (DiscoMediaRoom *room, Member *m, GstClockTime rt, gint64 now_us)
{
  guint rate = disco_media_codec_clock_rate (m->p.codec);
  for (guint k = 0; k < 8 && gst_adapter_available (m->pcm) < FRAME_BYTES; k++)
    {
      GstBuffer *pkt = NULL;
      guint64 ts = 0;
      guint samples = 0;
      g_mutex_lock (&room->lock);
      DiscoJitterResult r = disco_jitter_pop (m->jb, now_us, &pkt, &ts, &samples);
      g_mutex_unlock (&room->lock);
      if (m->g711 != NULL)
        {
          if (r == DISCO_JITTER_PACKET || r == DISCO_JITTER_LOST)
            g711_decode_rtp (m, pkt, samples);
          else
            break;
        }
      else if (m->opus != NULL)
        {
          if (r == DISCO_JITTER_PACKET)
            opus_decode_rtp (m, pkt, 0, 0);
          else if (r == DISCO_JITTER_LOST)
            {
              /* In-band FEC of the next packet if it is there, else PLC. */
              g_mutex_lock (&room->lock);
              GstBuffer *next = m->p.opus_fec ? disco_jitter_peek (m->jb) : NULL;
              g_mutex_unlock (&room->lock);
              opus_decode_rtp (m, next, next != NULL, samples);
            }
          else
            break;
        }
      else if (r == DISCO_JITTER_PACKET)
        {
          GST_BUFFER_PTS (pkt) = gst_util_uint64_scale (ts, GST_SECOND, rate);
          GST_BUFFER_DURATION (pkt) = gst_util_uint64_scale (samples, GST_SECOND, rate);
          gst_pad_push (m->feed, pkt);
        }
      else if (r == DISCO_JITTER_LOST)
        push_lost (m, ts, samples);
      else
        break;
    }
  gsize avail = gst_adapter_available (m->pcm);
  if (m->mixer_sink == NULL && (avail < FRAME_BYTES || !input_join_mixer (room, m)))
    return;
  GstBuffer *out;
  if (avail >= FRAME_BYTES)
    out = gst_adapter_take_buffer (m->pcm, FRAME_BYTES);
  else
    {
      out = gst_buffer_new_allocate (NULL, FRAME_BYTES, NULL);
      gst_buffer_memset (out, 0, 0, FRAME_BYTES);
      if (avail > 0)
        {
          GstMapInfo map;
          gst_buffer_map (out, &map, GST_MAP_WRITE);
          gst_adapter_copy (m->pcm, map.data, 0, avail);
          gst_buffer_unmap (out, &map);
          gst_adapter_flush (m->pcm, avail);
        }
    }
  /* Never let decoded audio pile up into delay (a burst, a 60 ms packet). */
  avail = gst_adapter_available (m->pcm);
  if (avail > 3 * FRAME_BYTES)
    gst_adapter_flush (m->pcm, avail - 2 * FRAME_BYTES);
  out = gst_buffer_make_writable (out);
  GST_BUFFER_PTS (out) = rt;
  GST_BUFFER_DURATION (out) = TICK;
  GST_BUFFER_OFFSET (out) = GST_BUFFER_OFFSET_NONE;
  gst_pad_push (m->mix_src, out);
}

static gpointer
pump_main (gpointer data)
{
  DiscoMediaRoom *room = data;
  GstClockTime base = gst_element_get_base_time (room->pipeline);
  GstClockTime now = gst_clock_get_time (room->clock);
  GstClockTime rt = now > base ? now - base : 0;
  rt = (rt / TICK + 1) * TICK;
  for (;;)
    {
      GstClockID id = gst_clock_new_single_shot_id (room->clock, base + rt);
      g_mutex_lock (&room->lock);
      gboolean stop = room->pump_stop;
      room->pump_wait = id;
      g_mutex_unlock (&room->lock);
      if (!stop)
        gst_clock_id_wait (id, NULL);
      g_mutex_lock (&room->lock);
      room->pump_wait = NULL;
      stop = room->pump_stop;
      g_mutex_unlock (&room->lock);
      gst_clock_id_unref (id);
      if (stop)
        break;
      gint64 now_us = g_get_monotonic_time ();
      g_mutex_lock (&room->pump_lock);
      for (guint i = 0; i < room->inputs->len; i++)
        input_tick (room, g_ptr_array_index (room->inputs, i), rt, now_us);
      g_mutex_unlock (&room->pump_lock);
      rt += TICK;
      /* Far behind (a stopped machine): skip ahead instead of bursting. */
      now = gst_clock_get_time (room->clock);
      if (now > base + rt + 10 * TICK)
        rt = ((now - base) / TICK + 1) * TICK;
    }
  return NULL;
}

/* The decode bin of a G.711/G.722 member, fed from the pump. */
static gboolean
input_start_bin (DiscoMediaRoom *room, Member *m, GError **error)
{
  GstElement *bin = disco_media_codec_decode_bin (m->p.codec, m->p.opus_fec, MIX_RATE, error);
  if (bin == NULL)
    return FALSE;
  gst_object_ref (bin);
  gst_bin_add (GST_BIN (room->pipeline), bin);
  gst_element_set_state (bin, GST_STATE_PLAYING);

  g_autofree char *feed_name = g_strdup_printf ("feed-%s", m->id);
  GstPad *feed = gst_object_ref_sink (gst_pad_new (feed_name, GST_PAD_SRC));
  gst_pad_set_query_function (feed, feed_query);
  GstPad *bsink = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (feed, bsink);
  gst_object_unref (bsink);
  gst_pad_set_active (feed, TRUE);

  g_autofree char *cap_name = g_strdup_printf ("capture-%s", m->id);
  GstPad *capture = gst_object_ref_sink (gst_pad_new (cap_name, GST_PAD_SINK));
  gst_pad_set_element_private (capture, m);
  gst_pad_set_chain_function (capture, capture_chain);
  gst_pad_set_event_function (capture, capture_event);
  gst_pad_set_active (capture, TRUE);
  GstPad *bsrc = gst_element_get_static_pad (bin, "src");
  gst_pad_link (bsrc, capture);
  gst_object_unref (bsrc);

  /* Sticky events first; the segment matches udpsrc's (TIME from 0). */
  g_autofree char *stream_id = g_strdup_printf ("%s/%s", room->name, m->id);
  g_autoptr (GstCaps) caps = disco_media_codec_rtp_caps (m->p.codec, m->p.payload_type);
  disco_gst_feed_begin (feed, stream_id, caps);
  m->dec_bin = bin;
  m->feed = feed;
  m->capture = capture;
  return TRUE;
}

static gboolean
input_start (DiscoMediaRoom *room, Member *m, GError **error)
{
  if (m->p.codec == DISCO_MEDIA_CODEC_OPUS)
    {
      int err = 0;
      m->opus = opus_decoder_create (MIX_RATE, 1, &err);
      if (m->opus == NULL)
        {
          g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                       "room %s: no Opus decoder for %s: %s", room->name, m->id,
                       opus_strerror (err));
          return FALSE;
        }
    }
  else if (m->p.codec == DISCO_MEDIA_CODEC_PCMU || m->p.codec == DISCO_MEDIA_CODEC_PCMA)
    {
      GstStructure *opts = gst_structure_new_empty ("disco-g711");
      gst_audio_resampler_options_set_quality (GST_AUDIO_RESAMPLER_METHOD_KAISER,
                                               GST_AUDIO_RESAMPLER_QUALITY_DEFAULT, 8000, MIX_RATE,
                                               opts);
      m->g711 = gst_audio_resampler_new (GST_AUDIO_RESAMPLER_METHOD_KAISER,
                                         GST_AUDIO_RESAMPLER_FLAG_NONE, GST_AUDIO_FORMAT_S16, 1,
                                         8000, MIX_RATE, opts);
      gst_structure_free (opts);
      if (m->g711 == NULL)
        {
          g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                       "room %s: no resampler for %s", room->name, m->id);
          return FALSE;
        }
    }
  else if (!input_start_bin (room, m, error))
    return FALSE;

  g_autofree char *mix_name = g_strdup_printf ("mix-%s", m->id);
  m->mix_src = gst_object_ref_sink (gst_pad_new (mix_name, GST_PAD_SRC));
  gst_pad_set_query_function (m->mix_src, feed_query);
  m->pcm = gst_adapter_new ();
  g_mutex_lock (&room->lock);
  m->jb = disco_jitter_new (disco_media_codec_clock_rate (m->p.codec), JITTER_MS);
  g_mutex_unlock (&room->lock);
  g_mutex_lock (&room->pump_lock);
  g_ptr_array_add (room->inputs, m);
  g_mutex_unlock (&room->pump_lock);
  return TRUE;
}

static void
input_stop (DiscoMediaRoom *room, Member *m)
{
  if (m->mix_src == NULL)
    return;
  /* Out of the pump first: from here on nothing pushes into this member. */
  g_mutex_lock (&room->pump_lock);
  g_ptr_array_remove (room->inputs, m);
  g_mutex_unlock (&room->pump_lock);
  g_mutex_lock (&room->lock);
  GstPad *msink = g_steal_pointer (&m->mixer_sink);
  g_clear_pointer (&m->jb, disco_jitter_free);
  g_mutex_unlock (&room->lock);

  /* Downstream first: unlink from the mixer while idle, release the mixer
   * pad, and only then stop the decoders. */
  disco_gst_pad_unlink_idle (m->mix_src, 1000);
  if (msink != NULL)
    {
      gst_element_release_request_pad (room->mixer, msink);
      gst_object_unref (msink);
    }
  gst_pad_set_active (m->mix_src, FALSE);
  gst_clear_object (&m->mix_src);
  g_clear_object (&m->pcm);
  g_clear_pointer (&m->opus, opus_decoder_destroy);
  g_clear_pointer (&m->g711, gst_audio_resampler_free);
  if (m->dec_bin == NULL)
    return;

  disco_gst_pad_unlink_idle (m->feed, 1000);
  GstPad *bsrc = gst_element_get_static_pad (m->dec_bin, "src");
  disco_gst_pad_unlink_idle (bsrc, 1000);
  gst_object_unref (bsrc);
  gst_pad_set_active (m->feed, FALSE);
  gst_clear_object (&m->feed);
  gst_pad_set_active (m->capture, FALSE);
  gst_clear_object (&m->capture);
  gst_element_set_state (m->dec_bin, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (room->pipeline), m->dec_bin);
  gst_clear_object (&m->dec_bin);
}

/* ---------------------------------------------------------------- members */

static void
params_clear (DiscoMediaParticipantParams *p)
{
  g_clear_object (&p->remote_rtp);
  g_clear_object (&p->remote_rtcp);
}

static void
member_free (Member *m)
{
  params_clear (&m->p);
  g_free (m->id);
  g_free (m);
}

static gboolean
params_check (DiscoMediaRoom *room, const char *id, const DiscoMediaParticipantParams *p,
              GError **error)
{
  const char *why = NULL;
  if (id == NULL || *id == '\0')
    why = "empty id";
  else if (p == NULL)
    why = "no parameters";
  else if (disco_media_codec_to_string (p->codec) == NULL)
    why = "unknown codec";
  else if (p->payload_type > 127 || (p->payload_type >= 64 && p->payload_type <= 95))
    why = "payload type must be 0..63 or 96..127 (RTCP mux)";
  else if (p->telephone_event_pt < -1 || p->telephone_event_pt > 127
           || p->telephone_event_pt == p->payload_type
           || (p->telephone_event_pt >= 64 && p->telephone_event_pt <= 95))
    why = "bad telephone-event payload type";
  else if (p->telephone_event_mode != DISCO_MEDIA_TELEPHONE_EVENT_IGNORE
           && p->telephone_event_mode != DISCO_MEDIA_TELEPHONE_EVENT_PASSTHROUGH)
    why = "bad telephone-event mode";
  else if (p->remote_rtp == NULL || !G_IS_INET_SOCKET_ADDRESS (p->remote_rtp)
           || g_inet_socket_address_get_port (p->remote_rtp) == 0)
    why = "remote RTP address missing";
  else if (p->remote_rtcp != NULL
           && (!G_IS_INET_SOCKET_ADDRESS (p->remote_rtcp)
               || g_inet_socket_address_get_port (p->remote_rtcp) == 0))
    why = "bad remote RTCP address";
  else if (!disco_media_codec_ptime_valid (p->codec, p->ptime_ms ? p->ptime_ms : 20))
    why = "unsupported ptime";
  if (why != NULL)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID,
                   "room %s, participant %s: %s", room->name, id ? id : "(null)", why);
      return FALSE;
    }
  return TRUE;
}

static void
member_set_params (Member *m, const DiscoMediaParticipantParams *p)
{
  params_clear (&m->p);
  m->p = *p;
  if (m->p.ptime_ms == 0)
    m->p.ptime_ms = 20;
  g_object_ref (m->p.remote_rtp);
  if (m->p.remote_rtcp != NULL)
    g_object_ref (m->p.remote_rtcp);
  addr_key_init (&m->rtp_key, m->p.remote_rtp);
  m->has_rtcp_key = m->p.remote_rtcp != NULL;
  if (m->has_rtcp_key)
    addr_key_init (&m->rtcp_key, m->p.remote_rtcp);
}

/* Called with room->lock held. */
static void
index_key (DiscoMediaRoom *room, const AddrKey *k, Member *m)
{
  GPtrArray *at = g_hash_table_lookup (room->by_addr, k);
  if (at == NULL)
    {
      at = g_ptr_array_new ();
      g_hash_table_insert (room->by_addr, g_memdup2 (k, sizeof *k), at);
    }
  if (!g_ptr_array_find (at, m, NULL))
    g_ptr_array_add (at, m);
}

/* Called with room->lock held. */
static void
unindex_key (DiscoMediaRoom *room, const AddrKey *k, Member *m)
{
  GPtrArray *at = g_hash_table_lookup (room->by_addr, k);
  if (at != NULL && g_ptr_array_remove (at, m) && at->len == 0)
    g_hash_table_remove (room->by_addr, k);
}

/* Called with room->lock held. */
static void
member_index (DiscoMediaRoom *room, Member *m)
{
  index_key (room, &m->rtp_key, m);
  if (m->has_rtcp_key && !addr_key_equal (&m->rtcp_key, &m->rtp_key))
    index_key (room, &m->rtcp_key, m);
}

/* Called with room->lock held. */
static void
member_unindex (DiscoMediaRoom *room, Member *m)
{
  unindex_key (room, &m->rtp_key, m);
  if (m->has_rtcp_key)
    unindex_key (room, &m->rtcp_key, m);
}

static void
member_detach_output (DiscoMediaRoom *room, Member *m)
{
  private_stop (room, m, FALSE);
  g_mutex_lock (&room->lock);
  if (m->shared != NULL)
    g_ptr_array_remove (m->shared->members, m);
  m->shared = NULL;
  g_mutex_unlock (&room->lock);
}

static gboolean
member_attach_output (DiscoMediaRoom *room, Member *m, GError **error)
{
  Branch *b = shared_branch (room, m->is_leg ? SOURCE_LOCAL : SOURCE_FULL, m->p.codec,
                             m->p.ptime_ms, m->p.opus_fec, error);
  if (b == NULL)
    return FALSE;
  g_mutex_lock (&room->lock);
  m->shared = b;
  g_ptr_array_add (b->members, m);
  g_mutex_unlock (&room->lock);
  if (member_wants_private (m))
    private_start (room, m);
  return TRUE;
}

static void
member_remove (DiscoMediaRoom *room, Member *m)
{
  g_mutex_lock (&room->lock);
  member_unindex (room, m);
  g_mutex_unlock (&room->lock);
  member_detach_output (room, m);
  input_stop (room, m);
  g_mutex_lock (&room->lock);
  g_hash_table_steal (room->members, m->id);
  g_mutex_unlock (&room->lock);
  member_free (m);
}

static gboolean
member_add (DiscoMediaRoom *room, const char *id, const DiscoMediaParticipantParams *p,
            gboolean is_leg, GError **error)
{
  if (!params_check (room, id, p, error))
    return FALSE;
  Member *m = g_new0 (Member, 1);
  m->room = room;
  m->id = g_strdup (id);
  m->is_leg = is_leg;
  m->gain = 1.0;
  m->ssrc = g_random_int ();
  m->seq = (guint16)g_random_int ();
  m->ts_base = g_random_int ();
  member_set_params (m, p);

  g_mutex_lock (&room->lock);
  gboolean exists = g_hash_table_contains (room->members, id);
  g_mutex_unlock (&room->lock);
  if (exists)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_EXISTS,
                   "room %s: %s already present", room->name, id);
      member_free (m);
      return FALSE;
    }
  if (!input_start (room, m, error))
    {
      member_free (m);
      return FALSE;
    }
  g_mutex_lock (&room->lock);
  g_hash_table_insert (room->members, m->id, m);
  g_mutex_unlock (&room->lock);
  if (!member_attach_output (room, m, error))
    {
      member_remove (room, m);
      return FALSE;
    }
  g_mutex_lock (&room->lock);
  member_index (room, m);
  g_mutex_unlock (&room->lock);
  return TRUE;
}

static Member *
member_lookup (DiscoMediaRoom *room, const char *id, gboolean is_leg, GError **error)
{
  Member *m = id ? g_hash_table_lookup (room->members, id) : NULL;
  if (m == NULL || m->is_leg != is_leg)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_NOT_FOUND,
                   "room %s: no %s %s", room->name, is_leg ? "cascade leg" : "participant",
                   id ? id : "(null)");
      return NULL;
    }
  return m;
}

/* --------------------------------------------------------------- bus */

static Member *
member_by_mixer_pad (DiscoMediaRoom *room, const char *pad_name)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Member *m = v;
      GstPad *msink = member_mixer_pad (room, m);
      gboolean match = msink != NULL && g_strcmp0 (GST_PAD_NAME (msink), pad_name) == 0;
      g_clear_object (&msink);
      if (match)
        return m;
    }
  return NULL;
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  DiscoMediaRoom *room = data;
  switch (GST_MESSAGE_TYPE (msg))
    {
      case GST_MESSAGE_ELEMENT:
        {
          const GstStructure *s = gst_message_get_structure (msg);
          if (!gst_structure_has_name (s, DISCO_MIXER_TALKER_MESSAGE))
            break;
          const char *pad = gst_structure_get_string (s, "pad");
          gboolean talking = FALSE;
          gst_structure_get_boolean (s, "talking", &talking);
          Member *m = pad ? member_by_mixer_pad (room, pad) : NULL;
          if (m == NULL || m->is_leg)
            break;
          m->talking = talking;
          if (member_wants_private (m))
            private_start (room, m);
          else
            private_stop (room, m, TRUE);
          break;
        }
      case GST_MESSAGE_ERROR:
      case GST_MESSAGE_WARNING:
        {
          g_autoptr (GError) err = NULL;
          g_autofree char *dbg = NULL;
          if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
            gst_message_parse_error (msg, &err, &dbg);
          else
            gst_message_parse_warning (msg, &err, &dbg);
          /* One participant's broken stream must not end the room. */
          g_message ("room %s: %s from %s: %s", room->name, GST_MESSAGE_TYPE_NAME (msg),
                     GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
          break;
        }
      default:
        break;
    }
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------ public API */

DiscoMediaRoom *
disco_media_room_new (const char *name, const char *bind_address, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (bind_address != NULL, NULL);

  if (!gst_init_check (NULL, NULL, error) || !disco_mixer_plugin_register (error))
    return NULL;
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (bind_address);
  if (ia == NULL)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID,
                   "room %s: bind address '%s' is not a numeric IP address", name, bind_address);
      return NULL;
    }
  g_autoptr (GSocket) sock = g_socket_new (g_inet_address_get_family (ia), G_SOCKET_TYPE_DATAGRAM,
                                           G_SOCKET_PROTOCOL_UDP, error);
  if (sock == NULL)
    return NULL;
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (ia, 0);
  if (!g_socket_bind (sock, sa, FALSE, error))
    return NULL;
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (sock, error);
  if (local == NULL)
    return NULL;

  GstElement *udpsrc = gst_element_factory_make ("udpsrc", NULL);
  GstElement *fsink = gst_element_factory_make ("fakesink", NULL);
  GstElement *mixer = gst_element_factory_make_full (
      "discomixer", "force-live", TRUE, "ignore-inactive-pads", TRUE, "min-upstream-latency",
      (guint64)(JITTER_MS + 20) * GST_MSECOND, NULL);
  GstElement *tee = gst_element_factory_make ("tee", "tee_full");
  if (!udpsrc || !fsink || !mixer || !tee)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_MISSING_PLUGIN,
                   "room %s: udpsrc, fakesink, discomixer or tee missing", name);
      GstElement *all[] = { udpsrc, fsink, mixer, tee };
      for (guint i = 0; i < G_N_ELEMENTS (all); i++)
        if (all[i])
          gst_object_unref (gst_object_ref_sink (all[i]));
      return NULL;
    }

  DiscoMediaRoom *room = g_new0 (DiscoMediaRoom, 1);
  room->name = g_strdup (name);
  room->socket = g_steal_pointer (&sock);
  room->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_mutex_init (&room->lock);
  g_cond_init (&room->handover);
  room->members = g_hash_table_new (g_str_hash, g_str_equal);
  room->by_addr = g_hash_table_new_full (addr_key_hash, addr_key_equal, g_free,
                                         (GDestroyNotify)g_ptr_array_unref);
  room->branches = g_ptr_array_new ();
  g_mutex_init (&room->pump_lock);
  room->inputs = g_ptr_array_new ();
  room->pipeline = gst_pipeline_new (name);
  room->udpsrc = udpsrc;
  room->mixer = mixer;
  room->tee_full = tee;

  /* Large receive buffer: one socket carries every participant. */
  g_object_set (udpsrc, "socket", room->socket, "close-socket", FALSE, "buffer-size",
                4 * 1024 * 1024, NULL);
  g_object_set (fsink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (room->pipeline), udpsrc, fsink, mixer, tee, NULL);
  gst_element_link (udpsrc, fsink);
  gst_element_link_pads (mixer, "src", tee, "sink");
  GstPad *usrc = gst_element_get_static_pad (udpsrc, "src");
  gst_pad_add_probe (usrc, GST_PAD_PROBE_TYPE_BUFFER, on_udp_packet, room, NULL);
  gst_object_unref (usrc);

  GstBus *bus = gst_element_get_bus (room->pipeline);
  room->bus_watch = gst_bus_add_watch (bus, on_bus, room);
  gst_object_unref (bus);

  /* Elements added later are set PLAYING directly (the room never pauses):
   * syncing them with a pipeline still completing its own change to
   * PLAYING left a first participant's branches in PAUSED now and then.
   * For the same reason wait here until the pipeline is really PLAYING. */
  if (gst_element_set_state (room->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE
      || gst_element_get_state (room->pipeline, NULL, NULL, 5 * GST_SECOND)
             == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_FAILED,
                   "room %s: pipeline refused to play", name);
      disco_media_room_free (room);
      return NULL;
    }
  room->clock = gst_pipeline_get_clock (GST_PIPELINE (room->pipeline));
  room->pump = g_thread_new ("disco-room-pump", pump_main, room);
  return room;
}

static void
pump_stop (DiscoMediaRoom *room)
{
  if (room->pump == NULL)
    return;
  g_mutex_lock (&room->lock);
  room->pump_stop = TRUE;
  if (room->pump_wait != NULL)
    gst_clock_id_unschedule (room->pump_wait);
  g_mutex_unlock (&room->lock);
  g_thread_join (g_steal_pointer (&room->pump));
}

void
disco_media_room_free (DiscoMediaRoom *room)
{
  if (room == NULL)
    return;
  pump_stop (room);
  GList *ms = g_hash_table_get_values (room->members);
  for (GList *l = ms; l; l = l->next)
    member_remove (room, l->data);
  g_list_free (ms);
  gst_element_set_state (room->pipeline, GST_STATE_NULL);
  for (guint i = 0; i < room->branches->len; i++)
    branch_free (room, g_ptr_array_index (room->branches, i));
  g_ptr_array_unref (room->branches);
  if (room->bus_watch)
    g_source_remove (room->bus_watch);
  gst_object_unref (room->pipeline);
  g_hash_table_unref (room->members);
  g_hash_table_unref (room->by_addr);
  g_ptr_array_unref (room->inputs);
  g_clear_object (&room->clock);
  g_mutex_clear (&room->pump_lock);
  g_socket_close (room->socket, NULL);
  g_object_unref (room->socket);
  g_mutex_clear (&room->lock);
  g_cond_clear (&room->handover);
  g_free (room->name);
  g_free (room);
}

const char *
disco_media_room_get_name (DiscoMediaRoom *room)
{
  g_return_val_if_fail (room != NULL, NULL);
  return room->name;
}

guint16
disco_media_room_get_rtp_port (DiscoMediaRoom *room)
{
  g_return_val_if_fail (room != NULL, 0);
  return room->port;
}

guint16
disco_media_room_get_cascade_port (DiscoMediaRoom *room)
{
  return disco_media_room_get_rtp_port (room);
}

gboolean
disco_media_room_add_participant (DiscoMediaRoom *room, const char *id,
                                  const DiscoMediaParticipantParams *p, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  return member_add (room, id, p, FALSE, error);
}

gboolean
disco_media_room_update_participant (DiscoMediaRoom *room, const char *id,
                                     const DiscoMediaParticipantParams *p, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  Member *m = member_lookup (room, id, FALSE, error);
  if (m == NULL || !params_check (room, id, p, error))
    return FALSE;
  DiscoMediaParticipantParams old = m->p;
  guint ptime = p->ptime_ms ? p->ptime_ms : 20;
  gboolean new_input
      = old.codec != p->codec || old.payload_type != p->payload_type || old.opus_fec != p->opus_fec;
  gboolean new_output
      = old.codec != p->codec || old.ptime_ms != ptime || old.opus_fec != p->opus_fec;

  if (new_output)
    member_detach_output (room, m);
  if (new_input)
    input_stop (room, m);
  g_mutex_lock (&room->lock);
  member_unindex (room, m);
  member_set_params (m, p);
  member_index (room, m);
  g_mutex_unlock (&room->lock);
  if (new_input && !input_start (room, m, error))
    {
      member_remove (room, m);
      return FALSE;
    }
  if (new_output && !member_attach_output (room, m, error))
    {
      member_remove (room, m);
      return FALSE;
    }
  if (!m->p.send)
    private_stop (room, m, TRUE);
  else if (member_wants_private (m))
    private_start (room, m);
  return TRUE;
}

void
disco_media_room_remove_participant (DiscoMediaRoom *room, const char *id)
{
  g_return_if_fail (room != NULL);
  Member *m = member_lookup (room, id, FALSE, NULL);
  if (m != NULL)
    member_remove (room, m);
}

gboolean
disco_media_room_has_participant (DiscoMediaRoom *room, const char *id)
{
  g_return_val_if_fail (room != NULL, FALSE);
  return member_lookup (room, id, FALSE, NULL) != NULL;
}

gboolean
disco_media_room_set_mute (DiscoMediaRoom *room, const char *id, gboolean mute, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  Member *m = member_lookup (room, id, FALSE, error);
  if (m == NULL)
    return FALSE;
  g_mutex_lock (&room->lock);
  m->mute = mute;
  if (m->mixer_sink != NULL)
    g_object_set (m->mixer_sink, "mute", mute, NULL);
  g_mutex_unlock (&room->lock);
  return TRUE;
}

gboolean
disco_media_room_set_deaf (DiscoMediaRoom *room, const char *id, gboolean deaf, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  Member *m = member_lookup (room, id, FALSE, error);
  if (m == NULL)
    return FALSE;
  g_mutex_lock (&room->lock);
  m->deaf = deaf;
  g_mutex_unlock (&room->lock);
  if (deaf)
    private_stop (room, m, TRUE);
  else if (member_wants_private (m))
    private_start (room, m);
  return TRUE;
}

gboolean
disco_media_room_set_gain (DiscoMediaRoom *room, const char *id, gdouble gain, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  Member *m = member_lookup (room, id, FALSE, error);
  if (m == NULL)
    return FALSE;
  if (!(gain >= 0.0 && gain <= 10.0))
    {
      g_set_error (error, DISCO_MEDIA_ROOM_ERROR, DISCO_MEDIA_ROOM_ERROR_INVALID,
                   "room %s: gain %g for %s outside 0..10", room->name, gain, id);
      return FALSE;
    }
  g_mutex_lock (&room->lock);
  m->gain = gain;
  if (m->mixer_sink != NULL)
    g_object_set (m->mixer_sink, "gain", gain, NULL);
  g_mutex_unlock (&room->lock);
  return TRUE;
}

gboolean
disco_media_room_add_cascade_leg (DiscoMediaRoom *room, const char *peer_id,
                                  GInetSocketAddress *remote, DiscoMediaCodec codec, guint8 pt,
                                  GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  DiscoMediaParticipantParams p = {
    .codec = codec,
    .payload_type = pt,
    .telephone_event_pt = -1,
    .remote_rtp = remote,
    .ptime_ms = 20,
    .opus_fec = codec == DISCO_MEDIA_CODEC_OPUS,
    .send = TRUE,
    .recv = TRUE,
  };
  return member_add (room, peer_id, &p, TRUE, error);
}

void
disco_media_room_remove_cascade_leg (DiscoMediaRoom *room, const char *peer_id)
{
  g_return_if_fail (room != NULL);
  Member *m = member_lookup (room, peer_id, TRUE, NULL);
  if (m != NULL)
    member_remove (room, m);
}

gboolean
disco_media_room_get_participant_stats (DiscoMediaRoom *room, const char *id,
                                        DiscoMediaParticipantStats *out)
{
  g_return_val_if_fail (room != NULL && out != NULL, FALSE);
  Member *m = id ? g_hash_table_lookup (room->members, id) : NULL;
  if (m == NULL)
    return FALSE;
  memset (out, 0, sizeof *out);
  g_mutex_lock (&room->lock);
  out->packets_in = m->packets_in;
  out->bytes_in = m->bytes_in;
  out->packets_out = m->packets_out;
  out->bytes_out = m->bytes_out;
  out->private_encoder = m->private_active;
  out->events_in = m->events_in;
  out->events_out = m->events_out;
  out->level_db = -127.0;
  if (m->jb != NULL)
    {
      DiscoJitterStats js;
      disco_jitter_get_stats (m->jb, &js);
      out->packets_lost = js.lost;
      out->loss_fraction
          = js.played + js.lost ? (gdouble)js.lost / (gdouble)(js.played + js.lost) : 0.0;
      out->jitter_ms = js.jitter_ms;
    }
  g_mutex_unlock (&room->lock);
  GstPad *msink = member_mixer_pad (room, m);
  if (msink != NULL)
    {
      g_object_get (msink, "level", &out->level_db, "talking", &out->talking, NULL);
      gst_object_unref (msink);
    }
  return TRUE;
}

void
disco_media_room_get_stats (DiscoMediaRoom *room, DiscoMediaRoomStats *out)
{
  g_return_if_fail (room != NULL && out != NULL);
  memset (out, 0, sizeof *out);
  g_mutex_lock (&room->lock);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Member *m = v;
      if (m->is_leg)
        out->cascade_legs++;
      else
        out->participants++;
      if (m->priv != NULL)
        out->encoders_in_use++;
    }
  for (guint i = 0; i < room->branches->len; i++)
    if (branch_in_use (g_ptr_array_index (room->branches, i)))
      out->encoders_in_use++;
  g_mutex_unlock (&room->lock);
  g_object_get (room->mixer, "tick-overruns", &out->tick_overruns, NULL);
}
