/* Tests for RELOAD identities, the enrollment CA, trust decisions and
 * message / StoredData signatures. */
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <openssl/x509v3.h>

#include "reload-signature.h"

#define OVERLAY "disco.example.org"

/* Generated once: RSA key generation dominates the run time. */
static DiscoReloadIdentity *alice; /* self-signed, 1 Node-ID, sha256 */
static DiscoReloadIdentity *bob;   /* self-signed, 1 Node-ID */
static DiscoReloadIdentity *multi; /* self-signed, 3 Node-IDs */
static DiscoReloadCa *ca;
static DiscoReloadConfig *config; /* the default config: self-signed permitted */

static DiscoReloadConfig *
config_without_self_signed (void)
{
  DiscoReloadConfig *c = disco_reload_config_new ();

  disco_reload_config_set_instance_name (c, OVERLAY);
  return c;
}

/* ---- identities and certificates ------------------------------------------ */

static void
expected_node_id (EVP_PKEY *key, const char *alg, guint index, guint n, guint8 out[16])
{
  unsigned char *spki = NULL;
  int len = i2d_PUBKEY (key, &spki);
  g_autoptr (GChecksum) ck
      = g_checksum_new (strcmp (alg, "sha1") == 0 ? G_CHECKSUM_SHA1 : G_CHECKSUM_SHA256);
  guint8 md[32];
  gsize md_len = sizeof md;

  if (n > 1)
    {
      guint8 be[4] = { index >> 24, index >> 16, index >> 8, index };
      g_checksum_update (ck, be, 4);
    }
  g_checksum_update (ck, spki, len);
  g_checksum_get_digest (ck, md, &md_len);
  memcpy (out, md, 16);
  OPENSSL_free (spki);
}

static void
test_self_signed (void)
{
  guint8 want[16];
  GENERAL_NAMES *names;
  int crit = -1;
  g_autofree char *hex = NULL;
  g_autofree char *uri = NULL;
  gboolean saw_uri = FALSE, saw_email = FALSE;

  g_assert_cmpuint (alice->cert->node_ids->len, ==, 1);
  expected_node_id (alice->key, "sha256", 1, 1, want);
  g_assert_cmpmem (disco_reload_identity_get_node_id (alice)->id, 16, want, 16);
  g_assert_cmpstr (disco_reload_identity_get_user_name (alice), ==, "alice@example.org");
  g_assert_cmpstr (alice->cert->overlay, ==, OVERLAY);

  /* Empty subject; critical SAN with exactly the RFC URI and rfc822Name. */
  g_assert_cmpint (X509_NAME_entry_count (X509_get_subject_name (alice->cert->x509)), ==, 0);
  names = X509_get_ext_d2i (alice->cert->x509, NID_subject_alt_name, &crit, NULL);
  g_assert_nonnull (names);
  g_assert_cmpint (crit, ==, 1);
  hex = disco_reload_node_id_to_hex (disco_reload_identity_get_node_id (alice));
  uri = g_strdup_printf ("reload://0110%s@" OVERLAY "/", hex);
  g_assert_cmpint (sk_GENERAL_NAME_num (names), ==, 2);
  for (int i = 0; i < sk_GENERAL_NAME_num (names); i++)
    {
      GENERAL_NAME *gn = sk_GENERAL_NAME_value (names, i);
      if (gn->type == GEN_URI)
        {
          g_assert_cmpstr ((const char *)ASN1_STRING_get0_data (gn->d.uniformResourceIdentifier),
                           ==, uri);
          saw_uri = TRUE;
        }
      else if (gn->type == GEN_EMAIL)
        {
          g_assert_cmpstr ((const char *)ASN1_STRING_get0_data (gn->d.rfc822Name), ==,
                           "alice@example.org");
          saw_email = TRUE;
        }
    }
  GENERAL_NAMES_free (names);
  g_assert_true (saw_uri && saw_email);

  /* Several Node-IDs: digest(index || SPKI) each. */
  g_assert_cmpuint (multi->cert->node_ids->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      expected_node_id (multi->key, "sha256", i + 1, 3, want);
      g_assert_cmpmem (g_array_index (multi->cert->node_ids, DiscoReloadNodeId, i).id, 16, want,
                       16);
    }
}

