/* reload-node-stats.c: per-message-type counters, the stored / replicated
 * split and the link table for status pages. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

/* Slot of a code in node->type_counts: defined codes keep their value
 * (all below DISCO_RELOAD_NODE_TYPE_ERROR_SLOT), Error gets its own slot
 * and every undefined code shares slot 0 ("unknown") so that one label
 * never appears twice. */
static guint
slot_of (guint16 code)
{
  if (code == DISCO_RELOAD_ERROR)
    return DISCO_RELOAD_NODE_TYPE_ERROR_SLOT;
  if (code >= DISCO_RELOAD_NODE_TYPE_ERROR_SLOT
      || strcmp (disco_reload_message_code_token (code), "unknown") == 0)
    return 0;
  return code;
}

static guint16
code_of_slot (guint slot)
{
  return slot == DISCO_RELOAD_NODE_TYPE_ERROR_SLOT ? DISCO_RELOAD_ERROR : (guint16)slot;
}

void
disco_reload_node_count_type (DiscoReloadNode *node, DiscoReloadNodeDirection direction,
                              guint16 code)
{
  g_return_if_fail (direction < DISCO_RELOAD_NODE_N_DIRECTIONS);
  node->type_counts[slot_of (code)][direction]++;
}

void
disco_reload_node_attribute_totals (DiscoReloadNode *node, guint16 code)
{
  guint slot = slot_of (code);
  node->type_counts[slot][DISCO_RELOAD_NODE_FORWARDED]
      += node->stats.forwarded - node->attributed_forwarded;
  node->type_counts[slot][DISCO_RELOAD_NODE_DROPPED]
      += node->stats.dropped - node->attributed_dropped;
  node->attributed_forwarded = node->stats.forwarded;
  node->attributed_dropped = node->stats.dropped;
}

GArray *
disco_reload_node_get_type_stats (DiscoReloadNode *node)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (DiscoReloadNodeTypeStats));
  for (guint slot = 0; slot < DISCO_RELOAD_NODE_TYPE_SLOTS; slot++)
    {
      const guint64 *c = node->type_counts[slot];
      if (c[0] == 0 && c[1] == 0 && c[2] == 0)
        continue;
      DiscoReloadNodeTypeStats t = { .code = code_of_slot (slot) };
      t.type = disco_reload_message_code_token (t.code);
      memcpy (t.count, c, sizeof t.count);
      g_array_append_val (out, t);
    }
  return out;
}

const char *
disco_reload_node_direction_name (DiscoReloadNodeDirection direction)
{
  switch (direction)
    {
      case DISCO_RELOAD_NODE_FORWARDED:
        return "forwarded";
      case DISCO_RELOAD_NODE_ANSWERED:
        return "answered";
      case DISCO_RELOAD_NODE_DROPPED:
        return "dropped";
      default:
        return "unknown";
    }
}

const char *
disco_reload_message_code_token (guint16 code)
{
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        return "probe_req";
      case DISCO_RELOAD_PROBE_ANS:
        return "probe_ans";
      case DISCO_RELOAD_ATTACH_REQ:
        return "attach_req";
      case DISCO_RELOAD_ATTACH_ANS:
        return "attach_ans";
      case DISCO_RELOAD_STORE_REQ:
        return "store_req";
      case DISCO_RELOAD_STORE_ANS:
        return "store_ans";
      case DISCO_RELOAD_FETCH_REQ:
        return "fetch_req";
      case DISCO_RELOAD_FETCH_ANS:
        return "fetch_ans";
      case DISCO_RELOAD_FIND_REQ:
        return "find_req";
      case DISCO_RELOAD_FIND_ANS:
        return "find_ans";
      case DISCO_RELOAD_JOIN_REQ:
        return "join_req";
      case DISCO_RELOAD_JOIN_ANS:
        return "join_ans";
      case DISCO_RELOAD_LEAVE_REQ:
        return "leave_req";
      case DISCO_RELOAD_LEAVE_ANS:
        return "leave_ans";
      case DISCO_RELOAD_UPDATE_REQ:
        return "update_req";
      case DISCO_RELOAD_UPDATE_ANS:
        return "update_ans";
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        return "route_query_req";
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        return "route_query_ans";
      case DISCO_RELOAD_PING_REQ:
        return "ping_req";
      case DISCO_RELOAD_PING_ANS:
        return "ping_ans";
      case DISCO_RELOAD_STAT_REQ:
        return "stat_req";
      case DISCO_RELOAD_STAT_ANS:
        return "stat_ans";
      case DISCO_RELOAD_APP_ATTACH_REQ:
        return "app_attach_req";
      case DISCO_RELOAD_APP_ATTACH_ANS:
        return "app_attach_ans";
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        return "config_update_req";
      case DISCO_RELOAD_CONFIG_UPDATE_ANS:
        return "config_update_ans";
      case DISCO_RELOAD_ERROR:
        return "error";
      default:
        return "unknown";
    }
}

