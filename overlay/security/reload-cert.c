/* reload-cert.c: reading Node-IDs and user names out of X.509 certificates. */
#define G_LOG_DOMAIN "disco-reload-security"

#include "reload-cert.h"

#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509v3.h>

G_DEFINE_QUARK (disco - reload - security - error - quark, disco_reload_security_error)

#define URI_PREFIX "reload://"

char *
disco_reload_node_id_to_hex (const DiscoReloadNodeId *id)
{
  GString *s = g_string_sized_new (2 * DISCO_RELOAD_NODE_ID_LENGTH);

  for (gsize i = 0; i < DISCO_RELOAD_NODE_ID_LENGTH; i++)
    g_string_append_printf (s, "%02x", id->id[i]);
  return g_string_free (s, FALSE);
}

static gboolean
hex_decode (const char *hex, gsize n_chars, guint8 *out)
{
  for (gsize i = 0; i < n_chars / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8)(hi << 4 | lo);
    }
  return TRUE;
}

gboolean
disco_reload_node_id_from_hex (const char *hex, DiscoReloadNodeId *id)
{
  if (hex == NULL || strlen (hex) != 2 * DISCO_RELOAD_NODE_ID_LENGTH)
    return FALSE;
  return hex_decode (hex, 2 * DISCO_RELOAD_NODE_ID_LENGTH, id->id);
}

char *
disco_reload_node_id_to_uri (const DiscoReloadNodeId *id, const char *overlay)
{
  g_autofree char *hex = disco_reload_node_id_to_hex (id);

  /* Destination: type node (01), length 16 (10), Node-ID. */
  return g_strdup_printf (URI_PREFIX "01%02x%s@%s/", DISCO_RELOAD_NODE_ID_LENGTH, hex, overlay);
}

gboolean
disco_reload_node_id_from_uri (const char *uri, DiscoReloadNodeId *id, char **overlay_out,
                               GError **error)
{
  const char *p, *at, *end;
  gsize hex_len;
  guint8 buf[2 + DISCO_RELOAD_NODE_ID_LENGTH];

  if (uri == NULL || g_ascii_strncasecmp (uri, URI_PREFIX, strlen (URI_PREFIX)) != 0)
    goto bad;
  p = uri + strlen (URI_PREFIX);
  at = strchr (p, '@');
  if (at == NULL)
    goto bad;
  hex_len = (gsize)(at - p);
  if (hex_len == 2 * DISCO_RELOAD_NODE_ID_LENGTH)
    {
      /* danpascu/reload writes the bare Node-ID. */
      if (!hex_decode (p, hex_len, id->id))
        goto bad;
    }
  else if (hex_len == 2 * sizeof buf)
    {
      if (!hex_decode (p, hex_len, buf) || buf[0] != 0x01 || buf[1] != DISCO_RELOAD_NODE_ID_LENGTH)
        goto bad;
      memcpy (id->id, buf + 2, DISCO_RELOAD_NODE_ID_LENGTH);
    }
  else
    goto bad;

  /* Overlay: up to "/" (java-reload omits it); a specifier after "/" would
   * name stored data, not a peer. */
  end = strchr (at + 1, '/');
  if (end != NULL && end[1] != '\0')
    goto bad;
  if (end == NULL)
    end = at + 1 + strlen (at + 1);
  if (end == at + 1)
    goto bad;
  if (overlay_out)
    *overlay_out = g_strndup (at + 1, (gsize)(end - at - 1));
  return TRUE;

bad:
  g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
               "not a RELOAD peer URI: \"%s\"", uri ? uri : "(null)");
  return FALSE;
}

void
disco_reload_resource_id_from_name (const guint8 *name, gsize len, DiscoReloadResourceId *rid)
{
  guint8 md[SHA_DIGEST_LENGTH];

  SHA1 (name, len, md);
  rid->len = 16;
  memcpy (rid->id, md, 16);
}

gboolean
disco_reload_cert_has_node_id (const DiscoReloadCert *cert, const DiscoReloadNodeId *id)
{
  for (guint i = 0; i < cert->node_ids->len; i++)
    if (memcmp (g_array_index (cert->node_ids, DiscoReloadNodeId, i).id, id->id,
                DISCO_RELOAD_NODE_ID_LENGTH)
        == 0)
      return TRUE;
  return FALSE;
}

