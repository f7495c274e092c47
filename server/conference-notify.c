/* conference-notify.c: the RFC 4575 conference event package over RFC 6665.
 *
 * Notifier: every subscription gets a full document first, then partial
 * documents (version + 1 each) carrying only the users that changed, and a
 * state="deleted" document when the conference ends.  The roster is the
 * merged view: our own participants plus the participants that other foci
 * report as served by themselves (dc:served-by), so foci never echo each
 * other's users back.
 *
 * Subscriber: DiscoPeerLink subscribes to another focus and keeps its
 * document up to date with disco_ci_merge() (RFC 4575 §4.6).
 */
#define G_LOG_DOMAIN "disco-notify"

#include "conference.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag_io.h>
#include <libxml/xmlsave.h>

#include "conference-info.h"
#include "disco-vivaldi.h"

#define DEFAULT_EXPIRES 3600
#define PEER_EXPIRES "600"
#define PEER_RETRY_MS 2000

/* ---- rendering the merged view ------------------------------------------ */

typedef struct
{
  xmlDoc *doc; /* scratch document holding the <user> nodes */
  xmlNode *users;
  GHashTable *nodes; /* entity -> xmlNode (in doc) */
  GHashTable *text;  /* entity -> serialised node */
  GPtrArray *order;  /* entities, in rendering order */
} View;

