/* focus-private.h: DiscoFocus internals shared by focus.c and focus-status.c. */
#pragma once

#include <sofia-sip/su_wait.h>

#include "focus.h"
#include "sip-agent.h"

struct _DiscoFocus
{
  DiscoFocusConfig *config;
  su_root_t *root;
  DiscoSipAgent *sip;
  DiscoWebServer *web;
  GSocket *overlay_socket;
  GInetSocketAddress *overlay_bound;
  gint64 started_monotonic;
  GDateTime *started_at;
};
