/* video-peer.h: a test participant for DiscoVideoRoom tests and the bench.
 *
 * One GStreamer pipeline on one loopback UDP socket: optionally sends a
 * solid colour (VP8 or H.264, RTP) to the room, and optionally decodes what
 * the room sends back into RGB frames.  RTCP from the room is counted and
 * dropped; a PLI forces a key frame on the peer's encoder.  Main-thread API; media on GStreamer
 * threads.
 */
#pragma once

#include "disco-video-room.h"

G_BEGIN_DECLS

typedef struct
{
  DiscoVideoCodec codec;
  guint8 payload_type;
  GInetSocketAddress *room; /* where to send; borrowed */
  gint color;               /* 0xRRGGBB to send, -1: send nothing */
  const char *pattern;      /* videotestsrc pattern instead of the colour (bench) */
  guint width, height, fps; /* of the sent video */
  guint keyframe_s;         /* sender key frame interval, seconds */
  gboolean decode;          /* decode what arrives (else only count packets) */
} VideoPeerParams;

typedef struct _VideoPeer VideoPeer;

VideoPeer *video_peer_new (const VideoPeerParams *p, GError **error);
void video_peer_free (VideoPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VideoPeer, video_peer_free)

/* The peer's socket address (its remote_rtp for the room); transfer none. */
GInetSocketAddress *video_peer_get_address (VideoPeer *peer);

/* Decoded frames so far. */
guint64 video_peer_frames (VideoPeer *peer);
/* RTP/RTCP packets received so far. */
guint64 video_peer_rtp_packets (VideoPeer *peer);
guint64 video_peer_rtcp_packets (VideoPeer *peer);
/* RTCP PLIs received; each one forced a key frame on the peer's encoder. */
guint64 video_peer_plis (VideoPeer *peer);
/* TRUE once a packet arrived; *keyframe tells whether the first RTP packet
 * started a key frame (own parser, independent of the room's). */
gboolean video_peer_first_packet (VideoPeer *peer, gboolean *keyframe);
/* RGB of the last decoded frame at (x, y); FALSE if no frame or outside. */
gboolean video_peer_pixel (VideoPeer *peer, guint x, guint y, guint8 rgb[3], guint *w, guint *h);

/* TRUE if RTP packet @d starts a key frame (VP8 partition 0 of a key frame,
 * H.264 SPS alone or first in a STAP-A). */
gboolean video_peer_rtp_starts_keyframe (DiscoVideoCodec codec, const guint8 *d, gsize n);

G_END_DECLS