static void
view_free (View *v)
{
  g_hash_table_destroy (v->nodes);
  g_hash_table_destroy (v->text);
  g_ptr_array_free (v->order, TRUE);
  xmlFreeDoc (v->doc);
  g_free (v);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (View, view_free)

static const char *
media_status (const DiscoSdpMedia *m)
{
  return m->send && m->recv ? "sendrecv" : m->send ? "sendonly" : m->recv ? "recvonly" : "inactive";
}

static gint
by_number (gconstpointer a, gconstpointer b)
{
  const DiscoParticipant *pa = *(DiscoParticipant *const *)a;
  const DiscoParticipant *pb = *(DiscoParticipant *const *)b;
  return (pa->joined_us > pb->joined_us) - (pa->joined_us < pb->joined_us);
}

static xmlNode *
user_node (View *v, const char *entity, const char *display)
{
  xmlNode *u = g_hash_table_lookup (v->nodes, entity);
  if (u)
    return u;
  u = disco_ci_add (v->users, "user", NULL);
  xmlNewProp (u, BAD_CAST "entity", BAD_CAST entity);
  xmlNewProp (u, BAD_CAST "state", BAD_CAST "full");
  if (display)
    disco_ci_add (u, "display-text", display);
  g_hash_table_insert (v->nodes, g_strdup (entity), u);
  g_ptr_array_add (v->order, g_strdup (entity));
  return u;
}

static gboolean
endpoint_taken (xmlNode *user, const char *entity)
{
  for (xmlNode *e = user->children; e; e = e->next)
    {
      xmlChar *have = xmlGetProp (e, BAD_CAST "entity");
      gboolean same = have && g_str_equal ((const char *)have, entity);
      xmlFree (have);
      if (same)
        return TRUE;
    }
  return FALSE;
}

static void
add_local (View *v, DiscoConference *conf, DiscoParticipant *p)
{
  xmlNode *u = user_node (v, p->aor ? p->aor : p->id, p->display);
  /* One device can hold several calls (sipp uses one Contact for all):
   * endpoint entities must stay unique within the user. */
  const char *contact = p->contact ? p->contact : p->aor;
  g_autofree char *entity = endpoint_taken (u, contact)
                                ? g_strdup_printf ("%s;disco-call=%s", contact, p->id)
                                : g_strdup (contact);
  xmlNode *e = disco_ci_add (u, "endpoint", NULL);
  xmlNewProp (e, BAD_CAST "entity", BAD_CAST entity);
  xmlNewProp (e, BAD_CAST "state", BAD_CAST "full");
  if (p->referred_by)
    disco_ci_add (disco_ci_add (e, "referred", NULL), "by", p->referred_by);
  disco_ci_add (e, "status", p->status);
  disco_ci_add (e, "joining-method", p->joining_method);
  if (p->remote_focus)
    {
      xmlNode *ji = disco_ci_add (e, "joining-info", NULL);
      disco_ci_add (ji, "reason", "delegated");
      disco_ci_add (ji, "by", p->remote_focus);
    }
  if (p->media.codec != DISCO_SDP_CODEC_NONE)
    {
      xmlNode *m = disco_ci_add (e, "media", NULL);
      xmlNewProp (m, BAD_CAST "id", BAD_CAST "1");
      disco_ci_add (m, "type", "audio");
      if (p->media.label)
        disco_ci_add (m, "label", p->media.label);
      if (p->media.ssrc)
        {
          char ssrc[16];
          g_snprintf (ssrc, sizeof ssrc, "%u", p->media.ssrc);
          disco_ci_add (m, "src-id", ssrc);
        }
      disco_ci_add (m, "status", media_status (&p->media));
    }
  if (p->media.video_offered)
    {
      xmlNode *m = disco_ci_add (e, "media", NULL);
      xmlNewProp (m, BAD_CAST "id", BAD_CAST "2");
      disco_ci_add (m, "type", "video");
      disco_ci_add (m, "status", "inactive");
    }
  if (p->call_id && p->from_tag && p->to_tag)
    {
      xmlNode *sip = disco_ci_add (disco_ci_add (e, "call-info", NULL), "sip", NULL);
      disco_ci_add (sip, "call-id", p->call_id);
      disco_ci_add (sip, "from-tag", p->from_tag);
      disco_ci_add (sip, "to-tag", p->to_tag);
    }
  disco_ci_add_dc (e, "served-by", disco_sip_agent_focus_uri (conf->agent));
  if (p->session_id)
    disco_ci_add_dc (e, "session-id", p->session_id);
  disco_ci_add_dc (e, "codec", disco_sdp_codec_name (p->media.codec));
}

/* Copies the endpoints @peer serves from one of its <user> elements. */
static void
add_remote (View *v, xmlNode *ru, const char *peer)
{
  xmlChar *entity = xmlGetProp (ru, BAD_CAST "entity");
  if (entity == NULL)
    return;
  xmlNode *target = NULL;
  gboolean local_user = FALSE;
  for (xmlNode *e = ru->children; e; e = e->next)
    {
      if (e->type != XML_ELEMENT_NODE || !xmlStrEqual (e->name, BAD_CAST "endpoint"))
        continue;
      g_autofree char *served = disco_ci_child_text (e, DISCO_DC_NS, "served-by");
      if (g_strcmp0 (served, peer) != 0)
        continue;
      if (target == NULL)
        {
          local_user = g_hash_table_contains (v->nodes, (const char *)entity);
          g_autofree char *display = disco_ci_child_text (ru, DISCO_CI_NS, "display-text");
          target = user_node (v, (const char *)entity, local_user ? NULL : display);
        }
      xmlChar *eid = xmlGetProp (e, BAD_CAST "entity");
      gboolean dup = eid && endpoint_taken (target, (const char *)eid);
      xmlFree (eid);
      if (dup)
        continue;
      xmlNode *copy = NULL;
      if (xmlDOMWrapCloneNode (NULL, ru->doc, e, &copy, v->doc, target, 1, 0) == 0 && copy)
        xmlAddChild (target, copy);
    }
  xmlFree (entity);
}

static View *
render (DiscoConference *conf)
{
  View *v = g_new0 (View, 1);
  xmlNode *root;
  v->doc = disco_ci_doc_new (conf->uri, "full", 0, &root);
  v->users = disco_ci_add (root, "users", NULL);
  v->nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  v->text = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  v->order = g_ptr_array_new_with_free_func (g_free);

  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  GHashTableIter it;
  gpointer val;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &val))
    g_ptr_array_add (parts, val);
  g_ptr_array_sort (parts, by_number);
  for (guint i = 0; i < parts->len; i++)
    {
      DiscoParticipant *p = g_ptr_array_index (parts, i);
      /* Shown once the dialog is confirmed (to-tag known), so a join is
       * one partial document, not two. */
      if (p->answered && p->to_tag)
        add_local (v, conf, p);
    }
  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      if (link->view == NULL)
        continue;
      xmlNode *users = disco_ci_find (xmlDocGetRootElement (link->view), DISCO_CI_NS, "users");
      for (xmlNode *u = users ? users->children : NULL; u; u = u->next)
        if (u->type == XML_ELEMENT_NODE && xmlStrEqual (u->name, BAD_CAST "user"))
          add_remote (v, u, link->peer_uri);
    }
  /* Users whose endpoints were all filtered away are dropped. */
  for (guint i = 0; i < v->order->len;)
    {
      const char *entity = g_ptr_array_index (v->order, i);
      xmlNode *u = g_hash_table_lookup (v->nodes, entity);
      if (disco_ci_find (u, DISCO_CI_NS, "endpoint") == NULL)
        {
          xmlUnlinkNode (u);
          xmlFreeNode (u);
          g_hash_table_remove (v->nodes, entity);
          g_ptr_array_remove_index (v->order, i);
          continue;
        }
      xmlBuffer *buf = xmlBufferCreate ();
      xmlNodeDump (buf, v->doc, u, 0, 0);
      g_hash_table_insert (v->text, g_ptr_array_index (v->order, i),
                           g_strdup ((const char *)xmlBufferContent (buf)));
      xmlBufferFree (buf);
      i++;
    }
  return v;
}

