/* focus-status.c: the status snapshot (docs/status-api.md) and metrics. */
#define G_LOG_DOMAIN "disco-focus"

#include "focus-private.h"

#include "disco-build-config.h"

#define STATUS_SCHEMA "disco.status/2"

static json_object *
address_json (GInetSocketAddress *addr)
{
  if (addr == NULL)
    return NULL;
  g_autofree char *text = disco_address_to_string (addr);
  return json_object_new_string (text);
}

static double
uptime_seconds (DiscoFocus *self)
{
  return (g_get_monotonic_time () - self->started_monotonic) / (double)G_TIME_SPAN_SECOND;
}

static void
overlay_identity (DiscoFocus *self, json_object *identity)
{
  DiscoReloadNode *node = self->overlay_node;
  g_autofree char *hex
      = node ? disco_reload_node_id_to_hex (disco_reload_node_get_node_id (node)) : NULL;
  const char *user
      = node ? disco_reload_identity_get_user_name (disco_reload_node_get_identity (node)) : NULL;
  json_object_object_add (identity, "node_id", hex ? json_object_new_string (hex) : NULL);
  json_object_object_add (identity, "user", user ? json_object_new_string (user) : NULL);
}

/* A copy of @key's array from the Chord JSON, or an empty array: a focus
 * whose peer runs no Chord has no ring neighbours, and the page shows none
 * rather than inventing them. */
static json_object *
chord_list (json_object *chord, const char *key)
{
  json_object *v = NULL;
  if (chord && json_object_object_get_ex (chord, key, &v)
      && json_object_is_type (v, json_type_array))
    return json_object_get (v);
  return json_object_new_array ();
}

/* messages.{forwarded,answered,dropped}.{type}: the node's per-type counters. */
static json_object *
messages_json (DiscoReloadNode *node)
{
  json_object *o = json_object_new_object ();
  g_autoptr (GArray) types = disco_reload_node_get_type_stats (node);
  for (int d = 0; d < DISCO_RELOAD_NODE_N_DIRECTIONS; d++)
    {
      json_object *by_type = json_object_new_object ();
      for (guint i = 0; i < types->len; i++)
        {
          const DiscoReloadNodeTypeStats *t = &g_array_index (types, DiscoReloadNodeTypeStats, i);
          if (t->count[d])
            json_object_object_add (by_type, t->type, json_object_new_int64 ((gint64)t->count[d]));
        }
      json_object_object_add (o, disco_reload_node_direction_name (d), by_type);
    }
  return o;
}

/* The RELOAD peer: who it is, its links and what it stores. */
static void
overlay_status (DiscoFocus *self, json_object *overlay)
{
  DiscoReloadNode *node = self->overlay_node;
  if (node == NULL)
    {
      json_object_object_add (overlay, "state", json_object_new_string ("down"));
      return;
    }
  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (node, &st);
  json_object *storage = json_object_new_object ();
  json_object_object_add (overlay, "state", json_object_new_string ("listening"));
  overlay_identity (self, overlay);
  json_object_object_add (
      overlay, "instance",
      json_object_new_string (disco_reload_node_get_config (node)->instance_name));
  json_object_object_add (overlay, "links", json_object_new_int ((int)st.links));
  json_object_object_add (overlay, "peers", json_object_new_int ((int)st.peers));
  json_object_object_add (overlay, "requests_in", json_object_new_int64 ((gint64)st.requests_in));
  json_object_object_add (overlay, "forwarded", json_object_new_int64 ((gint64)st.forwarded));
  json_object_object_add (overlay, "dropped", json_object_new_int64 ((gint64)st.dropped));
  json_object_object_add (storage, "resources", json_object_new_int ((int)st.resources));
  json_object_object_add (storage, "values", json_object_new_int ((int)st.values));
  json_object_object_add (storage, "stored",
                          json_object_new_int ((int)(st.resources - st.replicated)));
  json_object_object_add (storage, "replicated", json_object_new_int ((int)st.replicated));
  json_object_object_add (overlay, "storage", storage);

  json_object *chord = disco_reload_node_chord_to_json (node);
  json_object *joined = NULL;
  if (chord)
    json_object_object_get_ex (chord, "joined", &joined);
  json_object_object_add (overlay, "chord", json_object_new_boolean (chord != NULL));
  json_object_object_add (overlay, "joined", joined ? json_object_get (joined) : NULL);
  json_object_object_add (overlay, "predecessors", chord_list (chord, "predecessors"));
  json_object_object_add (overlay, "successors", chord_list (chord, "successors"));
  json_object_object_add (overlay, "fingers", chord_list (chord, "fingers"));
  if (chord)
    json_object_put (chord);
  json_object_object_add (overlay, "connections", disco_reload_node_links_to_json (node));
  json_object_object_add (overlay, "messages", messages_json (node));
}

