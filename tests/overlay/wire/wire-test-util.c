/* wire-test-util.c: see wire-test-util.h. */
#include "wire-test-util.h"

#include <string.h>

const guint16 wt_codes[] = {
  DISCO_RELOAD_PROBE_REQ,         DISCO_RELOAD_PROBE_ANS,         DISCO_RELOAD_ATTACH_REQ,
  DISCO_RELOAD_ATTACH_ANS,        DISCO_RELOAD_STORE_REQ,         DISCO_RELOAD_STORE_ANS,
  DISCO_RELOAD_FETCH_REQ,         DISCO_RELOAD_FETCH_ANS,         DISCO_RELOAD_FIND_REQ,
  DISCO_RELOAD_FIND_ANS,          DISCO_RELOAD_JOIN_REQ,          DISCO_RELOAD_JOIN_ANS,
  DISCO_RELOAD_LEAVE_REQ,         DISCO_RELOAD_LEAVE_ANS,         DISCO_RELOAD_UPDATE_REQ,
  DISCO_RELOAD_UPDATE_ANS,        DISCO_RELOAD_ROUTE_QUERY_REQ,   DISCO_RELOAD_ROUTE_QUERY_ANS,
  DISCO_RELOAD_PING_REQ,          DISCO_RELOAD_PING_ANS,          DISCO_RELOAD_STAT_REQ,
  DISCO_RELOAD_STAT_ANS,          DISCO_RELOAD_APP_ATTACH_REQ,    DISCO_RELOAD_APP_ATTACH_ANS,
  DISCO_RELOAD_CONFIG_UPDATE_REQ, DISCO_RELOAD_CONFIG_UPDATE_ANS, DISCO_RELOAD_ERROR,
};
const gsize wt_n_codes = G_N_ELEMENTS (wt_codes);

void
wt_node_id (DiscoReloadNodeId *id, guint8 seed)
{
  for (guint i = 0; i < DISCO_RELOAD_NODE_ID_LENGTH; i++)
    id->id[i] = (guint8)(seed * 16 + i);
}

void
wt_resource_id (DiscoReloadResourceId *rid, guint8 seed)
{
  guint8 b[16];

  for (guint i = 0; i < sizeof b; i++)
    b[i] = (guint8)(0xa0 + seed + i);
  disco_reload_resource_id_set (rid, b, sizeof b);
}

void
wt_header_basic (DiscoReloadForwardingHeader *hdr, guint8 dest_seed)
{
  DiscoReloadDestination d;
  DiscoReloadNodeId id;

  hdr->overlay = WT_OVERLAY;
  hdr->configuration_sequence = 7;
  hdr->transaction_id = WT_TXID;
  wt_node_id (&id, dest_seed);
  disco_reload_destination_set_node (&d, &id);
  g_array_append_val (hdr->destination_list, d);
}

void
wt_header_rich (DiscoReloadForwardingHeader *hdr)
{
  DiscoReloadDestination d;
  DiscoReloadNodeId id;
  DiscoReloadResourceId rid;
  DiscoReloadForwardingOption o = { 0 };

  hdr->overlay = WT_OVERLAY;
  hdr->configuration_sequence = 7;
  hdr->transaction_id = WT_TXID;
  hdr->ttl = 42;
  hdr->max_response_length = 4000;
  wt_node_id (&id, 1);
  disco_reload_destination_set_node (&d, &id);
  g_array_append_val (hdr->via_list, d);
  memset (&d, 0, sizeof d);
  d.type = DISCO_RELOAD_DESTINATION_COMPRESSED;
  d.compressed = 0x8123;
  g_array_append_val (hdr->via_list, d);
  memset (&d, 0, sizeof d);
  d.type = DISCO_RELOAD_DESTINATION_OPAQUE;
  d.opaque.len = 3;
  d.opaque.data[0] = 1, d.opaque.data[1] = 2, d.opaque.data[2] = 3;
  g_array_append_val (hdr->via_list, d);
  wt_node_id (&id, 2);
  disco_reload_destination_set_node (&d, &id);
  g_array_append_val (hdr->destination_list, d);
  wt_resource_id (&rid, 3);
  disco_reload_destination_set_resource (&d, &rid);
  g_array_append_val (hdr->destination_list, d);
  o.type = 1;
  o.flags = DISCO_RELOAD_OPTION_RESPONSE_COPY;
  o.value = g_bytes_new_static ("opt", 3);
  g_array_append_val (hdr->options, o);
}

