/* reload-wire-message.c: MessageContents of every message code, whole
 * messages, and the message signature input (RFC 6940 §6.3). */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

/* ---- small bodies ---- */

static gboolean
read_probe_req (DiscoWireReader *r, DiscoReloadProbeReq *b, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 1, &list, "requested_info", error))
    return FALSE;
  g_array_append_vals (b->requested_info, list.data, (guint)list.len);
  return TRUE;
}

static gboolean
read_probe_ans (DiscoWireReader *r, DiscoReloadProbeAns *b, GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_sub (r, 2, &list, "probe_info", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadProbeInformation pi;
      DiscoWireReader v;

      if (!disco_wire_read_u8 (&list, &pi.type, "ProbeInformation type", error)
          || !disco_wire_read_sub (&list, 1, &v, "ProbeInformation", error))
        return FALSE;
      if (pi.type < DISCO_RELOAD_PROBE_RESPONSIBLE_SET || pi.type > DISCO_RELOAD_PROBE_UPTIME)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown ProbeInformation type %u", pi.type);
      if (!disco_wire_read_u32 (&v, &pi.value, "ProbeInformation value", error)
          || !disco_wire_reader_done (&v, "ProbeInformation", error))
        return FALSE;
      g_array_append_val (b->probe_info, pi);
    }
  return TRUE;
}

static gboolean
read_chord_update (DiscoWireReader *r, DiscoReloadChordUpdate *u, GError **error)
{
  if (!disco_wire_read_u32 (r, &u->uptime, "uptime", error)
      || !disco_wire_read_u8 (r, &u->type, "ChordUpdateType", error))
    return FALSE;
  switch (u->type)
    {
      case DISCO_RELOAD_CHORD_UPDATE_PEER_READY:
        return TRUE;
      case DISCO_RELOAD_CHORD_UPDATE_NEIGHBORS:
        return disco_wire_read_node_id_list (r, 2, u->predecessors, "predecessors", error)
               && disco_wire_read_node_id_list (r, 2, u->successors, "successors", error);
      case DISCO_RELOAD_CHORD_UPDATE_FULL:
        return disco_wire_read_node_id_list (r, 2, u->predecessors, "predecessors", error)
               && disco_wire_read_node_id_list (r, 2, u->successors, "successors", error)
               && disco_wire_read_node_id_list (r, 2, u->fingers, "fingers", error);
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown ChordUpdateType %u", u->type);
    }
}

static gboolean
put_chord_update (GByteArray *out, const DiscoReloadChordUpdate *u, GError **error)
{
  disco_wire_put_u32 (out, u->uptime);
  disco_wire_put_u8 (out, u->type);
  switch (u->type)
    {
      case DISCO_RELOAD_CHORD_UPDATE_PEER_READY:
        return TRUE;
      case DISCO_RELOAD_CHORD_UPDATE_NEIGHBORS:
        return disco_wire_put_node_id_list (out, 2, u->predecessors, "predecessors", error)
               && disco_wire_put_node_id_list (out, 2, u->successors, "successors", error);
      case DISCO_RELOAD_CHORD_UPDATE_FULL:
        return disco_wire_put_node_id_list (out, 2, u->predecessors, "predecessors", error)
               && disco_wire_put_node_id_list (out, 2, u->successors, "successors", error)
               && disco_wire_put_node_id_list (out, 2, u->fingers, "fingers", error);
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "invalid ChordUpdateType %u",
                                u->type);
    }
}

