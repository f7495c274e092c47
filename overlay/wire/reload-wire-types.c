/* reload-wire-types.c: constructors, destructors and small helpers. */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

gboolean
disco_reload_node_id_equal (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b)
{
  return memcmp (a->id, b->id, DISCO_RELOAD_NODE_ID_LENGTH) == 0;
}

gboolean
disco_reload_node_id_is_wildcard (const DiscoReloadNodeId *id)
{
  for (guint i = 0; i < DISCO_RELOAD_NODE_ID_LENGTH; i++)
    if (id->id[i] != 0xff)
      return FALSE;
  return TRUE;
}

void
disco_reload_resource_id_set (DiscoReloadResourceId *rid, const guint8 *bytes, gsize len)
{
  g_return_if_fail (len <= DISCO_RELOAD_RESOURCE_ID_MAX);
  rid->len = (guint8)len;
  if (len > 0)
    memcpy (rid->id, bytes, len);
}

guint32
disco_reload_overlay_hash (const char *instance_name)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize dlen = sizeof digest;

  g_checksum_update (sum, (const guchar *)instance_name, -1);
  g_checksum_get_digest (sum, digest, &dlen);
  return ((guint32)digest[16] << 24) | ((guint32)digest[17] << 16) | ((guint32)digest[18] << 8)
         | digest[19];
}

void
disco_reload_destination_set_node (DiscoReloadDestination *d, const DiscoReloadNodeId *id)
{
  memset (d, 0, sizeof *d);
  d->type = DISCO_RELOAD_DESTINATION_NODE;
  d->node = *id;
}

void
disco_reload_destination_set_resource (DiscoReloadDestination *d, const DiscoReloadResourceId *rid)
{
  memset (d, 0, sizeof *d);
  d->type = DISCO_RELOAD_DESTINATION_RESOURCE;
  d->resource.len = rid->len;
  memcpy (d->resource.id, rid->id, rid->len);
}

static void
forwarding_option_clear (gpointer p)
{
  DiscoReloadForwardingOption *o = p;

  g_clear_pointer (&o->value, g_bytes_unref);
}

void
disco_reload_forwarding_header_init (DiscoReloadForwardingHeader *hdr)
{
  memset (hdr, 0, sizeof *hdr);
  hdr->version = DISCO_RELOAD_VERSION;
  hdr->ttl = DISCO_RELOAD_DEFAULT_TTL;
  hdr->fragment = DISCO_RELOAD_FRAGMENT_UNFRAGMENTED;
  hdr->via_list = g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination));
  hdr->destination_list = g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination));
  hdr->options = g_array_new (FALSE, TRUE, sizeof (DiscoReloadForwardingOption));
  g_array_set_clear_func (hdr->options, forwarding_option_clear);
}

void
disco_reload_forwarding_header_clear (DiscoReloadForwardingHeader *hdr)
{
  g_clear_pointer (&hdr->via_list, g_array_unref);
  g_clear_pointer (&hdr->destination_list, g_array_unref);
  g_clear_pointer (&hdr->options, g_array_unref);
}

void
disco_reload_signer_identity_clear (DiscoReloadSignerIdentity *id)
{
  g_clear_pointer (&id->hash, g_bytes_unref);
}

void
disco_reload_signature_clear (DiscoReloadSignature *sig)
{
  disco_reload_signer_identity_clear (&sig->identity);
  g_clear_pointer (&sig->value, g_bytes_unref);
}

void
disco_reload_signature_copy (const DiscoReloadSignature *src, DiscoReloadSignature *dst)
{
  *dst = *src;
  if (dst->identity.hash != NULL)
    g_bytes_ref (dst->identity.hash);
  if (dst->value != NULL)
    g_bytes_ref (dst->value);
}

