/* focus-coordinates.h: this focus peer's Vivaldi network coordinates
 * (overlay/vivaldi), measured against its peer foci and published as
 * <dc:coordinates> of its dc:focus entry (disco.md §7).
 *
 * Sample source: an out-of-dialog SIP OPTIONS to every peer focus the SIP
 * agent knows (configured [focus] peers and foci that subscribed to us),
 * once per interval, timed from request to the final 2xx.  The remote
 * coordinate is the one that peer publishes in its own dc:focus entry of
 * the conference-info this focus already subscribes to and merges.  Why
 * OPTIONS and not overlay link RTTs: a peer focus is configured by its SIP
 * address, and nothing maps an overlay link (Node-ID) to it; the OPTIONS
 * answer comes from the very process whose coordinate we learn, works
 * between any two daemons with [focus] peers, and costs one small
 * transaction per peer and interval.
 *
 * Bootstrap: a focus publishes its start coordinate (origin, maximum error)
 * right away, so two fresh foci can measure each other.  Only peers that
 * publish a valid coordinate are pinged, which also keeps OPTIONS away
 * from foci that do not run Vivaldi; an invalid one (bad length, version,
 * NaN...) is counted and that peer left unmeasured.  A new coordinate is published (one partial
 * NOTIFY) only when it moved by more than a tenth of the sample's RTT or its
 * error estimate changed by more than PUBLISH_ERROR_STEP, so converged foci
 * stay quiet.
 *
 * Threading: main context only (sofia nua).  Ownership: borrows @agent,
 * which must outlive it; free it before shutting the agent down.
 */
#pragma once

#include <json-c/json.h>

#include "sip-agent.h"

G_BEGIN_DECLS

typedef struct _DiscoFocusCoordinates DiscoFocusCoordinates;

/* Publishes the start coordinate and pings peers every @interval_ms. */
DiscoFocusCoordinates *disco_focus_coordinates_new (DiscoSipAgent *agent, guint interval_ms);
void disco_focus_coordinates_free (DiscoFocusCoordinates *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoFocusCoordinates, disco_focus_coordinates_free)

/* {"type","x","y","height","error","updates","remote_refused","peers":[
 * {"uri","rtt_ms","predicted_ms"}]} for /api/status; new reference. */
json_object *disco_focus_coordinates_status (DiscoFocusCoordinates *self);

G_END_DECLS
