/* disco-video-room.c: one conference's composed video pipeline.
 *
 *   udpsrc(shared socket) --probe: demux by source address--> feed pad of a
 *   sender --> [jitterbuffer ! depay ! dec] --> compositor.sink_%u (cell)
 *   videotestsrc(black, live) --> compositor.sink_0 (clock and background)
 *
 *   compositor ! capsfilter(fixed I420 WxH@fps) ! tee
 *      --> per codec: [leaky queue ! encoder ! payloader] ! appsink --> fan-out
 *
 * The fan-out (appsink callback on the encoder's queue thread) copies each
 * RTP packet, rewrites SSRC, sequence, timestamp and payload type for each
 * receiver of that codec and sends it with g_socket_send_to() on the shared
 * socket.  One payloader + per-receiver header rewrite (rather than one
 * payloader per receiver) keeps the per-receiver cost at a memcpy and a
 * sendto, needs no element or thread per receiver, and lets a receiver
 * start exactly at a key frame boundary found in the RTP payload.
 *
 * The compositor pads scale and convert (sizing-policy keep-aspect-ratio),
 * so no videoscale/videoconvert element per sender is needed.  Output caps
 * are fixed, so joins/leaves only move pads; nothing renegotiates.
 *
 * Removal of a sender while PLAYING: unindex it (no new packets), block its
 * feed, put a DROP probe on its decode bin's src so in-flight frames vanish
 * instead of erroring, release the compositor pad (which flushes a push
 * waiting inside the aggregator), then set the bin to NULL and remove it.
 * Other pads never stop.
 */
#define G_LOG_DOMAIN "disco-video-room"

#include "disco-video-room.h"

#include "disco-gst-util.h"
#include "disco-video-codec.h"
#include "disco-video-layout.h"

#include <gst/app/gstappsink.h>
#include <gst/net/gstnetaddressmeta.h>
#include <gst/video/video.h>
#include <string.h>

#define JITTER_MS 60
#define RTP_MAX 1500
#define PLI_MIN_US (500 * G_TIME_SPAN_MILLISECOND)

G_DEFINE_QUARK (disco - video - room - error - quark, disco_video_room_error)

typedef struct
{
  guint8 len;
  guint8 port[2];
  guint8 addr[16];
} AddrKey;

typedef struct _Member Member;

typedef struct
{
  DiscoVideoRoom *room;
  DiscoVideoCodec codec;
  GstElement *bin;     /* encode bin + appsink */
  GstElement *encoder; /* inside bin, ref'd */
  GstPad *tee_pad;
  GPtrArray *receivers; /* Member (borrowed), under room->lock */
  guint64 frames;       /* encoded frames (marker bits), under room->lock */
  gint64 last_fku_us;   /* last key frame request, under room->lock */
} Branch;

struct _Member
{
  DiscoVideoRoom *room;
  char *id;
  DiscoVideoParticipantParams p; /* remote_rtp ref'd */
  AddrKey key;

  /* Input (recv): all under room->lock except the elements, main thread. */
  GstPad *feed;
  GstElement *dec_bin;
  GstPad *comp_pad;
  guint32 remote_ssrc;
  gboolean have_remote_ssrc;
  gint64 last_pli_us;

  /* Output (send), under room->lock. */
  Branch *branch;
  guint32 ssrc, ts_base;
  guint16 seq;
  gboolean waiting_key;

  gboolean has_cell;
  DiscoVideoRect cell;
  guint64 packets_in, bytes_in, packets_out, bytes_out, plis_sent, keyframe_requests;
  guint64 frames_in; /* atomic */
};

struct _DiscoVideoRoom
{
  char *name;
  DiscoVideoLayoutConfig cfg;
  GSocket *socket;
  guint16 port;
  guint32 rtcp_ssrc; /* sender SSRC of our PLIs */
  GstElement *pipeline, *udpsrc, *compositor, *tee;
  guint bus_watch;