DiscoReloadStoredData *
wt_stored_data (DiscoReloadDataModel model, guint8 seed, gsize value_len)
{
  DiscoReloadStoredData *sd = disco_reload_stored_data_new (model);
  guint8 *v = g_malloc (value_len);
  guint8 hash[32];

  for (gsize i = 0; i < value_len; i++)
    v[i] = (guint8)(seed + i);
  sd->storage_time = G_GUINT64_CONSTANT (1700000000000) + seed;
  sd->lifetime = 3600;
  sd->value.value = g_bytes_new_take (v, value_len);
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    sd->value.index = 5u + seed;
  if (model == DISCO_RELOAD_DATA_MODEL_DICTIONARY)
    {
      DiscoReloadNodeId key;

      wt_node_id (&key, seed);
      sd->value.key = g_bytes_new (key.id, sizeof key.id);
    }
  memset (hash, 0x5a, sizeof hash);
  sd->signature.hash_alg = DISCO_RELOAD_HASH_SHA256;
  sd->signature.sig_alg = DISCO_RELOAD_SIG_RSA;
  /* seed 2 signs with a multi-Node-ID certificate (cert_hash_node_id) */
  sd->signature.identity.type = seed == 2 ? DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID
                                          : DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH;
  sd->signature.identity.hash_alg = DISCO_RELOAD_HASH_SHA256;
  sd->signature.identity.hash = g_bytes_new (hash, sizeof hash);
  sd->signature.value = g_bytes_new_static ("0123456789abcdef", 16);
  return sd;
}

DiscoReloadDataModel
wt_kind_model (DiscoReloadKindId kind, gpointer user_data)
{
  if (kind == DISCO_RELOAD_KIND_DISCO_TEST)
    return DISCO_RELOAD_DATA_MODEL_DICTIONARY;
  return DISCO_RELOAD_DATA_MODEL_UNKNOWN;
}

static DiscoReloadIceCandidate *
candidate (guint8 type, guint8 last_octet)
{
  DiscoReloadIceCandidate *c = disco_reload_ice_candidate_new ();

  c->addr_port.type = 1;
  c->addr_port.addr[0] = 192, c->addr_port.addr[1] = 0, c->addr_port.addr[2] = 2;
  c->addr_port.addr[3] = last_octet;
  c->addr_port.port = 6084;
  c->foundation = g_strdup_printf ("f%u", last_octet);
  c->priority = 2130706431u - last_octet;
  c->type = type;
  if (type != DISCO_RELOAD_CAND_HOST)
    {
      c->rel_addr_port.type = 2;
      c->rel_addr_port.addr[0] = 0x20, c->rel_addr_port.addr[1] = 0x01;
      c->rel_addr_port.addr[15] = 1;
      c->rel_addr_port.port = 5000;
    }
  if (type == DISCO_RELOAD_CAND_HOST)
    {
      DiscoReloadIceExtension e;

      e.name = g_bytes_new_static ("x-ext", 5);
      e.value = g_bytes_new_static ("v", 1);
      g_array_append_val (c->extensions, e);
    }
  return c;
}

static void
fill_attach (DiscoReloadAttach *a, gboolean request)
{
  a->ufrag = g_strdup ("ufrag1");
  a->password = g_strdup ("password-0123456789");
  a->role = g_strdup (request ? "passive" : "active");
  a->application = 5060;
  a->send_update = request;
  g_ptr_array_add (a->candidates, candidate (DISCO_RELOAD_CAND_HOST, 1));
  g_ptr_array_add (a->candidates, candidate (DISCO_RELOAD_CAND_SRFLX, 2));
  g_ptr_array_add (a->candidates, candidate (DISCO_RELOAD_CAND_RELAY, 3));
}

