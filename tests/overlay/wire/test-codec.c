/* test-codec.c: RELOAD wire codec round trips, strict decoding of malformed
 * input, signature inputs, fragmentation and reassembly. */
#include "reload-wire.h"
#include "wire-test-util.h"

#include <string.h>

static const DiscoReloadDecodeOptions test_options = {
  .kind_model = wt_kind_model,
};

static GByteArray *
encode (const DiscoReloadMessage *msg)
{
  g_autoptr (GError) error = NULL;
  GByteArray *out = g_byte_array_new ();

  g_assert_true (disco_reload_message_encode (msg, out, &error));
  g_assert_no_error (error);
  return out;
}

static DiscoReloadMessage *
decode_ok (const guint8 *p, gsize n, const DiscoReloadDecodeOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (p, n);
  DiscoReloadMessage *msg = NULL;

  g_assert_true (disco_reload_message_decode_full (bytes, opts, &msg, &error));
  g_assert_no_error (error);
  g_assert_nonnull (msg);
  return msg;
}

static void
decode_fails (const guint8 *p, gsize n, const DiscoReloadDecodeOptions *opts, gint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (p, n);
  DiscoReloadMessage *msg = NULL;

  g_assert_false (disco_reload_message_decode_full (bytes, opts, &msg, &error));
  g_assert_null (msg);
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, code);
}

/* Fails with some error that the node answers with Error_Invalid_Message. */
static void
decode_invalid (const guint8 *p, gsize n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new (p, n);
  DiscoReloadMessage *msg = NULL;

  g_assert_false (disco_reload_message_decode_full (bytes, NULL, &msg, &error));
  g_assert_null (msg);
  g_assert_nonnull (error);
  g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==, DISCO_RELOAD_ERROR_INVALID_MESSAGE);
}

/* Encode, decode, re-encode: the bytes must be identical (the codec is
 * canonical, which signature verification relies on).  Returns the decoded
 * message for field checks. */
static DiscoReloadMessage *
roundtrip (const DiscoReloadMessage *msg)
{
  g_autoptr (GByteArray) a = encode (msg);
  DiscoReloadMessage *back = decode_ok (a->data, a->len, &test_options);
  g_autoptr (GByteArray) b = encode (back);

  g_assert_cmpmem (a->data, a->len, b->data, b->len);
  g_assert_cmpuint (back->header.length, ==, a->len);
  g_assert_cmpuint (back->message_code, ==, msg->message_code);
  g_assert_cmphex (back->header.transaction_id, ==, msg->header.transaction_id);
  g_assert_cmphex (back->header.overlay, ==, WT_OVERLAY);
  g_assert_cmpuint (back->header.version, ==, DISCO_RELOAD_VERSION);
  g_assert_cmphex (back->header.fragment, ==, DISCO_RELOAD_FRAGMENT_UNFRAGMENTED);
  return back;
}

static void
check_stored_data_equal (const DiscoReloadStoredData *a, const DiscoReloadStoredData *b)
{
  g_assert_cmpuint (a->storage_time, ==, b->storage_time);
  g_assert_cmpuint (a->lifetime, ==, b->lifetime);
  g_assert_cmpint (a->value.model, ==, b->value.model);
  g_assert_cmpint (a->value.exists, ==, b->value.exists);
  g_assert_cmpuint (a->value.index, ==, b->value.index);
  g_assert_true ((a->value.key == NULL && b->value.key == NULL)
                 || g_bytes_equal (a->value.key, b->value.key));
  g_assert_cmpuint (a->value.value ? g_bytes_get_size (a->value.value) : 0, ==,
                    g_bytes_get_size (b->value.value));
  if (a->value.value != NULL)
    g_assert_true (g_bytes_equal (a->value.value, b->value.value));
  g_assert_cmpint (a->signature.identity.type, ==, b->signature.identity.type);
  g_assert_cmpuint (a->signature.hash_alg, ==, b->signature.hash_alg);
}

