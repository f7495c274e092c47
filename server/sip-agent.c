/* sip-agent.c: NUA lifecycle (create, learn the bound port, shut down) and
 * the event dispatcher that hands each sofia event to its handler. */
#define G_LOG_DOMAIN "disco-sip"

#include "sip-agent.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/soa_tag.h>
#include <sofia-sip/su_tag_io.h>

#include "conference.h"
#include "conference-info.h"
#include "sip-admission.h"
#include "disco-build-config.h"

/* Smoothed main-loop lateness past which new calls are refused: beyond
 * about T1 (500 ms) callers retransmit and every retransmission is more
 * work for a loop that is already behind. */
#define ADMISSION_LAG_LIMIT_MS 750

struct _DiscoSipAgent
{
  su_root_t *root;
  nua_t *nua;
  const DiscoFocusConfig *config;
  GInetSocketAddress *bound;
  char *hostport;
  char *focus_uri;
  char *node_id;
  GBytes *coordinates;
  DiscoAdmission *admission;
  GHashTable *conferences; /* user part -> DiscoConference */
  guint64 sdp_sessions;
  gboolean got_params;
  gboolean shutdown_started;
  gboolean shutdown_done;
  int last_status;
};

nua_t *
disco_sip_agent_nua (DiscoSipAgent *self)
{
  return self->nua;
}

const DiscoFocusConfig *
disco_sip_agent_config (DiscoSipAgent *self)
{
  return self->config;
}

const char *
disco_sip_agent_focus_uri (DiscoSipAgent *self)
{
  return self->focus_uri;
}

const char *
disco_sip_agent_hostport (DiscoSipAgent *self)
{
  return self->hostport;
}

void
disco_sip_agent_set_node_id (DiscoSipAgent *self, const char *node_id_hex)
{
  g_free (self->node_id);
  self->node_id = g_strdup (node_id_hex);
}

const char *
disco_sip_agent_node_id (DiscoSipAgent *self)
{
  return self->node_id;
}

void
disco_sip_agent_set_coordinates (DiscoSipAgent *self, GBytes *coordinates)
{
  g_clear_pointer (&self->coordinates, g_bytes_unref);
  if (coordinates)
    self->coordinates = g_bytes_ref (coordinates);
  /* Subscribers learn new coordinates with the next partial document. */
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      ((DiscoConference *)v)->foci_changed = TRUE;
      disco_conference_changed (v);
    }
}

char **
disco_sip_agent_peer_uris (DiscoSipAgent *self)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      GPtrArray *peers = ((DiscoConference *)v)->peers;
      for (guint i = 0; i < peers->len; i++)
        {
          DiscoPeerLink *link = g_ptr_array_index (peers, i);
          if (g_hash_table_add (seen, link->peer_uri))
            g_ptr_array_add (out, g_strdup (link->peer_uri));
        }
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

/* The peer's own dc:focus entry in a merged view, or NULL. */
static xmlNode *
own_focus_entry (xmlDoc *view, const char *peer_uri)
{
  xmlNode *foci = view ? disco_ci_find (xmlDocGetRootElement (view), DISCO_DC_NS, "foci") : NULL;
  for (xmlNode *f = foci ? foci->children : NULL; f; f = f->next)
    {
      if (f->type != XML_ELEMENT_NODE || !xmlStrEqual (f->name, BAD_CAST "focus"))
        continue;
      g_autofree char *uri = (char *)xmlGetProp (f, BAD_CAST "uri");
      if (g_strcmp0 (uri, peer_uri) == 0)
        return f;
    }
  return NULL;
}

GBytes *
disco_sip_agent_peer_coordinates (DiscoSipAgent *self, const char *peer_uri)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      GPtrArray *peers = ((DiscoConference *)v)->peers;
      for (guint i = 0; i < peers->len; i++)
        {
          DiscoPeerLink *link = g_ptr_array_index (peers, i);
          if (!g_str_equal (link->peer_uri, peer_uri))
            continue;
          g_autofree char *b64 = disco_ci_child_text (own_focus_entry (link->view, peer_uri),
                                                      DISCO_DC_NS, "coordinates");
          if (b64 == NULL)
            continue;
          gsize len = 0;
          guchar *raw = g_base64_decode (g_strstrip (b64), &len);
          if (raw && len > 0)
            return g_bytes_new_take (raw, len);
          g_free (raw);
        }
    }
  return NULL;
}

