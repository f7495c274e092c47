/* disco-video-room.h: per-conference composed video (MCU) for a DisCo focus.
 *
 * One DiscoVideoRoom is one GStreamer pipeline around one `compositor` whose
 * output caps are FIXED (DiscoVideoLayoutConfig: I420, width x height @ fps),
 * so joins and leaves never renegotiate the canvas.  Video is an optional
 * extra per participant: audio stays in DiscoMediaRoom, and a participant
 * with no video simply never appears here.
 *
 * Layout: every participant added with recv=TRUE ("sender": the room
 * receives its video) owns one grid cell, in join order.  The grid is
 * recomputed on every add/remove (cols = ceil(sqrt(n)), an incomplete last
 * row is centred); pictures keep their aspect ratio inside the cell.  The
 * canvas is black where no picture is (and entirely while nobody sends).
 * Everyone sees the same layout, including their own picture.
 *
 * Encoding: ONE encoder per codec for the whole layout, created when the
 * first receiver (send=TRUE) of that codec joins and dropped when the last
 * leaves.  Its RTP packets are fanned out to every receiver of that codec by
 * rewriting SSRC, sequence number, timestamp and payload type per receiver
 * (one payloader, per-receiver header rewrite), sent from the shared socket.
 * A new receiver forces a key frame on its encoder and gets nothing until
 * the next key frame starts, so its first packet is decodable.  RTCP PLI or
 * FIR (RFC 4585/5104) from a receiver also forces a key frame.
 *
 * Transport: the room binds ONE UDP socket (bind_address, ephemeral port)
 * for all participants, RTP and RTCP muxed (RFC 5761).  Packets are
 * demultiplexed by exact remote address (IP+port) = remote_rtp; anything
 * else is counted and dropped.  Any SSRC from that address is accepted.
 * When a sender's depayloader misses a key frame the room sends it an RTCP
 * PLI (at most every 500 ms).
 *
 * Threads: udpsrc 1, background source 1, compositor 1 (plus its blend
 * workers, at most one per core), per encoder 1 (its queue; encoders and
 * decoders run single-threaded), per sender 2 (jitter buffer output and
 * timer).  Receivers cost no thread and no element.
 *
 * Threading: every function must be called from the thread that runs the
 * default GMainContext (the room installs a bus watch there).
 *
 * Ownership: strings and addresses passed in are copied/ref'd; the caller
 * keeps its own references.  Stats structs are plain values filled in.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISCO_VIDEO_ROOM_ERROR (disco_video_room_error_quark ())
GQuark disco_video_room_error_quark (void);

typedef enum
{
  DISCO_VIDEO_ROOM_ERROR_FAILED,        /* GStreamer/socket failure */
  DISCO_VIDEO_ROOM_ERROR_INVALID,       /* bad parameters */
  DISCO_VIDEO_ROOM_ERROR_EXISTS,        /* id already in the room */
  DISCO_VIDEO_ROOM_ERROR_NOT_FOUND,     /* no such participant */
  DISCO_VIDEO_ROOM_ERROR_MISSING_PLUGIN /* codec element not installed */
} DiscoVideoRoomError;

typedef enum
{
  DISCO_VIDEO_CODEC_VP8, /* RFC 7741, clock 90000 */
  DISCO_VIDEO_CODEC_H264 /* RFC 6184 packetization-mode=1, constrained baseline */
} DiscoVideoCodec;

/* "VP8", "H264"; NULL for out-of-range values. */
const char *disco_video_codec_to_string (DiscoVideoCodec codec);
/* Case-insensitive SDP encoding name -> codec; FALSE if unsupported. */
gboolean disco_video_codec_from_string (const char *name, DiscoVideoCodec *codec);

typedef struct
{
  guint width, height;       /* canvas, even, 32..1920 x 32..1088 */
  guint fps;                 /* 1..60 */
  guint bitrate_kbps;        /* 0: width*height*fps/10000 (1.4 Mb/s at 720p15) */
  guint keyframe_interval_s; /* periodic key frames; 0: 10 s */
  /* Benchmark baseline only: one encoder per receiver (what the room is
   * designed to avoid).  Never set it in production. */
  gboolean encode_per_receiver;
} DiscoVideoLayoutConfig;

typedef struct
{
  DiscoVideoCodec codec;
  guint8 payload_type;            /* 0..63 or 96..127 (RTCP mux) */
  GInetSocketAddress *remote_rtp; /* required, borrowed (ref'd by the room) */
  gboolean send;                  /* the room sends the composed video */
  gboolean recv;                  /* the room shows this participant's video */
} DiscoVideoParticipantParams;

typedef struct
{
  gint x, y, width, height;
} DiscoVideoRect;

typedef struct
{
  guint64 packets_in, bytes_in;   /* RTP accepted from this participant */
  guint64 packets_out, bytes_out; /* RTP sent to this participant */
  guint64 frames_in;              /* decoded frames that reached the compositor */
  guint64 plis_sent;              /* key frame requests sent to this sender */
  guint64 keyframe_requests;      /* PLI/FIR/API requests by this receiver */
  gboolean has_cell;
  DiscoVideoRect cell; /* valid if has_cell */
} DiscoVideoParticipantStats;

typedef struct
{
  guint participants;
  guint senders;           /* participants with a cell */
  guint receivers;         /* participants the room sends to */
  guint layout_cells;      /* cells of the current grid (cols * rows) */
  guint encoders_in_use;   /* video encoder elements present in the pipeline */
  guint64 frames_in;       /* decoded frames into the compositor, all senders */
  guint64 frames_out;      /* composed frames */
  guint64 frames_encoded;  /* encoded frames, all encoders */
  guint64 dropped_packets; /* unknown address, malformed, unnegotiated PT */
} DiscoVideoRoomStats;

typedef struct _DiscoVideoRoom DiscoVideoRoom;

/* Binds the socket (port 0 = ephemeral) on @bind_address (numeric IPv4/IPv6)
 * and sets the pipeline PLAYING; the canvas is composed from then on. */
DiscoVideoRoom *disco_video_room_new (const char *name, const char *bind_address,
                                      const DiscoVideoLayoutConfig *layout, GError **error);
void disco_video_room_free (DiscoVideoRoom *room);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoVideoRoom, disco_video_room_free)

const char *disco_video_room_get_name (DiscoVideoRoom *room);
guint16 disco_video_room_get_rtp_port (DiscoVideoRoom *room);

/* @id copied.  EXISTS if taken, INVALID if @p is incomplete or its address
 * is used by another participant, MISSING_PLUGIN if the codec's elements
 * are not installed. */
gboolean disco_video_room_add_participant (DiscoVideoRoom *room, const char *id,
                                           const DiscoVideoParticipantParams *p, GError **error);
/* No-op for unknown ids. */
void disco_video_room_remove_participant (DiscoVideoRoom *room, const char *id);
gboolean disco_video_room_has_participant (DiscoVideoRoom *room, const char *id);

/* Receiver: forces a key frame on the encoder serving @id.  Sender: sends
 * it an RTCP PLI (once its SSRC is known).  NOT_FOUND if unknown. */
gboolean disco_video_room_request_keyframe (DiscoVideoRoom *room, const char *id, GError **error);

/* FALSE (and @out untouched) if @id is unknown. */
gboolean disco_video_room_get_participant_stats (DiscoVideoRoom *room, const char *id,
                                                 DiscoVideoParticipantStats *out);
void disco_video_room_get_stats (DiscoVideoRoom *room, DiscoVideoRoomStats *out);

G_END_DECLS