void
disco_reload_signature_set_none (DiscoReloadSignature *sig)
{
  disco_reload_signature_clear (sig);
  sig->hash_alg = DISCO_RELOAD_HASH_NONE;
  sig->sig_alg = DISCO_RELOAD_SIG_ANONYMOUS;
  sig->identity.type = DISCO_RELOAD_SIGNER_IDENTITY_NONE;
  sig->identity.hash_alg = 0;
}

DiscoReloadGenericCertificate *
disco_reload_generic_certificate_new (guint8 type, GBytes *der)
{
  DiscoReloadGenericCertificate *c = g_new0 (DiscoReloadGenericCertificate, 1);

  c->type = type;
  c->certificate = der != NULL ? g_bytes_ref (der) : NULL;
  return c;
}

void
disco_reload_generic_certificate_free (DiscoReloadGenericCertificate *cert)
{
  if (cert == NULL)
    return;
  g_clear_pointer (&cert->certificate, g_bytes_unref);
  g_free (cert);
}

void
disco_reload_stored_data_value_clear (DiscoReloadStoredDataValue *v)
{
  g_clear_pointer (&v->key, g_bytes_unref);
  g_clear_pointer (&v->value, g_bytes_unref);
}

DiscoReloadStoredData *
disco_reload_stored_data_new (DiscoReloadDataModel model)
{
  DiscoReloadStoredData *sd = g_new0 (DiscoReloadStoredData, 1);

  sd->ref_count = 1;
  sd->value.model = model;
  sd->value.exists = TRUE;
  disco_reload_signature_set_none (&sd->signature);
  return sd;
}

DiscoReloadStoredData *
disco_reload_stored_data_ref (DiscoReloadStoredData *sd)
{
  g_atomic_int_inc (&sd->ref_count);
  return sd;
}

void
disco_reload_stored_data_unref (DiscoReloadStoredData *sd)
{
  if (sd == NULL || !g_atomic_int_dec_and_test (&sd->ref_count))
    return;
  disco_reload_stored_data_value_clear (&sd->value);
  disco_reload_signature_clear (&sd->signature);
  g_clear_pointer (&sd->undecoded, g_bytes_unref);
  g_free (sd);
}

DiscoReloadStoredDataSpecifier *
disco_reload_stored_data_specifier_new (DiscoReloadKindId kind, DiscoReloadDataModel model)
{
  DiscoReloadStoredDataSpecifier *s = g_new0 (DiscoReloadStoredDataSpecifier, 1);

  s->kind = kind;
  s->model = model;
  s->indices = g_array_new (FALSE, TRUE, sizeof (DiscoReloadArrayRange));
  s->keys = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  return s;
}

void
disco_reload_stored_data_specifier_free (DiscoReloadStoredDataSpecifier *spec)
{
  if (spec == NULL)
    return;
  g_clear_pointer (&spec->indices, g_array_unref);
  g_clear_pointer (&spec->keys, g_ptr_array_unref);
  g_clear_pointer (&spec->undecoded, g_bytes_unref);
  g_free (spec);
}

static GPtrArray *
stored_data_array (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_unref);
}

DiscoReloadStoreKindData *
disco_reload_store_kind_data_new (DiscoReloadKindId kind, guint64 generation_counter)
{
  DiscoReloadStoreKindData *kd = g_new0 (DiscoReloadStoreKindData, 1);

  kd->kind = kind;
  kd->generation_counter = generation_counter;
  kd->values = stored_data_array ();
  return kd;
}

void
disco_reload_store_kind_data_free (DiscoReloadStoreKindData *kd)
{
  if (kd == NULL)
    return;
  g_clear_pointer (&kd->values, g_ptr_array_unref);
  g_free (kd);
}

DiscoReloadStoreKindResponse *
disco_reload_store_kind_response_new (DiscoReloadKindId kind, guint64 generation_counter)
{
  DiscoReloadStoreKindResponse *r = g_new0 (DiscoReloadStoreKindResponse, 1);

  r->kind = kind;
  r->generation_counter = generation_counter;
  r->replicas = g_array_new (FALSE, TRUE, sizeof (DiscoReloadNodeId));
  return r;
}

