/* reload-link-private.h: DiscoReloadLinkContext internals shared by the
 * link files. */
#pragma once

#include <stdio.h>

#include "reload-link.h"

struct _DiscoReloadLinkContext
{
  gint ref_count;
  SSL_CTX *ssl_ctx; /* NULL for plaintext-only contexts */
  DiscoReloadIdentity *identity;
  DiscoReloadConfig *config;
  DiscoReloadTrust *trust;
  gsize max_message_size;
  gboolean allow_plaintext;
  FILE *keylog;
  guint handshake_timeout_ms;
};

/* Checks the peer certificate of a finished handshake: trusted (chain to a
 * root or self-signed rule), and carrying @expected (when non-NULL).  On
 * success *@cert_out gets the parsed certificate and *@node_out the Node-ID. */
gboolean disco_reload_link_check_peer (DiscoReloadLinkContext *ctx, SSL *ssl,
                                       const DiscoReloadNodeId *expected,
                                       DiscoReloadCert **cert_out, DiscoReloadNodeId *node_out,
                                       GError **error);
