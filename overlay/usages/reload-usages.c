/* reload-usages.c: kind values (ACL items, SIP registrations, certificates,
 * DisCo registrations). */
#define G_LOG_DOMAIN "disco-reload-usages"

#include "reload-usages.h"

#include <regex.h>
#include <string.h>

G_DEFINE_QUARK (disco - reload - usage - error - quark, disco_reload_usage_error)

/* ---- a tiny bounded reader ------------------------------------------------- */

typedef struct
{
  const guint8 *p;
  gsize left;
  const char *what; /* structure being decoded, for messages */
} Reader;

static gboolean
malformed (GError **error, const Reader *r, const char *field)
{
  g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
               "%s: truncated or malformed %s", r->what, field);
  return FALSE;
}

static gboolean
read_u8 (Reader *r, guint8 *v)
{
  if (r->left < 1)
    return FALSE;
  *v = r->p[0];
  r->p++, r->left--;
  return TRUE;
}

static gboolean
read_u16 (Reader *r, guint16 *v)
{
  if (r->left < 2)
    return FALSE;
  *v = (guint16)(r->p[0] << 8 | r->p[1]);
  r->p += 2, r->left -= 2;
  return TRUE;
}

static gboolean
read_u32 (Reader *r, guint32 *v)
{
  if (r->left < 4)
    return FALSE;
  *v = (guint32)r->p[0] << 24 | (guint32)r->p[1] << 16 | (guint32)r->p[2] << 8 | r->p[3];
  r->p += 4, r->left -= 4;
  return TRUE;
}

/* opaque<0..2^16-1> */
static gboolean
read_opaque16 (Reader *r, const guint8 **data, gsize *len)
{
  guint16 n;

  if (!read_u16 (r, &n) || r->left < n)
    return FALSE;
  *data = r->p;
  *len = n;
  r->p += n, r->left -= n;
  return TRUE;
}

/* opaque<0..2^16-1> holding text without NUL bytes. */
static gboolean
read_string16 (Reader *r, char **out)
{
  const guint8 *d;
  gsize n;

  if (!read_opaque16 (r, &d, &n) || memchr (d, 0, n) != NULL)
    return FALSE;
  *out = g_strndup ((const char *)d, n);
  return TRUE;
}

static void
put_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u16 (GByteArray *out, guint16 v)
{
  guint8 b[2] = { v >> 8, v & 0xff };
  g_byte_array_append (out, b, 2);
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (out, b, 4);
}

static gboolean
put_opaque16 (GByteArray *out, const void *data, gsize len, const char *what, GError **error)
{
  if (len > G_MAXUINT16)
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_TOO_LONG,
                   "%s of %" G_GSIZE_FORMAT " bytes exceeds 65535", what, len);
      return FALSE;
    }
  put_u16 (out, (guint16)len);
  if (len)
    g_byte_array_append (out, data, (guint)len);
  return TRUE;
}

/* ---- ResourceNameExtension --------------------------------------------------- */

gboolean
disco_reload_resource_name_ext_encode (const char *name, GByteArray *out, GError **error)
{
  gsize n = strlen (name);
  guint before = out->len;

  if (n + 2 > G_MAXUINT16)
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_TOO_LONG,
                   "resource name too long");
      return FALSE;
    }
  put_u8 (out, DISCO_RELOAD_RESOURCE_NAME_PATTERN);
  put_u16 (out, (guint16)(n + 2)); /* length = bytes of the select arm */
  if (!put_opaque16 (out, name, n, "resource name", error))
    {
      g_byte_array_set_size (out, before);
      return FALSE;
    }
  return TRUE;
}

gboolean
disco_reload_resource_name_ext_decode (const guint8 *data, gsize len, char **name_out,
                                       gsize *consumed, GError **error)
{
  Reader r = { data, len, "ResourceNameExtension" };
  guint8 type;
  guint16 length;
  Reader arm;
  char *name = NULL;

  if (!read_u8 (&r, &type) || !read_u16 (&r, &length) || r.left < length)
    return malformed (error, &r, "header");
  if (type != DISCO_RELOAD_RESOURCE_NAME_PATTERN)
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                   "ResourceNameExtension: unknown type %u", type);
      return FALSE;
    }
  /* The select arm must be exactly the name; extra bytes are reserved for
   * future types, not this one. */
  arm = (Reader){ r.p, length, r.what };
  if (!read_string16 (&arm, &name) || arm.left != 0)
    {
      g_free (name);
      return malformed (error, &r, "resource_name");
    }
  *name_out = name;
  *consumed = 3 + (gsize)length;
  return TRUE;
}