static void
test_roundtrip (gconstpointer data)
{
  guint16 code = GPOINTER_TO_UINT (data);
  g_autoptr (DiscoReloadMessage) msg = wt_build (code);
  g_autoptr (DiscoReloadMessage) back = roundtrip (msg);
  const DiscoReloadBody *a = &msg->body, *b = &back->body;

  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        g_assert_cmpuint (b->probe_req.requested_info->len, ==, 3);
        g_assert_cmpuint (g_array_index (b->probe_req.requested_info, guint8, 2), ==, 3);
        break;
      case DISCO_RELOAD_PROBE_ANS:
        g_assert_cmpuint (b->probe_ans.probe_info->len, ==, 3);
        g_assert_cmpuint (
            g_array_index (b->probe_ans.probe_info, DiscoReloadProbeInformation, 0).value, ==,
            500000000);
        break;
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        {
          const DiscoReloadIceCandidate *c;

          g_assert_cmpstr (b->attach.ufrag, ==, "ufrag1");
          g_assert_cmpstr (b->attach.password, ==, a->attach.password);
          g_assert_cmpstr (b->attach.role, ==, a->attach.role);
          g_assert_cmpuint (b->attach.candidates->len, ==, 3);
          c = g_ptr_array_index (b->attach.candidates, 2);
          g_assert_cmpuint (c->type, ==, DISCO_RELOAD_CAND_RELAY);
          g_assert_cmpuint (c->rel_addr_port.type, ==, 2);
          g_assert_cmpuint (c->rel_addr_port.port, ==, 5000);
          g_assert_cmpuint (c->addr_port.addr[3], ==, 3);
          g_assert_cmpstr (c->foundation, ==, "f3");
          c = g_ptr_array_index (b->attach.candidates, 0);
          g_assert_cmpuint (c->extensions->len, ==, 1);
          if (code == DISCO_RELOAD_APP_ATTACH_REQ || code == DISCO_RELOAD_APP_ATTACH_ANS)
            g_assert_cmpuint (b->attach.application, ==, 5060);
          else
            g_assert_cmpint (b->attach.send_update, ==, code == DISCO_RELOAD_ATTACH_REQ);
          break;
        }
      case DISCO_RELOAD_STORE_REQ:
        g_assert_cmpmem (b->store_req.resource.id, b->store_req.resource.len,
                         a->store_req.resource.id, a->store_req.resource.len);
        g_assert_cmpuint (b->store_req.kind_data->len, ==, 3);
        for (guint i = 0; i < 3; i++)
          {
            DiscoReloadStoreKindData *ka = g_ptr_array_index (a->store_req.kind_data, i);
            DiscoReloadStoreKindData *kb = g_ptr_array_index (b->store_req.kind_data, i);

            g_assert_cmpuint (ka->kind, ==, kb->kind);
            g_assert_cmpuint (ka->generation_counter, ==, kb->generation_counter);
            g_assert_cmpuint (ka->values->len, ==, kb->values->len);
            for (guint j = 0; j < ka->values->len; j++)
              check_stored_data_equal (g_ptr_array_index (ka->values, j),
                                       g_ptr_array_index (kb->values, j));
          }
        break;
      case DISCO_RELOAD_STORE_ANS:
        {
          DiscoReloadStoreKindResponse *kr = g_ptr_array_index (b->store_ans.kind_responses, 0);

          g_assert_cmpuint (b->store_ans.kind_responses->len, ==, 2);
          g_assert_cmpuint (kr->kind, ==, DISCO_RELOAD_KIND_DISCO_TEST);
          g_assert_cmpuint (kr->generation_counter, ==, 12);
          g_assert_cmpuint (kr->replicas->len, ==, 2);
          break;
        }
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        {
          DiscoReloadStoredDataSpecifier *s;

          g_assert_cmpuint (b->fetch_req.specifiers->len, ==, 4);
          s = g_ptr_array_index (b->fetch_req.specifiers, 0);
          g_assert_cmpuint (s->kind, ==, DISCO_RELOAD_KIND_DISCO_TEST);
          g_assert_cmpint (s->model, ==, DISCO_RELOAD_DATA_MODEL_DICTIONARY);
          g_assert_cmpuint (s->keys->len, ==, 1);
          g_assert_cmpuint (s->generation, ==, 9);
          s = g_ptr_array_index (b->fetch_req.specifiers, 1);
          g_assert_cmpuint (s->keys->len, ==, 0); /* wildcard */
          s = g_ptr_array_index (b->fetch_req.specifiers, 2);
          g_assert_cmpint (s->model, ==, DISCO_RELOAD_DATA_MODEL_ARRAY);
          g_assert_cmpuint (s->indices->len, ==, 2);
          g_assert_cmphex (g_array_index (s->indices, DiscoReloadArrayRange, 1).last, ==,
                           DISCO_RELOAD_ARRAY_LAST);
          s = g_ptr_array_index (b->fetch_req.specifiers, 3);
          g_assert_cmpint (s->model, ==, DISCO_RELOAD_DATA_MODEL_SINGLE);
          break;
        }
      case DISCO_RELOAD_FETCH_ANS:
        {
          DiscoReloadFetchKindResponse *kr = g_ptr_array_index (b->fetch_ans.kind_responses, 1);
          DiscoReloadStoredData *none = g_ptr_array_index (kr->values, 1);

          g_assert_cmpuint (kr->values->len, ==, 2);
          g_assert_false (none->value.exists);
          g_assert_cmpint (none->signature.identity.type, ==, DISCO_RELOAD_SIGNER_IDENTITY_NONE);
          check_stored_data_equal (
              g_ptr_array_index (((DiscoReloadFetchKindResponse *)g_ptr_array_index (
                                      a->fetch_ans.kind_responses, 0))
                                     ->values,
                                 0),
              g_ptr_array_index (((DiscoReloadFetchKindResponse *)g_ptr_array_index (
                                      b->fetch_ans.kind_responses, 0))
                                     ->values,
                                 0));
          break;
        }
      case DISCO_RELOAD_STAT_ANS:
        {
          DiscoReloadStatKindResponse *kr = g_ptr_array_index (b->stat_ans.kind_responses, 0);
          DiscoReloadStoredMetaData *md = g_ptr_array_index (kr->values, 0);

          g_assert_cmpuint (b->stat_ans.kind_responses->len, ==, 3);
          g_assert_cmpint (md->model, ==, DISCO_RELOAD_DATA_MODEL_DICTIONARY);
          g_assert_cmpuint (md->value_length, ==, 64);
          g_assert_cmpuint (g_bytes_get_size (md->hash_value), ==, 32);
          kr = g_ptr_array_index (b->stat_ans.kind_responses, 1);
          md = g_ptr_array_index (kr->values, 0);
          g_assert_cmpuint (md->index, ==, 7);
          break;
        }
      case DISCO_RELOAD_FIND_REQ:
        g_assert_cmpuint (b->find_req.kinds->len, ==, 2);
        g_assert_cmpuint (g_array_index (b->find_req.kinds, DiscoReloadKindId, 1), ==,
                          DISCO_RELOAD_KIND_DISCO_TEST);
        break;
      case DISCO_RELOAD_FIND_ANS:
        g_assert_cmpuint (b->find_ans.results->len, ==, 2);
        g_assert_cmpuint (
            g_array_index (b->find_ans.results, DiscoReloadFindKindData, 0).closest.len, ==, 16);
        g_assert_cmpuint (
            g_array_index (b->find_ans.results, DiscoReloadFindKindData, 1).closest.len, ==, 0);
        break;
      case DISCO_RELOAD_JOIN_REQ:
        g_assert_true (disco_reload_node_id_equal (&a->join_leave.node_id, &b->join_leave.node_id));
        break;
      case DISCO_RELOAD_LEAVE_REQ:
        {
          DiscoReloadChordLeaveData ld;
          g_autoptr (GError) error = NULL;

          disco_reload_chord_leave_data_init (&ld);
          g_assert_true (disco_reload_chord_leave_data_decode (b->join_leave.overlay_specific_data,
                                                               &ld, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (ld.type, ==, DISCO_RELOAD_CHORD_LEAVE_FROM_PRED);
          g_assert_cmpuint (ld.node_ids->len, ==, 3);
          disco_reload_chord_leave_data_clear (&ld);
          break;
        }
      case DISCO_RELOAD_JOIN_ANS:
        g_assert_true (g_bytes_equal (a->join_leave.overlay_specific_data,
                                      b->join_leave.overlay_specific_data));
        break;
      case DISCO_RELOAD_UPDATE_REQ:
        g_assert_cmpuint (b->update_req.uptime, ==, 12345);
        g_assert_cmpuint (b->update_req.type, ==, DISCO_RELOAD_CHORD_UPDATE_FULL);
        g_assert_cmpuint (b->update_req.predecessors->len, ==, 3);
        g_assert_cmpuint (b->update_req.successors->len, ==, 3);
        g_assert_cmpuint (b->update_req.fingers->len, ==, 5);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        g_assert_true (b->route_query_req.send_update);
        g_assert_cmpint (b->route_query_req.destination.type, ==,
                         DISCO_RELOAD_DESTINATION_RESOURCE);
        g_assert_cmpuint (b->route_query_req.destination.resource.len, ==, 16);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        g_assert_true (disco_reload_node_id_equal (&a->route_query_ans.next_peer,
                                                   &b->route_query_ans.next_peer));
        break;
      case DISCO_RELOAD_PING_REQ:
        g_assert_cmpuint (g_bytes_get_size (b->ping_req.padding), ==, 8);
        break;
      case DISCO_RELOAD_PING_ANS:
        g_assert_cmphex (b->ping_ans.response_id, ==, G_GUINT64_CONSTANT (0xfeedfacecafebeef));
        g_assert_cmpuint (b->ping_ans.time, ==, G_GUINT64_CONSTANT (1700000000123));
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        g_assert_cmpuint (b->config_update_req.type, ==, DISCO_RELOAD_CONFIG_UPDATE_KIND);
        g_assert_cmpuint (b->config_update_req.kinds->len, ==, 1);
        g_assert_true (g_bytes_equal (g_ptr_array_index (a->config_update_req.kinds, 0),
                                      g_ptr_array_index (b->config_update_req.kinds, 0)));
        break;
      case DISCO_RELOAD_ERROR:
        g_assert_cmpuint (b->error.error_code, ==, DISCO_RELOAD_ERROR_NOT_FOUND);
        break;
      default:
        break;
    }
}

static void
test_config_update_config (void)
{
  g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (DISCO_RELOAD_CONFIG_UPDATE_REQ);
  g_autoptr (DiscoReloadMessage) back = NULL;
  static const char xml[] = "<overlay><configuration instance-name=\"x.example\"/></overlay>";

  wt_header_basic (&msg->header, 1);
  msg->body.config_update_req.config_data = g_bytes_new_static (xml, strlen (xml));
  back = roundtrip (msg);
  g_assert_cmpuint (back->body.config_update_req.type, ==, DISCO_RELOAD_CONFIG_UPDATE_CONFIG);
  g_assert_true (g_bytes_equal (back->body.config_update_req.config_data,
                                msg->body.config_update_req.config_data));
}

static void
test_update_variants (void)
{
  for (guint8 type = 1; type <= 2; type++)
    {
      g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_UPDATE_REQ);
      g_autoptr (DiscoReloadMessage) back = NULL;

      msg->body.update_req.type = type;
      back = roundtrip (msg);
      g_assert_cmpuint (back->body.update_req.type, ==, type);
      g_assert_cmpuint (back->body.update_req.successors->len, ==, type == 1 ? 0 : 3);
      g_assert_cmpuint (back->body.update_req.fingers->len, ==, 0);
    }
}

