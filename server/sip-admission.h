/* sip-admission.h: load-based admission of new calls, ahead of any work.
 *
 * A focus that accepts INVITEs faster than it can set up media falls
 * behind; its answers then come after the callers' retransmission timers
 * (T1 = 500 ms), every retransmission adds work, and it collapses.  So a new
 * call is refused (the caller answers 503 + Retry-After, or redirects to a
 * peer focus) when
 *  - the join rate exceeds max_join_rate per second (token bucket, one
 *    second of burst; 0 disables), or
 *  - the main loop is late: a 100 ms tick measures how late it runs, and a
 *    smoothed lateness above lag_limit_ms means SIP messages already wait
 *    in the socket buffers.  After a stall (the process stopped or blocked
 *    for longer than lag_limit_ms) the INVITEs that queued during it are
 *    refused whatever order GLib dispatches them and the tick in: those
 *    checked before the tick see the lateness accumulated so far (time
 *    since the last tick beyond its period), those after it see the
 *    stall's lateness, held for half the stall's length.  The tick runs at
 *    G_PRIORITY_LOW, below the SIP socket, so it rarely comes first.
 * Both are cheap and checked before the SDP is even parsed.
 *
 * Threading: main-context only.  Ownership: plain struct, _free.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DiscoAdmission DiscoAdmission;

typedef enum
{
  DISCO_ADMIT_OK,   /* admitted; a token was taken */
  DISCO_ADMIT_RATE, /* over max_join_rate */
  DISCO_ADMIT_LAG,  /* the main loop is behind */
} DiscoAdmitVerdict;

DiscoAdmission *disco_admission_new (guint max_join_rate, guint lag_limit_ms);
void disco_admission_free (DiscoAdmission *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoAdmission, disco_admission_free)

DiscoAdmitVerdict disco_admission_check (DiscoAdmission *a);
/* Calls refused so far, by reason. */
guint64 disco_admission_rejected (DiscoAdmission *a, DiscoAdmitVerdict why);
/* Smoothed main-loop lateness, milliseconds. */
double disco_admission_lag_ms (DiscoAdmission *a);
guint disco_admission_max_join_rate (DiscoAdmission *a);

G_END_DECLS