DiscoAdmission *
disco_sip_agent_admission (DiscoSipAgent *self)
{
  return self->admission;
}

GBytes *
disco_sip_agent_coordinates (DiscoSipAgent *self)
{
  return self->coordinates;
}

guint64
disco_sip_agent_next_sdp_session (DiscoSipAgent *self)
{
  return (guint64)g_get_real_time () + ++self->sdp_sessions;
}

DiscoConference *
disco_sip_agent_find_conference (DiscoSipAgent *self, const url_t *url)
{
  if (url == NULL || url->url_user == NULL)
    return NULL;
  return g_hash_table_lookup (self->conferences, url->url_user);
}

guint
disco_sip_agent_participant_count (DiscoSipAgent *self)
{
  guint n = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    n += g_hash_table_size (((DiscoConference *)v)->participants);
  return n;
}

guint
disco_sip_agent_subscription_count (DiscoSipAgent *self)
{
  guint n = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    n += ((DiscoConference *)v)->subscriptions->len;
  return n;
}

gboolean
disco_sip_agent_conference_status (DiscoSipAgent *self, const char *uri, json_object *obj)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->conferences);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoConference *conf = v;
      if (g_str_equal (conf->uri, uri))
        {
          disco_conference_add_status (conf, obj);
          return TRUE;
        }
    }
  return FALSE;
}

static DiscoHandleKind
kind_of (nua_hmagic_t *hmagic)
{
  return hmagic ? *(DiscoHandleKind *)hmagic : 0;
}

static void
on_state (DiscoSipAgent *self, nua_handle_t *nh, nua_hmagic_t *hmagic, int status, sip_t const *sip,
          tagi_t tags[])
{
  int state = nua_callstate_init;
  tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());

  if (kind_of (hmagic) == DISCO_HANDLE_PARTICIPANT)
    {
      disco_call_state ((DiscoParticipant *)hmagic, status, sip, tags);
      if (state == nua_callstate_terminated)
        {
          disco_participant_remove ((DiscoParticipant *)hmagic);
          nua_handle_destroy (nh);
        }
      return;
    }
  /* A call we never bound (rejected INVITE): free the handle, or handles
   * pile up under load. */
  if (state == nua_callstate_terminated && hmagic == NULL && nh)
    nua_handle_destroy (nh);
}