GHashTable *
disco_notify_render_users (DiscoConference *conf, guint *count)
{
  g_autoptr (View) v = render (conf);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, val;
  g_hash_table_iter_init (&it, v->text);
  while (g_hash_table_iter_next (&it, &k, &val))
    g_hash_table_insert (out, g_strdup (k), g_strdup (val));
  if (count)
    *count = g_hash_table_size (out);
  return out;
}

static xmlNode *
copy_into (xmlNode *parent, xmlNode *node)
{
  xmlNode *copy = NULL;
  if (xmlDOMWrapCloneNode (NULL, node->doc, node, &copy, parent->doc, parent, 1, 0) == 0 && copy)
    return xmlAddChild (parent, copy);
  return NULL;
}

/* A peer's dc:focus entry is relayed as it came; coordinates that are not
 * base64 of a valid Vivaldi coordinate would make our own documents invalid
 * (and mislead whoever picks a focus by them), so they are left out. */
static void
drop_bad_coordinates (xmlNode *focus)
{
  xmlNode *c = focus ? disco_ci_find (focus, DISCO_DC_NS, "coordinates") : NULL;
  if (c == NULL)
    return;
  g_autofree char *b64 = disco_ci_child_text (focus, DISCO_DC_NS, "coordinates");
  gsize len = 0;
  g_autofree guchar *raw = b64 ? g_base64_decode (g_strstrip (b64), &len) : NULL;
  DiscoVivaldiCoord coord;
  g_autoptr (GError) error = NULL;
  if (raw == NULL || !disco_vivaldi_decode (raw, len, &coord, &error))
    {
      g_autofree char *uri = (char *)xmlGetProp (focus, BAD_CAST "uri");
      g_info ("peer focus %s: coordinates left out: %s", uri ? uri : "?",
              error ? error->message : "not base64");
      xmlUnlinkNode (c);
      xmlFreeNode (c);
    }
}

static void
add_conference_state (xmlNode *root, guint users)
{
  char n[16];
  xmlNode *cs = disco_ci_add (root, "conference-state", NULL);
  g_snprintf (n, sizeof n, "%u", users);
  disco_ci_add (cs, "user-count", n);
  disco_ci_add (cs, "active", "true");
  disco_ci_add (cs, "locked", "false");
}