static void
test_errors (void)
{
  for (guint16 code = DISCO_RELOAD_ERROR_FORBIDDEN; code <= DISCO_RELOAD_ERROR_INVALID_MESSAGE;
       code++)
    {
      g_autoptr (DiscoReloadMessage) msg = wt_build_error (code);
      g_autoptr (DiscoReloadMessage) back = roundtrip (msg);
      const DiscoReloadErrorResponse *e = &back->body.error;

      g_assert_cmpuint (e->error_code, ==, code);
      if (code == DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW)
        {
          DiscoReloadStoreKindResponse *kr;

          g_assert_nonnull (e->store_ans);
          g_assert_cmpuint (e->store_ans->kind_responses->len, ==, 2);
          kr = g_ptr_array_index (e->store_ans->kind_responses, 0);
          g_assert_cmpuint (kr->generation_counter, ==, 12);
        }
      else if (code == DISCO_RELOAD_ERROR_UNKNOWN_KIND)
        {
          g_assert_nonnull (e->unknown_kinds);
          g_assert_cmpuint (e->unknown_kinds->len, ==, 2);
          g_assert_cmpuint (g_array_index (e->unknown_kinds, DiscoReloadKindId, 0), ==,
                            DISCO_RELOAD_KIND_DISCO_TEST);
        }
      else
        {
          g_assert_null (e->store_ans);
          g_assert_null (e->unknown_kinds);
          g_assert_cmpmem (g_bytes_get_data (e->error_info, NULL), g_bytes_get_size (e->error_info),
                           "diagnostic", 10);
        }
    }
}

static void
test_rich_header (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
  g_autoptr (DiscoReloadMessage) back = NULL;
  const DiscoReloadDestination *d;
  const DiscoReloadForwardingOption *o;

  disco_reload_forwarding_header_clear (&msg->header);
  disco_reload_forwarding_header_init (&msg->header);
  wt_header_rich (&msg->header);
  back = roundtrip (msg);
  g_assert_cmpuint (back->header.ttl, ==, 42);
  g_assert_cmpuint (back->header.max_response_length, ==, 4000);
  g_assert_cmpuint (back->header.configuration_sequence, ==, 7);
  g_assert_cmpuint (back->header.via_list->len, ==, 3);
  d = &g_array_index (back->header.via_list, DiscoReloadDestination, 0);
  g_assert_cmpint (d->type, ==, DISCO_RELOAD_DESTINATION_NODE);
  g_assert_cmpuint (d->node.id[0], ==, 16);
  d = &g_array_index (back->header.via_list, DiscoReloadDestination, 1);
  g_assert_cmpint (d->type, ==, DISCO_RELOAD_DESTINATION_COMPRESSED);
  g_assert_cmphex (d->compressed, ==, 0x8123);
  d = &g_array_index (back->header.via_list, DiscoReloadDestination, 2);
  g_assert_cmpint (d->type, ==, DISCO_RELOAD_DESTINATION_OPAQUE);
  g_assert_cmpuint (d->opaque.len, ==, 3);
  g_assert_cmpuint (back->header.destination_list->len, ==, 2);
  d = &g_array_index (back->header.destination_list, DiscoReloadDestination, 1);
  g_assert_cmpint (d->type, ==, DISCO_RELOAD_DESTINATION_RESOURCE);
  g_assert_cmpuint (back->header.options->len, ==, 1);
  o = &g_array_index (back->header.options, DiscoReloadForwardingOption, 0);
  g_assert_cmpuint (o->type, ==, 1);
  g_assert_cmpuint (o->flags, ==, DISCO_RELOAD_OPTION_RESPONSE_COPY);
  g_assert_cmpuint (g_bytes_get_size (o->value), ==, 3);
}

static void
test_header_only (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_STORE_REQ);
  g_autoptr (GByteArray) a = NULL;
  g_autoptr (GByteArray) b = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  DiscoReloadForwardingHeader hdr;
  gsize hlen = 0;

  disco_reload_forwarding_header_clear (&msg->header);
  disco_reload_forwarding_header_init (&msg->header);
  wt_header_rich (&msg->header);
  a = encode (msg);
  disco_reload_forwarding_header_init (&hdr);
  g_assert_true (disco_reload_forwarding_header_decode (a->data, a->len, &hdr, &hlen, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (hdr.length, ==, a->len);
  g_assert_cmpuint (hlen, >, DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN);
  /* The forwarding fast path: change the TTL and via list, re-emit the header
   * and copy the rest verbatim. */
  hdr.ttl--;
  g_array_remove_index (hdr.via_list, 2);
  g_assert_true (disco_reload_forwarding_header_encode (&hdr, a->len - hlen, b, &error));
  g_byte_array_append (b, a->data + hlen, a->len - hlen);
  {
    g_autoptr (DiscoReloadMessage) fwd = decode_ok (b->data, b->len, &test_options);

    g_assert_cmpuint (fwd->header.ttl, ==, 41);
    g_assert_cmpuint (fwd->header.via_list->len, ==, 2);
    g_assert_cmpuint (fwd->header.length, ==, b->len);
    g_assert_cmpuint (fwd->body.store_req.kind_data->len, ==, 3);
  }
  disco_reload_forwarding_header_clear (&hdr);
}

static void
test_extensions (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
  g_autoptr (GByteArray) a = NULL;
  DiscoReloadMessageExtension e = { 0 };
  static const guint16 known[] = { 0x2 };
  DiscoReloadDecodeOptions opts = { .known_extensions = known, .n_known_extensions = 1 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  DiscoReloadMessage *out = NULL;

  /* Non-critical unknown extension: kept and ignored. */
  e.type = 0x7777;
  e.critical = FALSE;
  e.contents = g_bytes_new_static ("abc", 3);
  g_array_append_val (msg->extensions, e);
  {
    g_autoptr (DiscoReloadMessage) back = roundtrip (msg);

    g_assert_cmpuint (back->extensions->len, ==, 1);
    g_assert_cmphex (g_array_index (back->extensions, DiscoReloadMessageExtension, 0).type, ==,
                     0x7777);
  }
  /* Critical extension that the node knows: accepted. */
  e.type = 0x2;
  e.critical = TRUE;
  e.contents = g_bytes_new_static ("", 0);
  g_array_append_val (msg->extensions, e);
  a = encode (msg);
  {
    g_autoptr (DiscoReloadMessage) back = decode_ok (a->data, a->len, &opts);

    g_assert_cmpuint (back->extensions->len, ==, 2);
  }
  /* ... but unknown to a node that did not list it: Error_Unknown_Extension. */
  bytes = g_bytes_new (a->data, a->len);
  g_assert_false (disco_reload_message_decode_full (bytes, NULL, &out, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_UNKNOWN_EXTENSION);
  g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==,
                    DISCO_RELOAD_ERROR_UNKNOWN_EXTENSION);
  g_assert_null (out);
}

/* ---- malformed input ---- */

static GByteArray *
encoded (guint16 code)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (code);

  return encode (msg);
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24), p[1] = (guint8)(v >> 16), p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

static void
test_truncated (void)
{
  for (gsize c = 0; c < wt_n_codes; c++)
    {
      g_autoptr (GByteArray) a = encoded (wt_codes[c]);

      /* Every proper prefix fails; with the length field kept it is
       * TRUNCATED, with the length field patched to match, some inner
       * length must overrun. */
      for (gsize n = 0; n < a->len; n++)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (GBytes) bytes = g_bytes_new (a->data, n);
          g_autoptr (GByteArray) cut = g_byte_array_new ();
          DiscoReloadMessage *out = NULL;

          g_assert_false (disco_reload_message_decode_full (bytes, &test_options, &out, &error));
          g_assert_null (out);
          g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
          g_clear_error (&error);
          if (n < DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN)
            continue;
          g_byte_array_append (cut, a->data, n);
          put32 (cut->data + 16, (guint32)n);
          g_clear_pointer (&bytes, g_bytes_unref);
          bytes = g_bytes_new (cut->data, cut->len);
          g_assert_false (disco_reload_message_decode_full (bytes, &test_options, &out, &error));
          g_assert_nonnull (error);
          g_assert_true (error->domain == DISCO_RELOAD_WIRE_ERROR);
          g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==,
                            DISCO_RELOAD_ERROR_INVALID_MESSAGE);
        }
    }
}