static void
on_event (nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic,
          nua_handle_t *nh, nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[])
{
  DiscoSipAgent *self = (DiscoSipAgent *)magic;
  DiscoHandleKind kind = kind_of (hmagic);

  switch (event)
    {
      case nua_r_get_params:
        {
          sip_contact_t const *m = NULL;
          tl_gets (tags, NTATAG_CONTACT_REF (m), TAG_END ());
          if (m && m->m_url->url_host && self->bound == NULL)
            {
              /* sofia keeps IPv6 hosts in brackets, which is what the parser wants. */
              const char *port = m->m_url->url_port ? m->m_url->url_port : "5060";
              self->hostport = g_strdup_printf ("%s:%s", m->m_url->url_host, port);
              self->focus_uri = g_strdup_printf ("sip:%s", self->hostport);
              self->bound = disco_address_parse (self->hostport, NULL);
            }
          self->got_params = TRUE;
          break;
        }
      case nua_r_shutdown:
        self->last_status = status;
        if (status >= 200)
          self->shutdown_done = TRUE;
        break;
      case nua_i_invite:
        if (self->shutdown_started)
          {
            nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR ("5"), TAG_END ());
            break;
          }
        disco_call_incoming_invite (
            self, nh, kind == DISCO_HANDLE_PARTICIPANT ? (DiscoParticipant *)hmagic : NULL, sip,
            tags);
        break;
      case nua_i_ack:
        if (kind == DISCO_HANDLE_PARTICIPANT)
          disco_call_ack ((DiscoParticipant *)hmagic, sip);
        break;
      case nua_i_state:
        on_state (self, nh, hmagic, status, sip, tags);
        break;
      case nua_i_update:
        if (kind == DISCO_HANDLE_PARTICIPANT)
          disco_call_update ((DiscoParticipant *)hmagic, nh, sip);
        else if (status < 200)
          nua_respond (nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS (nua), TAG_END ());
        break;
      case nua_i_options:
        disco_call_options (self, nh, sip);
        if (hmagic == NULL)
          nua_handle_destroy (nh);
        break;
      case nua_r_options:
        if (kind == DISCO_HANDLE_PING)
          disco_ping_response (hmagic, status);
        break;
      case nua_r_invite:
        if (kind == DISCO_HANDLE_PARTICIPANT)
          disco_call_invite_response ((DiscoParticipant *)hmagic, status, sip);
        break;
      case nua_i_subscribe:
        if (kind == DISCO_HANDLE_PARTICIPANT)
          {
            /* RFC 4579 §3.4: conference subscriptions go outside the call. */
            if (status < 200)
              nua_respond (nh, 403, "Subscribe outside the INVITE dialog", NUTAG_WITH_THIS (nua),
                           TAG_END ());
            break;
          }
        if (self->shutdown_started && hmagic == NULL)
          {
            nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS (nua), TAG_END ());
            nua_handle_destroy (nh);
            break;
          }
        disco_notify_incoming_subscribe (
            self, status, nh,
            kind == DISCO_HANDLE_SUBSCRIPTION ? (DiscoSubscription *)hmagic : NULL, sip, tags);
        break;
      case nua_r_notify:
        if (kind == DISCO_HANDLE_SUBSCRIPTION)
          disco_notify_response ((DiscoSubscription *)hmagic, status, tags);
        break;
      case nua_i_notify:
        if (kind == DISCO_HANDLE_PEER_LINK)
          disco_peer_link_notify ((DiscoPeerLink *)hmagic, nh, sip, tags);
        else if (kind == DISCO_HANDLE_PARTICIPANT)
          disco_refer_progress ((DiscoParticipant *)hmagic, status, sip);
        break;
      case nua_r_subscribe:
      case nua_r_unsubscribe:
        if (kind == DISCO_HANDLE_PEER_LINK)
          disco_peer_link_response ((DiscoPeerLink *)hmagic, status, sip, tags);
        break;
      case nua_i_refer:
        disco_refer_incoming (self, nh, hmagic, sip, tags);
        break;
      case nua_r_refer:
        if (kind == DISCO_HANDLE_PARTICIPANT && status >= 300)
          disco_refer_progress ((DiscoParticipant *)hmagic, status, NULL);
        break;
      case nua_i_error:
        g_debug ("nua error %d %s", status, phrase ? phrase : "");
        break;
      default:
        g_debug ("nua event %s %d %s", nua_event_name (event), status, phrase ? phrase : "");
        break;
    }
}