/* ---- ACL items ------------------------------------------------------------------ */

void
disco_reload_acl_item_clear (DiscoReloadAclItem *item)
{
  g_clear_pointer (&item->resource_name, g_free);
  g_clear_pointer (&item->to_user, g_free);
}

GBytes *
disco_reload_acl_item_encode (const DiscoReloadAclItem *item, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  if (item->resource_name
      && !disco_reload_resource_name_ext_encode (item->resource_name, out, error))
    return NULL;
  if (!put_opaque16 (out, item->to_user, strlen (item->to_user), "to_user", error))
    return NULL;
  put_u32 (out, item->kind);
  put_u8 (out, item->allow_delegation ? 1 : 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
disco_reload_acl_item_decode (const guint8 *data, gsize len, gboolean with_name_ext,
                              DiscoReloadAclItem *out, GError **error)
{
  Reader r = { data, len, "AccessControlListItem" };
  guint8 ad;

  memset (out, 0, sizeof *out);
  if (with_name_ext)
    {
      gsize used = 0;
      if (!disco_reload_resource_name_ext_decode (data, len, &out->resource_name, &used, error))
        return FALSE;
      r.p += used, r.left -= used;
    }
  if (!read_string16 (&r, &out->to_user) || out->to_user[0] == '\0')
    {
      disco_reload_acl_item_clear (out);
      return malformed (error, &r, "to_user");
    }
  if (!read_u32 (&r, &out->kind) || !read_u8 (&r, &ad) || ad > 1 || r.left != 0)
    {
      disco_reload_acl_item_clear (out);
      return malformed (error, &r, "kind / allow_delegation");
    }
  out->allow_delegation = ad == 1;
  return TRUE;
}

guint32
disco_reload_share_array_index (const DiscoReloadNodeId *node_id, guint8 counter)
{
  const guint8 *id = node_id->id + DISCO_RELOAD_NODE_ID_LENGTH - 3;

  return ((guint32)id[0] << 24) | ((guint32)id[1] << 16) | ((guint32)id[2] << 8) | counter;
}

/* ---- SIP-REGISTRATION ---------------------------------------------------------------- */

void
disco_reload_sip_registration_clear (DiscoReloadSipRegistration *reg)
{
  g_clear_pointer (&reg->uri, g_free);
  g_clear_pointer (&reg->contact_prefs, g_free);
  g_clear_pointer (&reg->destinations, g_array_unref);
}

GBytes *
disco_reload_sip_registration_encode (const DiscoReloadSipRegistration *reg, GError **error)
{
  g_autoptr (GByteArray) arm = g_byte_array_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();

  if (reg->type == DISCO_RELOAD_SIP_REGISTRATION_URI)
    {
      if (!put_opaque16 (arm, reg->uri, strlen (reg->uri), "uri", error))
        return NULL;
    }
  else if (reg->type == DISCO_RELOAD_SIP_REGISTRATION_ROUTE)
    {
      g_autoptr (GByteArray) dl = g_byte_array_new ();
      const char *prefs = reg->contact_prefs ? reg->contact_prefs : "";

      if (reg->destinations == NULL || reg->destinations->len == 0)
        {
          g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                       "SipRegistration route needs a destination");
          return NULL;
        }
      if (!put_opaque16 (arm, prefs, strlen (prefs), "contact_prefs", error)
          || !disco_reload_destination_list_encode (reg->destinations, dl, error)
          || !put_opaque16 (arm, dl->data, dl->len, "destination_list", error))
        return NULL;
    }
  else
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                   "unknown SipRegistration type %d", reg->type);
      return NULL;
    }
  put_u8 (out, (guint8)reg->type);
  if (!put_opaque16 (out, arm->data, arm->len, "SipRegistration", error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
disco_reload_sip_registration_decode (const guint8 *data, gsize len,
                                      DiscoReloadSipRegistration *out, GError **error)
{
  Reader r = { data, len, "SipRegistration" };
  guint8 type;
  const guint8 *arm_data;
  gsize arm_len;
  Reader arm;

  memset (out, 0, sizeof *out);
  if (!read_u8 (&r, &type) || !read_opaque16 (&r, &arm_data, &arm_len) || r.left != 0)
    return malformed (error, &r, "type / length");
  arm = (Reader){ arm_data, arm_len, r.what };
  out->type = type;
  if (type == DISCO_RELOAD_SIP_REGISTRATION_URI)
    {
      if (!read_string16 (&arm, &out->uri) || arm.left != 0 || out->uri[0] == '\0')
        goto bad;
    }
  else if (type == DISCO_RELOAD_SIP_REGISTRATION_ROUTE)
    {
      const guint8 *dl;
      gsize dl_len;

      if (!read_string16 (&arm, &out->contact_prefs) || !read_opaque16 (&arm, &dl, &dl_len)
          || arm.left != 0 || dl_len < 3)
        goto bad;
      out->destinations = g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination));
      if (!disco_reload_destination_list_decode (dl, dl_len, out->destinations, NULL)
          || out->destinations->len == 0)
        goto bad;
    }
  else
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                   "SipRegistration: unknown type %u", type);
      return FALSE;
    }
  return TRUE;

