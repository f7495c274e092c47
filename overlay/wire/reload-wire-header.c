/* reload-wire-header.c: forwarding header, destinations, forwarding options
 * (RFC 6940 §6.3.2). */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

gboolean
disco_wire_read_node_id (DiscoWireReader *r, DiscoReloadNodeId *id, GError **error)
{
  const guint8 *p;

  if (!disco_wire_read_fixed (r, DISCO_RELOAD_NODE_ID_LENGTH, &p, "NodeId", error))
    return FALSE;
  memcpy (id->id, p, DISCO_RELOAD_NODE_ID_LENGTH);
  return TRUE;
}

gboolean
disco_wire_read_resource_id (DiscoWireReader *r, DiscoReloadResourceId *rid, GError **error)
{
  DiscoWireReader sub;

  if (!disco_wire_read_sub (r, 1, &sub, "ResourceId", error))
    return FALSE;
  rid->len = (guint8)sub.len;
  memcpy (rid->id, sub.data, sub.len);
  return TRUE;
}

void
disco_wire_put_resource_id (GByteArray *out, const DiscoReloadResourceId *rid)
{
  disco_wire_put_u8 (out, rid->len);
  disco_wire_put_bytes (out, rid->id, rid->len);
}

gboolean
disco_wire_read_node_id_list (DiscoWireReader *r, guint width, GArray *list, const char *what,
                              GError **error)
{
  DiscoWireReader sub;

  if (!disco_wire_read_sub (r, width, &sub, what, error))
    return FALSE;
  if (sub.len % DISCO_RELOAD_NODE_ID_LENGTH != 0)
    return disco_wire_fail (
        error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
        "%s: length %" G_GSIZE_FORMAT " is not a multiple of the Node-ID length", what, sub.len);
  g_array_append_vals (list, sub.data, (guint)(sub.len / DISCO_RELOAD_NODE_ID_LENGTH));
  return TRUE;
}

gboolean
disco_wire_put_node_id_list (GByteArray *out, guint width, const GArray *list, const char *what,
                             GError **error)
{
  gsize n = list != NULL ? list->len : 0;

  return disco_wire_put_opaque (out, width, n > 0 ? (const guint8 *)list->data : NULL,
                                n * DISCO_RELOAD_NODE_ID_LENGTH, what, error);
}

gboolean
disco_wire_read_destination (DiscoWireReader *r, DiscoReloadDestination *d, GError **error)
{
  guint8 type;
  DiscoWireReader sub;

  memset (d, 0, sizeof *d);
  if (disco_wire_reader_left (r) >= 1 && (r->data[r->pos] & 0x80) != 0)
    {
      /* Compressed 2-byte opaque id: the top bit distinguishes it from a
       * type byte, which is always < 128. */
      d->type = DISCO_RELOAD_DESTINATION_COMPRESSED;
      return disco_wire_read_u16 (r, &d->compressed, "compressed destination", error);
    }
  if (!disco_wire_read_u8 (r, &type, "destination type", error)
      || !disco_wire_read_sub (r, 1, &sub, "destination", error))
    return FALSE;
  switch (type)
    {
      case DISCO_RELOAD_DESTINATION_NODE:
        d->type = DISCO_RELOAD_DESTINATION_NODE;
        if (sub.len != DISCO_RELOAD_NODE_ID_LENGTH)
          return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                  "node destination of %" G_GSIZE_FORMAT " bytes (expected %d)",
                                  sub.len, DISCO_RELOAD_NODE_ID_LENGTH);
        memcpy (d->node.id, sub.data, DISCO_RELOAD_NODE_ID_LENGTH);
        return TRUE;
      case DISCO_RELOAD_DESTINATION_RESOURCE:
        d->type = DISCO_RELOAD_DESTINATION_RESOURCE;
        if (!disco_wire_read_resource_id (&sub, &d->resource, error))
          return FALSE;
        return disco_wire_reader_done (&sub, "resource destination", error);
      case DISCO_RELOAD_DESTINATION_OPAQUE:
        {
          DiscoWireReader o;

          d->type = DISCO_RELOAD_DESTINATION_OPAQUE;
          if (!disco_wire_read_sub (&sub, 1, &o, "opaque destination", error))
            return FALSE;
          d->opaque.len = (guint8)o.len;
          memcpy (d->opaque.data, o.data, o.len);
          return disco_wire_reader_done (&sub, "opaque destination", error);
        }
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown destination type %u", type);
    }
}