/* Every single-byte corruption of every message type either fails cleanly or
 * decodes to something that re-encodes to exactly the corrupted bytes (so
 * nothing was silently dropped or normalised). */
static void
test_mutations (void)
{
  static const guint8 masks[] = { 0x01, 0x80, 0xff };
  guint decoded = 0, rejected = 0;

  for (gsize c = 0; c < wt_n_codes; c++)
    {
      g_autoptr (GByteArray) a = encoded (wt_codes[c]);

      for (gsize i = 0; i < a->len; i++)
        for (gsize m = 0; m < G_N_ELEMENTS (masks); m++)
          {
            g_autoptr (GBytes) bytes = NULL;
            g_autoptr (GError) error = NULL;
            DiscoReloadMessage *msg = NULL;

            a->data[i] ^= masks[m];
            bytes = g_bytes_new (a->data, a->len);
            if (disco_reload_message_decode_full (bytes, &test_options, &msg, &error))
              {
                g_autoptr (GByteArray) b = encode (msg);

                g_assert_cmpmem (a->data, a->len, b->data, b->len);
                disco_reload_message_free (msg);
                decoded++;
              }
            else
              {
                g_assert_nonnull (error);
                g_assert_null (msg);
                rejected++;
              }
            a->data[i] ^= masks[m];
          }
    }
  g_test_message ("%u mutations decoded, %u rejected", decoded, rejected);
  g_assert_cmpuint (rejected, >, 0);
  g_assert_cmpuint (decoded, >, 0);
}

static void
test_bad_header (void)
{
  g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_PING_REQ);
  g_autoptr (GByteArray) m = NULL;
  g_autoptr (GError) error = NULL;
  DiscoReloadDecodeOptions opts = test_options;

#define MUTATE(stmt)                                                                               \
  do                                                                                               \
    {                                                                                              \
      g_clear_pointer (&m, g_byte_array_unref);                                                    \
      m = g_byte_array_new ();                                                                     \
      g_byte_array_append (m, a->data, a->len);                                                    \
      stmt;                                                                                        \
    }                                                                                              \
  while (0)

  MUTATE (m->data[0] = 0x52); /* "RELO" without the top bit */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_TOKEN);
  MUTATE (m->data[10] = 0x01); /* pre-RFC draft version */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_VERSION);
  MUTATE (m->data[12] = 0x40); /* fragment high bit clear */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_FRAGMENT);
  MUTATE (m->data[12] = 0x80); /* first fragment, not last */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED);
  MUTATE (put32 (m->data + 12, 0xC0000010u)); /* last fragment at offset 16 */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED);
  MUTATE (put32 (m->data + 16, m->len + 1)); /* length says more than received */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
  MUTATE ((g_byte_array_append (m, (const guint8 *)"xx", 2))); /* trailing garbage */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH);
  MUTATE ((g_byte_array_append (m, (const guint8 *)"xx", 2), put32 (m->data + 16, m->len)));
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH);
  MUTATE (m->data[35] = 0xff); /* destination list longer than the message */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH);
  MUTATE (m->data[38] = 0x05); /* unknown destination type */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  MUTATE (m->data[38] = 0x00); /* invalid destination type 0 */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  MUTATE (m->data[39] = 0x11); /* node destination of 17 bytes overruns the list */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
  MUTATE (m->data[39] = 0x0f); /* node destination of 15 bytes */
  decode_fails (m->data, m->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);

  /* TTL above initial-ttl, oversized message. */
  MUTATE (m->data[11] = 101);
  opts.initial_ttl = 100;
  decode_fails (m->data, m->len, &opts, DISCO_RELOAD_WIRE_ERROR_TTL_EXCEEDED);
  m->data[11] = 100;
  {
    g_autoptr (DiscoReloadMessage) ok = decode_ok (m->data, m->len, &opts);
  }
  opts.max_message_size = m->len - 1;
  decode_fails (m->data, m->len, &opts, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE);
  opts.max_message_size = m->len;
  {
    g_autoptr (DiscoReloadMessage) ok = decode_ok (m->data, m->len, &opts);
  }

  /* Error code mapping for the node. */
  error = g_error_new_literal (DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_BAD_TOKEN, "x");
  g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==, 0);
  g_clear_error (&error);
  error = g_error_new_literal (DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_TTL_EXCEEDED, "x");
  g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==, DISCO_RELOAD_ERROR_TTL_EXCEEDED);
#undef MUTATE
}

/* Finds @needle in @hay after @from; the test messages use distinctive
 * values so a search pins the byte to corrupt. */
static gsize
find (const GByteArray *hay, const void *needle, gsize n, gsize from)
{
  for (gsize i = from; i + n <= hay->len; i++)
    if (memcmp (hay->data + i, needle, n) == 0)
      return i;
  g_assert_not_reached ();
}

static void
test_bad_bodies (void)
{
  /* Boolean other than 0/1: Attach send_update is the last body byte before
   * the extensions length. */
  {
    g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_ATTACH_REQ);
    g_autoptr (DiscoReloadMessage) msg = decode_ok (a->data, a->len, NULL);
    gsize body_end;
    static const guint8 cand_host[] = { 0x01, 0x06, 192, 0, 2, 1, 0x17, 0xc4 };
    gsize c;

    g_assert_true (msg->body.attach.send_update);
    /* forwarding header (38 + 18 dest) + code(2) + body_len(4) + body */
    body_end
        = 38 + 18 + 6 + (a->data[58] << 24 | a->data[59] << 16 | a->data[60] << 8 | a->data[61]);
    g_assert_cmpuint (a->data[body_end - 1], ==, 1);
    a->data[body_end - 1] = 2;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
    a->data[body_end - 1] = 1;
    /* Unknown candidate type (3 is reserved). */
    c = find (a, cand_host, sizeof cand_host, 0);
    c += sizeof cand_host + 1 + 1 + 2 + 4; /* overlay_link, foundation "f1", priority */
    g_assert_cmpuint (a->data[c], ==, DISCO_RELOAD_CAND_HOST);
    a->data[c] = 3;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
    a->data[c] = 1;
    /* IPv4 address with a length of 7. */
    c = find (a, cand_host, sizeof cand_host, 0);
    a->data[c + 1] = 7;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH);
  }
  /* Unknown SignerIdentity type in the security block (last bytes:
   * identity type(1) len(2) sig_value len(2)). */
  {
    g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_PING_ANS);

    g_assert_cmpuint (a->data[a->len - 5], ==, DISCO_RELOAD_SIGNER_IDENTITY_NONE);
    a->data[a->len - 5] = 9;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
    a->data[a->len - 5] = 0;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  }
  /* Unknown ChordUpdateType. */
  {
    g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_UPDATE_REQ);
    static const guint8 uptime[] = { 0, 0, 0x30, 0x39, 3 };
    gsize p = find (a, uptime, sizeof uptime, 38);

    a->data[p + 4] = 4;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  }
  /* A body longer than the message, and a body shorter than its content. */
  {
    g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_PING_REQ);
    gsize body_len_at = 38 + 18 + 2;

    a->data[body_len_at + 3] += 1;
    decode_invalid (a->data, a->len);
    a->data[body_len_at + 3] -= 2;
    decode_invalid (a->data, a->len);
    a->data[body_len_at + 3] += 1;
    a->data[body_len_at] = 0xff; /* 4 GB body */
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
  }
  /* Empty-body answer with a byte in it. */
  {
    g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_LEAVE_ANS);
    g_autoptr (GByteArray) a = NULL;

    msg->message_code = 0x7001; /* encode arbitrary raw bytes under a LeaveAns code */
    msg->body.raw = g_bytes_new_static ("z", 1);
    a = encode (msg);
    a->data[38 + 18] = 0x00, a->data[38 + 18 + 1] = DISCO_RELOAD_LEAVE_ANS;
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH);
  }
  /* Unassigned message codes keep their body opaque. */
  {
    g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (0x23);
    g_autoptr (DiscoReloadMessage) back = NULL;

    wt_header_basic (&msg->header, 2);
    msg->body.raw = g_bytes_new_static ("exp-a", 5);
    back = roundtrip (msg);
    g_assert_true (g_bytes_equal (back->body.raw, msg->body.raw));
  }
  /* Resource-ID destinations: in a via list, or not last. */
  {
    g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
    g_autoptr (GByteArray) a = NULL;
    DiscoReloadDestination d;
    DiscoReloadResourceId rid;

    wt_resource_id (&rid, 1);
    disco_reload_destination_set_resource (&d, &rid);
    g_array_prepend_val (msg->header.destination_list, d);
    a = encode (msg);
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
    g_array_remove_index (msg->header.destination_list, 0);
    g_array_append_val (msg->header.via_list, d);
    g_clear_pointer (&a, g_byte_array_unref);
    a = encode (msg);
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  }
  /* FORWARD_CRITICAL in a response. */
  {
    g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_ANS);
    g_autoptr (GByteArray) a = NULL;
    DiscoReloadForwardingOption o = { 1, DISCO_RELOAD_OPTION_FORWARD_CRITICAL, NULL };

    g_array_append_val (msg->header.options, o);
    a = encode (msg);
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE);
  }
  /* Generation_Counter_Too_Low whose error_info is not a StoreAns. */
  {
    g_autoptr (DiscoReloadMessage) msg = wt_build_error (DISCO_RELOAD_ERROR_NOT_FOUND);
    g_autoptr (GByteArray) a = NULL;

    msg->body.error.error_code = DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW;
    a = encode (msg);
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
    msg->body.error.error_code = DISCO_RELOAD_ERROR_UNKNOWN_KIND;
    g_clear_pointer (&a, g_byte_array_unref);
    a = encode (msg);
    decode_fails (a->data, a->len, NULL, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
  }
}

