/* disco-video-codec.h: internal; per-codec GStreamer chains and RTP payload
 * inspection for DiscoVideoRoom.
 *
 * The bin builders return a new floating GstBin with ghost "sink" and "src"
 * pads, or NULL with @error set (MISSING_PLUGIN when an element is not
 * installed).
 */
#pragma once

#include "disco-video-room.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define DISCO_VIDEO_CLOCK_RATE 90000

/* Caps of incoming RTP of @codec with payload type @pt (transfer full). */
GstCaps *disco_video_codec_rtp_caps (DiscoVideoCodec codec, guint8 pt);

/* RTP -> jitter buffer ("jb", @jitter_ms) -> depayloader (waits for and
 * requests key frames upstream) -> decoder (ignores corrupt frames) -> raw
 * video in whatever size the sender chose. */
GstElement *disco_video_codec_decode_bin (DiscoVideoCodec codec, guint jitter_ms, GError **error);

/* Raw I420 -> leaky queue -> realtime encoder ("enc") -> payloader (RTP with
 * placeholder SSRC/PT, timestamp and sequence offsets 0; the fan-out
 * rewrites them per receiver). */
GstElement *disco_video_codec_encode_bin (DiscoVideoCodec codec, guint fps, guint bitrate_kbps,
                                          guint keyframe_interval_s, GError **error);

/* TRUE if the RTP packet @rtp starts a key frame of @codec (VP8: first
 * partition of a key frame; H.264: SPS, alone or in a STAP-A, which the
 * payloader sends before every IDR).  Malformed packets give FALSE. */
gboolean disco_video_codec_rtp_starts_keyframe (DiscoVideoCodec codec, const guint8 *rtp,
                                                gsize len);

G_END_DECLS