/* dc:foci: this focus, then every peer's own entry as it reports it. */
static void
add_foci (xmlNode *root, DiscoConference *conf)
{
  const DiscoFocusConfig *config = disco_sip_agent_config (conf->agent);
  guint load = g_hash_table_size (conf->participants);
  char n[16];
  xmlNode *foci = disco_ci_add_dc (root, "foci", NULL);
  xmlNode *me = disco_ci_add_dc (foci, "focus", NULL);
  xmlNewProp (me, BAD_CAST "uri", BAD_CAST disco_sip_agent_focus_uri (conf->agent));
  if (disco_sip_agent_node_id (conf->agent))
    xmlNewProp (me, BAD_CAST "node-id", BAD_CAST disco_sip_agent_node_id (conf->agent));
  xmlNewProp (me, BAD_CAST "state",
              BAD_CAST (conf->leaving                      ? "leaving"
                        : load >= config->max_participants ? "full"
                                                           : "active"));
  GBytes *coords = disco_sip_agent_coordinates (conf->agent);
  if (coords && g_bytes_get_size (coords) > 0)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (coords, &len);
      g_autofree char *b64 = g_base64_encode (data, len);
      xmlNode *c = disco_ci_add_dc (me, "coordinates", b64);
      /* disco.md §7: the first byte is the coordinate type, 1 = Vivaldi. */
      xmlNewProp (c, BAD_CAST "type", BAD_CAST (data[0] == 2 ? "landmarks" : "vivaldi"));
    }
  g_snprintf (n, sizeof n, "%u", config->max_participants);
  disco_ci_add_dc (me, "capacity", n);
  g_snprintf (n, sizeof n, "%u", load);
  disco_ci_add_dc (me, "load", n);
  g_autofree char *cascade
      = g_strdup_printf (strchr (config->rtp_address, ':') ? "[%s]:%u" : "%s:%u",
                         config->rtp_address, disco_conference_media_port (conf->media));
  disco_ci_add_dc (me, "cascade", cascade);

  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      xmlNode *pf = link->view
                        ? disco_ci_find (xmlDocGetRootElement (link->view), DISCO_DC_NS, "foci")
                        : NULL;
      for (xmlNode *f = pf ? pf->children : NULL; f; f = f->next)
        {
          xmlChar *uri = xmlGetProp (f, BAD_CAST "uri");
          gboolean own = uri && g_str_equal ((const char *)uri, link->peer_uri);
          xmlFree (uri);
          if (own && link->active)
            drop_bad_coordinates (copy_into (foci, f));
        }
    }
}

static xmlDoc *
full_document (DiscoConference *conf, View *v, guint32 version)
{
  xmlNode *root;
  xmlDoc *doc = disco_ci_doc_new (conf->uri, "full", version, &root);
  char n[16];

  xmlNode *desc = disco_ci_add (root, "conference-description", NULL);
  disco_ci_add (desc, "display-text", conf->user);
  xmlNode *uris = disco_ci_add (desc, "conf-uris", NULL);
  xmlNode *entry = disco_ci_add (uris, "entry", NULL);
  disco_ci_add (entry, "uri", conf->uri);
  disco_ci_add (entry, "purpose", "participation");
  g_snprintf (n, sizeof n, "%u", disco_sip_agent_config (conf->agent)->max_participants);
  disco_ci_add (desc, "maximum-user-count", n);
  xmlNode *am = disco_ci_add (desc, "available-media", NULL);
  xmlNode *ae = disco_ci_add (am, "entry", NULL);
  xmlNewProp (ae, BAD_CAST "label", BAD_CAST "audio");
  disco_ci_add (ae, "type", "audio");
  disco_ci_add (ae, "status", "sendrecv");

  add_conference_state (root, v->order->len);
  xmlNode *users = disco_ci_add (root, "users", NULL);
  xmlNewProp (users, BAD_CAST "state", BAD_CAST "full");
  for (guint i = 0; i < v->order->len; i++)
    copy_into (users, g_hash_table_lookup (v->nodes, g_ptr_array_index (v->order, i)));
  add_foci (root, conf);
  return doc;
}