gboolean
disco_wire_put_destination (GByteArray *out, const DiscoReloadDestination *d, GError **error)
{
  switch (d->type)
    {
      case DISCO_RELOAD_DESTINATION_COMPRESSED:
        if ((d->compressed & 0x8000) == 0)
          return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                  "compressed destination 0x%04x lacks the top bit", d->compressed);
        disco_wire_put_u16 (out, d->compressed);
        return TRUE;
      case DISCO_RELOAD_DESTINATION_NODE:
        disco_wire_put_u8 (out, DISCO_RELOAD_DESTINATION_NODE);
        disco_wire_put_u8 (out, DISCO_RELOAD_NODE_ID_LENGTH);
        disco_wire_put_bytes (out, d->node.id, DISCO_RELOAD_NODE_ID_LENGTH);
        return TRUE;
      case DISCO_RELOAD_DESTINATION_RESOURCE:
        if (d->resource.len > 254)
          return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                  "resource destination too long");
        disco_wire_put_u8 (out, DISCO_RELOAD_DESTINATION_RESOURCE);
        disco_wire_put_u8 (out, (guint8)(d->resource.len + 1));
        disco_wire_put_resource_id (out, &d->resource);
        return TRUE;
      case DISCO_RELOAD_DESTINATION_OPAQUE:
        if (d->opaque.len > 254)
          return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                  "opaque destination too long");
        disco_wire_put_u8 (out, DISCO_RELOAD_DESTINATION_OPAQUE);
        disco_wire_put_u8 (out, (guint8)(d->opaque.len + 1));
        disco_wire_put_u8 (out, d->opaque.len);
        disco_wire_put_bytes (out, d->opaque.data, d->opaque.len);
        return TRUE;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE,
                                "invalid destination type %d", d->type);
    }
}

gboolean
disco_reload_destination_list_encode (const GArray *list, GByteArray *out, GError **error)
{
  guint start = out->len;

  for (guint i = 0; list != NULL && i < list->len; i++)
    if (!disco_wire_put_destination (out, &g_array_index (list, DiscoReloadDestination, i), error))
      {
        g_byte_array_set_size (out, start);
        return FALSE;
      }
  return TRUE;
}

static gboolean
read_destination_list (DiscoWireReader *r, GArray *list, gboolean via, GError **error)
{
  guint start = list->len;

  while (disco_wire_reader_left (r) > 0)
    {
      DiscoReloadDestination d;

      if (!disco_wire_read_destination (r, &d, error))
        return FALSE;
      g_array_append_val (list, d);
    }
  /* §6.3.2.2: a Resource-ID may only be the last destination and never a via. */
  for (guint i = start; i < list->len; i++)
    {
      const DiscoReloadDestination *d = &g_array_index (list, DiscoReloadDestination, i);

      if (d->type == DISCO_RELOAD_DESTINATION_RESOURCE && (via || i + 1 != list->len))
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "resource destination %s", via ? "in via list" : "not last");
    }
  return TRUE;
}

gboolean
disco_reload_destination_list_decode (const guint8 *data, gsize len, GArray *list, GError **error)
{
  DiscoWireReader r;
  guint start = list->len;

  disco_wire_reader_init (&r, data, len, NULL);
  if (!read_destination_list (&r, list, FALSE, error))
    {
      g_array_set_size (list, start);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_options (DiscoWireReader *r, GArray *options, GError **error)
{
  while (disco_wire_reader_left (r) > 0)
    {
      DiscoReloadForwardingOption o = { 0 };

      if (!disco_wire_read_u8 (r, &o.type, "forwarding option type", error)
          || !disco_wire_read_u8 (r, &o.flags, "forwarding option flags", error)
          || !disco_wire_read_opaque (r, 2, &o.value, "forwarding option", error))
        return FALSE;
      g_array_append_val (options, o);
    }
  return TRUE;
}

gboolean
disco_reload_forwarding_header_decode (const guint8 *data, gsize len,
                                       DiscoReloadForwardingHeader *hdr, gsize *header_len,
                                       GError **error)
{
  DiscoWireReader r, lists;
  guint32 token;
  guint16 via_len, dst_len, opt_len;
  DiscoWireReader via, dst, opt;

  disco_wire_reader_init (&r, data, len, NULL);
  if (len < 4 || !disco_wire_read_u32 (&r, &token, "relo_token", error))
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TRUNCATED, "message too short");
  if (token != DISCO_RELOAD_TOKEN)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_TOKEN, "bad relo_token 0x%08x",
                            token);
  if (len < DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TRUNCATED,
                            "%" G_GSIZE_FORMAT " bytes: shorter than a forwarding header", len);
  disco_wire_read_u32 (&r, &hdr->overlay, "overlay", NULL);
  disco_wire_read_u16 (&r, &hdr->configuration_sequence, "configuration_sequence", NULL);
  disco_wire_read_u8 (&r, &hdr->version, "version", NULL);
  disco_wire_read_u8 (&r, &hdr->ttl, "ttl", NULL);
  disco_wire_read_u32 (&r, &hdr->fragment, "fragment", NULL);
  disco_wire_read_u32 (&r, &hdr->length, "length", NULL);
  disco_wire_read_u64 (&r, &hdr->transaction_id, "transaction_id", NULL);
  disco_wire_read_u32 (&r, &hdr->max_response_length, "max_response_length", NULL);
  disco_wire_read_u16 (&r, &via_len, "via_list_length", NULL);
  disco_wire_read_u16 (&r, &dst_len, "destination_list_length", NULL);
  disco_wire_read_u16 (&r, &opt_len, "options_length", NULL);

  if (hdr->version != DISCO_RELOAD_VERSION)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_VERSION,
                            "unsupported version 0x%02x", hdr->version);
  if ((hdr->fragment & DISCO_RELOAD_FRAGMENT_BIT) == 0)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_FRAGMENT,
                            "fragment field 0x%08x: high bit clear", hdr->fragment);
  if (hdr->length > len)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_TRUNCATED,
                            "length field %u exceeds the %" G_GSIZE_FORMAT " bytes received",
                            hdr->length, len);
  if ((gsize)DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN + via_len + dst_len + opt_len > hdr->length)
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_BAD_LENGTH,
                            "list lengths %u+%u+%u exceed message length %u", via_len, dst_len,
                            opt_len, hdr->length);

  disco_wire_reader_init (&lists, data + DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN,
                          (gsize)via_len + dst_len + opt_len, NULL);
  disco_wire_reader_init (&via, lists.data, via_len, NULL);
  disco_wire_reader_init (&dst, lists.data + via_len, dst_len, NULL);
  disco_wire_reader_init (&opt, lists.data + via_len + dst_len, opt_len, NULL);
  if (!read_destination_list (&via, hdr->via_list, TRUE, error)
      || !read_destination_list (&dst, hdr->destination_list, FALSE, error)
      || !read_options (&opt, hdr->options, error))
    return FALSE;
  if (header_len != NULL)
    *header_len = DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN + (gsize)via_len + dst_len + opt_len;
  return TRUE;
}

