/* test-sip-video.c: video through the focus, end to end over SIP.
 *
 * The test is its own UAC (plain SIP over a UDP socket, so that it knows
 * the focus's SDP answer) and its own video endpoint: a GStreamer pipeline
 * on one UDP socket sends VP8 RTP (a solid colour) and decodes what comes
 * back.  The 200 must accept the video m-line, and the composed grid the
 * focus sends back must show the colour we sent (we are the only sender,
 * so our picture fills the canvas).  An audio-only sipp caller in the same
 * conference at the same time must be unaffected. */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <string.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"

typedef struct
{
  GSocket *sip;
  guint sip_port;
  GSocketAddress *focus;
  char *call_id;
  char *to_tag;
  char *route; /* Route header value (the Record-Route of the 200), or NULL */
  char *target;
  char *answer; /* SDP */
} Uac;

static GSocket *
bind_udp (guint *port)
{
  g_autoptr (GError) error = NULL;
  GSocket *s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return s;
}

static void
uac_send (Uac *u, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_socket_send_to (u->sip, u->focus, text, strlen (text), NULL, &error);
  g_assert_no_error (error);
}

/* Next SIP message, or NULL after @timeout_ms. */
static char *
uac_receive (Uac *u, guint timeout_ms)
{
  char buf[65536];
  if (!g_socket_condition_timed_wait (u->sip, G_IO_IN, (gint64)timeout_ms * 1000, NULL, NULL))
    return NULL;
  gssize n = g_socket_receive (u->sip, buf, sizeof buf - 1, NULL, NULL);
  if (n <= 0)
    return NULL;
  buf[n] = 0;
  return g_strdup (buf);
}

/* Value of the first header @name (full form) in @msg, or NULL. */
static char *
header (const char *msg, const char *name)
{
  g_autofree char *pattern = g_strdup_printf ("^%s:[ \t]*(.*?)\r?$", name);
  g_autoptr (GRegex) re = g_regex_new (pattern, G_REGEX_MULTILINE | G_REGEX_CASELESS, 0, NULL);
  g_autoptr (GMatchInfo) mi = NULL;
  if (!g_regex_match (re, msg, 0, &mi))
    return NULL;
  return g_match_info_fetch (mi, 1);
}

static int
status_of (const char *msg)
{
  if (!g_str_has_prefix (msg, "SIP/2.0 "))
    return 0;
  return atoi (msg + 8);
}

static char *
request (Uac *u, const char *method, const char *uri, guint cseq, const char *extra,
         const char *body)
{
  static guint branch;
  GString *m = g_string_new (NULL);
  g_string_append_printf (m, "%s %s SIP/2.0\r\n", method, uri);
  g_string_append_printf (m, "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-video-%u-%u;rport\r\n",
                          u->sip_port, (guint)getpid (), ++branch);
  g_string_append (m, "Max-Forwards: 70\r\n");
  g_string_append (m, "From: \"Video\" <sip:video@127.0.0.1>;tag=video-from\r\n");
  g_string_append_printf (m, "To: <" CONF ">%s%s\r\n", u->to_tag ? ";tag=" : "",
                          u->to_tag ? u->to_tag : "");
  g_string_append_printf (m, "Call-ID: %s\r\n", u->call_id);
  g_string_append_printf (m, "CSeq: %u %s\r\n", cseq, method);
  g_string_append_printf (m, "Contact: <sip:video@127.0.0.1:%u>\r\n", u->sip_port);
  if (u->route && !g_str_equal (method, "INVITE"))
    g_string_append_printf (m, "Route: %s\r\n", u->route);
  if (extra)
    g_string_append (m, extra);
  if (body)
    g_string_append_printf (m, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                            strlen (body), body);
  else
    g_string_append (m, "Content-Length: 0\r\n\r\n");
  return g_string_free (m, FALSE);
}