static gboolean
read_config_update (DiscoWireReader *r, DiscoReloadConfigUpdateReq *c, GError **error)
{
  DiscoWireReader v, list;

  if (!disco_wire_read_u8 (r, &c->type, "ConfigUpdateType", error)
      || !disco_wire_read_sub (r, 4, &v, "ConfigUpdateReq", error))
    return FALSE;
  switch (c->type)
    {
      case DISCO_RELOAD_CONFIG_UPDATE_CONFIG:
        if (!disco_wire_read_opaque (&v, 3, &c->config_data, "config_data", error))
          return FALSE;
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_KIND:
        if (!disco_wire_read_sub (&v, 3, &list, "kinds", error))
          return FALSE;
        while (disco_wire_reader_left (&list) > 0)
          {
            GBytes *kind;

            if (!disco_wire_read_opaque (&list, 2, &kind, "KindDescription", error))
              return FALSE;
            g_ptr_array_add (c->kinds, kind);
          }
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown ConfigUpdateType %u", c->type);
    }
  return disco_wire_reader_done (&v, "ConfigUpdateReq", error);
}

static gboolean
put_config_update (GByteArray *out, const DiscoReloadConfigUpdateReq *c, GError **error)
{
  gsize pos, list;

  disco_wire_put_u8 (out, c->type);
  pos = disco_wire_begin_len (out, 4);
  switch (c->type)
    {
      case DISCO_RELOAD_CONFIG_UPDATE_CONFIG:
        if (!disco_wire_put_opaque_bytes (out, 3, c->config_data, "config_data", error))
          return FALSE;
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_KIND:
        list = disco_wire_begin_len (out, 3);
        for (guint i = 0; c->kinds != NULL && i < c->kinds->len; i++)
          if (!disco_wire_put_opaque_bytes (out, 2, g_ptr_array_index (c->kinds, i),
                                            "KindDescription", error))
            return FALSE;
        if (!disco_wire_end_len (out, list, 3, "kinds", error))
          return FALSE;
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                "invalid ConfigUpdateType %u", c->type);
    }
  return disco_wire_end_len (out, pos, 4, "ConfigUpdateReq", error);
}

static gboolean
read_error (DiscoWireReader *r, DiscoReloadErrorResponse *e, GError **error)
{
  DiscoWireReader info;

  if (!disco_wire_read_u16 (r, &e->error_code, "error_code", error))
    return FALSE;
  if (!disco_wire_read_sub (r, 2, &info, "error_info", error))
    return FALSE;
  e->error_info = disco_wire_reader_slice (&info, 0, info.len);
  if (e->error_code == DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW)
    {
      e->store_ans = g_new0 (DiscoReloadStoreAns, 1);
      disco_reload_store_ans_init (e->store_ans);
      return disco_wire_read_store_ans (&info, e->store_ans, error)
             && disco_wire_reader_done (&info, "Generation_Counter_Too_Low error_info", error);
    }
  if (e->error_code == DISCO_RELOAD_ERROR_UNKNOWN_KIND)
    {
      DiscoWireReader kinds;

      e->unknown_kinds = g_array_new (FALSE, TRUE, sizeof (DiscoReloadKindId));
      if (!disco_wire_read_sub (&info, 1, &kinds, "unknown_kinds", error))
        return FALSE;
      if (kinds.len % 4 != 0)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown_kinds list of %" G_GSIZE_FORMAT " bytes", kinds.len);
      while (disco_wire_reader_left (&kinds) > 0)
        {
          DiscoReloadKindId k;

          disco_wire_read_u32 (&kinds, &k, "kind", NULL);
          g_array_append_val (e->unknown_kinds, k);
        }
      return disco_wire_reader_done (&info, "Unknown_Kind error_info", error);
    }
  return TRUE;
}

static gboolean
put_error (GByteArray *out, const DiscoReloadErrorResponse *e, GError **error)
{
  gsize pos, list;

  disco_wire_put_u16 (out, e->error_code);
  pos = disco_wire_begin_len (out, 2);
  if (e->error_code == DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW && e->store_ans != NULL)
    {
      if (!disco_wire_put_store_ans (out, e->store_ans, error))
        return FALSE;
    }
  else if (e->error_code == DISCO_RELOAD_ERROR_UNKNOWN_KIND && e->unknown_kinds != NULL)
    {
      list = disco_wire_begin_len (out, 1);
      for (guint i = 0; i < e->unknown_kinds->len; i++)
        disco_wire_put_u32 (out, g_array_index (e->unknown_kinds, DiscoReloadKindId, i));
      if (!disco_wire_end_len (out, list, 1, "unknown_kinds", error))
        return FALSE;
    }
  else if (e->error_info != NULL)
    {
      gsize n;
      const guint8 *p = g_bytes_get_data (e->error_info, &n);

      disco_wire_put_bytes (out, p, n);
    }
  return disco_wire_end_len (out, pos, 2, "error_info", error);
}