static DiscoReloadStoredDataSpecifier *
specifier (DiscoReloadKindId kind, DiscoReloadDataModel model)
{
  DiscoReloadStoredDataSpecifier *s = disco_reload_stored_data_specifier_new (kind, model);

  s->generation = 9;
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY)
    {
      DiscoReloadArrayRange r1 = { 0, 3 }, r2 = { 10, DISCO_RELOAD_ARRAY_LAST };

      g_array_append_val (s->indices, r1);
      g_array_append_val (s->indices, r2);
    }
  return s;
}

static void
fill_store_ans (DiscoReloadStoreAns *ans)
{
  DiscoReloadStoreKindResponse *kr
      = disco_reload_store_kind_response_new (DISCO_RELOAD_KIND_DISCO_TEST, 12);
  DiscoReloadNodeId id;

  wt_node_id (&id, 4);
  g_array_append_val (kr->replicas, id);
  wt_node_id (&id, 5);
  g_array_append_val (kr->replicas, id);
  g_ptr_array_add (ans->kind_responses, kr);
  g_ptr_array_add (ans->kind_responses,
                   disco_reload_store_kind_response_new (DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, 3));
}

static void
fill_node_ids (GArray *a, guint8 first, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      DiscoReloadNodeId id;

      wt_node_id (&id, (guint8)(first + i));
      g_array_append_val (a, id);
    }
}

