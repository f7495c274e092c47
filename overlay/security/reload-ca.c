/* reload-ca.c: the certificate-issuing core of an RFC 6940 §11.3 enrollment
 * server. */
#define G_LOG_DOMAIN "disco-reload-security"

#include "reload-identity.h"
#include "reload-security-private.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

struct _DiscoReloadCa
{
  EVP_PKEY *key;
  DiscoReloadCert *cert;
  char *domain;
  /* user name -> GArray of DiscoReloadNodeId: re-enrolment returns the same
   * Node-IDs (RFC 6940 §11.3 SHOULD).  Kept in memory only. */
  GHashTable *users;
};

static DiscoReloadCa *
ca_alloc (EVP_PKEY *key, DiscoReloadCert *cert)
{
  DiscoReloadCa *ca = g_new0 (DiscoReloadCa, 1);

  ca->key = key;
  ca->cert = cert;
  ca->users
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_array_unref);
  return ca;
}

void
disco_reload_ca_free (DiscoReloadCa *ca)
{
  if (ca == NULL)
    return;
  EVP_PKEY_free (ca->key);
  disco_reload_cert_unref (ca->cert);
  g_free (ca->domain);
  g_hash_table_unref (ca->users);
  g_free (ca);
}

DiscoReloadCert *
disco_reload_ca_get_cert (const DiscoReloadCa *ca)
{
  return ca->cert;
}

void
disco_reload_ca_set_domain (DiscoReloadCa *ca, const char *domain)
{
  g_free (ca->domain);
  ca->domain = g_strdup (domain);
}

DiscoReloadCa *
disco_reload_ca_new (const char *name, guint key_bits, guint days, GError **error)
{
  EVP_PKEY *key = disco_reload_key_generate (key_bits, error);
  X509 *x509 = NULL;
  X509_NAME *subject = NULL;
  DiscoReloadCert *cert = NULL;

  if (key == NULL)
    return NULL;
  x509 = X509_new ();
  subject = X509_NAME_new ();
  if (x509 == NULL || subject == NULL
      || X509_NAME_add_entry_by_txt (subject, "CN", MBSTRING_UTF8,
                                     (const unsigned char *)(name ? name : "RELOAD CA"), -1, -1, 0)
             != 1
      || !disco_reload_set_serial_and_validity (x509, days ? days : 10 * 365)
      || X509_set_subject_name (x509, subject) != 1 || X509_set_issuer_name (x509, subject) != 1
      || X509_set_pubkey (x509, key) != 1 || !disco_reload_add_ca_exts (x509)
      || X509_sign (x509, key, EVP_sha256 ()) <= 0)
    disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO,
                                "building CA certificate");
  else
    cert = disco_reload_cert_new_from_x509 (x509, error);
  X509_NAME_free (subject);
  X509_free (x509);
  if (cert == NULL)
    {
      EVP_PKEY_free (key);
      return NULL;
    }
  return ca_alloc (key, cert);
}

/* "ca-users": which Node-IDs each user was given, so re-enrolment after a
 * restart still returns the same ones.  A key file: user = hex;hex;... */
static gboolean
save_users (const DiscoReloadCa *ca, const char *dir, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *data = NULL;
  gsize len = 0;
  GHashTableIter it;
  gpointer key, value;
  BIO *mem;
  gboolean ok;

  g_hash_table_iter_init (&it, ca->users);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GArray *ids = value;
      g_autoptr (GPtrArray) hex = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < ids->len; i++)
        g_ptr_array_add (hex,
                         disco_reload_node_id_to_hex (&g_array_index (ids, DiscoReloadNodeId, i)));
      g_key_file_set_string_list (kf, "users", key, (const char *const *)hex->pdata, hex->len);
    }
  data = g_key_file_to_data (kf, &len, NULL);
  mem = BIO_new_mem_buf (data, (int)len);
  ok = disco_reload_write_file (dir, "ca-users", mem, 0600, error);
  BIO_free (mem);
  return ok;
}

static void
load_users (DiscoReloadCa *ca, const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "ca-users", NULL);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_auto (GStrv) users = NULL;

  /* Absent or unreadable: start afresh (only the SHOULD is lost). */
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL))
    return;
  users = g_key_file_get_keys (kf, "users", NULL, NULL);
  for (char **u = users; u && *u; u++)
    {
      g_auto (GStrv) hex = g_key_file_get_string_list (kf, "users", *u, NULL, NULL);
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));

      for (char **h = hex; h && *h && ids->len < DISCO_RELOAD_MAX_NODE_IDS; h++)
        {
          DiscoReloadNodeId id;
          if (disco_reload_node_id_from_hex (*h, &id))
            g_array_append_val (ids, id);
        }
      if (ids->len > 0 && disco_reload_user_name_valid (*u))
        g_hash_table_replace (ca->users, g_strdup (*u), ids);
      else
        g_array_unref (ids);
    }
}