static void
set_version (xmlDoc *doc, guint32 version)
{
  char n[16];
  g_snprintf (n, sizeof n, "%u", version);
  xmlSetProp (xmlDocGetRootElement (doc), BAD_CAST "version", BAD_CAST n);
}

static void
send_doc (DiscoSubscription *sub, xmlDoc *doc, gboolean final)
{
  g_autofree char *body = disco_ci_to_string (doc);
  nua_notify (sub->nh, NUTAG_SUBSTATE (final ? nua_substate_terminated : nua_substate_active),
              TAG_IF (final, SIPTAG_SUBSCRIPTION_STATE_STR ("terminated;reason=noresource")),
              SIPTAG_EVENT_STR ("conference"), SIPTAG_CONTENT_TYPE_STR (DISCO_CI_MIME),
              SIPTAG_PAYLOAD_STR (body), TAG_END ());
}

void
disco_notify_send_full (DiscoSubscription *sub)
{
  g_autoptr (View) v = render (sub->conf);
  xmlDoc *doc = full_document (sub->conf, v, ++sub->version);
  send_doc (sub, doc, FALSE);
  xmlFreeDoc (doc);
}

void
disco_notify_flush (DiscoConference *conf)
{
  g_autoptr (View) v = render (conf);
  g_autoptr (GPtrArray) changed = g_ptr_array_new ();
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < v->order->len; i++)
    {
      const char *entity = g_ptr_array_index (v->order, i);
      const char *old = g_hash_table_lookup (conf->advertised, entity);
      if (old == NULL || !g_str_equal (old, g_hash_table_lookup (v->text, entity)))
        g_ptr_array_add (changed, (gpointer)entity);
    }
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, conf->advertised);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (!g_hash_table_contains (v->text, k))
      g_ptr_array_add (gone, g_strdup (k));

  /* Remember what subscribers now know, even when nobody listens. */
  g_hash_table_remove_all (conf->advertised);
  for (guint i = 0; i < v->order->len; i++)
    {
      const char *entity = g_ptr_array_index (v->order, i);
      g_hash_table_insert (conf->advertised, g_strdup (entity),
                           g_strdup (g_hash_table_lookup (v->text, entity)));
    }
  if (changed->len == 0 && gone->len == 0 && !conf->foci_changed)
    return;
  conf->foci_changed = FALSE;

  xmlNode *root;
  xmlDoc *doc = disco_ci_doc_new (conf->uri, "partial", 0, &root);
  /* conference-state is atomic: all three children every time (§4.6). */
  add_conference_state (root, v->order->len);
  xmlNode *users = disco_ci_add (root, "users", NULL);
  xmlNewProp (users, BAD_CAST "state", BAD_CAST "partial");
  for (guint i = 0; i < changed->len; i++)
    copy_into (users, g_hash_table_lookup (v->nodes, g_ptr_array_index (changed, i)));
  for (guint i = 0; i < gone->len; i++)
    {
      xmlNode *u = disco_ci_add (users, "user", NULL);
      xmlNewProp (u, BAD_CAST "entity", BAD_CAST g_ptr_array_index (gone, i));
      xmlNewProp (u, BAD_CAST "state", BAD_CAST "deleted");
    }
  add_foci (root, conf);
  for (guint i = 0; i < conf->subscriptions->len; i++)
    {
      DiscoSubscription *sub = g_ptr_array_index (conf->subscriptions, i);
      set_version (doc, ++sub->version);
      send_doc (sub, doc, FALSE);
    }
  xmlFreeDoc (doc);
}

void
disco_subscription_free (DiscoSubscription *sub)
{
  if (sub->nh)
    nua_handle_bind (sub->nh, NULL);
  g_free (sub->subscriber);
  g_free (sub);
}

static void
subscription_drop (DiscoSubscription *sub)
{
  g_ptr_array_remove (sub->conf->subscriptions, sub);
  disco_subscription_free (sub);
}