static void
test_encode_errors (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  DiscoReloadDestination d = { 0 };

  d.type = DISCO_RELOAD_DESTINATION_COMPRESSED;
  d.compressed = 0x1234; /* top bit clear: would read back as a TLV */
  g_array_append_val (msg->header.via_list, d);
  g_byte_array_append (out, (const guint8 *)"keep", 4);
  g_assert_false (disco_reload_message_encode (msg, out, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_ENCODE);
  g_assert_cmpuint (out->len, ==, 4); /* left as it was */
  g_clear_error (&error);
  g_array_set_size (msg->header.via_list, 0);
  msg->body.ping_req.padding = g_bytes_new_take (g_malloc0 (70000), 70000);
  g_assert_false (disco_reload_message_encode (msg, out, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_ENCODE);
  g_assert_cmpuint (out->len, ==, 4);
}

/* ---- StoredData without a known data model ---- */

static void
test_unknown_model (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_STORE_REQ);
  g_autoptr (GByteArray) a = encode (msg);
  g_autoptr (DiscoReloadMessage) back = decode_ok (a->data, a->len, NULL);
  g_autoptr (GByteArray) b = encode (back);
  DiscoReloadStoreKindData *kd = g_ptr_array_index (back->body.store_req.kind_data, 0);
  DiscoReloadStoredData *sd = g_ptr_array_index (kd->values, 0);
  DiscoReloadStoreKindData *acl = g_ptr_array_index (back->body.store_req.kind_data, 1);
  g_autoptr (GError) error = NULL;

  /* The private kind is unknown without options: kept intact, re-encoded
   * byte for byte; the built-in ACL kind is decoded. */
  g_assert_cmpmem (a->data, a->len, b->data, b->len);
  g_assert_cmpint (sd->value.model, ==, DISCO_RELOAD_DATA_MODEL_UNKNOWN);
  g_assert_nonnull (sd->undecoded);
  g_assert_cmpuint (sd->storage_time, ==, G_GUINT64_CONSTANT (1700000000001));
  g_assert_cmpint (((DiscoReloadStoredData *)g_ptr_array_index (acl->values, 0))->value.model, ==,
                   DISCO_RELOAD_DATA_MODEL_ARRAY);
  /* Wrong model: fails and leaves the raw bytes. */
  g_assert_false (disco_reload_stored_data_resolve (sd, DISCO_RELOAD_DATA_MODEL_ARRAY, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_nonnull (sd->undecoded);
  g_assert_true (disco_reload_stored_data_resolve (sd, DISCO_RELOAD_DATA_MODEL_DICTIONARY, &error));
  g_assert_no_error (error);
  g_assert_null (sd->undecoded);
  g_assert_cmpuint (g_bytes_get_size (sd->value.value), ==, 40);
  g_assert_cmpuint (g_bytes_get_size (sd->value.key), ==, 16);
  g_assert_cmpint (sd->signature.identity.type, ==, DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH);
  {
    g_autoptr (GByteArray) c = encode (back);

    g_assert_cmpmem (a->data, a->len, c->data, c->len);
  }
  /* Specifiers of unknown kinds are kept too. */
  {
    g_autoptr (DiscoReloadMessage) f = wt_build (DISCO_RELOAD_FETCH_REQ);
    g_autoptr (GByteArray) fa = encode (f);
    g_autoptr (DiscoReloadMessage) fb = decode_ok (fa->data, fa->len, NULL);
    g_autoptr (GByteArray) fc = encode (fb);
    DiscoReloadStoredDataSpecifier *s = g_ptr_array_index (fb->body.fetch_req.specifiers, 0);

    g_assert_cmpint (s->model, ==, DISCO_RELOAD_DATA_MODEL_UNKNOWN);
    g_assert_cmpmem (fa->data, fa->len, fc->data, fc->len);
  }
}

static void
test_stored_data_standalone (void)
{
  g_autoptr (DiscoReloadStoredData) sd = wt_stored_data (DISCO_RELOAD_DATA_MODEL_ARRAY, 1, 100);
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadStoredData) back = NULL;

  g_assert_true (disco_reload_stored_data_encode (sd, a, &error));
  /* length field = bytes after it */
  g_assert_cmpuint ((guint32)(a->data[0] << 24 | a->data[1] << 16 | a->data[2] << 8 | a->data[3]),
                    ==, a->len - 4);
  back = disco_reload_stored_data_decode (a->data, a->len, DISCO_RELOAD_DATA_MODEL_ARRAY, &error);
  g_assert_no_error (error);
  check_stored_data_equal (sd, back);
  g_assert_null (
      disco_reload_stored_data_decode (a->data, a->len - 1, DISCO_RELOAD_DATA_MODEL_ARRAY, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_TRUNCATED);
  g_clear_error (&error);
  g_assert_null (
      disco_reload_stored_data_decode (a->data, a->len, DISCO_RELOAD_DATA_MODEL_SINGLE, &error));
  g_assert_nonnull (error);
}

/* ---- signature inputs ---- */

static void
test_message_signature_input (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_STORE_REQ);
  g_autoptr (GByteArray) a = NULL;
  g_autoptr (GByteArray) tbs = g_byte_array_new ();
  g_autoptr (GByteArray) tbs_wire = g_byte_array_new ();
  g_autoptr (GByteArray) expect = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  guint8 hash[32];
  gsize hlen, contents_len, body_len, ext_len;

  memset (hash, 0x77, sizeof hash);
  disco_reload_signature_clear (&msg->security.signature);
  msg->security.signature.hash_alg = DISCO_RELOAD_HASH_SHA256;
  msg->security.signature.sig_alg = DISCO_RELOAD_SIG_RSA;
  msg->security.signature.identity.type = DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH;
  msg->security.signature.identity.hash_alg = DISCO_RELOAD_HASH_SHA256;
  msg->security.signature.identity.hash = g_bytes_new (hash, sizeof hash);
  msg->security.signature.value = g_bytes_new_take (g_malloc0 (256), 256);
  g_ptr_array_add (msg->security.certificates,
                   disco_reload_generic_certificate_new (0, g_bytes_new_static ("DERCERT", 7)));
  /* the certificate GBytes reference is taken by the container */
  g_bytes_unref (
      ((DiscoReloadGenericCertificate *)g_ptr_array_index (msg->security.certificates, 0))
          ->certificate);
  a = encode (msg);

  g_assert_true (
      disco_reload_message_signature_input (msg, &msg->security.signature.identity, tbs, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_message_signature_input_from_wire (a->data, a->len, tbs_wire, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (tbs->data, tbs->len, tbs_wire->data, tbs_wire->len);

  /* Build the expected input by hand from the wire bytes:
   * overlay(4) || transaction_id(8) || MessageContents || SignerIdentity. */
  hlen = 38 + 18; /* one node destination */
  body_len = (gsize)a->data[hlen + 2] << 24 | a->data[hlen + 3] << 16 | a->data[hlen + 4] << 8
             | a->data[hlen + 5];
  ext_len = (gsize)a->data[hlen + 6 + body_len] << 24 | a->data[hlen + 7 + body_len] << 16
            | a->data[hlen + 8 + body_len] << 8 | a->data[hlen + 9 + body_len];
  g_assert_cmpuint (ext_len, ==, 0);
  contents_len = 2 + 4 + body_len + 4;
  g_byte_array_append (expect, a->data + 4, 4);  /* overlay */
  g_byte_array_append (expect, a->data + 20, 8); /* transaction id */
  g_byte_array_append (expect, a->data + hlen, contents_len);
  {
    static const guint8 ident_head[] = { 0x01, 0x00, 0x22, 0x04, 0x20 };

    g_byte_array_append (expect, ident_head, sizeof ident_head);
    g_byte_array_append (expect, hash, sizeof hash);
  }
  g_assert_cmpmem (expect->data, expect->len, tbs->data, tbs->len);
  g_assert_cmpuint (tbs->len, ==, 12 + contents_len + 37);

  /* TTL and via list are not covered: a forwarded copy gives the same input. */
  a->data[11] = 3;
  g_byte_array_set_size (tbs_wire, 0);
  g_assert_true (
      disco_reload_message_signature_input_from_wire (a->data, a->len, tbs_wire, &error));
  g_assert_cmpmem (tbs->data, tbs->len, tbs_wire->data, tbs_wire->len);
}

static void
test_stored_data_signature_input (void)
{
  g_autoptr (DiscoReloadStoredData) sd
      = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);
  g_autoptr (GByteArray) tbs = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  DiscoReloadResourceId rid;
  DiscoReloadSignerIdentity id
      = { DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID, DISCO_RELOAD_HASH_SHA256, NULL };
  static const guint8 rbytes[] = { 0xaa, 0xbb, 0xcc };
  static const guint8 expect[] = {
    0xaa, 0xbb, 0xcc,                               /* resource id, no length byte */
    0xf0, 0x00, 0x0d, 0x15,                         /* kind */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* storage_time 1700000000000 */
    0x00, 0x00, 0x00, 0x00,                         /* array index forced to 0 */
    0x01,                                           /* exists */
    0x00, 0x00, 0x00, 0x02, 'h',  'i',              /* value */
    0x02, 0x00, 0x04, 0x04, 0x02, 0x01, 0x02,       /* cert_hash_node_id identity */
  };

  disco_reload_resource_id_set (&rid, rbytes, sizeof rbytes);
  sd->storage_time = G_GUINT64_CONSTANT (1700000000000);
  sd->lifetime = 99; /* not covered */
  sd->value.index = 17;
  sd->value.value = g_bytes_new_static ("hi", 2);
  id.hash = g_bytes_new_static ("\x01\x02", 2);
  g_assert_true (disco_reload_stored_data_signature_input (&rid, DISCO_RELOAD_KIND_DISCO_TEST, sd,
                                                           &id, tbs, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (tbs->data, tbs->len, expect, sizeof expect);
  g_bytes_unref (id.hash);
}

/* ---- fragmentation ---- */

static GByteArray *
big_store (gsize value_len)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_STORE_REQ);
  DiscoReloadStoreKindData *kd = g_ptr_array_index (msg->body.store_req.kind_data, 0);

  g_ptr_array_add (kd->values, wt_stored_data (DISCO_RELOAD_DATA_MODEL_DICTIONARY, 9, value_len));
  return encode (msg);
}

static void
test_fragment_reassemble (void)
{
  g_autoptr (GByteArray) a = big_store (4000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) frags = disco_reload_message_fragment (a->data, a->len, 1200, &error);
  g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);
  GBytes *complete = NULL;
  gsize sizes = 0;
  guint order[16];
  gint64 now = g_get_monotonic_time ();

  g_assert_no_error (error);
  /* equal-sized fragments: as few as fit in 1200 bytes with a 56-byte header */
  g_assert_cmpuint (frags->len, ==, (a->len - 56 + (1200 - 56) - 1) / (1200 - 56));
  g_assert_cmpuint (frags->len, >=, 4);
  for (guint i = 0; i < frags->len; i++)
    {
      gsize n;
      const guint8 *p = g_bytes_get_data (g_ptr_array_index (frags, i), &n);
      DiscoReloadForwardingHeader hdr;
      gsize hlen;

      g_assert_cmpuint (n, <=, 1200);
      disco_reload_forwarding_header_init (&hdr);
      g_assert_true (disco_reload_forwarding_header_decode (p, n, &hdr, &hlen, &error));
      g_assert_cmpuint (hdr.length, ==, n);
      g_assert_cmphex (hdr.transaction_id, ==, WT_TXID);
      g_assert_cmphex (hdr.fragment & DISCO_RELOAD_FRAGMENT_OFFSET_MASK, ==, sizes);
      g_assert_cmpint ((hdr.fragment & DISCO_RELOAD_FRAGMENT_LAST_BIT) != 0, ==,
                       i + 1 == frags->len);
      sizes += n - hlen;
      disco_reload_forwarding_header_clear (&hdr);
      /* A fragment alone is not a message. */
      decode_fails (p, n, NULL, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED);
    }
  g_assert_cmpuint (sizes, ==, a->len - (38 + 18));

  /* Backwards, the last fragment twice (a retransmission). */
  g_assert_cmpuint (frags->len, <, G_N_ELEMENTS (order));
  order[0] = frags->len - 1;
  for (guint i = 0; i < frags->len; i++)
    order[i + 1] = frags->len - 1 - i;
  for (guint i = 0; i <= frags->len; i++)
    {
      gsize n;
      const guint8 *p = g_bytes_get_data (g_ptr_array_index (frags, order[i]), &n);

      g_assert_true (disco_reload_reassembler_add (r, p, n, now, &complete, &error));
      g_assert_no_error (error);
      if (i < frags->len)
        {
          g_assert_null (complete);
          g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 1);
        }
    }
  g_assert_nonnull (complete);
  g_assert_cmpmem (g_bytes_get_data (complete, NULL), g_bytes_get_size (complete), a->data, a->len);
  g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
  g_bytes_unref (complete);

  /* An unfragmented message passes straight through. */
  {
    g_autoptr (GByteArray) small = encoded (DISCO_RELOAD_PING_REQ);
    g_autoptr (GPtrArray) one
        = disco_reload_message_fragment (small->data, small->len, 1200, &error);

    g_assert_cmpuint (one->len, ==, 1);
    g_assert_true (
        disco_reload_reassembler_add (r, small->data, small->len, now, &complete, &error));
    g_assert_nonnull (complete);
    g_assert_cmpuint (g_bytes_get_size (complete), ==, small->len);
    g_bytes_unref (complete);
  }
  /* Too small a fragment size to carry 256 payload bytes. */
  g_assert_null (disco_reload_message_fragment (a->data, a->len, 38 + 18 + 200, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_ENCODE);
}

static GBytes *
frag (GPtrArray *frags, guint i)
{
  return g_ptr_array_index (frags, i);
}

static gboolean
add (DiscoReloadReassembler *r, GBytes *b, gint64 now, GBytes **complete, GError **error)
{
  gsize n;
  const guint8 *p = g_bytes_get_data (b, &n);

  return disco_reload_reassembler_add (r, p, n, now, complete, error);
}

static void
test_reassembly_abuse (void)
{
  g_autoptr (GByteArray) a = big_store (4000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) frags = disco_reload_message_fragment (a->data, a->len, 1200, &error);
  GBytes *complete = NULL;
  gint64 now = 1000000;

  /* Timeout: 15 s after the first fragment the state is dropped, so the rest
   * no longer completes the message. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);

    g_assert_true (add (r, frag (frags, 0), now, &complete, &error));
    g_assert_true (add (r, frag (frags, 1), now + 14 * G_USEC_PER_SEC, &complete, &error));
    g_assert_cmpuint (disco_reload_reassembler_expire (r, now + 14 * G_USEC_PER_SEC), ==, 0);
    g_assert_cmpuint (disco_reload_reassembler_expire (r, now + DISCO_RELOAD_REASSEMBLY_TIMEOUT_US),
                      ==, 1);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
    g_assert_true (add (r, frag (frags, 2), now + 16 * G_USEC_PER_SEC, &complete, &error));
    g_assert_true (add (r, frag (frags, 3), now + 16 * G_USEC_PER_SEC, &complete, &error));
    g_assert_null (complete);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 1);
    /* expiry also happens implicitly on add */
    g_assert_true (add (r, frag (frags, 0), now + 40 * G_USEC_PER_SEC, &complete, &error));
    g_assert_null (complete);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 1);
  }
  /* Overlapping fragment with different bytes. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);
    gsize n;
    const guint8 *src = g_bytes_get_data (frag (frags, 1), &n);
    guint8 *evil = g_memdup2 (src, n);

    evil[n - 1] ^= 0xff;
    g_assert_true (add (r, frag (frags, 1), now, &complete, &error));
    g_assert_false (disco_reload_reassembler_add (r, evil, n, now, &complete, &error));
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY);
    g_clear_error (&error);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
    g_free (evil);
  }
  /* Two different "last" fragments. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);
    gsize n;
    const guint8 *src = g_bytes_get_data (frag (frags, 1), &n);
    guint8 *evil = g_memdup2 (src, n);

    evil[12] |= 0x40; /* fragment 1 claims to be last */
    g_assert_true (add (r, frag (frags, 3), now, &complete, &error));
    g_assert_false (disco_reload_reassembler_add (r, evil, n, now, &complete, &error));
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY);
    g_clear_error (&error);
    g_free (evil);
  }
  /* Total over max-message-size. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (3000, 0, 0);

    g_assert_true (add (r, frag (frags, 0), now, &complete, &error));
    g_assert_true (add (r, frag (frags, 1), now, &complete, &error));
    g_assert_false (add (r, frag (frags, 3), now, &complete, &error));
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
  }
  /* Too many concurrent reassemblies. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 2);

    for (guint i = 0; i < 3; i++)
      {
        gsize n;
        const guint8 *src = g_bytes_get_data (frag (frags, 0), &n);
        guint8 *f = g_memdup2 (src, n);
        gboolean ok;

        f[27] = (guint8)i; /* distinct transaction ids */
        ok = disco_reload_reassembler_add (r, f, n, now, &complete, &error);
        g_assert_cmpint (ok, ==, i < 2);
        g_free (f);
      }
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY);
    g_clear_error (&error);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 2);
  }
  /* Garbage is rejected by the header check. */
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);

    g_assert_false (
        disco_reload_reassembler_add (r, (const guint8 *)"garbage", 7, now, &complete, &error));
    g_assert_nonnull (error);
  }
}