/* ---- body dispatch ---- */

static gboolean
read_body (DiscoWireReader *r, guint16 code, DiscoReloadBody *b, GError **error)
{
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        return read_probe_req (r, &b->probe_req, error);
      case DISCO_RELOAD_PROBE_ANS:
        return read_probe_ans (r, &b->probe_ans, error);
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
        return disco_wire_read_attach (r, FALSE, &b->attach, error);
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        return disco_wire_read_attach (r, TRUE, &b->attach, error);
      case DISCO_RELOAD_STORE_REQ:
        return disco_wire_read_store_req (r, &b->store_req, error);
      case DISCO_RELOAD_STORE_ANS:
        return disco_wire_read_store_ans (r, &b->store_ans, error);
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        return disco_wire_read_fetch_req (r, &b->fetch_req, error);
      case DISCO_RELOAD_FETCH_ANS:
        return disco_wire_read_fetch_ans (r, &b->fetch_ans, error);
      case DISCO_RELOAD_STAT_ANS:
        return disco_wire_read_stat_ans (r, &b->stat_ans, error);
      case DISCO_RELOAD_FIND_REQ:
        return disco_wire_read_find_req (r, &b->find_req, error);
      case DISCO_RELOAD_FIND_ANS:
        return disco_wire_read_find_ans (r, &b->find_ans, error);
      case DISCO_RELOAD_JOIN_REQ:
      case DISCO_RELOAD_LEAVE_REQ:
        return disco_wire_read_node_id (r, &b->join_leave.node_id, error)
               && disco_wire_read_opaque (r, 2, &b->join_leave.overlay_specific_data,
                                          "overlay_specific_data", error);
      case DISCO_RELOAD_JOIN_ANS:
        return disco_wire_read_opaque (r, 2, &b->join_leave.overlay_specific_data,
                                       "overlay_specific_data", error);
      case DISCO_RELOAD_LEAVE_ANS:
      case DISCO_RELOAD_UPDATE_ANS:
      case DISCO_RELOAD_CONFIG_UPDATE_ANS:
        return TRUE; /* empty; trailing bytes are caught by the caller */
      case DISCO_RELOAD_UPDATE_REQ:
        return read_chord_update (r, &b->update_req, error);
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        return disco_wire_read_bool (r, &b->route_query_req.send_update, "send_update", error)
               && disco_wire_read_destination (r, &b->route_query_req.destination, error)
               && disco_wire_read_opaque (r, 2, &b->route_query_req.overlay_specific_data,
                                          "overlay_specific_data", error);
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        return disco_wire_read_node_id (r, &b->route_query_ans.next_peer, error);
      case DISCO_RELOAD_PING_REQ:
        return disco_wire_read_opaque (r, 2, &b->ping_req.padding, "padding", error);
      case DISCO_RELOAD_PING_ANS:
        return disco_wire_read_u64 (r, &b->ping_ans.response_id, "response_id", error)
               && disco_wire_read_u64 (r, &b->ping_ans.time, "time", error);
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        return read_config_update (r, &b->config_update_req, error);
      case DISCO_RELOAD_ERROR:
        return read_error (r, &b->error, error);
      default:
        b->raw = disco_wire_reader_slice (r, 0, r->len);
        r->pos = r->len;
        return TRUE;
    }
}