DiscoReloadMessage *
wt_build (guint16 code)
{
  DiscoReloadMessage *msg = disco_reload_message_new (code);
  DiscoReloadBody *b = &msg->body;

  if (code == DISCO_RELOAD_ERROR)
    {
      disco_reload_message_free (msg);
      return wt_build_error (DISCO_RELOAD_ERROR_NOT_FOUND);
    }
  wt_header_basic (&msg->header, 2);
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        {
          guint8 info[] = { 1, 2, 3 };

          g_array_append_vals (b->probe_req.requested_info, info, 3);
          break;
        }
      case DISCO_RELOAD_PROBE_ANS:
        {
          DiscoReloadProbeInformation pi[] = { { 1, 500000000 }, { 2, 77 }, { 3, 3600 } };

          g_array_append_vals (b->probe_ans.probe_info, pi, 3);
          break;
        }
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        fill_attach (&b->attach, DISCO_RELOAD_MESSAGE_CODE_IS_REQUEST (code));
        break;
      case DISCO_RELOAD_STORE_REQ:
        {
          DiscoReloadStoreKindData *kd
              = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_DISCO_TEST, 0);
          DiscoReloadStoreKindData *acl
              = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, 4);
          DiscoReloadStoreKindData *turn
              = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_TURN_SERVICE, 1);

          wt_resource_id (&b->store_req.resource, 3);
          b->store_req.replica_number = 0;
          g_ptr_array_add (kd->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_DICTIONARY, 1, 40));
          g_ptr_array_add (kd->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_DICTIONARY, 2, 0));
          g_ptr_array_add (acl->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_ARRAY, 3, 20));
          g_ptr_array_add (turn->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_SINGLE, 4, 8));
          g_ptr_array_add (b->store_req.kind_data, kd);
          g_ptr_array_add (b->store_req.kind_data, acl);
          g_ptr_array_add (b->store_req.kind_data, turn);
          break;
        }
      case DISCO_RELOAD_STORE_ANS:
        fill_store_ans (&b->store_ans);
        break;
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        {
          DiscoReloadStoredDataSpecifier *s
              = specifier (DISCO_RELOAD_KIND_DISCO_TEST, DISCO_RELOAD_DATA_MODEL_DICTIONARY);
          DiscoReloadNodeId key;

          wt_resource_id (&b->fetch_req.resource, 3);
          wt_node_id (&key, 1);
          g_ptr_array_add (s->keys, g_bytes_new (key.id, sizeof key.id));
          g_ptr_array_add (b->fetch_req.specifiers, s);
          /* wildcard dictionary fetch */
          g_ptr_array_add (b->fetch_req.specifiers, specifier (DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                                               DISCO_RELOAD_DATA_MODEL_DICTIONARY));
          g_ptr_array_add (
              b->fetch_req.specifiers,
              specifier (DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, DISCO_RELOAD_DATA_MODEL_ARRAY));
          g_ptr_array_add (b->fetch_req.specifiers, specifier (DISCO_RELOAD_KIND_TURN_SERVICE,
                                                               DISCO_RELOAD_DATA_MODEL_SINGLE));
          break;
        }
      case DISCO_RELOAD_FETCH_ANS:
        {
          DiscoReloadFetchKindResponse *kr
              = disco_reload_fetch_kind_response_new (DISCO_RELOAD_KIND_DISCO_TEST, 12);
          DiscoReloadFetchKindResponse *acl
              = disco_reload_fetch_kind_response_new (DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, 3);
          DiscoReloadStoredData *none
              = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);

          none->value.exists = FALSE;
          none->value.index = 1;
          g_ptr_array_add (kr->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_DICTIONARY, 1, 64));
          g_ptr_array_add (acl->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_ARRAY, 3, 20));
          g_ptr_array_add (acl->values, none);
          g_ptr_array_add (b->fetch_ans.kind_responses, kr);
          g_ptr_array_add (b->fetch_ans.kind_responses, acl);
          break;
        }
      case DISCO_RELOAD_STAT_ANS:
        {
          DiscoReloadStatKindResponse *kr
              = disco_reload_stat_kind_response_new (DISCO_RELOAD_KIND_DISCO_TEST, 12);
          DiscoReloadStatKindResponse *acl
              = disco_reload_stat_kind_response_new (DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST, 3);
          DiscoReloadStatKindResponse *turn
              = disco_reload_stat_kind_response_new (DISCO_RELOAD_KIND_TURN_SERVICE, 1);
          DiscoReloadStoredMetaData *md
              = disco_reload_stored_meta_data_new (DISCO_RELOAD_DATA_MODEL_DICTIONARY);
          DiscoReloadNodeId key;
          guint8 h[32];

          memset (h, 0x33, sizeof h);
          wt_node_id (&key, 1);
          md->storage_time = 1700000000001;
          md->lifetime = 60;
          md->key = g_bytes_new (key.id, sizeof key.id);
          md->value_length = 64;
          md->hash_algorithm = DISCO_RELOAD_HASH_SHA256;
          md->hash_value = g_bytes_new (h, sizeof h);
          g_ptr_array_add (kr->values, md);
          md = disco_reload_stored_meta_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);
          md->index = 7;
          md->value_length = 20;
          md->hash_algorithm = DISCO_RELOAD_HASH_SHA1;
          md->hash_value = g_bytes_new (h, 20);
          g_ptr_array_add (acl->values, md);
          md = disco_reload_stored_meta_data_new (DISCO_RELOAD_DATA_MODEL_SINGLE);
          md->exists = FALSE;
          g_ptr_array_add (turn->values, md);
          g_ptr_array_add (b->stat_ans.kind_responses, kr);
          g_ptr_array_add (b->stat_ans.kind_responses, acl);
          g_ptr_array_add (b->stat_ans.kind_responses, turn);
          break;
        }
      case DISCO_RELOAD_FIND_REQ:
        {
          DiscoReloadKindId kinds[]
              = { DISCO_RELOAD_KIND_TURN_SERVICE, DISCO_RELOAD_KIND_DISCO_TEST };

          wt_resource_id (&b->find_req.resource, 3);
          g_array_append_vals (b->find_req.kinds, kinds, 2);
          break;
        }
      case DISCO_RELOAD_FIND_ANS:
        {
          DiscoReloadFindKindData fk;

          memset (&fk, 0, sizeof fk);
          fk.kind = DISCO_RELOAD_KIND_TURN_SERVICE;
          wt_resource_id (&fk.closest, 6);
          g_array_append_val (b->find_ans.results, fk);
          memset (&fk, 0, sizeof fk);
          fk.kind = DISCO_RELOAD_KIND_DISCO_TEST; /* none known: zero-length id */
          g_array_append_val (b->find_ans.results, fk);
          break;
        }
      case DISCO_RELOAD_JOIN_REQ:
      case DISCO_RELOAD_LEAVE_REQ:
        wt_node_id (&b->join_leave.node_id, 7);
        if (code == DISCO_RELOAD_LEAVE_REQ)
          {
            DiscoReloadChordLeaveData ld;

            disco_reload_chord_leave_data_init (&ld);
            ld.type = DISCO_RELOAD_CHORD_LEAVE_FROM_PRED;
            fill_node_ids (ld.node_ids, 8, 3);
            b->join_leave.overlay_specific_data = disco_reload_chord_leave_data_encode (&ld, NULL);
            disco_reload_chord_leave_data_clear (&ld);
          }
        break;
      case DISCO_RELOAD_JOIN_ANS:
        b->join_leave.overlay_specific_data = g_bytes_new_static ("osd", 3);
        break;
      case DISCO_RELOAD_UPDATE_REQ:
        b->update_req.uptime = 12345;
        b->update_req.type = DISCO_RELOAD_CHORD_UPDATE_FULL;
        fill_node_ids (b->update_req.predecessors, 1, 3);
        fill_node_ids (b->update_req.successors, 4, 3);
        fill_node_ids (b->update_req.fingers, 7, 5);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        {
          DiscoReloadResourceId rid;

          b->route_query_req.send_update = TRUE;
          wt_resource_id (&rid, 9);
          disco_reload_destination_set_resource (&b->route_query_req.destination, &rid);
          break;
        }
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        wt_node_id (&b->route_query_ans.next_peer, 10);
        break;
      case DISCO_RELOAD_PING_REQ:
        b->ping_req.padding = g_bytes_new_static ("\0\0\0\0\0\0\0\0", 8);
        break;
      case DISCO_RELOAD_PING_ANS:
        b->ping_ans.response_id = G_GUINT64_CONSTANT (0xfeedfacecafebeef);
        b->ping_ans.time = G_GUINT64_CONSTANT (1700000000123);
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        b->config_update_req.type = DISCO_RELOAD_CONFIG_UPDATE_KIND;
        {
          static const char kb[] = "<kind-block><kind id=\"4026535189\"/></kind-block>";

          g_ptr_array_add (b->config_update_req.kinds, g_bytes_new_static (kb, strlen (kb)));
        }
        break;
      default:
        break;
    }
  return msg;
}

DiscoReloadMessage *
wt_build_error (guint16 error_code)
{
  DiscoReloadMessage *msg = disco_reload_message_new (DISCO_RELOAD_ERROR);
  DiscoReloadErrorResponse *e = &msg->body.error;

  wt_header_basic (&msg->header, 2);
  e->error_code = error_code;
  if (error_code == DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW)
    {
      e->store_ans = g_new0 (DiscoReloadStoreAns, 1);
      disco_reload_store_ans_init (e->store_ans);
      fill_store_ans (e->store_ans);
    }
  else if (error_code == DISCO_RELOAD_ERROR_UNKNOWN_KIND)
    {
      DiscoReloadKindId k[] = { DISCO_RELOAD_KIND_DISCO_TEST, 0xF0000001u };

      e->unknown_kinds = g_array_new (FALSE, TRUE, sizeof (DiscoReloadKindId));
      g_array_append_vals (e->unknown_kinds, k, 2);
    }
  else
    e->error_info = g_bytes_new_static ("diagnostic", 10);
  return msg;
}
