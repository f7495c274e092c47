/* disco-media-jitter.h: internal; a per-participant RTP reorder buffer with
 * a playout policy, driven by the room's one input thread.
 *
 * It replaces one rtpjitterbuffer (two threads) per participant: packets are
 * inserted from the socket thread, and the room's pump pops them once per
 * 20 ms tick on its own thread.  Not thread-safe: the room serialises both
 * sides with its lock.
 *
 * Policy: a stream starts playing once its oldest packet has waited the
 * target delay (or the target's worth of audio is buffered).  While playing,
 * a missing sequence number with later packets already present is declared
 * lost (the caller conceals it); an empty buffer is an underrun (nothing is
 * skipped, so a late packet still plays and the delay grows by a tick);
 * after a few underruns in a row the stream re-buffers.  Packets older than
 * the playout point are dropped (late), and when more than the target plus
 * 60 ms is queued the oldest are dropped so the delay stays bounded.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _DiscoJitter DiscoJitter;

typedef enum
{
  DISCO_JITTER_PACKET,   /* *out set: play it */
  DISCO_JITTER_LOST,     /* one packet lost: conceal *samples at *ts */
  DISCO_JITTER_UNDERRUN, /* playing but nothing there yet */
  DISCO_JITTER_WAITING   /* not playing (buffering or no stream) */
} DiscoJitterResult;

typedef struct
{
  guint64 received;  /* packets inserted */
  guint64 played;    /* packets popped */
  guint64 lost;      /* sequence numbers declared lost */
  guint64 late;      /* arrived after their playout point, or duplicates */
  guint64 dropped;   /* dropped to bound the delay */
  guint64 underruns; /* pops that found nothing while playing */
  gdouble jitter_ms; /* RFC 3550 interarrival jitter */
} DiscoJitterStats;

/* @clock_rate: RTP clock; @target_ms: playout delay (40..60 in rooms). */
DiscoJitter *disco_jitter_new (guint clock_rate, guint target_ms);
void disco_jitter_free (DiscoJitter *j);

/* Takes @rtp (a whole RTP packet).  @now_us: arrival, monotonic µs.
 * Returns FALSE if it was dropped (late, duplicate, not RTP). */
gboolean disco_jitter_insert (DiscoJitter *j, GstBuffer *rtp, gint64 now_us);

/* What to play next.  *ts is the packet's (or lost packet's) RTP timestamp
 * extended to 64 bits, counted from the stream's first packet; *samples is
 * the lost packet's duration in RTP clock units. */
DiscoJitterResult disco_jitter_pop (DiscoJitter *j, gint64 now_us, GstBuffer **out, guint64 *ts,
                                    guint *samples);

/* New ref to the packet at the playout point (the one the next pop would
 * return), or NULL: after a LOST pop it is the packet after the loss. */
GstBuffer *disco_jitter_peek (DiscoJitter *j);

void disco_jitter_get_stats (DiscoJitter *j, DiscoJitterStats *out);

G_END_DECLS