gboolean
disco_reload_ca_save (const DiscoReloadCa *ca, const char *dir, GError **error)
{
  return disco_reload_save_key_cert (ca->key, ca->cert->x509, NULL, dir, "ca-key.pem",
                                     "ca-cert.pem", error)
         && save_users (ca, dir, error);
}

DiscoReloadCa *
disco_reload_ca_load (const char *dir, GError **error)
{
  EVP_PKEY *key = NULL;
  GPtrArray *certs = NULL;
  DiscoReloadCa *ca;

  if (!disco_reload_load_key_cert (dir, "ca-key.pem", "ca-cert.pem", &key, &certs, error))
    return NULL;
  ca = ca_alloc (key, disco_reload_cert_ref (certs->pdata[0]));
  g_ptr_array_unref (certs);
  load_users (ca, dir);
  return ca;
}

static gboolean
bad_csr (GError **error, const char *why)
{
  ERR_clear_error ();
  g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_CSR,
               "bad CSR: %s", why);
  return FALSE;
}

/* The requested user name: rfc822Name in the extensionRequest, else an
 * emailAddress or "user@domain" CN in the subject (what generic tools make). */
static char *
csr_user_name (X509_REQ *req)
{
  STACK_OF (X509_EXTENSION) *exts = X509_REQ_get_extensions (req);
  char *user = NULL;
  X509_NAME *subject;

  for (int i = 0; user == NULL && exts && i < sk_X509_EXTENSION_num (exts); i++)
    {
      X509_EXTENSION *ext = sk_X509_EXTENSION_value (exts, i);
      GENERAL_NAMES *names;

      if (OBJ_obj2nid (X509_EXTENSION_get_object (ext)) != NID_subject_alt_name)
        continue;
      names = X509V3_EXT_d2i (ext);
      for (int j = 0; user == NULL && names && j < sk_GENERAL_NAME_num (names); j++)
        {
          const GENERAL_NAME *gn = sk_GENERAL_NAME_value (names, j);
          if (gn->type == GEN_EMAIL)
            user = g_strndup ((const char *)ASN1_STRING_get0_data (gn->d.rfc822Name),
                              ASN1_STRING_length (gn->d.rfc822Name));
        }
      GENERAL_NAMES_free (names);
    }
  sk_X509_EXTENSION_pop_free (exts, X509_EXTENSION_free);

  subject = X509_REQ_get_subject_name (req);
  for (int nid_i = 0; user == NULL && nid_i < 2; nid_i++)
    {
      int nid = nid_i == 0 ? NID_pkcs9_emailAddress : NID_commonName;
      int pos = X509_NAME_get_index_by_NID (subject, nid, -1);
      unsigned char *utf8 = NULL;
      int n;

      if (pos < 0)
        continue;
      n = ASN1_STRING_to_UTF8 (&utf8,
                               X509_NAME_ENTRY_get_data (X509_NAME_get_entry (subject, pos)));
      if (n > 0 && memchr (utf8, '@', n))
        user = g_strndup ((const char *)utf8, n);
      OPENSSL_free (utf8);
    }
  return user;
}

static GArray *
node_ids_for (DiscoReloadCa *ca, const char *user, guint n)
{
  GArray *ids = g_hash_table_lookup (ca->users, user);

  if (ids != NULL && ids->len == n)
    return g_array_ref (ids);
  ids = g_array_sized_new (FALSE, FALSE, sizeof (DiscoReloadNodeId), n);
  while (ids->len < n)
    {
      DiscoReloadNodeId id;
      gboolean zero = TRUE, ones = TRUE;

      if (RAND_bytes (id.id, sizeof id.id) != 1)
        {
          g_array_unref (ids);
          return NULL;
        }
      for (gsize i = 0; i < sizeof id.id; i++)
        {
          zero &= id.id[i] == 0x00;
          ones &= id.id[i] == 0xff;
        }
      if (!zero && !ones) /* invalid and wildcard Node-IDs */
        g_array_append_val (ids, id);
    }
  g_hash_table_replace (ca->users, g_strdup (user), g_array_ref (ids));
  return ids;
}

