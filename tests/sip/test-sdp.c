/* test-sdp.c: the focus's SDP offer/answer (sdp-answer.c) on real offers. */
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <string.h>

#include "sdp-answer.h"

static const DiscoSdpLocal local = { "127.0.0.1", 40000, 42, 1 };

static const char *const baresip_offer
    = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 10000 RTP/AVP 96 9 0 8 101\r\n"
      "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1;useinbandfec=1\r\n"
      "a=rtpmap:101 telephone-event/48000\r\na=fmtp:101 0-15\r\n"
      "a=rtcp-mux\r\na=ptime:20\r\na=sendrecv\r\na=ssrc:1234 cname:x\r\n"
      "m=video 10002 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n";

static void
test_opus_and_video (void)
{
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  g_autofree char *ans
      = disco_sdp_answer (baresip_offer, strlen (baresip_offer), &local, &m, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ans);
  g_assert_cmpint (m.codec, ==, DISCO_SDP_CODEC_OPUS);
  g_assert_cmpuint (m.payload_type, ==, 96);
  g_assert_cmpint (m.telephone_event_pt, ==, 101);
  g_assert_true (m.opus_fec);
  g_assert_true (m.rtcp_mux);
  g_assert_true (m.send && m.recv && !m.on_hold);
  g_assert_true (m.video_offered);
  g_assert_cmpuint (m.ssrc, ==, 1234);
  g_assert_cmpstr (m.remote_address, ==, "127.0.0.1");
  g_assert_cmpuint (m.remote_rtp_port, ==, 10000);
  /* The answer, read back with GstSDPMessage. */
  GstSDPMessage *a;
  gst_sdp_message_new_from_text (ans, &a);
  g_assert_cmpuint (gst_sdp_message_medias_len (a), ==, 2);
  const GstSDPMedia *audio = gst_sdp_message_get_media (a, 0);
  g_assert_cmpuint (gst_sdp_media_get_port (audio), ==, 40000);
  g_assert_cmpstr (gst_sdp_media_get_format (audio, 0), ==, "96");
  g_assert_cmpstr (gst_sdp_media_get_format (audio, 1), ==, "101");
  g_assert_nonnull (gst_sdp_media_get_attribute_val (audio, "rtcp-mux"));
  const GstSDPMedia *video = gst_sdp_message_get_media (a, 1);
  g_assert_cmpstr (gst_sdp_media_get_media (video), ==, "video");
  g_assert_cmpuint (gst_sdp_media_get_port (video), ==, 0);
  g_assert_cmpstr (gst_sdp_message_get_origin (a)->addr, ==, "127.0.0.1");
  gst_sdp_message_free (a);
  disco_sdp_media_clear (&m);
}

/* With a video room: VP8 and H.264 (mode 1) accepted on the room's port,
 * H.264 mode 0 and unknown video codecs declined, audio untouched. */
static void
check_video (const char *video_lines, DiscoSdpVideoCodec codec, guint pt, gboolean send,
             gboolean recv)
{
  static const DiscoSdpLocal with_video = { "127.0.0.1", 40000, 42, 1, 40002 };
  g_autofree char *offer
      = g_strconcat ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                     "m=audio 10000 RTP/AVP 0\r\n",
                     video_lines, NULL);
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_sdp_offers_video (offer, strlen (offer)));
  g_autofree char *ans = disco_sdp_answer (offer, strlen (offer), &with_video, &m, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m.codec, ==, DISCO_SDP_CODEC_PCMU);
  g_assert_cmpint (m.video_codec, ==, codec);
  GstSDPMessage *a;
  gst_sdp_message_new_from_text (ans, &a);
  g_assert_cmpuint (gst_sdp_message_medias_len (a), ==, 2);
  g_assert_cmpuint (gst_sdp_media_get_port (gst_sdp_message_get_media (a, 0)), ==, 40000);
  const GstSDPMedia *v = gst_sdp_message_get_media (a, 1);
  if (codec == DISCO_SDP_VIDEO_NONE)
    {
      g_assert_cmpuint (gst_sdp_media_get_port (v), ==, 0);
      g_assert_cmpuint (m.rejected_streams, ==, 1);
    }
  else
    {
      g_assert_cmpuint (gst_sdp_media_get_port (v), ==, 40002);
      g_assert_cmpuint (m.video_payload_type, ==, pt);
      g_assert_cmpuint (m.video_remote_port, ==, 10002);
      g_assert_cmpstr (m.video_remote_address, ==, "127.0.0.1");
      g_assert_cmpint (m.video_send, ==, send);
      g_assert_cmpint (m.video_recv, ==, recv);
      g_assert_cmpuint (m.rejected_streams, ==, 0);
      g_autofree char *fmt = g_strdup_printf ("%u", pt);
      g_assert_cmpstr (gst_sdp_media_get_format (v, 0), ==, fmt);
      g_assert_nonnull (gst_sdp_media_get_attribute_val (v, "rtcp-mux"));
      GstCaps *caps = gst_sdp_media_get_caps_from_media (v, (gint)pt);
      g_assert_nonnull (caps);
      g_assert_cmpstr (gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name"),
                       ==, disco_sdp_video_codec_name (codec));
      gst_caps_unref (caps);
    }
  gst_sdp_message_free (a);
  disco_sdp_media_clear (&m);
}

