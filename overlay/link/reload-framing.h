/* reload-framing.h: the RELOAD link framing header (RFC 6940 §6.6.2–6.6.4).
 *
 * Every hop wraps a RELOAD message in a DATA frame (type 128, a 32-bit
 * per-connection sequence number starting at 0, a 24-bit length) and answers
 * each DATA frame with an ACK frame (type 129, ack_sequence + a 32-bit bitmap
 * of the 32 sequence numbers before it).  Over TLS/TCP the ACKs only serve to
 * measure the round-trip time (RFC 6298) and to notice a dead link.
 *
 * Everything here is pure computation on caller-owned buffers; no I/O.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DISCO_RELOAD_FRAME_DATA 128
#define DISCO_RELOAD_FRAME_ACK 129
#define DISCO_RELOAD_FRAME_DATA_HEADER_LEN 8 /* type + sequence + uint24 length */
#define DISCO_RELOAD_FRAME_ACK_LEN 9         /* type + ack_sequence + received */
#define DISCO_RELOAD_FRAME_MAX_PAYLOAD 0xFFFFFFu

#define DISCO_RELOAD_FRAMING_ERROR (disco_reload_framing_error_quark ())
GQuark disco_reload_framing_error_quark (void);

typedef enum
{
  DISCO_RELOAD_FRAMING_ERROR_BAD_TYPE,  /* neither DATA nor ACK: the stream is lost */
  DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE, /* DATA longer than the allowed maximum */
  DISCO_RELOAD_FRAMING_ERROR_TOO_SMALL, /* payload does not fit in 24 bits, etc. */
} DiscoReloadFramingError;

typedef struct
{
  guint8 type;           /* DISCO_RELOAD_FRAME_DATA or _ACK */
  guint32 sequence;      /* DATA: sequence; ACK: ack_sequence */
  guint32 received;      /* ACK only: the bitmap */
  gsize payload_len;     /* DATA only: the 24-bit length */
  const guint8 *payload; /* DATA only: points into the parsed buffer (borrowed) */
} DiscoReloadFrame;

/* Writes the 8-byte DATA header for a payload of @payload_len (must be
 * <= DISCO_RELOAD_FRAME_MAX_PAYLOAD). */
void disco_reload_frame_write_data_header (guint8 out[DISCO_RELOAD_FRAME_DATA_HEADER_LEN],
                                           guint32 sequence, gsize payload_len);
/* A whole DATA frame (header + copy of @payload) as new GBytes; NULL and
 * @error when the payload is too large for the 24-bit length. */
GBytes *disco_reload_frame_encode_data (guint32 sequence, const guint8 *payload, gsize payload_len,
                                        GError **error);
void disco_reload_frame_write_ack (guint8 out[DISCO_RELOAD_FRAME_ACK_LEN], guint32 ack_sequence,
                                   guint32 received);

/* Parses one frame at the start of @buf.
 * Returns the number of bytes the frame occupies (> 0) and fills @frame;
 * 0 when @buf holds only part of a frame (call again with more bytes);
 * -1 with @error on a bad type or when a DATA frame announces more than
 * @max_payload bytes.  In the TOO_LARGE case @frame still holds the type,
 * sequence and announced payload_len (payload = NULL), so the caller can
 * answer Error_Message_Too_Large before closing. */
gssize disco_reload_frame_parse (const guint8 *buf, gsize len, gsize max_payload,
                                 DiscoReloadFrame *frame, GError **error);

/* Receiver side: remembers the last 32 sequence numbers received and builds
 * the ACK for each.  @received covers the 32 sequence numbers preceding
 * ack_sequence: bit k (value 1u << k, k = 0..31) is set when sequence
 * ack_sequence - 1 - k was received.  RFC 6940 §6.6.3.2 leaves the bit
 * order open; this is the reading of Wireshark's reload-framing dissector
 * (checked in tests/overlay/wire/test-tshark.c: "Acked Frames"). */
typedef struct
{
  gboolean any;    /* anything received yet */
  guint32 highest; /* highest sequence received (serial-number order) */
  guint64 window;  /* bit k: highest - k received, k = 0..63 */
} DiscoReloadAckTracker;

void disco_reload_ack_tracker_init (DiscoReloadAckTracker *tracker);
/* Sender side of the same convention: does an ACK (@ack_sequence,
 * @received) acknowledge @sequence? */
gboolean disco_reload_ack_covers (guint32 ack_sequence, guint32 received, guint32 sequence);
/* Records @sequence and returns the bitmap to put in its ACK.  Sets
 * *@duplicate (optional) to TRUE when @sequence was already in the window. */
guint32 disco_reload_ack_tracker_receive (DiscoReloadAckTracker *tracker, guint32 sequence,
                                          gboolean *duplicate);

/* Sender side: RFC 6298 round-trip estimation from ACKs.  Times are in
 * microseconds (g_get_monotonic_time()); RTO is clamped to
 * [DISCO_RELOAD_RTO_MIN_US, DISCO_RELOAD_RTO_MAX_US]. */
#define DISCO_RELOAD_RTO_INITIAL_US                                                                \
  (500 * G_TIME_SPAN_MILLISECOND) /* RFC 6940 §6.6.3.1 static RTO */
#define DISCO_RELOAD_RTO_MIN_US (200 * G_TIME_SPAN_MILLISECOND)
#define DISCO_RELOAD_RTO_MAX_US (60 * G_TIME_SPAN_SECOND)
#define DISCO_RELOAD_RTT_PENDING 64 /* unacked DATA frames whose send time we keep */

typedef struct
{
  guint32 sequence;
  gint64 sent_us;
} DiscoReloadRttPending;

typedef struct
{
  gboolean have_sample;
  gint64 srtt_us;
  gint64 rttvar_us;
  gint64 rto_us;
  gint64 last_sample_us;
  guint64 samples;
  guint64 acked;
  /* ring of frames sent and not yet acked */
  DiscoReloadRttPending pending[DISCO_RELOAD_RTT_PENDING];
  guint pending_head;
  guint pending_count;
} DiscoReloadRtt;

void disco_reload_rtt_init (DiscoReloadRtt *rtt);
/* Notes that DATA frame @sequence left at @now_us. */
void disco_reload_rtt_sent (DiscoReloadRtt *rtt, guint32 sequence, gint64 now_us);
/* Processes an ACK received at @now_us.  The frame named by ack_sequence
 * gives an RTT sample; frames named in the bitmap are only marked acked
 * (their ACKs were evidently lost or merged, so their timing is unreliable).
 * Returns the number of pending frames this ACK acknowledged. */
guint disco_reload_rtt_ack (DiscoReloadRtt *rtt, guint32 ack_sequence, guint32 received,
                            gint64 now_us);
/* Adds one RTT measurement (RFC 6298 §2.2/2.3). */
void disco_reload_rtt_sample (DiscoReloadRtt *rtt, gint64 sample_us);
/* Send time of the oldest unacked frame, or -1. */
gint64 disco_reload_rtt_oldest_unacked (const DiscoReloadRtt *rtt);

G_END_DECLS