void
disco_notify_terminate_all (DiscoConference *conf)
{
  while (conf->subscriptions->len > 0)
    {
      DiscoSubscription *sub = g_ptr_array_index (conf->subscriptions, 0);
      xmlDoc *doc = disco_ci_doc_new (conf->uri, "deleted", ++sub->version, NULL);
      send_doc (sub, doc, TRUE);
      xmlFreeDoc (doc);
      subscription_drop (sub);
    }
}

static gboolean
accepts_conference_info (sip_t const *sip)
{
  if (sip->sip_accept == NULL)
    return TRUE; /* the default for the package (§3.4) */
  for (sip_accept_t const *a = sip->sip_accept; a; a = a->ac_next)
    if (a->ac_type
        && (g_ascii_strcasecmp (a->ac_type, DISCO_CI_MIME) == 0 || g_str_equal (a->ac_type, "*/*")
            || g_ascii_strcasecmp (a->ac_type, "application/*") == 0))
      return TRUE;
  return FALSE;
}

static void
learn_peer (DiscoConference *conf, sip_t const *sip)
{
  sip_contact_t const *m = sip->sip_contact;
  if (m == NULL || m->m_url->url_host == NULL)
    return;
  g_autofree char *uri = g_strdup_printf ("sip:%s:%s", m->m_url->url_host,
                                          m->m_url->url_port ? m->m_url->url_port : "5060");
  if (g_str_equal (uri, disco_sip_agent_focus_uri (conf->agent)))
    return;
  for (guint i = 0; i < conf->peers->len; i++)
    if (g_str_equal (((DiscoPeerLink *)g_ptr_array_index (conf->peers, i))->peer_uri, uri))
      return;
  g_info ("conference %s: focus %s subscribed; subscribing back", conf->uri, uri);
  g_ptr_array_add (conf->peers, disco_peer_link_new (conf, uri));
}

void
disco_notify_incoming_subscribe (DiscoSipAgent *agent, int status, nua_handle_t *nh,
                                 DiscoSubscription *sub, sip_t const *sip, tagi_t tags[])
{
  nua_t *nua = disco_sip_agent_nua (agent);
  int substate = nua_substate_active;
  tl_gets (tags, NUTAG_SUBSTATE_REF (substate), TAG_END ());

  if (sub)
    {
      if (substate == nua_substate_terminated)
        subscription_drop (sub);
      else if (status < 300)
        /* A refresh (also how a subscriber recovers from a version gap):
         * nua repeated the last NOTIFY; send current full state. */
        disco_notify_send_full (sub);
      return;
    }

  if (sip == NULL || sip->sip_request == NULL)
    return;
  DiscoConference *conf = disco_sip_agent_find_conference (agent, sip->sip_request->rq_url);
  if (conf == NULL)
    {
      nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  if (!accepts_conference_info (sip))
    {
      nua_respond (nh, SIP_406_NOT_ACCEPTABLE, NUTAG_WITH_THIS (nua),
                   SIPTAG_ACCEPT_STR (DISCO_CI_MIME), TAG_END ());
      nua_handle_destroy (nh);
      return;
    }
  unsigned long expires = sip->sip_expires ? sip->sip_expires->ex_delta : DEFAULT_EXPIRES;
  if (expires > DEFAULT_EXPIRES)
    expires = DEFAULT_EXPIRES;
  char ex[32];
  g_snprintf (ex, sizeof ex, "%lu", expires);

  sub = g_new0 (DiscoSubscription, 1);
  sub->kind = DISCO_HANDLE_SUBSCRIPTION;
  sub->conf = conf;
  sub->nh = nh;
  sub->created_us = g_get_monotonic_time ();
  if (sip->sip_from)
    sub->subscriber = url_as_string (NULL, sip->sip_from->a_url);
  if (sub->subscriber)
    {
      char *copy = g_strdup (sub->subscriber);
      su_free (NULL, sub->subscriber);
      sub->subscriber = copy;
    }
  sub->is_focus
      = sip->sip_contact && msg_params_find (sip->sip_contact->m_params, "isfocus") != NULL;
  nua_handle_bind (nh, sub);

  /* RFC 6665 §8.3.1: 200, never 202. */
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_EXPIRES_STR (ex),
               SIPTAG_CONTACT_STR (conf->contact), SIPTAG_ALLOW_EVENTS_STR ("conference"),
               TAG_END ());
  if (expires == 0)
    {
      /* A fetch (RFC 6665 §4.4.3): one full document, then terminated. */
      g_autoptr (View) v = render (conf);
      xmlDoc *doc = full_document (conf, v, ++sub->version);
      g_autofree char *body = disco_ci_to_string (doc);
      nua_notify (nh, NUTAG_SUBSTATE (nua_substate_terminated),
                  SIPTAG_SUBSCRIPTION_STATE_STR ("terminated;reason=timeout"),
                  SIPTAG_EVENT_STR ("conference"), SIPTAG_CONTENT_TYPE_STR (DISCO_CI_MIME),
                  SIPTAG_PAYLOAD_STR (body), TAG_END ());
      xmlFreeDoc (doc);
      disco_subscription_free (sub);
      return;
    }
  g_ptr_array_add (conf->subscriptions, sub);
  disco_notify_send_full (sub);
  if (sub->is_focus)
    learn_peer (conf, sip);
}