static void
test_self_signed_sha1 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadIdentity) id = disco_reload_identity_new_self_signed (
      "carol@example.org", OVERLAY, DISCO_RELOAD_DIGEST_SHA1, 1, 0, 0, &error);
  guint8 want[16];
  g_autoptr (DiscoReloadConfig) c = config_without_self_signed ();
  g_autoptr (DiscoReloadTrust) trust = NULL;

  g_assert_no_error (error);
  expected_node_id (id->key, "sha1", 1, 1, want);
  g_assert_cmpmem (disco_reload_identity_get_node_id (id)->id, 16, want, 16);

  /* A sha1 self-signed cert is accepted by a sha1 overlay only. */
  c->self_signed_permitted = TRUE;
  c->self_signed_digest = DISCO_RELOAD_DIGEST_SHA1;
  trust = disco_reload_trust_new (c, &error);
  g_assert_no_error (error);
  g_assert_true (disco_reload_trust_verify_cert (trust, id->cert, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (disco_reload_trust_verify_cert (trust, alice->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID);

  g_assert_null (disco_reload_identity_new_self_signed ("no-at-sign", OVERLAY,
                                                        DISCO_RELOAD_DIGEST_SHA1, 1, 0, 0, NULL));
  g_assert_null (disco_reload_identity_new_self_signed ("a@b.c", OVERLAY, DISCO_RELOAD_DIGEST_SHA1,
                                                        0, 0, 0, NULL));
}

static void
test_uri (void)
{
  DiscoReloadNodeId id, want;
  g_autofree char *overlay = NULL;
  g_autofree char *uri = NULL;
  const char *bad[] = {
    "http://0110000102030405060708090a0b0c0d0e0f@x/",
    "reload://0110000102030405060708090a0b0c0d0e0f",
    "reload://0210000102030405060708090a0b0c0d0e0f@x/",   /* resource, not node */
    "reload://0114000102030405060708090a0b0c0d0e0f@x/",   /* wrong length byte */
    "reload://0110000102030405060708090a0b0c0d0e0g@x/",   /* not hex */
    "reload://0110000102030405060708090a0b0c0d0e@x/",     /* short */
    "reload://0110000102030405060708090a0b0c0d0e0f@x/0a", /* names stored data */
    "reload://0110000102030405060708090a0b0c0d0e0f@/",
    NULL,
  };

  for (int i = 0; i < 16; i++)
    want.id[i] = i;
  uri = disco_reload_node_id_to_uri (&want, "example.org");
  g_assert_cmpstr (uri, ==, "reload://0110000102030405060708090a0b0c0d0e0f@example.org/");
  g_assert_true (disco_reload_node_id_from_uri (uri, &id, &overlay, NULL));
  g_assert_cmpmem (id.id, 16, want.id, 16);
  g_assert_cmpstr (overlay, ==, "example.org");
  g_clear_pointer (&overlay, g_free);

  /* Deviations accepted: java-reload's missing "/", danpascu's bare id, upper case. */
  g_assert_true (disco_reload_node_id_from_uri (
      "reload://0110000102030405060708090A0B0C0D0E0F@example.org", &id, &overlay, NULL));
  g_assert_cmpmem (id.id, 16, want.id, 16);
  g_assert_cmpstr (overlay, ==, "example.org");
  memset (&id, 0, sizeof id);
  g_assert_true (disco_reload_node_id_from_uri ("reload://000102030405060708090a0b0c0d0e0f@o", &id,
                                                NULL, NULL));
  g_assert_cmpmem (id.id, 16, want.id, 16);

  for (int i = 0; bad[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (disco_reload_node_id_from_uri (bad[i], &id, NULL, &error));
      g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID);
    }
}

static void
test_save_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("reload-id-XXXXXX", &error);
  g_autofree char *sub = g_build_filename (dir, "data", NULL);
  g_autofree char *keyfile = g_build_filename (sub, "reload-key.pem", NULL);
  g_autofree char *certfile = g_build_filename (sub, "reload-cert.pem", NULL);
  g_autoptr (DiscoReloadIdentity) back = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_null (disco_reload_identity_load (sub, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_IO);
  g_clear_error (&error);

  g_assert_true (disco_reload_identity_save (multi, sub, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (keyfile, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0077, ==, 0);
  back = disco_reload_identity_load (sub, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back->cert->der, multi->cert->der));
  g_assert_cmpint (EVP_PKEY_eq (back->key, multi->key), ==, 1);
  g_assert_cmpuint (back->cert->node_ids->len, ==, 3);

  /* A certificate that does not belong to the key is refused. */
  g_assert_true (g_file_set_contents (certfile, "garbage", -1, NULL));
  g_clear_pointer (&back, disco_reload_identity_unref);
  g_assert_null (disco_reload_identity_load (sub, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (disco_reload_identity_save (bob, sub, NULL));
  {
    /* bob's cert with alice's key */
    g_autofree char *alice_dir = g_build_filename (dir, "alice", NULL);
    g_autofree char *akey = g_build_filename (alice_dir, "reload-key.pem", NULL);
    g_autofree char *kdata = NULL;
    g_assert_true (disco_reload_identity_save (alice, alice_dir, NULL));
    g_assert_true (g_file_get_contents (akey, &kdata, NULL, NULL));
    g_assert_true (g_file_set_contents (keyfile, kdata, -1, NULL));
    g_assert_null (disco_reload_identity_load (sub, &error));
    g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID);
    g_unlink (akey);
    g_autofree char *acert = g_build_filename (alice_dir, "reload-cert.pem", NULL);
    g_unlink (acert);
    g_rmdir (alice_dir);
  }
  g_unlink (keyfile);
  g_unlink (certfile);
  g_rmdir (sub);
  g_rmdir (dir);
}

/* ---- enrollment CA ---------------------------------------------------------- */

static DiscoReloadIdentity *
enroll (const char *user, guint n_ids, EVP_PKEY **key_out)
{
  g_autoptr (GError) error = NULL;
  EVP_PKEY *key = disco_reload_key_generate (2048, &error);
  g_autoptr (GBytes) csr = disco_reload_csr_new (key, user, &error);
  g_autoptr (GBytes) der = NULL;
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();
  DiscoReloadIdentity *id;

  g_assert_no_error (error);
  der = disco_reload_ca_issue (ca, csr, OVERLAY, n_ids, 30, &error);
  g_assert_no_error (error);
  g_ptr_array_add (chain, disco_reload_ca_get_cert (ca)->der);
  id = disco_reload_identity_new (key, der, chain, &error);
  g_assert_no_error (error);
  if (key_out)
    *key_out = key;
  else
    EVP_PKEY_free (key);
  return id;
}

static void
test_ca_issue (void)
{
  g_autoptr (GError) error = NULL;
  EVP_PKEY *key = NULL;
  g_autoptr (DiscoReloadIdentity) dave = enroll ("dave@example.org", 2, &key);
  g_autoptr (DiscoReloadIdentity) again = NULL;
  g_autoptr (GBytes) csr = NULL;
  g_autoptr (GBytes) der = NULL;
  g_autoptr (DiscoReloadConfig) c = config_without_self_signed ();
  g_autoptr (DiscoReloadTrust) trust = NULL;
  g_autoptr (DiscoReloadTrust) ss_trust = NULL;
  g_autoptr (GPtrArray) chain = g_ptr_array_new ();

  g_assert_cmpstr (dave->cert->user_name, ==, "dave@example.org");
  g_assert_cmpuint (dave->cert->node_ids->len, ==, 2);
  g_assert_cmpint (X509_NAME_entry_count (X509_get_subject_name (dave->cert->x509)), ==, 0);
  g_assert_false (
      disco_reload_node_id_equal (&g_array_index (dave->cert->node_ids, DiscoReloadNodeId, 0),
                                  &g_array_index (dave->cert->node_ids, DiscoReloadNodeId, 1)));

  /* Re-enrolment (even with the same key) keeps the Node-IDs. */
  csr = disco_reload_csr_new (key, "dave@example.org", &error);
  der = disco_reload_ca_issue (ca, csr, OVERLAY, 2, 30, &error);
  g_assert_no_error (error);
  again = disco_reload_identity_new (key, der, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (again->cert->node_ids->data, 32, dave->cert->node_ids->data, 32);

  /* Chains to the configured root; the root goes into <root-cert>. */
  g_ptr_array_add (c->root_certs, g_bytes_ref (disco_reload_ca_get_cert (ca)->der));
  trust = disco_reload_trust_new (c, &error);
  g_assert_no_error (error);
  g_assert_true (disco_reload_trust_verify_cert (trust, dave->cert, NULL, &error));
  g_assert_no_error (error);
  /* ... but a self-signed cert is not acceptable in that overlay. */
  g_assert_false (disco_reload_trust_verify_cert (trust, alice->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED);
  g_clear_error (&error);

  /* A self-signed-only overlay does not accept the CA's cert. */
  ss_trust = disco_reload_trust_new (config, &error);
  g_assert_false (disco_reload_trust_verify_cert (ss_trust, dave->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED);
  g_clear_error (&error);

  /* Messages signed by the enrolled identity carry its chain and verify. */
  {
    g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (DISCO_RELOAD_PING_REQ);
    DiscoReloadSigner signer = { 0 };

    g_assert_true (disco_reload_sign_message (dave, NULL, msg, &error));
    g_assert_no_error (error);
    /* Two Node-IDs: the signer picks one with cert_hash_node_id. */
    g_assert_cmpint (msg->security.signature.identity.type, ==,
                     DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID);
    g_assert_cmpuint (msg->security.certificates->len, ==, 2); /* cert + CA */
    g_assert_true (disco_reload_verify_message (trust, NULL, msg, NULL, 0, &signer, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (signer.cert->user_name, ==, "dave@example.org");
    disco_reload_signer_clear (&signer);
    g_assert_false (disco_reload_verify_message (ss_trust, NULL, msg, NULL, 0, NULL, &error));
    g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED);
    g_clear_error (&error);
  }

  /* Expiry: the issued cert is valid for 30 days. */
  disco_reload_trust_set_time (trust, g_get_real_time () / G_USEC_PER_SEC + 40 * 86400);
  g_assert_false (disco_reload_trust_verify_cert (trust, dave->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_EXPIRED);
  g_clear_error (&error);
  disco_reload_trust_set_time (trust, g_get_real_time () / G_USEC_PER_SEC - 86400);
  g_assert_false (disco_reload_trust_verify_cert (trust, dave->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_EXPIRED);
  g_clear_error (&error);
  disco_reload_trust_set_time (trust, 0);
  EVP_PKEY_free (key);
}

static void
test_ca_errors (void)
{
  g_autoptr (GError) error = NULL;
  EVP_PKEY *weak = disco_reload_key_generate (1024, &error);
  EVP_PKEY *key = disco_reload_key_generate (2048, &error);
  g_autoptr (GBytes) garbage = g_bytes_new_static ("\x30\x03\x02\x01\x00", 5);
  g_autoptr (GBytes) weak_csr = disco_reload_csr_new (weak, "erin@example.org", &error);
  g_autoptr (GBytes) csr = disco_reload_csr_new (key, "erin@example.org", &error);
  g_autoptr (GBytes) other = disco_reload_csr_new (key, "erin@other.example", &error);
  g_autoptr (GBytes) tampered = NULL;
  guint8 *t;
  gsize n;

  g_assert_no_error (error);
  g_assert_null (disco_reload_ca_issue (ca, garbage, OVERLAY, 1, 0, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_CSR);
  g_assert_cmpstr (disco_reload_enrollment_error_token (error), ==, "bad_CSR");
  g_clear_error (&error);

  g_assert_null (disco_reload_ca_issue (ca, weak_csr, OVERLAY, 1, 0, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_CSR);
  g_clear_error (&error);

  /* Flip a bit in the signed part: the self-signature must fail. */
  n = g_bytes_get_size (csr);
  t = g_memdup2 (g_bytes_get_data (csr, NULL), n);
  t[n / 2] ^= 0x01;
  tampered = g_bytes_new_take (t, n);
  g_assert_null (disco_reload_ca_issue (ca, tampered, OVERLAY, 1, 0, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_CSR);
  g_clear_error (&error);

  g_assert_null (disco_reload_ca_issue (ca, csr, OVERLAY, 17, 0, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR,
                  DISCO_RELOAD_SECURITY_ERROR_NODE_IDS_NOT_AVAILABLE);
  g_assert_cmpstr (disco_reload_enrollment_error_token (error), ==, "Node-IDs_not_available");
  g_clear_error (&error);

  disco_reload_ca_set_domain (ca, "example.org");
  g_assert_null (disco_reload_ca_issue (ca, other, OVERLAY, 1, 0, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR,
                  DISCO_RELOAD_SECURITY_ERROR_USERNAME_NOT_AVAILABLE);
  g_assert_cmpstr (disco_reload_enrollment_error_token (error), ==, "username_not_available");
  g_clear_error (&error);
  {
    g_autoptr (GBytes) ok = disco_reload_ca_issue (ca, csr, OVERLAY, 1, 0, &error);
    g_assert_no_error (error);
    g_assert_nonnull (ok);
  }
  disco_reload_ca_set_domain (ca, NULL);
  g_assert_null (disco_reload_csr_new (key, "not a user", &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID);
  EVP_PKEY_free (weak);
  EVP_PKEY_free (key);
}

static void
test_ca_save_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("reload-ca-XXXXXX", &error);
  g_autoptr (DiscoReloadCa) back = NULL;
  g_autofree char *k = g_build_filename (dir, "ca-key.pem", NULL);
  g_autofree char *c = g_build_filename (dir, "ca-cert.pem", NULL);
  g_autofree char *u = g_build_filename (dir, "ca-users", NULL);
  EVP_PKEY *key = NULL;
  g_autoptr (DiscoReloadIdentity) before = enroll ("frank@example.org", 1, &key);
  g_autoptr (GBytes) csr = disco_reload_csr_new (key, "frank@example.org", &error);
  g_autoptr (GBytes) der = NULL;
  g_autoptr (DiscoReloadCert) after = NULL;

  g_assert_true (disco_reload_ca_save (ca, dir, &error));
  back = disco_reload_ca_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (
      g_bytes_equal (disco_reload_ca_get_cert (back)->der, disco_reload_ca_get_cert (ca)->der));
  /* The reloaded CA remembers frank's Node-ID. */
  der = disco_reload_ca_issue (back, csr, OVERLAY, 1, 0, &error);
  g_assert_no_error (error);
  after = disco_reload_cert_new_from_der (g_bytes_get_data (der, NULL), g_bytes_get_size (der),
                                          &error);
  g_assert_cmpmem (after->node_ids->data, 16, before->cert->node_ids->data, 16);
  EVP_PKEY_free (key);
  g_unlink (k);
  g_unlink (c);
  g_unlink (u);
  g_rmdir (dir);
}

/* ---- trust rules -------------------------------------------------------------- */

/* A self-signed certificate for @key whose SAN claims @claimed (not derived
 * from the key) - built with OpenSSL directly, as an attacker would. */
static DiscoReloadCert *
forge_cert (EVP_PKEY *key, const char *uri)
{
  X509 *x = X509_new ();
  X509V3_CTX ctx;
  g_autofree char *san = g_strdup_printf ("critical,URI:%s,email:mallory@example.org", uri);
  X509_EXTENSION *ext;
  DiscoReloadCert *cert;

  ASN1_INTEGER_set (X509_get_serialNumber (x), 7);
  X509_set_version (x, 2);
  X509_gmtime_adj (X509_getm_notBefore (x), -60);
  X509_gmtime_adj (X509_getm_notAfter (x), 86400);
  X509_set_pubkey (x, key);
  X509V3_set_ctx (&ctx, x, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, NID_subject_alt_name, san);
  X509_add_ext (x, ext, -1);
  X509_EXTENSION_free (ext);
  X509_sign (x, key, EVP_sha256 ());
  cert = disco_reload_cert_new_from_x509 (x, NULL);
  X509_free (x);
  return cert;
}

static void
test_trust_rules (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadTrust) trust = disco_reload_trust_new (config, &error);
  g_autofree char *alice_uri
      = disco_reload_node_id_to_uri (disco_reload_identity_get_node_id (alice), OVERLAY);
  g_autofree char *bob_uri
      = disco_reload_node_id_to_uri (disco_reload_identity_get_node_id (bob), "other.example.net");
  g_autoptr (DiscoReloadCert) stolen = forge_cert (bob->key, alice_uri);
  g_autoptr (DiscoReloadCert) wrong_overlay = forge_cert (bob->key, bob_uri);
  g_autoptr (DiscoReloadConfig) bad = disco_reload_config_new_default ();
  g_autoptr (DiscoReloadTrust) bad_trust = NULL;

  g_assert_no_error (error);
  g_assert_true (disco_reload_trust_verify_cert (trust, alice->cert, NULL, &error));
  g_assert_true (disco_reload_trust_verify_cert (trust, multi->cert, NULL, &error));
  g_assert_no_error (error);

  /* bob's key claiming alice's Node-ID: the Node-ID does not match the key. */
  g_assert_nonnull (stolen);
  g_assert_false (disco_reload_trust_verify_cert (trust, stolen, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID);
  g_clear_error (&error);

  g_assert_false (disco_reload_trust_verify_cert (trust, wrong_overlay, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED);
  g_clear_error (&error);

  /* Listed as bad-node. */
  g_ptr_array_add (bad->bad_nodes,
                   disco_reload_node_id_to_hex (disco_reload_identity_get_node_id (bob)));
  bad_trust = disco_reload_trust_new (bad, &error);
  g_assert_false (disco_reload_trust_verify_cert (bad_trust, bob->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID);
  g_clear_error (&error);
  g_assert_true (disco_reload_trust_verify_cert (bad_trust, alice->cert, NULL, &error));

  /* Validity dates also apply to cached results. */
  disco_reload_trust_set_time (trust, g_get_real_time () / G_USEC_PER_SEC + 400 * 86400);
  g_assert_false (disco_reload_trust_verify_cert (trust, alice->cert, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_EXPIRED);
}

/* ---- signatures -------------------------------------------------------------------- */

static DiscoReloadMessage *
make_ping (void)
{
  DiscoReloadMessage *msg = disco_reload_message_new (DISCO_RELOAD_PING_REQ);
  DiscoReloadDestination d;
  DiscoReloadNodeId target;

  msg->header.overlay = config->overlay_hash;
  msg->header.transaction_id = G_GUINT64_CONSTANT (0x0102030405060708);
  memset (target.id, 0x42, sizeof target.id);
  disco_reload_destination_set_node (&d, &target);
  g_array_append_val (msg->header.destination_list, d);
  msg->body.ping_req.padding = g_bytes_new_static ("pad", 3);
  return msg;
}

static void
test_message_signature (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadTrust) trust = disco_reload_trust_new (config, &error);
  g_autoptr (DiscoReloadMessage) msg = make_ping ();
  g_autoptr (DiscoReloadMessage) decoded = NULL;
  g_autoptr (GByteArray) wire = g_byte_array_new ();
  DiscoReloadSigner signer = { 0 };

  g_assert_true (disco_reload_sign_message (alice, NULL, msg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (msg->security.signature.identity.type, ==,
                   DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH);
  g_assert_cmpuint (msg->security.certificates->len, ==, 1);
  g_assert_cmpuint (msg->security.signature.hash_alg, ==, 4);
  g_assert_cmpuint (msg->security.signature.sig_alg, ==, 1);
  g_assert_cmpuint (g_bytes_get_size (msg->security.signature.value), ==, 256);

  g_assert_true (disco_reload_verify_message (trust, NULL, msg, NULL, 0, &signer, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_node_id_equal (&signer.node_id, disco_reload_identity_get_node_id (alice)));
  disco_reload_signer_clear (&signer);

  /* Over the wire: verify from the received bytes; TTL and via list are not covered. */
  g_assert_true (disco_reload_message_encode (msg, wire, &error));
  wire->data[11] = 7; /* ttl */
  g_assert_true (disco_reload_message_decode (wire->data, wire->len, &decoded, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_verify_message (trust, NULL, decoded, wire->data, wire->len, NULL, &error));
  g_assert_no_error (error);

  /* Tampered body. */
  g_clear_pointer (&decoded->body.ping_req.padding, g_bytes_unref);
  decoded->body.ping_req.padding = g_bytes_new_static ("pAd", 3);
  g_assert_false (disco_reload_verify_message (trust, NULL, decoded, NULL, 0, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Tampered transaction id. */
  wire->data[27] ^= 1;
  g_clear_pointer (&decoded, disco_reload_message_free);
  g_assert_true (disco_reload_message_decode (wire->data, wire->len, &decoded, &error));
  g_assert_false (
      disco_reload_verify_message (trust, NULL, decoded, wire->data, wire->len, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE);
}

static void
test_message_forged (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadTrust) trust = disco_reload_trust_new (config, &error);
  g_autoptr (DiscoReloadMessage) msg = make_ping ();
  g_autoptr (DiscoReloadMessage) msg2 = make_ping ();
  g_autoptr (GByteArray) input = g_byte_array_new ();
  g_autoptr (DiscoReloadCertPool) extra = disco_reload_cert_pool_new ();

  /* Mallory (bob's key) signs but names alice's certificate. */
  g_assert_true (disco_reload_sign_message (alice, NULL, msg, &error));
  g_assert_true (
      disco_reload_message_signature_input (msg, &msg->security.signature.identity, input, &error));
  g_clear_pointer (&msg->security.signature.value, g_bytes_unref);
  msg->security.signature.value
      = disco_reload_identity_sign_bytes (bob, input->data, input->len, &error);
  g_assert_false (disco_reload_verify_message (trust, NULL, msg, NULL, 0, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Certificate missing from the bucket: unknown signer, unless supplied. */
  g_assert_true (disco_reload_sign_message (alice, NULL, msg2, &error));
  g_ptr_array_set_size (msg2->security.certificates, 0);
  g_assert_false (disco_reload_verify_message (trust, NULL, msg2, NULL, 0, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER);
  g_clear_error (&error);
  disco_reload_cert_pool_add (extra, alice->cert);
  g_assert_true (disco_reload_verify_message (trust, extra, msg2, NULL, 0, NULL, &error));
  g_assert_no_error (error);

  /* Unsigned messages are refused. */
  disco_reload_signature_set_none (&msg2->security.signature);
  g_assert_false (disco_reload_verify_message (trust, extra, msg2, NULL, 0, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED);
}

static void
test_multi_node_id (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadTrust) trust = disco_reload_trust_new (config, &error);
  g_autoptr (DiscoReloadMessage) msg = make_ping ();
  const DiscoReloadNodeId *second = &g_array_index (multi->cert->node_ids, DiscoReloadNodeId, 1);
  DiscoReloadSigner signer = { 0 };
  DiscoReloadNodeId stranger;

  g_assert_true (disco_reload_sign_message (multi, second, msg, &error));
  g_assert_cmpint (msg->security.signature.identity.type, ==,
                   DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID);
  g_assert_true (disco_reload_verify_message (trust, NULL, msg, NULL, 0, &signer, &error));
  g_assert_no_error (error);
  g_assert_true (disco_reload_node_id_equal (&signer.node_id, second));
  disco_reload_signer_clear (&signer);

  memset (stranger.id, 0x11, sizeof stranger.id);
  g_assert_false (disco_reload_sign_message (multi, &stranger, msg, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID);
}

static void
test_stored_data_signature (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadTrust) trust = disco_reload_trust_new (config, &error);
  g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
  g_autoptr (DiscoReloadStoredData) sd
      = disco_reload_stored_data_new (DISCO_RELOAD_DATA_MODEL_ARRAY);
  DiscoReloadResourceId rid, other;
  DiscoReloadSigner signer = { 0 };

  disco_reload_resource_id_from_name ((const guint8 *)"alice@example.org", 17, &rid);
  disco_reload_resource_id_from_name ((const guint8 *)"bob@example.org", 15, &other);
  sd->storage_time = 1700000000000;
  sd->lifetime = 60;
  sd->value.index = DISCO_RELOAD_ARRAY_APPEND;
  sd->value.value = g_bytes_new_static ("hello", 5);
  g_assert_true (disco_reload_sign_stored_data (alice, NULL, &rid, 16, sd, &error));
  g_assert_no_error (error);

  /* No certificate known yet. */
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER);
  g_clear_error (&error);
  disco_reload_cert_pool_add (pool, alice->cert);
  disco_reload_cert_pool_add (pool, alice->cert); /* duplicate ignored */
  g_assert_cmpuint (disco_reload_cert_pool_size (pool), ==, 1);

  /* The array index is not covered (append makes it unknown to the signer). */
  sd->value.index = 7;
  g_assert_true (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, &signer, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_node_id_equal (&signer.node_id, disco_reload_identity_get_node_id (alice)));
  disco_reload_signer_clear (&signer);

  /* Lifetime is not covered either; resource, kind, time and value are. */
  sd->lifetime = 5;
  g_assert_true (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &other, 16, sd, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &rid, 3, sd, NULL, &error));
  g_clear_error (&error);
  sd->storage_time++;
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  g_clear_error (&error);
  sd->storage_time--;
  g_clear_pointer (&sd->value.value, g_bytes_unref);
  sd->value.value = g_bytes_new_static ("hellO", 5);
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Data may outlive its certificate, but its signature then fails. */
  g_clear_pointer (&sd->value.value, g_bytes_unref);
  sd->value.value = g_bytes_new_static ("hello", 5);
  g_assert_true (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  disco_reload_trust_set_time (trust, g_get_real_time () / G_USEC_PER_SEC + 400 * 86400);
  g_assert_false (disco_reload_verify_stored_data (trust, pool, &rid, 16, sd, NULL, &error));
  g_assert_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_EXPIRED);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  config = disco_reload_config_new_default ();
  alice = disco_reload_identity_new_self_signed ("alice@example.org", OVERLAY,
                                                 DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);
  bob = disco_reload_identity_new_self_signed ("bob@example.org", OVERLAY,
                                               DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);
  multi = disco_reload_identity_new_self_signed ("multi@example.org", OVERLAY,
                                                 DISCO_RELOAD_DIGEST_SHA256, 3, 0, 0, &error);
  g_assert_no_error (error);
  ca = disco_reload_ca_new ("DisCo test CA", 2048, 0, &error);
  g_assert_no_error (error);

  g_test_add_func ("/reload-security/self-signed", test_self_signed);
  g_test_add_func ("/reload-security/self-signed-sha1", test_self_signed_sha1);
  g_test_add_func ("/reload-security/uri", test_uri);
  g_test_add_func ("/reload-security/save-load", test_save_load);
  g_test_add_func ("/reload-security/ca-issue", test_ca_issue);
  g_test_add_func ("/reload-security/ca-errors", test_ca_errors);
  g_test_add_func ("/reload-security/ca-save-load", test_ca_save_load);
  g_test_add_func ("/reload-security/trust-rules", test_trust_rules);
  g_test_add_func ("/reload-security/message-signature", test_message_signature);
  g_test_add_func ("/reload-security/message-forged", test_message_forged);
  g_test_add_func ("/reload-security/multi-node-id", test_multi_node_id);
  g_test_add_func ("/reload-security/stored-data-signature", test_stored_data_signature);
  rc = g_test_run ();

  disco_reload_identity_unref (alice);
  disco_reload_identity_unref (bob);
  disco_reload_identity_unref (multi);
  disco_reload_ca_free (ca);
  disco_reload_config_unref (config);
  return rc;
}