void
disco_reload_store_kind_response_free (DiscoReloadStoreKindResponse *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->replicas, g_array_unref);
  g_free (r);
}

void
disco_reload_store_ans_init (DiscoReloadStoreAns *ans)
{
  ans->kind_responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_response_free);
}

void
disco_reload_store_ans_clear (DiscoReloadStoreAns *ans)
{
  g_clear_pointer (&ans->kind_responses, g_ptr_array_unref);
}

DiscoReloadFetchKindResponse *
disco_reload_fetch_kind_response_new (DiscoReloadKindId kind, guint64 generation)
{
  DiscoReloadFetchKindResponse *r = g_new0 (DiscoReloadFetchKindResponse, 1);

  r->kind = kind;
  r->generation = generation;
  r->values = stored_data_array ();
  return r;
}

void
disco_reload_fetch_kind_response_free (DiscoReloadFetchKindResponse *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->values, g_ptr_array_unref);
  g_free (r);
}

DiscoReloadStoredMetaData *
disco_reload_stored_meta_data_new (DiscoReloadDataModel model)
{
  DiscoReloadStoredMetaData *md = g_new0 (DiscoReloadStoredMetaData, 1);

  md->model = model;
  md->exists = TRUE;
  return md;
}

void
disco_reload_stored_meta_data_free (DiscoReloadStoredMetaData *md)
{
  if (md == NULL)
    return;
  g_clear_pointer (&md->key, g_bytes_unref);
  g_clear_pointer (&md->hash_value, g_bytes_unref);
  g_clear_pointer (&md->undecoded, g_bytes_unref);
  g_free (md);
}

DiscoReloadStatKindResponse *
disco_reload_stat_kind_response_new (DiscoReloadKindId kind, guint64 generation)
{
  DiscoReloadStatKindResponse *r = g_new0 (DiscoReloadStatKindResponse, 1);

  r->kind = kind;
  r->generation = generation;
  r->values = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_meta_data_free);
  return r;
}

void
disco_reload_stat_kind_response_free (DiscoReloadStatKindResponse *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->values, g_ptr_array_unref);
  g_free (r);
}

static void
ice_extension_clear (gpointer p)
{
  DiscoReloadIceExtension *e = p;

  g_clear_pointer (&e->name, g_bytes_unref);
  g_clear_pointer (&e->value, g_bytes_unref);
}

DiscoReloadIceCandidate *
disco_reload_ice_candidate_new (void)
{
  DiscoReloadIceCandidate *c = g_new0 (DiscoReloadIceCandidate, 1);

  c->overlay_link = DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR;
  c->type = DISCO_RELOAD_CAND_HOST;
  c->addr_port.type = 1;
  c->rel_addr_port.type = 1;
  c->extensions = g_array_new (FALSE, TRUE, sizeof (DiscoReloadIceExtension));
  g_array_set_clear_func (c->extensions, ice_extension_clear);
  return c;
}

void
disco_reload_ice_candidate_free (DiscoReloadIceCandidate *c)
{
  if (c == NULL)
    return;
  g_free (c->foundation);
  g_clear_pointer (&c->extensions, g_array_unref);
  g_free (c);
}

void
disco_reload_chord_leave_data_init (DiscoReloadChordLeaveData *ld)
{
  ld->type = DISCO_RELOAD_CHORD_LEAVE_FROM_SUCC;
  ld->node_ids = g_array_new (FALSE, TRUE, sizeof (DiscoReloadNodeId));
}

void
disco_reload_chord_leave_data_clear (DiscoReloadChordLeaveData *ld)
{
  g_clear_pointer (&ld->node_ids, g_array_unref);
}

static GArray *
node_id_array (void)
{
  return g_array_new (FALSE, TRUE, sizeof (DiscoReloadNodeId));
}