gboolean
disco_reload_body_encode (guint16 code, const DiscoReloadBody *b, GByteArray *out, GError **error)
{
  guint start = out->len;
  gboolean ok = TRUE;

  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        ok = disco_wire_put_opaque (
            out, 1,
            b->probe_req.requested_info != NULL ? (const guint8 *)b->probe_req.requested_info->data
                                                : NULL,
            b->probe_req.requested_info != NULL ? b->probe_req.requested_info->len : 0,
            "requested_info", error);
        break;
      case DISCO_RELOAD_PROBE_ANS:
        {
          gsize pos = disco_wire_begin_len (out, 2);

          for (guint i = 0; b->probe_ans.probe_info != NULL && i < b->probe_ans.probe_info->len;
               i++)
            {
              const DiscoReloadProbeInformation *pi
                  = &g_array_index (b->probe_ans.probe_info, DiscoReloadProbeInformation, i);

              disco_wire_put_u8 (out, pi->type);
              disco_wire_put_u8 (out, 4);
              disco_wire_put_u32 (out, pi->value);
            }
          ok = disco_wire_end_len (out, pos, 2, "probe_info", error);
          break;
        }
      case DISCO_RELOAD_ATTACH_REQ:
      case DISCO_RELOAD_ATTACH_ANS:
        ok = disco_wire_put_attach (out, FALSE, &b->attach, error);
        break;
      case DISCO_RELOAD_APP_ATTACH_REQ:
      case DISCO_RELOAD_APP_ATTACH_ANS:
        ok = disco_wire_put_attach (out, TRUE, &b->attach, error);
        break;
      case DISCO_RELOAD_STORE_REQ:
        ok = disco_wire_put_store_req (out, &b->store_req, error);
        break;
      case DISCO_RELOAD_STORE_ANS:
        ok = disco_wire_put_store_ans (out, &b->store_ans, error);
        break;
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
        ok = disco_wire_put_fetch_req (out, &b->fetch_req, error);
        break;
      case DISCO_RELOAD_FETCH_ANS:
        ok = disco_wire_put_fetch_ans (out, &b->fetch_ans, error);
        break;
      case DISCO_RELOAD_STAT_ANS:
        ok = disco_wire_put_stat_ans (out, &b->stat_ans, error);
        break;
      case DISCO_RELOAD_FIND_REQ:
        ok = disco_wire_put_find_req (out, &b->find_req, error);
        break;
      case DISCO_RELOAD_FIND_ANS:
        ok = disco_wire_put_find_ans (out, &b->find_ans, error);
        break;
      case DISCO_RELOAD_JOIN_REQ:
      case DISCO_RELOAD_LEAVE_REQ:
        disco_wire_put_bytes (out, b->join_leave.node_id.id, DISCO_RELOAD_NODE_ID_LENGTH);
        ok = disco_wire_put_opaque_bytes (out, 2, b->join_leave.overlay_specific_data,
                                          "overlay_specific_data", error);
        break;
      case DISCO_RELOAD_JOIN_ANS:
        ok = disco_wire_put_opaque_bytes (out, 2, b->join_leave.overlay_specific_data,
                                          "overlay_specific_data", error);
        break;
      case DISCO_RELOAD_LEAVE_ANS:
      case DISCO_RELOAD_UPDATE_ANS:
      case DISCO_RELOAD_CONFIG_UPDATE_ANS:
        break;
      case DISCO_RELOAD_UPDATE_REQ:
        ok = put_chord_update (out, &b->update_req, error);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        disco_wire_put_u8 (out, b->route_query_req.send_update ? 1 : 0);
        ok = disco_wire_put_destination (out, &b->route_query_req.destination, error)
             && disco_wire_put_opaque_bytes (out, 2, b->route_query_req.overlay_specific_data,
                                             "overlay_specific_data", error);
        break;
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        disco_wire_put_bytes (out, b->route_query_ans.next_peer.id, DISCO_RELOAD_NODE_ID_LENGTH);
        break;
      case DISCO_RELOAD_PING_REQ:
        ok = disco_wire_put_opaque_bytes (out, 2, b->ping_req.padding, "padding", error);
        break;
      case DISCO_RELOAD_PING_ANS:
        disco_wire_put_u64 (out, b->ping_ans.response_id);
        disco_wire_put_u64 (out, b->ping_ans.time);
        break;
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        ok = put_config_update (out, &b->config_update_req, error);
        break;
      case DISCO_RELOAD_ERROR:
        ok = put_error (out, &b->error, error);
        break;
      default:
        if (b->raw != NULL)
          {
            gsize n;
            const guint8 *p = g_bytes_get_data (b->raw, &n);

            disco_wire_put_bytes (out, p, n);
          }
        break;
    }
  if (!ok)
    g_byte_array_set_size (out, start);
  return ok;
}

