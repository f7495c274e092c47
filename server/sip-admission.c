/* sip-admission.c: see sip-admission.h. */
#define G_LOG_DOMAIN "disco-admission"

#include "sip-admission.h"

#define TICK_MS 100
/* Smoothing of the lateness: a single slow iteration (a pipeline being
 * built) must not refuse calls; a second of being behind must. */
#define LAG_ALPHA 0.3

struct _DiscoAdmission
{
  guint rate;
  guint lag_limit_ms;
  double tokens;
  gint64 refilled_us;
  gint64 last_tick_us;
  double lag_ms;
  double stall_ms;       /* lateness of the last tick beyond the limit */
  gint64 stall_until_us; /* ... held until then (monotonic) */
  guint tick_source;
  guint64 rejected_rate, rejected_lag;
};

static gboolean
on_tick (gpointer data)
{
  DiscoAdmission *a = data;
  gint64 now = g_get_monotonic_time ();
  /* The first tick only starts the clock: the daemon's own start-up (keys,
   * GStreamer, sockets) ran before the main loop did and left no backlog
   * of calls; counting it refused a fresh focus's first callers. */
  if (a->last_tick_us == 0)
    {
      a->last_tick_us = now;
      return G_SOURCE_CONTINUE;
    }
  double late = (double)(now - a->last_tick_us) / 1000.0 - TICK_MS;
  a->last_tick_us = now;
  a->lag_ms = LAG_ALPHA * MAX (late, 0.0) + (1 - LAG_ALPHA) * a->lag_ms;
  /* A stall past the limit left a backlog of requests that waited that
   * long; whether they are dispatched before or after this tick, they are
   * refused: the stall is held for half its length. */
  if (a->lag_limit_ms && late > a->lag_limit_ms)
    {
      a->stall_ms = late;
      a->stall_until_us = now + (gint64)(late * 1000 / 2);
    }
  return G_SOURCE_CONTINUE;
}

DiscoAdmission *
disco_admission_new (guint max_join_rate, guint lag_limit_ms)
{
  DiscoAdmission *a = g_new0 (DiscoAdmission, 1);
  a->rate = max_join_rate;
  a->lag_limit_ms = lag_limit_ms;
  a->tokens = max_join_rate;
  a->refilled_us = g_get_monotonic_time ();
  /* Below the SIP socket's priority: while messages wait (a stall just
   * ended), GLib keeps dispatching them and not the tick, so every one of
   * them is checked against the lateness of the stall (the pending term in
   * disco_admission_check) instead of racing the tick that would fold the
   * stall into the smoothed value first. */
  a->tick_source = g_timeout_add_full (G_PRIORITY_LOW, TICK_MS, on_tick, a, NULL);
  return a;
}

void
disco_admission_free (DiscoAdmission *a)
{
  if (a == NULL)
    return;
  g_source_remove (a->tick_source);
  g_free (a);
}

DiscoAdmitVerdict
disco_admission_check (DiscoAdmission *a)
{
  gint64 now = g_get_monotonic_time ();
  /* The tick itself may be the late one: count the lateness so far too
   * (none before the main loop has run its first tick). */
  double pending = a->last_tick_us ? (double)(now - a->last_tick_us) / 1000.0 - TICK_MS : 0.0;
  double lag = MAX (a->lag_ms, pending);
  if (now < a->stall_until_us)
    lag = MAX (lag, a->stall_ms);
  if (a->lag_limit_ms && lag > a->lag_limit_ms)
    {
      a->rejected_lag++;
      return DISCO_ADMIT_LAG;
    }
  if (a->rate == 0)
    return DISCO_ADMIT_OK;
  a->tokens = MIN ((double)a->rate,
                   a->tokens + (double)(now - a->refilled_us) * a->rate / G_USEC_PER_SEC);
  a->refilled_us = now;
  if (a->tokens < 1.0)
    {
      a->rejected_rate++;
      return DISCO_ADMIT_RATE;
    }
  a->tokens -= 1.0;
  return DISCO_ADMIT_OK;
}

guint64
disco_admission_rejected (DiscoAdmission *a, DiscoAdmitVerdict why)
{
  return why == DISCO_ADMIT_RATE ? a->rejected_rate : why == DISCO_ADMIT_LAG ? a->rejected_lag : 0;
}

double
disco_admission_lag_ms (DiscoAdmission *a)
{
  return a->lag_ms;
}

guint
disco_admission_max_join_rate (DiscoAdmission *a)
{
  return a->rate;
}