/* INVITE with @offer; returns the final status, fills the dialog on 200. */
static int
uac_invite (Uac *u, const char *offer)
{
  g_autofree char *uri = NULL;
  g_autofree char *focus = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (u->focus)));
  uri = g_strdup_printf ("sip:conf@%s:%u", focus,
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (u->focus)));
  g_autofree char *inv = request (u, "INVITE", uri, 1, NULL, offer);
  uac_send (u, inv);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *msg = uac_receive (u, 1000);
      if (msg == NULL)
        continue;
      int st = status_of (msg);
      if (st < 200)
        continue;
      if (st >= 300)
        return st;
      g_autofree char *to = header (msg, "To");
      const char *tag = to ? strstr (to, "tag=") : NULL;
      g_assert_nonnull (tag);
      u->to_tag = g_strndup (tag + 4, strcspn (tag + 4, ";> \r\n"));
      u->route = header (msg, "Record-Route");
      g_autofree char *contact = header (msg, "Contact");
      g_assert_nonnull (contact);
      g_assert_nonnull (strstr (contact, "isfocus"));
      const char *lt = strchr (contact, '<');
      g_assert_nonnull (lt);
      u->target = g_strndup (lt + 1, strcspn (lt + 1, ">"));
      const char *body = strstr (msg, "\r\n\r\n");
      g_assert_nonnull (body);
      u->answer = g_strdup (body + 4);
      g_autofree char *ack = request (u, "ACK", u->target, 1, NULL, NULL);
      uac_send (u, ack);
      return st;
    }
  return -1;
}

static int
uac_bye (Uac *u)
{
  g_autofree char *bye = request (u, "BYE", u->target, 2, NULL, NULL);
  uac_send (u, bye);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *msg = uac_receive (u, 1000);
      if (msg == NULL)
        {
          uac_send (u, bye); /* UDP: retransmit */
          continue;
        }
      g_autofree char *cseq = header (msg, "CSeq");
      int st = status_of (msg);
      if (st >= 200 && cseq && strstr (cseq, "BYE"))
        return st;
      if (st == 200) /* a retransmitted 200 to the INVITE */
        {
          g_autofree char *ack = request (u, "ACK", u->target, 1, NULL, NULL);
          uac_send (u, ack);
        }
    }
  return -1;
}

/* The endpoint: sends solid red VP8, decodes what comes back. */
typedef struct
{
  GstElement *pipeline;
  GMutex lock;
  guint64 rtp_in, frames;
  guint8 center[3];
} VideoEnd;

static GstPadProbeReturn
on_packet (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  VideoEnd *v = data;
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
  guint8 hdr[2];
  if (gst_buffer_extract (b, 0, hdr, 2) < 2)
    return GST_PAD_PROBE_DROP;
  /* RTCP muxed on the same port (RFC 5761): PT 200..204 are not video. */
  if (hdr[1] >= 200 && hdr[1] <= 204)
    return GST_PAD_PROBE_DROP;
  g_mutex_lock (&v->lock);
  v->rtp_in++;
  g_mutex_unlock (&v->lock);
  return GST_PAD_PROBE_OK;
}

static GstFlowReturn
on_frame (GstAppSink *sink, gpointer data)
{
  VideoEnd *v = data;
  g_autoptr (GstSample) s = gst_app_sink_pull_sample (sink);
  GstMapInfo map;
  GstCaps *caps = gst_sample_get_caps (s);
  GstStructure *st = gst_caps_get_structure (caps, 0);
  gint w = 0, h = 0;
  gst_structure_get_int (st, "width", &w);
  gst_structure_get_int (st, "height", &h);
  GstBuffer *b = gst_sample_get_buffer (s);
  if (w > 0 && h > 0 && gst_buffer_map (b, &map, GST_MAP_READ))
    {
      gsize stride = GST_ROUND_UP_4 ((gsize)w * 3);
      gsize off = (gsize)(h / 2) * stride + (gsize)(w / 2) * 3;
      g_mutex_lock (&v->lock);
      if (off + 3 <= map.size)
        memcpy (v->center, map.data + off, 3);
      v->frames++;
      g_mutex_unlock (&v->lock);
      gst_buffer_unmap (b, &map);
    }
  return GST_FLOW_OK;
}