/* ---- ChordLeaveData ---- */

GBytes *
disco_reload_chord_leave_data_encode (const DiscoReloadChordLeaveData *ld, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  if (ld->type != DISCO_RELOAD_CHORD_LEAVE_FROM_SUCC
      && ld->type != DISCO_RELOAD_CHORD_LEAVE_FROM_PRED)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "invalid ChordLeaveType %u",
                       ld->type);
      return NULL;
    }
  disco_wire_put_u8 (out, ld->type);
  if (!disco_wire_put_node_id_list (out, 2, ld->node_ids, "ChordLeaveData", error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
disco_reload_chord_leave_data_decode (GBytes *data, DiscoReloadChordLeaveData *ld, GError **error)
{
  DiscoWireReader r;
  gsize n = 0;
  const guint8 *p = data != NULL ? g_bytes_get_data (data, &n) : NULL;

  disco_wire_reader_init (&r, p, n, data);
  if (!disco_wire_read_u8 (&r, &ld->type, "ChordLeaveType", error))
    return FALSE;
  if (ld->type != DISCO_RELOAD_CHORD_LEAVE_FROM_SUCC
      && ld->type != DISCO_RELOAD_CHORD_LEAVE_FROM_PRED)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                            "unknown ChordLeaveType %u", ld->type);
  return disco_wire_read_node_id_list (&r, 2, ld->node_ids, "ChordLeaveData", error)
         && disco_wire_reader_done (&r, "ChordLeaveData", error);
}

/* ---- MessageContents and whole messages ---- */

static gboolean
put_contents (GByteArray *out, const DiscoReloadMessage *msg, GError **error)
{
  gsize pos;

  disco_wire_put_u16 (out, msg->message_code);
  pos = disco_wire_begin_len (out, 4);
  if (!disco_reload_body_encode (msg->message_code, &msg->body, out, error)
      || !disco_wire_end_len (out, pos, 4, "message_body", error))
    return FALSE;
  pos = disco_wire_begin_len (out, 4);
  for (guint i = 0; msg->extensions != NULL && i < msg->extensions->len; i++)
    {
      const DiscoReloadMessageExtension *e
          = &g_array_index (msg->extensions, DiscoReloadMessageExtension, i);

      disco_wire_put_u16 (out, e->type);
      disco_wire_put_u8 (out, e->critical ? 1 : 0);
      if (!disco_wire_put_opaque_bytes (out, 4, e->contents, "extension", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 4, "extensions", error);
}

gboolean
disco_reload_message_contents_encode (const DiscoReloadMessage *msg, GByteArray *out,
                                      GError **error)
{
  guint start = out->len;

  if (put_contents (out, msg, error))
    return TRUE;
  g_byte_array_set_size (out, start);
  return FALSE;
}

gboolean
disco_reload_message_encode (const DiscoReloadMessage *msg, GByteArray *out, GError **error)
{
  guint start = out->len;
  gsize total;

  /* Header first with a zero payload, then patch the length once the rest
   * is written: one pass, no intermediate buffers. */
  if (!disco_reload_forwarding_header_encode (&msg->header, 0, out, error))
    return FALSE;
  if (!put_contents (out, msg, error)
      || !disco_wire_put_security_block (out, &msg->security, error))
    goto fail;
  total = out->len - start;
  if (total > G_MAXUINT32)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "message too long");
      goto fail;
    }
  out->data[start + 16] = (guint8)(total >> 24);
  out->data[start + 17] = (guint8)(total >> 16);
  out->data[start + 18] = (guint8)(total >> 8);
  out->data[start + 19] = (guint8)total;
  return TRUE;

fail:
  g_byte_array_set_size (out, start);
  return FALSE;
}

static gboolean
extension_known (const DiscoReloadDecodeOptions *options, guint16 type)
{
  for (gsize i = 0; options != NULL && i < options->n_known_extensions; i++)
    if (options->known_extensions[i] == type)
      return TRUE;
  return FALSE;
}

static gboolean
decode_message (GBytes *bytes, const DiscoReloadDecodeOptions *options, DiscoReloadMessage *msg,
                GError **error)
{
  gsize len, header_len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  DiscoWireReader r, body, ext;
  gboolean is_response;

  if (options != NULL && options->max_message_size > 0 && len > options->max_message_size)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE,
                            "message of %" G_GSIZE_FORMAT
                            " bytes exceeds max-message-size %" G_GSIZE_FORMAT,
                            len, options->max_message_size);
  if (!disco_reload_forwarding_header_decode (data, len, &msg->header, &header_len, error))
    return FALSE;
  if (msg->header.length != len)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH,
                            "length field %u but %" G_GSIZE_FORMAT " bytes received",
                            msg->header.length, len);
  if ((msg->header.fragment & (DISCO_RELOAD_FRAGMENT_LAST_BIT | DISCO_RELOAD_FRAGMENT_OFFSET_MASK))
      != DISCO_RELOAD_FRAGMENT_LAST_BIT)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED,
                            "message is a fragment (0x%08x)", msg->header.fragment);
  if (options != NULL && options->initial_ttl > 0 && msg->header.ttl > options->initial_ttl)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TTL_EXCEEDED,
                            "ttl %u exceeds initial-ttl %u", msg->header.ttl, options->initial_ttl);

  disco_wire_reader_init (&r, data + header_len, len - header_len, bytes);
  r.options = options;
  if (!disco_wire_read_u16 (&r, &msg->message_code, "message_code", error)
      || !disco_wire_read_sub (&r, 4, &body, "message_body", error)
      || !disco_wire_read_sub (&r, 4, &ext, "extensions", error))
    return FALSE;
  disco_wire_body_init (msg->message_code, &msg->body);

  is_response = !DISCO_RELOAD_MESSAGE_CODE_IS_REQUEST (msg->message_code);
  for (guint i = 0; i < msg->header.options->len; i++)
    {
      const DiscoReloadForwardingOption *o
          = &g_array_index (msg->header.options, DiscoReloadForwardingOption, i);

      /* §6.3.2.3: none of the three flags may be set in a response. */
      if (is_response && (o->flags & 0x07) != 0)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "forwarding option %u with flags 0x%02x in a response", o->type,
                                o->flags);
    }

  while (disco_wire_reader_left (&ext) > 0)
    {
      DiscoReloadMessageExtension e = { 0 };

      if (!disco_wire_read_u16 (&ext, &e.type, "extension type", error)
          || !disco_wire_read_bool (&ext, &e.critical, "extension critical", error)
          || !disco_wire_read_opaque (&ext, 4, &e.contents, "extension contents", error))
        return FALSE;
      g_array_append_val (msg->extensions, e);
      if (e.critical && !extension_known (options, e.type))
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_UNKNOWN_EXTENSION,
                                "unknown critical message extension 0x%04x", e.type);
    }

  if (!read_body (&body, msg->message_code, &msg->body, error)
      || !disco_wire_reader_done (&body, "message_body", error))
    return FALSE;
  if (!disco_wire_read_security_block (&r, &msg->security, error))
    return FALSE;
  return disco_wire_reader_done (&r, "message", error);
}