void
disco_notify_response (DiscoSubscription *sub, int status, tagi_t tags[])
{
  int substate = nua_substate_active;
  tl_gets (tags, NUTAG_SUBSTATE_REF (substate), TAG_END ());
  /* Expired, or the subscriber answered 481 and the like. */
  if (substate == nua_substate_terminated || status == 481 || status == 408)
    subscription_drop (sub);
}

/* ---- subscribing to other foci ------------------------------------------ */

static gboolean peer_start (gpointer data);

static void
peer_schedule_retry (DiscoPeerLink *link)
{
  if (link->retry_source == 0)
    link->retry_source = g_timeout_add (PEER_RETRY_MS, peer_start, link);
}

/* Keeps one cascade leg per peer focus, at the address it publishes. */
static void
peer_update_cascade (DiscoPeerLink *link)
{
  DiscoConference *conf = link->conf;
  g_autofree char *addr = NULL;
  xmlNode *foci
      = link->view ? disco_ci_find (xmlDocGetRootElement (link->view), DISCO_DC_NS, "foci") : NULL;
  for (xmlNode *f = foci ? foci->children : NULL; f && addr == NULL; f = f->next)
    {
      xmlChar *uri = xmlGetProp (f, BAD_CAST "uri");
      if (uri && g_str_equal ((const char *)uri, link->peer_uri))
        addr = disco_ci_child_text (f, DISCO_DC_NS, "cascade");
      xmlFree (uri);
    }
  if (g_strcmp0 (addr, link->cascade) == 0)
    return;
  g_autoptr (GError) error = NULL;
  g_clear_pointer (&link->cascade, g_free);
  disco_conference_media_remove_cascade (conf->media, link->peer_uri);
  if (addr == NULL)
    return;
  if (disco_conference_media_add_cascade (conf->media, link->peer_uri, addr, &error))
    {
      g_info ("conference %s: cascade leg to %s at %s", conf->uri, link->peer_uri, addr);
      link->cascade = g_steal_pointer (&addr);
    }
  else
    g_warning ("conference %s: no cascade leg to %s: %s", conf->uri, link->peer_uri,
               error->message);
}

static void
peer_drop_view (DiscoPeerLink *link)
{
  link->active = FALSE;
  if (link->view)
    {
      g_clear_pointer (&link->view, xmlFreeDoc);
      disco_conference_changed (link->conf);
    }
  peer_update_cascade (link);
}

