/* disco-media-codec.h: internal; per-codec GStreamer chains of DiscoMediaRoom.
 *
 * Both builders return a new floating GstBin with one ghost "sink" and one
 * ghost "src" pad, or NULL with @error set (MISSING_PLUGIN when an element is
 * not installed).
 */
#pragma once

#include "disco-media-room.h"

#include <gst/gst.h>

G_BEGIN_DECLS

/* RTP clock rate of @codec (G.722 is 8000 per RFC 3551). */
guint disco_media_codec_clock_rate (DiscoMediaCodec codec);
/* Sample rate the codec encodes/decodes at. */
guint disco_media_codec_audio_rate (DiscoMediaCodec codec);
/* New caps for incoming RTP of @codec with payload type @pt (transfer full). */
GstCaps *disco_media_codec_rtp_caps (DiscoMediaCodec codec, guint8 pt);
/* TRUE if @ptime_ms (already defaulted) is usable with @codec. */
gboolean disco_media_codec_ptime_valid (DiscoMediaCodec codec, guint ptime_ms);

/* RTP (sink, caps from disco_media_codec_rtp_caps, in playout order) ->
 * depayloader -> decoder -> S16LE mono @mix_rate (src).  No element in it
 * has a thread: whoever pushes into "sink" runs the decode.  Send a
 * "GstRTPPacketLost" custom downstream event for a lost packet. */
GstElement *disco_media_codec_decode_bin (DiscoMediaCodec codec, gboolean opus_fec, guint mix_rate,
                                          GError **error);

/* S16LE mono @mix_rate (sink) -> encoder -> payloader (src: RTP with a
 * placeholder SSRC/PT; the fan-out rewrites both).  @mix_quality: a higher
 * Opus bitrate for cascade legs (64 instead of 48 kb/s). */
GstElement *disco_media_codec_encode_bin (DiscoMediaCodec codec, guint ptime_ms, gboolean opus_fec,
                                          gboolean mix_quality, guint mix_rate, GError **error);

G_END_DECLS