gboolean
disco_reload_message_decode_full (GBytes *bytes, const DiscoReloadDecodeOptions *options,
                                  DiscoReloadMessage **out, GError **error)
{
  g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (0);

  g_return_val_if_fail (bytes != NULL && out != NULL, FALSE);
  /* Start from an empty security block: decode appends to it. */
  disco_reload_signature_clear (&msg->security.signature);
  memset (&msg->security.signature, 0, sizeof msg->security.signature);
  if (!decode_message (bytes, options, msg, error))
    return FALSE;
  *out = g_steal_pointer (&msg);
  return TRUE;
}

gboolean
disco_reload_message_decode (const guint8 *data, gsize len, DiscoReloadMessage **out,
                             GError **error)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, len);

  return disco_reload_message_decode_full (bytes, NULL, out, error);
}

/* ---- signature inputs ---- */

gboolean
disco_reload_message_signature_input (const DiscoReloadMessage *msg,
                                      const DiscoReloadSignerIdentity *identity, GByteArray *out,
                                      GError **error)
{
  guint start = out->len;

  disco_wire_put_u32 (out, msg->header.overlay);
  disco_wire_put_u64 (out, msg->header.transaction_id);
  if (put_contents (out, msg, error) && disco_reload_signer_identity_encode (identity, out, error))
    return TRUE;
  g_byte_array_set_size (out, start);
  return FALSE;
}

