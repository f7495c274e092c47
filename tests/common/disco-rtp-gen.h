/* disco-rtp-gen.h: a test participant that talks real RTP over loopback.
 *
 * One GStreamer pipeline per participant: a live sine (or silence) is
 * encoded, payloaded and sent from ONE bound UDP socket to the room; what
 * comes back on the same socket is jitter-buffered, decoded to 48 kHz mono
 * S16 and recorded, and RTP header continuity (SSRC, sequence numbers) is
 * tracked.  Optional deterministic random loss on the sending side.
 *
 * Shared by the room tests and the room benchmarks; not thread-safe except
 * where noted (media runs on GStreamer threads).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char *codec; /* "OPUS", "PCMU", "PCMA" or "G722" */
  guint8 payload_type;
  gdouble freq;               /* Hz */
  gdouble volume;             /* 0..1 of full scale; 0 sends digital silence */
  GInetSocketAddress *remote; /* where to send (the room) */
  guint loss_percent;         /* packets dropped before sending, 0..100 */
  guint32 seed;               /* for the loss pattern */
} DiscoRtpGenParams;

typedef struct
{
  guint64 packets;      /* RTP packets received */
  guint64 seq_gaps;     /* packets whose seq != previous + 1 (same SSRC) */
  guint64 ssrc_changes; /* SSRC differed from the previous packet */
  guint64 ts_jumps;     /* consecutive packets (same SSRC, seq + 1) whose RTP
                         * timestamp step differs from the step before */
  guint64 sent;         /* RTP packets handed to the socket */
  guint64 dropped;      /* RTP packets dropped by the loss simulation */
  gint64 max_gap_us;    /* longest time between two received packets */
} DiscoRtpGenStats;

typedef struct _DiscoRtpGen DiscoRtpGen;

/* Binds 127.0.0.1:0 (or ::1 for an IPv6 @remote) and starts PLAYING. */
DiscoRtpGen *disco_rtp_gen_new (const DiscoRtpGenParams *params, GError **error);
void disco_rtp_gen_free (DiscoRtpGen *gen);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoRtpGen, disco_rtp_gen_free)

/* The address the room sees as source (transfer none). */
GInetSocketAddress *disco_rtp_gen_get_address (DiscoRtpGen *gen);
/* Live change of what this participant says (thread-safe). */
void disco_rtp_gen_set_tone (DiscoRtpGen *gen, gdouble freq, gdouble volume);
/* Forget everything recorded so far (thread-safe). */
void disco_rtp_gen_clear (DiscoRtpGen *gen);
/* Copy of the decoded audio received since the last clear (48 kHz mono);
 * returns the number of samples, caller g_free()s *samples. Thread-safe. */
gsize disco_rtp_gen_get_samples (DiscoRtpGen *gen, gint16 **samples);
void disco_rtp_gen_get_stats (DiscoRtpGen *gen, DiscoRtpGenStats *stats);

G_END_DECLS