void
disco_wire_body_init (guint16 code, DiscoReloadBody *body)
{
  memset (body, 0, sizeof *body);
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        body->probe_req.requested_info = g_array_new (FALSE, TRUE, 1);
        break;
      case DISCO_RELOAD_PROBE_ANS:
        body->probe_ans.probe_info
            = g_array_new (FALSE, TRUE, sizeof (DiscoReloadProbeInformation));
        break;
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        body->attach.candidates
            = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_ice_candidate_free);
        break;
      case DISCO_RELOAD_STORE_REQ:
        body->store_req.kind_data
            = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free);
        break;
      case DISCO_RELOAD_STORE_ANS:
        disco_reload_store_ans_init (&body->store_ans);
        break;
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        body->fetch_req.specifiers = g_ptr_array_new_with_free_func (
            (GDestroyNotify)disco_reload_stored_data_specifier_free);
        break;
      case DISCO_RELOAD_FETCH_ANS:
        body->fetch_ans.kind_responses = g_ptr_array_new_with_free_func (
            (GDestroyNotify)disco_reload_fetch_kind_response_free);
        break;
      case DISCO_RELOAD_STAT_ANS:
        body->stat_ans.kind_responses
            = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stat_kind_response_free);
        break;
      case DISCO_RELOAD_FIND_REQ:
        body->find_req.kinds = g_array_new (FALSE, TRUE, sizeof (DiscoReloadKindId));
        break;
      case DISCO_RELOAD_FIND_ANS:
        body->find_ans.results = g_array_new (FALSE, TRUE, sizeof (DiscoReloadFindKindData));
        break;
      case DISCO_RELOAD_UPDATE_REQ:
        body->update_req.type = DISCO_RELOAD_CHORD_UPDATE_PEER_READY;
        body->update_req.predecessors = node_id_array ();
        body->update_req.successors = node_id_array ();
        body->update_req.fingers = node_id_array ();
        break;
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        body->route_query_req.destination.type = DISCO_RELOAD_DESTINATION_NODE;
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        body->config_update_req.type = DISCO_RELOAD_CONFIG_UPDATE_CONFIG;
        body->config_update_req.kinds
            = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
        break;
      default:
        break;
    }
}

static gboolean
code_is_empty (guint16 code)
{
  return code == DISCO_RELOAD_LEAVE_ANS || code == DISCO_RELOAD_UPDATE_ANS
         || code == DISCO_RELOAD_CONFIG_UPDATE_ANS;
}