bad:
  disco_reload_sip_registration_clear (out);
  return malformed (error, &r, "body");
}

char *
disco_reload_aor_normalize (const char *aor)
{
  const char *p = aor;

  if (g_ascii_strncasecmp (p, "sips:", 5) == 0)
    p += 5;
  else if (g_ascii_strncasecmp (p, "sip:", 4) == 0)
    p += 4;
  return g_uri_unescape_string (p, NULL);
}

/* Anchored POSIX ERE match of @text against @pattern. */
static gboolean
ere_match (const char *pattern, const char *text)
{
  g_autofree char *anchored = g_strdup_printf ("^(%s)$", pattern);
  regex_t re;
  gboolean ok;

  if (regcomp (&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
    return FALSE;
  ok = regexec (&re, text, 0, NULL, 0) == 0;
  regfree (&re);
  return ok;
}

gboolean
disco_reload_sip_registration_check (const DiscoReloadConfig *config,
                                     const DiscoReloadKindConfig *kind, const char *user_name,
                                     const guint8 *value, gsize len, GError **error)
{
  DiscoReloadSipRegistration reg;
  g_autofree char *aor = NULL;
  const char *domain;
  gboolean ok = FALSE;

  if (!disco_reload_sip_registration_decode (value, len, &reg, error))
    return FALSE;
  disco_reload_sip_registration_clear (&reg);

  aor = user_name ? disco_reload_aor_normalize (user_name) : NULL;
  domain = aor ? strrchr (aor, '@') : NULL;
  if (domain == NULL)
    {
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_FORBIDDEN,
                   "signer has no user@domain AOR");
      return FALSE;
    }
  domain++;
  if (kind == NULL || !kind->has_domain_restriction)
    return TRUE;
  if (!kind->domain_restriction_enabled)
    ok = g_ascii_strcasecmp (domain, config->instance_name) == 0;
  else
    for (char **p = kind->domain_patterns; !ok && p && *p; p++)
      ok = ere_match (*p, domain);
  if (!ok)
    g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_FORBIDDEN,
                 "AOR domain %s is not admitted by the overlay's domain restriction", domain);
  return ok;
}

/* ---- certificates --------------------------------------------------------------------- */

void
disco_reload_certificate_resource_by_user (const char *user_name, DiscoReloadResourceId *rid)
{
  disco_reload_resource_id_from_name ((const guint8 *)user_name, strlen (user_name), rid);
}

void
disco_reload_certificate_resource_by_node (const DiscoReloadNodeId *node_id,
                                           DiscoReloadResourceId *rid)
{
  disco_reload_resource_id_from_name (node_id->id, sizeof node_id->id, rid);
}

DiscoReloadStoredData *
disco_reload_certificate_value_new (const DiscoReloadIdentity *id, DiscoReloadKindId kind,
                                    const DiscoReloadResourceId *resource, guint64 now_ms,
                                    guint32 lifetime, GError **error)
{
  g_autoptr (DiscoReloadStoredData) sd
      = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);

  sd->storage_time = now_ms;
  sd->lifetime = lifetime;
  sd->value.index = DISCO_RELOAD_ARRAY_APPEND;
  sd->value.value = g_bytes_ref (id->cert->der);
  if (!disco_reload_sign_stored_data (id, NULL, resource, kind, sd, error))
    return NULL;
  return g_steal_pointer (&sd);
}