static void
test_video (void)
{
  check_video ("m=video 10002 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n", DISCO_SDP_VIDEO_VP8, 97,
               TRUE, TRUE);
  /* The offerer's order: the first supported codec wins. */
  check_video ("m=video 10002 RTP/AVP 98 100 96\r\na=rtpmap:98 H265/90000\r\n"
               "a=rtpmap:100 H264/90000\r\na=fmtp:100 profile-level-id=42e01f;"
               "packetization-mode=1\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n",
               DISCO_SDP_VIDEO_H264, 100, TRUE, FALSE);
  /* H.264 without packetization-mode=1 (mode 0) is not what the room sends. */
  check_video ("m=video 10002 RTP/AVP 100\r\na=rtpmap:100 H264/90000\r\n"
               "a=fmtp:100 profile-level-id=42e01f\r\n",
               DISCO_SDP_VIDEO_NONE, 0, FALSE, FALSE);
  check_video ("m=video 10002 RTP/AVP 98\r\na=rtpmap:98 H265/90000\r\n", DISCO_SDP_VIDEO_NONE, 0,
               FALSE, FALSE);
  /* PT 64-95 would collide with muxed RTCP: skipped. */
  check_video ("m=video 10002 RTP/AVP 72 96\r\na=rtpmap:72 VP8/90000\r\na=rtpmap:96 VP8/90000\r\n"
               "a=sendonly\r\n",
               DISCO_SDP_VIDEO_VP8, 96, FALSE, TRUE);

  /* Video alone is not enough: audio is what the conference is about. */
  static const DiscoSdpLocal with_video = { "127.0.0.1", 40000, 42, 1, 40002 };
  const char *video_only = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                           "t=0 0\r\nm=video 10002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n";
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  g_assert_null (disco_sdp_answer (video_only, strlen (video_only), &with_video, &m, &error));
  g_assert_error (error, DISCO_SDP_ERROR, DISCO_SDP_ERROR_NO_AUDIO);
  g_assert_false (disco_sdp_offers_video ("garbage", 7));
}

static void
check_answer (const char *offer, DiscoSdpCodec codec, guint pt, gboolean send, gboolean recv,
              gboolean hold)
{
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  g_autofree char *ans = disco_sdp_answer (offer, strlen (offer), &local, &m, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m.codec, ==, codec);
  g_assert_cmpuint (m.payload_type, ==, pt);
  g_assert_cmpint (m.send, ==, send);
  g_assert_cmpint (m.recv, ==, recv);
  g_assert_cmpint (m.on_hold, ==, hold);
  disco_sdp_media_clear (&m);
}

static void
test_codecs_and_hold (void)
{
  /* Static payload types without rtpmap; the offerer's order wins. */
  check_answer ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 5000 RTP/AVP 8 0\r\n",
                DISCO_SDP_CODEC_PCMA, 8, TRUE, TRUE, FALSE);
  check_answer ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 5000 RTP/AVP 18 9\r\na=rtpmap:18 G729/8000\r\na=sendonly\r\n",
                DISCO_SDP_CODEC_G722, 9, FALSE, TRUE, TRUE);
  check_answer ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                "m=audio 5000 RTP/AVP 0\r\n",
                DISCO_SDP_CODEC_PCMU, 0, FALSE, TRUE, TRUE);
  check_answer ("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "a=recvonly\r\nm=audio 5000 RTP/AVP 0\r\n",
                DISCO_SDP_CODEC_PCMU, 0, TRUE, FALSE, FALSE);
}

static void
expect_error (const char *offer, gsize len, int code)
{
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  char *ans = disco_sdp_answer (offer, len, &local, &m, &error);
  g_assert_null (ans);
  g_assert_error (error, DISCO_SDP_ERROR, code);
}

static void
test_rejections (void)
{
  const char *only_unknown = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                             "t=0 0\r\nm=audio 5000 RTP/AVP 18 97\r\na=rtpmap:18 G729/8000\r\n"
                             "a=rtpmap:97 AMR/8000\r\n";
  expect_error (only_unknown, strlen (only_unknown), DISCO_SDP_ERROR_NO_CODEC);
  const char *srtp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                     "t=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n";
  expect_error (srtp, strlen (srtp), DISCO_SDP_ERROR_NO_AUDIO);
  const char *video = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\n"
                      "t=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
  expect_error (video, strlen (video), DISCO_SDP_ERROR_NO_AUDIO);
  const char *garbage = "\x01\x02 hello <xml/> m=audio";
  expect_error (garbage, strlen (garbage), DISCO_SDP_ERROR_MALFORMED);
  expect_error ("", 0, DISCO_SDP_ERROR_MALFORMED);
  const char *no_c = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
  expect_error (no_c, strlen (no_c), DISCO_SDP_ERROR_MALFORMED);
  /* Huge payload type numbers, ports and a truncated rtpmap. */
  const char *odd = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                    "m=audio 99999 RTP/AVP 4294967297 -1 abc\r\na=rtpmap:\r\n";
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  char *ans = disco_sdp_answer (odd, strlen (odd), &local, &m, &error);
  g_assert_null (ans);
  g_assert_nonnull (error);
}

static void
test_offer_roundtrip (void)
{
  g_autofree char *offer = disco_sdp_offer (&local);
  DiscoSdpMedia m;
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_sdp_parse_answer (offer, strlen (offer), &m, &error));
  g_assert_cmpint (m.codec, ==, DISCO_SDP_CODEC_OPUS);
  g_assert_cmpuint (m.remote_rtp_port, ==, 40000);
  g_assert_cmpint (m.telephone_event_pt, ==, 97);
  disco_sdp_media_clear (&m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/sdp/video", test_video);
  g_test_add_func ("/sip/sdp/opus-and-video", test_opus_and_video);
  g_test_add_func ("/sip/sdp/codecs-and-hold", test_codecs_and_hold);
  g_test_add_func ("/sip/sdp/rejections", test_rejections);
  g_test_add_func ("/sip/sdp/offer-roundtrip", test_offer_roundtrip);
  return g_test_run ();
}
