/* reload-framing.c: RELOAD framing header, ACK bitmap and RTT estimation. */
#define G_LOG_DOMAIN "disco-link"

#include "reload-framing.h"

#include <string.h>

G_DEFINE_QUARK (disco - reload - framing - error - quark, disco_reload_framing_error)

static void
put_u32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get_u32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

void
disco_reload_frame_write_data_header (guint8 out[DISCO_RELOAD_FRAME_DATA_HEADER_LEN],
                                      guint32 sequence, gsize payload_len)
{
  g_return_if_fail (payload_len <= DISCO_RELOAD_FRAME_MAX_PAYLOAD);
  out[0] = DISCO_RELOAD_FRAME_DATA;
  put_u32 (out + 1, sequence);
  out[5] = payload_len >> 16;
  out[6] = payload_len >> 8;
  out[7] = payload_len;
}

GBytes *
disco_reload_frame_encode_data (guint32 sequence, const guint8 *payload, gsize payload_len,
                                GError **error)
{
  if (payload_len > DISCO_RELOAD_FRAME_MAX_PAYLOAD)
    {
      g_set_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE,
                   "message of %" G_GSIZE_FORMAT " bytes does not fit a frame (max %u)",
                   payload_len, DISCO_RELOAD_FRAME_MAX_PAYLOAD);
      return NULL;
    }
  guint8 *buf = g_malloc (DISCO_RELOAD_FRAME_DATA_HEADER_LEN + payload_len);
  disco_reload_frame_write_data_header (buf, sequence, payload_len);
  if (payload_len > 0)
    memcpy (buf + DISCO_RELOAD_FRAME_DATA_HEADER_LEN, payload, payload_len);
  return g_bytes_new_take (buf, DISCO_RELOAD_FRAME_DATA_HEADER_LEN + payload_len);
}

void
disco_reload_frame_write_ack (guint8 out[DISCO_RELOAD_FRAME_ACK_LEN], guint32 ack_sequence,
                              guint32 received)
{
  out[0] = DISCO_RELOAD_FRAME_ACK;
  put_u32 (out + 1, ack_sequence);
  put_u32 (out + 5, received);
}

gssize
disco_reload_frame_parse (const guint8 *buf, gsize len, gsize max_payload, DiscoReloadFrame *frame,
                          GError **error)
{
  memset (frame, 0, sizeof *frame);
  if (len < 1)
    return 0;
  switch (buf[0])
    {
      case DISCO_RELOAD_FRAME_ACK:
        if (len < DISCO_RELOAD_FRAME_ACK_LEN)
          return 0;
        frame->type = DISCO_RELOAD_FRAME_ACK;
        frame->sequence = get_u32 (buf + 1);
        frame->received = get_u32 (buf + 5);
        return DISCO_RELOAD_FRAME_ACK_LEN;

      case DISCO_RELOAD_FRAME_DATA:
        {
          if (len < DISCO_RELOAD_FRAME_DATA_HEADER_LEN)
            return 0;
          gsize plen = ((gsize)buf[5] << 16) | ((gsize)buf[6] << 8) | buf[7];
          frame->type = DISCO_RELOAD_FRAME_DATA;
          frame->sequence = get_u32 (buf + 1);
          frame->payload_len = plen;
          if (plen > max_payload)
            {
              g_set_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE,
                           "frame %u announces %" G_GSIZE_FORMAT " bytes, more than the "
                           "maximum message size %" G_GSIZE_FORMAT,
                           frame->sequence, plen, max_payload);
              return -1;
            }
          if (len - DISCO_RELOAD_FRAME_DATA_HEADER_LEN < plen)
            return 0;
          frame->payload = buf + DISCO_RELOAD_FRAME_DATA_HEADER_LEN;
          return DISCO_RELOAD_FRAME_DATA_HEADER_LEN + plen;
        }

      default:
        g_set_error (error, DISCO_RELOAD_FRAMING_ERROR, DISCO_RELOAD_FRAMING_ERROR_BAD_TYPE,
                     "unknown framed message type %u", buf[0]);
        return -1;
    }
}

void
disco_reload_ack_tracker_init (DiscoReloadAckTracker *tracker)
{
  memset (tracker, 0, sizeof *tracker);
}

gboolean
disco_reload_ack_covers (guint32 ack_sequence, guint32 received, guint32 sequence)
{
  guint32 back = ack_sequence - sequence;

  return back == 0 || (back >= 1 && back <= 32 && (received & (1u << (back - 1))) != 0);
}