DiscoSipAgent *
disco_sip_agent_new (su_root_t *root, const DiscoFocusConfig *config, GError **error)
{
  g_autofree char *hostport = disco_address_to_string (config->sip_listen);
  g_autofree char *url = g_strdup_printf ("sip:%s", hostport);
  DiscoSipAgent *self = g_new0 (DiscoSipAgent, 1);

  self->root = root;
  self->config = config;
  self->conferences = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify)disco_conference_free);
  self->admission = disco_admission_new (config->max_join_rate, ADMISSION_LAG_LIMIT_MS);
  /* Media is negotiated by sdp-answer.c (GstSDPMessage), so soa is off;
   * REFER, OPTIONS and UPDATE are answered by us (isfocus Contact, 200 not
   * 202 per RFC 7647). */
  self->nua = nua_create (
      root, on_event, (nua_magic_t *)self, NUTAG_URL (url),
      NUTAG_USER_AGENT ("disco-focus/" DISCO_VERSION), NUTAG_MEDIA_ENABLE (0), NUTAG_AUTOANSWER (0),
      NUTAG_AUTOALERT (0),
      NUTAG_ALLOW ("INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, "
                   "SUBSCRIBE, NOTIFY"),
      NUTAG_ALLOW_EVENTS ("conference"), NUTAG_APPL_METHOD ("OPTIONS"), NUTAG_APPL_METHOD ("REFER"),
      NUTAG_APPL_METHOD ("UPDATE"), NUTAG_SUPPORTED ("replaces, timer"), NUTAG_SESSION_TIMER (1800),
      NUTAG_MIN_SE (90), NUTAG_SESSION_REFRESHER (nua_remote_refresher), NUTAG_SUB_EXPIRES (3600),
      SOATAG_ADDRESS (config->rtp_address), TAG_END ());
  if (self->nua == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot listen for SIP on %s (address in use or not local?)", hostport);
      g_hash_table_destroy (self->conferences);
      g_free (self);
      return NULL;
    }

  nua_get_params (self->nua, TAG_ANY (), TAG_END ());
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  while (!self->got_params && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  if (self->bound == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SIP stack did not report its address");
      disco_sip_agent_shutdown (self, 2000);
      disco_sip_agent_free (self);
      return NULL;
    }

  for (char **c = config->conferences; c && *c; c++)
    {
      DiscoConference *conf = disco_conference_new (self, *c, error);
      if (conf == NULL)
        {
          disco_sip_agent_shutdown (self, 2000);
          disco_sip_agent_free (self);
          return NULL;
        }
      if (g_hash_table_contains (self->conferences, conf->user))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "conference %s: another conference has the user part '%s'", *c, conf->user);
          disco_conference_free (conf);
          disco_sip_agent_shutdown (self, 2000);
          disco_sip_agent_free (self);
          return NULL;
        }
      g_hash_table_insert (self->conferences, conf->user, conf);
    }
  g_info ("SIP listening on %s", self->hostport);
  return self;
}

GInetSocketAddress *
disco_sip_agent_get_address (DiscoSipAgent *self)
{
  return self->bound;
}

gboolean
disco_sip_agent_shutdown (DiscoSipAgent *self, guint timeout_ms)
{
  if (self->nua == NULL || self->shutdown_done)
    return TRUE;
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  if (!self->shutdown_started)
    {
      self->shutdown_started = TRUE;
      GHashTableIter it;
      gpointer v;
      /* Hand participants to other foci first; give that half the time. */
      guint delegated = 0;
      g_hash_table_iter_init (&it, self->conferences);
      while (g_hash_table_iter_next (&it, NULL, &v))
        delegated += disco_conference_drain (v);
      if (delegated)
        {
          g_info ("delegating %u participants before leaving", delegated);
          gint64 drain = g_get_monotonic_time () + (gint64)timeout_ms * 500;
          while (g_get_monotonic_time () < drain)
            {
              guint busy = 0;
              g_hash_table_iter_init (&it, self->conferences);
              while (g_hash_table_iter_next (&it, NULL, &v))
                busy += disco_conference_delegating (v);
              if (busy == 0)
                break;
              if (!g_main_context_iteration (NULL, FALSE))
                g_usleep (1000);
            }
        }
      g_hash_table_iter_init (&it, self->conferences);
      while (g_hash_table_iter_next (&it, NULL, &v))
        disco_conference_end (v);
      /* Let the final NOTIFYs and BYEs leave before the stack stops. */
      gint64 grace = g_get_monotonic_time () + 300 * 1000;
      while (g_get_monotonic_time () < grace && g_get_monotonic_time () < deadline)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
      nua_shutdown (self->nua);
    }
  while (!self->shutdown_done && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return self->shutdown_done;
}

void
disco_sip_agent_free (DiscoSipAgent *self)
{
  if (self == NULL)
    return;
  /* Conferences first: they unbind their structs from the handles. */
  g_clear_pointer (&self->conferences, g_hash_table_destroy);
  if (self->nua)
    nua_destroy (self->nua);
  g_clear_object (&self->bound);
  g_free (self->hostport);
  g_free (self->focus_uri);
  g_free (self->node_id);
  g_clear_pointer (&self->coordinates, g_bytes_unref);
  g_free (self);
}