  GMutex lock;         /* tables, counters, branch membership */
  GHashTable *members; /* id -> Member (owned) */
  GHashTable *by_addr; /* AddrKey -> Member (borrowed) */
  GPtrArray *branches; /* Branch (owned) */
  GPtrArray *cells;    /* senders in join order (borrowed), main thread */
  guint64 dropped;
  guint64 frames_out; /* atomic */
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

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

/* ---------------------------------------------------------------- fan-out */

/* Called with room->lock held.  @data is one RTP packet of @b's payloader,
 * whose timestamp starts at 0 (timestamp-offset 0), so ts_base + ts gives
 * every receiver its own random timestamp space on the same timeline. */
static void
send_to_receiver (DiscoVideoRoom *room, Branch *b, Member *m, const guint8 *data, gsize size)
{
  guint8 pkt[RTP_MAX];

  if (m->waiting_key)
    {
      if (!disco_video_codec_rtp_starts_keyframe (b->codec, data, size))
        return;
      m->waiting_key = FALSE;
    }
  memcpy (pkt, data, size);
  pkt[1] = (data[1] & 0x80) | (m->p.payload_type & 0x7f);
  pkt[2] = m->seq >> 8;
  pkt[3] = m->seq & 0xff;
  put32 (pkt + 4, m->ts_base + get32 (data + 4));
  put32 (pkt + 8, m->ssrc);
  m->seq++;
  /* Send errors (ICMP unreachable, full buffer) are this receiver's
   * problem and must not disturb the others. */
  if (g_socket_send_to (room->socket, G_SOCKET_ADDRESS (m->p.remote_rtp), (const gchar *)pkt, size,
                        NULL, NULL)
      >= 0)
    {
      m->packets_out++;
      m->bytes_out += size;
    }
}

/* Safe from any thread: GstVideoEncoder only queues the request (and
 * coalesces requests closer than min-force-key-unit-interval). */
static void
branch_force_keyframe (Branch *b)
{
  gst_element_send_event (
      b->encoder, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

static GstFlowReturn
on_encoded (GstAppSink *sink, gpointer data)
{
  Branch *b = data;
  DiscoVideoRoom *room = b->room;
  g_autoptr (GstSample) sample = gst_app_sink_pull_sample (sink);
  if (sample == NULL)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_FLOW_OK;
  if (map.size >= 12 && map.size <= RTP_MAX)
    {
      gboolean waiting = FALSE;
      g_mutex_lock (&room->lock);
      if (map.data[1] & 0x80)
        b->frames++;
      for (guint i = 0; i < b->receivers->len; i++)
        {
          Member *m = g_ptr_array_index (b->receivers, i);
          send_to_receiver (room, b, m, map.data, map.size);
          waiting |= m->waiting_key;
        }
      /* The encoder may coalesce or drop requests (min-force-key-unit-
       * interval): ask again while someone still waits. */
      gint64 now = g_get_monotonic_time ();
      gboolean again = waiting && now - b->last_fku_us > G_USEC_PER_SEC;
      if (again)
        b->last_fku_us = now;
      g_mutex_unlock (&room->lock);
      if (again)
        branch_force_keyframe (b);
    }
  gst_buffer_unmap (buf, &map);
  return GST_FLOW_OK;
}

static Branch *
branch_new (DiscoVideoRoom *room, DiscoVideoCodec codec, GError **error)
{
  GstElement *enc = disco_video_codec_encode_bin (codec, room->cfg.fps, room->cfg.bitrate_kbps,
                                                  room->cfg.keyframe_interval_s, error);
  if (enc == NULL)
    return NULL;
  Branch *b = g_new0 (Branch, 1);
  b->room = room;
  b->codec = codec;
  b->receivers = g_ptr_array_new ();
  b->encoder = gst_bin_get_by_name (GST_BIN (enc), "enc");

  GstElement *sink = gst_element_factory_make ("appsink", NULL);
  /* Not synchronised, no preroll: the branch is PLAYING at once and the
   * callback runs on the queue's thread. */
  g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, "max-buffers",
                (guint)64, "drop", TRUE, NULL);
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
  gst_element_sync_state_with_parent (b->bin);

  b->tee_pad = gst_element_request_pad_simple (room->tee, "src_%u");
  GstPad *bsink = gst_element_get_static_pad (b->bin, "sink");
  GstPadLinkReturn r = gst_pad_link (b->tee_pad, bsink);
  gst_object_unref (bsink);
  if (r != GST_PAD_LINK_OK)
    g_warning ("room %s: cannot link %s encoder: %s", room->name,
               disco_video_codec_to_string (codec), gst_pad_link_get_name (r));
  return b;
}

/* The branch must no longer be in any table. */
static void
branch_free (DiscoVideoRoom *room, Branch *b)
{
  if (b->tee_pad != NULL)
    {
      /* Releasing the tee pad stops pushes into the branch; the queue's
       * thread stops when the bin goes to NULL below. */
      gst_element_release_request_pad (room->tee, b->tee_pad);
      gst_object_unref (b->tee_pad);
    }
  gst_element_set_state (b->bin, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (room->pipeline), b->bin);
  gst_object_unref (b->bin);
  gst_clear_object (&b->encoder);
  g_ptr_array_unref (b->receivers);
  g_free (b);
}

static gboolean
output_start (DiscoVideoRoom *room, Member *m, GError **error)
{
  Branch *b = NULL;
  if (!room->cfg.encode_per_receiver)
    for (guint i = 0; i < room->branches->len && b == NULL; i++)
      {
        Branch *o = g_ptr_array_index (room->branches, i);
        if (o->codec == m->p.codec)
          b = o;
      }
  gboolean fresh = b == NULL;
  if (fresh)
    {
      b = branch_new (room, m->p.codec, error);
      if (b == NULL)
        return FALSE;
    }
  g_mutex_lock (&room->lock);
  if (fresh)
    g_ptr_array_add (room->branches, b);
  m->branch = b;
  m->waiting_key = TRUE;
  b->last_fku_us = g_get_monotonic_time ();
  g_ptr_array_add (b->receivers, m);
  g_mutex_unlock (&room->lock);
  /* A fresh encoder starts with a key frame anyway. */
  if (!fresh)
    branch_force_keyframe (b);
  return TRUE;
}

static void
output_stop (DiscoVideoRoom *room, Member *m)
{
  Branch *b = m->branch;
  if (b == NULL)
    return;
  g_mutex_lock (&room->lock);
  g_ptr_array_remove (b->receivers, m);
  m->branch = NULL;
  gboolean unused = b->receivers->len == 0;
  if (unused)
    g_ptr_array_remove (room->branches, b);
  g_mutex_unlock (&room->lock);
  if (unused)
    branch_free (room, b);
}

/* ------------------------------------------------------------------ input */

/* Called with room->lock held. */
static void
send_pli (DiscoVideoRoom *room, Member *m)
{
  guint8 pli[12] = { 0x81, 206, 0x00, 0x02 };
  gint64 now = g_get_monotonic_time ();

  if (!m->have_remote_ssrc || (m->last_pli_us != 0 && now - m->last_pli_us < PLI_MIN_US))
    return;
  put32 (pli + 4, room->rtcp_ssrc);
  put32 (pli + 8, m->remote_ssrc);
  m->last_pli_us = now;
  if (g_socket_send_to (room->socket, G_SOCKET_ADDRESS (m->p.remote_rtp), (const gchar *)pli,
                        sizeof pli, NULL, NULL)
      >= 0)
    m->plis_sent++;
}

/* RTCP compound packet from a known participant: PLI (PSFB FMT 1) and FIR
 * (FMT 4) ask for a key frame; everything else is ignored.  Called with
 * room->lock held; returns the branch to force a key frame on. */
static Branch *
handle_rtcp (Member *m, const guint8 *p, gsize len)
{
  gboolean want = FALSE;
  for (gsize off = 0; off + 4 <= len;)
    {
      if ((p[off] >> 6) != 2)
        break;
      gsize plen = 4 * (1 + (((gsize)p[off + 2] << 8) | p[off + 3]));
      if (off + plen > len)
        break;
      guint fmt = p[off] & 0x1f;
      if (p[off + 1] == 206 && (fmt == 1 || fmt == 4))
        want = TRUE;
      off += plen;
    }
  if (!want || m->branch == NULL)
    return NULL;
  m->keyframe_requests++;
  return m->branch;
}

static GstPadProbeReturn
on_udp_packet (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DiscoVideoRoom *room = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 hdr[12];
  AddrKey key;

  GstNetAddressMeta *meta = gst_buffer_get_net_address_meta (buf);
  gsize size = gst_buffer_get_size (buf);
  if (meta == NULL || !G_IS_INET_SOCKET_ADDRESS (meta->addr) || size < 8
      || gst_buffer_extract (buf, 0, hdr, MIN (size, sizeof hdr)) < 8 || (hdr[0] >> 6) != 2)
    {
      g_mutex_lock (&room->lock);
      room->dropped++;
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  addr_key_init (&key, G_INET_SOCKET_ADDRESS (meta->addr));
  gboolean rtcp = hdr[1] >= 192 && hdr[1] <= 223; /* RFC 5761 section 4 */

  g_mutex_lock (&room->lock);
  Member *m = g_hash_table_lookup (room->by_addr, &key);
  if (m == NULL || (!rtcp && size < 12))
    {
      room->dropped++;
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  if (rtcp)
    {
      Branch *b = NULL;
      GstMapInfo map;
      if (gst_buffer_map (buf, &map, GST_MAP_READ))
        {
          b = handle_rtcp (m, map.data, map.size);
          gst_buffer_unmap (buf, &map);
        }
      GstElement *enc = b ? gst_object_ref (b->encoder) : NULL;
      g_mutex_unlock (&room->lock);
      if (enc != NULL)
        {
          gst_element_send_event (
              enc, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
          gst_object_unref (enc);
        }
      return GST_PAD_PROBE_DROP;
    }
  if (m->feed == NULL || (hdr[1] & 0x7f) != m->p.payload_type)
    {
      room->dropped++;
      g_mutex_unlock (&room->lock);
      return GST_PAD_PROBE_DROP;
    }
  m->packets_in++;
  m->bytes_in += size;
  m->remote_ssrc = get32 (hdr + 8);
  m->have_remote_ssrc = TRUE;
  GstPad *feed = gst_object_ref (m->feed);
  g_mutex_unlock (&room->lock);
  gst_pad_push (feed, gst_buffer_ref (buf));
  gst_object_unref (feed);
  return GST_PAD_PROBE_DROP;
}

/* The feed pad stands in for udpsrc: a live source with no latency of its
 * own, so the jitter buffer's and the compositor's latency queries work. */
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

/* Upstream events reaching the feed: the depayloader asks for a key frame
 * (missing one at start, or after loss); answer with an RTCP PLI. */
static gboolean
feed_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  Member *m = g_object_get_data (G_OBJECT (pad), "disco-member");
  if (m != NULL && gst_video_event_is_force_key_unit (event))
    {
      g_mutex_lock (&m->room->lock);
      send_pli (m->room, m);
      g_mutex_unlock (&m->room->lock);
    }
  gst_event_unref (event);
  return TRUE;
}

static GstPadProbeReturn
count_frame (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Member *m = data;
  g_atomic_pointer_add (&m->frames_in, 1);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
drop_all (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  return GST_PAD_PROBE_DROP;
}

static gboolean
input_start (DiscoVideoRoom *room, Member *m, GError **error)
{
  GstElement *bin = disco_video_codec_decode_bin (m->p.codec, JITTER_MS, error);
  if (bin == NULL)
    return FALSE;
  GstPad *cpad = gst_element_request_pad_simple (room->compositor, "sink_%u");
  if (cpad == NULL)
    {
      gst_object_unref (gst_object_ref_sink (bin));
      g_set_error_literal (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_FAILED,
                           "compositor refused a sink pad");
      return FALSE;
    }
  /* Off-canvas until the layout places it. */
  g_object_set (cpad, "zorder", 1u, "xpos", -(gint)room->cfg.width, "ypos", 0, "width", 2, "height",
                2, NULL);
  gst_util_set_object_arg (G_OBJECT (cpad), "sizing-policy", "keep-aspect-ratio");
  gst_pad_add_probe (cpad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, m, NULL);
  /* Linked on both sides before it starts, so no latency query from the
   * compositor ever meets an unlinked pad (a failed query at start-up
   * left the live compositor without output in about 1 of 16 rooms). */
  gst_object_ref (bin);
  gst_bin_add (GST_BIN (room->pipeline), bin);
  GstPad *bsrc = gst_element_get_static_pad (bin, "src");
  gst_pad_link (bsrc, cpad);
  gst_object_unref (bsrc);

  g_autofree char *feed_name = g_strdup_printf ("feed-%s", m->id);
  GstPad *feed = gst_pad_new (feed_name, GST_PAD_SRC);
  gst_object_ref_sink (feed);
  g_object_set_data (G_OBJECT (feed), "disco-member", m);
  gst_pad_set_query_function (feed, feed_query);
  gst_pad_set_event_function (feed, feed_event);
  GstPad *bsink = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (feed, bsink);
  gst_object_unref (bsink);
  gst_element_sync_state_with_parent (bin);
  gst_pad_set_active (feed, TRUE);
  /* Sticky events first; the udpsrc thread pushes buffers once the member
   * is in the address table.  The segment matches udpsrc's (TIME from 0). */
  g_autofree char *stream_id = g_strdup_printf ("%s/video/%s", room->name, m->id);
  g_autoptr (GstCaps) caps = disco_video_codec_rtp_caps (m->p.codec, m->p.payload_type);
  disco_gst_feed_begin (feed, stream_id, caps);

  g_mutex_lock (&room->lock);
  m->dec_bin = bin;
  m->comp_pad = cpad;
  m->feed = feed;
  g_mutex_unlock (&room->lock);
  return TRUE;
}

static void
input_stop (DiscoVideoRoom *room, Member *m)
{
  g_mutex_lock (&room->lock);
  GstPad *feed = g_steal_pointer (&m->feed);
  g_mutex_unlock (&room->lock);
  if (feed != NULL)
    disco_gst_feed_release (feed);
  if (m->dec_bin != NULL)
    {
      GstPad *bsrc = gst_element_get_static_pad (m->dec_bin, "src");
      gst_pad_add_probe (bsrc, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, drop_all, NULL, NULL);
      gst_object_unref (bsrc);
      if (m->comp_pad != NULL)
        gst_element_release_request_pad (room->compositor, m->comp_pad);
      gst_element_set_state (m->dec_bin, GST_STATE_NULL);
      gst_bin_remove (GST_BIN (room->pipeline), m->dec_bin);
      gst_clear_object (&m->dec_bin);
    }
  gst_clear_object (&m->comp_pad);
}

/* ------------------------------------------------------------------ layout */

/* Main thread: moves every sender's compositor pad to its grid cell. */
static void
layout_apply (DiscoVideoRoom *room)
{
  guint n = room->cells->len;
  for (guint i = 0; i < n; i++)
    {
      Member *m = g_ptr_array_index (room->cells, i);
      DiscoVideoRect r;
      disco_video_layout_cell (n, i, room->cfg.width, room->cfg.height, &r);
      g_object_set (m->comp_pad, "xpos", r.x, "ypos", r.y, "width", r.width, "height", r.height,
                    NULL);
      g_mutex_lock (&room->lock);
      m->cell = r;
      m->has_cell = TRUE;
      g_mutex_unlock (&room->lock);
    }
}

/* ---------------------------------------------------------------- members */

static void
member_free (Member *m)
{
  g_clear_object (&m->p.remote_rtp);
  g_free (m->id);
  g_free (m);
}

static gboolean
params_check (DiscoVideoRoom *room, const char *id, const DiscoVideoParticipantParams *p,
              GError **error)
{
  const char *why = NULL;
  if (id == NULL || *id == '\0')
    why = "empty id";
  else if (p == NULL)
    why = "no parameters";
  else if (disco_video_codec_to_string (p->codec) == NULL)
    why = "unknown codec";
  else if (p->payload_type > 127 || (p->payload_type >= 64 && p->payload_type <= 95))
    why = "payload type must be 0..63 or 96..127 (RTCP mux)";
  else if (p->remote_rtp == NULL || !G_IS_INET_SOCKET_ADDRESS (p->remote_rtp)
           || g_inet_socket_address_get_port (p->remote_rtp) == 0)
    why = "remote RTP address missing";
  if (why != NULL)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID,
                   "video room %s, participant %s: %s", room->name, id ? id : "(null)", why);
      return FALSE;
    }
  return TRUE;
}

static void
member_remove (DiscoVideoRoom *room, Member *m)
{
  g_mutex_lock (&room->lock);
  if (g_hash_table_lookup (room->by_addr, &m->key) == m)
    g_hash_table_remove (room->by_addr, &m->key);
  g_mutex_unlock (&room->lock);
  output_stop (room, m);
  input_stop (room, m);
  if (g_ptr_array_remove (room->cells, m))
    layout_apply (room);
  g_mutex_lock (&room->lock);
  g_hash_table_steal (room->members, m->id);
  g_mutex_unlock (&room->lock);
  member_free (m);
}

gboolean
disco_video_room_add_participant (DiscoVideoRoom *room, const char *id,
                                  const DiscoVideoParticipantParams *p, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  if (!params_check (room, id, p, error))
    return FALSE;
  Member *m = g_new0 (Member, 1);
  m->room = room;
  m->id = g_strdup (id);
  m->p = *p;
  g_object_ref (m->p.remote_rtp);
  addr_key_init (&m->key, m->p.remote_rtp);
  m->ssrc = g_random_int ();
  m->seq = (guint16)g_random_int ();
  m->ts_base = g_random_int ();

  g_mutex_lock (&room->lock);
  gboolean exists = g_hash_table_contains (room->members, id);
  gboolean taken = g_hash_table_contains (room->by_addr, &m->key);
  g_mutex_unlock (&room->lock);
  if (exists || taken)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR,
                   exists ? DISCO_VIDEO_ROOM_ERROR_EXISTS : DISCO_VIDEO_ROOM_ERROR_INVALID,
                   exists ? "video room %s: %s already present"
                          : "video room %s: remote address of %s already in use",
                   room->name, id);
      member_free (m);
      return FALSE;
    }
  g_mutex_lock (&room->lock);
  g_hash_table_insert (room->members, m->id, m);
  g_mutex_unlock (&room->lock);
  if ((m->p.recv && !input_start (room, m, error)) || (m->p.send && !output_start (room, m, error)))
    {
      member_remove (room, m);
      return FALSE;
    }
  if (m->p.recv)
    {
      g_ptr_array_add (room->cells, m);
      layout_apply (room);
    }
  g_mutex_lock (&room->lock);
  g_hash_table_insert (room->by_addr, &m->key, m);
  g_mutex_unlock (&room->lock);
  return TRUE;
}

void
disco_video_room_remove_participant (DiscoVideoRoom *room, const char *id)
{
  g_return_if_fail (room != NULL);
  Member *m = id ? g_hash_table_lookup (room->members, id) : NULL;
  if (m != NULL)
    member_remove (room, m);
}

gboolean
disco_video_room_has_participant (DiscoVideoRoom *room, const char *id)
{
  g_return_val_if_fail (room != NULL, FALSE);
  return id != NULL && g_hash_table_contains (room->members, id);
}

gboolean
disco_video_room_request_keyframe (DiscoVideoRoom *room, const char *id, GError **error)
{
  g_return_val_if_fail (room != NULL, FALSE);
  Member *m = id ? g_hash_table_lookup (room->members, id) : NULL;
  if (m == NULL)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_NOT_FOUND,
                   "video room %s: no participant %s", room->name, id ? id : "(null)");
      return FALSE;
    }
  g_mutex_lock (&room->lock);
  Branch *b = m->branch;
  if (b != NULL)
    m->keyframe_requests++;
  if (m->feed != NULL)
    {
      m->last_pli_us = 0; /* an explicit request is never rate-limited */
      send_pli (room, m);
    }
  g_mutex_unlock (&room->lock);
  if (b != NULL)
    branch_force_keyframe (b);
  return TRUE;
}

