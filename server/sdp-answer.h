/* sdp-answer.h: SDP offer/answer for the focus (RFC 3264), on GstSDPMessage.
 *
 * The focus offers and accepts one audio stream: Opus, G.722, PCMU or PCMA
 * plus telephone-event, and one VP8 or H.264 video stream when the caller
 * gives it a video port (DiscoSdpLocal.video_port, the conference's video
 * room).  Other streams, and video while there is no video room, are
 * answered with port 0.  Audio is required: a video-only offer gets
 * DISCO_SDP_ERROR_NO_AUDIO.  SDP is never parsed by hand:
 * GstSDPMessage does the parsing, gst_sdp_media_get_caps_from_media() the
 * rtpmap/fmtp interpretation.
 *
 * Ownership: every returned string is newly allocated; DiscoSdpMedia owns
 * its strings (clear it with disco_sdp_media_clear()).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DISCO_SDP_ERROR (disco_sdp_error_quark ())
GQuark disco_sdp_error_quark (void);

typedef enum
{
  DISCO_SDP_ERROR_MALFORMED, /* not SDP, or required lines missing */
  DISCO_SDP_ERROR_NO_AUDIO,  /* no acceptable audio stream */
  DISCO_SDP_ERROR_NO_CODEC,  /* audio offered, but only codecs we lack */
} DiscoSdpError;

typedef enum
{
  DISCO_SDP_VIDEO_NONE = 0,
  DISCO_SDP_VIDEO_VP8,  /* RFC 7741 */
  DISCO_SDP_VIDEO_H264, /* RFC 6184, packetization-mode=1 only */
} DiscoSdpVideoCodec;

typedef enum
{
  DISCO_SDP_CODEC_NONE = 0,
  DISCO_SDP_CODEC_OPUS,
  DISCO_SDP_CODEC_PCMU,
  DISCO_SDP_CODEC_PCMA,
  DISCO_SDP_CODEC_G722,
} DiscoSdpCodec;

/* The negotiated audio stream, seen from the focus. */
typedef struct
{
  DiscoSdpCodec codec;
  guint payload_type;
  int telephone_event_pt; /* -1 when not negotiated */
  char *remote_address;   /* where to send RTP; NULL when on hold with 0.0.0.0 */
  guint remote_rtp_port;
  guint remote_rtcp_port; /* a=rtcp or rtp+1 */
  guint ptime_ms;
  gboolean opus_fec;
  gboolean rtcp_mux;      /* the peer offered a=rtcp-mux (RFC 5761) */
  gboolean send;          /* focus sends media to the participant */
  gboolean recv;          /* focus receives media from the participant */
  gboolean on_hold;       /* the participant put the call on hold */
  char *label;            /* a=label of the audio stream, or NULL */
  guint32 ssrc;           /* first a=ssrc of the audio stream, 0 if none */
  guint rejected_streams; /* m-lines answered with port 0 (video, ...) */
  gboolean video_offered;
  /* The accepted video stream; video_codec NONE when none was accepted. */
  DiscoSdpVideoCodec video_codec;
  guint video_payload_type;
  char *video_remote_address; /* NULL when on hold with 0.0.0.0 */
  guint video_remote_port;
  gboolean video_send; /* focus sends the composed grid */
  gboolean video_recv; /* focus shows the participant's video */
} DiscoSdpMedia;

/* What the focus puts into its own SDP. */
typedef struct
{
  const char *address; /* c= and o= address (the RTP bind address) */
  guint port;          /* the media room's shared RTP port */
  guint64 session_id;
  guint64 session_version;
  guint video_port; /* the video room's RTP port; 0 declines video */
} DiscoSdpLocal;

const char *disco_sdp_codec_name (DiscoSdpCodec codec);
/* "VP8", "H264", "none". */
const char *disco_sdp_video_codec_name (DiscoSdpVideoCodec codec);

/* TRUE if @offer parses and has a video m-line with a non-zero port (the
 * caller then makes sure a video room exists before answering). */
gboolean disco_sdp_offers_video (const char *offer, gsize len);

/* Answers @offer.  Returns the answer text and fills @out, or NULL with
 * DISCO_SDP_ERROR set (the caller answers 488). */
char *disco_sdp_answer (const char *offer, gsize len, const DiscoSdpLocal *local,
                        DiscoSdpMedia *out, GError **error);

/* An offer listing every codec we support (dial-out, late offer). */
char *disco_sdp_offer (const DiscoSdpLocal *local);

/* Reads the answer to disco_sdp_offer(). */
gboolean disco_sdp_parse_answer (const char *answer, gsize len, DiscoSdpMedia *out, GError **error);

void disco_sdp_media_clear (DiscoSdpMedia *media);

G_END_DECLS