static gboolean
peer_start (gpointer data)
{
  DiscoPeerLink *link = data;
  DiscoConference *conf = link->conf;
  nua_t *nua = disco_sip_agent_nua (conf->agent);
  const char *hp = link->peer_uri + 4;

  link->retry_source = 0;
  if (link->nh)
    {
      nua_handle_bind (link->nh, NULL);
      nua_handle_destroy (link->nh);
    }
  g_autofree char *target = g_strdup_printf ("sip:%s@%s", conf->user, hp);
  g_autofree char *from
      = g_strdup_printf ("<sip:%s@%s>", conf->user, disco_sip_agent_hostport (conf->agent));
  link->nh = nua_handle (nua, link, NUTAG_URL (target), SIPTAG_TO_STR (target),
                         SIPTAG_FROM_STR (from), TAG_END ());
  nua_subscribe (link->nh, SIPTAG_EVENT_STR ("conference"), SIPTAG_ACCEPT_STR (DISCO_CI_MIME),
                 SIPTAG_EXPIRES_STR (PEER_EXPIRES), SIPTAG_CONTACT_STR (conf->contact), TAG_END ());
  return G_SOURCE_REMOVE;
}

DiscoPeerLink *
disco_peer_link_new (DiscoConference *conf, const char *peer_uri)
{
  DiscoPeerLink *link = g_new0 (DiscoPeerLink, 1);
  link->kind = DISCO_HANDLE_PEER_LINK;
  link->conf = conf;
  link->peer_uri = g_strdup (peer_uri);
  /* From the main loop, not from inside a sofia callback or constructor. */
  link->retry_source = g_idle_add (peer_start, link);
  return link;
}

void
disco_peer_link_free (DiscoPeerLink *link)
{
  if (link->retry_source)
    g_source_remove (link->retry_source);
  if (link->nh)
    {
      nua_handle_bind (link->nh, NULL);
      nua_handle_destroy (link->nh);
    }
  g_clear_pointer (&link->view, xmlFreeDoc);
  if (link->cascade)
    disco_conference_media_remove_cascade (link->conf->media, link->peer_uri);
  g_free (link->cascade);
  g_free (link->peer_uri);
  g_free (link);
}

void
disco_peer_link_response (DiscoPeerLink *link, int status, sip_t const *sip, tagi_t tags[])
{
  int substate = nua_substate_active;
  tl_gets (tags, NUTAG_SUBSTATE_REF (substate), TAG_END ());
  if (status < 200)
    return;
  if (status < 300 && substate != nua_substate_terminated)
    {
      link->active = TRUE;
      return;
    }
  g_debug ("subscription to %s ended (%d)", link->peer_uri, status);
  peer_drop_view (link);
  peer_schedule_retry (link);
}

void
disco_peer_link_notify (DiscoPeerLink *link, nua_handle_t *nh, sip_t const *sip, tagi_t tags[])
{
  int substate = nua_substate_active;
  g_autoptr (GError) error = NULL;
  tl_gets (tags, NUTAG_SUBSTATE_REF (substate), TAG_END ());

  link->notifies++;
  if (sip && sip->sip_payload && sip->sip_payload->pl_len > 0)
    {
      xmlDoc *doc = disco_ci_parse (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &error);
      if (doc == NULL)
        g_warning ("conference-info from %s rejected: %s", link->peer_uri, error->message);
      else
        {
          DiscoCiMergeResult r = disco_ci_merge (&link->view, doc, &error);
          xmlFreeDoc (doc);
          switch (r)
            {
              case DISCO_CI_MERGE_NEED_REFRESH:
                /* Lost a document (§4.6): a refresh brings full state. */
                link->refreshes++;
                nua_subscribe (link->nh, SIPTAG_EVENT_STR ("conference"),
                               SIPTAG_EXPIRES_STR (PEER_EXPIRES), TAG_END ());
                break;
              case DISCO_CI_MERGE_DELETED:
                peer_drop_view (link);
                break;
              case DISCO_CI_MERGE_STALE:
                if (error)
                  g_warning ("conference-info from %s: %s", link->peer_uri, error->message);
                break;
              default:
                link->active = TRUE;
                peer_update_cascade (link);
                disco_conference_match_delegated (link->conf);
                disco_conference_changed (link->conf);
                break;
            }
        }
    }
  if (substate == nua_substate_terminated)
    {
      peer_drop_view (link);
      peer_schedule_retry (link);
    }
}