/* ------------------------------------------------------------------ stats */

gboolean
disco_video_room_get_participant_stats (DiscoVideoRoom *room, const char *id,
                                        DiscoVideoParticipantStats *out)
{
  g_return_val_if_fail (room != NULL && out != NULL, FALSE);
  Member *m = id ? g_hash_table_lookup (room->members, id) : NULL;
  if (m == NULL)
    return FALSE;
  g_mutex_lock (&room->lock);
  *out = (DiscoVideoParticipantStats){
    .packets_in = m->packets_in,
    .bytes_in = m->bytes_in,
    .packets_out = m->packets_out,
    .bytes_out = m->bytes_out,
    .frames_in = (guint64)g_atomic_pointer_get (&m->frames_in),
    .plis_sent = m->plis_sent,
    .keyframe_requests = m->keyframe_requests,
    .has_cell = m->has_cell,
    .cell = m->cell,
  };
  g_mutex_unlock (&room->lock);
  return TRUE;
}

/* Encoders are counted in the element tree, not in our bookkeeping, so the
 * figure shows what really runs. */
static guint
count_encoders (GstBin *bin)
{
  guint n = 0;
  GstIterator *it = gst_bin_iterate_recurse (bin);
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK)
    {
      GstElement *e = g_value_get_object (&v);
      GstElementFactory *f = gst_element_get_factory (e);
      if (f != NULL && gst_element_factory_list_is_type (f, GST_ELEMENT_FACTORY_TYPE_VIDEO_ENCODER))
        n++;
      g_value_reset (&v);
    }
  g_value_unset (&v);
  gst_iterator_free (it);
  return n;
}

