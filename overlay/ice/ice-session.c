/* ice-session.c: a libnice agent with one stream and one component, whose
 * candidates travel as RELOAD IceCandidate structures. */
#define G_LOG_DOMAIN "disco-ice"

#include "disco-ice.h"

#include <nice/agent.h>
#include <string.h>

G_DEFINE_QUARK (disco - ice - error - quark, disco_ice_error)

struct _DiscoIceSession
{
  GMainContext *context;
  NiceAgent *agent;
  guint stream_id;
  DiscoIceConfig config;
  DiscoIceState state;
  char *ufrag, *password;
  DiscoIceStateFunc state_func;
  DiscoIceRecvFunc recv_func;
  gpointer user_data;
};

const char *
disco_ice_state_to_string (DiscoIceState state)
{
  static const char *names[]
      = { "new", "gathering", "gathered", "checking", "connected", "failed", "closed" };
  return state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

static void
set_state (DiscoIceSession *self, DiscoIceState state)
{
  if (self->state == state)
    return;
  g_debug ("ICE %s -> %s", disco_ice_state_to_string (self->state),
           disco_ice_state_to_string (state));
  self->state = state;
  if (self->state_func)
    self->state_func (self, state, self->user_data);
}

static void
on_gathering_done (NiceAgent *agent, guint stream_id, gpointer user_data)
{
  DiscoIceSession *self = user_data;
  if (self->state == DISCO_ICE_STATE_GATHERING)
    set_state (self, DISCO_ICE_STATE_GATHERED);
}

static void
on_component_state (NiceAgent *agent, guint stream_id, guint component_id, guint state,
                    gpointer user_data)
{
  DiscoIceSession *self = user_data;

  switch (state)
    {
      case NICE_COMPONENT_STATE_CONNECTING:
        set_state (self, DISCO_ICE_STATE_CHECKING);
        break;
      case NICE_COMPONENT_STATE_CONNECTED:
      case NICE_COMPONENT_STATE_READY:
        set_state (self, DISCO_ICE_STATE_CONNECTED);
        break;
      case NICE_COMPONENT_STATE_FAILED:
        set_state (self, DISCO_ICE_STATE_FAILED);
        break;
      default:
        break;
    }
}

static void
on_recv (NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
         gpointer user_data)
{
  DiscoIceSession *self = user_data;
  if (self->recv_func)
    self->recv_func (self, (const guint8 *)buf, len, self->user_data);
}

DiscoIceSession *
disco_ice_session_new (GMainContext *context, const DiscoIceConfig *config, GError **error)
{
  g_autoptr (DiscoIceSession) self = g_new0 (DiscoIceSession, 1);

  self->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  self->config = *config;
  self->config.local_addresses = NULL; /* not kept */
  self->config.stun_server = NULL;

  self->agent = nice_agent_new (self->context, NICE_COMPATIBILITY_RFC5245);
  /* UPnP would send SSDP multicast to every interface: never. */
  g_object_set (self->agent, "upnp", FALSE, "controlling-mode", config->controlling, "ice-tcp",
                FALSE, NULL);
  if (config->stun_server)
    g_object_set (self->agent, "stun-server", config->stun_server, "stun-server-port",
                  config->stun_port ? config->stun_port : 3478, NULL);

  for (const char *const *a = config->local_addresses; a && *a; a++)
    {
      NiceAddress addr;
      if (!nice_address_set_from_string (&addr, *a))
        {
          g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_FAILED,
                       "'%s' is not a numeric IP address", *a);
          return NULL;
        }
      nice_agent_add_local_address (self->agent, &addr);
    }

  self->stream_id = nice_agent_add_stream (self->agent, 1);
  if (self->stream_id == 0)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_FAILED, "libnice refused a stream");
      return NULL;
    }
  nice_agent_set_stream_name (self->agent, self->stream_id, "application");
  g_signal_connect (self->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), self);
  g_signal_connect (self->agent, "component-state-changed", G_CALLBACK (on_component_state), self);
  nice_agent_attach_recv (self->agent, self->stream_id, 1, self->context, on_recv, self);

  if (!nice_agent_get_local_credentials (self->agent, self->stream_id, &self->ufrag,
                                         &self->password))
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_FAILED, "no local ICE credentials");
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
disco_ice_session_set_callbacks (DiscoIceSession *self, DiscoIceStateFunc state_func,
                                 DiscoIceRecvFunc recv_func, gpointer user_data)
{
  self->state_func = state_func;
  self->recv_func = recv_func;
  self->user_data = user_data;
}

