/* reload-wire-attach.c: AttachReqAns, AppAttachReq/Ans and ICE candidates
 * (RFC 6940 §6.5.1, §6.5.2). */
#define G_LOG_DOMAIN "disco-wire"

#include "reload-wire-private.h"

#include <string.h>

static gboolean
read_ip_address_port (DiscoWireReader *r, DiscoReloadIpAddressPort *a, GError **error)
{
  DiscoWireReader v;
  const guint8 *p;
  gsize alen;

  memset (a, 0, sizeof *a);
  if (!disco_wire_read_u8 (r, &a->type, "IpAddressPort type", error)
      || !disco_wire_read_sub (r, 1, &v, "IpAddressPort", error))
    return FALSE;
  if (a->type == 1)
    alen = 4;
  else if (a->type == 2)
    alen = 16;
  else
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                            "unknown address type %u", a->type);
  if (!disco_wire_read_fixed (&v, alen, &p, "address", error)
      || !disco_wire_read_u16 (&v, &a->port, "port", error))
    return FALSE;
  memcpy (a->addr, p, alen);
  return disco_wire_reader_done (&v, "IpAddressPort", error);
}

static gboolean
put_ip_address_port (GByteArray *out, const DiscoReloadIpAddressPort *a, GError **error)
{
  gsize alen;

  if (a->type == 1)
    alen = 4;
  else if (a->type == 2)
    alen = 16;
  else
    return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "invalid address type %u",
                            a->type);
  disco_wire_put_u8 (out, a->type);
  disco_wire_put_u8 (out, (guint8)(alen + 2));
  disco_wire_put_bytes (out, a->addr, alen);
  disco_wire_put_u16 (out, a->port);
  return TRUE;
}

static gboolean
read_candidate (DiscoWireReader *r, DiscoReloadIceCandidate *c, GError **error)
{
  DiscoWireReader ext;

  if (!read_ip_address_port (r, &c->addr_port, error)
      || !disco_wire_read_u8 (r, &c->overlay_link, "overlay_link", error)
      || !disco_wire_read_string8 (r, &c->foundation, "foundation", error)
      || !disco_wire_read_u32 (r, &c->priority, "priority", error)
      || !disco_wire_read_u8 (r, &c->type, "CandType", error))
    return FALSE;
  switch (c->type)
    {
      case DISCO_RELOAD_CAND_HOST:
        break;
      case DISCO_RELOAD_CAND_SRFLX:
      case DISCO_RELOAD_CAND_RELAY:
        if (!read_ip_address_port (r, &c->rel_addr_port, error))
          return FALSE;
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_INVALID_MESSAGE,
                                "unknown ICE candidate type %u", c->type);
    }
  if (!disco_wire_read_sub (r, 2, &ext, "IceExtension list", error))
    return FALSE;
  while (disco_wire_reader_left (&ext) > 0)
    {
      DiscoReloadIceExtension e = { 0 };

      if (!disco_wire_read_opaque (&ext, 2, &e.name, "IceExtension name", error))
        return FALSE;
      if (!disco_wire_read_opaque (&ext, 2, &e.value, "IceExtension value", error))
        {
          g_bytes_unref (e.name);
          return FALSE;
        }
      g_array_append_val (c->extensions, e);
    }
  return TRUE;
}

static gboolean
put_candidate (GByteArray *out, const DiscoReloadIceCandidate *c, GError **error)
{
  gsize pos;

  if (!put_ip_address_port (out, &c->addr_port, error))
    return FALSE;
  disco_wire_put_u8 (out, c->overlay_link);
  if (!disco_wire_put_string8 (out, c->foundation, "foundation", error))
    return FALSE;
  disco_wire_put_u32 (out, c->priority);
  disco_wire_put_u8 (out, c->type);
  switch (c->type)
    {
      case DISCO_RELOAD_CAND_HOST:
        break;
      case DISCO_RELOAD_CAND_SRFLX:
      case DISCO_RELOAD_CAND_RELAY:
        if (!put_ip_address_port (out, &c->rel_addr_port, error))
          return FALSE;
        break;
      default:
        return disco_wire_fail (error, DISCO_RELOAD_WIRE_ERROR_ENCODE, "invalid candidate type %u",
                                c->type);
    }
  pos = disco_wire_begin_len (out, 2);
  for (guint i = 0; c->extensions != NULL && i < c->extensions->len; i++)
    {
      const DiscoReloadIceExtension *e = &g_array_index (c->extensions, DiscoReloadIceExtension, i);

      if (!disco_wire_put_opaque_bytes (out, 2, e->name, "IceExtension name", error)
          || !disco_wire_put_opaque_bytes (out, 2, e->value, "IceExtension value", error))
        return FALSE;
    }
  return disco_wire_end_len (out, pos, 2, "IceExtension list", error);
}

gboolean
disco_wire_read_attach (DiscoWireReader *r, gboolean app_attach, DiscoReloadAttach *a,
                        GError **error)
{
  DiscoWireReader list;

  if (!disco_wire_read_string8 (r, &a->ufrag, "ufrag", error)
      || !disco_wire_read_string8 (r, &a->password, "password", error))
    return FALSE;
  if (app_attach && !disco_wire_read_u16 (r, &a->application, "application", error))
    return FALSE;
  if (!disco_wire_read_string8 (r, &a->role, "role", error)
      || !disco_wire_read_sub (r, 2, &list, "candidates", error))
    return FALSE;
  while (disco_wire_reader_left (&list) > 0)
    {
      DiscoReloadIceCandidate *c = disco_reload_ice_candidate_new ();

      g_ptr_array_add (a->candidates, c);
      if (!read_candidate (&list, c, error))
        return FALSE;
    }
  if (!app_attach && !disco_wire_read_bool (r, &a->send_update, "send_update", error))
    return FALSE;
  return TRUE;
}

gboolean
disco_wire_put_attach (GByteArray *out, gboolean app_attach, const DiscoReloadAttach *a,
                       GError **error)
{
  gsize pos;

  if (!disco_wire_put_string8 (out, a->ufrag, "ufrag", error)
      || !disco_wire_put_string8 (out, a->password, "password", error))
    return FALSE;
  if (app_attach)
    disco_wire_put_u16 (out, a->application);
  if (!disco_wire_put_string8 (out, a->role, "role", error))
    return FALSE;
  pos = disco_wire_begin_len (out, 2);
  for (guint i = 0; a->candidates != NULL && i < a->candidates->len; i++)
    if (!put_candidate (out, g_ptr_array_index (a->candidates, i), error))
      return FALSE;
  if (!disco_wire_end_len (out, pos, 2, "candidates", error))
    return FALSE;
  if (!app_attach)
    disco_wire_put_u8 (out, a->send_update ? 1 : 0);
  return TRUE;
}