void
disco_video_room_get_stats (DiscoVideoRoom *room, DiscoVideoRoomStats *out)
{
  g_return_if_fail (room != NULL && out != NULL);
  guint cols, rows;
  disco_video_layout_grid (room->cells->len, &cols, &rows);
  memset (out, 0, sizeof *out);
  out->encoders_in_use = count_encoders (GST_BIN (room->pipeline));
  out->layout_cells = cols * rows;
  out->senders = room->cells->len;
  out->frames_out = (guint64)g_atomic_pointer_get (&room->frames_out);
  g_mutex_lock (&room->lock);
  out->participants = g_hash_table_size (room->members);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      Member *m = v;
      out->receivers += m->branch != NULL;
      out->frames_in += (guint64)g_atomic_pointer_get (&m->frames_in);
    }
  for (guint i = 0; i < room->branches->len; i++)
    out->frames_encoded += ((Branch *)g_ptr_array_index (room->branches, i))->frames;
  out->dropped_packets = room->dropped;
  g_mutex_unlock (&room->lock);
}

/* --------------------------------------------------------------- lifecycle */

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  DiscoVideoRoom *room = data;
  g_autoptr (GError) err = NULL;
  g_autofree char *dbg = NULL;
  /* A joining sender's jitter buffer changes the latency; the pipeline
   * does not redistribute it by itself. */
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_LATENCY)
    gst_bin_recalculate_latency (GST_BIN (room->pipeline));
  /* One participant's broken stream must not end the room.  Warnings
   * (e.g. undecodable packets) come at packet rate from a hostile sender,
   * so they stay at debug level. */
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      gst_message_parse_error (msg, &err, &dbg);
      g_message ("video room %s: error from %s: %s", room->name,
                 GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
    }
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    {
      gst_message_parse_warning (msg, &err, &dbg);
      g_debug ("video room %s: warning from %s: %s", room->name,
               GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
    }
  return G_SOURCE_CONTINUE;
}

