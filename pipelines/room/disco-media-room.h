/* disco-media-room.h: per-conference audio media for a DisCo focus peer.
 *
 * One DiscoMediaRoom is one GStreamer pipeline around one `discomixer`.
 *
 * Transport (what the SIP side puts in SDP):
 *  - The room binds ONE UDP socket (bind_address, ephemeral port).  Every
 *    participant's audio AND every cascade leg use it.  RTP and RTCP are
 *    muxed on that port (RFC 5761): answer with "a=rtcp-mux" and
 *    "a=rtcp:<port>"; RTCP (payload types 200-204) arriving on it is consumed
 *    and never mixed.  The room sends no RTCP.
 *  - Incoming packets are demultiplexed by exact remote source address
 *    (IP+port): remote_rtp (RTP or muxed RTCP) or remote_rtcp.  Packets from
 *    any other address are dropped (no latching: a stranger on the same IP
 *    must not hijack a participant).  Any SSRC from that address is accepted
 *    (a re-INVITE or restart may change it).
 *  - Every listener (participant or cascade leg) gets its own SSRC, sequence
 *    and timestamp space; the payload type is the one negotiated for it.
 *  - telephone-event (RFC 4733) packets on telephone_event_pt are dropped
 *    (DISCO_MEDIA_TELEPHONE_EVENT_IGNORE) or, with
 *    DISCO_MEDIA_TELEPHONE_EVENT_PASSTHROUGH, forwarded to every other
 *    participant that negotiated telephone-event (telephone_event_pt >= 0,
 *    sending, not deaf; not to cascade legs).  A forwarded event is
 *    rewritten into the listener's own SSRC, sequence and timestamp space
 *    (its timestamp is the room's time when the event began; durations are
 *    rescaled to the listener's RTP clock) and its payload type.  A muted
 *    participant's events are not forwarded.
 *
 * Mixing: non-talking listeners that share a codec configuration (codec,
 * ptime, opus_fec) share ONE encode of the full mix; a participant the mixer
 * reports as talking gets a private mix-minus encode.  Switching is invisible
 * at RTP level.  G.722 listeners never switch (an ADPCM decoder cannot
 * follow a switch between encoder instances): they always get the shared
 * full mix, so for now a talking G.722 participant hears itself.
 *
 * Cascade legs connect rooms of the same conference on different focus peers
 * (full mesh: every room has a leg to every other room).  A leg sends this
 * room's participants-only ("local") mix to the peer and mixes the peer's
 * local mix in as a cascade input; cascade input is never sent back.
 *
 * Codecs sent: Opus complexity 5, CELT, 48 kb/s to participants (64 kb/s on
 * cascade legs), in-band FEC if opus_fec; G.711/G.722 with ptime packets.
 * Incoming audio goes through a 40 ms reorder/playout buffer of the room's
 * own (loss detection, late packets dropped, delay bounded to 100 ms);
 * losses are concealed by opusdec (PLC, or in-band FEC when opus_fec).
 *
 * Threading: every function must be called from the thread that runs the
 * default GMainContext (the room installs a bus watch there; talker
 * switching needs that context to be iterated).  Media runs on three
 * threads per room, whatever the number of participants and legs: the UDP
 * receive thread (demux into per-member reorder buffers), the pump (every
 * 20 ms: decode each member, hand 20 ms to the mixer) and the mixer/encoder
 * thread.  add/remove/update may block the caller for up to about one
 * mixer tick (20 ms) while a participant's branch is stopped.
 *
 * Ownership: strings and addresses passed in are copied/ref'd; the caller
 * keeps its own references.  Stats structs are plain values filled in.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISCO_MEDIA_ROOM_ERROR (disco_media_room_error_quark ())
GQuark disco_media_room_error_quark (void);

typedef enum
{
  DISCO_MEDIA_ROOM_ERROR_FAILED,        /* GStreamer/socket failure */
  DISCO_MEDIA_ROOM_ERROR_INVALID,       /* bad parameters (PT, address, ptime...) */
  DISCO_MEDIA_ROOM_ERROR_EXISTS,        /* id already in the room */
  DISCO_MEDIA_ROOM_ERROR_NOT_FOUND,     /* no such participant / leg */
  DISCO_MEDIA_ROOM_ERROR_MISSING_PLUGIN /* codec element not installed */
} DiscoMediaRoomError;

typedef enum
{
  DISCO_MEDIA_CODEC_OPUS, /* 48000/2 in SDP, RTP clock 48000 */
  DISCO_MEDIA_CODEC_PCMU, /* 8000 */
  DISCO_MEDIA_CODEC_PCMA, /* 8000 */
  DISCO_MEDIA_CODEC_G722  /* 16 kHz audio, RTP clock 8000 (RFC 3551) */
} DiscoMediaCodec;

/* "OPUS", "PCMU", "PCMA", "G722"; NULL for out-of-range values. */
const char *disco_media_codec_to_string (DiscoMediaCodec codec);
/* Case-insensitive SDP encoding name -> codec; FALSE if unsupported. */
gboolean disco_media_codec_from_string (const char *name, DiscoMediaCodec *codec);