static void
test_overlay_hash (void)
{
  /* SHA-1("overlay.example.org") ends in ...; check against an independent
   * digest computed here with GChecksum's hex output. */
  g_autofree gchar *hex
      = g_compute_checksum_for_string (G_CHECKSUM_SHA1, "overlay.example.org", -1);
  guint32 expect = (guint32)g_ascii_strtoull (hex + 32, NULL, 16);

  g_assert_cmphex (disco_reload_overlay_hash ("overlay.example.org"), ==, expect);
}

/* A Ping request written out by hand from RFC 6940 §6.3 (not by the
 * encoder): the encoder must produce exactly these bytes. */
static void
test_golden_ping (void)
{
  static const guint8 golden[] = {
    0xd2, 0x45, 0x4c, 0x4f,                         /* relo_token */
    0x1e, 0xe7, 0xc0, 0xde,                         /* overlay */
    0x00, 0x07,                                     /* configuration_sequence */
    0x0a,                                           /* version 1.0 */
    0x64,                                           /* ttl 100 */
    0xc0, 0x00, 0x00, 0x00,                         /* fragment: unfragmented */
    0x00, 0x00, 0x00, 0x55,                         /* length 85 */
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* transaction_id */
    0x00, 0x00, 0x00, 0x00,                         /* max_response_length */
    0x00, 0x00,                                     /* via_list_length */
    0x00, 0x12,                                     /* destination_list_length 18 */
    0x00, 0x00,                                     /* options_length */
    0x01, 0x10,                                     /* node destination, 16 bytes */
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x00, 0x17,          /* message_code ping_req */
    0x00, 0x00, 0x00, 0x0a,                                  /* message_body length */
    0x00, 0x08, 0,    0,    0,    0,    0,    0,    0,    0, /* padding<0..2^16-1> */
    0x00, 0x00, 0x00, 0x00,                                  /* extensions */
    0x00, 0x00,                                              /* certificates */
    0x00, 0x00,                                              /* SignatureAndHashAlgorithm {0,0} */
    0x03, 0x00, 0x00,                                        /* SignerIdentity none */
    0x00, 0x00,                                              /* signature_value */
  };
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
  g_autoptr (GByteArray) a = encode (msg);
  g_autoptr (DiscoReloadMessage) back = decode_ok (golden, sizeof golden, NULL);

  g_assert_cmpmem (a->data, a->len, golden, sizeof golden);
  g_assert_cmpuint (back->message_code, ==, DISCO_RELOAD_PING_REQ);
  g_assert_cmpuint (g_bytes_get_size (back->body.ping_req.padding), ==, 8);
}

