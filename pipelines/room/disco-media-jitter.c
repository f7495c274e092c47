/* disco-media-jitter.c: reorder buffer and playout policy (see header). */
#define G_LOG_DOMAIN "disco-media-room"

#include "disco-media-jitter.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <stdlib.h>

#define SLOTS 128 /* 2.56 s of 20 ms packets: far more than ever queued */
#define UNDERRUNS_BEFORE_REBUFFER 3
#define EXTRA_MS 60   /* queued beyond the target before the oldest go */
#define RESET_SEQ 500 /* a jump this large is a new stream, not reordering */

typedef struct
{
  GstBuffer *buf;
  gint64 ext_seq;
  guint64 ext_ts;
  gint64 arrival_us;
} Slot;

typedef enum
{
  STATE_EMPTY,     /* no stream yet */
  STATE_BUFFERING, /* waiting for the target delay */
  STATE_PLAYING
} State;

struct _DiscoJitter
{
  guint clock_rate, target_ms;
  Slot slots[SLOTS];
  guint queued; /* slots holding a packet */
  State state;
  guint32 ssrc;
  gint64 highest_seq; /* extended, of the newest packet */
  gint64 ts_ref_ext;  /* extended ts of the newest packet ... */
  guint32 ts_ref;     /* ... and its 32-bit value */
  guint32 ts_first;
  gint64 next_seq; /* playout point (extended) */
  guint64 last_ts; /* ext ts of the last popped/lost packet */
  gboolean have_last;
  guint spp; /* samples per packet, estimated */
  guint underrun_run;
  gboolean have_transit;
  gint64 last_transit;
  gdouble jitter; /* clock units */
  DiscoJitterStats st;
};

DiscoJitter *
disco_jitter_new (guint clock_rate, guint target_ms)
{
  DiscoJitter *j = g_new0 (DiscoJitter, 1);
  j->clock_rate = clock_rate;
  j->target_ms = target_ms;
  j->spp = clock_rate / 50;
  return j;
}

static void
slot_clear (DiscoJitter *j, Slot *s)
{
  if (s->buf != NULL)
    {
      gst_buffer_unref (s->buf);
      s->buf = NULL;
      j->queued--;
    }
}

static void
clear_all (DiscoJitter *j)
{
  for (guint i = 0; i < SLOTS; i++)
    slot_clear (j, &j->slots[i]);
}

void
disco_jitter_free (DiscoJitter *j)
{
  if (j == NULL)
    return;
  clear_all (j);
  g_free (j);
}

/* A new stream (first packet, SSRC change, huge jump): forget the old one
 * but keep the timestamps growing, so the decoders see one timeline. */
static void
restart (DiscoJitter *j, guint16 seq, guint32 ts, guint32 ssrc)
{
  clear_all (j);
  guint64 base = j->have_last ? j->last_ts + j->spp : 0;
  j->ssrc = ssrc;
  j->highest_seq = (gint64)seq + 65536 * 4; /* room to go backwards */
  j->next_seq = j->highest_seq;
  j->ts_ref = ts;
  j->ts_ref_ext = (gint64)base;
  j->ts_first = ts;
  j->state = STATE_BUFFERING;
  j->underrun_run = 0;
  j->have_transit = FALSE;
}

gboolean
disco_jitter_insert (DiscoJitter *j, GstBuffer *rtp, gint64 now_us)
{
  GstRTPBuffer r = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map (rtp, GST_MAP_READ, &r))
    {
      gst_buffer_unref (rtp);
      return FALSE;
    }
  guint16 seq = gst_rtp_buffer_get_seq (&r);
  guint32 ts = gst_rtp_buffer_get_timestamp (&r);
  guint32 ssrc = gst_rtp_buffer_get_ssrc (&r);
  gst_rtp_buffer_unmap (&r);

  gint16 dseq = (gint16)(seq - (guint16)j->highest_seq);
  if (j->state == STATE_EMPTY || ssrc != j->ssrc || abs (dseq) > RESET_SEQ)
    {
      restart (j, seq, ts, ssrc);
      dseq = 0;
    }
  gint64 ext = j->highest_seq + dseq;
  gint64 ext_ts = j->ts_ref_ext + (gint32)(ts - j->ts_ref);
  if (ext < j->next_seq || ext_ts < 0)
    {
      j->st.late++;
      gst_buffer_unref (rtp);
      return FALSE;
    }
  Slot *s = &j->slots[ext % SLOTS];
  if (s->buf != NULL && s->ext_seq == ext)
    {
      j->st.late++; /* duplicate */
      gst_buffer_unref (rtp);
      return FALSE;
    }
  if (ext >= j->next_seq + SLOTS)
    {
      /* Too far ahead of the playout point to be held: start over here. */
      restart (j, seq, ts, ssrc);
      ext = j->highest_seq;
      ext_ts = j->ts_ref_ext;
      s = &j->slots[ext % SLOTS];
    }
  slot_clear (j, s);
  s->buf = rtp;
  s->ext_seq = ext;
  s->ext_ts = (guint64)ext_ts;
  s->arrival_us = now_us;
  j->queued++;
  j->st.received++;
  if (ext > j->highest_seq)
    {
      if (ext == j->highest_seq + 1 && ext_ts > j->ts_ref_ext)
        {
          gint64 d = ext_ts - j->ts_ref_ext;
          /* Plausible packet durations only (DTX gaps are not one). */
          if (d >= j->clock_rate / 200 && d <= j->clock_rate / 5)
            j->spp = (guint)d;
        }
      j->highest_seq = ext;
      j->ts_ref_ext = ext_ts;
      j->ts_ref = ts;
    }

  /* RFC 3550 A.8, in RTP clock units. */
  gint64 arrival = now_us * (gint64)j->clock_rate / G_USEC_PER_SEC;
  gint64 transit = arrival - ext_ts;
  if (j->have_transit)
    {
      gint64 d = transit - j->last_transit;
      j->jitter += ((gdouble)ABS (d) - j->jitter) / 16.0;
    }
  j->last_transit = transit;
  j->have_transit = TRUE;
  return TRUE;
}

