/* focus-private.h: DiscoFocus internals shared by focus.c and focus-status.c. */
#pragma once

#include <sofia-sip/su_wait.h>

#include "focus.h"
#include "focus-coordinates.h"
#include "reload-node.h"
#include "sip-agent.h"

struct _DiscoFocus
{
  DiscoFocusConfig *config;
  su_root_t *root;
  DiscoSipAgent *sip;
  DiscoFocusCoordinates *coordinates; /* Vivaldi against the peer foci */
  DiscoWebServer *web;
  DiscoReloadNode *overlay_node;     /* the RELOAD peer (overlay/node) */
  GInetSocketAddress *overlay_bound; /* its listening address (own reference) */
  gint64 started_monotonic;
  GDateTime *started_at;
};