GBytes *
disco_reload_ca_issue (DiscoReloadCa *ca, GBytes *csr_der, const char *overlay, guint n_node_ids,
                       guint days, GError **error)
{
  const unsigned char *p;
  gsize len;
  X509_REQ *req = NULL;
  EVP_PKEY *pub = NULL;
  X509 *x509 = NULL;
  g_autofree char *user = NULL;
  g_autoptr (GArray) ids = NULL;
  unsigned char *der = NULL;
  int der_len;
  GBytes *out = NULL;
  X509V3_CTX ctx;
  X509_EXTENSION *aki;

  if (n_node_ids < 1 || n_node_ids > DISCO_RELOAD_MAX_NODE_IDS)
    {
      g_set_error (
          error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_NODE_IDS_NOT_AVAILABLE,
          "%u Node-IDs requested, at most %d are issued", n_node_ids, DISCO_RELOAD_MAX_NODE_IDS);
      return NULL;
    }
  p = g_bytes_get_data (csr_der, &len);
  if (len == 0 || len > 65536 || (req = d2i_X509_REQ (NULL, &p, (long)len)) == NULL)
    {
      bad_csr (error, "not a DER PKCS#10 request");
      return NULL;
    }
  if (p != (const unsigned char *)g_bytes_get_data (csr_der, NULL) + len)
    {
      bad_csr (error, "trailing bytes");
      goto out;
    }
  pub = X509_REQ_get_pubkey (req);
  if (pub == NULL || EVP_PKEY_get_base_id (pub) != EVP_PKEY_RSA)
    {
      bad_csr (error, "key is not RSA");
      goto out;
    }
  if (EVP_PKEY_get_bits (pub) < 2048)
    {
      bad_csr (error, "RSA key shorter than 2048 bits");
      goto out;
    }
  if (X509_REQ_verify (req, pub) != 1)
    {
      bad_csr (error, "self-signature does not verify");
      goto out;
    }
  user = csr_user_name (req);
  if (!disco_reload_user_name_valid (user))
    {
      bad_csr (error, "no user@domain user name");
      goto out;
    }
  if (ca->domain && g_ascii_strcasecmp (strchr (user, '@') + 1, ca->domain) != 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR,
                   DISCO_RELOAD_SECURITY_ERROR_USERNAME_NOT_AVAILABLE,
                   "user name %s is outside domain %s", user, ca->domain);
      goto out;
    }
  ids = node_ids_for (ca, user, n_node_ids);
  x509 = X509_new ();
  if (ids == NULL || x509 == NULL || !disco_reload_set_serial_and_validity (x509, days)
      || X509_set_issuer_name (x509, X509_get_subject_name (ca->cert->x509)) != 1
      || X509_set_pubkey (x509, pub) != 1 || !disco_reload_add_san (x509, ids, overlay, user)
      || !disco_reload_add_end_entity_exts (x509, ca->cert->x509))
    {
      disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO,
                                  "building certificate");
      goto out;
    }
  X509V3_set_ctx (&ctx, ca->cert->x509, x509, NULL, NULL, 0);
  aki = X509V3_EXT_conf_nid (NULL, &ctx, NID_authority_key_identifier, "keyid:always");
  if (aki == NULL || X509_add_ext (x509, aki, -1) != 1
      || X509_sign (x509, ca->key, EVP_sha256 ()) <= 0 || (der_len = i2d_X509 (x509, &der)) <= 0)
    {
      X509_EXTENSION_free (aki);
      disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "signing certificate");
      goto out;
    }
  X509_EXTENSION_free (aki);
  out = g_bytes_new (der, der_len);
  OPENSSL_free (der);
  g_debug ("issued certificate for %s with %u Node-ID(s)", user, n_node_ids);

out:
  X509_free (x509);
  EVP_PKEY_free (pub);
  X509_REQ_free (req);
  return out;
}

const char *
disco_reload_enrollment_error_token (const GError *error)
{
  if (error && error->domain == DISCO_RELOAD_SECURITY_ERROR)
    switch (error->code)
      {
        case DISCO_RELOAD_SECURITY_ERROR_BAD_CSR:
          return "bad_CSR";
        case DISCO_RELOAD_SECURITY_ERROR_USERNAME_NOT_AVAILABLE:
          return "username_not_available";
        case DISCO_RELOAD_SECURITY_ERROR_NODE_IDS_NOT_AVAILABLE:
          return "Node-IDs_not_available";
        default:
          break;
      }
  return "failed_authentication";
}
