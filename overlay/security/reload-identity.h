/* reload-identity.h: a node's RELOAD identity and the enrollment CA.
 *
 * DiscoReloadIdentity = RSA private key + certificate (+ issuing chain).
 * Certificates follow RFC 6940 §11.3: empty subject DN, a critical
 * subjectAltName holding one reload:// URI per Node-ID and the user name as
 * the single rfc822Name.
 *
 *  - Self-signed mode (reload.md §9): Node-ID = the high-order 16 bytes
 *    of digest(DER SubjectPublicKeyInfo), or digest(uint32 BE index 1..n ||
 *    SPKI) when the certificate carries several Node-IDs.
 *  - CA mode: DiscoReloadCa is the core of an enrollment server.  It signs a
 *    PKCS#10 request with cryptographically random Node-IDs it chooses, and
 *    gives a user the same Node-IDs again when it re-enrolls.  The HTTPS
 *    front end lives elsewhere (it maps the error codes to the RFC tokens with
 *    disco_reload_enrollment_error_token()).
 *
 * Files in a data dir: "reload-key.pem" (PKCS#8, mode 0600) and
 * "reload-cert.pem" (the certificate followed by its chain).  The CA uses
 * "ca-key.pem", "ca-cert.pem" and "ca-users" (the Node-IDs given to each
 * user, so re-enrolment after a restart returns the same ones).
 *
 * Ownership: DiscoReloadIdentity is reference counted and immutable after
 * creation; it owns its EVP_PKEY and certificates.  DiscoReloadCa is a plain
 * struct with _free.
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "reload-cert.h"
#include "reload-config.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_DEFAULT_KEY_BITS 2048
#define DISCO_RELOAD_DEFAULT_CERT_DAYS 365
#define DISCO_RELOAD_MAX_NODE_IDS 16

typedef struct
{
  gint ref_count; /* private */
  EVP_PKEY *key;  /* RSA private key */
  DiscoReloadCert *cert;
  GPtrArray *chain; /* DiscoReloadCert*, issuer first; empty when self-signed */
} DiscoReloadIdentity;

DiscoReloadIdentity *disco_reload_identity_ref (DiscoReloadIdentity *id);
void disco_reload_identity_unref (DiscoReloadIdentity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadIdentity, disco_reload_identity_unref)

/* A new RSA key of @bits (>= 1024; 0 = DISCO_RELOAD_DEFAULT_KEY_BITS). */
EVP_PKEY *disco_reload_key_generate (guint bits, GError **error);

/* Generates a key and a self-signed certificate for @user_name
 * ("alice@example.org") in @overlay with @n_node_ids (1..16) Node-IDs derived
 * with @digest.  Valid from one hour ago for @days (0 = default). */
DiscoReloadIdentity *disco_reload_identity_new_self_signed (const char *user_name,
                                                            const char *overlay,
                                                            DiscoReloadDigest digest,
                                                            guint n_node_ids, guint key_bits,
                                                            guint days, GError **error);

/* Assembles an identity from a key (a reference is taken) and a DER
 * certificate (+ optional DER chain, GBytes*), checking that the key matches
 * the certificate.  This is how an enrolled client stores the CA's answer. */
DiscoReloadIdentity *disco_reload_identity_new (EVP_PKEY *key, GBytes *cert_der,
                                                GPtrArray *chain_der, GError **error);

/* The first Node-ID of the certificate (the one used when signing with no
 * explicit choice). */
const DiscoReloadNodeId *disco_reload_identity_get_node_id (const DiscoReloadIdentity *id);
const char *disco_reload_identity_get_user_name (const DiscoReloadIdentity *id);

/* PEM persistence in @dir (created 0700 if needed). */
gboolean disco_reload_identity_save (const DiscoReloadIdentity *id, const char *dir,
                                     GError **error);
DiscoReloadIdentity *disco_reload_identity_load (const char *dir, GError **error);

/* A DER PKCS#10 request for @user_name signed with @key: empty subject, the
 * user name as a requested rfc822Name subjectAltName. */
GBytes *disco_reload_csr_new (EVP_PKEY *key, const char *user_name, GError **error);

/* ---- enrollment CA ------------------------------------------------------- */

typedef struct _DiscoReloadCa DiscoReloadCa;

/* A new self-signed CA (subject "CN=@name") with a fresh key. */
DiscoReloadCa *disco_reload_ca_new (const char *name, guint key_bits, guint days, GError **error);
DiscoReloadCa *disco_reload_ca_load (const char *dir, GError **error);
gboolean disco_reload_ca_save (const DiscoReloadCa *ca, const char *dir, GError **error);
void disco_reload_ca_free (DiscoReloadCa *ca);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadCa, disco_reload_ca_free)

/* Only issue user names "...@@domain" (NULL: any domain). */
void disco_reload_ca_set_domain (DiscoReloadCa *ca, const char *domain);

/* The CA certificate: the overlay's root-cert (borrowed). */
DiscoReloadCert *disco_reload_ca_get_cert (const DiscoReloadCa *ca);

/* Signs @csr_der (PKCS#10) for @overlay with @n_node_ids random Node-IDs
 * (1..16).  The user name is the request's rfc822Name (or, as a fallback, an
 * emailAddress / "user@domain" CN in its subject).  Returns the DER
 * certificate.  Errors: BAD_CSR (undecodable, bad self-signature, weak key,
 * no user name), USERNAME_NOT_AVAILABLE (outside the domain set with
 * disco_reload_ca_set_domain), NODE_IDS_NOT_AVAILABLE (too many asked). */
GBytes *disco_reload_ca_issue (DiscoReloadCa *ca, GBytes *csr_der, const char *overlay,
                               guint n_node_ids, guint days, GError **error);

/* The RFC 6940 §11.3 text/plain token for an issue error
 * ("bad_CSR", "username_not_available", "Node-IDs_not_available",
 * "failed_authentication" for anything else). */
const char *disco_reload_enrollment_error_token (const GError *error);

G_END_DECLS