/* ---- stored vs replicated --------------------------------------------------- */

typedef struct
{
  DiscoReloadNode *node;
  GHashTable *seen; /* Resource-ID bytes already counted */
  guint replicated;
} Split;

static void
split_resource (const DiscoReloadResourceId *resource, DiscoReloadStoreKindData *kd,
                gpointer user_data)
{
  Split *s = user_data;
  GBytes *key = g_bytes_new (resource->id, resource->len);
  if (g_hash_table_contains (s->seen, key))
    {
      g_bytes_unref (key);
      return;
    }
  g_hash_table_add (s->seen, key);
  DiscoReloadNodeId rid;
  /* A Resource-ID that is no Node-ID-sized key cannot be placed on the
   * ring; it counts as stored, like everything without Chord. */
  if (disco_chord_id_from_resource (resource, &rid)
      && !disco_chord_table_is_responsible (s->node->chord, &rid))
    s->replicated++;
}

void
disco_reload_node_stats_fill (DiscoReloadNode *node, DiscoReloadNodeStats *stats)
{
  stats->replicated = 0;
  if (node->chord == NULL || node->storage == NULL)
    return;
  Split s = {
    .node = node,
    .seen
    = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL),
  };
  disco_reload_storage_foreach (node->storage, split_resource, &s);
  g_hash_table_unref (s.seen);
  stats->replicated = s.replicated;
}

/* ---- links ------------------------------------------------------------------------ */

static json_object *
ms_or_null (gboolean have, gint64 us)
{
  return have ? json_object_new_double ((double)us / 1000.0) : NULL;
}

json_object *
disco_reload_node_links_to_json (DiscoReloadNode *node)
{
  json_object *arr = json_object_new_array ();
  for (guint i = 0; i < node->links->len; i++)
    {
      DiscoReloadLink *l = node->links->pdata[i];
      if (!disco_reload_link_is_open (l))
        continue;
      json_object *o = json_object_new_object ();
      const DiscoReloadNodeId *peer = disco_reload_link_get_peer_node_id (l);
      g_autofree char *hex = peer ? disco_reload_node_id_to_hex (peer) : NULL;
      json_object_object_add (o, "peer", hex ? json_object_new_string (hex) : NULL);
      g_autoptr (GSocketAddress) remote = disco_reload_link_get_remote_address (l);
      g_autofree char *remote_text = NULL;
      if (G_IS_INET_SOCKET_ADDRESS (remote))
        {
          GInetSocketAddress *in = G_INET_SOCKET_ADDRESS (remote);
          g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (in));
          remote_text
              = g_strdup_printf (g_inet_address_get_family (g_inet_socket_address_get_address (in))
                                         == G_SOCKET_FAMILY_IPV6
                                     ? "[%s]:%u"
                                     : "%s:%u",
                                 ip, g_inet_socket_address_get_port (in));
        }
      json_object_object_add (o, "remote",
                              remote_text ? json_object_new_string (remote_text) : NULL);
      json_object_object_add (
          o, "mode",
          json_object_new_string (
              disco_reload_link_get_mode (l) == DISCO_RELOAD_LINK_PLAINTEXT ? "plaintext" : "tls"));
      json_object_object_add (o, "established",
                              json_object_new_boolean (disco_reload_link_is_established (l)));
      const DiscoReloadRtt *rtt = disco_reload_link_get_rtt (l);
      json_object_object_add (o, "srtt_ms", ms_or_null (rtt->have_sample, rtt->srtt_us));
      json_object_object_add (o, "rttvar_ms", ms_or_null (rtt->have_sample, rtt->rttvar_us));
      json_object_object_add (o, "rto_ms", ms_or_null (TRUE, rtt->rto_us));
      json_object_array_add (arr, o);
    }
  return arr;
}