gboolean
disco_reload_message_signature_input_from_wire (const guint8 *data, gsize len, GByteArray *out,
                                                GError **error)
{
  DiscoReloadForwardingHeader hdr;
  gsize header_len, contents_start, contents_len, ident_start;
  DiscoWireReader r, skip;
  guint16 code;
  guint8 alg;
  gboolean ok;

  disco_reload_forwarding_header_init (&hdr);
  ok = disco_reload_forwarding_header_decode (data, len, &hdr, &header_len, error);
  if (ok && hdr.length != len)
    ok = disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH,
                          "length field %u but %" G_GSIZE_FORMAT " bytes", hdr.length, len);
  if (ok
      && (hdr.fragment & (DISCO_RELOAD_FRAGMENT_LAST_BIT | DISCO_RELOAD_FRAGMENT_OFFSET_MASK))
             != DISCO_RELOAD_FRAGMENT_LAST_BIT)
    ok = disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_FRAGMENTED,
                          "signature input needs the reassembled message");
  if (!ok)
    {
      disco_reload_forwarding_header_clear (&hdr);
      return FALSE;
    }

  disco_wire_reader_init (&r, data + header_len, len - header_len, NULL);
  contents_start = header_len;
  if (!disco_wire_read_u16 (&r, &code, "message_code", error)
      || !disco_wire_read_sub (&r, 4, &skip, "message_body", error)
      || !disco_wire_read_sub (&r, 4, &skip, "extensions", error))
    goto fail;
  contents_len = r.pos;
  if (!disco_wire_read_sub (&r, 2, &skip, "certificates", error)
      || !disco_wire_read_u8 (&r, &alg, "hash algorithm", error)
      || !disco_wire_read_u8 (&r, &alg, "signature algorithm", error))
    goto fail;
  ident_start = r.pos;
  {
    DiscoReloadSignerIdentity id = { 0 };

    r.owner = NULL;
    ok = disco_wire_read_signer_identity (&r, &id, error);
    disco_reload_signer_identity_clear (&id);
    if (!ok)
      goto fail;
  }
  disco_wire_put_u32 (out, hdr.overlay);
  disco_wire_put_u64 (out, hdr.transaction_id);
  disco_wire_put_bytes (out, data + contents_start, contents_len);
  disco_wire_put_bytes (out, r.data + ident_start, r.pos - ident_start);
  disco_reload_forwarding_header_clear (&hdr);
  return TRUE;

fail:
  disco_reload_forwarding_header_clear (&hdr);
  return FALSE;
}