static gboolean
read_san (DiscoReloadCert *cert, GError **error)
{
  GENERAL_NAMES *names = X509_get_ext_d2i (cert->x509, NID_subject_alt_name, NULL, NULL);
  gboolean ok = TRUE;

  if (names == NULL)
    return TRUE;
  for (int i = 0; ok && i < sk_GENERAL_NAME_num (names); i++)
    {
      const GENERAL_NAME *gn = sk_GENERAL_NAME_value (names, i);
      const ASN1_IA5STRING *s;
      g_autofree char *text = NULL;

      if (gn->type != GEN_URI && gn->type != GEN_EMAIL)
        continue;
      s = gn->type == GEN_URI ? gn->d.uniformResourceIdentifier : gn->d.rfc822Name;
      text = g_strndup ((const char *)ASN1_STRING_get0_data (s), ASN1_STRING_length (s));
      if (strlen (text) != (gsize)ASN1_STRING_length (s))
        {
          g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                       "certificate subjectAltName contains a NUL byte");
          ok = FALSE;
        }
      else if (gn->type == GEN_URI)
        {
          DiscoReloadNodeId id;
          g_autofree char *overlay = NULL;

          if (g_ascii_strncasecmp (text, URI_PREFIX, strlen (URI_PREFIX)) != 0)
            continue; /* some other URI: not ours to judge */
          if (!disco_reload_node_id_from_uri (text, &id, &overlay, error))
            ok = FALSE;
          else if (cert->node_ids->len >= 64)
            {
              g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                           "certificate carries too many Node-IDs");
              ok = FALSE;
            }
          else
            {
              g_array_append_val (cert->node_ids, id);
              if (cert->overlay == NULL)
                cert->overlay = g_steal_pointer (&overlay);
            }
        }
      else if (cert->user_name != NULL)
        {
          g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                       "certificate carries more than one rfc822Name");
          ok = FALSE;
        }
      else
        cert->user_name = g_steal_pointer (&text);
    }
  GENERAL_NAMES_free (names);
  return ok;
}

DiscoReloadCert *
disco_reload_cert_new_from_x509 (X509 *x509, GError **error)
{
  g_autoptr (DiscoReloadCert) cert = g_new0 (DiscoReloadCert, 1);
  unsigned char *der = NULL;
  int der_len;

  cert->ref_count = 1;
  cert->node_ids = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  X509_up_ref (x509);
  cert->x509 = x509;
  der_len = i2d_X509 (x509, &der);
  if (der_len <= 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "cannot encode certificate");
      return NULL;
    }
  cert->der = g_bytes_new (der, der_len);
  OPENSSL_free (der);
  SHA256 (g_bytes_get_data (cert->der, NULL), g_bytes_get_size (cert->der), cert->sha256);
  if (!read_san (cert, error))
    return NULL;
  return g_steal_pointer (&cert);
}

/* Every received message repeats its signer's certificate, and decoding the
 * RSA key of a DER certificate costs several times an RSA verify with
 * OpenSSL 3, so recently seen certificates are shared (they are immutable). */
#define CERT_CACHE_MAX 256
static GMutex cache_lock;
static GHashTable *cache; /* GBytes(SHA-256 of DER) -> DiscoReloadCert* (ref) */

static DiscoReloadCert *
cache_lookup (const guint8 *digest)
{
  g_autoptr (GBytes) key = g_bytes_new (digest, 32);
  DiscoReloadCert *cert = NULL;

  g_mutex_lock (&cache_lock);
  if (cache)
    cert = g_hash_table_lookup (cache, key);
  if (cert)
    disco_reload_cert_ref (cert);
  g_mutex_unlock (&cache_lock);
  return cert;
}

static void
cache_insert (DiscoReloadCert *cert)
{
  g_mutex_lock (&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref,
                                   (GDestroyNotify)disco_reload_cert_unref);
  if (g_hash_table_size (cache) >= CERT_CACHE_MAX)
    g_hash_table_remove_all (cache);
  g_hash_table_replace (cache, g_bytes_new (cert->sha256, 32), disco_reload_cert_ref (cert));
  g_mutex_unlock (&cache_lock);
}

void
disco_reload_cert_cache_clear (void)
{
  g_mutex_lock (&cache_lock);
  g_clear_pointer (&cache, g_hash_table_unref);
  g_mutex_unlock (&cache_lock);
}

DiscoReloadCert *
disco_reload_cert_new_from_der (const guint8 *der, gsize len, GError **error)
{
  const unsigned char *p = der;
  X509 *x509;
  DiscoReloadCert *cert;
  guint8 digest[32];

  if (len > 0 && len <= G_MAXINT)
    {
      SHA256 (der, len, digest);
      cert = cache_lookup (digest);
      if (cert)
        return cert;
    }

  if (len == 0 || len > G_MAXINT || (x509 = d2i_X509 (NULL, &p, (long)len)) == NULL)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "not a DER X.509 certificate");
      return NULL;
    }
  if (p != der + len)
    {
      X509_free (x509);
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "trailing bytes after DER certificate");
      return NULL;
    }
  cert = disco_reload_cert_new_from_x509 (x509, error);
  X509_free (x509);
  /* Only certificates whose DER round-trips are shared: the cache key is
   * the input bytes, the cert's own hash is of its re-encoding. */
  if (cert && memcmp (cert->sha256, digest, 32) == 0)
    cache_insert (cert);
  return cert;
}

DiscoReloadCert *
disco_reload_cert_ref (DiscoReloadCert *cert)
{
  g_atomic_int_inc (&cert->ref_count);
  return cert;
}

void
disco_reload_cert_unref (DiscoReloadCert *cert)
{
  if (cert == NULL || !g_atomic_int_dec_and_test (&cert->ref_count))
    return;
  X509_free (cert->x509);
  g_clear_pointer (&cert->der, g_bytes_unref);
  g_array_unref (cert->node_ids);
  g_free (cert->user_name);
  g_free (cert->overlay);
  g_free (cert);
}