static VideoEnd *
video_end_new (GSocket *sock, guint room_port)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "udpsrc name=src close-socket=false caps=\"application/x-rtp,media=video,"
      "clock-rate=90000,encoding-name=VP8,payload=96\" ! rtpjitterbuffer latency=100 ! "
      "rtpvp8depay wait-for-keyframe=true ! vp8dec ! videoconvert ! video/x-raw,format=RGB ! "
      "appsink name=sink sync=false max-buffers=2 drop=true "
      "videotestsrc is-live=true pattern=solid-color foreground-color=0xffff0000 ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=10/1 ! "
      "vp8enc deadline=1 cpu-used=16 threads=1 lag-in-frames=0 keyframe-max-dist=10 "
      "target-bitrate=100000 ! rtpvp8pay mtu=1200 pt=96 ! "
      "udpsink name=out sync=false async=false close-socket=false host=127.0.0.1 port=%u",
      room_port);
  VideoEnd *v = g_new0 (VideoEnd, 1);
  g_mutex_init (&v->lock);
  v->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *src = gst_bin_get_by_name (GST_BIN (v->pipeline), "src");
  g_object_set (src, "socket", sock, NULL);
  GstPad *pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, v, NULL);
  gst_object_unref (pad);
  gst_object_unref (src);
  GstElement *out = gst_bin_get_by_name (GST_BIN (v->pipeline), "out");
  g_object_set (out, "socket", sock, NULL);
  gst_object_unref (out);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (v->pipeline), "sink");
  GstAppSinkCallbacks cb = { .new_sample = on_frame };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cb, v, NULL);
  gst_object_unref (sink);
  g_assert_cmpint (gst_element_set_state (v->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  return v;
}

static void
video_end_free (VideoEnd *v)
{
  gst_element_set_state (v->pipeline, GST_STATE_NULL);
  gst_object_unref (v->pipeline);
  g_mutex_clear (&v->lock);
  g_free (v);
}

static gboolean
got_red_frames (gpointer data)
{
  VideoEnd *v = data;
  g_mutex_lock (&v->lock);
  gboolean ok = v->frames >= 10 && v->center[0] > 180 && v->center[1] < 80 && v->center[2] < 80;
  g_mutex_unlock (&v->lock);
  return ok;
}

typedef struct
{
  DiscoTestDaemon *d;
  guint want;
} CountWait;

static guint
participants (DiscoTestDaemon *d)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *conf = st ? sip_test_status_conference (st, CONF) : NULL, *ps = NULL;
  if (conf && json_object_object_get_ex (conf, "participants", &ps))
    return (guint)json_object_array_length (ps);
  return G_MAXUINT;
}

static gboolean
count_is (gpointer data)
{
  CountWait *w = data;
  return participants (w->d) == w->want;
}

/* The status entry of the participant whose user is @aor (borrowed from
 * @st), or NULL. */
static json_object *
find_participant (json_object *st, const char *aor)
{
  json_object *conf = sip_test_status_conference (st, CONF), *ps = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &ps))
    return NULL;
  for (size_t i = 0; i < json_object_array_length (ps); i++)
    {
      json_object *p = json_object_array_get_idx (ps, i), *u = NULL;
      if (json_object_object_get_ex (p, "uri", &u)
          && g_strcmp0 (json_object_get_string (u), aor) == 0)
        return p;
    }
  return NULL;
}