static Slot *
lowest (DiscoJitter *j)
{
  Slot *best = NULL;
  for (guint i = 0; i < SLOTS; i++)
    {
      Slot *s = &j->slots[i];
      if (s->buf != NULL && (best == NULL || s->ext_seq < best->ext_seq))
        best = s;
    }
  return best;
}

DiscoJitterResult
disco_jitter_pop (DiscoJitter *j, gint64 now_us, GstBuffer **out, guint64 *ts, guint *samples)
{
  *out = NULL;
  if (j->state == STATE_EMPTY)
    return DISCO_JITTER_WAITING;
  if (j->state == STATE_BUFFERING)
    {
      Slot *lo = lowest (j);
      if (lo == NULL)
        return DISCO_JITTER_WAITING;
      guint64 target = (guint64)j->target_ms * j->clock_rate / 1000;
      guint64 span = (guint64)j->ts_ref_ext - lo->ext_ts + j->spp;
      if (now_us - lo->arrival_us < (gint64)j->target_ms * 1000 && span < target)
        return DISCO_JITTER_WAITING;
      j->next_seq = lo->ext_seq;
      j->state = STATE_PLAYING;
    }

  /* Bound the delay: drop the oldest while too much is queued. */
  guint max_queued = (guint)(((guint64)(j->target_ms + EXTRA_MS) * j->clock_rate / 1000) / j->spp);
  while (j->queued > MAX (max_queued, 2))
    {
      Slot *s = &j->slots[j->next_seq % SLOTS];
      if (s->buf != NULL && s->ext_seq == j->next_seq)
        {
          j->last_ts = s->ext_ts;
          j->have_last = TRUE;
          slot_clear (j, s);
          j->st.dropped++;
        }
      j->next_seq++;
    }

  Slot *s = &j->slots[j->next_seq % SLOTS];
  if (s->buf != NULL && s->ext_seq == j->next_seq)
    {
      *out = g_steal_pointer (&s->buf);
      j->queued--;
      *ts = s->ext_ts;
      *samples = j->spp;
      j->last_ts = s->ext_ts;
      j->have_last = TRUE;
      j->next_seq++;
      j->underrun_run = 0;
      j->st.played++;
      return DISCO_JITTER_PACKET;
    }
  if (j->queued > 0)
    {
      *ts = j->have_last ? j->last_ts + j->spp : 0;
      *samples = j->spp;
      j->last_ts = *ts;
      j->have_last = TRUE;
      j->next_seq++;
      j->underrun_run = 0;
      j->st.lost++;
      return DISCO_JITTER_LOST;
    }
  j->st.underruns++;
  if (++j->underrun_run >= UNDERRUNS_BEFORE_REBUFFER)
    j->state = STATE_BUFFERING;
  return DISCO_JITTER_UNDERRUN;
}

GstBuffer *
disco_jitter_peek (DiscoJitter *j)
{
  if (j->state != STATE_PLAYING)
    return NULL;
  Slot *s = &j->slots[j->next_seq % SLOTS];
  return s->buf != NULL && s->ext_seq == j->next_seq ? gst_buffer_ref (s->buf) : NULL;
}

void
disco_jitter_get_stats (DiscoJitter *j, DiscoJitterStats *out)
{
  *out = j->st;
  out->jitter_ms = j->jitter * 1000.0 / j->clock_rate;
}