gboolean
disco_ice_session_gather (DiscoIceSession *self, GError **error)
{
  set_state (self, DISCO_ICE_STATE_GATHERING);
  if (!nice_agent_gather_candidates (self->agent, self->stream_id))
    {
      set_state (self, DISCO_ICE_STATE_FAILED);
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_FAILED,
                   "candidate gathering failed (no usable local address?)");
      return FALSE;
    }
  return TRUE;
}

const char *
disco_ice_session_get_ufrag (DiscoIceSession *self)
{
  return self->ufrag;
}

const char *
disco_ice_session_get_password (DiscoIceSession *self)
{
  return self->password;
}

static void
to_reload_addr (const NiceAddress *na, DiscoReloadIpAddressPort *out)
{
  struct sockaddr_storage ss;
  memset (out, 0, sizeof *out);
  nice_address_copy_to_sockaddr (na, (struct sockaddr *)&ss);
  if (ss.ss_family == AF_INET6)
    {
      out->type = 2;
      memcpy (out->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    }
  else
    {
      out->type = 1;
      memcpy (out->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    }
  out->port = (guint16)nice_address_get_port (na);
}

static gboolean
from_reload_addr (const DiscoReloadIpAddressPort *in, NiceAddress *out)
{
  nice_address_init (out);
  if (in->type == 1)
    nice_address_set_ipv4 (out, (guint32)in->addr[0] << 24 | in->addr[1] << 16 | in->addr[2] << 8
                                    | in->addr[3]);
  else if (in->type == 2)
    nice_address_set_ipv6 (out, in->addr);
  else
    return FALSE;
  nice_address_set_port (out, in->port);
  return in->port != 0;
}

GPtrArray *
disco_ice_session_get_local_candidates (DiscoIceSession *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_ice_candidate_free);
  GSList *list = nice_agent_get_local_candidates (self->agent, self->stream_id, 1);

  for (GSList *l = list; l; l = l->next)
    {
      NiceCandidate *nc = l->data;
      if (nc->transport != NICE_CANDIDATE_TRANSPORT_UDP)
        continue;
      DiscoReloadIceCandidate *c = disco_reload_ice_candidate_new ();
      to_reload_addr (&nc->addr, &c->addr_port);
      c->overlay_link = self->config.overlay_link;
      c->foundation = g_strdup (nc->foundation);
      c->priority = nc->priority;
      switch (nc->type)
        {
          case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
          case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
            c->type = DISCO_RELOAD_CAND_SRFLX;
            to_reload_addr (&nc->base_addr, &c->rel_addr_port);
            break;
          case NICE_CANDIDATE_TYPE_RELAYED:
            c->type = DISCO_RELOAD_CAND_RELAY;
            to_reload_addr (&nc->base_addr, &c->rel_addr_port);
            break;
          default:
            c->type = DISCO_RELOAD_CAND_HOST;
            break;
        }
      g_ptr_array_add (out, c);
    }
  g_slist_free_full (list, (GDestroyNotify)nice_candidate_free);
  return out;
}

gboolean
disco_ice_session_set_remote (DiscoIceSession *self, const char *ufrag, const char *password,
                              GPtrArray *candidates, GError **error)
{
  GSList *list = NULL;

  if (ufrag == NULL || password == NULL || !*ufrag || !*password)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_BAD_CANDIDATE,
                   "missing ICE credentials");
      return FALSE;
    }
  for (guint i = 0; candidates && i < candidates->len; i++)
    {
      const DiscoReloadIceCandidate *c = g_ptr_array_index (candidates, i);
      NiceCandidateType type = c->type == DISCO_RELOAD_CAND_SRFLX
                                   ? NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE
                               : c->type == DISCO_RELOAD_CAND_RELAY ? NICE_CANDIDATE_TYPE_RELAYED
                                                                    : NICE_CANDIDATE_TYPE_HOST;
      NiceCandidate *nc = nice_candidate_new (type);
      if (!from_reload_addr (&c->addr_port, &nc->addr) || c->foundation == NULL
          || strlen (c->foundation) >= NICE_CANDIDATE_MAX_FOUNDATION)
        {
          g_debug ("skipping unusable remote candidate %u", i);
          nice_candidate_free (nc);
          continue;
        }
      nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
      nc->stream_id = self->stream_id;
      nc->component_id = 1;
      nc->priority = c->priority;
      g_strlcpy (nc->foundation, c->foundation, NICE_CANDIDATE_MAX_FOUNDATION);
      if (type != NICE_CANDIDATE_TYPE_HOST)
        from_reload_addr (&c->rel_addr_port, &nc->base_addr);
      list = g_slist_append (list, nc);
    }
  if (list == NULL)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_BAD_CANDIDATE,
                   "no usable remote candidate");
      return FALSE;
    }

  gboolean ok = nice_agent_set_remote_credentials (self->agent, self->stream_id, ufrag, password)
                && nice_agent_set_remote_candidates (self->agent, self->stream_id, 1, list) > 0;
  g_slist_free_full (list, (GDestroyNotify)nice_candidate_free);
  if (!ok)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_BAD_CANDIDATE,
                   "libnice refused the remote candidates");
      return FALSE;
    }
  if (self->state < DISCO_ICE_STATE_CHECKING)
    set_state (self, DISCO_ICE_STATE_CHECKING);
  return TRUE;
}