static void
test_vp8_call_gets_grid (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  /* An audio-only caller in the same conference, during the whole call. */
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "20000", NULL };
  g_autoptr (SipTestSipp) audio = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 90, 440, extra);
  CountWait one = { d, 1 };
  g_assert_true (sip_test_wait_until (count_is, &one, 30000));

  Uac u = { 0 };
  u.sip = bind_udp (&u.sip_port);
  g_autofree char *host = g_strndup (d->sip, strrchr (d->sip, ':') - d->sip);
  u.focus = g_inet_socket_address_new_from_string (host, atoi (strrchr (d->sip, ':') + 1));
  u.call_id = g_strdup_printf ("video-%u-%" G_GINT64_FORMAT "@127.0.0.1", (guint)getpid (),
                               g_get_real_time ());
  guint aport = 0, vport = 0;
  g_autoptr (GSocket) asock = bind_udp (&aport);
  g_autoptr (GSocket) vsock = bind_udp (&vport);
  g_autofree char *offer = g_strdup_printf ("v=0\r\n"
                                            "o=- 1 1 IN IP4 127.0.0.1\r\n"
                                            "s=video test\r\n"
                                            "c=IN IP4 127.0.0.1\r\n"
                                            "t=0 0\r\n"
                                            "m=audio %u RTP/AVP 0\r\n"
                                            "a=rtpmap:0 PCMU/8000\r\n"
                                            "a=sendrecv\r\n"
                                            "m=video %u RTP/AVP 96\r\n"
                                            "a=rtpmap:96 VP8/90000\r\n"
                                            "a=rtcp-mux\r\n"
                                            "a=sendrecv\r\n",
                                            aport, vport);
  g_assert_cmpint (uac_invite (&u, offer), ==, 200);

  g_autoptr (GstSDPMessage) sdp = NULL;
  gst_sdp_message_new (&sdp);
  g_assert_cmpint (gst_sdp_message_parse_buffer ((const guint8 *)u.answer, strlen (u.answer), sdp),
                   ==, GST_SDP_OK);
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 2);
  const GstSDPMedia *am = gst_sdp_message_get_media (sdp, 0);
  const GstSDPMedia *vm = gst_sdp_message_get_media (sdp, 1);
  g_assert_cmpstr (gst_sdp_media_get_media (vm), ==, "video");
  g_assert_cmpuint (gst_sdp_media_get_port (am), !=, 0);
  guint room_port = gst_sdp_media_get_port (vm);
  g_assert_cmpuint (room_port, !=, 0);
  g_assert_cmpstr (gst_sdp_media_get_format (vm, 0), ==, "96");
  g_assert_nonnull (strstr (u.answer, "VP8/90000"));
  gboolean sendrecv = FALSE;
  for (guint i = 0; i < gst_sdp_media_attributes_len (vm); i++)
    sendrecv |= g_strcmp0 (gst_sdp_media_get_attribute (vm, i)->key, "sendrecv") == 0;
  g_assert_true (sendrecv);

  VideoEnd *v = video_end_new (vsock, room_port);
  gboolean red = sip_test_wait_until (got_red_frames, v, 60000);
  g_mutex_lock (&v->lock);
  g_test_message ("video: %" G_GUINT64_FORMAT " RTP packets, %" G_GUINT64_FORMAT
                  " frames back, centre %u/%u/%u",
                  v->rtp_in, v->frames, v->center[0], v->center[1], v->center[2]);
  g_mutex_unlock (&v->lock);
  g_assert_true (red);

  /* The status page sees the video leg both ways. */
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *p = find_participant (st, "sip:video@127.0.0.1"), *video = NULL, *n = NULL;
  g_assert_nonnull (p);
  g_assert_true (json_object_object_get_ex (p, "video", &video));
  g_assert_true (json_object_object_get_ex (video, "codec", &n));
  g_assert_cmpstr (json_object_get_string (n), ==, "VP8");
  g_assert_true (json_object_object_get_ex (video, "packets_in", &n));
  g_assert_cmpint (json_object_get_int64 (n), >, 0);
  g_assert_true (json_object_object_get_ex (video, "packets_out", &n));
  g_assert_cmpint (json_object_get_int64 (n), >, 0);

  g_assert_cmpint (uac_bye (&u), ==, 200);
  video_end_free (v);
  /* The audio-only caller was served throughout. */
  g_assert_cmpint (sip_test_sipp_wait (audio, 90000), ==, 0);
  CountWait none = { d, 0 };
  g_assert_true (sip_test_wait_until (count_is, &none, 30000));

  g_object_unref (u.sip);
  g_object_unref (u.focus);
  g_free (u.call_id);
  g_free (u.to_tag);
  g_free (u.route);
  g_free (u.target);
  g_free (u.answer);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/video/vp8-call-gets-grid", test_vp8_call_gets_grid);
  return g_test_run ();
}