guint32
disco_reload_ack_tracker_receive (DiscoReloadAckTracker *tracker, guint32 sequence,
                                  gboolean *duplicate)
{
  gboolean dup = FALSE;

  if (!tracker->any)
    {
      tracker->any = TRUE;
      tracker->highest = sequence;
      tracker->window = 1;
    }
  else
    {
      /* Serial-number arithmetic so the window survives 2^32 wrap-around. */
      gint32 ahead = (gint32)(sequence - tracker->highest);
      if (ahead > 0)
        {
          tracker->window = ahead >= 64 ? 0 : tracker->window << ahead;
          tracker->window |= 1;
          tracker->highest = sequence;
        }
      else if (ahead > -64)
        {
          guint64 bit = G_GUINT64_CONSTANT (1) << (guint)(-ahead);
          dup = (tracker->window & bit) != 0;
          tracker->window |= bit;
        }
      /* older than the window: remembered nowhere, reported as unknown */
    }
  if (duplicate)
    *duplicate = dup;

  /* Bitmap relative to @sequence: bit k <=> sequence - 1 - k received. */
  guint32 received = 0;
  for (guint k = 0; k < 32; k++)
    {
      guint32 s = sequence - 1 - k;
      gint32 back = (gint32)(tracker->highest - s);
      if (back >= 0 && back < 64 && (tracker->window & (G_GUINT64_CONSTANT (1) << back)))
        received |= 1u << k;
    }
  return received;
}

void
disco_reload_rtt_init (DiscoReloadRtt *rtt)
{
  memset (rtt, 0, sizeof *rtt);
  rtt->rto_us = DISCO_RELOAD_RTO_INITIAL_US;
}

void
disco_reload_rtt_sent (DiscoReloadRtt *rtt, guint32 sequence, gint64 now_us)
{
  /* Keep the newest frames: when the ring is full the oldest entry goes,
   * its ACK then simply gives no sample. */
  if (rtt->pending_count == DISCO_RELOAD_RTT_PENDING)
    {
      rtt->pending_head = (rtt->pending_head + 1) % DISCO_RELOAD_RTT_PENDING;
      rtt->pending_count--;
    }
  guint slot = (rtt->pending_head + rtt->pending_count) % DISCO_RELOAD_RTT_PENDING;
  rtt->pending[slot].sequence = sequence;
  rtt->pending[slot].sent_us = now_us;
  rtt->pending_count++;
}

void
disco_reload_rtt_sample (DiscoReloadRtt *rtt, gint64 r)
{
  if (r < 0)
    r = 0;
  if (!rtt->have_sample)
    {
      rtt->srtt_us = r;
      rtt->rttvar_us = r / 2;
      rtt->have_sample = TRUE;
    }
  else
    {
      gint64 diff = rtt->srtt_us - r;
      if (diff < 0)
        diff = -diff;
      rtt->rttvar_us = (3 * rtt->rttvar_us + diff) / 4; /* beta = 1/4 */
      rtt->srtt_us = (7 * rtt->srtt_us + r) / 8;        /* alpha = 1/8 */
    }
  /* G (clock granularity) is 1 ms: we schedule with millisecond timers. */
  gint64 k = 4 * rtt->rttvar_us;
  if (k < G_TIME_SPAN_MILLISECOND)
    k = G_TIME_SPAN_MILLISECOND;
  rtt->rto_us = CLAMP (rtt->srtt_us + k, DISCO_RELOAD_RTO_MIN_US, DISCO_RELOAD_RTO_MAX_US);
  rtt->last_sample_us = r;
  rtt->samples++;
}

guint
disco_reload_rtt_ack (DiscoReloadRtt *rtt, guint32 ack_sequence, guint32 received, gint64 now_us)
{
  guint acked = 0;
  guint kept = 0;
  DiscoReloadRttPending keep[DISCO_RELOAD_RTT_PENDING];

  for (guint i = 0; i < rtt->pending_count; i++)
    {
      DiscoReloadRttPending *p = &rtt->pending[(rtt->pending_head + i) % DISCO_RELOAD_RTT_PENDING];
      guint32 back = ack_sequence - p->sequence;
      if (back == 0)
        {
          disco_reload_rtt_sample (rtt, now_us - p->sent_us);
          acked++;
        }
      else if (disco_reload_ack_covers (ack_sequence, received, p->sequence))
        acked++;
      else
        keep[kept++] = *p;
    }
  memcpy (rtt->pending, keep, kept * sizeof keep[0]);
  rtt->pending_head = 0;
  rtt->pending_count = kept;
  rtt->acked += acked;
  return acked;
}

gint64
disco_reload_rtt_oldest_unacked (const DiscoReloadRtt *rtt)
{
  if (rtt->pending_count == 0)
    return -1;
  return rtt->pending[rtt->pending_head].sent_us;
}
