/* reload-signature.h: signing and verifying RELOAD messages and StoredData.
 *
 * Algorithm: RSASSA-PKCS1-v1_5 with SHA-256 (SignatureAndHashAlgorithm
 * {4, 1}), the RFC 6940 mandatory one; nothing else is accepted.  The bytes
 * signed are exactly what the wire module's
 * disco_reload_message_signature_input() /
 * disco_reload_stored_data_signature_input() return.
 *
 * Signer identity: cert_hash (SHA-256 of the DER certificate) when the
 * certificate has one Node-ID, cert_hash_node_id (SHA-256(Node-ID || DER))
 * when it has several (RFC 6940 §6.3.4).
 *
 * Verification = find the certificate the identity names (in a
 * DiscoReloadCertPool), check it against a DiscoReloadTrust (chain to a
 * configured root or the self-signed Node-ID rule, validity dates at the
 * trust's clock, bad-node list, overlay name), then check the RSA signature.
 *
 * Ownership: DiscoReloadTrust and DiscoReloadCertPool are plain structs with
 * _free; neither is thread-safe (the trust caches verification results), use
 * them from one thread (the node's main context).  DiscoReloadSigner holds a reference on its cert;
 * release with disco_reload_signer_clear().
 */
#pragma once

#include <glib.h>

#include "reload-cert.h"
#include "reload-config.h"
#include "reload-identity.h"
#include "reload-wire.h"

G_BEGIN_DECLS

/* ---- trust ---------------------------------------------------------------- */

typedef struct _DiscoReloadTrust DiscoReloadTrust;

/* Trust anchors and rules from @config: root-cert elements,
 * self-signed-permitted (+ digest), bad-node list, instance name. */
DiscoReloadTrust *disco_reload_trust_new (const DiscoReloadConfig *config, GError **error);
void disco_reload_trust_free (DiscoReloadTrust *trust);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadTrust, disco_reload_trust_free)

/* Adds a root (e.g. the local enrollment CA in tests). */
gboolean disco_reload_trust_add_root (DiscoReloadTrust *trust, const DiscoReloadCert *root,
                                      GError **error);
/* Checks validity against @unix_time instead of the wall clock (0 = now). */
void disco_reload_trust_set_time (DiscoReloadTrust *trust, gint64 unix_time);

/* Is @cert acceptable now?  @intermediates: DiscoReloadCert* (may be NULL). */
gboolean disco_reload_trust_verify_cert (DiscoReloadTrust *trust, const DiscoReloadCert *cert,
                                         GPtrArray *intermediates, GError **error);

/* ---- certificate pool ------------------------------------------------------ */

/* The certificates a verifier can resolve signer identities against: a
 * message's security block, the certificates a storing peer keeps for its
 * data, certificates fetched from CERTIFICATE_BY_NODE / _BY_USER. */
typedef struct _DiscoReloadCertPool DiscoReloadCertPool;

DiscoReloadCertPool *disco_reload_cert_pool_new (void);
void disco_reload_cert_pool_free (DiscoReloadCertPool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadCertPool, disco_reload_cert_pool_free)
/* Takes a reference; duplicates (same DER) are ignored. */
void disco_reload_cert_pool_add (DiscoReloadCertPool *pool, DiscoReloadCert *cert);
/* Parses and adds every X.509 GenericCertificate; undecodable ones are
 * skipped (and counted in the return value). */
guint disco_reload_cert_pool_add_security_block (DiscoReloadCertPool *pool,
                                                 const DiscoReloadSecurityBlock *block);
guint disco_reload_cert_pool_size (const DiscoReloadCertPool *pool);
/* Drops every certificate (the fallback stays). */
void disco_reload_cert_pool_clear (DiscoReloadCertPool *pool);
/* Signer identities not found in @pool are looked up in @fallback (borrowed;
 * must outlive @pool; NULL to unset).  Lets a storing peer combine a
 * message's certificates with the ones it keeps, without copying. */
void disco_reload_cert_pool_set_fallback (DiscoReloadCertPool *pool,
                                          const DiscoReloadCertPool *fallback);
/* Every certificate, DiscoReloadCert* borrowed (for intermediates). */
GPtrArray *disco_reload_cert_pool_list (const DiscoReloadCertPool *pool);

/* ---- signer ---------------------------------------------------------------- */

typedef struct
{
  DiscoReloadCert *cert;     /* owned reference */
  DiscoReloadNodeId node_id; /* the Node-ID the identity selected */
} DiscoReloadSigner;

void disco_reload_signer_clear (DiscoReloadSigner *signer);

/* Resolves @identity to a certificate in @pool and the signing Node-ID.
 * Identity "none" fails with UNSUPPORTED (a store with it is forbidden). */
gboolean disco_reload_cert_pool_resolve (const DiscoReloadCertPool *pool,
                                         const DiscoReloadSignerIdentity *identity,
                                         DiscoReloadSigner *out, GError **error);

/* Fills @out (uninitialised) with the SignerIdentity for @id signing as
 * @node_id (NULL: the certificate's first Node-ID). */
gboolean disco_reload_identity_signer_identity (const DiscoReloadIdentity *id,
                                                const DiscoReloadNodeId *node_id,
                                                DiscoReloadSignerIdentity *out, GError **error);

/* Raw RSA PKCS#1 v1.5 / SHA-256 over @data (no RELOAD framing). */
GBytes *disco_reload_identity_sign_bytes (const DiscoReloadIdentity *id, const guint8 *data,
                                          gsize len, GError **error);
gboolean disco_reload_cert_verify_bytes (const DiscoReloadCert *cert, const guint8 *data, gsize len,
                                         GBytes *signature, GError **error);

/* ---- messages ---------------------------------------------------------------- */

/* Signs @msg (its contents must be final): replaces msg->security.signature
 * and puts the signer's certificate and chain into the certificate bucket
 * if they are not there yet. */
gboolean disco_reload_sign_message (const DiscoReloadIdentity *id, const DiscoReloadNodeId *node_id,
                                    DiscoReloadMessage *msg, GError **error);

/* Verifies @msg.  Certificates come from its security block plus @extra
 * (may be NULL).  When @wire/@wire_len are the received bytes the input is
 * taken from them verbatim (no re-encoding); pass NULL to re-encode @msg. */
gboolean disco_reload_verify_message (DiscoReloadTrust *trust, const DiscoReloadCertPool *extra,
                                      const DiscoReloadMessage *msg, const guint8 *wire,
                                      gsize wire_len, DiscoReloadSigner *signer_out,
                                      GError **error);

/* ---- stored data ------------------------------------------------------------------ */

/* Signs @sd in place (sd->signature replaced) for @resource / @kind. */
gboolean disco_reload_sign_stored_data (const DiscoReloadIdentity *id,
                                        const DiscoReloadNodeId *node_id,
                                        const DiscoReloadResourceId *resource,
                                        DiscoReloadKindId kind, DiscoReloadStoredData *sd,
                                        GError **error);

/* Verifies @sd's signature with a certificate from @pool, checked against
 * @trust.  @signer_out (may be NULL) gets the signer. */
gboolean disco_reload_verify_stored_data (DiscoReloadTrust *trust, const DiscoReloadCertPool *pool,
                                          const DiscoReloadResourceId *resource,
                                          DiscoReloadKindId kind, const DiscoReloadStoredData *sd,
                                          DiscoReloadSigner *signer_out, GError **error);

G_END_DECLS