static GstPadProbeReturn
count_out (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  DiscoVideoRoom *room = data;
  g_atomic_pointer_add (&room->frames_out, 1);
  return GST_PAD_PROBE_OK;
}

static gboolean
layout_check (const char *name, const DiscoVideoLayoutConfig *l, GError **error)
{
  if (l == NULL || l->width < 32 || l->width > 1920 || l->height < 32 || l->height > 1088
      || (l->width | l->height) & 1 || l->fps < 1 || l->fps > 60 || l->bitrate_kbps > 100000
      || l->keyframe_interval_s > 3600)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID,
                   "video room %s: layout must be even 32..1920 x 32..1088 @ 1..60 fps", name);
      return FALSE;
    }
  return TRUE;
}

static GSocket *
bind_socket (const char *name, const char *bind_address, guint16 *port, GError **error)
{
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (bind_address);
  if (ia == NULL)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_INVALID,
                   "video room %s: bind address '%s' is not a numeric IP address", name,
                   bind_address);
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
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return g_steal_pointer (&sock);
}

DiscoVideoRoom *
disco_video_room_new (const char *name, const char *bind_address,
                      const DiscoVideoLayoutConfig *layout, GError **error)
{
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (bind_address != NULL, NULL);

  if (!gst_init_check (NULL, NULL, error) || !layout_check (name, layout, error))
    return NULL;
  guint16 port = 0;
  g_autoptr (GSocket) sock = bind_socket (name, bind_address, &port, error);
  if (sock == NULL)
    return NULL;

  GstElement *udpsrc = gst_element_factory_make ("udpsrc", NULL);
  GstElement *fsink = gst_element_factory_make ("fakesink", NULL);
  GstElement *bg = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *bgcaps = gst_element_factory_make ("capsfilter", NULL);
  GstElement *comp = gst_element_factory_make ("compositor", NULL);
  GstElement *outcaps = gst_element_factory_make ("capsfilter", NULL);
  GstElement *tee = gst_element_factory_make ("tee", NULL);
  GstElement *all[] = { udpsrc, fsink, bg, bgcaps, comp, outcaps, tee };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (all[i] == NULL)
      {
        g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_MISSING_PLUGIN,
                     "video room %s: udpsrc, fakesink, videotestsrc, compositor or tee missing",
                     name);
        for (guint j = 0; j < G_N_ELEMENTS (all); j++)
          if (all[j] != NULL)
            gst_object_unref (gst_object_ref_sink (all[j]));
        return NULL;
      }

  DiscoVideoRoom *room = g_new0 (DiscoVideoRoom, 1);
  room->name = g_strdup (name);
  room->cfg = *layout;
  if (room->cfg.bitrate_kbps == 0)
    room->cfg.bitrate_kbps = MAX (64, layout->width * layout->height * layout->fps / 10000);
  if (room->cfg.keyframe_interval_s == 0)
    room->cfg.keyframe_interval_s = 10;
  room->socket = g_steal_pointer (&sock);
  room->port = port;
  room->rtcp_ssrc = g_random_int ();
  g_mutex_init (&room->lock);
  room->members = g_hash_table_new (g_str_hash, g_str_equal);
  room->by_addr = g_hash_table_new (addr_key_hash, addr_key_equal);
  room->branches = g_ptr_array_new ();
  room->cells = g_ptr_array_new ();
  room->pipeline = gst_pipeline_new (name);
  room->udpsrc = udpsrc;
  room->compositor = comp;
  room->tee = tee;

  g_object_set (udpsrc, "socket", room->socket, "close-socket", FALSE, "buffer-size",
                4 * 1024 * 1024, NULL);
  g_object_set (fsink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  /* The black live source is the compositor's clock and background: the
   * canvas is produced at the fixed rate even while nobody sends. */
  g_object_set (bg, "is-live", TRUE, NULL);
  gst_util_set_object_arg (G_OBJECT (bg), "pattern", "black");
  g_autoptr (GstCaps) caps = gst_caps_new_simple (
      "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, (gint)layout->width,
      "height", G_TYPE_INT, (gint)layout->height, "framerate", GST_TYPE_FRACTION, (gint)layout->fps,
      1, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  g_object_set (bgcaps, "caps", caps, NULL);
  g_object_set (outcaps, "caps", caps, NULL);
  /* Senders join with decode latency the background does not have;
   * ignore-inactive-pads keeps a silent sender from stalling the canvas. */
  g_object_set (comp, "ignore-inactive-pads", TRUE, "min-upstream-latency",
                (guint64)(JITTER_MS + 100) * GST_MSECOND, NULL);
  gst_util_set_object_arg (G_OBJECT (comp), "background", "black");
  g_object_set (tee, "allow-not-linked", TRUE, NULL);

  gst_bin_add_many (GST_BIN (room->pipeline), udpsrc, fsink, NULL);
  gst_element_link (udpsrc, fsink);
  GstPad *usrc = gst_element_get_static_pad (udpsrc, "src");
  gst_pad_add_probe (usrc, GST_PAD_PROBE_TYPE_BUFFER, on_udp_packet, room, NULL);
  gst_object_unref (usrc);
  GstPad *csrc = gst_element_get_static_pad (comp, "src");
  gst_pad_add_probe (csrc, GST_PAD_PROBE_TYPE_BUFFER, count_out, room, NULL);
  gst_object_unref (csrc);

  GstBus *bus = gst_element_get_bus (room->pipeline);
  room->bus_watch = gst_bus_add_watch (bus, on_bus, room);
  gst_object_unref (bus);

  /* The canvas joins an already PLAYING pipeline.  Started together, the
   * live compositor's task could run before the pipeline handed out its
   * base time, take itself for an hour late, mark the background pad EOS
   * and never output again (seen in about 1 of 10 rooms).  Added to a
   * PLAYING bin, elements get clock and base time first. */
  gboolean ok
      = gst_element_set_state (room->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE
        && gst_element_get_state (room->pipeline, NULL, NULL, 5 * GST_SECOND)
               != GST_STATE_CHANGE_FAILURE;
  if (ok)
    {
      gst_bin_add_many (GST_BIN (room->pipeline), bg, bgcaps, comp, outcaps, tee, NULL);
      ok = gst_element_link_many (bg, bgcaps, comp, outcaps, tee, NULL);
      GstElement *downstream_first[] = { tee, outcaps, comp, bgcaps, bg };
      for (guint i = 0; ok && i < G_N_ELEMENTS (downstream_first); i++)
        ok = gst_element_sync_state_with_parent (downstream_first[i]);
    }
  else
    {
      GstElement *canvas[] = { bg, bgcaps, comp, outcaps, tee };
      for (guint i = 0; i < G_N_ELEMENTS (canvas); i++)
        gst_object_unref (gst_object_ref_sink (canvas[i]));
    }
  if (!ok)
    {
      g_set_error (error, DISCO_VIDEO_ROOM_ERROR, DISCO_VIDEO_ROOM_ERROR_FAILED,
                   "video room %s: pipeline refused to play", name);
      disco_video_room_free (room);
      return NULL;
    }
  return room;
}

void
disco_video_room_free (DiscoVideoRoom *room)
{
  if (room == NULL)
    return;
  GList *ids = g_hash_table_get_keys (room->members);
  for (GList *l = ids; l != NULL; l = l->next)
    disco_video_room_remove_participant (room, l->data);
  g_list_free (ids);
  gst_element_set_state (room->pipeline, GST_STATE_NULL);
  if (room->bus_watch != 0)
    g_source_remove (room->bus_watch);
  gst_object_unref (room->pipeline);
  g_ptr_array_unref (room->branches);
  g_ptr_array_unref (room->cells);
  g_hash_table_unref (room->by_addr);
  g_hash_table_unref (room->members);
  g_mutex_clear (&room->lock);
  g_clear_object (&room->socket);
  g_free (room->name);
  g_free (room);
}

const char *
disco_video_room_get_name (DiscoVideoRoom *room)
{
  g_return_val_if_fail (room != NULL, NULL);
  return room->name;
}

guint16
disco_video_room_get_rtp_port (DiscoVideoRoom *room)
{
  g_return_val_if_fail (room != NULL, 0);
  return room->port;
}