static void
patch_u16 (GByteArray *out, gsize pos, gsize v)
{
  out->data[pos] = (guint8)(v >> 8);
  out->data[pos + 1] = (guint8)v;
}

gboolean
disco_reload_forwarding_header_encode (const DiscoReloadForwardingHeader *hdr, gsize payload_len,
                                       GByteArray *out, GError **error)
{
  gsize start = out->len, mark, via_len, dst_len, opt_len, total;

  disco_wire_put_u32 (out, DISCO_RELOAD_TOKEN);
  disco_wire_put_u32 (out, hdr->overlay);
  disco_wire_put_u16 (out, hdr->configuration_sequence);
  disco_wire_put_u8 (out, hdr->version);
  disco_wire_put_u8 (out, hdr->ttl);
  disco_wire_put_u32 (out, hdr->fragment);
  disco_wire_put_u32 (out, 0); /* length, patched below */
  disco_wire_put_u64 (out, hdr->transaction_id);
  disco_wire_put_u32 (out, hdr->max_response_length);
  disco_wire_put_u16 (out, 0);
  disco_wire_put_u16 (out, 0);
  disco_wire_put_u16 (out, 0);

  mark = out->len;
  if (!disco_reload_destination_list_encode (hdr->via_list, out, error))
    goto fail;
  via_len = out->len - mark;
  mark = out->len;
  if (!disco_reload_destination_list_encode (hdr->destination_list, out, error))
    goto fail;
  dst_len = out->len - mark;
  mark = out->len;
  for (guint i = 0; hdr->options != NULL && i < hdr->options->len; i++)
    {
      const DiscoReloadForwardingOption *o
          = &g_array_index (hdr->options, DiscoReloadForwardingOption, i);

      disco_wire_put_u8 (out, o->type);
      disco_wire_put_u8 (out, o->flags);
      if (!disco_wire_put_opaque_bytes (out, 2, o->value, "forwarding option", error))
        goto fail;
    }
  opt_len = out->len - mark;
  if (via_len > G_MAXUINT16 || dst_len > G_MAXUINT16 || opt_len > G_MAXUINT16)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "forwarding header list too long");
      goto fail;
    }
  total = out->len - start + payload_len;
  if (total > G_MAXUINT32)
    {
      disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "message too long");
      goto fail;
    }
  patch_u16 (out, start + 32, via_len);
  patch_u16 (out, start + 34, dst_len);
  patch_u16 (out, start + 36, opt_len);
  out->data[start + 16] = (guint8)(total >> 24);
  out->data[start + 17] = (guint8)(total >> 16);
  out->data[start + 18] = (guint8)(total >> 8);
  out->data[start + 19] = (guint8)total;
  return TRUE;

fail:
  g_byte_array_set_size (out, (guint)start);
  return FALSE;
}

gboolean
disco_reload_forwarding_options_check (const DiscoReloadForwardingHeader *hdr, const guint8 *known,
                                       gsize n_known, gboolean at_destination, GError **error)
{
  guint8 critical = at_destination ? DISCO_RELOAD_OPTION_DESTINATION_CRITICAL
                                   : DISCO_RELOAD_OPTION_FORWARD_CRITICAL;

  for (guint i = 0; hdr->options != NULL && i < hdr->options->len; i++)
    {
      const DiscoReloadForwardingOption *o
          = &g_array_index (hdr->options, DiscoReloadForwardingOption, i);
      gboolean understood = FALSE;

      for (gsize k = 0; k < n_known && !understood; k++)
        understood = known[k] == o->type;
      if (!understood && (o->flags & critical) != 0)
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_UNSUPPORTED_FORWARDING_OPTION,
                                "unsupported %s-critical forwarding option %u",
                                at_destination ? "destination" : "forward", o->type);
    }
  return TRUE;
}