guint
disco_reload_cert_pool_add_fetch_ans (DiscoReloadCertPool *pool, const DiscoReloadFetchAns *ans)
{
  guint added = 0;

  for (guint i = 0; ans->kind_responses && i < ans->kind_responses->len; i++)
    {
      DiscoReloadFetchKindResponse *kr = g_ptr_array_index (ans->kind_responses, i);

      if (kr->kind != DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE
          && kr->kind != DISCO_RELOAD_KIND_CERTIFICATE_BY_USER)
        continue;
      for (guint j = 0; kr->values && j < kr->values->len; j++)
        {
          DiscoReloadStoredData *sd = g_ptr_array_index (kr->values, j);
          g_autoptr (DiscoReloadCert) cert = NULL;
          gsize n = 0;
          const guint8 *der;

          if (!sd->value.exists || sd->value.value == NULL)
            continue;
          der = g_bytes_get_data (sd->value.value, &n);
          cert = disco_reload_cert_new_from_der (der, n, NULL);
          if (cert == NULL)
            continue;
          disco_reload_cert_pool_add (pool, cert);
          added++;
        }
    }
  return added;
}

/* ---- DISCO-REGISTRATION ------------------------------------------------------------------ */

void
disco_reload_disco_registration_init (DiscoReloadDiscoRegistration *reg)
{
  memset (reg, 0, sizeof *reg);
  reg->version = DISCO_RELOAD_DISCO_REGISTRATION_VERSION;
  reg->dest_list = g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination));
}

void
disco_reload_disco_registration_clear (DiscoReloadDiscoRegistration *reg)
{
  g_clear_pointer (&reg->resource_name, g_free);
  g_clear_pointer (&reg->coordinate, g_bytes_unref);
  g_clear_pointer (&reg->dest_list, g_array_unref);
}

GBytes *
disco_reload_disco_registration_encode (const DiscoReloadDiscoRegistration *reg, GError **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GByteArray) dl = g_byte_array_new ();
  gsize clen = 0;
  const guint8 *cdata = reg->coordinate ? g_bytes_get_data (reg->coordinate, &clen) : NULL;

  if (reg->resource_name && !disco_reload_resource_name_ext_encode (reg->resource_name, out, error))
    return NULL;
  put_u8 (out, reg->version);
  if (!put_opaque16 (out, cdata, clen, "coordinate", error))
    return NULL;
  if (reg->dest_list && !disco_reload_destination_list_encode (reg->dest_list, dl, error))
    return NULL;
  if (!put_opaque16 (out, dl->data, dl->len, "dest_list", error))
    return NULL;
  put_u16 (out, reg->max_participants);
  put_u16 (out, reg->cur_participants);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
disco_reload_disco_registration_decode (const guint8 *data, gsize len, gboolean with_name_ext,
                                        DiscoReloadDiscoRegistration *out, GError **error)
{
  Reader r = { data, len, "DisCoRegistration" };
  const guint8 *c, *dl;
  gsize clen, dl_len;

  disco_reload_disco_registration_init (out);
  if (with_name_ext)
    {
      gsize used = 0;
      if (!disco_reload_resource_name_ext_decode (data, len, &out->resource_name, &used, error))
        {
          disco_reload_disco_registration_clear (out);
          return FALSE;
        }
      r.p += used, r.left -= used;
    }
  if (!read_u8 (&r, &out->version) || !read_opaque16 (&r, &c, &clen)
      || !read_opaque16 (&r, &dl, &dl_len) || !read_u16 (&r, &out->max_participants)
      || !read_u16 (&r, &out->cur_participants) || r.left != 0)
    {
      disco_reload_disco_registration_clear (out);
      return malformed (error, &r, "fields");
    }
  if (out->version != DISCO_RELOAD_DISCO_REGISTRATION_VERSION)
    {
      disco_reload_disco_registration_clear (out);
      g_set_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED,
                   "DisCoRegistration: unknown version %u", out->version);
      return FALSE;
    }
  out->coordinate = g_bytes_new (c, clen);
  if (dl_len > 0 && !disco_reload_destination_list_decode (dl, dl_len, out->dest_list, NULL))
    {
      disco_reload_disco_registration_clear (out);
      return malformed (error, &r, "dest_list");
    }
  return TRUE;
}