DiscoIceState
disco_ice_session_get_state (DiscoIceSession *self)
{
  return self->state;
}

gboolean
disco_ice_session_send (DiscoIceSession *self, const guint8 *data, gsize len, GError **error)
{
  if (self->state != DISCO_ICE_STATE_CONNECTED)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_NOT_CONNECTED, "ICE is %s",
                   disco_ice_state_to_string (self->state));
      return FALSE;
    }
  if (nice_agent_send (self->agent, self->stream_id, 1, (guint)len, (const gchar *)data) < 0)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_FAILED,
                   "sending on the ICE pair failed");
      return FALSE;
    }
  return TRUE;
}

char *
disco_ice_session_describe_pair (DiscoIceSession *self)
{
  NiceCandidate *local = NULL, *remote = NULL;
  char l[NICE_ADDRESS_STRING_LEN], r[NICE_ADDRESS_STRING_LEN];

  if (!nice_agent_get_selected_pair (self->agent, self->stream_id, 1, &local, &remote))
    return NULL;
  nice_address_to_string (&local->addr, l);
  nice_address_to_string (&remote->addr, r);
  return g_strdup_printf ("%s:%u %s:%u", l, nice_address_get_port (&local->addr), r,
                          nice_address_get_port (&remote->addr));
}

void
disco_ice_session_free (DiscoIceSession *self)
{
  if (self == NULL)
    return;
  if (self->agent)
    {
      g_signal_handlers_disconnect_by_data (self->agent, self);
      if (self->stream_id)
        {
          nice_agent_attach_recv (self->agent, self->stream_id, 1, self->context, NULL, NULL);
          nice_agent_remove_stream (self->agent, self->stream_id);
        }
      g_object_unref (self->agent);
    }
  g_free (self->ufrag);
  g_free (self->password);
  g_main_context_unref (self->context);
  g_free (self);
}