typedef enum
{
  DISCO_MEDIA_TELEPHONE_EVENT_IGNORE = 0,     /* drop received events */
  DISCO_MEDIA_TELEPHONE_EVENT_PASSTHROUGH = 1 /* forward them to the others */
} DiscoMediaTelephoneEventMode;

typedef struct
{
  DiscoMediaCodec codec;
  guint8 payload_type;                               /* 0..127 */
  gint telephone_event_pt;                           /* -1: none */
  GInetSocketAddress *remote_rtp;                    /* required, borrowed (ref'd by the room) */
  GInetSocketAddress *remote_rtcp;                   /* NULL: RTCP comes muxed from remote_rtp */
  guint ptime_ms;                                    /* 0 = 20; Opus only supports 20 */
  gboolean opus_fec;                                 /* decode with in-band FEC, encode with FEC */
  gboolean send;                                     /* the room sends audio to this participant */
  gboolean recv;                                     /* the room mixes this participant's audio */
  DiscoMediaTelephoneEventMode telephone_event_mode; /* for events it sends */
} DiscoMediaParticipantParams;

typedef struct
{
  guint64 packets_in, bytes_in;   /* RTP accepted from this participant */
  guint64 packets_out, bytes_out; /* RTP sent to this participant */
  guint64 packets_lost;           /* as seen by the jitter buffer */
  gdouble loss_fraction;          /* lost / (received + lost), 0..1 */
  gdouble jitter_ms;              /* jitter buffer's average jitter */
  gdouble level_db;               /* mixer input level, dBFS (-127 = silence) */
  gboolean talking;               /* mixer talker state */
  gboolean private_encoder;       /* currently served by a private mix-minus */
  guint64 events_in;              /* telephone-event packets received from it */
  guint64 events_out;             /* telephone-event packets forwarded to it */
} DiscoMediaParticipantStats;

typedef struct
{
  guint participants;
  guint cascade_legs;
  guint encoders_in_use; /* shared + private encoders currently encoding */
  guint64 tick_overruns; /* mix buffers that reached the output late */
} DiscoMediaRoomStats;

typedef struct _DiscoMediaRoom DiscoMediaRoom;

/* Registers the elements it needs, binds the socket (port 0 = ephemeral) on
 * @bind_address (numeric IPv4/IPv6) and sets the pipeline PLAYING.  The
 * mixer ticks even with no participant (idle rooms cost one 20 ms tick). */
DiscoMediaRoom *disco_media_room_new (const char *name, const char *bind_address, GError **error);
void disco_media_room_free (DiscoMediaRoom *room);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoMediaRoom, disco_media_room_free)

const char *disco_media_room_get_name (DiscoMediaRoom *room);
/* The one shared RTP(+RTCP mux) port for participants and cascade legs. */
guint16 disco_media_room_get_rtp_port (DiscoMediaRoom *room);
/* Same socket as get_rtp_port: cascade legs are demultiplexed by address. */
guint16 disco_media_room_get_cascade_port (DiscoMediaRoom *room);

/* @id: caller's key (e.g. the SIP dialog id), copied.  Fails with EXISTS if
 * @id is taken, INVALID if @p is incomplete.  Participants may share a
 * remote address: their RTP is then told apart by SSRC, each one latching
 * to the first SSRC not yet claimed (in the order they were added). */
gboolean disco_media_room_add_participant (DiscoMediaRoom *room, const char *id,
                                           const DiscoMediaParticipantParams *p, GError **error);
/* re-INVITE: hold (send/recv flags), new remote address, codec/PT change.
 * The participant keeps its outgoing SSRC/sequence space. */
gboolean disco_media_room_update_participant (DiscoMediaRoom *room, const char *id,
                                              const DiscoMediaParticipantParams *p, GError **error);
/* No-op for unknown ids. */
void disco_media_room_remove_participant (DiscoMediaRoom *room, const char *id);
gboolean disco_media_room_has_participant (DiscoMediaRoom *room, const char *id);

/* mute: others stop hearing @id; deaf: @id receives no audio; gain: linear
 * input gain 0..10 (1 = unchanged). */
gboolean disco_media_room_set_mute (DiscoMediaRoom *room, const char *id, gboolean mute,
                                    GError **error);
gboolean disco_media_room_set_deaf (DiscoMediaRoom *room, const char *id, gboolean deaf,
                                    GError **error);
gboolean disco_media_room_set_gain (DiscoMediaRoom *room, const char *id, gdouble gain,
                                    GError **error);

/* A leg to another focus's room of the same conference.  @remote is the
 * peer room's get_cascade_port() address; the peer must add the symmetric
 * leg with this room's address.  Use the same codec on both sides. */
gboolean disco_media_room_add_cascade_leg (DiscoMediaRoom *room, const char *peer_id,
                                           GInetSocketAddress *remote, DiscoMediaCodec codec,
                                           guint8 payload_type, GError **error);
void disco_media_room_remove_cascade_leg (DiscoMediaRoom *room, const char *peer_id);

/* FALSE (and @out untouched) if @id is unknown. Works for cascade peer ids too. */
gboolean disco_media_room_get_participant_stats (DiscoMediaRoom *room, const char *id,
                                                 DiscoMediaParticipantStats *out);
void disco_media_room_get_stats (DiscoMediaRoom *room, DiscoMediaRoomStats *out);

G_END_DECLS