json_object *
disco_focus_status (DiscoFocus *self)
{
  json_object *root = json_object_new_object ();
  json_object *software = json_object_new_object ();
  json_object *identity = json_object_new_object ();
  json_object *listen = json_object_new_object ();
  json_object *overlay = json_object_new_object ();
  json_object *conferences = json_object_new_array ();
  json_object *load = json_object_new_object ();
  g_autofree char *started = g_date_time_format_iso8601 (self->started_at);

  json_object_object_add (root, "schema", json_object_new_string (STATUS_SCHEMA));

  json_object_object_add (software, "name", json_object_new_string ("disco-focus"));
  json_object_object_add (software, "version", json_object_new_string (DISCO_VERSION));
  json_object_object_add (root, "software", software);

  json_object_object_add (identity, "name", json_object_new_string (self->config->name));
  overlay_identity (self, identity);
  json_object_object_add (identity, "pid", json_object_new_int ((int)getpid ()));
  json_object_object_add (root, "identity", identity);

  json_object_object_add (root, "started_at", json_object_new_string (started));
  json_object_object_add (root, "uptime_seconds", json_object_new_double (uptime_seconds (self)));

  json_object_object_add (listen, "sip", address_json (disco_sip_agent_get_address (self->sip)));
  json_object_object_add (
      listen, "http", address_json (self->web ? disco_web_server_get_address (self->web) : NULL));
  json_object_object_add (listen, "overlay", address_json (self->overlay_bound));
  json_object_object_add (root, "listen", listen);

  overlay_status (self, overlay);
  json_object_object_add (overlay, "coordinates",
                          self->coordinates ? disco_focus_coordinates_status (self->coordinates)
                                            : NULL);
  json_object_object_add (root, "overlay", overlay);

  for (char **c = self->config->conferences; c && *c; c++)
    {
      json_object *conf = json_object_new_object ();
      json_object_object_add (conf, "uri", json_object_new_string (*c));
      if (!self->sip || !disco_sip_agent_conference_status (self->sip, *c, conf))
        {
          json_object_object_add (conf, "participants", json_object_new_array ());
          json_object_object_add (conf, "subscriptions", json_object_new_array ());
        }
      json_object_array_add (conferences, conf);
    }
  json_object_object_add (root, "conferences", conferences);

  guint participants = self->sip ? disco_sip_agent_participant_count (self->sip) : 0;
  json_object_object_add (load, "participants", json_object_new_int ((int)participants));
  json_object_object_add (load, "capacity",
                          json_object_new_int ((int)self->config->max_participants));
  json_object_object_add (
      load, "ratio",
      json_object_new_double (self->config->max_participants
                                  ? (double)participants / self->config->max_participants
                                  : 0.0));
  json_object_object_add (root, "load", load);
  return root;
}

static void
overlay_metrics (DiscoFocus *self, DiscoWebMetrics *m)
{
  DiscoReloadNode *node = self->overlay_node;
  if (node == NULL)
    return;
  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (node, &st);
  g_autoptr (GArray) types = disco_reload_node_get_type_stats (node);
  for (int d = 0; d < DISCO_RELOAD_NODE_N_DIRECTIONS; d++)
    for (guint i = 0; i < types->len; i++)
      {
        const DiscoReloadNodeTypeStats *t = &g_array_index (types, DiscoReloadNodeTypeStats, i);
        const char *labels[]
            = { "direction", disco_reload_node_direction_name (d), "type", t->type, NULL };
        disco_web_metrics_add (m, "disco_overlay_messages_total", DISCO_WEB_METRIC_COUNTER,
                               "RELOAD messages this peer forwarded, answered (requests "
                               "handled here) or dropped, by message type.",
                               labels, (double)t->count[d]);
      }
  disco_web_metrics_add (m, "disco_overlay_links", DISCO_WEB_METRIC_GAUGE,
                         "Open RELOAD links of this peer.", NULL, st.links);
  disco_web_metrics_add (m, "disco_overlay_peers", DISCO_WEB_METRIC_GAUGE,
                         "Distinct peers on established RELOAD links.", NULL, st.peers);
  disco_web_metrics_add (m, "disco_overlay_stored_resources", DISCO_WEB_METRIC_GAUGE,
                         "Resources held that this peer is responsible for.", NULL,
                         st.resources - st.replicated);
  disco_web_metrics_add (m, "disco_overlay_replicated_resources", DISCO_WEB_METRIC_GAUGE,
                         "Resources held as replicas for another responsible peer.", NULL,
                         st.replicated);
}

void
disco_focus_metrics (DiscoFocus *self, DiscoWebMetrics *m)
{
  const char *build_labels[] = { "version", DISCO_VERSION, NULL };

  disco_web_metrics_add (m, "disco_build_info", DISCO_WEB_METRIC_GAUGE,
                         "Build information; the value is always 1.", build_labels, 1);
  disco_web_metrics_add (m, "disco_uptime_seconds", DISCO_WEB_METRIC_GAUGE,
                         "Seconds since this daemon started.", NULL, uptime_seconds (self));
  disco_web_metrics_add (m, "disco_conferences", DISCO_WEB_METRIC_GAUGE,
                         "Conferences this focus serves.", NULL,
                         self->config->conferences ? g_strv_length (self->config->conferences) : 0);
  disco_web_metrics_add (m, "disco_participants", DISCO_WEB_METRIC_GAUGE,
                         "Participants connected to this focus.", NULL,
                         self->sip ? disco_sip_agent_participant_count (self->sip) : 0);
  disco_web_metrics_add (m, "disco_conference_subscriptions", DISCO_WEB_METRIC_GAUGE,
                         "Active conference event package subscriptions.", NULL,
                         self->sip ? disco_sip_agent_subscription_count (self->sip) : 0);
  disco_web_metrics_add (m, "disco_capacity_participants", DISCO_WEB_METRIC_GAUGE,
                         "Participants this focus admits before it redirects or rejects.", NULL,
                         self->config->max_participants);
  overlay_metrics (self, m);
}