void
disco_wire_body_clear (guint16 code, DiscoReloadBody *body)
{
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        g_clear_pointer (&body->probe_req.requested_info, g_array_unref);
        break;
      case DISCO_RELOAD_PROBE_ANS:
        g_clear_pointer (&body->probe_ans.probe_info, g_array_unref);
        break;
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        g_clear_pointer (&body->attach.ufrag, g_free);
        g_clear_pointer (&body->attach.password, g_free);
        g_clear_pointer (&body->attach.role, g_free);
        g_clear_pointer (&body->attach.candidates, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_STORE_REQ:
        g_clear_pointer (&body->store_req.kind_data, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_STORE_ANS:
        disco_reload_store_ans_clear (&body->store_ans);
        break;
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        g_clear_pointer (&body->fetch_req.specifiers, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_FETCH_ANS:
        g_clear_pointer (&body->fetch_ans.kind_responses, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_STAT_ANS:
        g_clear_pointer (&body->stat_ans.kind_responses, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_FIND_REQ:
        g_clear_pointer (&body->find_req.kinds, g_array_unref);
        break;
      case DISCO_RELOAD_FIND_ANS:
        g_clear_pointer (&body->find_ans.results, g_array_unref);
        break;
      case DISCO_RELOAD_JOIN_REQ:
      case DISCO_RELOAD_JOIN_ANS:
      case DISCO_RELOAD_LEAVE_REQ:
        g_clear_pointer (&body->join_leave.overlay_specific_data, g_bytes_unref);
        break;
      case DISCO_RELOAD_UPDATE_REQ:
        g_clear_pointer (&body->update_req.predecessors, g_array_unref);
        g_clear_pointer (&body->update_req.successors, g_array_unref);
        g_clear_pointer (&body->update_req.fingers, g_array_unref);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        g_clear_pointer (&body->route_query_req.overlay_specific_data, g_bytes_unref);
        break;
      case DISCO_RELOAD_PING_REQ:
        g_clear_pointer (&body->ping_req.padding, g_bytes_unref);
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        g_clear_pointer (&body->config_update_req.config_data, g_bytes_unref);
        g_clear_pointer (&body->config_update_req.kinds, g_ptr_array_unref);
        break;
      case DISCO_RELOAD_ERROR:
        g_clear_pointer (&body->error.error_info, g_bytes_unref);
        if (body->error.store_ans != NULL)
          {
            disco_reload_store_ans_clear (body->error.store_ans);
            g_clear_pointer (&body->error.store_ans, g_free);
          }
        g_clear_pointer (&body->error.unknown_kinds, g_array_unref);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
      case DISCO_RELOAD_PING_ANS:
        break;
      default:
        if (!code_is_empty (code))
          g_clear_pointer (&body->raw, g_bytes_unref);
        break;
    }
}

static void
extension_clear (gpointer p)
{
  DiscoReloadMessageExtension *e = p;

  g_clear_pointer (&e->contents, g_bytes_unref);
}

DiscoReloadMessage *
disco_reload_message_new (guint16 message_code)
{
  DiscoReloadMessage *msg = g_new0 (DiscoReloadMessage, 1);

  disco_reload_forwarding_header_init (&msg->header);
  msg->message_code = message_code;
  disco_wire_body_init (message_code, &msg->body);
  msg->extensions = g_array_new (FALSE, TRUE, sizeof (DiscoReloadMessageExtension));
  g_array_set_clear_func (msg->extensions, extension_clear);
  msg->security.certificates
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_generic_certificate_free);
  disco_reload_signature_set_none (&msg->security.signature);
  return msg;
}

void
disco_reload_message_free (DiscoReloadMessage *msg)
{
  if (msg == NULL)
    return;
  disco_reload_forwarding_header_clear (&msg->header);
  disco_wire_body_clear (msg->message_code, &msg->body);
  g_clear_pointer (&msg->extensions, g_array_unref);
  g_clear_pointer (&msg->security.certificates, g_ptr_array_unref);
  disco_reload_signature_clear (&msg->security.signature);
  g_free (msg);
}

DiscoReloadDataModel
disco_reload_kind_builtin_model (DiscoReloadKindId kind)
{
  switch (kind)
    {
      case DISCO_RELOAD_KIND_SIP_REGISTRATION:
      case DISCO_RELOAD_KIND_REDIR:
        return DISCO_RELOAD_DATA_MODEL_DICTIONARY;
      case DISCO_RELOAD_KIND_TURN_SERVICE:
        return DISCO_RELOAD_DATA_MODEL_SINGLE;
      case DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE:
      case DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST:
      case DISCO_RELOAD_KIND_CERTIFICATE_BY_USER:
        return DISCO_RELOAD_DATA_MODEL_ARRAY;
      default:
        return DISCO_RELOAD_DATA_MODEL_UNKNOWN;
    }
}

DiscoReloadDataModel
disco_wire_kind_model (const DiscoReloadDecodeOptions *options, DiscoReloadKindId kind)
{
  DiscoReloadDataModel m = DISCO_RELOAD_DATA_MODEL_UNKNOWN;

  if (options != NULL && options->kind_model != NULL)
    m = options->kind_model (kind, options->kind_model_data);
  if (m == DISCO_RELOAD_DATA_MODEL_UNKNOWN)
    m = disco_reload_kind_builtin_model (kind);
  return m;
}