/* RFC 6940's only example: IpAddressPort 192.0.2.1:6084 = 01 06 c0 00 02 01 17 c4,
 * seen inside an encoded Attach. */
static void
test_golden_ip_address_port (void)
{
  static const guint8 example[] = { 0x01, 0x06, 0xc0, 0x00, 0x02, 0x01, 0x17, 0xc4 };
  g_autoptr (GByteArray) a = encoded (DISCO_RELOAD_ATTACH_REQ);

  /* body: ufrag(1+6) password(1+19) role(1+7) candidates length(2), then the first address */
  g_assert_cmpmem (a->data + 38 + 18 + 6 + 7 + 20 + 8 + 2, sizeof example, example, sizeof example);
}

static void
test_forwarding_options (void)
{
  g_autoptr (DiscoReloadMessage) msg = wt_build (DISCO_RELOAD_PING_REQ);
  DiscoReloadForwardingOption o = { 0x42, 0, NULL };
  static const guint8 known[] = { 0x01 };
  g_autoptr (GError) error = NULL;

  g_array_append_val (msg->header.options, o);
  /* unknown, not critical: fine both when forwarding and at the destination */
  g_assert_true (disco_reload_forwarding_options_check (&msg->header, known, 1, FALSE, &error));
  g_assert_true (disco_reload_forwarding_options_check (&msg->header, known, 1, TRUE, &error));
  g_array_index (msg->header.options, DiscoReloadForwardingOption, 0).flags
      = DISCO_RELOAD_OPTION_DESTINATION_CRITICAL;
  g_assert_true (disco_reload_forwarding_options_check (&msg->header, known, 1, FALSE, &error));
  g_assert_false (disco_reload_forwarding_options_check (&msg->header, known, 1, TRUE, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR,
                  DISCO_RELOAD_WIRE_ERROR_UNSUPPORTED_FORWARDING_OPTION);
  g_assert_cmpuint (disco_reload_wire_error_to_rfc (error), ==,
                    DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION);
  g_clear_error (&error);
  g_array_index (msg->header.options, DiscoReloadForwardingOption, 0).flags
      = DISCO_RELOAD_OPTION_FORWARD_CRITICAL;
  g_assert_false (disco_reload_forwarding_options_check (&msg->header, known, 1, FALSE, &error));
  g_assert_error (error, DISCO_RELOAD_WIRE_ERROR,
                  DISCO_RELOAD_WIRE_ERROR_UNSUPPORTED_FORWARDING_OPTION);
  g_clear_error (&error);
  g_array_index (msg->header.options, DiscoReloadForwardingOption, 0).type = 0x01;
  g_assert_true (disco_reload_forwarding_options_check (&msg->header, known, 1, FALSE, &error));
  g_assert_true (disco_reload_forwarding_options_check (&msg->header, known, 1, TRUE, &error));
}

/* Reassembly per source: one link's fragments never join another's,
 * per-source limits, a too-large transaction refused once (with its
 * message code), transit codes for fragments passed on whole. */
static void
test_reassembly_sources (void)
{
  g_autoptr (GByteArray) a = big_store (4000);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) frags = disco_reload_message_fragment (a->data, a->len, 1200, &error);
  gint64 now = g_get_monotonic_time ();
  int src1, src2;
  GBytes *complete = NULL;
  guint16 code = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (frags->len, >=, 4);
#define FRAG(i)                                                                                    \
  g_bytes_get_data (g_ptr_array_index (frags, i), NULL),                                           \
      g_bytes_get_size (g_ptr_array_index (frags, i))
  {
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);

    /* Source 1 sends the first half, source 2 the rest: nothing completes. */
    for (guint i = 0; i < frags->len; i++)
      {
        g_assert_true (disco_reload_reassembler_add_from (r, i < 2 ? &src1 : &src2, FRAG (i), now,
                                                          &complete, &code, &error));
        g_assert_null (complete);
      }
    g_assert_cmpuint (disco_reload_reassembler_pending_from (r, &src1), ==, 1);
    g_assert_cmpuint (disco_reload_reassembler_pending_from (r, &src2), ==, 1);
    /* Source 1 completes its own. */
    for (guint i = 2; i < frags->len; i++)
      g_assert_true (
          disco_reload_reassembler_add_from (r, &src1, FRAG (i), now, &complete, &code, &error));
    g_assert_nonnull (complete);
    g_assert_cmpuint (code, ==, DISCO_RELOAD_STORE_REQ);
    g_assert_cmpuint (g_bytes_get_size (complete), ==, a->len);
    g_clear_pointer (&complete, g_bytes_unref);
    g_assert_cmpuint (disco_reload_reassembler_pending_from (r, &src1), ==, 0);
    g_assert_cmpuint (disco_reload_reassembler_bytes_from (r, &src1), ==, 0);
    disco_reload_reassembler_forget (r, &src2);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
  }
  {
    /* A source may buffer at most 1500 payload bytes (one fragment). */
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);

    disco_reload_reassembler_set_source_limits (r, 4, 1500);
    g_assert_true (
        disco_reload_reassembler_add_from (r, &src1, FRAG (0), now, &complete, NULL, &error));
    g_assert_false (
        disco_reload_reassembler_add_from (r, &src1, FRAG (1), now, &complete, NULL, &error));
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY);
    g_clear_error (&error);
    g_assert_cmpuint (disco_reload_reassembler_pending (r), ==, 0);
    g_assert_true (
        disco_reload_reassembler_add_from (r, &src2, FRAG (0), now, &complete, NULL, &error));
  }
  {
    /* Bounded at 3000 bytes: refused once, as a Store request, then quiet. */
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (3000, 0, 0);
    guint i = 0;

    while (disco_reload_reassembler_add_from (r, &src1, FRAG (i), now, &complete, &code, &error))
      i++;
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
    g_assert_cmpuint (code, ==, DISCO_RELOAD_STORE_REQ);
    g_assert_cmpuint (i, <, frags->len - 1);
    g_assert_false (
        disco_reload_reassembler_add_from (r, &src1, FRAG (i + 1), now, &complete, &code, &error));
    g_assert_error (error, DISCO_RELOAD_WIRE_ERROR, DISCO_RELOAD_WIRE_ERROR_REASSEMBLY);
    g_clear_error (&error);
    /* After the timeout the transaction id is free again. */
    disco_reload_reassembler_expire (r, now + DISCO_RELOAD_REASSEMBLY_TIMEOUT_US);
    g_assert_true (disco_reload_reassembler_add_from (
        r, &src1, FRAG (0), now + DISCO_RELOAD_REASSEMBLY_TIMEOUT_US, &complete, &code, &error));
  }
  {
    /* Transit: the code comes from the first fragment, until the last. */
    g_autoptr (DiscoReloadReassembler) r = disco_reload_reassembler_new (8000, 0, 0);
    DiscoReloadForwardingHeader hdr;
    gsize hlen;

    disco_reload_forwarding_header_init (&hdr);
    g_assert_true (disco_reload_forwarding_header_decode (FRAG (0), &hdr, &hlen, NULL));
    disco_reload_forwarding_header_clear (&hdr);
    g_assert_cmpuint (disco_reload_reassembler_transit_code (r, &src1, FRAG (1), hlen, now), ==, 0);
    g_assert_cmpuint (disco_reload_reassembler_transit_code (r, &src1, FRAG (0), hlen, now), ==,
                      DISCO_RELOAD_STORE_REQ);
    g_assert_cmpuint (disco_reload_reassembler_transit_code (r, &src2, FRAG (1), hlen, now), ==, 0);
    for (guint i = 1; i < frags->len; i++)
      g_assert_cmpuint (disco_reload_reassembler_transit_code (r, &src1, FRAG (i), hlen, now), ==,
                        DISCO_RELOAD_STORE_REQ);
    g_assert_cmpuint (disco_reload_reassembler_transit_code (r, &src1, FRAG (1), hlen, now), ==, 0);
  }
#undef FRAG
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < wt_n_codes; i++)
    {
      g_autofree gchar *path = g_strdup_printf ("/wire/roundtrip/0x%04x", wt_codes[i]);

      g_test_add_data_func (path, GUINT_TO_POINTER (wt_codes[i]), test_roundtrip);
    }
  g_test_add_func ("/wire/roundtrip/config-update-config", test_config_update_config);
  g_test_add_func ("/wire/roundtrip/update-variants", test_update_variants);
  g_test_add_func ("/wire/roundtrip/error-codes", test_errors);
  g_test_add_func ("/wire/header/rich", test_rich_header);
  g_test_add_func ("/wire/header/forward-fast-path", test_header_only);
  g_test_add_func ("/wire/extensions", test_extensions);
  g_test_add_func ("/wire/malformed/truncated", test_truncated);
  g_test_add_func ("/wire/malformed/mutations", test_mutations);
  g_test_add_func ("/wire/malformed/header", test_bad_header);
  g_test_add_func ("/wire/malformed/bodies", test_bad_bodies);
  g_test_add_func ("/wire/encode-errors", test_encode_errors);
  g_test_add_func ("/wire/stored-data/unknown-model", test_unknown_model);
  g_test_add_func ("/wire/stored-data/standalone", test_stored_data_standalone);
  g_test_add_func ("/wire/signature-input/message", test_message_signature_input);
  g_test_add_func ("/wire/signature-input/stored-data", test_stored_data_signature_input);
  g_test_add_func ("/wire/fragment/reassemble", test_fragment_reassemble);
  g_test_add_func ("/wire/fragment/abuse", test_reassembly_abuse);
  g_test_add_func ("/wire/fragment/sources", test_reassembly_sources);
  g_test_add_func ("/wire/overlay-hash", test_overlay_hash);
  g_test_add_func ("/wire/golden/ping", test_golden_ping);
  g_test_add_func ("/wire/golden/ip-address-port", test_golden_ip_address_port);
  g_test_add_func ("/wire/header/forwarding-options", test_forwarding_options);
  return g_test_run ();
}
